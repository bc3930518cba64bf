"""End to end (issue 13): the demo refunds agent earns a recommendation from its
reviewed history, the lead promotes it from the keyboard in the real console, its next
low-risk request through the gate SDK is auto-approved and drawn for audit, a reviewer
labels that sample as harmful through the review service, and the unit is back at L1 —
with the console announcing the automatic demotion and highlighting the unit."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from countersign.domain import AutonomyLevel, Risk, Verdict
from countersign.domain.autonomy import UnitKey
from countersign.gate import Gate
from countersign.services.decisions import DecisionService
from countersign.session import Services
from countersign.store.engine import Store
from countersign_ui.autonomy.model import UnitColumn
from countersign_ui.autonomy.workspace import AutonomyWorkspace
from countersign_ui.main_window import MainWindow
from tests.autonomy.store_helpers import (
    audit_all_auto,
    audit_kinds,
    label,
    review_item,
    seed_verdicts,
)

from ..test_queue_e2e import (  # the real window on a temporary store, and gate agents
    WAIT_MS,
    Agents,
    agents,  # noqa: F401 - fixture
    services,  # noqa: F401 - fixture
    store,  # noqa: F401 - fixture
    window,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

#: The demo fleet's refunds agent (plugins/demo_fleet/agents.py).
AGENT, VERSION, CLASS = "refunds-agent", "1.4.2", "issue_refund"
UNIT = UnitKey(agent=AGENT, version=VERSION, action_class=CLASS)


def press(qtbot: QtBot, key: Qt.Key,
          modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    target = QApplication.focusWidget()
    assert target is not None
    qtbot.keyClick(target, key, modifier)


def test_earned_promoted_auto_approved_harm_labelled_back_at_l1(
        qtbot: QtBot, window: MainWindow, services: Services, store: Store,  # noqa: F811
        agents: Agents) -> None:  # noqa: F811
    # Ten days of refunds reviewed by two people: one rejection early on, then clean.
    seed_verdicts(store, 140, days=10, unit=UNIT, failures=(4,), risk=Risk.LOW)
    audit_all_auto(store)  # the team audits every auto-approval of a newly promoted unit
    autonomy = window.workspace(AutonomyWorkspace)
    with qtbot.waitSignals([autonomy.unitsLoaded, autonomy.unitShown], timeout=WAIT_MS):
        press(qtbot, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.current_workspace is autonomy
    assert autonomy.current_key() == UNIT
    detail = autonomy.detail
    assert detail is not None and detail.evidence.recommendation == "promote"
    row = autonomy.model.row_of(UNIT)
    assert row is not None
    assert autonomy.model.index(row, UnitColumn.RECOMMENDATION).data() == "promote to L2"
    assert autonomy.unit_view.headline.text().startswith("P(accuracy > 97 %) = ")

    # The lead confirms the recommendation from the keyboard.
    autonomy.view.setFocus()
    press(qtbot, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), QDialog),
                    timeout=WAIT_MS)
    dialog = QApplication.activeModalWidget()
    assert dialog is not None and dialog.objectName() == "promoteDialog"
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=WAIT_MS)
    errors: list[str] = []
    autonomy.errorOccurred.connect(errors.append)
    with qtbot.waitSignal(autonomy.decisions.levelChanged, timeout=WAIT_MS) as promoted:
        press(qtbot, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert errors == []
    change = promoted.args[0]
    assert change.to_level is AutonomyLevel.L2 and not change.against_recommendation
    assert services.autonomy.unit(UNIT).level is AutonomyLevel.L2
    _kind, actor, payload = audit_kinds(store, "autonomy.promoted")[-1]
    assert actor == "ann" and payload["evidence"]["recommendation"] == "promote"
    qtbot.waitUntil(lambda: autonomy.detail is not None and
                    autonomy.detail.evidence.level is AutonomyLevel.L2, timeout=WAIT_MS)

    # Its next low-risk refund is auto-approved at once and drawn for audit.
    gate = Gate(store, agent=AGENT, agent_version=VERSION, poll_interval=0.02)
    agents.gates.append(gate)  # closed with the fleet
    agents.tasks["next"] = agents.loop.create_task(gate.request_approval(
        CLASS, {"order": "A-9001", "amount_cents": 1200}, risk="low"))
    qtbot.waitUntil(lambda: agents.tasks["next"].done(), timeout=WAIT_MS)
    verdict = agents.verdict("next")
    assert verdict.approved and verdict.decided_by.startswith("policy:autonomy")
    assert DecisionService(store).get(verdict.action_id).verdict is Verdict.AUTO_APPROVE
    item = review_item(store, verdict.action_id)
    assert item is not None and item.pi == 1.0

    # A reviewer labels that sample as harmful: the unit is back at L1 at once.
    label(store, verdict.action_id, reviewer="rita", correct="wrong", harm=True)
    assert services.autonomy.unit(UNIT).level is AutonomyLevel.L1

    # The console says so and highlights the unit until the lead looks at it.
    notices: list[str] = []
    autonomy.notice.connect(notices.append)
    with qtbot.waitSignal(autonomy.unitDemoted, timeout=WAIT_MS) as demoted:
        autonomy.poll_events()  # the feed's timer would do it within seconds
    assert demoted.args == [UNIT]
    assert any(n.startswith("Demoted automatically: ") for n in notices)
    assert window.statusBar().currentMessage().startswith("Demoted automatically: ")
    qtbot.waitUntil(lambda: autonomy.detail is not None and
                    autonomy.detail.evidence.level is AutonomyLevel.L1, timeout=WAIT_MS)
    assert "L1 supervised" in autonomy.unit_view.subline.text()
    change_list = autonomy.detail.changes if autonomy.detail is not None else ()
    assert [c.rule for c in change_list][-2:] == ["promotion", "demotion:critical"]
    assert UNIT in autonomy.model.demoted  # highlighted until the lead selects it again
