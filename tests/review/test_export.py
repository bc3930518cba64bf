"""Exports: each format read back the way its tool reads it, and every failure leaves
nothing half-written. (Phoenix's own server reads its format in test_phoenix.py.)"""

from __future__ import annotations

import csv
import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langfuse.api import CreateDatasetItemRequest
from langfuse.api.core.pydantic_utilities import parse_obj_as

from countersign.review.datasets import DatasetNameError, Example
from countersign.review.export import (
    FORMATS,
    ExportCancelled,
    ExportError,
    export_examples,
    read_examples_jsonl,
)
from countersign.review.export_formats import CSV_COLUMNS

Examples = Callable[[int], list[Example]]


def _export(examples: list[Example], fmt: str, out: Path) -> int:
    return export_examples(examples, fmt, out, dataset="refunds", version=3)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- round trips -------------------------------------------------------------------


def test_jsonl_reads_back_into_the_same_examples(tmp_path: Path,
                                                 make_examples: Examples) -> None:
    examples = make_examples(9)
    out = tmp_path / "refunds.jsonl"
    assert _export(examples, "jsonl", out) == 9
    assert list(read_examples_jsonl(out)) == examples


def test_jsonl_reader_names_the_bad_line(tmp_path: Path) -> None:
    out = tmp_path / "bad.jsonl"
    out.write_text('{"key": "a", "input": {"messages": []}, "split": "train"}\n{"key": 1}\n')
    with pytest.raises(ValueError, match="line 2"):
        list(read_examples_jsonl(out))


def _is_chat_prompt(prompt: Any) -> bool:
    """openai/evals `evals.prompt.base.is_chat_prompt`, which Match and Includes use to
    tell a chat prompt from a text one."""
    return isinstance(prompt, list) and all(isinstance(msg, dict) for msg in prompt)


