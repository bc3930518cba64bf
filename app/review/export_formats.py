"""The shape of one example in each format eval tools read; no files here.

- ``openai-evals``: a JSONL line ``{"input": [chat messages], "ideal": text}`` as the
  `openai/evals` basic evals (Match, Includes, FuzzyMatch) read it: ``input`` is a chat
  prompt (a list of ``{role, content}`` dicts), ``ideal`` is compared as text. The
  ideal is the expected output itself when it is text, otherwise its canonical JSON
  (sorted keys, no spaces), so a model's JSON answer can be matched exactly. Our
  metadata rides in a ``metadata`` key, which those evals ignore.
- ``phoenix``: the JSON body of Phoenix's ``POST /v1/datasets/upload`` (checked
  against arize-phoenix 20.26 ``_process_json``): parallel lists ``inputs``,
  ``outputs``, ``metadata`` (dicts), ``splits`` (a split name each),
  ``span_ids`` (links to the source spans when Phoenix has them) and ``example_ids``
  (our keys: Phoenix keeps them as the examples' ids and matches on them when a new
  version is uploaded with ``action: "update"``). Outputs must be dicts: expected
  arguments (a dict) go as they are, anything else as ``{"value": ...}``.
- ``langfuse``: a dataset item as the Langfuse public API creates it
  (``CreateDatasetItemRequest``: ``datasetName``, ``input``, ``expectedOutput``,
  ``metadata``, ``sourceTraceId``, ``sourceObservationId``).
- ``csv``: `CSV_COLUMNS`, JSON in the structured cells.
- ``jsonl``: the `Example` model itself, one per line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import msgspec

from .datasets import Example, validate_dataset_name

FORMATS = ("openai-evals", "phoenix", "langfuse", "csv", "jsonl")
Format = Literal["openai-evals", "phoenix", "langfuse", "csv", "jsonl"]
CSV_COLUMNS = ("key", "split", "input", "expected_output", "metadata",
               "source_trace_id", "source_span_id")
PhoenixAction = Literal["create", "update", "append"]

_canonical = msgspec.json.Encoder(order="sorted")


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: the form used in CSV cells and ideals."""
    return _canonical.encode(value).decode("utf-8")


def example_row(example: Example) -> dict[str, Any]:
    """The `Example` as a plain dict (its JSONL line), without pydantic's dump cost."""
    return {
        "key": example.key,
        "split": example.split,
        "input": example.input,
        "expected_output": example.expected_output,
        "metadata": example.metadata,
        "source_trace_id": example.source_trace_id,
        "source_span_id": example.source_span_id,
    }


def provenance(example: Example, dataset: str, version: int | None) -> dict[str, Any]:
    """The example's metadata plus where it comes from, for formats that have one
    metadata object (ours win over same-named keys: they are facts, not labels)."""
    out = dict(example.metadata)
    out.update(example_key=example.key, split=example.split, dataset=dataset,
               source_trace_id=example.source_trace_id,
               source_span_id=example.source_span_id)
    if version is not None:
        out["dataset_version"] = version
    return out


def ideal_text(expected: Any) -> str:
    """The OpenAI evals ``ideal``: text as it is, anything else as canonical JSON."""
    return expected if isinstance(expected, str) else canonical_json(expected)


def openai_evals_row(example: Example, dataset: str, version: int | None) -> dict[str, Any]:
    return {
        "input": example.input["messages"],
        "ideal": ideal_text(example.expected_output),
        "metadata": {**provenance(example, dataset, version),
                     "tool_call": example.input.get("tool_call")},
    }


def langfuse_item(example: Example, dataset: str, version: int | None) -> dict[str, Any]:
    meta = provenance(example, dataset, version)
    del meta["source_trace_id"], meta["source_span_id"]  # top-level fields in Langfuse
    return {
        "datasetName": dataset,
        "input": example.input,
        "expectedOutput": example.expected_output,
        "metadata": meta,
        "sourceTraceId": example.source_trace_id,
        "sourceObservationId": example.source_span_id,
    }


def csv_row(example: Example) -> tuple[str, ...]:
    return (
        example.key,
        example.split,
        canonical_json(example.input),
        canonical_json(example.expected_output),
        canonical_json(example.metadata),
        example.source_trace_id or "",
        example.source_span_id or "",
    )


def phoenix_output(expected: Any) -> dict[str, Any]:
    """Phoenix wants an object per output: a dict as it is, anything else wrapped."""
    return expected if isinstance(expected, dict) else {"value": expected}


def phoenix_upload_body(examples: Iterable[Example], dataset: str, version: int | None,
                        *, action: PhoenixAction = "create") -> dict[str, Any]:
    """The JSON body of ``POST /v1/datasets/upload`` for ``examples`` (see module doc)."""
    validate_dataset_name(dataset)
    inputs: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    metadata: list[dict[str, Any]] = []
    splits: list[str] = []
    span_ids: list[str | None] = []
    example_ids: list[str] = []
    for example in examples:
        inputs.append(example.input)
        outputs.append(phoenix_output(example.expected_output))
        # No version per example: Phoenix would count every example as changed on
        # each push (it diffs content), hiding the real changes in its history.
        metadata.append(provenance(example, dataset, None))
        splits.append(example.split)
        span_ids.append(example.source_span_id)
        example_ids.append(example.key)
    described = f"version {version} of " if version is not None else ""
    return {
        "action": action,
        "name": dataset,
        "description": f"Exported from {described}the Countersign dataset {dataset}",
        "inputs": inputs,
        "outputs": outputs,
        "metadata": metadata,
        "splits": splits,
        "span_ids": span_ids,
        "example_ids": example_ids,
    }
