"""One delivery worker for tests/core/test_faults_deliveries.py, run as a process of
its own: a `Runtime` with a source that counts what it is handed.

    python -m tests.core.delivery_worker STORE_URL LOG_FILE

It prints ``ready`` once the store is open, waits for a line on stdin (so the test
can start two workers at the same moment), runs until SIGTERM, and appends
``DECISION_ID PID`` to LOG_FILE for every delivery it makes (O_APPEND: lines from two
processes never interleave).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from countersign.plugin_api import (
    Delivery,
    DeliveryOutcome,
    DeliveryResult,
    SourceContext,
)
from countersign.runtime import Runtime
from countersign.store.migrate import open_store

SOURCE = "counting"


class CountingSource:
    """Delivers by writing a line; an agent takes a moment to take a verdict in."""

    name = SOURCE

    def __init__(self, log_path: str) -> None:
        self.log_path = log_path

    async def start(self, context: SourceContext) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        line = f"{delivery.decision.id} {os.getpid()}\n".encode()
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        await asyncio.sleep(0.02)
        return DeliveryResult(DeliveryOutcome.DELIVERED)


async def serve(url: str, log_path: str) -> None:
    store = open_store(url)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    runtime = Runtime(store, [CountingSource(log_path)], delivery_interval=0.01)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await runtime.start()
    try:
        await stop.wait()
    finally:
        await runtime.stop()
        store.dispose()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
