"""The one way Countersign touches secrets (STYLE.md, rule 12): the system keyring.

The configuration file never holds a secret, only a reference to one
(``api_key = "keyring:prod-agents"``); `get_secret` resolves it at the moment a source
connects. Secrets never go into logs, exceptions, the config file or the store: error
messages name the reference, never the value.

When no usable system keyring exists (a headless box without Secret Service, where
keyring falls back to ``keyring.backends.fail.Keyring``) this module says so instead of
silently writing secrets somewhere weaker: `backend_warning` is shown by the UI and
`SecretError` tells the operator what to install or configure.

Servers do not share that discipline: a LangGraph server may echo the API key in a
401 body, a proxy may quote the ``Authorization`` header back. So every value
`get_secret` hands out is remembered, and `redact` takes it (raw, JSON-escaped or
URL-encoded) and anything that looks like a credential header or bearer token out of
a text. Every error text bound for a log line, the status bar, the outbox or a
report passes through `redact`; log records are redacted as they are created
(`install_log_redaction`, done when this module is imported: no secret can be known
before that).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

SERVICE = "countersign"
REF_PREFIX = "keyring:"
#: What a secret is replaced with in any text the console shows, logs or exports.
REDACTED = "[redacted]"
#: Shorter values are not treated as secrets by `redact`: replacing every "abc" in
#: every message would make the messages unreadable, and no real key is that short.
MIN_SECRET_LENGTH = 4


class SecretError(RuntimeError):
    """A secret that cannot be read or written; the message never contains the value."""


def is_reference(value: str | None) -> bool:
    """True when ``value`` is a ``keyring:NAME`` reference (not a literal secret)."""
    return bool(value) and str(value).startswith(REF_PREFIX) and len(str(value)) > len(REF_PREFIX)


def reference(name: str) -> str:
    """The reference the config file stores for the secret called ``name``."""
    if not name or name.startswith(REF_PREFIX):
        raise ValueError(f"a keyring entry needs a plain name, not {name!r}")
    return f"{REF_PREFIX}{name}"


def _name(ref: str) -> str:
    if not is_reference(ref):
        raise SecretError(
            "expected a keyring reference like 'keyring:NAME', got a value that is not one "
            "(secrets are never written in the config file)"
        )
    return ref[len(REF_PREFIX):]


def _backend() -> object:
    import keyring

    return keyring.get_keyring()


def usable() -> bool:
    """False when keyring has no real backend (the ``fail`` keyring or a null one)."""
    backend = _backend()
    module = type(backend).__module__
    return not module.startswith(("keyring.backends.fail", "keyring.backends.null"))


def backend_warning() -> str | None:
    """A sentence for the UI when secrets cannot be stored safely, else None."""
    if usable():
        return None
    return ("No system keyring is available, so API keys cannot be stored. Install and "
            "unlock a keyring (Secret Service / GNOME Keyring / KWallet, macOS Keychain, "
            "Windows Credential Locker) or configure one with keyring's config file.")


def _require_backend() -> None:
    warning = backend_warning()
    if warning is not None:
        raise SecretError(warning)


def get_secret(ref: str) -> str:
    """The secret ``ref`` points to. Raises `SecretError` (naming the reference only)
    when it is not a reference, not stored, or the keyring is unusable."""
    import keyring
    import keyring.errors

    name = _name(ref)
    _require_backend()
    try:
        value = keyring.get_password(SERVICE, name)
    except keyring.errors.KeyringError as exc:
        raise SecretError(f"keyring could not read '{ref}': {type(exc).__name__}") from None
    if value is None:
        raise SecretError(f"no secret stored in the keyring for '{ref}' (service "
                          f"'{SERVICE}', entry '{name}'); add it in the Connections dialog")
    remember_secret(value)
    return value


def set_secret(name: str, value: str) -> str:
    """Store ``value`` under ``name``; returns the reference to write in the config."""
    import keyring
    import keyring.errors

    ref = reference(name)
    if not value:
        raise SecretError(f"refusing to store an empty secret for '{ref}'")
    _require_backend()
    try:
        keyring.set_password(SERVICE, name, value)
    except keyring.errors.KeyringError as exc:
        raise SecretError(f"keyring could not store '{ref}': {type(exc).__name__}") from None
    return ref


def delete_secret(name: str) -> bool:
    """Remove the secret called ``name`` (a name or a reference); False if absent."""
    import keyring
    import keyring.errors

    if is_reference(name):
        name = _name(name)
    _require_backend()
    try:
        keyring.delete_password(SERVICE, name)
    except keyring.errors.PasswordDeleteError:
        return False
    except keyring.errors.KeyringError as exc:
        raise SecretError(f"keyring could not delete 'keyring:{name}': "
                          f"{type(exc).__name__}") from None
    return True


# -- keeping secrets out of error texts ----------------------------------------------

_known: set[str] = set()
_known_lock = threading.Lock()
_known_pattern: re.Pattern[str] | None = None

#: Credentials that announce themselves, whoever's they are, with the name kept and
#: the value replaced: credential headers (``Authorization: Bearer …``,
#: ``X-Api-Key: …``), settings written ``api_key=…`` or ``"api_key": "…"`` (but not
#: ``api_key: <prose>``, the form of a configuration error), and bearer tokens in
#: prose. A ``keyring:NAME`` reference is not a secret and stays readable.
_LABELLED = re.compile(
    r"""(?ix)
    (?P<header>\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?
        (?:(?:bearer|basic|token|digest)\s+)?
      |\b(?:x-api-key|x-auth-token|api-key)["']?\s*[:=]\s*["']?)
    (?!keyring:)[^\s"',;&}]+
    |
    (?P<setting>\b(?:api_?key|access_token|auth_token|client_secret|password|passwd)
        (?:\s*=\s*|["']\s*:\s*["']))
    (?!keyring:)[^\s"',;&}]+
    |
    (?P<bearer>\bbearer\s+)
    (?=[A-Za-z0-9._~+/=-]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,}
    """
)


def _variants(value: str) -> set[str]:
    """How a secret may appear once a server or a library has echoed it."""
    found = {value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1],
             quote(value, safe=""), quote_plus(value, safe=""), repr(value)[1:-1]}
    return {v for v in found if len(v) >= MIN_SECRET_LENGTH}


def remember_secret(value: str | None) -> None:
    """Have `redact` hide ``value`` from now on. `get_secret` calls it for every value
    it returns; call it for a secret that reaches the console another way (a
    password in a store URL, a key passed to a client directly)."""
    global _known_pattern
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _known_lock:
        if value in _known:
            return
        _known.add(value)
        variants = sorted({v for k in _known for v in _variants(k)}, key=len, reverse=True)
        _known_pattern = re.compile("|".join(re.escape(v) for v in variants))


def redact(text: str, also: Iterable[str | None] = ()) -> str:
    """``text`` without any secret the console knows (keyring values, and ``also``)
    and without credential headers or bearer tokens, each replaced by `REDACTED`.
    Use it on every error text that may hold what a server sent back."""
    if not text:
        return text
    extra = [v for v in also if v and len(v) >= MIN_SECRET_LENGTH]
    pattern = _known_pattern
    if extra:
        variants = sorted({v for e in extra for v in _variants(e)}, key=len, reverse=True)
        text = re.sub("|".join(re.escape(v) for v in variants), REDACTED, text)
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    return _LABELLED.sub(_keep_label, text)


def _keep_label(match: re.Match[str]) -> str:
    label = match.group("header") or match.group("setting") or match.group("bearer") or ""
    return f"{label}{REDACTED}"


def _redact_record(record: logging.LogRecord) -> None:
    """Redact a log record's message and exception text in place."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: logging reports it itself later
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[1] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        cleaned = redact(text)
        if cleaned != text:
            record.exc_text = cleaned
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record it sees (for handlers that take
    records from outside the record factory, e.g. records unpickled from another
    process)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


_installed = False


def install_log_redaction() -> None:
    """Redact every log record as it is created, whichever logger and handler it goes
    to. A filter on the ``countersign`` logger would not do: Python consults a
    logger's filters only for records logged on that very logger, not for those that
    propagate up from ``countersign.runtime`` or a plugin's logger. Idempotent."""
    global _installed
    with _known_lock:
        if _installed:
            return
        _installed = True
        previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
    logging.getLogger("countersign").addFilter(RedactingFilter())


install_log_redaction()
