"""The queue commands scripts rely on (issue 11): JSON arrays, `queue show` with what an
edit needs, the verdict in `queue list`, and every schema problem of an edit named."""

from __future__ import annotations

import json

import pytest

from countersign.cli import main
from countersign.domain import Verdict
from countersign.services.actions import ActionRequest, ActionService
from countersign.services.decisions import DecisionService
from countersign.store.migrate import open_store

SCHEMA = {"type": "object", "required": ["to", "amount"], "additionalProperties": False,
          "properties": {"to": {"type": "string"}, "amount": {"type": "integer", "minimum": 1}}}


def _seed(url: str) -> tuple[int, int]:
    store = open_store(url)
    actions = ActionService(store)
    first, _ = actions.request(ActionRequest(
        agent="payer", action_class="pay", arguments={"to": "ann", "amount": 5},
        arguments_schema=SCHEMA, description="Pay Ann", risk="high", source_ref="a"))
    second, _ = actions.request(ActionRequest(
        agent="payer", action_class="pay", arguments={"to": "bo", "amount": 7},
        arguments_schema=SCHEMA, source_ref="b"))
    DecisionService(store).decide(second, Verdict.REJECT, reviewer="cy", reason="no")
    store.dispose()
    return first, second


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_lists_are_one_json_array_with_the_verdict(sqlite_url: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    first, second = _seed(sqlite_url)
    pending = _json(capsys, "--store", sqlite_url, "queue", "list", "--json")
    assert [row["id"] for row in pending] == [first]  # type: ignore[union-attr]
    decided = _json(capsys, "--store", sqlite_url, "queue", "list", "--state", "decided",
                    "--json")
    assert [(r["id"], r["verdict"], r["decided_by"]) for r in decided] == [  # type: ignore[union-attr]
        (second, "reject", "cy")]
    assert main(["--store", sqlite_url, "queue", "list", "--agent", "nobody", "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"


def test_queue_show_gives_what_an_edit_needs(sqlite_url: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    first, second = _seed(sqlite_url)
    shown = _json(capsys, "--store", sqlite_url, "queue", "show", str(first), "--json")
    assert isinstance(shown, dict)
    assert shown["arguments"] == {"to": "ann", "amount": 5}
    assert shown["arguments_schema"] == SCHEMA
    assert (shown["description"], shown["risk"], shown["state"]) == ("Pay Ann", "high",
                                                                     "pending")
    assert shown["decision"] is None and "trace_id" in shown and "reasoning" in shown
    rejected = _json(capsys, "--store", sqlite_url, "queue", "show", str(second), "--json")
    assert rejected["decision"]["verdict"] == "reject"  # type: ignore[index]
    assert main(["--store", sqlite_url, "queue", "show", "999"]) == 1


def test_an_edit_names_every_schema_problem(sqlite_url: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    first, _ = _seed(sqlite_url)
    code = main(["--store", sqlite_url, "queue", "decide", str(first), "--verdict", "edit",
                 "--severity", "material", "--arguments", '{"to": 1, "amount": 0, "x": 2}'])
    err = capsys.readouterr().err
    assert code == 1
    assert "3 places" in err and "$.to" in err and "$.amount" in err
    assert "more)" not in err
