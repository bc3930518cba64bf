"""Uploading datasets to Phoenix: against a real arize-phoenix server (read back with
its own JSONL export), and against servers that refuse, fail or never answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from countersign.review.datasets import DatasetNameError, Example
from countersign.review.export import export_examples
from countersign.review.export_formats import phoenix_output
from countersign.review.phoenix import EXCERPT_CHARS, PhoenixError, push_dataset

from .conftest import decision_example
from .phoenix_server import PhoenixServer

Examples = Callable[[int], list[Example]]
#: The real server takes 10-20 s to start (and longer the first time, when its
#: virtualenv is built).
SLOW = pytest.mark.slow


def _read_back(server: PhoenixServer, dataset_id: str) -> dict[str, dict[str, Any]]:
    """The dataset's latest version through Phoenix's own JSONL export, by example id."""
    response = server.get(f"/v1/datasets/{dataset_id}/jsonl")
    assert response.status_code == 200, response.text
    records = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    return {record["id"]: record for record in records}


def _assert_same(record: dict[str, Any], example: Example, dataset: str) -> None:
    assert record["input"] == example.input
    assert record["output"] == phoenix_output(example.expected_output)
    assert record["splits"] == [example.split]
    metadata = record["metadata"]
    assert metadata["example_key"] == example.key
    assert metadata["dataset"] == dataset
    assert metadata["source_trace_id"] == example.source_trace_id
    assert {k: metadata[k] for k in example.metadata} == example.metadata


@SLOW
def test_push_then_read_back_with_phoenixs_export(phoenix_server: PhoenixServer,
                                                  make_examples: Examples) -> None:
    examples = make_examples(12)
    result = push_dataset(phoenix_server.url, "refunds-push", examples,
                          api_key=phoenix_server.api_key, version=1)
    assert (result.created, result.updated, result.deleted) == (12, 0, 0)
    assert result.url == f"{phoenix_server.url}/datasets/{result.dataset_id}"
    records = _read_back(phoenix_server, result.dataset_id)
    assert set(records) == {e.key for e in examples}  # our keys are Phoenix's example ids
    for example in examples:
        _assert_same(records[example.key], example, "refunds-push")
    # The split reached Phoenix as a split, not only as metadata: it filters by it.
    tests = {e.key for e in examples if e.split == "test"}
    response = phoenix_server.get(f"/v1/datasets/{result.dataset_id}/examples?split=test")
    assert response.status_code == 200, response.text
    assert {e["id"] for e in response.json()["data"]["examples"]} == tests


@SLOW
def test_pushing_a_new_version_updates_the_same_dataset(phoenix_server: PhoenixServer,
                                                        make_examples: Examples) -> None:
    first = make_examples(6)
    one = push_dataset(phoenix_server.url, "refunds-versions", first,
                       api_key=phoenix_server.api_key, version=1)
    edited = decision_example(0, verdict="edit", decided_arguments={"amount": 1})
    second = [edited, *first[1:5], decision_example(99)]  # 0 changed, 5 gone, 99 new
    two = push_dataset(phoenix_server.url, "refunds-versions", second,
                       api_key=phoenix_server.api_key, version=2)
    assert two.dataset_id == one.dataset_id and two.version_id != one.version_id
    assert (two.created, two.updated, two.deleted) == (1, 1, 1)
    records = _read_back(phoenix_server, two.dataset_id)
    assert set(records) == {e.key for e in second}
    assert records["action:0"]["output"] == {"amount": 1}


@SLOW
def test_the_exported_phoenix_file_is_accepted_by_phoenix(
        phoenix_server: PhoenixServer, make_examples: Examples, tmp_path: Path) -> None:
    examples = make_examples(8)
    out = tmp_path / "refunds.phoenix.json"
    export_examples(examples, "phoenix", out, dataset="refunds-file", version=4)
    response = httpx.post(
        f"{phoenix_server.url}/v1/datasets/upload?sync=true", content=out.read_bytes(),
        headers={"content-type": "application/json",
                 "authorization": f"Bearer {phoenix_server.api_key}"}, timeout=30)
    assert response.status_code == 200, response.text
    records = _read_back(phoenix_server, response.json()["data"]["dataset_id"])
    assert set(records) == {e.key for e in examples}
    for example in examples:
        _assert_same(records[example.key], example, "refunds-file")


@SLOW
def test_a_wrong_or_missing_api_key_is_a_plain_error_without_the_key(
        phoenix_server: PhoenixServer, make_examples: Examples) -> None:
    key = "not-the-key-5f2c9a1d"
    with pytest.raises(PhoenixError, match=r"HTTP 401.*check the API key") as caught:
        push_dataset(phoenix_server.url, "refused", make_examples(2), api_key=key)
    assert key not in str(caught.value)
    with pytest.raises(PhoenixError, match="needs an API key"):
        push_dataset(phoenix_server.url, "refused", make_examples(2))


def test_a_500_gives_the_status_and_a_short_plain_excerpt(failing_server: str,
                                                          make_examples: Examples) -> None:
    key = "secret-key-0123456789"
    with pytest.raises(PhoenixError) as caught:
        push_dataset(failing_server, "d", make_examples(3), api_key=key)
    message = str(caught.value)
    assert message.startswith(f"Phoenix at {failing_server} answered HTTP 500")
    assert "database is locked" in message
    assert key not in message  # the page echoed the Authorization header
    assert "<" not in message and "\n" not in message
    assert len(message) < 120 + EXCERPT_CHARS


def test_a_phoenix_too_old_for_update_says_so(old_phoenix_server: str,
                                              make_examples: Examples) -> None:
    with pytest.raises(PhoenixError) as caught:
        push_dataset(old_phoenix_server, "d", make_examples(1))
    assert str(caught.value) == (
        f"Phoenix at {old_phoenix_server} answered HTTP 422 Unprocessable Entity "
        "(Phoenix 15 or newer is needed): 'update' is not a valid DatasetAction")


def test_a_server_that_is_down_is_refused(closed_port_url: str,
                                          make_examples: Examples) -> None:
    with pytest.raises(PhoenixError, match="refused"):
        push_dataset(closed_port_url, "d", make_examples(1), api_key="k" * 20)


def test_a_server_that_never_answers_times_out(silent_server: str,
                                               make_examples: Examples) -> None:
    with pytest.raises(PhoenixError, match=r"did not answer within 0\.3 s"):
        push_dataset(silent_server, "d", make_examples(1), timeout=0.3)


def test_credentials_in_the_url_never_reach_the_message(closed_port_url: str) -> None:
    url = closed_port_url.replace("http://", "http://user:hunter2pass@")
    with pytest.raises(PhoenixError) as caught:
        push_dataset(url, "d", [])
    assert "hunter2pass" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)


@pytest.mark.parametrize("url", ["localhost:6006", "ftp://host/", "http://", "not a url"])
def test_a_bad_url_is_refused_before_any_request(url: str) -> None:
    with pytest.raises(PhoenixError, match="Phoenix URL"):
        push_dataset(url, "d", [])


def test_a_bad_name_is_refused_before_any_request(closed_port_url: str) -> None:
    with pytest.raises(DatasetNameError):
        push_dataset(closed_port_url, "../etc", [])
