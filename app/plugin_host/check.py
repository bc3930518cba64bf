"""``countersign sources check``: connect to each configured source and say how it is.

Each source is built exactly as the worker builds it (manifest, settings, class), then
its `ChecksConnection.check` runs with a timeout; sources are checked concurrently so
one dead server does not make the others wait. A source that cannot even be built
(unknown plugin, bad settings, missing keyring secret) is reported as failing with that
error. A failure is told in words (`failures.explain`: refused, DNS, TLS, timeout,
HTTP 401/403/404/5xx…) with the technical detail beside it, the same words the
console's Connections dialog shows. Every detail passes through `redact` first: a
server that echoes the API key in its error body does not put it in the report.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from ..config import SourceConfig
from ..plugin_api import ChecksConnection
from ..secrets import redact
from .failures import explain
from .loading import PluginError, build_source

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class CheckResult:
    """One line of the report."""

    name: str
    plugin: str
    ok: bool
    detail: str
    seconds: float
    #: One sentence for people: what failed and what to check (the detail, when ok).
    summary: str = ""


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def check_source(config: SourceConfig, *, timeout: float = DEFAULT_TIMEOUT) -> CheckResult:
    """Build one source and run its connection check."""
    began = time.perf_counter()
    url = config.settings.get("url")
    where = url if isinstance(url, str) and url else None

    def result(ok: bool, detail: str, error: BaseException | None = None) -> CheckResult:
        summary = detail if ok else explain(error or detail, where=where).summary
        return CheckResult(config.name, config.plugin, ok, redact(detail),
                           round(time.perf_counter() - began, 3), redact(summary))

    try:
        source = build_source(config)
    except PluginError as exc:
        return result(False, str(exc))
    if not isinstance(source, ChecksConnection):
        return result(True, "loaded (this plugin has no connection check)")
    try:
        detail = await asyncio.wait_for(source.check(), timeout=timeout)
    except TimeoutError as exc:
        return result(False, f"no answer within {timeout:g}s", exc)
    except Exception as exc:
        return result(False, _describe(exc), exc)
    return result(True, str(detail))


async def check_sources(configs: Sequence[SourceConfig], *,
                        timeout: float = DEFAULT_TIMEOUT) -> list[CheckResult]:
    """`check_source` for every configured source, concurrently, in config order."""
    return list(await asyncio.gather(*(check_source(c, timeout=timeout) for c in configs)))


def format_table(results: Sequence[CheckResult]) -> str:
    """A plain table for people."""
    if not results:
        return "no sources configured"
    name_w = max(4, *(len(r.name) for r in results))
    plugin_w = max(6, *(len(r.plugin) for r in results))
    lines = [f"{'NAME':<{name_w}}  {'PLUGIN':<{plugin_w}}  {'OK':<4} {'SECONDS':>7}  DETAIL"]
    for r in results:
        words = r.summary or r.detail
        if not r.ok and r.summary and r.summary != r.detail:
            words = f"{r.summary} ({r.detail})"
        detail = " ".join(words.split())  # one line, whatever a server answered
        lines.append(f"{r.name:<{name_w}}  {r.plugin:<{plugin_w}}  "
                     f"{'yes' if r.ok else 'NO':<4} {r.seconds:>7.2f}  {detail}")
    return "\n".join(lines)


def format_json(results: Sequence[CheckResult]) -> str:
    """One JSON array, an object per source: {name, plugin, ok, detail, seconds,
    summary} (every ``--json`` list of the CLI is one array)."""
    return json.dumps([asdict(r) for r in results], ensure_ascii=False)


def run_check(configs: Sequence[SourceConfig], *, as_json: bool,
              timeout: float = DEFAULT_TIMEOUT) -> tuple[int, str]:
    """(exit code, output): 0 when every source is healthy, 1 otherwise."""
    results = asyncio.run(check_sources(configs, timeout=timeout))
    text = format_json(results) if as_json else format_table(results)
    return (0 if all(r.ok for r in results) else 1), text
