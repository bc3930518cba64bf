"""Plugin discovery (manifests checked before import), settings validation, and the
runtime's isolation of sources that raise, hang or die in the background."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from countersign.config import SourceConfig
from countersign.plugin_api import ActionRequest, SourceContext
from countersign.plugin_host import loading as sources
from countersign.plugin_host.manifest import ManifestError, read_manifest
from countersign.runtime import Runtime, SourceStatus
from countersign.services.actions import ActionService
from countersign.store.engine import Store
from countersign_plugins.demo_fleet.source import DemoFleetSource


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


MANIFEST = """name = "{name}"
api_version = {version}
provides = {provides}
config = "{module}.config:Settings"
"""


@pytest.fixture
def fake_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., str]]:
    """Writes a plugin package on sys.path; its source module records being imported."""
    monkeypatch.syspath_prepend(str(tmp_path))
    made: list[str] = []

    def make(name: str, *, version: int = 1, provides: str = '["actions"]',
             manifest: str | None = None) -> str:
        module = f"cs_fake_{name}"
        folder = tmp_path / module
        folder.mkdir()
        (folder / "__init__.py").write_text("")
        (folder / "config.py").write_text(
            "from pydantic import BaseModel\n"
            "class Settings(BaseModel):\n    url: str\n    retries: int = 3\n")
        (folder / "source.py").write_text(
            "IMPORTED = True\n"
            "class FakeSource:\n"
            "    def __init__(self, name, config):\n"
            "        self.name, self.config = name, config\n"
            "    async def start(self, context): pass\n"
            "    async def stop(self): pass\n")
        (folder / "manifest.toml").write_text(
            manifest if manifest is not None else
            MANIFEST.format(name=name, version=version, provides=provides, module=module))
        made.append(module)
        return f"{module}.source:FakeSource"

    yield make
    for module in made:
        for key in [k for k in sys.modules if k.startswith(module)]:
            del sys.modules[key]


def test_installed_plugins_have_valid_manifests() -> None:
    found = sources.manifests()
    assert {"demo", "langgraph"} <= set(found)
    assert not [n for n, m in found.items() if isinstance(m, Exception)]
    assert set(found["langgraph"].provides) == {"actions", "spans"}


def test_a_valid_manifest_is_read_without_importing_the_plugin(fake_plugin: Any) -> None:
    value = fake_plugin("good")
    manifest = read_manifest("good", value)
    assert manifest.api_version == 1
    assert "cs_fake_good.source" not in sys.modules


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"version": 99}, "api_version"),
    ({"provides": '["actions", "kittens"]'}, "provides"),
    ({"provides": "[]"}, "provides"),
    ({"manifest": 'name = "bad"\napi_version = 1\nprovides = ["spans"]\n'}, "config"),
    ({"manifest": 'name = "other"\napi_version = 1\nprovides = ["spans"]\n'
                  'config = "x.y:Z"\n'}, "name"),
    ({"manifest": "this is = = not toml"}, "unreadable"),
])
def test_bad_manifests_are_refused_before_import(fake_plugin: Any, kwargs: dict[str, Any],
                                                 field: str) -> None:
    value = fake_plugin("bad", **kwargs)
    with pytest.raises(ManifestError) as caught:
        read_manifest("bad", value)
    assert "'bad'" in str(caught.value) and field in str(caught.value)
    assert "cs_fake_bad.source" not in sys.modules


def test_settings_errors_name_the_source_and_the_key() -> None:
    bad = SourceConfig.model_validate({"name": "prod", "plugin": "langgraph",
                                       "url": "ftp://x", "poll_interval": -1})
    with pytest.raises(sources.PluginError) as caught:
        sources.build_sources([bad])
    text = str(caught.value)
    assert "'prod'" in text and "url" in text and "poll_interval" in text
    literal = SourceConfig.model_validate({"name": "p", "plugin": "langgraph",
                                           "url": "http://x", "api_key": "sk-secret"})
    with pytest.raises(sources.PluginError, match="api_key"):
        sources.build_sources([literal])
    with pytest.raises(sources.PluginError, match="no source plugin named 'nope'"):
        sources.build_sources([SourceConfig(name="n", plugin="nope")])


def test_build_sources_returns_sources() -> None:
    [built] = sources.build_sources([SourceConfig.model_validate(
        {"name": "lg", "plugin": "langgraph", "url": "http://127.0.0.1:9"})])
    assert built.name == "lg"


# -- isolation -------------------------------------------------------------------------


class RaisingSource:
    name = "raises"

    async def start(self, context: SourceContext) -> None:
        raise RuntimeError("boom at start")

    async def stop(self) -> None:
        pass


class HangingSource:
    name = "hangs"

    async def start(self, context: SourceContext) -> None:
        while True:  # even swallows cancellation once
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                await asyncio.sleep(0.01)
                raise

    async def stop(self) -> None:
        pass


class DyingSource:
    """Starts fine, then its background task dies: the runtime restarts it."""

    name = "dies"

    def __init__(self) -> None:
        self.starts = 0

    async def start(self, context: SourceContext) -> None:
        self.starts += 1

        async def poll() -> None:
            await asyncio.sleep(0.05)
            raise ValueError("poll task died")

        context.run_task(poll(), "poll")

    async def stop(self) -> None:
        pass


class TinySource:
    """A healthy plugin that brings one action in."""

    name = "tiny"

    async def start(self, context: SourceContext) -> None:
        await context.request_action(ActionRequest(
            agent="tiny", action_class="noop", arguments={}, source_ref="tiny-1"))
        context.report_ok()

    async def stop(self) -> None:
        pass


@pytest.mark.anyio
async def test_failing_plugins_do_not_stop_the_others(sqlite_store: Store) -> None:
    dying = DyingSource()
    demo = DemoFleetSource("demo", {"agents": 2, "burst": 2, "rate_per_minute": 0})
    seen: list[tuple[str, SourceStatus]] = []
    runtime = Runtime(sqlite_store, [RaisingSource(), HangingSource(), dying, TinySource(),
                                     demo], start_timeout=0.3,
                      on_health=lambda h: seen.append((h.name, h.status)))
    await runtime.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            agents = set(await asyncio.to_thread(ActionService(sqlite_store).agents))
            if "tiny" in agents and len(agents) >= 2 and dying.starts >= 2 and \
                    runtime.health["hangs"].failures >= 1:
                break
            await asyncio.sleep(0.1)
        health = runtime.health
        assert health["raises"].status is SourceStatus.FAILING
        assert "boom at start" in (health["raises"].last_error or "")
        assert health["raises"].retry_at is not None
        assert "did not finish within" in (health["hangs"].last_error or "")
        assert dying.starts >= 2, "a dead background task restarts the source"
        assert health["tiny"].status is SourceStatus.RUNNING
        assert health["tiny"].last_sync is not None
        assert health["demo"].status is SourceStatus.RUNNING
        assert ("raises", SourceStatus.FAILING) in seen
    finally:
        await runtime.stop()


@pytest.mark.anyio
async def test_a_raising_deliver_is_contained(sqlite_store: Store) -> None:
    from countersign.domain import DeliveryState, Verdict
    from countersign.services.decisions import DecisionService

    class BadDeliverer(TinySource):
        async def deliver(self, delivery: Any) -> Any:
            raise KeyError("plugin bug")

    runtime = Runtime(sqlite_store, [BadDeliverer()], delivery_interval=0.02)
    await runtime.start()
    try:
        for _ in range(100):
            rows = await asyncio.to_thread(ActionService(sqlite_store).queue_rows)
            if rows:
                break
            await asyncio.sleep(0.05)
        DecisionService(sqlite_store).decide(rows[0].id, Verdict.APPROVE, reviewer="ann")
        for _ in range(100):
            decision = DecisionService(sqlite_store).get(rows[0].id)
            if decision and decision.delivery_state is DeliveryState.FAILED:
                break
            await asyncio.sleep(0.05)
        assert decision is not None and decision.delivery_state is DeliveryState.FAILED
        assert "plugin bug" in (DecisionService(sqlite_store).outbox_error(rows[0].id) or "")
    finally:
        await runtime.stop()


def test_sources_check_reports_a_dead_port(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from countersign.cli import main

    config = tmp_path / "config.toml"
    config.write_text('[[sources]]\nname = "dead"\nplugin = "langgraph"\n'
                      'url = "http://127.0.0.1:9"\n\n'
                      '[[sources]]\nname = "typo"\nplugin = "langgraph"\nurl = "nope"\n')
    assert main(["--config", str(config), "sources", "check", "--json", "--timeout", "5"]) == 1
    lines = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["ok"]) for r in lines] == [("dead", False), ("typo", False)]
    assert "url" in lines[1]["detail"]
    assert set(lines[0]) == {"name", "plugin", "ok", "detail", "seconds", "summary"}
