"""The receiver's one writer: requests' rows queued, written in batches, and each
request told what became of its own rows once they are committed.

A request is answered only after its spans are in the store, so a 200 never covers a
span that is later lost: a span the store refuses is rejected (the write path isolates
it, see services/spans.py) and named in that request's ``partialSuccess``. Requests
arriving together share one transaction, so waiting for the commit costs the senders
latency, not throughput. While the store is unreachable the writer keeps retrying the
batch it holds (new requests get 503 meanwhile).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from ..domain.runs import IngestResult
from ..services.traces import TraceService
from ..store.engine import StoreError
from ..wire.normalize import SPAN_FIELDS, SpanValues
from ..wire.otlp_logs import LogValues

log = logging.getLogger("countersign.ingest.writer")

_TRACE, _SPAN = SPAN_FIELDS.index("trace_id"), SPAN_FIELDS.index("span_id")
_REFUSED = re.compile(r"^span ([0-9a-f]{16}) of trace ([0-9a-f]{32}):")


@dataclass
class WriterStats:
    stored_spans: int = 0
    duplicate_spans: int = 0
    refused_spans: int = 0
    stored_logs: int = 0
    last_error: str | None = None
    store_failing: bool = False


@dataclass
class _Job:
    rows: list[Any]
    logs: bool
    done: asyncio.Future[IngestResult] = field(repr=False)


class Writer:
    """Queue of requests' rows for one store; `run` is the writer task."""

    def __init__(self, service: TraceService, *, source: str, batch_spans: int) -> None:
        self.service = service
        self.source = source
        self.batch_spans = batch_spans
        self.stats = WriterStats()
        self.queued = 0
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()

    async def write(self, rows: list[SpanValues] | list[LogValues], *, logs: bool = False
                    ) -> IngestResult:
        """Queue ``rows`` and wait until they are committed; what became of them."""
        if not rows:
            return IngestResult()
        job = _Job(list(rows), logs, asyncio.get_running_loop().create_future())
        self.queued += len(rows)
        self._queue.put_nowait(job)
        return await asyncio.shield(job.done)

    async def join(self) -> None:
        await self._queue.join()

    async def run(self) -> None:
        while True:
            jobs = [await self._queue.get()]
            count = len(jobs[0].rows)
            while count < self.batch_spans and not self._queue.empty():
                jobs.append(self._queue.get_nowait())
                count += len(jobs[-1].rows)
            try:
                for logs in (False, True):
                    batch = [job for job in jobs if job.logs is logs]
                    if batch:
                        await self._store(batch, logs)
            finally:
                for job in jobs:
                    self.queued -= len(job.rows)
                    self._queue.task_done()

    async def _store(self, jobs: list[_Job], logs: bool) -> None:
        rows = [row for job in jobs for row in job.rows]
        delay = 0.5
        while True:
            try:
                if logs:
                    result = await asyncio.to_thread(self.service.ingest_log_values, rows)
                else:
                    result = await asyncio.to_thread(
                        self.service.ingest_values, rows, source=self.source)
            except StoreError as exc:
                self.stats.store_failing = True
                self.stats.last_error = str(exc)
                log.warning("OTLP receiver cannot store, retrying in %.1fs: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            except Exception as exc:  # a bug: the senders hear of it, nothing is acked
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("OTLP receiver could not write a batch of %d rows", len(rows))
                for job in jobs:
                    if not job.done.done():
                        job.done.set_exception(exc)
                return
            self.stats.store_failing = False
            if logs:
                self.stats.stored_logs += result.added
            else:
                self.stats.stored_spans += result.added
                self.stats.duplicate_spans += result.duplicates
                self.stats.refused_spans += len(result.rejected)
            self._settle(jobs, result, logs)
            return

    @staticmethod
    def _settle(jobs: list[_Job], result: IngestResult, logs: bool) -> None:
        """Each job's own share of the batch's result: its refused spans by key."""
        refused: dict[tuple[str, str], str] = {}
        for reason in result.rejected:
            match = _REFUSED.match(reason)
            if match is not None:
                refused[(match[2], match[1])] = reason
        for job in jobs:
            own = IngestResult()
            if not logs and refused:
                for row in job.rows:
                    found = refused.get((row[_TRACE], row[_SPAN]))
                    if found is not None:
                        own.rejected.append(found)
            elif logs:
                own.rejected = list(result.rejected) if len(jobs) == 1 else []
            own.added = len(job.rows) - len(own.rejected)
            if not job.done.done():
                job.done.set_result(own)
