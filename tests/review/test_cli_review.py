"""Every review, rubric, agreement and dataset command, as scripts call them: JSON on
``--json``, exit 1 with one line naming the field or cause for each bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from countersign.cli import main
from countersign.domain import Risk, Verdict
from countersign.store.migrate import open_store

from .phoenix_server import PhoenixServer
from .store_helpers import decided

RIGHT = '{"correct": "correct", "harm": false}'


def run(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> tuple[int, Any, str]:
    code = main([*argv, "--store", url])
    out, err = capsys.readouterr()
    try:
        parsed: Any = json.loads(out) if out.strip() else None
    except json.JSONDecodeError:
        parsed = out
    return code, parsed, err


@pytest.fixture
def url(sqlite_url: str) -> str:
    """A store with two decided high-risk actions (sampled, two labels each) and one
    low-risk action with an edit."""
    store = open_store(sqlite_url)
    decided(store, Verdict.APPROVE, risk=Risk.HIGH)
    decided(store, Verdict.REJECT, risk=Risk.HIGH)
    store.dispose()
    return sqlite_url


def test_review_add_sample_list_label(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, items, _ = run(capsys, url, "review", "list", "--json")
    assert code == 0 and [(i["action_id"], i["pi"], i["labels"], i["needed"]) for i in items] \
        == [(1, 1.0, 0, 2), (2, 1.0, 0, 2)]
    assert run(capsys, url, "review", "sample", "--json")[:2] == (
        0, {"considered": 2, "drawn": 2})
    store = open_store(url)
    low = decided(store, Verdict.EDIT, risk=Risk.LOW, amount=41)
    store.dispose()
    code, added, _ = run(capsys, url, "review", "add", str(low), "--labels", "2", "--json")
    assert code == 0 and added["id"] > 2
    assert run(capsys, url, "review", "add", str(low), "--json")[1]["id"] == added["id"]
    code, text, _ = run(capsys, url, "review", "add", str(low))
    assert (code, text) == (0, added["id"])  # the bare id: one JSON number
    code, items, _ = run(capsys, url, "review", "list", "--state", "all", "--json")
    [ad_hoc] = [i for i in items if i["id"] == added["id"]]
    assert (ad_hoc["pi"], ad_hoc["trace_id"], ad_hoc["action_id"]) == (None, None, low)
    code, label, _ = run(capsys, url, "review", "label", "1", "--reviewer", "ana",
                         "--answers", RIGHT, "--json")
    assert code == 0 and label["reviewer"] == "ana" and label["rubric_version"] == 1
    code, _, err = run(capsys, url, "review", "label", "1", "--reviewer", "ana",
                       "--answers", RIGHT)
    assert code == 1 and "ana already labelled review item 1" in err
    run(capsys, url, "review", "label", "1", "--reviewer", "bo", "--answers", RIGHT)
    assert [i["id"] for i in run(capsys, url, "review", "list", "--state", "done",
                                 "--json")[1]] == [1]


@pytest.mark.parametrize(("answers", "names"), [
    ('{"harm": false}', "'correct': an answer is required"),
    ('{"correct": true, "harm": false}', "'correct': True is not an option"),
    ('{"correct": "correct", "harm": "no"}', "'harm': expected true or false"),
    ('{"correct": "perfect", "harm": false}', "'perfect' is not an option"),
    ('{"correct": "correct",', "--answers is not valid JSON"),
    ('["correct"]', "--answers must be a JSON object"),
])
def test_review_label_refusals_name_the_question(capsys: pytest.CaptureFixture[str], url: str,
                                                 answers: str, names: str) -> None:
    code, _, err = run(capsys, url, "review", "label", "1", "--reviewer", "ana",
                       "--answers", answers)
    assert code == 1 and names in err and err.count("\n") == 1


def test_review_label_refuses_a_correction_that_breaks_the_schema(
        capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, _, err = run(capsys, url, "review", "label", "2", "--reviewer", "ana", "--answers",
                       RIGHT, "--correction", '{"order": "B-1", "amount": 5}')
    assert code == 1 and "$.order" in err and "breaks the action's schema" in err


def test_review_add_refusals(capsys: pytest.CaptureFixture[str], url: str) -> None:
    assert run(capsys, url, "review", "add", "77")[::2] == (1, "countersign: there is no "
                                                             "action 77\n")
    code, _, err = run(capsys, url, "review", "add", "--trace", "ab" * 16)
    assert code == 1 and "no run with trace id" in err
    assert run(capsys, url, "review", "add")[0] == 2


def test_rubric_list_import_export(capsys: pytest.CaptureFixture[str], url: str,
                                   tmp_path: Path) -> None:
    code, rubrics, _ = run(capsys, url, "rubric", "list", "--json")
    assert code == 0 and [(r["name"], r["version"]) for r in rubrics] == [
        ("action-outcome", 1), ("run-outcome", 1)]
    code, toml, _ = run(capsys, url, "rubric", "export", "run-outcome")
    assert code == 0 and 'name = "run-outcome"' in toml
    changed = tmp_path / "run.toml"
    changed.write_text(toml.replace("Did the run complete its task?", "Done?"))
    code, saved, _ = run(capsys, url, "rubric", "import", str(changed), "--json")
    assert (code, saved) == (0, {"name": "run-outcome", "version": 2, "created": True})
    code, text, _ = run(capsys, url, "rubric", "import", str(changed))
    assert code == 0 and "unchanged" in text
    assert "Done?" in run(capsys, url, "rubric", "export", "run-outcome")[1]
    assert run(capsys, url, "rubric", "export", "nope")[::2] == (
        1, "countersign: there is no rubric 'nope'\n")


@pytest.mark.parametrize(("text", "names"), [
    ('name = "r"\ntarget = "action"\n[[questions]]\nkey = "a"\nprompt = "A?"\n'
     'type = "boolean"\n[[questions]]\nkey = "a"\nprompt = "B?"\ntype = "boolean"\n',
     "questions[1].key: duplicate key 'a'"),
    ('name = "r"\ntarget = "action"\n[[questions]]\nkey = "a"\nprompt = "A?"\n'
     'type = "scale"\n', "questions[0] ('a').type: unknown value 'scale'"),
    ('name = "r"\ntarget = "action"\n[[questions]]\nkey = "a"\nprompt = "A?"\n'
     'type = "categorical"\noptions = []\n', "questions[0] ('a').options: a categorical "
     "question needs at least two options"),
])
def test_rubric_import_refusals_name_the_field(capsys: pytest.CaptureFixture[str], url: str,
                                              tmp_path: Path, text: str, names: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    code, _, err = run(capsys, url, "rubric", "import", str(path))
    assert code == 1 and names in err and str(path) in err
    code, _, err = run(capsys, url, "rubric", "import", str(tmp_path / "absent.toml"))
    assert code == 1 and "cannot read" in err


def test_agreement(capsys: pytest.CaptureFixture[str], url: str) -> None:
    for item, (a, b) in {1: ("correct", "correct"), 2: ("wrong", "minor")}.items():
        for reviewer, answer in (("ana", a), ("bo", b)):
            run(capsys, url, "review", "label", str(item), "--reviewer", reviewer,
                "--answers", json.dumps({"correct": answer, "harm": False}))
    code, report, _ = run(capsys, url, "agreement", "--json")
    assert code == 0 and report["rubric"] == "action-outcome"
    correct = next(q for q in report["questions"] if q["key"] == "correct")
    assert correct["level"] == "nominal" and correct["items"] == 2
    assert isinstance(correct["alpha"], float)
    assert report["pairs"] == [{"a": "ana", "b": "bo", "question": "correct",
                                "kappa": report["pairs"][0]["kappa"], "items": 2}]
    code, text, _ = run(capsys, url, "agreement")
    assert code == 0 and "alpha correct" in text
    assert run(capsys, url, "agreement", "--rubric", "nope")[0] == 1


def test_dataset_build_list_diff_export(capsys: pytest.CaptureFixture[str], url: str,
                                        tmp_path: Path) -> None:
    code, built, _ = run(capsys, url, "dataset", "build", "hi-risk", "--json")
    assert (code, built) == (0, {"name": "hi-risk", "version": 1, "examples": 2})
    code, built, _ = run(capsys, url, "dataset", "build", "hi-risk", "--verdict", "reject",
                         "--agent", "billing", "--action-class", "refund", "--json")
    assert (code, built["version"], built["examples"]) == (0, 2, 1)
    code, versions, _ = run(capsys, url, "dataset", "list", "--json")
    assert [(v["name"], v["version"], v["examples"]) for v in versions] == [
        ("hi-risk", 1, 2), ("hi-risk", 2, 1)]
    assert versions[1]["filter"]["verdicts"] == ["reject"]
    code, diff, _ = run(capsys, url, "dataset", "diff", "hi-risk", "1", "2", "--json")
    assert (code, diff["added"], diff["removed"], diff["changed"]) == (0, [], ["action:1"], [])
    for fmt in ("openai-evals", "phoenix", "langfuse", "csv", "jsonl"):
        out = tmp_path / f"hi.{fmt}"
        code, done, _ = run(capsys, url, "dataset", "export", "hi-risk", "--version", "1",
                            "--format", fmt, "--out", str(out), "--json")
        assert code == 0 and done["examples"] == 2 and out.stat().st_size > 0, fmt


def test_dataset_build_by_label_answers_and_time(capsys: pytest.CaptureFixture[str],
                                                url: str) -> None:
    """Examples chosen by what reviewers answered and by when: the approved action
    labelled wrong (without harm) alone, and nothing decided more than an hour ago."""
    run(capsys, url, "review", "label", "1", "--reviewer", "ana",
        "--answers", '{"correct": "wrong", "harm": false}')
    run(capsys, url, "review", "label", "2", "--reviewer", "ana", "--answers", RIGHT)
    code, built, _ = run(capsys, url, "dataset", "build", "wrong", "--answer", "correct=wrong",
                         "--answer", "harm=false", "--since", "1h", "--json")
    assert (code, built["examples"]) == (0, 1)
    versions = run(capsys, url, "dataset", "list", "--json")[1]
    assert versions[-1]["filter"]["answers"] == {"correct": "wrong", "harm": False}
    assert versions[-1]["filter"]["since"] is not None
    code, built, _ = run(capsys, url, "dataset", "build", "old", "--until", "1h", "--json")
    assert (code, built["examples"]) == (0, 0)
    code, _, err = run(capsys, url, "dataset", "build", "x", "--answer", "correct")
    assert code == 2 and "'correct' is not KEY=VALUE" in err
    code, _, err = run(capsys, url, "dataset", "build", "x", "--since", "yesterday")
    assert code == 2 and "'yesterday' is neither a duration" in err
    code, _, err = run(capsys, url, "dataset", "build", "x", "--since", "1h", "--until", "2h")
    assert code == 1 and "the time range is empty" in err


def test_dataset_refusals(capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path,
                          failing_server: str, closed_port_url: str) -> None:
    code, _, err = run(capsys, url, "dataset", "build", "a/b")
    assert code == 1 and "path characters (/)" in err
    code, _, err = run(capsys, url, "dataset", "build", "x", "--verdict", "maybe")
    assert code == 1 and "unknown verdict 'maybe'" in err
    assert run(capsys, url, "dataset", "list", "--json")[1] == []
    run(capsys, url, "dataset", "build", "x")
    code, _, err = run(capsys, url, "dataset", "export", "x", "--format", "csv", "--out",
                       str(tmp_path / "no" / "x.csv"))
    assert code == 1 and "cannot write" in err and not (tmp_path / "no").exists()
    code, _, err = run(capsys, url, "dataset", "diff", "x", "1", "5")
    assert code == 1 and "no dataset 'x' version 5" in err
    code, _, err = run(capsys, url, "dataset", "push", "x", "--phoenix", failing_server)
    assert code == 1 and "HTTP 500" in err
    code, _, err = run(capsys, url, "dataset", "push", "x", "--phoenix", closed_port_url)
    assert code == 1 and "refused" in err


def test_dataset_push_to_a_real_phoenix(capsys: pytest.CaptureFixture[str], url: str,
                                        phoenix_server: PhoenixServer,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOENIX_API_KEY", phoenix_server.api_key)
    run(capsys, url, "dataset", "build", "cli-push")
    code, pushed, err = run(capsys, url, "dataset", "push", "cli-push", "--phoenix",
                            phoenix_server.url, "--json")
    assert code == 0, err
    assert (pushed["version"], pushed["created"]) == (1, 2)
    answer = phoenix_server.get(f"/v1/datasets/{pushed['dataset_id']}/examples")
    assert len(answer.json()["data"]["examples"]) == 2
