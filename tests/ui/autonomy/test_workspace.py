"""The Autonomy workspace driven from the keyboard, over the engine's own numbers
(`EngineBackend`): promote confirming the recommendation, promote against it only with
a written reason (and marked so), demote with a reason, what-if replay, a tripped
breaker shown and reset, an automatic demotion announced and highlighted, filtering and
J / K through the units."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from countersign.domain import AutonomyLevel
from countersign.domain.autonomy import UnitKey
from countersign_ui.async_work import BackgroundWork
from countersign_ui.autonomy.model import UnitColumn
from countersign_ui.autonomy.workspace import AutonomyWorkspace
from countersign_ui.shortcuts import CommandTable

from .engine_backend import EngineBackend, trip
from .units import new_unit

WAIT_MS = 10_000
READY = UnitKey(agent="billing-bot", version="2.1", action_class="issue_refund")
GATHERING = UnitKey(agent="crm-sync", version="0.9", action_class="update_record")
REGRESSED = UnitKey(agent="support-triage", version="1.4", action_class="send_email")


@pytest.fixture
def host(qtbot: QtBot) -> QWidget:
    """A window holding the commands' actions, as the main window does."""
    window = QWidget()
    qtbot.addWidget(window)
    window.resize(1440, 900)
    return window


@pytest.fixture
def workspace(qtbot: QtBot, host: QWidget, work: BackgroundWork,
              fleet: EngineBackend) -> Iterator[AutonomyWorkspace]:
    table = CommandTable(host, AutonomyWorkspace.commands)
    host.addActions([action for _command, action in table])
    widget = AutonomyWorkspace(table, work, host)
    QVBoxLayout(host).addWidget(widget)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    widget.attach_backend(fleet, identity="lee")
    with qtbot.waitSignals([widget.unitsLoaded, widget.unitShown], timeout=WAIT_MS):
        widget.set_active(True)
    yield widget
    widget.shutdown()


def press(qtbot: QtBot, key: Qt.Key,
          modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    target = QApplication.focusWidget()
    assert target is not None
    qtbot.keyClick(target, key, modifier)


def dialog_named(qtbot: QtBot, workspace: AutonomyWorkspace, name: str) -> QDialog:
    found: list[QDialog] = []

    def opened() -> bool:
        dialog = workspace.findChild(QDialog, name)
        if dialog is not None and dialog.isVisible():
            found.append(dialog)
            return True
        return False

    qtbot.waitUntil(opened, timeout=WAIT_MS)
    dialog = found[0]
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=WAIT_MS)
    return dialog


def show(qtbot: QtBot, workspace: AutonomyWorkspace, key: UnitKey) -> None:
    if workspace.detail is not None and workspace.detail.key == key:
        return
    with qtbot.waitSignal(workspace.unitShown, timeout=WAIT_MS,
                          check_params_cb=lambda shown: shown == key):
        assert workspace.select_unit(key)
    workspace.view.setFocus()


def test_units_load_and_the_recommended_unit_is_shown_first(
        workspace: AutonomyWorkspace) -> None:
    assert workspace.model.rowCount() == 4
    assert workspace.current_key() == READY  # promote sorts before hold
    detail = workspace.detail
    assert detail is not None
    assert workspace.unit_view.headline.text() == \
        f"P(accuracy > 97 %) = {detail.evidence.p_above_target:.2f}"
    assert "recommendation: promote to L2" in workspace.unit_view.subline.text()
    assert "Rules for L2: 9 of 9 met" in workspace.unit_view.panel.shown_text()
    assert workspace.summary == "1 to promote"
    assert workspace.action("autonomy.promote").isEnabled()


