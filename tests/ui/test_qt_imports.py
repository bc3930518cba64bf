"""Every Qt import of the console goes through countersign_ui.qt, so a change of
binding touches one package (STYLE.md, after qutebrowser)."""

from __future__ import annotations

import ast
from pathlib import Path

import countersign_ui

UI = Path(countersign_ui.__file__).parent
BINDINGS = ("PySide6", "PySide2", "PyQt6", "PyQt5", "shiboken6", "shiboken2", "sip")


def _binding_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"{path.relative_to(UI)}:{node.lineno}: {name}" for name in names
                  if name.split(".")[0] in BINDINGS]
    return found


def test_only_the_qt_package_imports_the_binding() -> None:
    found = [hit for path in sorted(UI.rglob("*.py"))
             if path.parent != UI / "qt" for hit in _binding_imports(path)]
    assert found == [], ("import Qt names from countersign_ui.qt (qt.core, qt.gui, "
                         "qt.widgets; is_alive/delete_now for shiboken):\n" + "\n".join(found))


def test_the_qt_package_does_import_it() -> None:
    assert _binding_imports(UI / "qt" / "core.py") == ["qt/core.py:3: PySide6.QtCore"]
