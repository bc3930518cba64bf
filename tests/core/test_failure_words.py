"""Failures talking to a source, in words (issue 11): refused, DNS, TLS, timeout and
HTTP 401/403/404/429/5xx become a sentence saying what to check, never a Python repr
like ``ConnectError('All connection attempts failed')``; the technical text stays as
the detail. Checked on the texts sources report and on real failures: a closed port,
and a real HTTP server answering each status."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from countersign.config import SourceConfig
from countersign.plugin_host.check import check_source, format_table
from countersign.plugin_host.failures import explain, plain_message

URL = "http://127.0.0.1:9"
REPR = ("Error(", "Exception(", "Timeout(")


@pytest.mark.parametrize(("text", "kind", "words"), [
    ("ConnectionError: GET /ok: ConnectError('All connection attempts failed')", "connect",
     f"Cannot connect to the server at {URL}"),
    ("TransientError: GET /ok: ConnectError('[Errno 111] Connection refused')", "refused",
     f"Nothing answers at {URL}: the connection was refused"),
    ("GET /ok: ConnectError('[Errno -2] Name or service not known')", "dns",
     "could not be found"),
    ("GET /ok: ConnectError('[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed')",
     "tls", "certificate could not be verified"),
    ("TransientError: GET /ok: timed out (ReadTimeout(''))", "timeout", "did not answer in time"),
    ("no answer within 10s", "timeout", "did not answer in time"),
    ("PermanentError: GET /threads: HTTP 401: {\"detail\":\"bad key\"}", "http_401",
     "refused the credentials (HTTP 401): check the API key"),
    ("PermanentError: GET /threads: HTTP 403: forbidden", "http_403", "(HTTP 403)"),
    ("NotFoundError: GET /ok: HTTP 404: Not Found", "http_404",
     "the address was not found (HTTP 404)"),
    ("TransientError: GET /ok: HTTP 429: slow down", "http_429", "try again in a moment"),
    ("TransientError: GET /ok: HTTP 502: <html>bad gateway</html>", "http_502",
     "failed while answering (HTTP 502)"),
    ("ConnectError: [Errno 113] No route to host", "unreachable", "cannot be reached"),
])
def test_known_failures_become_sentences(text: str, kind: str, words: str) -> None:
    failure = explain(text, where=URL)
    assert failure.kind == kind
    assert words in failure.summary
    assert not any(marker in failure.summary for marker in REPR), failure.summary
    assert failure.summary.endswith(".")
    assert failure.detail == text  # nothing lost: the technical text is kept


def test_exceptions_are_read_through_their_causes() -> None:
    """The LangGraph source re-raises transport errors as ``ConnectionError(...) from
    None``: the refused connection behind it still decides the words."""
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as exc:
            raise ConnectionError(f"GET /ok: {exc!r}") from None
    except ConnectionError as wrapped:
        failure = explain(wrapped, where=URL)
    assert failure.kind == "refused"
    assert failure.detail.startswith("ConnectionError: GET /ok: ConnectionRefusedError(")
    for exc, kind in ((socket.gaierror(-2, "Name or service not known"), "dns"),
                      (ssl.SSLCertVerificationError("certificate verify failed"), "tls"),
                      (TimeoutError(), "timeout")):
        assert explain(exc).kind == kind
    status = RuntimeError("boom")
    status.status_code = 403  # type: ignore[attr-defined]
    assert explain(status).kind == "http_403"


def test_other_messages_lose_their_python_dressing() -> None:
    assert plain_message("PluginError: source 'prod' (langgraph) is misconfigured: "
                         "ValidationError: url is not a URL") == (
        "source 'prod' (langgraph) is misconfigured: url is not a URL.")
    assert plain_message("ValueError('the graph id is empty')") == "the graph id is empty."
    assert explain("").summary == "The source failed without saying why."


class StatusServer:
    """A real HTTP server answering every request with ``status``."""

    def __init__(self) -> None:
        outer = self
        self.status = 200

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = b'{"detail": "nope"}'
                self.send_response(outer.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *_args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[StatusServer]:
    running = StatusServer()
    yield running
    running.close()


def _langgraph(url: str) -> SourceConfig:
    return SourceConfig.model_validate({"name": "prod", "plugin": "langgraph", "url": url})


@pytest.mark.parametrize(("status", "words"), [
    (401, "refused the credentials (HTTP 401)"), (403, "(HTTP 403)"),
    (404, "the address was not found (HTTP 404)"), (503, "failed while answering (HTTP 503)"),
])
def test_sources_check_says_what_a_real_server_answered(server: StatusServer, status: int,
                                                        words: str) -> None:
    server.status = status
    result = asyncio.run(check_source(_langgraph(server.url), timeout=10))
    assert not result.ok
    assert result.summary.startswith(f"The server at {server.url} ") and words in result.summary
    assert f"HTTP {status}" in result.detail  # the technical text, for --json and Details
    assert words in format_table([result])


def test_sources_check_on_a_closed_port_says_nothing_answers() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = asyncio.run(check_source(_langgraph(f"http://127.0.0.1:{port}"), timeout=10))
    assert not result.ok
    assert "refused" in result.summary and f"127.0.0.1:{port}" in result.summary
    assert not any(marker in result.summary for marker in REPR), result.summary
