"""Datasets in the store: frozen versions, diffs, edits as corrections in the export,
and a build killed half-way that leaves no version behind."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from countersign.domain import Risk, Verdict
from countersign.domain.review import DatasetFilter
from countersign.review.export import ExportError
from countersign.services.datasets import DatasetError, DatasetService, UnknownDataset
from countersign.services.review import ReviewService
from countersign.store.engine import Store
from countersign.store.migrate import open_store

from .store_helpers import decided, seed_decided


def test_a_new_version_never_changes_an_old_one_and_diffs_say_what_changed(
        store: Store) -> None:
    review, datasets = ReviewService(store), DatasetService(store)
    review.replace_rules([], actor="lead")
    kept = decided(store, Verdict.APPROVE, risk=Risk.LOW)
    relabelled = decided(store, Verdict.APPROVE, risk=Risk.LOW)
    v1 = datasets.build("refunds", actor="ana")
    before = datasets.examples("refunds", 1)
    added = decided(store, Verdict.REJECT, risk=Risk.LOW)
    item, _ = review.add(actor="lead", action_id=relabelled)
    review.submit(item, reviewer="bo", answers={"correct": "wrong", "harm": False},
                  correction={"order": "A-2", "amount": 7})
    v2 = datasets.build("refunds", actor="ana")
    assert (v1.version, v1.examples, v2.version, v2.examples) == (1, 2, 2, 3)
    assert datasets.examples("refunds", 1) == before
    diff = datasets.diff("refunds", 1, 2)
    assert [e.key for e in diff.added] == [f"action:{added}"]
    assert diff.removed == []
    [(old, new)] = diff.changed
    assert new.key == f"action:{relabelled}" and new.expected_output == {"order": "A-2",
                                                                          "amount": 7}
    assert old.metadata["expected_from"] == "approved"
    narrower = datasets.build("refunds", DatasetFilter(verdicts=("rejected",)), actor="ana")
    assert [e.key for e in datasets.diff("refunds", 2, narrower.version).removed] == [
        f"action:{kept}", f"action:{relabelled}"]
    assert [(i.name, i.version) for i in datasets.versions()] == [
        ("refunds", 1), ("refunds", 2), ("refunds", 3)]


def test_an_edit_is_a_correction_in_the_exported_dataset(sqlite_store: Store,
                                                          tmp_path: Path) -> None:
    datasets = DatasetService(sqlite_store)
    edited = decided(sqlite_store, Verdict.EDIT, risk=Risk.LOW,
                     edit={"order": "A-1", "amount": 12})
    decided(sqlite_store, Verdict.APPROVE, risk=Risk.LOW)
    datasets.build("edits", DatasetFilter(verdicts=("edit",)), actor="ana")
    out = tmp_path / "edits.jsonl"
    info, written = datasets.export("edits", "jsonl", out)
    assert (info.version, written) == (1, 1)
    [line] = out.read_text().splitlines()
    example = json.loads(line)
    assert example["key"] == f"action:{edited}"
    assert example["expected_output"] == {"order": "A-1", "amount": 12}
    assert example["input"]["tool_call"]["arguments"] == {"order": "A-1", "amount": 40}
    assert example["metadata"]["expected_from"] == "edit"
    assert example["metadata"]["severity"] == "material"


def test_examples_carry_the_conversation_that_led_to_the_action(sqlite_store: Store) -> None:
    [action] = seed_decided(sqlite_store, 1, with_conversation=True)
    DatasetService(sqlite_store).build("talk", actor="ana")
    [example] = DatasetService(sqlite_store).examples("talk")
    assert example.input["messages"] == [
        {"role": "system", "content": "You are the billing agent."},
        {"role": "user", "content": f"Refund order A-{action}."}]
    assert example.source_trace_id == f"{action:032x}"


def test_bad_names_paths_and_versions_are_refused(sqlite_store: Store, tmp_path: Path) -> None:
    datasets = DatasetService(sqlite_store)
    with pytest.raises(DatasetError, match="path characters"):
        datasets.build("../etc", actor="ana")
    with pytest.raises(DatasetError, match="verdict: unknown verdict 'maybe'"):
        datasets.build("x", DatasetFilter(verdicts=("maybe",)), actor="ana")
    assert datasets.versions() == []
    datasets.build("x", actor="ana")
    with pytest.raises(UnknownDataset, match="'x' version 9"):
        datasets.export("x", "csv", tmp_path / "x.csv", version=9)
    target = tmp_path / "missing" / "x.csv"
    with pytest.raises(ExportError, match="missing"):
        datasets.export("x", "csv", target)
    assert not target.parent.exists()


BUILDER = textwrap.dedent("""
    import sys, time
    from countersign.services.datasets import DatasetService
    from countersign.store.migrate import open_store

    def stop_here(count):
        print(f"stored {count}", flush=True)
        time.sleep(600)  # killed here, inside the build's transaction

    DatasetService(open_store(sys.argv[1])).build("big", actor="crash", progress=stop_here)
""")


def test_a_build_killed_half_way_leaves_no_partial_version(sqlite_url: str,
                                                           tmp_path: Path) -> None:
    store = open_store(sqlite_url)
    seed_decided(store, 25_000)
    script = tmp_path / "builder.py"
    script.write_text(BUILDER)
    proc = subprocess.Popen([sys.executable, str(script), sqlite_url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the first chunk is in the transaction
    assert line.startswith("stored 10000"), proc.stderr.read() if proc.stderr else line
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    datasets = DatasetService(store)
    assert datasets.versions() == []
    info = datasets.build("big", actor="ana")
    assert (info.version, info.examples) == (1, 25_000)
    store.dispose()


def test_a_stored_example_reads_back_equal_to_the_one_built() -> None:
    from countersign.review.datasets import Example, example_from_decision, trusted_example
    from countersign.review.export_formats import example_row

    built = example_from_decision(action_id=3, tool_name="refund", proposed_arguments={"a": 1},
                                  verdict="edit", decided_arguments={"a": 2}, severity="material")
    validated = Example.model_validate(example_row(built))
    again = trusted_example(json.loads(json.dumps(example_row(built))))
    assert again == validated == built and again.model_dump() == validated.model_dump()
    with pytest.raises(ValueError, match="exactly the fields"):
        trusted_example({"key": "x"})
