"""The keyring wrapper, and the x-api-key header a LangGraph source sends from it."""

from __future__ import annotations

import logging

import httpx
import keyring
import pytest
from keyring.backends.fail import Keyring as FailKeyring

from countersign import secrets
from countersign_plugins.langgraph.source import LangGraphSource

SECRET = "sk-very-secret-1234"


def test_round_trip(memory_keyring: object) -> None:
    ref = secrets.set_secret("prod-agents", SECRET)
    assert ref == "keyring:prod-agents"
    assert secrets.get_secret(ref) == SECRET
    assert secrets.backend_warning() is None
    assert secrets.delete_secret(ref) is True
    assert secrets.delete_secret("prod-agents") is False
    with pytest.raises(secrets.SecretError, match="keyring:prod-agents") as caught:
        secrets.get_secret(ref)
    assert SECRET not in str(caught.value)


def test_literal_values_are_not_references(memory_keyring: object) -> None:
    with pytest.raises(secrets.SecretError) as caught:
        secrets.get_secret(SECRET)
    assert SECRET not in str(caught.value)
    assert not secrets.is_reference(SECRET)
    with pytest.raises(ValueError, match="plain name"):
        secrets.reference("keyring:x")


def test_no_system_keyring_is_said_loudly() -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(FailKeyring())
    try:
        assert not secrets.usable()
        assert "No system keyring" in (secrets.backend_warning() or "")
        with pytest.raises(secrets.SecretError, match="No system keyring"):
            secrets.set_secret("x", SECRET)
    finally:
        keyring.set_keyring(previous)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_api_key_is_sent_from_the_keyring(memory_keyring: object,
                                                caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("x-api-key"))
        if request.url.path == "/ok":
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(200, json=3)

    ref = secrets.set_secret("lg", SECRET)
    source = LangGraphSource("lg", {"url": "http://lg.test", "api_key": ref},
                             transport=httpx.MockTransport(answer))
    caplog.set_level(logging.DEBUG)
    assert "3 interrupted" in await source.check()
    assert seen == [SECRET, SECRET]
    assert SECRET not in caplog.text

    missing = LangGraphSource("lg", {"url": "http://lg.test", "api_key": "keyring:gone"},
                              transport=httpx.MockTransport(answer))
    with pytest.raises(secrets.SecretError, match="keyring:gone"):
        await missing.check()
