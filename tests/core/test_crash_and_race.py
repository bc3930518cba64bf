"""Two consoles deciding the same actions, and a console killed mid-verdict.

Both run real separate processes against one store: the point is the database's
behaviour under concurrency and crashes, not Python's.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from countersign.domain import ActionState
from countersign.services import audit
from countersign.store.engine import Store
from countersign.store.models import ActionRow, DecisionRow, OutboxRow

from .helpers import request_refund

CONSOLE = textwrap.dedent(
    """
    import json, sys, time
    from countersign.domain import Verdict
    from countersign.services.decisions import AlreadyDecided, DecisionService
    from countersign.store.migrate import open_store

    url, reviewer, start_at, order = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
    service = DecisionService(open_store(url))
    while time.time() < start_at:
        time.sleep(0.001)
    for action_id in map(int, order):
        try:
            d = service.decide(action_id, Verdict.APPROVE, reviewer=reviewer)
            print(json.dumps({"id": action_id, "won": True, "decision": d.id}), flush=True)
        except AlreadyDecided as exc:
            print(json.dumps({"id": action_id, "won": False, "message": str(exc)}), flush=True)
    """
)


def _console(tmp_path: Path, url: str, reviewer: str, start_at: float,
             order: list[int]) -> subprocess.Popen[str]:
    script = tmp_path / "console.py"
    script.write_text(CONSOLE)
    return subprocess.Popen(
        [sys.executable, str(script), url, reviewer, str(start_at), *map(str, order)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_two_consoles_racing_one_winner_each(store: Store, store_url: str,
                                             tmp_path: Path) -> None:
    ids = [request_refund(store, amount=100 + i) for i in range(30)]
    start_at = time.time() + 2.5  # both interpreters are up and connected by then
    ann = _console(tmp_path, store_url, "ann", start_at, ids)
    bob = _console(tmp_path, store_url, "bob", start_at, ids[::-1])  # meet in the middle
    outs = {}
    for name, proc in (("ann", ann), ("bob", bob)):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outs[name] = {r["id"]: r for r in map(json.loads, out.splitlines())}
    for action_id in ids:
        a, b = outs["ann"][action_id], outs["bob"][action_id]
        assert a["won"] != b["won"], f"action {action_id}: both or neither won"
        loser, winner = (b, "ann") if a["won"] else (a, "bob")
        assert f"by {winner}" in loser["message"]
    with store.read() as s:
        assert s.execute(select(func.count()).select_from(DecisionRow)).scalar_one() == len(ids)
    assert audit.verify(store).ok


KILLABLE = textwrap.dedent(
    """
    import sys
    from countersign.domain import Verdict
    from countersign.services.decisions import DecisionService
    from countersign.services.actions import ActionService
    from countersign.store.migrate import open_store

    store = open_store(sys.argv[1])
    service = DecisionService(store)
    print("READY", flush=True)
    for row in ActionService(store).queue_rows():
        d = service.decide(row.id, Verdict.REJECT, reviewer="crashy", reason="r" * 2000)
        print(f"DECIDED {row.id} {d.id}", flush=True)  # the console's 'shown as decided'
    """
)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_kill_9_mid_verdict_loses_no_acknowledged_verdict(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    from countersign.store.migrate import open_store

    store = open_store(url)
    for i in range(400):
        request_refund(store, amount=1 + i)
    script = tmp_path / "killable.py"
    script.write_text(KILLABLE)
    rng = random.Random(20261121)
    acknowledged: dict[int, int] = {}
    for _round in range(4):
        proc = subprocess.Popen([sys.executable, str(script), url], stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
        deadline = time.monotonic() + rng.uniform(0.05, 0.6)
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            _, action_id, decision_id = line.split()
            acknowledged[int(action_id)] = int(decision_id)
        os.kill(proc.pid, signal.SIGKILL)
        for line in proc.stdout:  # whatever it printed before dying was acknowledged too
            _, action_id, decision_id = line.split()
            acknowledged[int(action_id)] = int(decision_id)
        proc.wait(10)
    store.dispose()
    store = open_store(url)  # a fresh process view, after recovery
    with store.read() as s:
        decisions = {r.action_id: r.id for r in s.execute(select(DecisionRow)).scalars()}
        states = {r[0]: r[1] for r in s.execute(select(ActionRow.id, ActionRow.state))}
        outbox = set(s.execute(select(OutboxRow.decision_id)).scalars())
    assert acknowledged, "the child never got to decide anything"
    for action_id, decision_id in acknowledged.items():
        assert decisions.get(action_id) == decision_id, f"acknowledged verdict {action_id} lost"
    for action_id, state in states.items():
        decided = action_id in decisions
        assert (state == ActionState.DECIDED.value) == decided, f"action {action_id} torn"
    assert outbox == set(decisions.values())
    assert audit.verify(store).ok
    store.dispose()
