"""The OpenAI Agents SDK (``openai-agents``) with OpenInference's instrumentor (dev
dependencies, pinned in pyproject.toml), its model calls answered by the local fake
OpenAI server, exporting OTLP/HTTP to a real receiver. With
``OPENINFERENCE_ENABLE_GENAI_SEMCONV=true`` the instrumentor writes the tool's JSON
schema into ``gen_ai.tool.call.arguments`` (issue 15, point 4): the tool span must
still show the call's real arguments.

``COUNTERSIGN_RECORD_FIXTURES=1`` also writes what the exporter sent under
tests/fixtures/otlp/recorded/ (test_conventions.py reads it without the libraries)."""

from __future__ import annotations

import asyncio
import os

import pytest

from countersign.services.traces import TraceService
from countersign.store.engine import Store

from .live import FakeOpenAI, Recorder, receiver_thread
from .live_checks import check_openai_agents

pytest.importorskip("agents")
pytest.importorskip("openinference.instrumentation.openai_agents")


def _agent_turn(fake: FakeOpenAI) -> str:
    """One Agents SDK run: the model asks for get_weather, the tool answers, the model
    answers the user."""
    import openai
    from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    client = openai.AsyncOpenAI(base_url=fake.url, api_key="test-key", max_retries=0)
    agent = Agent(name="weather_agent", instructions="Answer with the weather.",
                  tools=[get_weather],
                  model=OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client))

    async def run() -> str:
        result = await Runner.run(agent, "Weather in Oslo?")
        return str(result.final_output)

    return asyncio.run(run())


def test_openai_agents_sdk_through_openinference(sqlite_store: Store,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    monkeypatch.setenv("OPENINFERENCE_ENABLE_GENAI_SEMCONV", "true")
    recorder = Recorder()
    with receiver_thread(sqlite_store) as receiver, FakeOpenAI() as fake:
        provider = TracerProvider(resource=Resource.create({"service.name": "agents-svc"}))
        provider.add_span_processor(SimpleSpanProcessor(
            recorder.span_exporter(OTLPSpanExporter(endpoint=receiver.url))))
        instrumentor = OpenAIAgentsInstrumentor()
        instrumentor.instrument(tracer_provider=provider)
        try:
            answer = _agent_turn(fake)
        finally:
            instrumentor.uninstrument()
            provider.shutdown()
        assert answer == "It is sunny in Oslo."
        assert len(fake.requests) == 2
    if os.environ.get("COUNTERSIGN_RECORD_FIXTURES"):
        recorder.save("openai_agents")
    check_openai_agents(TraceService(sqlite_store))
