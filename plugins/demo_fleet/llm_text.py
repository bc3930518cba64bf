"""Believable numbers and names for the demo fleet's reasoning steps.

The Traces and Queue views are judged by how real their content looks, so LLM steps
carry token counts derived from their text, a cost from the model's list price, and a
duration that grows with the reply; people, companies and dates come from small
fixed tables. Everything is drawn from the `random.Random` the caller passes, and
nothing reads the clock, so a seed always yields the same content.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Sequence
from typing import Any

from countersign.gate import Document, Message, SpanKind, Step

#: USD per million tokens (prompt, completion), list prices at the time of writing.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "gpt-4o-2024-08-06": (2.50, 10.00),
    "gpt-4o-mini-2024-07-18": (0.15, 0.60),
    "claude-3-5-sonnet-20241022": (3.00, 15.00),
    "claude-3-5-haiku-20241022": (0.80, 4.00),
    "gemini-1.5-pro-002": (1.25, 5.00),
}
PROVIDERS: dict[str, str] = {
    "gpt-4o-2024-08-06": "openai",
    "gpt-4o-mini-2024-07-18": "openai",
    "claude-3-5-sonnet-20241022": "anthropic",
    "claude-3-5-haiku-20241022": "anthropic",
    "gemini-1.5-pro-002": "google",
}

FIRST_NAMES = ("Maya", "Jonas", "Priya", "Liam", "Sofia", "Kenji", "Amara", "Lucas", "Ines",
               "Omar", "Hannah", "Mateo", "Chloe", "Ravi", "Elena", "Noah", "Zara", "Felix")
LAST_NAMES = ("Okafor", "Lindqvist", "Raman", "Brennan", "Moreau", "Tanaka", "Haddad",
              "Kowalski", "Ferreira", "Nakamura", "Schmidt", "Alvarez", "Dubois", "Osei")
#: Customer organisations (display name, e-mail domain); all fictional.
COMPANIES = (
    ("Acme Robotics", "acme-robotics.com"),
    ("Northwind Traders", "northwind-traders.com"),
    ("Bluepeak Health", "bluepeak-health.org"),
    ("Juniper & Co", "juniperco.io"),
    ("Orbital Freight", "orbitalfreight.com"),
    ("Halcyon Studios", "halcyonstudios.net"),
)
#: Every story happens in the four weeks from this Monday, never "now".
EPOCH = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "DKK": "kr "}


def person(rng: random.Random) -> tuple[str, str]:
    """A (first, last) name pair."""
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def address(first: str, last: str, domain: str, *, style: int = 0) -> str:
    local = (f"{first}.{last}", f"{first[0]}{last}", f"{first}")[style % 3]
    return f"{local.lower()}@{domain}"


def money(cents: int, currency: str = "USD") -> str:
    """``$1,234.56``: how an agent's prose shows an amount."""
    return f"{_SYMBOLS.get(currency, currency + ' ')}{cents / 100:,.2f}"


def day(rng: random.Random, *, within_days: int = 27) -> dt.datetime:
    """A moment in the fixed story month, to the minute."""
    return EPOCH + dt.timedelta(days=rng.randint(0, within_days), hours=rng.randint(0, 23),
                                minutes=rng.randrange(0, 60, 5))


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def hex_id(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def compact(value: Any) -> str:
    """JSON as an LLM prompt quotes it: one line, keys in a stable order."""
    return json.dumps(value, sort_keys=True, separators=(", ", ": "), ensure_ascii=False)


def count_tokens(text: str) -> int:
    """Roughly what a BPE tokenizer counts for English text: four characters a token."""
    return max(1, (len(text) + 3) // 4)


def llm_step(
    rng: random.Random,
    name: str,
    *,
    model: str,
    system: str,
    user: str,
    assistant: str,
    tool_call: tuple[str, dict[str, Any]] | None = None,
    history: Sequence[Message] = (),
    tools_tokens: int = 0,
) -> Step:
    """An LLM call: system, earlier turns, the user turn, and the assistant's reply
    (with its tool call, as OpenAI-style ``tool_calls``). ``tools_tokens`` stands for
    the tool definitions a real prompt carries but the messages do not show."""
    messages = [Message(role="system", content=system), *history,
                Message(role="user", content=user)]
    calls: list[dict[str, Any]] = []
    completion = count_tokens(assistant)
    if tool_call is not None:
        arguments = json.dumps(tool_call[1], sort_keys=True)
        calls.append({"id": f"call_{hex_id(rng, 24)}", "type": "function",
                      "function": {"name": tool_call[0], "arguments": arguments}})
        completion += count_tokens(arguments) + 9
    prompt = tools_tokens + sum(count_tokens(m.content) + 4 for m in messages)
    price_in, price_out = PRICES_PER_MTOK[model]
    # Time to first token, then a decode speed typical of a hosted model.
    duration = rng.uniform(0.25, 0.7) + completion * rng.uniform(0.011, 0.024)
    return Step(
        kind=SpanKind.LLM,
        name=name,
        messages=messages,
        output_messages=[Message(role="assistant", content=assistant, tool_calls=calls)],
        model=model,
        provider=PROVIDERS[model],
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost=round((prompt * price_in + completion * price_out) / 1e6, 6),
        duration_s=round(duration, 3),
        attributes={"llm.invocation_parameters": {"temperature": 0.2, "max_tokens": 1024}},
    )


def tool_step(rng: random.Random, name: str, arguments: Any, result: Any, *,
              slow: bool = False) -> Step:
    """A tool call with the JSON it returned; ``slow`` for queries and remote APIs."""
    low, high = (0.18, 0.9) if slow else (0.03, 0.25)
    return Step(kind=SpanKind.TOOL, name=name, tool_arguments=arguments, tool_result=result,
                duration_s=round(rng.uniform(low, high), 3))


def retrieval_step(rng: random.Random, name: str, query: str,
                   documents: Sequence[tuple[str, str]]) -> Step:
    """A vector search returning ``documents`` (id, text) with falling scores."""
    score = rng.uniform(0.86, 0.94)
    found = []
    for doc_id, text in documents:
        found.append(Document(id=doc_id, content=text, score=round(score, 3)))
        score -= rng.uniform(0.03, 0.11)
    return Step(kind=SpanKind.RETRIEVER, name=name, query=query, documents=found,
                duration_s=round(rng.uniform(0.08, 0.35), 3))


def guardrail_step(rng: random.Random, name: str, checked: Any, verdict: Any) -> Step:
    return Step(kind=SpanKind.GUARDRAIL, name=name, input=checked, output=verdict,
                duration_s=round(rng.uniform(0.02, 0.12), 3))
