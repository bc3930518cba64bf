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


def _literal_table(node: ast.expr) -> bool:
    """A tuple, list, set or dict whose values are all string constants."""
    if isinstance(node, ast.Dict):
        values: list[ast.expr] = list(node.values)
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        values = list(node.elts)
    else:
        return False
    return all(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in values)


class _Code:
    """The ui/ sources: every function by name (to follow a tooltip into the helper
    that builds it, in any module) and the module-level tables of literal texts."""

    def __init__(self, trees: dict[str, ast.Module]) -> None:
        self.functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        self.local: dict[str, dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]]] = {}
        self.tables: set[str] = set()
        #: Module-level names bound to one string literal (``_LOW_TIP = "…"``).
        self.constants: set[str] = set()
        #: Module-level aliases such as ``_TOOLTIP = Qt.ItemDataRole.ToolTipRole``.
        self.role_aliases: set[str] = set()
        for filename, tree in trees.items():
            local = self.local[filename] = {}
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    self.functions.setdefault(node.name, []).append(node)
                    local.setdefault(node.name, []).append(node)
            for node in tree.body:
                value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
                targets = (node.targets if isinstance(node, ast.Assign)
                           else [node.target] if isinstance(node, ast.AnnAssign) else [])
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                if value is None:
                    continue
                if isinstance(value, ast.Attribute) and value.attr == "ToolTipRole":
                    self.role_aliases |= names
                elif _literal_table(value):
                    self.tables |= names
                elif isinstance(value, ast.Constant) and isinstance(value.value, str):
                    self.constants |= names

    def plain(self, expr: ast.expr | None, where: str,
              seen: frozenset[str] = frozenset()) -> bool:
        """True when ``expr`` can only be a literal, None, `plain_tooltip`'s result, an
        entry of a table of literals, or another widget's (checked) tooltip."""
        if expr is None:
            return True
        if isinstance(expr, ast.Constant):
            return expr.value is None or isinstance(expr.value, str)
        if isinstance(expr, ast.IfExp):
            return self.plain(expr.body, where, seen) and self.plain(expr.orelse, where, seen)
        if isinstance(expr, ast.BoolOp):
            return all(self.plain(value, where, seen) for value in expr.values)
        if isinstance(expr, ast.Name):
            return expr.id in self.constants
        if isinstance(expr, ast.Subscript):
            return isinstance(expr.value, ast.Name) and expr.value.id in self.tables
        if isinstance(expr, ast.Call):
            name = _name(expr.func)
            if name == HELPER or (name == "toolTip" and not expr.args):
                return True
            if (name == "get" and isinstance(expr.func, ast.Attribute)
                    and isinstance(expr.func.value, ast.Name)
                    and expr.func.value.id in self.tables):
                return all(self.plain(a, where, seen) for a in expr.args[1:])
            # The module's own function of that name, else any ui/ function so named.
            defs = self.local[where].get(name) or self.functions.get(name)
            if defs and name not in seen:
                return all(self.plain(ret.value, where, seen | {name})
                           for fn in defs for ret in _returns(fn))
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


def rich_tooltips(sources: dict[str, str]) -> list[str]:
    """``file:line: code`` for every tooltip in ``sources`` (file name → code) that may
    carry unescaped text."""
    trees = {name: ast.parse(code, filename=name) for name, code in sources.items()}
    code = _Code(trees)
    bad: list[str] = []
    for filename, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) == "setToolTip":
                if len(node.args) != 1 or not code.plain(node.args[0], filename):
                    bad.append(f"{filename}:{node.lineno}: {ast.unparse(node)}")
            elif isinstance(node, ast.If) and code.mentions_tooltip_role(node.test):
                for ret in _returns(ast.Module(body=node.body, type_ignores=[])):
                    if not code.plain(ret.value, filename):
                        bad.append(f"{filename}:{ret.lineno}: {ast.unparse(ret)}")
    return bad


def test_no_tooltip_in_the_console_can_be_rich_text() -> None:
    bad = rich_tooltips({str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
                         for path in sorted((ROOT / "ui").rglob("*.py"))})
    assert bad == [], "wrap these tooltips in plain_tooltip():\n" + "\n".join(bad)


@pytest.mark.parametrize("code", [
    "label.setToolTip(error)",
    "label.setToolTip(f'Store: {where}')",
    "label.setToolTip(result.detail or '')",
    "def build(tip):\n    _LOW = 'x'\n    label.setToolTip(tip)",
    "label.setToolTip('\\n'.join(lines))",
    "TIPS = {'a': server_text}\nlabel.setToolTip(TIPS['a'])",
    "TIPS = {'a': 'Agent'}\nlabel.setToolTip(TIPS.get(column, error))",
    "def data(self, role):\n    if role == Qt.ItemDataRole.ToolTipRole:\n"
    "        return row.agent\n",
    "_TIP = Qt.ItemDataRole.ToolTipRole\ndef data(self, role):\n    if role == _TIP:\n"
    "        return self._tip(row)\ndef _tip(self, row):\n    return row.name\n",
])
def test_the_scan_catches_outside_text(code: str) -> None:
    assert rich_tooltips({"snippet.py": code}), code


@pytest.mark.parametrize("code", [
    "label.setToolTip('Dismiss')",
    "label.setToolTip(plain_tooltip(error))",
    "label.setToolTip(plain_tooltip(a) if a else '')",
    "TIPS = {'a': 'Agent', 'b': 'Action'}\nlabel.setToolTip(TIPS.get(column, ''))",
    "TIPS = ('Agent', 'Action')\nlabel.setToolTip(TIPS[column])",
    "button.setToolTip(table['refresh'].toolTip())",
    "_LOW = ('Below 0.667: ' 'too low')\nlabel.setToolTip(_LOW if low else 'fine')",
    "def data(self, role):\n    if role == Qt.ItemDataRole.ToolTipRole:\n"
    "        return self._tip(row)\n    return row.name\n"
    "def _tip(self, row):\n    if row.x:\n        return None\n"
    "    return plain_tooltip(row.name, 600)\n",
])
def test_the_scan_accepts_plain_tooltips(code: str) -> None:
    assert rich_tooltips({"snippet.py": code}) == []


def test_plain_tooltip_shows_html_as_the_characters_it_is(qapp: object) -> None:
    from PySide6.QtGui import QTextDocument

    from countersign_ui.widgets.text import plain_tooltip

    body = '<img src="http://evil.test/x.png"><a href="http://evil.test">log in</a> & more'
    tip = plain_tooltip(f"HTTP 401: {body}")
    shown = QTextDocument()
    shown.setHtml(tip)
    assert shown.toPlainText() == f"HTTP 401: {body}"
    assert plain_tooltip("") == ""  # no tooltip at all, not an empty box
