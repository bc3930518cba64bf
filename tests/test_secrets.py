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


# -- redaction: secrets out of every error text --------------------------------------


def test_keyring_values_are_redacted_in_every_encoding(memory_keyring: object) -> None:
    value = 'sk-"odd"/key+1234 é'
    ref = secrets.set_secret("odd", value)
    secrets.get_secret(ref)
    import json
    from urllib.parse import quote, quote_plus

    for shown in (value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
                  quote(value, safe=""), quote_plus(value), repr(value)[1:-1]):
        text = secrets.redact(f"HTTP 401: bad key <{shown}> (see docs)")
        assert shown not in text and "sk-" not in text, (shown, text)
        assert text == f"HTTP 401: bad key <{secrets.REDACTED}> (see docs)"


@pytest.mark.parametrize(("text", "expected"), [
    ("Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig", "Authorization: Bearer [redacted]"),
    ("proxy-authorization=Basic dXNlcjpwYXNz", "proxy-authorization=Basic [redacted]"),
    ("X-Api-Key: lgsk-123456", "X-Api-Key: [redacted]"),
    ('{"x-api-key": "lgsk-123456"}', '{"x-api-key": "[redacted]"}'),
    ('{"api_key": "lgsk-123456"}', '{"api_key": "[redacted]"}'),
    ("GET /threads?api_key=abc123&page=2", "GET /threads?api_key=[redacted]&page=2"),
    ("token was Bearer abc.def-123456", "token was Bearer [redacted]"),
])
def test_credentials_nobody_told_us_about_are_redacted(text: str, expected: str) -> None:
    assert secrets.redact(text) == expected


@pytest.mark.parametrize("text", [
    "api_key: must be a keyring reference like 'keyring:prod-agents', never the key itself",
    'api_key = "keyring:prod-agents"',
    "no secret stored in the keyring for 'keyring:lg' (service 'countersign')",
    "this server needs bearer authentication",
    "password authentication failed for user \"ann\"",
    "HTTP 404: thread 1f2e3d4c not found",
])
def test_references_and_prose_stay_readable(text: str) -> None:
    assert secrets.redact(text) == text


def test_short_values_are_not_treated_as_secrets() -> None:
    secrets.remember_secret("ab")
    assert secrets.redact("ab is a fine abbreviation") == "ab is a fine abbreviation"
    assert secrets.redact("the key xyz12 leaked", also=["xyz12"]) == \
        f"the key {secrets.REDACTED} leaked"


def test_log_records_are_redacted_on_any_logger(memory_keyring: object,
                                                caplog: pytest.LogCaptureFixture) -> None:
    ref = secrets.set_secret("lg-log", SECRET + "-log")
    key = secrets.get_secret(ref)
    caplog.set_level(logging.DEBUG)
    # Another test (or a library) may have quietened httpx's logger: this test is about
    # redaction, so it sets the level it needs on that logger itself.
    caplog.set_level(logging.DEBUG, logger="httpx")
    logging.getLogger("countersign.runtime").warning("source failing: HTTP 401: %s", key)
    logging.getLogger("countersign_plugins.langgraph").error("answer was %r", {"k": key})
    logging.getLogger("httpx").info("header Authorization: Bearer abc.123.xyz")
    try:
        raise PermissionError(f"server said: invalid key {key}")
    except PermissionError:
        logging.getLogger("countersign.source.lg").exception("poll failed")
    assert key not in caplog.text
    assert "abc.123.xyz" not in caplog.text
    assert caplog.text.count(secrets.REDACTED) >= 4
    assert "server said: invalid key" in caplog.text  # the exception is still logged
