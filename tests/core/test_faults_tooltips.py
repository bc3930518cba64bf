"""Tooltips never render outside text as rich text.

Qt guesses whether a tooltip is rich text (`Qt::mightBeRichText`): a server's error
body such as ``<img src=…>`` or ``<a href=…>`` handed to ``setToolTip`` is rendered
as HTML. Every tooltip in ui/ is therefore either a string literal or passes through
`plain_tooltip`, which escapes it; this scan of ui/'s syntax trees fails on any other
``setToolTip`` argument and on any model returning a tooltip (``ToolTipRole``) that is
not plain by the same rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HELPER = "plain_tooltip"


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


class _Module:
    """One source file: its functions by name, for following a tooltip into the
    helper method that builds it."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions.setdefault(node.name, []).append(node)
        #: Module-level aliases such as ``_TOOLTIP = Qt.ItemDataRole.ToolTipRole``.
        self.role_aliases = {
            target.id
            for node in tree.body if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Attribute) and node.value.attr == "ToolTipRole"
            for target in node.targets if isinstance(target, ast.Name)
        }

    def plain(self, expr: ast.expr | None, seen: frozenset[str] = frozenset()) -> bool:
        """True when ``expr`` can only be a literal, None, or `plain_tooltip`'s result."""
        if expr is None:
            return True
        if isinstance(expr, ast.Constant):
            return expr.value is None or isinstance(expr.value, str)
        if isinstance(expr, ast.IfExp):
            return self.plain(expr.body, seen) and self.plain(expr.orelse, seen)
        if isinstance(expr, ast.BoolOp):
            return all(self.plain(value, seen) for value in expr.values)
        if isinstance(expr, ast.Call):
            name = _name(expr.func)
            if name == HELPER:
                return True
            if name in self.functions and name not in seen:
                return all(self.plain(ret.value, seen | {name})
                           for fn in self.functions[name] for ret in _returns(fn))
        return False

    def mentions_tooltip_role(self, test: ast.expr) -> bool:
        return any((isinstance(n, ast.Attribute) and n.attr == "ToolTipRole")
                   or (isinstance(n, ast.Name) and n.id in self.role_aliases)
                   for n in ast.walk(test))


def _returns(node: ast.AST) -> list[ast.Return]:
    """The return statements of ``node``'s own body (not of functions inside it)."""
    found: list[ast.Return] = []
    stack = list(ast.iter_child_nodes(node))
    while stack:
        child = stack.pop()
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(child, ast.Return):
            found.append(child)
        stack.extend(ast.iter_child_nodes(child))
    return found


def rich_tooltips(source: str, filename: str = "<ui>") -> list[str]:
    """``file:line: code`` for every tooltip that may carry unescaped text."""
    tree = ast.parse(source, filename=filename)
    module = _Module(tree)
    bad: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) == "setToolTip":
            if len(node.args) != 1 or not module.plain(node.args[0]):
                bad.append(f"{filename}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.If) and module.mentions_tooltip_role(node.test):
            for ret in _returns(ast.Module(body=node.body, type_ignores=[])):
                if not module.plain(ret.value):
                    bad.append(f"{filename}:{ret.lineno}: {ast.unparse(ret)}")
    return bad


def test_no_tooltip_in_the_console_can_be_rich_text() -> None:
    bad = [
        problem
        for path in sorted((ROOT / "ui").rglob("*.py"))
        for problem in rich_tooltips(path.read_text(encoding="utf-8"),
                                     str(path.relative_to(ROOT)))
    ]
    assert bad == [], "wrap these tooltips in plain_tooltip():\n" + "\n".join(bad)


@pytest.mark.parametrize("code", [
    "label.setToolTip(error)",
    "label.setToolTip(f'Store: {where}')",
    "label.setToolTip(result.detail or '')",
    "label.setToolTip('\\n'.join(lines))",
    "def data(self, role):\n    if role == Qt.ItemDataRole.ToolTipRole:\n"
    "        return row.agent\n",
    "_TIP = Qt.ItemDataRole.ToolTipRole\ndef data(self, role):\n    if role == _TIP:\n"
    "        return self._tip(row)\ndef _tip(self, row):\n    return row.name\n",
])
def test_the_scan_catches_outside_text(code: str) -> None:
    assert rich_tooltips(code), code


@pytest.mark.parametrize("code", [
    "label.setToolTip('Dismiss')",
    "label.setToolTip(plain_tooltip(error))",
    "label.setToolTip(plain_tooltip(a) if a else '')",
    "def data(self, role):\n    if role == Qt.ItemDataRole.ToolTipRole:\n"
    "        return self._tip(row)\n    return row.name\n"
    "def _tip(self, row):\n    if row.x:\n        return None\n"
    "    return plain_tooltip(row.name, 600)\n",
])
def test_the_scan_accepts_plain_tooltips(code: str) -> None:
    assert rich_tooltips(code) == []


def test_plain_tooltip_shows_html_as_the_characters_it_is(qapp: object) -> None:
    from PySide6.QtGui import QTextDocument

    from countersign_ui.widgets.text import plain_tooltip

    body = '<img src="http://evil.test/x.png"><a href="http://evil.test">log in</a> & more'
    tip = plain_tooltip(f"HTTP 401: {body}")
    shown = QTextDocument()
    shown.setHtml(tip)
    assert shown.toPlainText() == f"HTTP 401: {body}"
    assert plain_tooltip("") == ""  # no tooltip at all, not an empty box
