"""Agents for `bench_queue`'s load test, in their own process as real agents are:
``AGENTS`` threads file ``RATE`` requests per second in all through the gate for
``SECONDS``, then write {action_id: wall-clock time requested} to ``OUT``."""

from __future__ import annotations

import json
import sys
import threading
import time

from countersign.gate import Gate
from countersign.store.migrate import open_store


def main(url: str, seconds: float, rate: float, agents: int, out: str) -> None:
    sent: dict[int, float] = {}
    stop = time.time() + seconds

    def agent(index: int) -> None:
        gate = Gate(open_store(url), agent=f"load-agent-{index:02d}")
        period = agents / rate
        next_at = time.time() + index * period / agents
        n = 0
        while next_at < stop:
            time.sleep(max(0.0, next_at - time.time()))
            next_at += period
            started = time.time()
            action_id, _ = gate._record(
                "send_email", {"to": f"user{n}@example.com", "n": n}, schema=None,
                description="load", risk="low", deadline=None, reasoning=[],
                idempotency_key=None, run=None, allowed=None)
            sent[action_id] = started
            n += 1

    threads = [threading.Thread(target=agent, args=(i,)) for i in range(agents)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with open(out, "w") as handle:
        json.dump(sent, handle)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
