"""What the OTLP decoder hands on: raw spans with their attributes as plain Python
values, and the problems found on the way, each naming the span and the field.

Raw spans keep everything the normaliser and the store may need (the raw attributes
are kept verbatim next to the normalised fields), so they are plain mutable dataclasses
with slots: a batch holds tens of thousands of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

#: A decoded OTLP ``AnyValue``: bytes become their base64 text (as in OTLP/JSON) so that
#: JSON and protobuf input decode to equal values and every value is JSON-serialisable.
AttrValue: TypeAlias = (
    str | int | float | bool | list["AttrValue"] | dict[str, "AttrValue"] | None
)
Attributes: TypeAlias = dict[str, AttrValue]

#: How deep ``arrayValue``/``kvlistValue`` may nest before the rest is cut off.
MAX_VALUE_DEPTH = 64
#: What replaces a value nested deeper than ``MAX_VALUE_DEPTH`` (or than the protobuf
#: parser's own limit): visible in the UI, and impossible to mistake for agent data.
NESTED_TOO_DEEP = "…(nested too deep)"


class OtlpDecodeError(ValueError):
    """The body as a whole is not an OTLP trace export request (neither OTLP/JSON nor
    OTLP protobuf, a broken gzip stream, too large...). Smaller faults never raise:
    they reject the one span or attribute concerned."""


@dataclass(frozen=True, slots=True)
class DecodeProblem:
    """One rejected item or one repair, named well enough to find it in the sender's
    data: the index path, the ids when they were readable, and the field."""

    #: e.g. ``resourceSpans[0].scopeSpans[1].spans[7]``
    path: str
    trace_id: str | None
    span_id: str | None
    #: The OTLP/JSON (camelCase) name of the field, e.g. ``spanId`` or
    #: ``attributes['llm.model_name']``; protobuf input uses the same names.
    field: str
    reason: str

    @property
    def where(self) -> str:
        ids = []
        if self.trace_id is not None:
            ids.append(f"trace {self.trace_id}")
        if self.span_id is not None:
            ids.append(f"span {self.span_id}")
        return f"{self.path} ({', '.join(ids)})" if ids else self.path

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.reason}"


@dataclass(slots=True)
class RawEvent:
    name: str
    time_ns: int
    attributes: Attributes


@dataclass(slots=True)
class RawSpan:
    """One decoded span, before any OpenInference / GenAI interpretation."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    #: OTLP ``SpanKind`` (0 unspecified, 1 internal, 2 server, 3 client, 4 producer,
    #: 5 consumer); not the GenAI kind, which ``normalize`` derives from attributes.
    kind: int
    start_ns: int
    end_ns: int | None
    #: OTLP ``Status.code``: 0 unset, 1 ok, 2 error.
    status_code: int
    status_message: str | None
    attributes: Attributes
    events: list[RawEvent]
    resource_attributes: Attributes
    scope_name: str | None
    #: Where the span sat in the request, for messages.
    path: str
    #: Repairs made to this span (attribute dropped, text repaired, value cut...),
    #: as readable sentences the UI can show next to the span.
    warnings: list[str] = field(default_factory=list)
    #: The parent is neither in this batch nor None: it may arrive in a later batch.
    orphan: bool = False


@dataclass(slots=True)
class DecodeResult:
    spans: list[RawSpan] = field(default_factory=list)
    rejections: list[DecodeProblem] = field(default_factory=list)
    #: Every repair, including those also listed on the span concerned, plus problems
    #: of resources and scopes that do not belong to a single span.
    warnings: list[DecodeProblem] = field(default_factory=list)


class SpanContext:
    """Collects what is known about the span being decoded, so that every problem
    found below it can name the span even when its ids turn out to be invalid."""

    __slots__ = ("path", "span_id", "span_warnings", "trace_id", "warnings")

    def __init__(self, path: str, warnings: list[DecodeProblem]) -> None:
        self.path = path
        self.trace_id: str | None = None
        self.span_id: str | None = None
        self.warnings = warnings
        self.span_warnings: list[str] = []

    def problem(self, field_name: str, reason: str) -> DecodeProblem:
        return DecodeProblem(self.path, self.trace_id, self.span_id, field_name, reason)

    def warn(self, field_name: str, reason: str) -> None:
        problem = self.problem(field_name, reason)
        self.warnings.append(problem)
        self.span_warnings.append(f"{field_name}: {reason}")

    def reject(self, field_name: str, reason: str) -> SpanRejected:
        return SpanRejected(self.problem(field_name, reason))


class SpanRejected(Exception):
    """Raised inside the decoders to drop the current span (or resource / scope)."""

    def __init__(self, problem: DecodeProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class ValueRejected(Exception):
    """Raised inside the value decoders to drop the current attribute only."""


def describe(value: object, limit: int = 40) -> str:
    """A short, safe rendering of an offending value for a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
