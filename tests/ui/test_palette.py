"""One palette: no colour is written anywhere else in ui/, both variants name the same
roles with readable contrast, the variant follows the application palette, and
widgets restyle themselves when the desktop switches between light and dark."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QToolBar
from pytestqt.qtbot import QtBot

import countersign_ui
from countersign.domain import Risk, SpanKind
from countersign_ui.palette import (
    DARK,
    LIGHT,
    Palette,
    Tone,
    colours,
    forget_choice,
    palette_for,
    restyle,
    text_style,
)

UI = Path(countersign_ui.__file__).parent
#: Hex colours, functional colours and numeric QColors; "&#" (HTML entities) and
#: "#name" (object-name selectors) do not match.
COLOUR = re.compile(r"(?<![&\w])#(?:[0-9a-fA-F]{8}|[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b"
                    r"|\brgba?\(|\bhsla?\(|QColor\(\s*\d|Qt\.GlobalColor\.(?!transparent)")


def test_no_colour_is_written_outside_the_palette() -> None:
    found = [f"{path.relative_to(UI)}:{n}: {line.strip()}"
             for path in sorted(UI.rglob("*.py")) if path.name != "palette.py"
             for n, line in enumerate(path.read_text().splitlines(), start=1)
             if COLOUR.search(line)]
    assert found == [], "colours belong in ui/palette.py:\n" + "\n".join(found)


def test_the_grep_would_see_a_colour() -> None:
    assert COLOUR.search('label.setStyleSheet("color:#b91c1c;")')
    assert COLOUR.search("QColor(0, 0, 0, 22)")
    assert not COLOUR.search('"#messageBanner QLabel { border: none; }"')
    assert not COLOUR.search('f"Action #{action_id} left the queue"')


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    q = QColor(colour)
    return 0.2126 * channel(q.red()) + 0.7152 * channel(q.green()) + 0.0722 * channel(q.blue())


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21)."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


#: A typical window behind text: white, and a dark desktop theme's grey.
WINDOW = {False: "#ffffff", True: "#2b2b2b"}


@pytest.mark.parametrize("palette", [LIGHT, DARK], ids=["light", "dark"])
def test_every_role_is_a_colour_and_text_is_readable(palette: Palette) -> None:
    tones: dict[str, Tone] = {}
    for field in dataclasses.fields(palette):
        value = getattr(palette, field.name)
        if isinstance(value, Tone):
            tones[field.name] = value
        elif isinstance(value, str):
            assert QColor(value).isValid(), (field.name, value)
    tones.update({f"risk {risk}": tone for risk, tone in palette.risk.items()})
    for name, tone in tones.items():
        assert QColor(tone.background).isValid() and QColor(tone.text).isValid(), name
        assert contrast(tone.background, tone.text) >= 4.5, (name, tone)
    for role in ("muted", "accent", "accent_alt", "error", "warning", "ok"):
        assert contrast(getattr(palette, role), WINDOW[palette.dark]) >= 4.5, role
    assert set(palette.risk) == set(Risk)
    assert set(palette.span_kinds) == set(SpanKind)
    assert len(set(palette.series)) == len(palette.series) >= 6


def test_the_variant_follows_the_window_colour() -> None:
    assert palette_for(QColor("#f5f5f5").lightness()) is LIGHT
    assert palette_for(QColor("#2b2b2b").lightness()) is DARK
    assert LIGHT.dark is False and DARK.dark is True


@pytest.fixture
def dark_desktop(qapp: QApplication) -> Iterator[None]:
    """The application palette switched to a dark one, restored afterwards."""
    before = QPalette(qapp.palette())
    forget_choice()
    try:
        yield
    finally:
        qapp.setPalette(before)
        forget_choice()


def test_widgets_restyle_when_the_desktop_turns_dark(
        qtbot: QtBot, qapp: QApplication, dark_desktop: None) -> None:
    from countersign_ui.async_work import BackgroundWork
    from countersign_ui.main_window import MainWindow

    work = BackgroundWork()
    window = MainWindow(work)
    qtbot.addWidget(window)
    window.show()
    label = QLabel("failed", window)
    restyle(label, lambda p: text_style("QLabel", p.error))
    assert colours() is LIGHT
    assert LIGHT.error in label.styleSheet()
    assert LIGHT.error in window.error_label.styleSheet()

    qapp.setPalette(QPalette(QColor("#2b2b2b")))  # the main window hears of it
    qtbot.waitUntil(lambda: colours() is DARK, timeout=5_000)
    assert DARK.error in label.styleSheet()
    assert DARK.error in window.error_label.styleSheet()
    switcher = window.findChild(QToolBar, "workspaceSwitcher")
    assert switcher is not None and DARK.selection.background in switcher.styleSheet()
    window.shutdown()
    work.shutdown()
