"""Tiny local HTTP servers that answer like Phoenix's dataset upload endpoint
(``POST /v1/datasets/upload?sync=true``, checked against arize-phoenix 20.26 in
tests/review/test_phoenix.py), or fail as a broken one does, for the Datasets panel's
push. Plain code: the tests and the screenshot script use `serve` as a context manager.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: Phoenix's ids are base64 GlobalIDs ("Dataset:7").
DATASET_ID = "RGF0YXNldDo3"
VERSION_ID = "RGF0YXNldFZlcnNpb246MTI="


@dataclass
class Received:
    """What the stand-in was sent, for the test to check."""

    paths: list[str] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    #: Set when a request is held (``hold``) until the test lets it go.
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


def _handler(status: int, received: Received, hold: bool) -> type[BaseHTTPRequestHandler]:
    class Upload(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            received.paths.append(self.path)
            received.bodies.append(body)
            received.authorizations.append(self.headers.get("authorization"))
            received.arrived.set()
            if hold:
                received.release.wait(30)
            if status == 200:
                count = len(body.get("inputs") or [])
                answer = json.dumps({"data": {
                    "dataset_id": DATASET_ID, "version_id": VERSION_ID,
                    "num_created_examples": count, "num_updated_examples": 0,
                    "num_deleted_examples": 0}}).encode()
                kind = "application/json"
            else:
                answer = (b"<html><body><h1>Internal Server Error</h1><pre>Traceback: "
                          b"database is locked</pre></body></html>")
                kind = "text/html"
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    return Upload


@contextlib.contextmanager
def serve(status: int = 200, *, hold: bool = False) -> Iterator[tuple[str, Received]]:
    """A server answering every upload with ``status`` (200: Phoenix's answer naming
    the dataset and version it stored; 500: an HTML error page). ``hold`` keeps each
    request waiting until ``Received.release`` is set. Yields (base URL, what it got)."""
    received = Received()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(status, received, hold))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        received.release.set()
        server.shutdown()
        server.server_close()
        thread.join()
