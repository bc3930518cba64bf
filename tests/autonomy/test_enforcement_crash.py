"""Request + auto-approve + audit + outbox + sample in one transaction, and demotion in
the transaction of the outcome that triggers it (issues 9 and 13): a process killed
between the statements leaves all or nothing, on SQLite and PostgreSQL.

The child process patches the unit of work it is told to die after: that unit's
statements have all reached the database (flushed), the commit has not; ``os._exit``
skips every cleanup, as a kill would.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from countersign.domain import ActionState, AutonomyLevel, Risk, Verdict
from countersign.services import audit
from countersign.services.actions import ActionService
from countersign.services.autonomy_service import AutonomyService
from countersign.services.decisions import DecisionService
from countersign.store.engine import Store
from countersign.store.migrate import open_store
from countersign.store.models import (
    ActionRow,
    AuditEventRow,
    AutonomyLevelRow,
    DecisionRow,
    OutboxRow,
)
from countersign.store.review_models import ReviewItemRow

from .store_helpers import UNIT, ask, audit_all_auto, put_at

CHILD = textwrap.dedent(
    """
    import os, sys
    import countersign.services.autonomy as autonomy
    import countersign.services.decisions as decisions
    from countersign.domain import EditSeverity, Risk, Verdict
    from countersign.services.actions import ActionRequest, ActionService
    from countersign.services.decisions import DecisionService
    from countersign.store.migrate import open_store

    url, mode, arg = sys.argv[1], sys.argv[2], sys.argv[3]
    die = mode.endswith("!")
    store = open_store(url)

    def dying(real):
        def unit_of_work(session, *args, **kwargs):
            result = real(session, *args, **kwargs)
            session.flush()
            print("WROTE", type(result).__name__, flush=True)
            os._exit(9)
        return unit_of_work

    if mode.startswith("request"):  # dies right after the auto-approval's statements
        if die:
            decisions.decide = dying(decisions.decide)
        ActionService(store).request(ActionRequest(
            agent="refunds-agent", agent_version="1.0", action_class="issue_refund",
            arguments={"order": "A-1"}, risk=Risk.LOW, source_ref=arg))
    elif mode.startswith("critical-edit"):  # dies right after the demotion's statements
        if die:
            autonomy.change_level = dying(autonomy.change_level)
        DecisionService(store).decide(int(arg), Verdict.EDIT, reviewer="olga",
                                      arguments={"order": "A-2"},
                                      severity=EditSeverity.CRITICAL)
    print("COMMITTED", flush=True)
    """
)


def _child(tmp_path: Path, url: str, mode: str, arg: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    return subprocess.run([sys.executable, str(script), url, mode, arg], capture_output=True,
                          text=True, timeout=120, check=False)


def _counts(store: Store) -> dict[str, int]:
    tables = {"actions": ActionRow, "decisions": DecisionRow, "outbox": OutboxRow,
              "review_items": ReviewItemRow, "audit": AuditEventRow}
    with store.read() as session:
        return {name: session.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in tables.items()}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres",
                                                           marks=pytest.mark.postgres)])
def test_killed_after_the_auto_approval_leaves_nothing_and_otherwise_everything(
        backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    store = open_store(url)
    try:
        put_at(store, AutonomyLevel.L2)
        audit_all_auto(store)
        before = _counts(store)
        killed = _child(tmp_path, url, "request!", "crash-ref")
        assert killed.returncode == 9, killed.stderr
        assert "WROTE DecisionRecord" in killed.stdout and "COMMITTED" not in killed.stdout
        assert _counts(store) == before  # no action, decision, outbox, sample or event
        assert audit.verify(store).ok

        done = _child(tmp_path, url, "request", "good-ref")
        assert done.returncode == 0, done.stderr
        after = _counts(store)
        assert {name: after[name] - before[name] for name in after} == {
            "actions": 1, "decisions": 1, "outbox": 1, "review_items": 1,
            "audit": 2}  # action.requested + decision.auto_approve
        (action_id,) = ActionService(store).find_refs("gate", ["good-ref"]).values()
        assert ActionService(store).get(action_id).state is ActionState.AUTO_APPROVED
        assert audit.verify(store).ok
    finally:
        store.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres",
                                                           marks=pytest.mark.postgres)])
def test_killed_between_the_decision_and_the_level_change_leaves_neither(
        backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    store = open_store(url)
    try:
        put_at(store, AutonomyLevel.L2)
        action_id, waits = ask(store, risk=Risk.HIGH)
        assert waits is None
        before = _counts(store)
        killed = _child(tmp_path, url, "critical-edit!", str(action_id))
        assert killed.returncode == 9, killed.stderr
        assert "WROTE LevelChange" in killed.stdout
        assert _counts(store) == before
        assert DecisionService(store).get(action_id) is None  # the verdict went too
        assert AutonomyService(store).unit(UNIT).level is AutonomyLevel.L2
        with store.read() as session:
            assert session.execute(select(AutonomyLevelRow.version)).scalar_one() == 2

        done = _child(tmp_path, url, "critical-edit", str(action_id))
        assert done.returncode == 0, done.stderr
        decision = DecisionService(store).get(action_id)
        assert decision is not None and decision.verdict is Verdict.EDIT
        assert AutonomyService(store).unit(UNIT).level is AutonomyLevel.L1
        assert audit.verify(store).ok
    finally:
        store.dispose()
