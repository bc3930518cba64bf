"""Every colour the console draws with, in a light and a dark variant.

Widgets never write a colour themselves (a test greps ``ui/`` for them): they ask
`colours()` for the `Palette` that suits the application's palette (dark when its
window colour is dark) and name a role — ``error``, ``muted``, ``risk[Risk.HIGH]``…
Widgets styled with a style sheet call `restyle` (others `on_palette`), which
applies the colours now and again whenever the application palette changes (the
desktop's dark mode toggled: the main window calls `application_palette_changed`);
item models call `colours()` inside ``data()``, and their views repaint on the same
change. Chart series (`Palette.series`) are for the Autonomy charts to come.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from countersign.domain import Risk, SpanKind

from .qt.core import QObject, Qt, Signal
from .qt.gui import QColor, QGuiApplication
from .qt.widgets import QWidget

#: Below this lightness (0-255) of the application's window colour, the dark variant.
DARK_BELOW = 128


@dataclass(frozen=True)
class Tone:
    """A filled surface and the text on it (badges, banners, highlighted buttons)."""

    background: str
    text: str
    #: An edge drawn around or beside the surface (banners); "" for none.
    border: str = ""


@dataclass(frozen=True)
class ChartColours:
    """The Autonomy workspace's charts (pyqtgraph) and its units table."""

    background: str
    #: Axes, tick labels, titles and the "no evidence yet" text.
    foreground: str
    #: The running accuracy; its confidence band is the same colour, translucent.
    accuracy: str
    #: Target lines: the accuracy the current level required, and the next level's.
    current_target: str
    next_target: str
    #: CUSUM and SPRT traces.
    statistic: str
    #: The CUSUM's alarm line h and the SPRT's lower (start again) boundary.
    alarm: str
    #: The SPRT's upper (recommend promotion) boundary.
    promote: str
    #: The level step chart and its change markers.
    level: str
    #: Stacked outcomes: approve, cosmetic edit, material edit, reject, critical.
    outcomes: tuple[str, str, str, str, str]
    #: The row of a unit the rules demoted automatically (until it is looked at).
    demoted_row: str


@dataclass(frozen=True)
class Palette:
    """The named colours of one variant (hex strings, usable in style sheets and by
    `qcolor`)."""

    dark: bool
    #: Text that is secondary: hints, counts, metadata.
    muted: str
    #: Text that draws the eye without alarm: links, "Deciding…", section headers.
    accent: str
    #: A second accent, distinct from the first (diff hunk headers).
    accent_alt: str
    #: Text for failures, expired deadlines, refusals.
    error: str
    #: Text for what needs attention soon (deadline under a minute, orphaned spans).
    warning: str
    #: Text for what is fine (a valid edit).
    ok: str
    #: The selected workspace in the switcher.
    selection: Tone
    #: Message strips by seriousness.
    info_banner: Tone
    warning_banner: Tone
    error_banner: Tone
    #: Risk badges (low / medium / high / critical).
    risk: Mapping[Risk, Tone]
    #: A neutral chip (the autonomy level) and a strong one (a decided state).
    chip: Tone
    chip_strong: Tone
    #: The button that approves (the one most pressed).
    approve: Tone
    #: Visible markers for hidden characters, and rows that contain them.
    marker: Tone
    hidden_row: str
    #: A unified diff's added and removed lines.
    added: Tone
    removed: Tone
    #: The span tree: the path to the selected span, the span that proposed the
    #: action, search matches and the current match.
    path_row: str
    proposer_row: str
    match_row: str
    current_match_row: str
    #: Span kinds (badges, waterfall bars) and the bar of a failed span.
    span_kinds: Mapping[SpanKind, str]
    span_error: str
    #: Text drawn on span-kind badges and filled bars.
    on_fill: str
    #: Waterfall grid lines (drawn translucent) and relevance score bars.
    grid: str
    score_bar: str
    #: Distinct series colours for charts, in order of use.
    series: tuple[str, ...]
    #: The Autonomy charts.
    chart: ChartColours


