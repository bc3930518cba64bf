"""Async HTTP client for the parts of the LangGraph server API a review console needs.

Errors are sorted by what the caller should do: `TransientError` (connection refused,
timeouts, 5xx, 429: retry with backoff) versus `PermanentError` (any other 4xx: stop
and show it). Graph failures are not HTTP errors — the server answers 200 and marks the
thread "error" — so they are exposed as data (`graph_error`), see INTEROP.md.
"""

from __future__ import annotations

import ast
import contextlib
import re
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from countersign.plugin_api import redact
from countersign_plugins.langgraph.payloads import (
    GraphError,
    InterruptedAction,
    PayloadError,
    graph_error,
    parse_state,
    parse_thread,
    pending_interrupt_ids,
)


class LangGraphError(Exception):
    """Any failure talking to a LangGraph server."""


class TransientError(LangGraphError):
    """Worth retrying later: server unreachable, timed out, overloaded or failing (5xx)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class PermanentError(LangGraphError):
    """Retrying the same request will not help (4xx, or an answer we cannot read)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class NotFoundError(PermanentError):
    """The thread (or run) does not exist on the server (404)."""


class ConflictError(PermanentError):
    """The thread is busy with another run (409): try again once that run has ended."""


class InterruptedThread(BaseModel):
    """A thread the search found (usually waiting on a human), with its raw interrupts."""

    model_config = ConfigDict(frozen=True)

    thread_id: str
    updated_at: datetime
    status: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    interrupts: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    #: The state values, when the search asked for them (`include_values`).
    values: Any = None

    @property
    def graph_id(self) -> str | None:
        """The graph the thread runs (what `resume` takes as assistant id), if recorded."""
        value = self.metadata.get("graph_id")
        return str(value) if value is not None else None

    def actions(self, errors: list[PayloadError] | None = None) -> list[InterruptedAction]:
        """Specs of the pending actions (no checkpoint id: use `get_state` for that)."""
        return parse_thread(self.model_dump(), errors=errors)


class SearchResult(BaseModel):
    """Threads updated since the last sync, newest first, and the next watermark."""

    threads: list[InterruptedThread]
    watermark: datetime | None


class ThreadState(BaseModel):
    """`GET /threads/{id}/state`, reduced to what review needs; `raw` keeps the rest."""

    thread_id: str
    values: Any
    next: list[str] = Field(default_factory=list)
    checkpoint_id: str | None = None
    raw: dict[str, Any]

    def actions(self, errors: list[PayloadError] | None = None) -> list[InterruptedAction]:
        """Specs of the pending actions, with their checkpoint id."""
        return parse_state(self.thread_id, self.raw, errors=errors)

    @property
    def interrupt_ids(self) -> list[str]:
        """Ids of the interrupts pending at this checkpoint."""
        return pending_interrupt_ids(self.raw.get("interrupts") or [])

    def waiting_interrupts(self) -> list[dict[str, Any]]:
        """The interrupts of the tasks that have not failed: what the thread still waits
        on. After a failed run the state also lists the failed (or cancelled) tasks'
        interrupts, whose answers LangGraph may already hold and re-uses when the
        thread is resumed, so answering them again would change nothing."""
        tasks = self.raw.get("tasks")
        if not isinstance(tasks, list):
            return [i for i in self.raw.get("interrupts") or [] if isinstance(i, dict)]
        return [i for task in tasks if isinstance(task, dict) and not task.get("error")
                for i in task.get("interrupts") or [] if isinstance(i, dict)]

    @property
    def error(self) -> GraphError | None:
        """The error the last run failed with, if any: the failing task's own (the
        thread's may only say "An internal error occurred"), not a sibling task's
        cancellation."""
        failures = [str(t["error"]) for t in self.raw.get("tasks") or []
                    if isinstance(t, dict) and t.get("error")]
        failures.sort(key=lambda text: text.startswith("CancelledError"))
        if failures:
            return task_error(failures[0])
        if isinstance(self.values, dict) and (err := graph_error(self.values)):
            return err
        return None


