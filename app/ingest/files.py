"""OTLP trace files as the exporters and collectors write them: one export request as
OTLP/JSON or protobuf, gzip-compressed or not, or JSON Lines of requests (the
collector's ``file`` exporter writes one request per line). The format is sniffed from
the content, never trusted from the file name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
from google.protobuf.message import DecodeError  # type: ignore[import-untyped, unused-ignore]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ..wire.integrity import check_batch
from ..wire.otlp import JSON, PROTOBUF, _gunzip, decode_export_request, decode_json
from ..wire.raw import DecodeProblem, DecodeResult, OtlpDecodeError
from .prepare import Origin

#: The largest file (after gunzip) read into memory at once.
MAX_FILE_BYTES = 2 * 1024 * 1024 * 1024
#: A JSON piece is cut at this size even short of its span count (spans with megabyte
#: attributes), to keep each worker's share and the memory it holds bounded.
MAX_PIECE_BYTES = 32 * 1024 * 1024


def decode_file(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> DecodeResult:
    """Decodes one OTLP trace file. Raises `OSError` when it cannot be read and
    `OtlpDecodeError` when it holds no trace request at all."""
    return decode_data(read_file(path, max_bytes=max_bytes), max_bytes=max_bytes)


def decode_data(data: bytes, *, max_bytes: int = MAX_FILE_BYTES) -> DecodeResult:
    """`decode_file` for a file already read (and gunzipped)."""
    try:
        return decode_export_request(data, None, max_body_bytes=max_bytes)
    except OtlpDecodeError:
        lines = [line for line in data.split(b"\n") if line.strip()]
        if len(lines) < 2 or not all(line.lstrip().startswith(b"{") for line in lines):
            raise
    return _decode_json_lines(lines)


def _decode_json_lines(lines: list[bytes]) -> DecodeResult:
    """Each line is a request of its own; problems name the line as well."""
    merged = DecodeResult()
    for number, line in enumerate(lines, start=1):
        try:
            part = decode_json(line)
        except OtlpDecodeError as exc:
            merged.rejections.append(
                DecodeProblem(f"line {number}", None, None, "request", str(exc))
            )
            continue
        for span in part.spans:
            span.path = f"line {number} {span.path}"
        merged.spans.extend(part.spans)
        merged.rejections.extend(_on_line(p, number) for p in part.rejections)
        merged.warnings.extend(_on_line(p, number) for p in part.warnings)
    if merged.rejections and not merged.spans and len(merged.rejections) == len(lines):
        raise OtlpDecodeError(f"no line is an OTLP/JSON request ({merged.rejections[0]})")
    # Duplicates, cycles and orphans across the whole file, as for one request.
    check_batch(merged)
    return merged


def _on_line(problem: DecodeProblem, number: int) -> DecodeProblem:
    return dataclasses.replace(problem, path=f"line {number} {problem.path}")


# --- pieces for the ingest pool -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Piece:
    """A request's worth of a file: the body to prepare, its media type, where its
    spans sit in the file, and how many spans it holds (None: not known before
    decoding, for a JSON Lines line)."""

    body: bytes
    content_type: str
    origin: Origin
    spans: int | None


@dataclass(slots=True)
class Pieces:
    pieces: Iterator[Piece]
    #: Spans in the file, when known before decoding (else lines of a JSON Lines file).
    total: int
    unit: str


def read_file(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    data = path.read_bytes()
    return _gunzip(data, max_bytes) if data[:2] == b"\x1f\x8b" else data


def split_file(data: bytes, *, max_spans: int) -> Pieces | None:
    """The file as requests of at most ``max_spans`` spans each, cut without decoding
    the spans themselves; None when the file must be decoded whole in-process (it is
    malformed somewhere, and only the lenient decoder says where). Each piece is
    checked as one request is (duplicates and parent cycles within it); across pieces
    the store counts re-sent spans as duplicates, as it does across requests."""
    head = data.lstrip(b" \t\r\n")
    if head.startswith(b"{"):
        found = _json_pieces(data, max_spans)
        if found is not None:
            return found
        lines = [line for line in data.split(b"\n") if line.strip()]
        if len(lines) >= 2 and all(line.lstrip().startswith(b"{") for line in lines):
            return Pieces(
                (Piece(line, JSON, Origin(line=number), None)
                 for number, line in enumerate(lines, start=1)),
                len(lines), "lines",
            )
        return None
    return _protobuf_pieces(data, max_spans)


class _RawScopeSpans(msgspec.Struct, gc=False):
    scope: msgspec.Raw = msgspec.Raw(b"null")
    spans: list[msgspec.Raw] | None = None


class _RawResourceSpans(msgspec.Struct, gc=False):
    resource: msgspec.Raw = msgspec.Raw(b"null")
    scopeSpans: list[_RawScopeSpans] | None = None


class _RawRequest(msgspec.Struct, gc=False):
    resourceSpans: list[_RawResourceSpans] | None = None


#: The request's skeleton: each span (and resource, and scope) stays the bytes it was,
#: only checked to be JSON (about 1.7 GB/s), so the pieces can be cut in a few tens of
#: milliseconds and all the decoding happens in the workers. Fields the decoders do not
#: read (schemaUrl) are dropped.
_SKELETON = msgspec.json.Decoder(_RawRequest)


def _json_pieces(data: bytes, max_spans: int) -> Pieces | None:
    try:
        request = _SKELETON.decode(data)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return None  # not JSON, or not shaped as a request: read whole, with reasons
    if request.resourceSpans is None:
        return None
    cuts = []
    for rs_index, rs in enumerate(request.resourceSpans):
        for ss_index, ss in enumerate(rs.scopeSpans or ()):
            spans = ss.spans or []
            start = 0
            while start < len(spans):
                stop, size = start + 1, len(spans[start])
                while stop < len(spans) and stop - start < max_spans and size < MAX_PIECE_BYTES:
                    size += len(spans[stop])
                    stop += 1
                cuts.append((rs_index, ss_index, start, rs, ss, spans[start:stop]))
                start = stop

    def pieces() -> Iterator[Piece]:
        for rs_index, ss_index, start, rs, ss, spans in cuts:
            # An OTLP/JSON request of its own, read by the same decoder as any other:
            # the typed lane, or the lenient one if something in this piece needs it.
            body = b"".join((
                b'{"resourceSpans":[{"resource":', rs.resource,
                b',"scopeSpans":[{"scope":', ss.scope, b',"spans":[', b",".join(spans),
                b"]}]}]}",
            ))
            yield Piece(body, JSON, Origin(None, rs_index, ss_index, start), len(spans))

    return Pieces(pieces(), sum(len(cut[5]) for cut in cuts), "spans")


def _protobuf_pieces(data: bytes, max_spans: int) -> Pieces | None:
    try:
        request = ExportTraceServiceRequest.FromString(data)
    except DecodeError:
        return None
    if not request.resource_spans:
        return None
    cuts = []
    for rs_index, rs in enumerate(request.resource_spans):
        for ss_index, ss in enumerate(rs.scope_spans):
            for start in range(0, len(ss.spans), max_spans):
                cuts.append((rs_index, ss_index, start, rs, ss,
                             min(len(ss.spans), start + max_spans)))

    def pieces() -> Iterator[Piece]:
        for rs_index, ss_index, start, rs, ss, stop in cuts:
            part = ExportTraceServiceRequest()
            part_rs = part.resource_spans.add(resource=rs.resource, schema_url=rs.schema_url)
            part_ss = part_rs.scope_spans.add(scope=ss.scope, schema_url=ss.schema_url)
            part_ss.spans.extend(ss.spans[start:stop])
            yield Piece(part.SerializeToString(), PROTOBUF, Origin(None, rs_index, ss_index, start),
                        stop - start)

    return Pieces(pieces(), sum(cut[5] - cut[2] for cut in cuts), "spans")
