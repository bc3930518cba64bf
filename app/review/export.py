"""Writing a dataset's examples to a file an eval tool reads (formats: export_formats).

The file appears whole or not at all: it is written to a temporary file beside the
destination and renamed over it at the end, so a full disk, a crash, an encoding
error or a cancel leave the old file (or nothing) in place, never half an export.
Examples stream through in chunks (JSONL, CSV, Langfuse): 100,000 of them take well
under a second to encode with msgspec.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, cast

import msgspec
from pydantic import ValidationError

from .datasets import Example, validate_dataset_name
from .export_formats import (
    CSV_COLUMNS,
    FORMATS,
    Format,
    csv_row,
    example_row,
    langfuse_item,
    openai_evals_row,
    phoenix_upload_body,
)

__all__ = ["FORMATS", "ExportCancelled", "ExportError", "Format", "export_examples",
           "read_examples_jsonl"]

#: Examples per chunk: between two chunks the export reports progress and may stop.
CHUNK = 2000

Progress = Callable[[int], None]
Cancel = Callable[[], bool]


class ExportError(Exception):
    """The export could not be written; the message names the file and the cause."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


class ExportCancelled(ExportError):
    """The caller's ``cancel`` said stop; no file was left behind."""


def _chunks(examples: Iterable[Example], progress: Progress | None,
            cancel: Cancel | None, out: Path) -> Iterator[list[Example]]:
    """``examples`` in lists of `CHUNK`; before each one ``cancel`` is asked, after
    each one ``progress`` hears the running count."""
    done = 0
    chunk: list[Example] = []
    iterator = iter(examples)
    while True:
        if cancel is not None and cancel():
            raise ExportCancelled(out, f"export to {out} cancelled")
        chunk = [e for _, e in zip(range(CHUNK), iterator, strict=False)]
        if not chunk:
            return
        yield chunk
        done += len(chunk)
        if progress is not None:
            progress(done)


def _write_lines(file: IO[bytes], rows: Iterator[list[object]]) -> None:
    encoder = msgspec.json.Encoder()
    for chunk in rows:
        file.write(encoder.encode_lines(chunk))


def _write_langfuse(file: IO[bytes], rows: Iterator[list[object]]) -> None:
    encoder = msgspec.json.Encoder()
    file.write(b"[")
    separator = b"\n"
    for chunk in rows:
        for item in chunk:
            file.write(separator)
            file.write(encoder.encode(item))
            separator = b",\n"
    file.write(b"\n]\n")


def _write_csv(file: IO[bytes], rows: Iterator[list[tuple[str, ...]]]) -> None:
    text = io.TextIOWrapper(file, encoding="utf-8", newline="", write_through=True)
    try:
        writer = csv.writer(text, dialect="excel", lineterminator="\r\n")  # RFC 4180
        writer.writerow(CSV_COLUMNS)
        for chunk in rows:
            writer.writerows(chunk)
        text.flush()
    finally:
        text.detach()  # the caller owns (and closes) the binary file


def _write(file: IO[bytes], examples: Iterable[Example], fmt: Format, dataset: str,
           version: int, chunks: Callable[[Iterable[Example]], Iterator[list[Example]]],
           ) -> int:
    count = 0

    def counted(rows: Iterator[list[Example]]) -> Iterator[list[Example]]:
        nonlocal count
        for chunk in rows:
            count += len(chunk)
            yield chunk

    source = counted(chunks(examples))
    if fmt == "jsonl":
        _write_lines(file, ([example_row(e) for e in c] for c in source))
    elif fmt == "openai-evals":
        _write_lines(file, ([openai_evals_row(e, dataset, version) for e in c]
                            for c in source))
    elif fmt == "langfuse":
        _write_langfuse(file, ([langfuse_item(e, dataset, version) for e in c]
                               for c in source))
    elif fmt == "csv":
        _write_csv(file, ([csv_row(e) for e in c] for c in source))
    else:  # phoenix: one JSON document (the upload body), built first
        body = phoenix_upload_body((e for c in source for e in c), dataset, version)
        file.write(msgspec.json.encode(body))
        file.write(b"\n")
    return count


def _cause(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _open_temporary(out: Path) -> tuple[Path, IO[bytes]]:
    """A new file beside ``out`` (same file system, so the rename is atomic), created
    with the usual permissions (0666 less the umask) rather than tempfile's 0600."""
    folder = out.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ExportError(out, f"cannot write {out}: the folder {folder} {what}")
    if out.is_dir():
        raise ExportError(out, f"cannot write {out}: it is a folder")
    temporary = folder / f".{out.name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                     | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise ExportError(out, f"cannot write {out}: {_cause(exc)}") from exc
    return temporary, os.fdopen(fd, "wb", buffering=1 << 20)


def export_examples(
    examples: Iterable[Example],
    fmt: str,
    out: Path,
    *,
    dataset: str,
    version: int,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> int:
    """Write ``examples`` of version ``version`` of ``dataset`` to ``out`` in format
    ``fmt`` (one of `FORMATS`); return how many were written.

    ``progress`` hears the running count after each chunk; ``cancel`` is asked before
    each chunk and stops the export when it answers True (`ExportCancelled`). Raises
    `ExportError` naming the path and the cause when the file cannot be written,
    `DatasetNameError` for a bad dataset name and `ValueError` for an unknown format;
    in every case no file is left at ``out`` or beside it (an existing ``out`` stays).
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    validate_dataset_name(dataset)
    out = Path(out)

    def chunks(items: Iterable[Example]) -> Iterator[list[Example]]:
        return _chunks(items, progress, cancel, out)

    temporary, file = _open_temporary(out)
    try:
        with file:
            count = _write(file, examples, cast(Format, fmt), dataset, version, chunks)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, out)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(exc, OSError):
            raise ExportError(out, f"cannot write {out}: {_cause(exc)}") from exc
        if isinstance(exc, TypeError | msgspec.EncodeError):
            raise ExportError(out, f"cannot write {out}: an example holds a value that "
                                   f"is not JSON ({exc})") from exc
        raise
    return count


def read_examples_jsonl(path: Path) -> Iterator[Example]:
    """The examples of a ``jsonl`` export, in order; `ValueError` naming the line of
    the first one that is not an `Example`."""
    decoder = msgspec.json.Decoder()
    with open(path, "rb") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                yield Example.model_validate(decoder.decode(line))
            except (msgspec.DecodeError, ValidationError) as exc:
                raise ValueError(f"{path}, line {number}: not an example ({exc})") from exc
