"""Rubrics in the store: seeded with the shipped two on first use, versioned on every
import or edit, exported in the documented TOML form. Every change is an audit event.

A rubric is kept as its `Rubric` model in JSON, one row per version. Importing a name
that exists makes the next version; importing exactly what the newest version already
says makes none (a team re-importing its repository's rubric on every deploy must not
grow a version per deploy).
"""

from __future__ import annotations

import functools
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..jsonio import canonical, loads
from ..review.rubric import Rubric, RubricError, default_rubrics, rubric_to_toml
from ..store.review_models import RubricRow
from . import audit

SYSTEM = "system"

#: The shipped rubrics, parsed once per process (they are frozen models).
shipped_rubrics = functools.cache(default_rubrics)


class UnknownRubric(LookupError):
    def __init__(self, name: str, version: int | None = None) -> None:
        which = f"{name!r} version {version}" if version is not None else repr(name)
        super().__init__(f"there is no rubric {which}")
        self.name = name
        self.version = version


def _definition(rubric: Rubric) -> dict[str, Any]:
    data: dict[str, Any] = rubric.model_dump(mode="json")
    data.pop("version", None)
    return data


def _from_row(row: RubricRow) -> Rubric:
    return Rubric.model_validate({**loads(row.definition_json), "version": row.version})


def _insert(session: Session, rubric: Rubric, version: int, actor: str) -> RubricRow:
    row = RubricRow(name=rubric.name, version=version, target=rubric.target,
                    definition_json=canonical(_definition(rubric)), created_at=time.time(),
                    created_by=actor)
    session.add(row)
    session.flush()
    return row


def ensure_default_rubrics(session: Session) -> None:
    """Store the shipped rubrics whose names the store does not know yet (idempotent;
    two processes seeding at once make one version 1)."""
    known = set(session.execute(select(RubricRow.name).distinct()).scalars())
    for rubric in shipped_rubrics():
        if rubric.name in known:
            continue
        try:
            with session.begin_nested():
                _insert(session, rubric, 1, SYSTEM)
                audit.append(session, kind="rubric.seeded", actor=SYSTEM,
                             subject_type="rubric", subject_id=f"{rubric.name}@1",
                             payload={"name": rubric.name, "version": 1})
        except IntegrityError:
            continue  # seeded by another process in the meantime


def latest_row(session: Session, name: str) -> RubricRow | None:
    return session.execute(
        select(RubricRow).where(RubricRow.name == name)
        .order_by(RubricRow.version.desc()).limit(1)
    ).scalar_one_or_none()


def _shipped(name: str, version: int | None) -> Rubric | None:
    """A shipped rubric not stored yet reads as its version 1 (what seeding stores):
    reads never write, so a read-only session can still show it."""
    if version not in (None, 1):
        return None
    found = next((r for r in shipped_rubrics() if r.name == name), None)
    return None if found is None else found.model_copy(update={"version": 1})


def get_rubric(session: Session, name: str, version: int | None = None) -> Rubric:
    """Version ``version`` of the rubric (the newest when None), or `UnknownRubric`."""
    if version is None:
        row = latest_row(session, name)
    else:
        row = session.execute(
            select(RubricRow).where(RubricRow.name == name, RubricRow.version == version)
        ).scalar_one_or_none()
    if row is None:
        shipped = _shipped(name, version) if latest_row(session, name) is None else None
        if shipped is None:
            raise UnknownRubric(name, version)
        return shipped
    return _from_row(row)


def list_rubrics(session: Session) -> list[Rubric]:
    """The newest version of every rubric, by name (the shipped ones included)."""
    newest = (select(RubricRow.name, func.max(RubricRow.version).label("version"))
              .group_by(RubricRow.name).subquery())
    rows = session.execute(
        select(RubricRow).join(newest, (RubricRow.name == newest.c.name)
                               & (RubricRow.version == newest.c.version))
        .order_by(RubricRow.name)
    ).scalars()
    found = {row.name: _from_row(row) for row in rows}
    for rubric in shipped_rubrics():
        found.setdefault(rubric.name, rubric.model_copy(update={"version": 1}))
    return [found[name] for name in sorted(found)]


def save_rubric(session: Session, rubric: Rubric, *, actor: str,
                source: str | None = None) -> tuple[Rubric, bool]:
    """Store ``rubric`` as the next version of its name (version 1 for a new name);
    returns (the stored rubric with its version, whether a version was made). Nothing
    is made when the newest version already says exactly this."""
    ensure_default_rubrics(session)
    current = latest_row(session, rubric.name)
    if current is not None and loads(current.definition_json) == _definition(rubric):
        return _from_row(current), False
    version = 1 if current is None else current.version + 1
    try:
        with session.begin_nested():
            _insert(session, rubric, version, actor)
    except IntegrityError as exc:
        raise RubricError(f"rubric {rubric.name!r} version {version} was just saved by "
                          "someone else; import it again") from exc
    audit.append(session, kind="rubric.saved", actor=actor, subject_type="rubric",
                 subject_id=f"{rubric.name}@{version}",
                 payload={"name": rubric.name, "version": version, "source": source,
                          "definition": _definition(rubric)})
    return rubric.model_copy(update={"version": version}), True


def export_rubric(session: Session, name: str, version: int | None = None) -> str:
    """The rubric in the documented TOML form (`UnknownRubric` when absent)."""
    return rubric_to_toml(get_rubric(session, name, version))
