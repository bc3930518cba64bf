"""The Datasets panel: the stored versions, building a new one from the review list's
filter (narrowed to a recent period and to label answers typed here), the difference
between two versions, exporting one with a progress bar, and pushing one to a Phoenix
server (`PhoenixPushRow`).

Building and exporting run off the GUI thread as plain functions of their inputs and
a `Job` (the progress count the pool thread writes, the cancel flag the GUI sets); a
timer reads the count into the progress bar, so no widget is touched off-thread. An
export writes a temporary file and renames it (the service's doing): a cancel or a
failure leaves nothing half-written.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from countersign.domain.review import DatasetFilter, DatasetInfo
from countersign.review.datasets import (
    DatasetDiff,
    Example,
    parse_answer_filter,
    validate_dataset_name,
)
from countersign.review.export import FORMATS
from countersign.text import one_line

from ..palette import restyle, text_style
from ..qt.core import (
    QModelIndex,
    Qt,
    QTimer,
    Signal,
)
from ..qt.widgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from ..widgets.table_model import FlatTableModel
from ..widgets.tables import row_table
from ..widgets.text import PlainTextView, Section, plain_tooltip
from .phoenix_push import PhoenixPushRow

if TYPE_CHECKING:
    from countersign.services.datasets import DatasetService

    from ..async_work import BackgroundWork

#: Keys listed per part of a diff before "… and n more".
DIFF_LISTED = 200
#: How often the progress bar reads the job's count.
PROGRESS_MS = 100
_EXTENSIONS = {"openai-evals": "jsonl", "phoenix": "json", "langfuse": "json", "csv": "csv",
               "jsonl": "jsonl"}


#: The build's time choices: label → seconds back from now (None: any time).
WITHIN = (("Any time", None), ("Last 24 hours", 86_400.0), ("Last 7 days", 7 * 86_400.0),
          ("Last 30 days", 30 * 86_400.0))


def _day(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


def describe_filter(wanted: DatasetFilter) -> str:
    parts = []
    if wanted.agent:
        parts.append(f"agent {one_line(wanted.agent, 40)}")
    if wanted.action_class:
        parts.append(f"action {one_line(wanted.action_class, 40)}")
    if wanted.verdicts:
        parts.append("verdict " + ", ".join(wanted.verdicts))
    if wanted.answers:
        parts.append("answers " + ", ".join(
            f"{one_line(k, 30)}={one_line(json.dumps(v, ensure_ascii=False), 30)}"
            for k, v in wanted.answers.items()))
    if wanted.since is not None:
        parts.append(f"since {_day(wanted.since)}")
    if wanted.until is not None:
        parts.append(f"until {_day(wanted.until)}")
    return ", ".join(parts) or "every decision and label"


class DatasetsModel(FlatTableModel[DatasetInfo]):
    """Every stored version: Name | Version | Examples | Built | By | Filter."""

    HEADERS = ("Name", "Version", "Examples", "Built", "By", "Filter")

    def cell(self, info: DatasetInfo, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            values = (one_line(info.name, 80), str(info.version), f"{info.examples:,}",
                      time.strftime("%Y-%m-%d %H:%M", time.localtime(info.created_at)),
                      one_line(info.created_by, 40), describe_filter(info.filter))
            return values[column] if 0 <= column < len(values) else None
        if role == Qt.ItemDataRole.ToolTipRole and column == 0:
            return plain_tooltip(info.name)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (1, 2):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def set_versions(self, rows: Sequence[DatasetInfo]) -> None:
        self.set_rows(rows)

    def info_at(self, row: int) -> DatasetInfo | None:
        return self.row_at(row)

    def versions_of(self, name: str) -> list[int]:
        return [info.version for info in self._rows if info.name == name]

    def row_of(self, name: str, version: int) -> int | None:
        return next((i for i, info in enumerate(self._rows)
                     if info.name == name and info.version == version), None)


@dataclass
class Job:
    """Shared with one off-thread build or export: the pool thread writes ``done``, the
    GUI sets ``cancelled`` (plain attribute writes are atomic under the GIL)."""

    total: int = 0
    done: int = 0
    cancelled: bool = False

    def progress(self, count: int) -> None:
        self.done = count

    def cancel_requested(self) -> bool:
        return self.cancelled


def build_version(datasets: DatasetService, name: str, wanted: DatasetFilter, actor: str,
                  job: Job) -> DatasetInfo:
    return datasets.build(name, wanted, actor=actor, progress=job.progress)


def export_version(datasets: DatasetService, name: str, version: int, fmt: str, out: Path,
                   job: Job) -> tuple[DatasetInfo, int]:
    return datasets.export(name, fmt, out, version=version, progress=job.progress,
                           cancel=job.cancel_requested)


def what_changed(old: Example, new: Example) -> str:
    """Which parts of an example differ between two versions: ``expected_output,
    metadata.labels``."""
    parts: list[str] = []
    for field in ("input", "expected_output", "split", "source_trace_id", "source_span_id"):
        if getattr(old, field) != getattr(new, field):
            parts.append(field)
    if old.metadata != new.metadata:
        keys = sorted(k for k in old.metadata.keys() | new.metadata.keys()
                      if old.metadata.get(k) != new.metadata.get(k))
        parts.extend(f"metadata.{k}" for k in keys)
    return ", ".join(parts) or "—"


def diff_sections(diff: DatasetDiff, name: str, old: int, new: int) -> list[Section]:
    """The diff as titled lists of example keys (ours: ``action:12``), for a view;
    a changed example says which of its parts changed."""

    def listed(lines: list[str]) -> str:
        shown = lines[:DIFF_LISTED]
        more = f"\n… and {len(lines) - DIFF_LISTED:,} more" if len(lines) > DIFF_LISTED else ""
        return ("\n".join(shown) or "(none)") + more

    return [
        Section(f"{name}: version {old} → {new}: {len(diff.added)} added, "
                f"{len(diff.removed)} removed, {len(diff.changed)} changed",
                "Examples are matched by their source: action:<id> or label:<id>."),
        Section(f"Added ({len(diff.added)})", listed([e.key for e in diff.added])),
        Section(f"Removed ({len(diff.removed)})", listed([e.key for e in diff.removed])),
        Section(f"Changed ({len(diff.changed)})",
                listed([f"{n.key}  ({what_changed(o, n)})" for o, n in diff.changed])),
    ]


class DatasetsPanel(QWidget):
    """See the module docstring. The workspace hands it the services (`attach`) and the
    list's filter (`set_list_filter`)."""

    # Signals
    #: A one-line confirmation for the status bar.
    notice = Signal(str)
    #: A failure, one line.
    failed = Signal(str)
    #: An export finished: (path, examples written).
    exported = Signal(str, int)

    def __init__(self, work: BackgroundWork, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("datasetsPanel")
        self._work = work
        self._datasets: DatasetService | None = None
        self._actor = ""
        self._filter = DatasetFilter()
        self._job: Job | None = None
        self._select_after_refresh: tuple[str, int] | None = None
        self.model = DatasetsModel(self)
        self.table = row_table(self, "datasetsTable", self.model)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("datasetName")
        self.name_edit.setPlaceholderText("dataset name, e.g. refunds-edits")
        self.build_button = QPushButton("Build from the list's filter", self)
        self.build_button.setObjectName("buildButton")
        self.within = QComboBox(self)
        self.within.setObjectName("buildWithin")
        self.within.setToolTip("Only decisions and labels from this recent period")
        for label, seconds in WITHIN:
            self.within.addItem(label, seconds)
        self.answers_edit = QLineEdit(self)
        self.answers_edit.setObjectName("buildAnswers")
        self.answers_edit.setPlaceholderText("answers, e.g. correct=wrong harm=true")
        self.answers_edit.setToolTip(plain_tooltip(
            "Only items with a label giving these answers: question key=answer, "
            "separated by spaces (quote a value that has spaces)"))
        self.filter_label = self._muted("")
        self.name_problem = self._muted("")
        restyle(self.name_problem, lambda p: text_style("QLabel", p.error))
        self.old_version = QComboBox(self)
        self.old_version.setObjectName("diffOld")
        self.new_version = QComboBox(self)
        self.new_version.setObjectName("diffNew")
        self.diff_button = QPushButton("Diff", self)
        self.diff_button.setObjectName("diffButton")
        self.diff_view = PlainTextView(self, monospace=True)
        self.diff_view.setObjectName("diffView")
        self.diff_view.set_text("Select a dataset, choose two of its versions and press Diff "
                                "to see the examples added, removed and changed.")
        self.format = QComboBox(self)
        self.format.setObjectName("exportFormat")
        self.format.addItems(list(FORMATS))
        self.path_edit = QLineEdit(self)
        self.path_edit.setObjectName("exportPath")
        self.path_edit.setPlaceholderText("file to write")
        self.browse_button = QPushButton("Browse…", self)
        self.export_button = QPushButton("Export", self)
        self.export_button.setObjectName("exportButton")
        self.progress = QProgressBar(self)
        self.progress.setObjectName("exportProgress")
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("cancelButton")
        self.status = self._muted("")
        self.status.setObjectName("datasetsStatus")
        self.phoenix = PhoenixPushRow(work, self)
        self.phoenix.notice.connect(self.notice)
        self.phoenix.failed.connect(self.failed)
        self._layout()
        self._timer = QTimer(self)
        self._timer.setInterval(PROGRESS_MS)
        self._timer.timeout.connect(self._show_progress)
        self.name_edit.textChanged.connect(self._check_name)
        self.answers_edit.textChanged.connect(self._check_name)
        self.answers_edit.returnPressed.connect(self.build)
        self.within.currentIndexChanged.connect(self._show_filter)
        self.name_edit.returnPressed.connect(self.build)
        self.path_edit.returnPressed.connect(self.export)
        self.build_button.clicked.connect(self.build)
        self.diff_button.clicked.connect(self.diff)
        self.export_button.clicked.connect(self.export)
        self.browse_button.clicked.connect(self._browse)
        self.cancel_button.clicked.connect(self.cancel)
        self.format.currentTextChanged.connect(self._format_changed)
        self.table.selectionModel().currentRowChanged.connect(self._selected)
        self._set_busy(False)
        self._check_name()

    def _muted(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        restyle(label, lambda p: text_style("QLabel", p.muted))
        return label

    def _heading(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setTextFormat(Qt.TextFormat.PlainText)
        font = label.font()
        font.setBold(True)
        label.setFont(font)
        return label

    def _layout(self) -> None:
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.addWidget(self._heading("Build"), 0, 0)
        build = QHBoxLayout()
        build.addWidget(self.name_edit, 1)
        build.addWidget(self.build_button)
        grid.addLayout(build, 0, 1)
        narrow = QHBoxLayout()
        narrow.addWidget(self.within)
        narrow.addWidget(self.answers_edit, 1)
        build_box = QVBoxLayout()
        build_box.setSpacing(2)
        build_box.addLayout(narrow)
        build_box.addWidget(self.filter_label)
        grid.addLayout(build_box, 1, 1)
        grid.addWidget(self.name_problem, 2, 1)
        grid.addWidget(self._heading("Diff"), 3, 0)
        diff = QHBoxLayout()
        diff.addWidget(QLabel("version", self))
        diff.addWidget(self.old_version)
        diff.addWidget(QLabel("→", self))
        diff.addWidget(self.new_version)
        diff.addWidget(self.diff_button)
        diff.addStretch(1)
        grid.addLayout(diff, 3, 1)
        grid.addWidget(self._heading("Export"), 4, 0)
        export = QHBoxLayout()
        export.addWidget(self.format)
        export.addWidget(self.path_edit, 1)
        export.addWidget(self.browse_button)
        export.addWidget(self.export_button)
        grid.addLayout(export, 4, 1)
        progress = QHBoxLayout()
        progress.addWidget(self.progress, 1)
        progress.addWidget(self.cancel_button)
        grid.addLayout(progress, 5, 1)
        grid.addWidget(self._heading("Phoenix"), 6, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.phoenix, 6, 1)
        grid.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._heading("Stored versions (select one to diff or export)"))
        layout.addWidget(self.table, 2)
        layout.addLayout(grid)
        layout.addWidget(self.diff_view, 2)
        layout.addWidget(self.status)

    # -- wiring --------------------------------------------------------------------------

    def attach(self, datasets: DatasetService, actor: str) -> None:
        self._datasets = datasets
        self._actor = actor
        self.phoenix.attach(datasets)
        self.refresh()

    def focus_name(self) -> None:
        self.name_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        self.name_edit.selectAll()

    def set_list_filter(self, wanted: DatasetFilter) -> None:
        """The review list's filter, which a build uses (narrowed by the panel's own
        period and answers)."""
        self._filter = wanted
        self._show_filter()

    def build_filter(self, now: float | None = None) -> DatasetFilter:
        """What a build now takes: the list's filter, the period, the answers (raises
        `ValueError` for answers that are not KEY=VALUE)."""
        answers = parse_answer_filter(shlex.split(self.answers_edit.text()))
        seconds = self.within.currentData()
        since = ((time.time() if now is None else now) - seconds
                 if isinstance(seconds, float) else None)
        return self._filter.model_copy(update={"answers": answers, "since": since})

    def _show_filter(self) -> None:
        try:
            wanted = self.build_filter()
        except ValueError:
            wanted = self._filter
        text = describe_filter(wanted.model_copy(update={"since": None}))
        period = self.within.currentText()
        if self.within.currentData() is not None:
            text += f", {period.lower()}"
        self.filter_label.setText(f"Builds from: {text} (the list's filters, this period "
                                  "and these answers)")

    def refresh(self) -> None:
        if self._datasets is not None:
            self._work.submit(self._datasets.versions, on_done=self._versions,
                              on_error=self._failed)

    def _versions(self, rows: list[DatasetInfo]) -> None:
        selected = self.selected()
        wanted, self._select_after_refresh = self._select_after_refresh, None
        self.model.set_versions(rows)
        if not rows:
            self.status.setText("No dataset yet: name one above and build it from the "
                                "review list's filter.")
        target = (self.model.row_of(*wanted) if wanted is not None
                  else self.model.row_of(selected.name, selected.version)
                  if selected is not None else None)
        if target is None and rows:
            target = len(rows) - 1
        if target is not None:
            self.table.selectRow(target)

    def selected(self) -> DatasetInfo | None:
        index = self.table.currentIndex()
        return self.model.info_at(index.row()) if index.isValid() else None

    def _selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        info = self.model.info_at(current.row()) if current.isValid() else None
        self.phoenix.set_target(info)
        for combo in (self.old_version, self.new_version):
            combo.clear()
        if info is None:
            return
        versions = [str(v) for v in self.model.versions_of(info.name)]
        self.old_version.addItems(versions)
        self.new_version.addItems(versions)
        self.new_version.setCurrentText(str(info.version))
        self.old_version.setCurrentText(str(max(1, info.version - 1)))
        if not self.path_edit.text():
            self._suggest_path(info)

    def _suggest_path(self, info: DatasetInfo) -> None:
        extension = _EXTENSIONS[self.format.currentText()]
        self.path_edit.setText(str(Path.home() / f"{info.name}-v{info.version}.{extension}"))

    def _format_changed(self, fmt: str) -> None:
        text = self.path_edit.text()
        if text:
            self.path_edit.setText(str(Path(text).with_suffix("." + _EXTENSIONS[fmt])))

    def _browse(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(self, "Export the dataset to",
                                                self.path_edit.text())
        if chosen:
            self.path_edit.setText(chosen)

    def _check_name(self) -> str | None:
        name = self.name_edit.text()
        problem = None
        if name:
            try:
                validate_dataset_name(name)
            except ValueError as exc:
                problem = str(exc)
        try:
            parse_answer_filter(shlex.split(self.answers_edit.text()))
        except ValueError as exc:
            problem = problem or str(exc)
        self._show_filter()
        self.name_problem.setText(problem or "")
        self.name_problem.setVisible(problem is not None)
        self.build_button.setEnabled(bool(name) and problem is None and self._job is None)
        return problem

    # -- build, diff, export -------------------------------------------------------------

    def build(self) -> None:
        name = self.name_edit.text()
        if self._datasets is None or not name or self._check_name() is not None \
                or self._job is not None:
            return
        wanted = self.build_filter()
        job = self._start_job(0, f"Building {name}…", cancellable=False)
        self._work.submit(build_version, self._datasets, name, wanted, self._actor, job,
                          on_done=self._built, on_error=self._job_failed)

    def _built(self, info: DatasetInfo) -> None:
        self._end_job()
        self.status.setText(f"Built {info.name} version {info.version}: "
                            f"{info.examples:,} examples.")
        self.notice.emit(f"Dataset {info.name} version {info.version}: "
                         f"{info.examples:,} examples")
        self.path_edit.clear()
        self._select_after_refresh = (info.name, info.version)
        self.refresh()
        # Next, most likely: export it (Enter in the path exports).
        self.path_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def diff(self) -> None:
        info = self.selected()
        if self._datasets is None or info is None:
            return
        try:
            old, new = int(self.old_version.currentText()), int(self.new_version.currentText())
        except ValueError:
            return
        self.status.setText(f"Comparing {info.name} {old} → {new}…")
        self._work.submit(self._datasets.diff, info.name, old, new,
                          on_done=lambda d: self._diffed(d, info.name, old, new),
                          on_error=self._failed)

    def _diffed(self, diff: DatasetDiff, name: str, old: int, new: int) -> None:
        sections = diff_sections(diff, name, old, new)
        self.diff_view.set_sections(sections)
        self.status.setText(sections[0].header)

    def export(self) -> None:
        info = self.selected()
        text = self.path_edit.text().strip()
        if self._datasets is None or info is None or self._job is not None:
            return
        if not text:
            self.status.setText("Export: choose the file to write first.")
            return
        out = Path(text).expanduser()
        fmt = self.format.currentText()
        job = self._start_job(info.examples, f"Exporting {info.name} v{info.version}…",
                              cancellable=True)
        self._work.submit(export_version, self._datasets, info.name, info.version, fmt, out,
                          job, on_done=lambda r: self._exported(r, out, fmt),
                          on_error=self._job_failed)

    def _exported(self, result: tuple[DatasetInfo, int], out: Path, fmt: str) -> None:
        info, written = result
        self._end_job()
        self.progress.setValue(self.progress.maximum())
        self.status.setText(f"Exported {info.name} version {info.version} as {fmt}: "
                            f"{written:,} examples to {out}")
        self.notice.emit(f"Exported {written:,} examples to {out}")
        self.exported.emit(str(out), written)

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancelled = True
            self.status.setText("Cancelling…")

    @property
    def busy(self) -> bool:
        return self._job is not None

    def _start_job(self, total: int, text: str, *, cancellable: bool) -> Job:
        self._job = Job(total=total)
        self.progress.setRange(0, max(total, 0))  # 0..0: busy indicator (unknown total)
        self.progress.setValue(0)
        self.status.setText(text)
        self._set_busy(True, cancellable)
        self._timer.start()
        return self._job

    def _show_progress(self) -> None:
        job = self._job
        if job is not None and job.total:
            self.progress.setValue(min(job.done, job.total))

    def _end_job(self) -> None:
        self._timer.stop()
        self._job = None
        self._set_busy(False)
        self.progress.setRange(0, 1)

    def _set_busy(self, busy: bool, cancellable: bool = False) -> None:
        self.export_button.setEnabled(not busy)
        self.diff_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy and cancellable)
        self.progress.setVisible(busy or self.progress.value() > 0)
        self.cancel_button.setVisible(busy)
        self._check_name()

    def _job_failed(self, exc: BaseException) -> None:
        from countersign.review.export import ExportCancelled

        self._end_job()
        self.progress.setValue(0)
        if isinstance(exc, ExportCancelled):
            self.status.setText("Export cancelled: nothing was written.")
            return
        self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        message = str(exc) or type(exc).__name__
        self.status.setText(message)
        self.failed.emit(message)