LIGHT = Palette(
    dark=False,
    muted="#6b7280",
    accent="#1f4e8c",
    accent_alt="#5a5aa8",
    error="#b91c1c",
    warning="#b35c00",
    ok="#1b5e20",
    selection=Tone("#dbeafe", "#1e3a8a", "#93c5fd"),
    info_banner=Tone("#e0f2fe", "#0c4a6e", "#7dd3fc"),
    warning_banner=Tone("#fef3c7", "#78350f", "#f59e0b"),
    error_banner=Tone("#fee2e2", "#7f1d1d", "#ef4444"),
    risk=MappingProxyType({
        Risk.LOW: Tone("#2e7d32", "#ffffff"),
        Risk.MEDIUM: Tone("#f9a825", "#1a1a1a"),
        Risk.HIGH: Tone("#c2410c", "#ffffff"),
        Risk.CRITICAL: Tone("#b71c1c", "#ffffff"),
    }),
    chip=Tone("#e8eaf0", "#2b3550"),
    chip_strong=Tone("#444444", "#ffffff"),
    approve=Tone("#2e7d32", "#ffffff"),
    marker=Tone("#ffb74d", "#000000"),
    hidden_row="#ffe0b2",
    added=Tone("#d7f5dd", "#0b4f1c"),
    removed=Tone("#fbdcdc", "#7a1010"),
    path_row="#e3edfb",
    proposer_row="#c5dbf8",
    match_row="#fff3bf",
    current_match_row="#ffc078",
    span_kinds=MappingProxyType({
        SpanKind.AGENT: "#7c3aed",
        SpanKind.LLM: "#2563eb",
        SpanKind.TOOL: "#d97706",
        SpanKind.RETRIEVER: "#059669",
        SpanKind.EMBEDDING: "#0891b2",
        SpanKind.CHAIN: "#64748b",
        SpanKind.GUARDRAIL: "#be185d",
        SpanKind.RERANKER: "#65a30d",
        SpanKind.EVALUATOR: "#9333ea",
        SpanKind.PROMPT: "#0d9488",
        SpanKind.UNKNOWN: "#9ca3af",
    }),
    span_error="#dc2626",
    on_fill="#ffffff",
    grid="#000000",
    score_bar="#34d399",
    series=("#2563eb", "#d97706", "#059669", "#9333ea", "#dc2626", "#0891b2", "#65a30d",
            "#be185d"),
    chart=ChartColours(
        background="#ffffff", foreground="#374151", accuracy="#2563eb",
        current_target="#6b7280", next_target="#059669", statistic="#2563eb",
        alarm="#dc2626", promote="#059669", level="#7c3aed",
        outcomes=("#16a34a", "#86c98f", "#f59e0b", "#ea580c", "#b91c1c"),
        demoted_row="#fde2c4"),
)

DARK = Palette(
    dark=True,
    muted="#9ca3af",
    accent="#93c5fd",
    accent_alt="#a5b4fc",
    error="#f87171",
    warning="#fbbf24",
    ok="#86efac",
    selection=Tone("#1e3a8a", "#dbeafe", "#3b82f6"),
    info_banner=Tone("#0c4a6e", "#e0f2fe", "#0284c7"),
    warning_banner=Tone("#78350f", "#fef3c7", "#d97706"),
    error_banner=Tone("#7f1d1d", "#fee2e2", "#dc2626"),
    risk=MappingProxyType({
        Risk.LOW: Tone("#2e7d32", "#ffffff"),
        Risk.MEDIUM: Tone("#f9a825", "#1a1a1a"),
        Risk.HIGH: Tone("#c2410c", "#ffffff"),
        Risk.CRITICAL: Tone("#c62828", "#ffffff"),
    }),
    chip=Tone("#374151", "#e5e7eb"),
    chip_strong=Tone("#d1d5db", "#111827"),
    approve=Tone("#2e7d32", "#ffffff"),
    marker=Tone("#ffb74d", "#000000"),
    hidden_row="#5c3b12",
    added=Tone("#14532d", "#bbf7d0"),
    removed=Tone("#7f1d1d", "#fecaca"),
    path_row="#1e3a5f",
    proposer_row="#27507f",
    match_row="#5c4a12",
    current_match_row="#9a5b13",
    span_kinds=MappingProxyType({
        SpanKind.AGENT: "#a78bfa",
        SpanKind.LLM: "#60a5fa",
        SpanKind.TOOL: "#fbbf24",
        SpanKind.RETRIEVER: "#34d399",
        SpanKind.EMBEDDING: "#22d3ee",
        SpanKind.CHAIN: "#94a3b8",
        SpanKind.GUARDRAIL: "#f472b6",
        SpanKind.RERANKER: "#a3e635",
        SpanKind.EVALUATOR: "#c084fc",
        SpanKind.PROMPT: "#2dd4bf",
        SpanKind.UNKNOWN: "#9ca3af",
    }),
    span_error="#f87171",
    on_fill="#111827",
    grid="#ffffff",
    score_bar="#059669",
    series=("#60a5fa", "#fbbf24", "#34d399", "#c084fc", "#f87171", "#22d3ee", "#a3e635",
            "#f472b6"),
    chart=ChartColours(
        background="#1f2329", foreground="#d1d5db", accuracy="#60a5fa",
        current_target="#9ca3af", next_target="#34d399", statistic="#60a5fa",
        alarm="#f87171", promote="#34d399", level="#a78bfa",
        outcomes=("#22c55e", "#3f7d4d", "#fbbf24", "#fb923c", "#ef4444"),
        demoted_row="#5c3310"),
)

