"""The add / edit form for one source, generated from its plugin's config model.

Each field of the plugin's pydantic model becomes an editor (text, number, check box,
JSON for mappings); ``api_key`` is a password field whose text goes to the keyring
(`countersign.secrets`), and only ``keyring:NAME`` is written to the config. Input is
validated with the plugin's own model before the form closes; the error names the key.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from countersign import secrets
from countersign.config import SourceConfig
from countersign.plugin_host import loading as sources
from countersign.plugin_host.manifest import describe_errors

from ..qt.core import Qt
from ..qt.widgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from ..widgets.text import plain_tooltip

SECRET_FIELDS = ("api_key",)
KEEP_SECRET_HINT = "stored in the keyring; type to replace"


def _base_type(annotation: Any) -> Any:
    """``int`` for ``int | None`` and the like."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return typing.get_origin(annotation) or annotation


class SourceForm(QDialog):
    """Edits one ``[[sources]]`` table; `result_config` holds it after ``accept``."""

    def __init__(self, parent: QWidget | None, *, existing: SourceConfig | None,
                 taken_names: set[str]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit source" if existing else "Add source")
        self.setObjectName("sourceForm")
        self._existing = existing
        self._taken = taken_names - ({existing.name} if existing else set())
        self._editors: dict[str, QWidget] = {}
        self._model: type[BaseModel] | None = None
        self.result_config: SourceConfig | None = None

        layout = QVBoxLayout(self)
        self.top = QFormLayout()
        self.name_edit = QLineEdit(existing.name if existing else "")
        self.name_edit.setObjectName("sourceName")
        self.plugin_combo = QComboBox()
        self.plugin_combo.setObjectName("sourcePlugin")
        self.plugin_combo.addItems(sorted(sources.available()))
        if existing:
            self.plugin_combo.setCurrentText(existing.plugin)
        self.top.addRow("Name", self.name_edit)
        self.top.addRow("Plugin", self.plugin_combo)
        layout.addLayout(self.top)
        self.fields_host = QWidget()
        self.fields = QFormLayout(self.fields_host)
        layout.addWidget(self.fields_host)
        self.error = QLabel()
        self.error.setObjectName("formError")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.plugin_combo.currentTextChanged.connect(self._build_fields)
        self._build_fields(self.plugin_combo.currentText())

    # -- fields ----------------------------------------------------------------------

    def _build_fields(self, plugin: str) -> None:
        while self.fields.rowCount():
            self.fields.removeRow(0)
        self._editors.clear()
        self.error.clear()
        try:
            self._model = sources.config_model(plugin) if plugin else None
        except sources.PluginError as exc:
            self._model = None
            self.error.setText(str(exc))
            return
        if self._model is None:
            return
        values = self._existing.settings if self._existing and \
            self._existing.plugin == plugin else {}
        for name, info in self._model.model_fields.items():
            default = None if info.is_required() else info.get_default(call_default_factory=True)
            editor = self._editor(name, _base_type(info.annotation), values.get(name, default))
            editor.setObjectName(f"field_{name}")
            editor.setToolTip(plain_tooltip(info.description or ""))
            self._editors[name] = editor
            label = name.replace("_", " ") + ("" if not info.is_required() else " *")
            self.fields.addRow(label, editor)

    def _editor(self, name: str, kind: Any, value: Any) -> QWidget:
        if name in SECRET_FIELDS:
            edit = QLineEdit()
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setPlaceholderText(KEEP_SECRET_HINT if value else "not set")
            edit.setProperty("reference", value)
            return edit
        if kind is bool:
            box = QCheckBox()
            box.setChecked(bool(value))
            return box
        if kind is int:
            spin = QSpinBox()
            spin.setRange(-(2**31), 2**31 - 1)
            spin.setValue(int(value or 0))
            return spin
        if kind is float:
            dspin = QDoubleSpinBox()
            dspin.setRange(0.0, 1e9)
            dspin.setDecimals(3)
            dspin.setValue(float(value or 0.0))
            return dspin
        edit = QLineEdit()
        if kind is dict or isinstance(value, dict):
            edit.setPlaceholderText('JSON, e.g. {"team": "payments"}')
            edit.setText(json.dumps(value) if value else "")
        else:
            edit.setText("" if value is None else str(value))
        return edit

    def _read(self, name: str, editor: QWidget) -> Any:
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QSpinBox | QDoubleSpinBox):
            return editor.value()
        assert isinstance(editor, QLineEdit)
        text = editor.text().strip()
        if name in SECRET_FIELDS:
            return editor.property("reference") or None  # the typed key is handled apart
        if editor.placeholderText().startswith("JSON"):
            return json.loads(text) if text else None
        return text or None

    def _is_default(self, name: str, value: Any) -> bool:
        """Defaults are left out of the file, so a newer plugin's defaults apply."""
        info = self._model.model_fields.get(name) if self._model else None
        return bool(info is not None and not info.is_required()
                    and info.get_default(call_default_factory=True) == value)

    # -- accept ----------------------------------------------------------------------

    def _accept(self) -> None:
        name = self.name_edit.text().strip()
        if not name:
            self.error.setText("name: a source needs a name")
            return
        if name in self._taken:
            self.error.setText(f"name: another source is already called '{name}'")
            return
        try:
            settings = {k: self._read(k, e) for k, e in self._editors.items()}
        except ValueError as exc:
            self.error.setText(f"a JSON field is not valid JSON: {exc}")
            return
        typed_secrets = {k: e.text() for k, e in self._editors.items()
                         if k in SECRET_FIELDS and isinstance(e, QLineEdit) and e.text()}
        for key in typed_secrets:
            settings[key] = secrets.reference(name if key == "api_key" else f"{name}-{key}")
        settings = {k: v for k, v in settings.items()
                    if v is not None and not self._is_default(k, v)}
        if self._model is not None:
            try:
                self._model.model_validate(settings)
            except ValidationError as exc:
                self.error.setText(describe_errors(exc))
                return
        try:
            for key, value in typed_secrets.items():
                secrets.set_secret(str(settings[key]).removeprefix(secrets.REF_PREFIX), value)
        except secrets.SecretError as exc:
            self.error.setText(str(exc))
            return
        self.result_config = SourceConfig.model_validate(
            {"name": name, "plugin": self.plugin_combo.currentText(), **settings})
        self.accept()
