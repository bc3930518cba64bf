"""The Rubrics page of the Review workspace: the stored rubrics with their versions, an
editor of one in exactly the documented TOML form (`rubric_to_toml`), checked as it is
typed by `parse_rubric_toml` (the message names the field), the form a reviewer will
answer, previewed, and Save, New, Import… and Export….

Saving goes through the review service, which numbers the version and audits it. A
rubric that says exactly what its newest version says makes no version: the page
says so before Save is pressed (Save is off) and after, should the store find it
unchanged. Import reads a file into the editor, checked and previewed like typed text;
Save then stores it as an import from that file. Export writes the stored version
shown (never unsaved edits) through a temporary file and a rename. Edits left
unsaved when another rubric or version is opened are kept as drafts for the sitting
and marked in the list. Files are chosen with non-blocking dialogs (`open()`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from countersign.review.rubric import Rubric, RubricError, parse_rubric_toml, rubric_to_toml

from ..palette import restyle, text_style
from ..qt.core import Qt, QTimer, Signal
from ..qt.widgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from ..widgets.tables import row_table
from ..widgets.text import monospace_font
from .rubric_files import export_rubric_file, read_rubric_file
from .rubric_form import RubricForm
from .rubric_text import TEMPLATE, named_in, same_definition
from .rubrics_model import RubricsModel

if TYPE_CHECKING:
    from countersign.services.review import ReviewService

    from ..async_work import BackgroundWork

CHECK_DELAY_MS = 150
STALE_PREVIEW = "Preview of the last valid text: fix the problem below to update it"
#: Rows the list shows before it scrolls.
LISTED_ROWS = 5
#: What the store records as the source of a rubric saved from the editor.
EDITOR_SOURCE = "console editor"
#: The editor's document: a stored version (name, version), or None for a rubric not
#: stored yet (New, or a file naming a new rubric).
Key = tuple[str, int] | None


class RubricsPage(QWidget):
    """See the module docstring. The workspace hands it the review service (`attach`)."""

    # Signals
    #: A one-line confirmation for the status bar.
    notice = Signal(str)
    #: A failure, one line.
    failed = Signal(str)
    #: A new version was stored (the `Rubric`, with its version): new labels answer it.
    saved = Signal(object)

    def __init__(self, work: BackgroundWork, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rubricsPage")
        self._work = work
        self._review: ReviewService | None = None
        self._actor = ""
        self._key: Key = None
        self._stored_text = ""
        self._drafts: dict[Key, str] = {}
        #: (path, text) of the file last read into the editor.
        self._imported: tuple[Path, str] | None = None
        self._parsed: Rubric | None = None
        self._generation = 0
        self._saving = False
        self._folder = Path.home()
        self.model = RubricsModel(self)
        self.table = self._build_table()
        self.version = QComboBox(self)
        self.version.setObjectName("rubricVersion")
        self.version.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.new_button = QPushButton("New", self)
        self.new_button.setObjectName("newRubric")
        self.import_button = QPushButton("Import…", self)
        self.import_button.setObjectName("importRubric")
        self.export_button = QPushButton("Export…", self)
        self.export_button.setObjectName("exportRubric")
        self.status = self._label("rubricsStatus")
        self.editor = QPlainTextEdit(self)
        self.editor.setObjectName("rubricText")
        self.editor.setFont(monospace_font())
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.editor.setTabChangesFocus(True)
        self.preview = RubricForm(self)
        self.preview.setObjectName("rubricPreview")
        self.preview_heading = self._label("rubricPreviewHeading")
        restyle(self.preview_heading, lambda p: text_style("QLabel", p.muted))
        self.problem = self._label("rubricProblem")
        self.revert_button = QPushButton("Revert", self)
        self.revert_button.setObjectName("revertRubric")
        self.save_button = QPushButton("Save as a new version", self)
        self.save_button.setObjectName("saveRubric")
        self.dialog: QFileDialog | None = None
        self._layout()
        self._fit_table()
        self.say("")
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(CHECK_DELAY_MS)
        self._debounce.timeout.connect(self.check_now)
        self.editor.textChanged.connect(self._debounce.start)
        self.table.selectionModel().currentRowChanged.connect(lambda current, _old:
                                                              self._row_chosen(current.row()))
        self.version.activated.connect(self._version_chosen)
        self.new_button.clicked.connect(self.new_rubric)
        self.import_button.clicked.connect(self.choose_import)
        self.export_button.clicked.connect(self.choose_export)
        self.revert_button.clicked.connect(self.revert)
        self.save_button.clicked.connect(self.save)
        self.check_now()

    # -- building ------------------------------------------------------------------------

    def _label(self, name: str) -> QLabel:
        label = QLabel(self)
        label.setObjectName(name)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        return label

    def _build_table(self) -> QTableView:
        table = row_table(self, "rubricsTable", self.model, row_padding=8)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        return table

    def _fit_table(self) -> None:
        """As tall as its rows, up to `LISTED_ROWS` (a team has a handful of rubrics;
        the editor keeps the height)."""
        rows = max(2, min(LISTED_ROWS, self.model.rowCount()))
        height = (self.table.horizontalHeader().sizeHint().height()
                  + rows * self.table.verticalHeader().defaultSectionSize()
                  + 2 * self.table.frameWidth())
        self.table.setFixedHeight(height)

    def _layout(self) -> None:
        title = QLabel("Rubrics: the questions reviewers answer, in the TOML form teams "
                       "keep in their repositories", self)
        title.setTextFormat(Qt.TextFormat.PlainText)
        title.setWordWrap(True)
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        actions = QHBoxLayout()
        actions.addWidget(QLabel("Version", self))
        actions.addWidget(self.version)
        actions.addStretch(1)
        for button in (self.new_button, self.import_button, self.export_button):
            actions.addWidget(button)
        preview_box = QWidget(self)
        preview_layout = QVBoxLayout(preview_box)
        preview_layout.setContentsMargins(6, 0, 0, 0)
        self.preview_heading.setParent(preview_box)
        preview_layout.addWidget(self.preview_heading)
        preview_layout.addWidget(self.preview, 1)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.setObjectName("rubricEditorAndPreview")
        split.setChildrenCollapsible(False)
        split.addWidget(self.editor)
        split.addWidget(preview_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([600, 400])
        buttons = QHBoxLayout()
        buttons.addWidget(self.problem, 1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(title)
        layout.addWidget(self.table)
        layout.addLayout(actions)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)
        self.setTabOrder(self.table, self.version)
        self.setTabOrder(self.export_button, self.editor)
        self.setTabOrder(self.editor, self.revert_button)
        self.setTabOrder(self.revert_button, self.save_button)

    # -- the list ------------------------------------------------------------------------

    def attach(self, review: ReviewService, actor: str) -> None:
        self._review = review
        self._actor = actor
        self.reload()

    def reload(self, open_newest: str | None = None) -> None:
        """Read the rubrics again; ``open_newest`` opens that rubric's newest version
        (after a save), else the editor stays on what it shows."""
        if self._review is not None:
            self._work.submit(self._review.rubrics,
                              on_done=lambda rubrics: self._listed(rubrics, open_newest),
                              on_error=self._failed)

    def _listed(self, rubrics: list[Rubric], open_newest: str | None) -> None:
        self.model.set_rubrics(rubrics)
        self._fit_table()
        if open_newest is not None:
            newest = self.model.newest(open_newest)
            if newest is not None:
                self.open(newest.name, newest.version)
            return
        if self._key is not None and self.model.row_of(self._key[0]) is not None:
            self.open(*self._key)  # its row again; the editor keeps its text
        elif self._key is None and self._stored_text == "" and self.editor.toPlainText():
            self._select_row(None)  # a new rubric is being written: leave it be
            self.check_now()
        elif rubrics:
            first = self.model.rubric_at(0)
            assert first is not None
            self.open(first.name, first.version)

    def _select_row(self, name: str | None) -> None:
        row = self.model.row_of(name) if name is not None else None
        selection = self.table.selectionModel()
        selection.blockSignals(True)
        try:
            if row is None:
                selection.clearSelection()
                selection.clearCurrentIndex()
            else:
                self.table.selectRow(row)
        finally:
            selection.blockSignals(False)
        self.table.viewport().update()

    def _row_chosen(self, row: int) -> None:
        rubric = self.model.rubric_at(row)
        if rubric is not None:
            self.open(rubric.name, rubric.version)

    def _version_chosen(self, index: int) -> None:
        version = self.version.itemData(index)
        if self._key is not None and isinstance(version, int):
            self.open(self._key[0], version)

    def _show_versions(self) -> None:
        self.version.clear()
        newest = self.model.newest(self._key[0]) if self._key is not None else None
        if self._key is None or newest is None:
            self.version.addItem("not stored yet", None)
            self.version.setEnabled(False)
            return
        for version in range(newest.version, 0, -1):
            self.version.addItem(f"{version} (newest)" if version == newest.version
                                 else str(version), version)
        self.version.setCurrentIndex(newest.version - self._key[1])
        self.version.setEnabled(newest.version > 1)

    # -- opening -------------------------------------------------------------------------

    def open(self, name: str, version: int) -> None:
        """Show version ``version`` of rubric ``name`` in the editor (or the draft kept
        for it); the edits on screen are kept as a draft first."""
        self._stash()
        self._generation += 1
        generation = self._generation
        newest = self.model.newest(name)
        if newest is not None and newest.version == version:
            self._opened(generation, newest)
        elif self._review is not None:
            self._work.submit(self._review.rubric, name, version,
                              on_done=lambda rubric: self._opened(generation, rubric),
                              on_error=self._failed)

    def _opened(self, generation: int, rubric: Rubric) -> None:
        if generation != self._generation:
            return  # another rubric was chosen meanwhile
        self._show((rubric.name, rubric.version), rubric_to_toml(rubric))

    def _show(self, key: Key, stored_text: str, text: str | None = None) -> None:
        """Put ``key``'s document in the editor: ``text``, else its draft, else what
        is stored."""
        if key != self._key:
            self._imported = None
        self._key = key
        self._stored_text = stored_text
        shown = self._drafts.pop(key, stored_text)
        if text is not None:
            shown = text
        self._select_row(key[0] if key is not None else None)
        self._show_versions()
        if shown != self.editor.toPlainText():
            self.editor.setPlainText(shown)
        self.check_now()

    def _stash(self) -> None:
        """Keep the edits on screen as a draft of the document they belong to."""
        text = self.editor.toPlainText()
        if text and text != self._stored_text:
            self._drafts[self._key] = text

    def new_rubric(self) -> None:
        """A rubric not stored yet, from `TEMPLATE` (or the draft of the last one)."""
        self._stash()
        self._generation += 1
        self._show(None, "", self._drafts.pop(None, TEMPLATE))
        self.say("A new rubric: give it a name and its questions, then save it as "
                 "version 1.")
        self.editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def revert(self) -> None:
        """Back to what is stored (a new rubric: back to the first stored one)."""
        self._drafts.pop(self._key, None)
        if self._key is not None:
            self._show(self._key, self._stored_text, self._stored_text)
            return
        self.editor.clear()
        self._stored_text = ""
        first = self.model.rubric_at(0)
        if first is not None:
            self.open(first.name, first.version)

    # -- checking ------------------------------------------------------------------------

    @property
    def edited(self) -> bool:
        return self.editor.toPlainText() != self._stored_text

    def _source(self) -> str:
        """The name a problem is reported against: the file it came from, or the editor."""
        if self._imported is not None and self._imported[1] == self.editor.toPlainText():
            return self._imported[0].name
        return "rubric"

    def check_now(self) -> Rubric | None:
        """Check the text now: the rubric, or None with the problem shown; the preview,
        the Save button and the list's edited marks follow."""
        self._debounce.stop()
        names = {key[0] for key in self._drafts if key is not None}
        if self._key is not None and self.edited:
            names.add(self._key[0])
        self.model.set_edited(names)
        self.revert_button.setEnabled(self.edited or self._key is None)
        self.export_button.setEnabled(self._key is not None and self._review is not None)
        if self._key is not None:
            self.export_button.setText(f"Export version {self._key[1]}…")
        text = self.editor.toPlainText()
        try:
            rubric = parse_rubric_toml(text, source=self._source()) if text.strip() else None
        except RubricError as exc:
            self._refuse(str(exc))
            return None
        if rubric is None:
            self._refuse("Nothing to check yet: choose a rubric, or press New.", error=False)
            return None
        self._parsed = rubric
        newest = self.model.newest(rubric.name)
        if newest is not None and same_definition(rubric, newest):
            message = (f"✓ Same as {rubric.name} version {newest.version}, the newest: "
                       "saving makes no new version")
            would_be, can_save = newest.version, False
        elif newest is None:
            message = f"✓ Valid · Save makes version 1 of a new rubric, {rubric.name}"
            would_be, can_save = 1, True
        else:
            message = f"✓ Valid · Save makes {rubric.name} version {newest.version + 1}"
            would_be, can_save = newest.version + 1, True
            if self._key is not None and self._key[0] == rubric.name \
                    and self._key[1] != newest.version:
                message += f" from version {self._key[1]}"
        if self._key is not None and rubric.name != self._key[0]:
            message += f" ({self._key[0]} itself stays as it is)"
        self.problem.setText(message)
        restyle(self.problem, lambda p: text_style("QLabel", p.ok))
        self.save_button.setEnabled(can_save and self._review is not None
                                    and not self._saving)
        self._preview(rubric.model_copy(update={"version": would_be}), saved=not can_save)
        return rubric

    def _refuse(self, message: str, *, error: bool = True) -> None:
        self._parsed = None
        self.problem.setText(message)
        restyle(self.problem, lambda p: text_style("QLabel", p.error if error else p.muted))
        self.save_button.setEnabled(False)
        self.preview.setEnabled(False)  # what it shows is the last rubric that was valid
        self.preview_heading.setText(STALE_PREVIEW if self.preview.rubric is not None
                                     else "Preview: the form a reviewer answers")

    def _preview(self, rubric: Rubric, *, saved: bool) -> None:
        """The form as the reviewer will see it; it answers nothing (no focus, no
        mouse), so it reads as the real form but cannot be mistaken for one."""
        self.preview.setEnabled(True)
        self.preview_heading.setText("Preview: the form a reviewer answers")
        self.preview.set_rubric(rubric)
        self.preview.title.setText(f"{rubric.name} · version {rubric.version}"
                                   + ("" if saved else " once saved"))
        questions = self.preview.scroll_area.widget()
        if questions is not None:
            questions.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        for child in self.preview.findChildren(QWidget):
            child.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    # -- saving --------------------------------------------------------------------------

    def save(self) -> None:
        """Store the editor's rubric as a new version (an import, when it is still
        exactly the file read)."""
        rubric = self.check_now()
        review = self._review
        if rubric is None or review is None or self._saving:
            return
        text = self.editor.toPlainText()
        self._saving = True
        self.save_button.setEnabled(False)
        self.say(f"Saving {rubric.name}…")
        if self._imported is not None and self._imported[1] == text:
            self._work.submit(review.import_rubric, text, actor=self._actor,
                              source=str(self._imported[0]),
                              on_done=lambda result: self._saved(text, result),
                              on_error=self._save_failed)
        else:
            self._work.submit(review.save_rubric, rubric, actor=self._actor,
                              source=EDITOR_SOURCE,
                              on_done=lambda result: self._saved(text, result),
                              on_error=self._save_failed)

    def _saved(self, text: str, result: tuple[Rubric, bool]) -> None:
        stored, made = result
        self._saving = False
        if self.editor.toPlainText() == text:
            # What was saved is no draft: the newest version opens in its place.
            self._stored_text = text
            self._drafts.pop(self._key, None)
        if made:
            message = (f"Saved {stored.name} version {stored.version}: new labels answer "
                       "this version")
            self.saved.emit(stored)
        else:
            message = (f"{stored.name} is unchanged: version {stored.version} already says "
                       "exactly this, so no version was made")
        self.say(message)
        self.notice.emit(message)
        self.reload(open_newest=stored.name)

    def _save_failed(self, exc: BaseException) -> None:
        self._saving = False
        message = str(exc) or type(exc).__name__
        self.check_now()
        self.problem.setText(f"Not saved: {message}")
        restyle(self.problem, lambda p: text_style("QLabel", p.error))
        self.failed.emit(message)

    # -- files ---------------------------------------------------------------------------

    def _file_dialog(self, title: str, mode: QFileDialog.AcceptMode) -> QFileDialog:
        dialog = QFileDialog(self, title, str(self._folder),
                             "TOML rubrics (*.toml);;All files (*)")
        dialog.setObjectName("rubricFileDialog")
        dialog.setAcceptMode(mode)
        dialog.finished.connect(dialog.deleteLater)
        dialog.finished.connect(lambda _result: setattr(self, "dialog", None))
        self.dialog = dialog
        return dialog

    def choose_import(self) -> None:
        """Import…: choose a TOML file; it is read into the editor, not yet stored."""
        dialog = self._file_dialog("Import a rubric", QFileDialog.AcceptMode.AcceptOpen)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda chosen: self.import_file(Path(chosen)))
        dialog.open()

    def import_file(self, path: Path) -> None:
        self._folder = path.parent
        self.say(f"Reading {path}…")
        self._work.submit(read_rubric_file, path,
                          on_done=lambda text: self._file_read(path, text),
                          on_error=self._failed)

    def _file_read(self, path: Path, text: str) -> None:
        self._stash()
        self._generation += 1
        name = named_in(text)
        newest = self.model.newest(name) if name is not None else None
        if newest is not None:
            self._show((newest.name, newest.version), rubric_to_toml(newest), text)
        else:
            self._show(None, "", text)
        self._imported = (path, text)
        self.check_now()
        self.say(f"Read {path}. Check it and its preview; Save stores it "
                            "(nothing is stored until then).")
        self.editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def choose_export(self) -> None:
        """Export…: choose where to write the stored version shown."""
        if self._key is None:
            return
        name, _version = self._key
        dialog = self._file_dialog("Export the rubric", QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("toml")
        dialog.selectFile(str(self._folder / f"{name}.toml"))
        dialog.fileSelected.connect(lambda chosen: self.export_to(Path(chosen)))
        dialog.open()

    def export_to(self, path: Path) -> None:
        review = self._review
        if self._key is None or review is None:
            return
        name, version = self._key
        self._folder = path.parent
        unsaved = " (the stored version: your unsaved edits are not in it)" \
            if self.edited else ""
        self._work.submit(export_rubric_file, review, name, version, path,
                          on_done=lambda written: self._exported(name, version, written,
                                                                 unsaved),
                          on_error=self._failed)

    def _exported(self, name: str, version: int, path: Path, unsaved: str) -> None:
        self.say(f"Exported {name} version {version} to {path}{unsaved}")
        self.notice.emit(f"Exported rubric {name} version {version} to {path}")

    def say(self, text: str, *, error: bool = False) -> None:
        """The page's status line: what the last operation did, or why it failed."""
        self.status.setText(text)
        self.status.setVisible(bool(text))
        restyle(self.status, lambda p: text_style("QLabel", p.error if error else p.muted))

    def _failed(self, exc: BaseException) -> None:
        message = str(exc) or type(exc).__name__
        self.say(message, error=True)
        self.failed.emit(message)
