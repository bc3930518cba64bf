"""What the trace services hand out: the result of an ingest, one line of the Traces
list (a run with its roll-ups), and the filters the Traces workspace applies.

``RunSummary`` is built from the ``runs`` table alone (plus one indexed look-up for
pending actions), so a page of runs never touches the spans table.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class IngestResult(BaseModel):
    """What happened to a batch: spans stored, spans already stored (re-sent spans are
    idempotent, not errors), and each rejected span with a reason that names the span
    (and, for decoded input, the file or request and the field)."""

    added: int = 0
    duplicates: int = 0
    rejected: list[str] = Field(default_factory=list)
    #: Repairs made on the way in (bad UTF-8 shown as escapes, attribute dropped...).
    warnings: list[str] = Field(default_factory=list)

    def merge(self, other: IngestResult) -> None:
        self.added += other.added
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)
        self.warnings.extend(other.warnings)


class RunSummary(BaseModel):
    """One line of the Traces list (ARCHITECTURE.md: Run)."""

    model_config = ConfigDict(frozen=True)

    trace_id: str
    #: The root span's name; empty until the root span has arrived.
    name: str
    agent_name: str | None
    agent_id: int | None
    session_id: str | None
    source: str
    started_ns: int
    ended_ns: int | None
    #: The root span's status once it arrived ("ok", "error", or "unset"; an unset
    #: root over failed spans is "error"); before that, "error" if any span failed,
    #: else "ok" if any succeeded, else "unset". See ``state`` for a running run.
    status: str
    span_count: int
    error_count: int
    prompt_tokens: int
    completion_tokens: int
    #: None when no span carried a cost: unknown, not free.
    total_cost: float | None
    #: Actions of this run still waiting for a verdict.
    pending_actions: int = 0
    #: The root span's id once it arrived.
    root_span_id: str | None = None
    #: True once the root span arrived with an end time.
    finished: bool = False
    #: The resource's ``service.name`` of the root (else of any span).
    service_name: str | None = None
    #: True when ``agent_name`` is only that service name (no span named an agent).
    agent_from_service: bool = False
    #: The instrumentation scope of the root span (which library recorded the run).
    instrumentation: str | None = None
    #: Set on a lone model call that a second instrumentation recorded as a run of its
    #: own while the same call is part of another run: that run's trace id. Its tokens
    #: and cost are already counted there; totals over runs skip it.
    duplicate_of: str | None = None

    @property
    def state(self) -> str:
        """What a list shows: "running" until the root span has ended, then ``status``."""
        return self.status if self.finished else "running"

    @property
    def duration_ns(self) -> int | None:
        return None if self.ended_ns is None else max(0, self.ended_ns - self.started_ns)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class RunQuery(BaseModel):
    """The Traces workspace's filters; ``None`` means "any". Bounds are inclusive;
    times are epoch nanoseconds (a run matches by its start); results come newest
    first."""

    model_config = ConfigDict(frozen=True)

    agent: str | None = None
    since_ns: int | None = None
    until_ns: int | None = None
    status: str | None = None
    min_duration_ns: int | None = None
    max_duration_ns: int | None = None
    #: Prompt plus completion tokens.
    min_tokens: int | None = None
    max_tokens: int | None = None
    min_cost: float | None = None
    max_cost: float | None = None
    #: True: only runs with an action pending; False: only runs without one.
    has_pending_action: bool | None = None
    #: Case-insensitive substring of the run's (root span's) name.
    text: str | None = None
    #: False: leave out runs that duplicate a model call of another run.
    include_duplicates: bool = True
    limit: int = Field(default=200, ge=1, le=10_000)
    offset: int = Field(default=0, ge=0)