def _get_jsonl(path: Path) -> list[dict[str, Any]]:
    """openai/evals `evals.data.get_jsonl`: one JSON object per non-empty line."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_openai_evals_samples_have_the_shape_the_basic_evals_read(
        tmp_path: Path, make_examples: Examples) -> None:
    examples = make_examples(8)
    out = tmp_path / "refunds.evals.jsonl"
    _export(examples, "openai-evals", out)
    samples = _get_jsonl(out)
    assert len(samples) == 8
    for sample, example in zip(samples, examples, strict=True):
        assert _is_chat_prompt(sample["input"])
        assert all(set(m) == {"role", "content"} and m["role"] in {"system", "user"}
                   and isinstance(m["content"], str) for m in sample["input"])
        assert sample["input"] == example.input["messages"]
        assert isinstance(sample["ideal"], str)
        if isinstance(example.expected_output, str):
            assert sample["ideal"] == example.expected_output
        else:  # canonical JSON: a model's JSON answer can match it exactly
            assert json.loads(sample["ideal"]) == example.expected_output
            assert sample["ideal"] == json.dumps(example.expected_output, sort_keys=True,
                                                 separators=(",", ":"), ensure_ascii=False)
        assert sample["metadata"]["example_key"] == example.key
        assert sample["metadata"]["dataset_version"] == 3
        assert sample["metadata"]["tool_call"] == example.input["tool_call"]
    edit = next(s for s, e in zip(samples, examples, strict=True)
                if e.metadata.get("verdict") == "edit")
    assert json.loads(edit["ideal"]) == {"order": "A-1", "amount": 5}


LANGFUSE_FIELDS = {"datasetName", "input", "expectedOutput", "metadata", "sourceTraceId",
                   "sourceObservationId", "id", "status"}


def test_langfuse_items_validate_against_the_sdks_create_request(
        tmp_path: Path, make_examples: Examples) -> None:
    examples = make_examples(8)
    out = tmp_path / "refunds.langfuse.json"
    _export(examples, "langfuse", out)
    items = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(items, list) and len(items) == 8
    for item, example in zip(items, examples, strict=True):
        # The model allows extra fields, so check we send only the ones it knows.
        assert set(item) <= LANGFUSE_FIELDS
        # The SDK's own reader of wire JSON (camelCase keys), and its writer back.
        request = parse_obj_as(CreateDatasetItemRequest, item)
        assert request.dict() == item
        assert request.dataset_name == "refunds"
        assert request.input == example.input
        assert request.expected_output == example.expected_output
        assert request.source_trace_id == example.source_trace_id
        assert request.source_observation_id == example.source_span_id
        assert request.metadata["example_key"] == example.key
        assert request.metadata["split"] == example.split


def test_csv_reads_back_with_dictreader(tmp_path: Path, make_examples: Examples) -> None:
    examples = make_examples(8)
    out = tmp_path / "refunds.csv"
    _export(examples, "csv", out)
    with open(out, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    assert b"\r\n" in out.read_bytes()  # RFC 4180 line ends
    for row, example in zip(rows, examples, strict=True):
        assert row["key"] == example.key
        assert row["split"] == example.split
        assert json.loads(row["input"]) == example.input  # newlines, quotes, commas survive
        assert json.loads(row["expected_output"]) == example.expected_output
        assert json.loads(row["metadata"]) == example.metadata
        assert row["source_trace_id"] == (example.source_trace_id or "")
        assert row["source_span_id"] == (example.source_span_id or "")


def test_phoenix_file_is_one_upload_body(tmp_path: Path, make_examples: Examples) -> None:
    examples = make_examples(5)
    out = tmp_path / "refunds.phoenix.json"
    _export(examples, "phoenix", out)
    body = json.loads(out.read_text(encoding="utf-8"))
    assert body["action"] == "create" and body["name"] == "refunds"
    for column in ("inputs", "outputs", "metadata", "splits", "span_ids", "example_ids"):
        assert len(body[column]) == 5, column
    assert all(isinstance(x, dict) for x in body["inputs"] + body["outputs"] + body["metadata"])
    assert body["example_ids"] == [e.key for e in examples]
    assert body["splits"] == [e.split for e in examples]
    assert body["outputs"][3] == {"value": "The meeting is on 3 March."}  # text, wrapped
    assert body["outputs"][2] == {"value": None}  # a rejection expects nothing


def test_empty_dataset_exports_valid_empty_files(tmp_path: Path) -> None:
    for fmt in FORMATS:
        out = tmp_path / f"empty.{fmt}"
        assert _export([], fmt, out) == 0
    assert json.loads((tmp_path / "empty.langfuse").read_text()) == []
    assert (tmp_path / "empty.jsonl").read_bytes() == b""
    assert json.loads((tmp_path / "empty.phoenix").read_text())["inputs"] == []


# --- streaming, progress and cancel -------------------------------------------------


def test_a_generator_streams_with_progress(tmp_path: Path, make_examples: Examples) -> None:
    examples = make_examples(5000)
    seen: list[int] = []

    def stream() -> Iterator[Example]:
        yield from examples

    out = tmp_path / "big.jsonl"
    assert export_examples(stream(), "jsonl", out, dataset="d", version=1,
                           progress=seen.append) == 5000
    assert seen == sorted(seen) and seen[-1] == 5000 and len(seen) > 1
    assert len(out.read_bytes().splitlines()) == 5000


@pytest.mark.parametrize("fmt", FORMATS)
def test_cancel_midway_leaves_no_file_and_keeps_the_old_one(
        tmp_path: Path, make_examples: Examples, fmt: str) -> None:
    examples = make_examples(7000)
    out = tmp_path / "refunds.out"
    out.write_text("the previous export")
    asked = 0

    def cancel() -> bool:
        nonlocal asked
        asked += 1
        return asked > 2  # after two chunks were written

    with pytest.raises(ExportCancelled, match="cancelled"):
        export_examples(examples, fmt, out, dataset="d", version=1, cancel=cancel)
    assert out.read_text() == "the previous export"
    assert _leftovers(tmp_path) == ["refunds.out"]


def test_export_file_gets_ordinary_permissions(tmp_path: Path) -> None:
    out = tmp_path / "perm.jsonl"
    _export([], "jsonl", out)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


# --- bad input ---------------------------------------------------------------------


def test_missing_folder_is_named(tmp_path: Path, make_examples: Examples) -> None:
    out = tmp_path / "nowhere" / "refunds.jsonl"
    with pytest.raises(ExportError, match="nowhere does not exist") as caught:
        _export(make_examples(2), "jsonl", out)
    assert caught.value.path == out
    assert not (tmp_path / "nowhere").exists()


def test_a_folder_as_destination_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(ExportError, match="it is a folder"):
        _export([], "csv", tmp_path / "taken")
    parent_is_file = tmp_path / "file"
    parent_is_file.write_text("x")
    with pytest.raises(ExportError, match="is not a folder"):
        _export([], "csv", parent_is_file / "out.csv")


def _unwritable_folder(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o500)
        return folder
    if Path("/sys/kernel").is_dir():  # root writes anywhere but sysfs
        return Path("/sys/kernel")
    pytest.skip("no folder is unwritable for root here")


def test_unwritable_path_gives_the_path_and_cause(tmp_path: Path,
                                                  make_examples: Examples) -> None:
    folder = _unwritable_folder(tmp_path)
    out = folder / "refunds.jsonl"
    with pytest.raises(ExportError) as caught:
        _export(make_examples(2), "jsonl", out)
    assert str(out) in str(caught.value)
    assert "ermission denied" in str(caught.value)
    assert not out.exists()


def test_a_value_that_is_not_json_fails_cleanly(tmp_path: Path,
                                                make_examples: Examples) -> None:
    examples = [*make_examples(3000),
                Example(key="bad", input={"messages": []}, metadata={"x": object()},
                        split="train")]
    out = tmp_path / "refunds.jsonl"
    out.write_text("old")
    with pytest.raises(ExportError, match="not JSON"):
        _export(examples, "jsonl", out)
    assert out.read_text() == "old"
    assert _leftovers(tmp_path) == ["refunds.jsonl"]


def test_bad_dataset_name_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(DatasetNameError, match="path characters"):
        export_examples([], "jsonl", tmp_path / "x.jsonl", dataset="../x", version=1)
    with pytest.raises(ValueError, match="format must be one of"):
        export_examples([], "parquet", tmp_path / "x.pq", dataset="d", version=1)
    assert _leftovers(tmp_path) == []
