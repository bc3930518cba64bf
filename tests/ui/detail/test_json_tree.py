"""JsonTreeModel: a correct item model on any JSON, lazy on big values, honest cells."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.qtbot import QtBot

from countersign_ui.json_tree import (
    CELL_CHARS,
    CHUNK,
    HIDDEN_ROLE,
    KEY_COLUMN,
    PATH_ROLE,
    TYPE_COLUMN,
    VALUE_COLUMN,
    VALUE_ROLE,
    JsonTreeModel,
    JsonTreeView,
)


def deep_value(levels: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    cur = root
    for _ in range(levels - 1):
        cur["n"] = {}
        cur = cur["n"]
    cur["leaf"] = "bottom"
    return root


NESTED = {"order": {"id": "ORD-1", "items": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": None}]},
          "flags": [True, False], "amount": 12.5, "empty": {}, "none": [], "key with space": 1}


@pytest.mark.parametrize("value", [
    NESTED,
    {"blob": "x" * 1_000_000},
    list(range(50_000)),
    deep_value(200),
    "just a string",
    [],
    None,
], ids=["nested", "1MB-string", "50k-list", "depth-200", "scalar", "empty-list", "null"])
def test_model_is_consistent(qtmodeltester: Any, value: Any) -> None:
    model = JsonTreeModel(value)
    qtmodeltester.check(model)


def test_a_50k_list_opens_with_one_chunk_and_fetches_more() -> None:  # time: bench_ui
    model = JsonTreeModel(list(range(50_000)))
    assert model.rowCount() == CHUNK
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 2 * CHUNK
    assert model.index(2 * CHUNK - 1, VALUE_COLUMN).data() == str(2 * CHUNK - 1)


def test_depth_200_walks_to_the_leaf() -> None:
    model = JsonTreeModel(deep_value(200))
    index = QModelIndex()
    for _ in range(199):
        index = model.index(0, 0, index)
        assert index.data() == "n"
    leaf = model.index(0, 0, index)
    assert leaf.data(PATH_ROLE) == "$" + ".n" * 199 + ".leaf"
    assert model.index(0, VALUE_COLUMN, index).data() == "bottom"


def test_long_strings_are_cut_in_the_cell_but_whole_in_value_role() -> None:
    text = "word " * 200_000
    model = JsonTreeModel({"blob": text})
    cell = model.index(0, VALUE_COLUMN)
    shown = cell.data()
    assert len(shown) < CELL_CHARS + 40 and "chars)" in shown
    assert cell.data(VALUE_ROLE) == text
    assert len(cell.data(Qt.ItemDataRole.ToolTipRole)) < 2_500
    assert "1,000,000 chars" in model.index(0, TYPE_COLUMN).data()


def test_columns_and_types() -> None:
    model = JsonTreeModel(NESTED)
    rows = {model.index(r, KEY_COLUMN).data(): r for r in range(model.rowCount())}
    order = model.index(rows["order"], 0)
    assert model.index(rows["order"], VALUE_COLUMN).data() == "{2 keys}"
    assert model.index(rows["flags"], TYPE_COLUMN).data() == "array"
    assert model.index(rows["amount"], VALUE_COLUMN).data() == "12.5"
    items = model.index(1, 0, order)
    assert items.data(PATH_ROLE) == "$.order.items"
    qty = model.index(1, VALUE_COLUMN, model.index(1, 0, items))
    assert qty.data() == "null" and qty.data(PATH_ROLE) == "$.order.items[1].qty"
    assert model.index(rows["key with space"], 0).data(PATH_ROLE) == '$["key with space"]'


def test_unhandled_roles_return_none() -> None:
    model = JsonTreeModel(NESTED)
    index = model.index(0, 0)
    for role in (Qt.ItemDataRole.UserRole + 77, Qt.ItemDataRole.EditRole + 1000,
                 Qt.ItemDataRole.CheckStateRole, Qt.ItemDataRole.DecorationRole):
        assert index.data(role) is None
    assert model.data(QModelIndex(), Qt.ItemDataRole.DisplayRole) is None


def test_hidden_role_flags_hidden_characters() -> None:
    model = JsonTreeModel({"plain": "abc", "sneaky": "ab\u200bc"})
    assert model.index(0, 0).data(HIDDEN_ROLE) is False
    assert model.index(1, 0).data(HIDDEN_ROLE) is True
    assert model.index(1, 0).data(Qt.ItemDataRole.BackgroundRole) is not None


def test_view_whole_value_opens_a_plain_text_viewer(qtbot: QtBot) -> None:
    view = JsonTreeView()
    qtbot.addWidget(view)
    text = "<b>not bold</b>\n" + "y" * 300_000
    view.set_value({"blob": text})
    dialog = view.view_whole_value(view.json_model.index(0, VALUE_COLUMN))
    assert dialog is not None
    qtbot.addWidget(dialog)
    shown = dialog.view.shown_text()
    assert shown.startswith("<b>not bold</b>\n")
    assert "more characters not shown" in shown
    dialog.view._show_all.click()
    assert "more characters not shown" not in dialog.view.shown_text()


def test_view_expands_small_values_only(qtbot: QtBot) -> None:
    view = JsonTreeView()
    qtbot.addWidget(view)
    view.set_value(NESTED)
    assert view.isExpanded(view.json_model.index(0, 0))
    view.set_value({"big": list(range(5_000))})
    assert not view.isExpanded(view.json_model.index(0, 0))
