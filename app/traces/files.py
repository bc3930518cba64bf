"""OTLP trace files as the exporters and collectors write them: one export request as
OTLP/JSON or protobuf, gzip-compressed or not, or JSON Lines of requests (the
collector's ``file`` exporter writes one request per line). The format is sniffed from
the content, never trusted from the file name.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .integrity import check_batch
from .otlp import _gunzip, decode_export_request, decode_json
from .raw import DecodeProblem, DecodeResult, OtlpDecodeError

#: The largest file (after gunzip) read into memory at once.
MAX_FILE_BYTES = 2 * 1024 * 1024 * 1024


def decode_file(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> DecodeResult:
    """Decodes one OTLP trace file. Raises `OSError` when it cannot be read and
    `OtlpDecodeError` when it holds no trace request at all."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, max_bytes)
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
