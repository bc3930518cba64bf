"""Eval datasets in the store: build a frozen version from decisions and labels, list,
diff, export and push (ARCHITECTURE.md, data flow 5; issue 12).

Building freezes a snapshot as version n+1 in ONE transaction: the version row and all
its examples commit together, so a crash leaves no partial version, and an old version
is never changed. Examples are the pure builders' (`countersign.review.datasets`):

- one per decided or auto-approved action (key ``action:<id>``): input = the last
  system / user messages of the model call that proposed it and the tool call;
  expected output = the reviewer's correction if a label gave one, else the edited
  arguments for an edit (the correction an operator made), else the approved ones;
  the labels on the action ride in the metadata;
- one per label on a run reviewed without an action (key ``label:<id>``).

Exports go through `export_examples` (temporary file, then rename).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import Verdict
from ..domain.review import DatasetFilter, DatasetInfo
from ..review.datasets import (
    DatasetDiff,
    Example,
    diff_examples,
    example_from_decision,
    example_from_label,
    last_conversation,
    trusted_example,
    validate_dataset_name,
)
from ..review.export_formats import example_row
from ..store.engine import Store
from ..store.models import ActionRow, AgentRow, DecisionRow, RunRow, SpanRow
from ..store.review_models import DatasetRow, LabelRow, ReviewItemRow
from . import audit

if TYPE_CHECKING:
    from ..review.phoenix import PushResult

#: Examples inserted per statement while building (and reported as progress).
CHUNK = 10_000
_MAX_NS = 2**62
#: The verdict names sampling rules use, accepted as aliases of decision verdicts.
VERDICT_ALIASES = {"approved": "approve", "edited": "edit", "rejected": "reject",
                   "responded": "respond", "expired": "expire",
                   "auto_approved": "auto_approve", "ignored": "ignore"}

Progress = Callable[[int], None]
_decode = msgspec.json.Decoder()
_encode = msgspec.json.Encoder()


class DatasetError(ValueError):
    """A dataset request that cannot be done; the message names the field or cause."""


class UnknownDataset(DatasetError, LookupError):
    def __init__(self, name: str, version: int | None = None) -> None:
        which = f"{name!r} version {version}" if version is not None else repr(name)
        super().__init__(f"there is no dataset {which}")


def normalise_filter(wanted: DatasetFilter) -> DatasetFilter:
    """The filter with verdict aliases resolved; `DatasetError` naming a bad field."""
    verdicts = []
    known = {v.value for v in Verdict}
    for value in wanted.verdicts:
        verdict = VERDICT_ALIASES.get(value, value)
        if verdict not in known:
            raise DatasetError(f"verdict: unknown verdict {value!r}; expected one of "
                               + ", ".join(sorted(known)))
        verdicts.append(verdict)
    if wanted.since is not None and wanted.until is not None and wanted.since >= wanted.until:
        raise DatasetError("since: the time range is empty (since must be before until)")
    return wanted.model_copy(update={"verdicts": tuple(verdicts)})


def _json(text: str | None) -> Any:
    return None if text is None else _decode.decode(text)


def _matches(answers: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(answers.get(key) == value for key, value in wanted.items())


def _last_llm_input(trace: Any, before: Any) -> Any:
    return (select(SpanRow.input_json)
            .where(SpanRow.trace_id == trace, SpanRow.kind == "llm",
                   SpanRow.input_json.is_not(None), SpanRow.start_ns <= before)
            .order_by(SpanRow.start_ns.desc()).limit(1).scalar_subquery())


def _decision_query(wanted: DatasetFilter) -> Any:
    query: Any
    proposing = (select(SpanRow.start_ns).where(SpanRow.trace_id == ActionRow.trace_id,
                                                SpanRow.span_id == ActionRow.span_id)
                 .scalar_subquery())
    query = (select(ActionRow.id, ActionRow.action_class, ActionRow.arguments_json,
                    DecisionRow.verdict, DecisionRow.arguments_json, DecisionRow.severity,
                    DecisionRow.reason, DecisionRow.response, ActionRow.risk, AgentRow.name,
                    AgentRow.version, DecisionRow.reviewer, DecisionRow.decided_at,
                    ActionRow.trace_id, ActionRow.span_id,
                    _last_llm_input(ActionRow.trace_id, func.coalesce(proposing, _MAX_NS)))
             .join(DecisionRow, DecisionRow.action_id == ActionRow.id)
             .join(AgentRow, AgentRow.id == ActionRow.agent_id)
             .order_by(DecisionRow.decided_at, ActionRow.id))
    if wanted.agent is not None:
        query = query.where(AgentRow.name == wanted.agent)
    if wanted.action_class is not None:
        query = query.where(ActionRow.action_class == wanted.action_class)
    if wanted.verdicts:
        query = query.where(DecisionRow.verdict.in_(wanted.verdicts))
    if wanted.since is not None:
        query = query.where(DecisionRow.decided_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(DecisionRow.decided_at < wanted.until)
    return query


def _action_labels(session: Session) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    rows = session.execute(
        select(ReviewItemRow.action_id, LabelRow.id, LabelRow.reviewer, LabelRow.rubric,
               LabelRow.rubric_version, LabelRow.answers_json, LabelRow.correction_json,
               LabelRow.created_at)
        .join(ReviewItemRow, ReviewItemRow.id == LabelRow.item_id)
        .where(ReviewItemRow.action_id.is_not(None)).order_by(LabelRow.id))
    for action_id, label_id, reviewer, rubric, version, answers, correction, at in rows:
        if action_id is None:
            continue
        found.setdefault(action_id, []).append({
            "label_id": label_id, "reviewer": reviewer, "rubric": rubric,
            "rubric_version": version, "answers": _json(answers),
            "correction": _json(correction), "labelled_at": at})
    return found


def _decision_examples(session: Session, wanted: DatasetFilter) -> Iterator[Example]:
    labels = _action_labels(session)
    for (action_id, action_class, arguments, verdict, decided, severity, reason, response,
         risk, agent, version, reviewer, decided_at, trace_id, span_id, llm_input) in (
            session.execute(_decision_query(wanted)).yield_per(CHUNK)):
        given = labels.get(action_id, [])
        if wanted.answers and not any(_matches(label["answers"], wanted.answers)
                                      for label in given):
            continue
        corrections = [label["correction"] for label in given
                       if label["correction"] is not None]
        yield example_from_decision(
            action_id=action_id, tool_name=action_class, proposed_arguments=_json(arguments),
            verdict=verdict, messages=last_conversation([_json(llm_input)]),
            decided_arguments=_json(decided), correction=corrections[-1] if corrections else None,
            severity=severity, reason=reason, response=response, risk=risk, agent=agent,
            agent_version=version, action_class=action_class, reviewer=reviewer,
            decided_at=decided_at, labels=given, trace_id=trace_id, span_id=span_id,
            test_fraction=wanted.test_fraction)


def _run_label_examples(session: Session, wanted: DatasetFilter) -> Iterator[Example]:
    if wanted.verdicts or wanted.action_class is not None:
        return
    root_output = (select(SpanRow.output_json).where(SpanRow.trace_id == RunRow.trace_id,
                                                     SpanRow.parent_span_id.is_(None))
                   .limit(1).scalar_subquery())
    query = (select(LabelRow.id, LabelRow.reviewer, LabelRow.answers_json, LabelRow.rubric,
                    LabelRow.rubric_version, LabelRow.created_at, LabelRow.correction_json,
                    RunRow.trace_id, RunRow.agent_name, RunRow.root_span_id,
                    _last_llm_input(RunRow.trace_id, _MAX_NS), root_output)
             .join(ReviewItemRow, ReviewItemRow.id == LabelRow.item_id)
             .join(RunRow, RunRow.trace_id == ReviewItemRow.trace_id)
             .order_by(LabelRow.created_at, LabelRow.id))
    if wanted.agent is not None:
        query = query.where(RunRow.agent_name == wanted.agent)
    if wanted.since is not None:
        query = query.where(LabelRow.created_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(LabelRow.created_at < wanted.until)
    for (label_id, reviewer, answers, rubric, version, at, correction, trace_id, agent,
         root, llm_input, output) in session.execute(query):
        given = _json(answers)
        if wanted.answers and not _matches(given, wanted.answers):
            continue
        yield example_from_label(
            label_id=label_id, reviewer=reviewer, answers=given, rubric=rubric,
            rubric_version=version, labelled_at=at, correction=_json(correction),
            output=_json(output), messages=last_conversation([_json(llm_input)]),
            agent=agent, trace_id=trace_id, span_id=root,
            test_fraction=wanted.test_fraction)


def gather_examples(session: Session, wanted: DatasetFilter) -> Iterator[Example]:
    """The examples ``wanted`` selects, decisions first (by time), then run labels."""
    wanted = normalise_filter(wanted)
    yield from _decision_examples(session, wanted)
    yield from _run_label_examples(session, wanted)


def _info(row: DatasetRow) -> DatasetInfo:
    return DatasetInfo(name=row.name, version=row.version, examples=row.example_count,
                       created_at=row.created_at, created_by=row.created_by,
                       filter=DatasetFilter.model_validate(_json(row.filter_json)))


def build_dataset(session: Session, name: str, wanted: DatasetFilter, *, actor: str,
                  progress: Progress | None = None) -> DatasetInfo:
    """Freeze the examples ``wanted`` selects as the next version of dataset ``name``,
    in ``session``'s transaction (all or nothing). ``progress`` hears the count of
    examples stored so far. Audited as ``dataset.built``."""
    try:
        validate_dataset_name(name)
    except ValueError as exc:
        raise DatasetError(str(exc)) from exc
    wanted = normalise_filter(wanted)
    newest = session.execute(select(func.max(DatasetRow.version))
                             .where(DatasetRow.name == name)).scalar()
    row = DatasetRow(name=name, version=(newest or 0) + 1,
                     filter_json=wanted.model_dump_json(), created_at=time.time(),
                     created_by=actor, example_count=0)
    session.add(row)
    session.flush()
    count = 0
    chunk: list[tuple[int, int, str, str]] = []
    placeholder = "?" if session.get_bind().dialect.name == "sqlite" else "%s"
    sql = ("INSERT INTO dataset_examples (dataset_id, position, key, body_json) VALUES "
           f"({placeholder}, {placeholder}, {placeholder}, {placeholder})")
    connection = session.connection()
    for example in gather_examples(session, wanted):
        chunk.append((row.id, count, example.key,
                      _encode.encode(example_row(example)).decode()))
        count += 1
        if len(chunk) >= CHUNK:
            connection.exec_driver_sql(sql, chunk)
            chunk = []
            if progress is not None:
                progress(count)
    if chunk:
        connection.exec_driver_sql(sql, chunk)
    if progress is not None:
        progress(count)
    row.example_count = count
    audit.append(session, kind="dataset.built", actor=actor, subject_type="dataset",
                 subject_id=f"{name}@{row.version}",
                 payload={"name": name, "version": row.version, "examples": count,
                          "filter": _json(row.filter_json)})
    return _info(row)


def list_datasets(session: Session, name: str | None = None) -> list[DatasetInfo]:
    """Every version of every dataset (or of ``name``), by name then version."""
    query = select(DatasetRow).order_by(DatasetRow.name, DatasetRow.version)
    if name is not None:
        query = query.where(DatasetRow.name == name)
    return [_info(row) for row in session.execute(query).scalars()]


def dataset_row(session: Session, name: str, version: int | None = None) -> DatasetRow:
    query = select(DatasetRow).where(DatasetRow.name == name)
    query = (query.where(DatasetRow.version == version) if version is not None
             else query.order_by(DatasetRow.version.desc()).limit(1))
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise UnknownDataset(name, version)
    return row


def read_examples(session: Session, name: str, version: int | None = None,
                  ) -> Iterator[Example]:
    """The examples of a stored version (the newest when None), in order."""
    row = dataset_row(session, name, version)
    placeholder = "?" if session.get_bind().dialect.name == "sqlite" else "%s"
    cursor = session.connection().exec_driver_sql(
        "SELECT body_json FROM dataset_examples WHERE dataset_id = "
        f"{placeholder} ORDER BY position", (row.id,))
    while True:
        rows = cursor.fetchmany(CHUNK)
        if not rows:
            return
        for (text,) in rows:
            yield trusted_example(_decode.decode(text))


def diff_versions(session: Session, name: str, old: int, new: int) -> DatasetDiff:
    return diff_examples(read_examples(session, name, old), read_examples(session, name, new))


class DatasetService:
    """The dataset units of work, one transaction per call (Datasets panel, CLI)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def build(self, name: str, wanted: DatasetFilter | None = None, *, actor: str,
              progress: Progress | None = None) -> DatasetInfo:
        with self.store.write() as session:
            return build_dataset(session, name, wanted or DatasetFilter(), actor=actor,
                                 progress=progress)

    def versions(self, name: str | None = None) -> list[DatasetInfo]:
        with self.store.read() as session:
            return list_datasets(session, name)

    def info(self, name: str, version: int | None = None) -> DatasetInfo:
        with self.store.read() as session:
            return _info(dataset_row(session, name, version))

    def examples(self, name: str, version: int | None = None) -> list[Example]:
        with self.store.read() as session:
            return list(read_examples(session, name, version))

    def diff(self, name: str, old: int, new: int) -> DatasetDiff:
        with self.store.read() as session:
            return diff_versions(session, name, old, new)

    def export(self, name: str, fmt: str, out: Path, *, version: int | None = None,
               progress: Progress | None = None,
               cancel: Callable[[], bool] | None = None) -> tuple[DatasetInfo, int]:
        """Write a version to ``out`` (temporary file, then rename); returns the
        version's info and how many examples were written. ``progress`` hears the
        running count, ``cancel`` may stop it (`ExportCancelled`, nothing written)."""
        from ..review.export import export_examples

        with self.store.read() as session:
            row = dataset_row(session, name, version)
            info = _info(row)
            written = export_examples(read_examples(session, name, row.version), fmt, out,
                                      dataset=name, version=row.version, progress=progress,
                                      cancel=cancel)
        return info, written

    def push(self, name: str, url: str, *, version: int | None = None,
             api_key: str | None = None, timeout: float = 30) -> tuple[DatasetInfo, PushResult]:
        """Upload a version to a Phoenix server (`PhoenixError` naming the cause)."""
        from ..review.phoenix import push_dataset  # httpx only when pushing

        with self.store.read() as session:
            row = dataset_row(session, name, version)
            info = _info(row)
            examples: Sequence[Example] = list(read_examples(session, name, row.version))
        return info, push_dataset(url, name, examples, api_key=api_key, timeout=timeout,
                                  version=info.version)
