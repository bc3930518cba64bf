"""``autonomy status`` over 1,000,000 outcomes in 1,000 units on SQLite (issue 13: ≤ 1 s),
from the store: loading the outcomes and evaluating every unit.

The store holds 100 agents × 10 action classes, each unit with 1,000 outcomes (about
950 verdicts over 60 days and 50 sampled auto-approvals with a label), a third of the
units at each of L1, L2 and L3. Figures:

- ``first``: the first status on a store without the verdict snapshot (it reads every
  verdict row, then writes the snapshot: once per store, and again only after
  `REFRESH_TAIL` new verdicts);
- ``warm``: `AutonomyService.status()` as the workspace and the CLI call it afterwards;
- ``cli``: ``countersign autonomy status --json`` in a new process, start to exit.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from countersign.services.autonomy_service import AutonomyService
from countersign.store.migrate import open_store
from countersign.store.models import ActionRow, AgentRow, AutonomyLevelRow, DecisionRow
from countersign.store.review_models import LabelRow, ReviewItemRow

AGENTS, CLASSES, PER_UNIT, LABELLED = 100, 10, 1_000, 50
DAY = 86_400.0
ROUNDS = 7
_VERDICTS = ("approve", "reject", "edit")
_ANSWERS = ('{"correct":"correct","harm":false}', '{"correct":"wrong","harm":false}')


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _fill(url: str) -> int:
    store = open_store(url)
    rng = np.random.default_rng(13)
    now = time.time()
    start = now - 60 * DAY
    action_id = decision_id = item_id = 0
    total = 0
    with store.write() as session:
        session.execute(insert(AgentRow), [
            {"id": a + 1, "external_id": f"agent-{a}", "name": f"agent-{a}", "version": "1.0",
             "created_at": start} for a in range(AGENTS)])
        session.execute(insert(AutonomyLevelRow), [
            {"agent_id": a + 1, "action_class": f"class-{c}",
             "level": ("L1", "L2", "L3")[(a * CLASSES + c) % 3], "changed_at": start,
             "version": 1, "rule": "initial"} for a in range(AGENTS) for c in range(CLASSES)])
        for a in range(AGENTS):
            actions, decisions, items, labels = [], [], [], []
            for c in range(CLASSES):
                rate = float(rng.uniform(0.002, 0.08))
                at = np.sort(rng.uniform(start, now - 3_600, PER_UNIT))
                failed = rng.random(PER_UNIT) < rate
                for i in range(PER_UNIT):
                    action_id += 1
                    decision_id += 1
                    auto = i % (PER_UNIT // LABELLED) == 0
                    actions.append({
                        "id": action_id, "agent_id": a + 1, "action_class": f"class-{c}",
                        "arguments_json": "{}", "description": "", "risk": "medium",
                        "state": "auto_approved" if auto else "decided", "version": 2,
                        "source": "bench", "source_ref": str(action_id),
                        "source_meta_json": "{}", "allowed_verdicts_json": "[]",
                        "ingest_warnings_json": "[]", "created_at": at[i],
                        "updated_at": at[i]})
                    verdict = "auto_approve" if auto else _VERDICTS[
                        int(failed[i]) * (1 + int(rng.integers(0, 2)))]
                    decisions.append({
                        "id": decision_id, "action_id": action_id, "verdict": verdict,
                        "severity": "material" if verdict == "edit" else None,
                        "reason": "no" if verdict == "reject" else None,
                        "reviewer": ("olga", "omar", "ines")[i % 3], "decided_at": at[i] + 5,
                        "idempotency_key": f"k{decision_id}", "delivery_state": "delivered"})
                    if auto:
                        item_id += 1
                        items.append({"id": item_id, "action_id": action_id,
                                      "rubric": "action-outcome", "pi": 0.2, "rule": "medium",
                                      "needed": 1, "label_count": 1, "state": "done",
                                      "created_at": at[i] + 5})
                        labels.append({"item_id": item_id, "reviewer": "rita",
                                       "rubric": "action-outcome", "rubric_version": 1,
                                       "answers_json": _ANSWERS[int(failed[i])],
                                       "created_at": at[i] + 600})
                    total += 1
            session.execute(insert(ActionRow), actions)
            session.execute(insert(DecisionRow), decisions)
            session.execute(insert(ReviewItemRow), items)
            session.execute(insert(LabelRow), labels)
    store.dispose()
    return total


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        started = time.perf_counter()
        total = _fill(url)
        print(f"filled {total:,} outcomes in {time.perf_counter() - started:.0f} s")
        store = open_store(url)
        service = AutonomyService(store)
        started = time.perf_counter()
        units = service.status()
        first_ms = (time.perf_counter() - started) * 1000
        assert len(units) == AGENTS * CLASSES
        assert sum(u.evidence.n + u.evidence.ad_hoc for u in units
                   if u.level.value == "L1") > 300_000
        warm = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            service.status()
            warm.append((time.perf_counter() - started) * 1000)
        store.dispose()
        cli = []
        for _ in range(3):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "countersign", "--store", url,
                                   "autonomy", "status", "--json"], capture_output=True,
                                  text=True, check=True)
            cli.append((time.perf_counter() - started) * 1000)
        assert len(json.loads(done.stdout)) == AGENTS * CLASSES
    figures = {
        "outcomes": float(total),
        "status_first_ms": first_ms,
        "status_warm_p50_ms": statistics.median(warm),
        "status_warm_p95_ms": _pct(warm, 95),
        "cli_status_json_median_ms": statistics.median(cli),
    }
    for key, value in figures.items():
        print(f"{key}: {value:,.1f}")
    return figures
