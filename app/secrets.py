"""The one way Countersign touches secrets (STYLE.md, rule 12): the system keyring.

The configuration file never holds a secret, only a reference to one
(``api_key = "keyring:prod-agents"``); `get_secret` resolves it at the moment a source
connects. Secrets never go into logs, exceptions, the config file or the store: error
messages name the reference, never the value.

When no usable system keyring exists (a headless box without Secret Service, where
keyring falls back to ``keyring.backends.fail.Keyring``) this module says so instead of
silently writing secrets somewhere weaker: `backend_warning` is shown by the UI and
`SecretError` tells the operator what to install or configure.
"""

from __future__ import annotations

SERVICE = "countersign"
REF_PREFIX = "keyring:"


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


def backend_description() -> str:
    """Which keyring backend holds the secrets, e.g. ``SecretService Keyring``."""
    backend = _backend()
    name = getattr(backend, "name", None) or type(backend).__name__
    return str(name)


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


def resolve_optional(ref: str | None) -> str | None:
    """`get_secret` for an optional setting: None stays None."""
    return None if not ref else get_secret(ref)