def test_promote_confirming_the_recommendation_from_the_keyboard(
        qtbot: QtBot, workspace: AutonomyWorkspace, fleet: EngineBackend) -> None:
    workspace.view.setFocus()
    press(qtbot, Qt.Key.Key_P)
    dialog = dialog_named(qtbot, workspace, "promoteDialog")
    assert dialog.ok_button.isEnabled()  # type: ignore[attr-defined]
    assert not dialog.warning.isVisible()  # type: ignore[attr-defined]
    notices: list[str] = []
    workspace.notice.connect(notices.append)
    with qtbot.waitSignals([workspace.notice, workspace.unitsLoaded], timeout=WAIT_MS):
        press(qtbot, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert fleet.calls == ["promote billing-bot L2 None"]
    assert notices == ["Promoted: billing-bot 2.1 · issue_refund L1 → L2"]
    qtbot.waitUntil(lambda: workspace.detail is not None and
                    workspace.detail.evidence.level is AutonomyLevel.L2, timeout=WAIT_MS)
    row = workspace.model.row_of(READY)
    assert row is not None
    assert workspace.model.index(row, UnitColumn.LEVEL).data() == "L2 conditional"


def test_promote_against_the_recommendation_needs_a_reason_and_is_marked(
        qtbot: QtBot, workspace: AutonomyWorkspace, fleet: EngineBackend) -> None:
    show(qtbot, workspace, GATHERING)
    press(qtbot, Qt.Key.Key_P)
    dialog = dialog_named(qtbot, workspace, "promoteDialog")
    warning = dialog.warning.text()  # type: ignore[attr-defined]
    assert warning.startswith("Against the recommendation (hold).")
    assert "12 reviewed actions (at least 60)." in warning
    assert not dialog.ok_button.isEnabled()  # type: ignore[attr-defined]
    assert dialog.why_disabled.text() == "Write a reason to continue."  # type: ignore[attr-defined]
    press(qtbot, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.isVisible() and fleet.calls == []  # refused without a reason
    qtbot.keyClicks(dialog.editor, "Pilot for the CRM migration; Ann samples "  # type: ignore[attr-defined]
                    "every action this week.")
    assert dialog.ok_button.isEnabled()  # type: ignore[attr-defined]
    with qtbot.waitSignal(workspace.decisions.levelChanged, timeout=WAIT_MS) as changed:
        press(qtbot, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert changed.args[0].against_recommendation is True
    assert fleet.calls == ["promote crm-sync L2 'Pilot for the CRM migration; Ann samples "
                           "every action this week.'"]
    qtbot.waitUntil(lambda: workspace.detail is not None and
                    workspace.detail.evidence.level is AutonomyLevel.L2, timeout=WAIT_MS)
    assert "against the recommendation" in workspace.unit_view.panel.shown_text()


def test_demote_needs_a_reason(qtbot: QtBot, workspace: AutonomyWorkspace,
                               fleet: EngineBackend) -> None:
    workspace.view.setFocus()
    press(qtbot, Qt.Key.Key_D)
    dialog = dialog_named(qtbot, workspace, "demoteDialog")
    assert not dialog.ok_button.isEnabled()  # type: ignore[attr-defined]
    assert dialog.level_box.currentText() == "L0 shadow"  # type: ignore[attr-defined]
    qtbot.keyClicks(dialog.editor, "Refund policy changed; shadow until retrained.")  # type: ignore[attr-defined]
    with qtbot.waitSignal(workspace.decisions.levelChanged, timeout=WAIT_MS):
        press(qtbot, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert fleet.calls == ["demote billing-bot L0 'Refund policy changed; shadow until "
                           "retrained.'"]


def test_what_if_replay(qtbot: QtBot, workspace: AutonomyWorkspace) -> None:
    show(qtbot, workspace, REGRESSED)
    press(qtbot, Qt.Key.Key_W)
    dialog = dialog_named(qtbot, workspace, "replayDialog")
    assert dialog.level_box.currentText() == "L2 conditional"  # type: ignore[attr-defined]
    assert dialog.h_box.value() == 3.5  # type: ignore[attr-defined]
    press(qtbot, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    view = dialog.result_view  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: "would have been auto-approved" in view.shown_text(),
                    timeout=WAIT_MS)
    text = view.shown_text()
    assert "At L2 conditional, of 800 past actions:" in text
    assert "The rules would have demoted it:" in text and "L2 → L1 (window)" in text
    # Nonsense thresholds are refused with the setting named, before anything runs.
    dialog.window_last.setValue(2)  # type: ignore[attr-defined]
    dialog.run()  # type: ignore[attr-defined]
    assert view.shown_text().startswith("Not replayed: autonomy.window:")
    assert "failures (3) cannot exceed last (2)" in view.shown_text()


def test_a_tripped_breaker_is_shown_and_reset(qtbot: QtBot, workspace: AutonomyWorkspace,
                                              fleet: EngineBackend) -> None:
    fleet.trips.append(trip("billing-bot"))
    with qtbot.waitSignal(workspace.unitsLoaded, timeout=WAIT_MS):
        workspace.refresh()
    assert workspace.banner.isVisible()
    assert "billing-bot: actions per minute 412 over its limit of 60 at " in \
        workspace.banner.findChild(QWidget, "tripText").text()
    assert workspace.summary == "1 to promote · 1 breaker open"
    workspace.view.setFocus()
    press(qtbot, Qt.Key.Key_B)
    dialog = dialog_named(qtbot, workspace, "resetBreakerDialog")
    assert "actions per minute" in dialog.warning.text()  # type: ignore[attr-defined]
    with qtbot.waitSignal(workspace.decisions.breakerReset, timeout=WAIT_MS):
        press(qtbot, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not workspace.banner.isVisible(), timeout=WAIT_MS)
    assert fleet.trips[0].reset_by == "lee"


def test_an_automatic_demotion_is_announced_and_highlighted(
        qtbot: QtBot, workspace: AutonomyWorkspace, fleet: EngineBackend) -> None:
    qtbot.waitUntil(lambda: workspace._last_event_id is not None, timeout=WAIT_MS)
    fleet.demote_automatically(GATHERING, "critical")
    notices: list[str] = []
    workspace.notice.connect(notices.append)
    with qtbot.waitSignal(workspace.unitDemoted, timeout=WAIT_MS) as demoted:
        workspace.poll_events()
    assert demoted.args == [GATHERING]
    assert len(notices) == 1 and notices[0].startswith("Demoted automatically: crm-sync")
    assert GATHERING in workspace.model.demoted
    row = workspace.model.row_of(GATHERING)
    assert row is not None
    assert workspace.model.index(row, 0).data(Qt.ItemDataRole.BackgroundRole) is not None
    show(qtbot, workspace, GATHERING)  # the lead looks at it: no longer highlighted
    assert GATHERING not in workspace.model.demoted


def test_filter_and_j_k(qtbot: QtBot, workspace: AutonomyWorkspace) -> None:
    workspace.view.setFocus()
    press(qtbot, Qt.Key.Key_J)
    qtbot.waitUntil(lambda: workspace.current_key() != READY, timeout=WAIT_MS)
    press(qtbot, Qt.Key.Key_K)
    qtbot.waitUntil(lambda: workspace.current_key() == READY, timeout=WAIT_MS)
    press(qtbot, Qt.Key.Key_Slash)
    assert QApplication.focusWidget() is workspace.filter_edit
    qtbot.keyClicks(workspace.filter_edit, "send_email")
    assert workspace.proxy.rowCount() == 1
    assert workspace.count_label.text() == "1 of 4 units"
    press(qtbot, Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is workspace.view


def test_sparklines_are_read_for_the_rows_on_screen_only(
        qtbot: QtBot, host: QWidget, work: BackgroundWork) -> None:
    """Each sparkline is a unit's whole series: a fleet of many units is not read at
    once, only what the lead can see, and more as they scroll."""
    units = []
    for n in range(40):
        unit = new_unit()
        unit.key = UnitKey(agent=f"agent-{n:02d}", version="1.0", action_class="act")
        units.append(unit)
    fleet = EngineBackend(units)
    table = CommandTable(host, AutonomyWorkspace.commands)
    widget = AutonomyWorkspace(table, work, host)
    QVBoxLayout(host).addWidget(widget)
    host.show()
    widget.attach_backend(fleet, identity="lee")
    with qtbot.waitSignal(widget.unitsLoaded, timeout=WAIT_MS):
        widget.set_active(True)
    visible = widget.visible_rows()
    assert 0 < len(visible) < 40

    def loaded() -> set[int]:
        return {r for r in range(40) if not widget.model.missing_sparklines([r])}

    qtbot.waitUntil(lambda: len(loaded()) >= len(visible), timeout=WAIT_MS)
    assert len(loaded()) < 40  # the rows below the fold were not read
    widget.view.scrollToBottom()
    qtbot.waitUntil(lambda: 39 in loaded(), timeout=WAIT_MS)
    widget.shutdown()


def test_the_console_starts_without_the_charts() -> None:
    """pyqtgraph and the charts load when the Autonomy workspace is first shown, not
    when the console opens its window (about 250 ms of start-up otherwise)."""
    import subprocess
    import sys

    code = (
        "import sys, asyncio\n"
        "from countersign_ui.qt.widgets import QApplication\n"
        "app = QApplication([])\n"
        "from countersign_ui.async_work import BackgroundWork\n"
        "from countersign_ui.main_window import MainWindow\n"
        "from countersign_ui.autonomy.workspace import AutonomyWorkspace\n"
        "window = MainWindow(BackgroundWork(asyncio.new_event_loop()))\n"
        "window.show()\n"
        "app.processEvents()\n"
        "assert 'pyqtgraph' not in sys.modules, 'pyqtgraph loaded at start-up'\n"
        "autonomy = window.workspace(AutonomyWorkspace)\n"
        "window.show_workspace(autonomy)\n"
        "assert 'pyqtgraph' in sys.modules and autonomy.unit_view is not None\n"
        "window.shutdown()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**__import__("os").environ,
                                            "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
