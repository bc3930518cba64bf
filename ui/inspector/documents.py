"""A retrieval's documents: a small table (score as a bar, id, content preview) and the
selected document's whole content below it, as plain text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from countersign.text import one_line

from ..palette import colours, qcolor
from ..qt.core import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    Qt,
)
from ..qt.gui import QPainter
from ..qt.widgets import (
    QApplication,
    QHeaderView,
    QLabel,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)
from ..widgets.tables import row_table
from ..widgets.text import PlainTextView, plain_tooltip
from .span_content import Document

SCORE_COLUMN, ID_COLUMN, CONTENT_COLUMN = range(3)
_HEADERS = ("Score", "Id", "Content")
#: The row's score as a fraction of the best score of the retrieval (for the bar).
SCORE_FRACTION_ROLE = Qt.ItemDataRole.UserRole + 1
#: The row's `Document`.
DOCUMENT_ROLE = Qt.ItemDataRole.UserRole + 2
_Index = QModelIndex | QPersistentModelIndex
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren


class DocumentsModel(QAbstractTableModel):
    """Rows of documents, previews cut to one line."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._docs: list[Document] = []
        self._best = 1.0

    def set_documents(self, docs: Sequence[Document]) -> None:
        self.beginResetModel()
        self._docs = list(docs)
        scores = [abs(d.score) for d in docs if d.score is not None]
        self._best = max(scores, default=1.0) or 1.0
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._docs)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_HEADERS)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        return _FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(_HEADERS):
            return _HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        doc = self._docs[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == SCORE_COLUMN:
                return "—" if doc.score is None else f"{doc.score:.3f}"
            if column == ID_COLUMN:
                return one_line(doc.id or "(no id)", 80)
            return one_line(doc.content, 200)
        if role == SCORE_FRACTION_ROLE:
            return None if doc.score is None else max(0.0, min(1.0, doc.score / self._best))
        if role == DOCUMENT_ROLE:
            return doc
        if role == Qt.ItemDataRole.ToolTipRole and column != SCORE_COLUMN:
            return plain_tooltip(doc.content if column == CONTENT_COLUMN else doc.id, 600)
        return None


class ScoreBarDelegate(QStyledItemDelegate):
    """The score as a bar behind its number, scaled to the best score shown."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        style = opt.widget.style() if opt.widget is not None else QApplication.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter,
                            opt.widget)
        fraction = index.data(SCORE_FRACTION_ROLE)
        cell = option.rect.adjusted(3, 4, -3, -4)
        if fraction is not None:
            painter.save()
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(qcolor(colours().score_bar))
            painter.drawRoundedRect(QRectF(cell.left(), cell.top(),
                                           max(2.0, cell.width() * fraction), cell.height()),
                                    2, 2)
            painter.restore()
        painter.drawText(cell.adjusted(4, 0, 0, 0),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         index.data() or "")


class DocumentsView(QWidget):
    """Query line, documents table and the selected document's content."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.query = QLabel(self)
        self.query.setObjectName("retrievalQuery")
        self.query.setTextFormat(Qt.TextFormat.PlainText)
        self.query.setWordWrap(True)
        self.query.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model = DocumentsModel(self)
        self.table = row_table(self, "documentsTable", self.model, tab_moves_on=False)
        self.table.setItemDelegateForColumn(SCORE_COLUMN, ScoreBarDelegate(self.table))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(SCORE_COLUMN, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(SCORE_COLUMN, 110)
        header.setSectionResizeMode(ID_COLUMN, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(ID_COLUMN, 170)
        header.setStretchLastSection(True)
        self.content = PlainTextView(self)
        self.content.setObjectName("documentContent")
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.table)
        split.addWidget(self.content)
        split.setChildrenCollapsible(False)
        split.setSizes([140, 160])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.query)
        layout.addWidget(split, 1)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)

    def set_documents(self, query: str | None, docs: Sequence[Document]) -> None:
        self.query.setText("Query: " + one_line(query, 400) if query is not None
                           else "No query recorded")
        self.model.set_documents(docs)
        self.content.clear()
        if docs:
            self.table.setCurrentIndex(self.model.index(0, 0))

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        doc = current.data(DOCUMENT_ROLE) if current.isValid() else None
        if doc is None:
            self.content.clear()
        else:
            self.content.set_text(doc.content)
