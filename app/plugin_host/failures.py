"""Failures talking to a source, in words a person can act on (issue 11).

A connection check or a source's last error arrives as an exception or as its text
(``ConnectionError: GET /ok: ConnectError('All connection attempts failed')``). The
known failures — refused, unreachable, DNS, TLS, timeout, HTTP 401/403/404/429/5xx —
become one sentence saying what happened and what to check; the technical text stays
alongside as the detail (the console puts it behind "Details"; ``sources check
--json`` keeps both). Anything else is still a sentence: the message with Python's
type names and reprs taken off.

The texts are matched as well as the exception types, because a source's health
error reaches the console as text only. Every text passes through `redact` first.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

from ..secrets import redact


@dataclass(frozen=True)
class Failure:
    """What went wrong: a ``kind`` for code, a ``summary`` for people, and the
    technical ``detail`` the summary was made from (redacted)."""

    kind: str
    summary: str
    detail: str


#: (kind, patterns in the text) in the order they are tried; the first match wins.
_PATTERNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dns", ("name or service not known", "nodename nor servname", "getaddrinfo failed",
             "temporary failure in name resolution", "no address associated with hostname",
             "name resolution", "[errno -2]", "[errno -3]", "[errno -5]", "[errno 8]",
             "gaierror")),
    ("tls", ("certificate_verify_failed", "certificate verify failed", "sslerror",
             "ssl:", "[ssl", "wrong_version_number", "tlsv1", "handshake failure",
             "hostname mismatch", "self-signed certificate", "self signed certificate")),
    ("timeout", ("timed out", "timeout", "no answer within", "deadline exceeded")),
    ("refused", ("connection refused", "connectionrefusederror", "[errno 111]",
                 "[errno 61]", "actively refused")),
    ("unreachable", ("no route to host", "network is unreachable", "host is unreachable",
                     "[errno 113]", "[errno 101]")),
    ("connect", ("all connection attempts failed", "connecterror", "cannot connect",
                 "connection reset", "remoteprotocolerror", "server disconnected",
                 "connection aborted")),
)
_HTTP = re.compile(r"\b(?:HTTP|status(?: code)?)[ :/]*([1-5]\d\d)\b", re.IGNORECASE)
#: ``ConnectError('text')`` and ``ConnectError("text")``: a repr, shown as its text.
_REPR = re.compile(r"\b[A-Z]\w*(?:Error|Exception|Timeout)\((['\"])(.*?)\1\)")
#: ``SomeError: `` at the start of a message (several, when exceptions were wrapped).
_TYPE_PREFIX = re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception|Timeout|Failure)|"
                          r"Exception)\s*:\s*")
#: The same after a colon, where a wrapped exception's message starts.
_INNER_TYPE = re.compile(r"(?<=: )[A-Za-z_][\w.]*(?:Error|Exception|Timeout)\s*:\s*")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions behind it (cause or context, even when suppressed)."""
    seen: set[int] = set()
    walk: BaseException | None = exc
    while walk is not None and id(walk) not in seen:
        seen.add(id(walk))
        yield walk
        walk = walk.__cause__ or walk.__context__


def _text_of(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _kind_of_exception(exc: BaseException) -> tuple[str, int | None]:
    for link in _chain(exc):
        status = getattr(link, "status_code", None)
        if isinstance(status, int) and 400 <= status < 600:
            return "http", status
        if isinstance(link, socket.gaierror):
            return "dns", None
        if isinstance(link, ssl.SSLError | ssl.CertificateError):
            return "tls", None
        if isinstance(link, ConnectionRefusedError):
            return "refused", None
        if isinstance(link, TimeoutError):
            return "timeout", None
    return "", None


def _kind_of_text(text: str) -> tuple[str, int | None]:
    lowered = text.lower()
    found = _HTTP.search(text)
    if found is not None and int(found.group(1)) >= 400:
        return "http", int(found.group(1))
    for kind, patterns in _PATTERNS:
        if any(pattern in lowered for pattern in patterns):
            return kind, None
    return "", None


def plain_message(text: str) -> str:
    """``text`` without Python's dressing: reprs become their text, leading type names
    go; the first line only, as a sentence."""
    line = next((part.strip() for part in text.strip().splitlines() if part.strip()), "")
    line = _REPR.sub(lambda m: m.group(2), line)
    line = _INNER_TYPE.sub("", line)
    while True:
        stripped = _TYPE_PREFIX.sub("", line, count=1)
        if stripped == line:
            break
        line = stripped
    if not line:
        return "The source failed without saying why."
    return line if line[-1] in ".!?" else line + "."


def _summary(kind: str, status: int | None, where: str | None, text: str) -> str:
    server = f"the server at {where}" if where else "the server"
    subject = "T" + server[1:]  # (str.capitalize would lower-case the URL)
    if kind == "http" and status is not None:
        if status == 401:
            return f"{subject} refused the credentials (HTTP 401): check the API key."
        if status == 403:
            return (f"{subject} does not allow this with these credentials "
                    "(HTTP 403): check the API key and its permissions.")
        if status == 404:
            return (f"{subject} answered, but the address was not found (HTTP "
                    "404): check the URL's path, and that it points at the right kind of "
                    "server.")
        if status == 429:
            return (f"{subject} is busy (HTTP 429, too many requests): try again "
                    "in a moment.")
        if status >= 500:
            return (f"{subject} failed while answering (HTTP {status}): it is "
                    "reachable but has a problem. Try again later, or look at its logs.")
        return (f"{subject} turned the request down (HTTP {status}): "
                f"{plain_message(text)}")
    where_text = f" at {where}" if where else ""
    sentences = {
        "refused": (f"Nothing answers{where_text}: the connection was refused. Check that "
                    "the server is running and that the host and port are right."),
        "connect": (f"Cannot connect to {server}: the connection was refused or dropped. "
                    "Check that the server is running and that the host and port are "
                    "right."),
        "unreachable": (f"{subject} cannot be reached from this machine (no "
                        "route to the host). Check the network, a VPN or a firewall."),
        "dns": (f"The host name of {server} could not be found. Check its spelling, and "
                "that this machine can resolve it (DNS, VPN)."),
        "tls": (f"The secure connection to {server} failed: its certificate could not be "
                "verified, or it does not speak HTTPS on that port. Check http:// or "
                "https:// in the URL, and the server's certificate."),
        "timeout": (f"{subject} did not answer in time. It may be overloaded, "
                    "or a firewall may be dropping the connection; try again."),
    }
    return sentences.get(kind) or plain_message(text)


def explain(error: BaseException | str, *, where: str | None = None) -> Failure:
    """The failure ``error`` (an exception, or the text of one) in words; ``where``
    names the server (its URL), else "The server"."""
    if isinstance(error, str):
        detail = redact(error)
        kind, status = _kind_of_text(detail)
    else:
        detail = redact(_text_of(error))
        kind, status = _kind_of_exception(error)
        if not kind:  # the exceptions behind it may say more than it does
            kind, status = _kind_of_text(" | ".join(redact(_text_of(link))
                                                    for link in _chain(error)))
    summary = _summary(kind, status, where, detail)
    if kind == "http" and status is not None:
        kind = f"http_{status}"
    return Failure(kind or "other", redact(summary), detail)
