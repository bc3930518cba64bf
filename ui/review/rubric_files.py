"""Rubric files for the Rubrics page: read one to import, write one to export. Plain
functions run off the GUI thread (STYLE.md, rule 7); each failure is a
`RubricFileError` whose message is one sentence naming the file and the cause.

Teams keep rubrics in their own repositories, so an export must never leave a
half-written file where the old one was: it is written beside the target and renamed
over it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from countersign.services.review import ReviewService

#: A rubric is a few kilobytes; a bigger file is not one (and is not read whole).
MAX_RUBRIC_BYTES = 1_000_000


class RubricFileError(OSError):
    """A rubric file that cannot be read or written; the message says which and why."""


def _cause(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def read_rubric_file(path: Path) -> str:
    """The text of the rubric file at ``path`` (UTF-8, at most `MAX_RUBRIC_BYTES`)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_RUBRIC_BYTES + 1)
    except OSError as exc:
        raise RubricFileError(f"cannot read {path}: {_cause(exc)}") from exc
    if len(data) > MAX_RUBRIC_BYTES:
        raise RubricFileError(f"{path} is larger than {MAX_RUBRIC_BYTES // 1000:,} kB: "
                              "not a rubric file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RubricFileError(f"{path} is not UTF-8 text (byte {exc.start})") from exc


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it and a rename: the
    old file stays whole until the new one is complete."""
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                         dir=path.parent)
    except OSError as exc:
        raise RubricFileError(f"cannot write {path}: {_cause(exc)}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise RubricFileError(f"cannot write {path}: {_cause(exc)}") from exc
        raise


def export_rubric_file(review: ReviewService, name: str, version: int, path: Path) -> Path:
    """Write version ``version`` of rubric ``name`` to ``path`` in the documented TOML
    form (the stored version: never unsaved edits); returns the path written."""
    write_text_atomically(path, review.export_rubric(name, version))
    return path
