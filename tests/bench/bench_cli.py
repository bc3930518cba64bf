"""CLI commands from launch to answer (issue 11: ``queue list``, ``queue decide`` and
``audit verify`` in ≤ 300 ms), as a script or runbook calls them: a new process each
time, the installed ``countersign`` script, on a store with 1,000 actions (half of them
decided) and their audit events. Medians and p95 over repeated runs; the machine's
load average is printed beside them because on a shared 2-core box it moves the figure.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from countersign.domain import Verdict
from countersign.services.actions import ActionRequest, ActionService
from countersign.services.decisions import DecisionService
from countersign.store.migrate import open_store

RUNS = 15
SCRIPT = Path(sys.executable).with_name("countersign")


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _seed(url: str, count: int) -> list[int]:
    store = open_store(url)
    actions, decisions = ActionService(store), DecisionService(store)
    ids = []
    for n in range(count):
        action_id, _ = actions.request(ActionRequest(
            agent=f"agent-{n % 7}", action_class="send_email", source_ref=f"bench-{n}",
            arguments={"to": f"user{n}@example.com", "body": "hello " * 20}))
        ids.append(action_id)
    for action_id in ids[: count // 2]:
        decisions.decide(action_id, Verdict.APPROVE, reviewer="bench")
    store.dispose()
    return ids[count // 2:]


def _time(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return elapsed


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'cli.db'}"
        pending = _seed(url, 1_000)
        env = {**os.environ, "COUNTERSIGN_STORE": url, "HOME": tmp,
               "XDG_CONFIG_HOME": str(Path(tmp) / "config")}
        # A user's Python caches bytecode (and an installed app ships it); a sandbox
        # that sets PYTHONDONTWRITEBYTECODE would time compiling Countersign's own
        # modules on every call instead.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        commands = {
            "queue_list": lambda i: [str(SCRIPT), "queue", "list"],
            "queue_decide": lambda i: [str(SCRIPT), "queue", "decide", str(pending[i]),
                                       "--verdict", "approve", "--reviewer", "bench"],
            "audit_verify": lambda i: [str(SCRIPT), "audit", "verify"],
        }
        figures: dict[str, float] = {}
        for name, argv in commands.items():
            _time(argv(RUNS), env)  # warm the page cache and .pyc files once
            times = [_time(argv(i), env) for i in range(RUNS)]
            figures[f"{name}_median_ms"] = statistics.median(times) * 1000
            figures[f"{name}_p95_ms"] = _pct(times, 95) * 1000
            print(f"{name}: median {figures[f'{name}_median_ms']:.0f} ms, "
                  f"p95 {figures[f'{name}_p95_ms']:.0f} ms (target 300 ms)", flush=True)
        figures["load_average_1min"] = os.getloadavg()[0]
        floor = [_time([sys.executable, "-c", "import sqlalchemy.orm, pydantic"], env)
                 for _ in range(5)]
        figures["import_sqlalchemy_pydantic_ms"] = statistics.median(floor) * 1000
        print(f"(importing SQLAlchemy's ORM and pydantic alone: "
              f"{figures['import_sqlalchemy_pydantic_ms']:.0f} ms; load "
              f"{figures['load_average_1min']:.2f})")
        return figures