def task_error(text: str) -> GraphError:
    """A task's error as the state shows it (``OSError('disk busy')``) → type, message."""
    match = re.fullmatch(r"(\w+)\((.*)\)", text.strip(), flags=re.DOTALL)
    if match is None:
        return GraphError(error="Error", message=text)
    message = match.group(2)
    with contextlib.suppress(ValueError, SyntaxError):
        literal = ast.literal_eval(message)
        if isinstance(literal, str):
            message = literal
    return GraphError(error=match.group(1), message=message)


class RunReceipt(BaseModel):
    """The run the server created for a resume (it runs in the background)."""

    run_id: str
    thread_id: str
    status: str


class LangGraphClient:
    """One LangGraph server (`url`, optional `x-api-key`); close it with `aclose`."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        timeout: float = 10.0,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"x-api-key": api_key} if api_key else {}
        self._http = httpx.AsyncClient(
            base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _request(self, method: str, path: str, json: Any = None) -> Any:
        key = self._http.headers.get("x-api-key")
        try:
            response = await self._http.request(method, path, json=json)
        except httpx.TimeoutException as exc:
            raise TransientError(redact(f"{method} {path}: timed out ({exc!r})", [key])) from exc
        except httpx.TransportError as exc:
            raise TransientError(redact(f"{method} {path}: {exc!r}", [key])) from exc
        status = response.status_code
        # Redacted before it is cut: a key straddling the cut would leak its start.
        body = redact(response.text, [key])[:300] if status >= 400 else ""
        if status == 429 or status == 408 or status >= 500:
            raise TransientError(f"{method} {path}: HTTP {status}: {body}", status)
        if status >= 400:
            cls = {404: NotFoundError, 409: ConflictError}.get(status, PermanentError)
            raise cls(f"{method} {path}: HTTP {status}: {body}", status)
        try:
            return response.json()
        except ValueError as exc:
            raise PermanentError(f"{method} {path}: answer is not JSON", status) from exc

    async def health(self) -> bool:
        """True when `GET /ok` answers; raises `TransientError` when the server is down."""
        body = await self._request("GET", "/ok")
        return bool(isinstance(body, dict) and body.get("ok", True))

    async def search_interrupted(
        self,
        *,
        graph_id: str | None = None,
        assistant_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        since: datetime | None = None,
        page_size: int = 100,
    ) -> SearchResult:
        """Interrupted threads updated after `since` (all when None), newest first
        (`search_threads` with ``status="interrupted"``)."""
        return await self.search_threads(
            status="interrupted", graph_id=graph_id, assistant_id=assistant_id,
            metadata=metadata, since=since, page_size=page_size,
        )

    async def search_threads(
        self,
        *,
        status: str | None = None,
        graph_id: str | None = None,
        assistant_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        since: datetime | None = None,
        page_size: int = 100,
        include_values: bool = False,
    ) -> SearchResult:
        """Threads in `status` (any when None) updated after `since` (all when None),
        newest first; with `include_values` each carries its state values too, which
        saves a `get_state` per thread when there are many.

        Pages through `POST /threads/search` sorted by `updated_at` desc and stops at the
        first thread not newer than `since`. Pages overlap a little (and are
        deduplicated) so a thread leaving "interrupted" between two pages does not make
        us skip one. Pass the returned `watermark` as the next `since`. Threads updated
        in the same microsecond as the watermark could be missed: run an occasional
        full sync (`since=None`); ingest is idempotent anyway.
        """
        filters = dict(metadata or {})
        if graph_id is not None:
            filters["graph_id"] = graph_id
        if assistant_id is not None:
            filters["assistant_id"] = assistant_id
        step = max(1, page_size - max(1, page_size // 10))
        found: dict[str, InterruptedThread] = {}
        offset = 0
        while True:
            body: dict[str, Any] = {
                "limit": page_size, "offset": offset,
                "sort_by": "updated_at", "sort_order": "desc",
                "select": ["thread_id", "updated_at", "status", "metadata", "interrupts",
                           *(["values"] if include_values else [])],
            }
            if status is not None:
                body["status"] = status
            if filters:
                body["metadata"] = filters
            page = await self._request("POST", "/threads/search", body)
            if not isinstance(page, list):
                raise PermanentError("POST /threads/search: answer is not a list")
            reached_old = False
            for raw in page:
                thread = self._thread(raw)
                if since is not None and thread.updated_at <= since:
                    reached_old = True
                    break
                found.setdefault(thread.thread_id, thread)
            if reached_old or len(page) < page_size:
                break
            offset += step
        threads = sorted(found.values(), key=lambda t: t.updated_at, reverse=True)
        watermark = max([t.updated_at for t in threads], default=since)
        return SearchResult(threads=threads, watermark=watermark)

    async def count_threads(self, *, status: str | None = None,
                            metadata: dict[str, Any] | None = None) -> int:
        """`POST /threads/count`: how many threads match (used by connection checks)."""
        body: dict[str, Any] = {}
        if status is not None:
            body["status"] = status
        if metadata:
            body["metadata"] = metadata
        count = await self._request("POST", "/threads/count", body)
        if not isinstance(count, int):
            raise PermanentError("POST /threads/count: answer is not a number")
        return count

    @staticmethod
    def _thread(raw: Any) -> InterruptedThread:
        try:
            return InterruptedThread.model_validate(raw)
        except ValidationError as exc:
            raise PermanentError(f"unreadable thread in search answer: {exc}") from exc

    async def get_thread(self, thread_id: str) -> dict[str, Any]:
        """`GET /threads/{id}`: status, metadata, values, `interrupts`, `error`."""
        thread = await self._request("GET", f"/threads/{thread_id}")
        if not isinstance(thread, dict):
            raise PermanentError(f"GET /threads/{thread_id}: answer is not an object")
        return thread

    async def get_state(self, thread_id: str) -> ThreadState:
        """The thread's current checkpoint: values, next nodes, pending interrupts."""
        raw = await self._request("GET", f"/threads/{thread_id}/state")
        if not isinstance(raw, dict):
            raise PermanentError(f"GET /threads/{thread_id}/state: answer is not an object")
        checkpoint = raw.get("checkpoint") or {}
        return ThreadState(
            thread_id=thread_id, values=raw.get("values"), next=raw.get("next") or [],
            checkpoint_id=checkpoint.get("checkpoint_id") or raw.get("checkpoint_id"),
            raw=raw,
        )

    async def thread_error(self, thread_id: str) -> GraphError | None:
        """The graph error the thread ended in (status "error"), else None."""
        return graph_error(await self.get_thread(thread_id))

    async def is_still_waiting(self, thread_id: str, interrupt_id: str) -> bool:
        """Staleness check before resuming: the thread is interrupted on `interrupt_id`.

        False when the thread is gone, busy (someone resumed it), idle, failed, or waits
        on another interrupt — resuming then would answer 200 and do nothing, or worse,
        answer a different question.
        """
        try:
            thread = await self.get_thread(thread_id)
        except NotFoundError:
            return False
        if thread.get("status") != "interrupted":
            return False
        return interrupt_id in pending_interrupt_ids(thread.get("interrupts") or {})

    async def resume(self, thread_id: str, assistant_id: str, resume_value: Any) -> RunReceipt:
        """Start the run that resumes the thread with `command.resume = resume_value`.

        `resume_value` comes from `payloads.build_command_resume`. The run is refused
        (`ConflictError`) rather than queued when the thread is busy, so a verdict can
        never be applied to a later interrupt.
        """
        body = {"assistant_id": assistant_id, "command": {"resume": resume_value},
                "multitask_strategy": "reject"}
        raw = await self._request("POST", f"/threads/{thread_id}/runs", body)
        try:
            return RunReceipt.model_validate(raw)
        except ValidationError as exc:
            raise PermanentError(f"unreadable run in resume answer: {exc}") from exc

    async def join_run(self, thread_id: str, run_id: str) -> Any:
        """Wait for a run to finish; its final values (`__error__` in them on failure)."""
        return await self._request("GET", f"/threads/{thread_id}/runs/{run_id}/join")