_chosen: Palette | None = None


def colours() -> Palette:
    """The variant for the application's palette now (light without an application)."""
    global _chosen
    if _chosen is None:
        _chosen = palette_for(QGuiApplication.palette().window().color().lightness()
                              if QGuiApplication.instance() is not None else 255)
    return _chosen


def palette_for(lightness: int) -> Palette:
    """The variant for a window colour of this lightness (0-255)."""
    return DARK if lightness < DARK_BELOW else LIGHT


def forget_choice() -> None:
    """The application palette changed: choose again at the next `colours()`."""
    global _chosen
    _chosen = None


@lru_cache(maxsize=256)
def qcolor(hex_colour: str, alpha: int = 255) -> QColor:
    """A `QColor` for a palette colour (cached: item models ask on every paint).
    Callers must not modify it."""
    colour = QColor(hex_colour)
    colour.setAlpha(alpha)
    return colour


def tone_style(selector: str, tone: Tone, extra: str = "") -> str:
    """A style sheet rule filling ``selector`` with ``tone`` (``extra`` appended)."""
    border = f" border: 1px solid {tone.border};" if tone.border else ""
    return (f"{selector} {{ background: {tone.background}; color: {tone.text};{border}"
            f" {extra} }}")


def strip_style(selector: str, tone: Tone, padding: str = "4px 8px") -> str:
    """A message strip: ``tone``'s surface with its border as a bar on the left."""
    return (f"{selector} {{ background: {tone.background}; color: {tone.text};"
            f" border-left: 4px solid {tone.border}; padding: {padding}; }}")


def text_style(selector: str, colour: str, extra: str = "") -> str:
    """A style sheet rule setting ``selector``'s text colour (``extra`` appended)."""
    return f"{selector} {{ color: {colour}; {extra} }}"


class _PaletteHub(QObject):
    """Tells every hook that the application palette changed."""

    #: The application palette changed (the variant may have).
    changed = Signal()


_hub: _PaletteHub | None = None


def _the_hub() -> _PaletteHub:
    global _hub
    if _hub is None:
        _hub = _PaletteHub(QGuiApplication.instance())
    return _hub


def application_palette_changed() -> None:
    """Choose the variant again and restyle every hooked widget. The main window calls
    it on ``QEvent.ApplicationPaletteChange`` (which reaches top-level windows; a
    widget styled by a style sheet gets no palette event of its own)."""
    forget_choice()
    if _hub is not None:
        _hub.changed.emit()


class _PaletteHook(QObject):
    """Applies a widget's colours now and again when the application palette changes.

    Lives as the widget's child (so it dies with it, and its connection with it);
    the colours are applied again only when the chosen variant actually changed."""

    def __init__(self, owner: QObject, apply: Callable[[Palette], None]) -> None:
        super().__init__(owner)
        self.setObjectName("paletteHook")
        self.apply = apply
        self.applied: Palette | None = None
        _the_hub().changed.connect(self.run)

    def run(self, *, force: bool = False) -> None:
        chosen = colours()
        if force or chosen is not self.applied:
            self.applied = chosen
            self.apply(chosen)


def on_palette(owner: QObject, apply: Callable[[Palette], None]) -> None:
    """Call ``apply(colours())`` now and whenever the application palette changes, as
    long as ``owner`` (a widget, a highlighter…) lives. Calling it again for the same
    owner replaces the previous ``apply`` (so widgets whose colours depend on their
    content re-register as the content changes)."""
    hook = owner.findChild(_PaletteHook, "paletteHook",
                           Qt.FindChildOption.FindDirectChildrenOnly)
    if hook is None:
        hook = _PaletteHook(owner, apply)
    hook.apply = apply
    hook.run(force=True)


def restyle(widget: QWidget, style: Callable[[Palette], str]) -> None:
    """Give ``widget`` the style sheet ``style(colours())``, now and after every
    palette change (`on_palette`)."""
    on_palette(widget, lambda palette: widget.setStyleSheet(style(palette)))
