"""Action schemas the console cannot check edits against are refused when the action
is requested, naming the reference; a remote reference is never fetched; a schema
already stored gives a problem on edit, never a traceback."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import func, select

from countersign.domain import EditSeverity, Verdict
from countersign.jsonio import canonical
from countersign.schema_check import validate
from countersign.services.actions import ActionRequest, ActionService, InvalidSchema
from countersign.services.decisions import DecisionService, InvalidArguments
from countersign.store.engine import Store
from countersign.store.models import ActionRow, AuditEventRow


class SchemaHost:
    """An HTTP server on 127.0.0.1 that would serve a schema: it counts requests, so
    a test can show the console never asked."""

    def __init__(self) -> None:
        outer = self
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                body = b'{"type": "integer"}'
                self.send_response(200)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/amount.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def host() -> Iterator[SchemaHost]:
    running = SchemaHost()
    yield running
    running.close()


def _request(store: Store, schema: dict[str, Any]) -> int:
    action_id, _ = ActionService(store).request(ActionRequest(
        agent="a", action_class="refund", arguments={"amount": 5},
        arguments_schema=schema, source_ref=uuid.uuid4().hex))
    return action_id


def _nothing_written(store: Store) -> None:
    with store.read() as s:
        assert s.execute(select(func.count()).select_from(ActionRow)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(AuditEventRow)).scalar_one() == 0


def _remote(url: str) -> dict[str, Any]:
    return {"type": "object", "properties": {"amount": {"$ref": url}}}


SELF = {"$ref": "#"}
CYCLE = {"$defs": {"a": {"allOf": [{"$ref": "#/$defs/b"}]},
                   "b": {"anyOf": [{"$ref": "#/$defs/a"}]}},
         "$ref": "#/$defs/a"}


def test_a_remote_reference_is_refused_naming_it_and_never_fetched(
        store: Store, host: SchemaHost) -> None:
    with pytest.raises(InvalidSchema) as caught:
        _request(store, _remote(host.url))
    assert host.url in str(caught.value)
    assert "schema.properties.amount.$ref" in str(caught.value)
    assert host.requests == 0
    _nothing_written(store)


@pytest.mark.parametrize(("schema", "named"), [
    (SELF, "$ref '#' at schema.$ref"),
    (CYCLE, "$ref '#/$defs/b' at schema.$defs.a.allOf[0].$ref"),
])
def test_a_reference_cycle_is_refused(sqlite_store: Store, schema: dict[str, Any],
                                      named: str) -> None:
    with pytest.raises(InvalidSchema, match="refers to itself") as caught:
        _request(sqlite_store, schema)
    assert named in str(caught.value)
    _nothing_written(sqlite_store)


@pytest.mark.parametrize(("schema", "named"), [
    ({"type": "strnig"}, "schema.type"),
    ({"properties": {"a": {"minimum": "ten"}}}, "schema.properties.a.minimum"),
    ({"$schema": "http://example.com/my-dialect", "type": "object"}, "schema.$schema"),
    ({"type": "object", "properties": {"a": {"$ref": "other.json#/x"}}},
     "schema.properties.a.$ref"),
])
def test_a_schema_that_is_not_valid_is_refused(sqlite_store: Store, schema: dict[str, Any],
                                               named: str) -> None:
    with pytest.raises(InvalidSchema) as caught:
        _request(sqlite_store, schema)
    assert named in str(caught.value)
    _nothing_written(sqlite_store)


def test_recursion_that_descends_is_fine_and_deep_values_are_a_problem(
        sqlite_store: Store) -> None:
    tree = {"type": "object", "required": ["name"],
            "properties": {"name": {"type": "string"},
                           "children": {"type": "array", "items": {"$ref": "#"}}}}
    _request(sqlite_store, tree)  # accepted
    assert validate({"name": "root", "children": [{"name": "leaf"}]}, tree) == []
    assert [p.path for p in validate({"name": "r", "children": [{}]}, tree)] == \
        ["$.children[0]"]
    deep: dict[str, Any] = {"name": "n", "children": []}
    node = deep
    for _ in range(190):
        child: dict[str, Any] = {"name": "n", "children": []}
        node["children"].append(child)
        node = child
    problems = validate(deep, tree)  # too deep for Python's recursion: a problem
    assert problems and "too deeply" in problems[0].message


@pytest.mark.parametrize("kind", ["remote", "self"])
def test_an_edit_against_a_stored_bad_schema_is_a_clear_refusal(
        sqlite_store: Store, host: SchemaHost, kind: str) -> None:
    """An action stored before this check existed (or by a source writing the table
    directly): the edit is refused with the reason, nothing is fetched, no traceback."""
    action_id = _request(sqlite_store, {"type": "object"})
    schema = _remote(host.url) if kind == "remote" else SELF
    with sqlite_store.write() as s:
        row = s.get(ActionRow, action_id)
        assert row is not None
        row.arguments_schema_json = canonical(schema)
    with pytest.raises(InvalidArguments) as caught:
        DecisionService(sqlite_store).decide(action_id, Verdict.EDIT, reviewer="ann",
                                             severity=EditSeverity.COSMETIC,
                                             arguments={"amount": 4})
    text = str(caught.value)
    assert "the agent's schema is invalid" in text
    assert (host.url in text) if kind == "remote" else ("refers to itself" in text)
    assert host.requests == 0
