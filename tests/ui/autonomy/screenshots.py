"""Screenshots of the Autonomy workspace in the real main window, to look at it as a lead
would: ``python -m tests.ui.autonomy.screenshots [OUT_DIR]`` (offscreen).

The window is the console's own, attached to a temporary store; the Autonomy workspace
shows a fleet whose every number the engine computed from realistic histories (a year
of 100,000 outcomes with a promotion and a regression, a unit ready for L2, one
demoted, one gathering evidence, one without any outcome, an L2 and an L3 unit) and a
tripped budget breaker. Saves light and dark at 1440×900 and 1024×640, plus the
no-evidence view and the promote-against-the-recommendation dialog.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from countersign.domain.autonomy import UnitKey

STORE_UNIT = UnitKey(agent="refunds-agent", version="1.4.2", action_class="issue_refund")

SIZES = ((1440, 900), (1024, 640))


def real_story(services: Any) -> None:
    """Through the real services: three units with ten days of reviewed history; the
    refunds agent promoted by a lead, its next low-risk action auto-approved, audited
    and labelled harmful (the rules put it back at L1)."""
    from countersign.domain import AutonomyLevel, Risk
    from countersign.domain.autonomy import UnitKey
    from tests.autonomy.store_helpers import ask, audit_all_auto, label, seed_verdicts

    store = services.store
    seed_verdicts(store, 140, days=10, unit=STORE_UNIT, failures=(4,), risk=Risk.LOW)
    seed_verdicts(store, 90, days=6, failures=(10, 31, 70), risk=Risk.MEDIUM,
                  unit=UnitKey(agent="deploy-agent", version="2.0.1",
                               action_class="deploy_service"))
    seed_verdicts(store, 25, days=2, failures=(3,), risk=Risk.HIGH,
                  unit=UnitKey(agent="payments-agent", version="0.9.7",
                               action_class="pay_invoice"))
    audit_all_auto(store)
    services.autonomy.promote(STORE_UNIT, AutonomyLevel.L2, lead="lee")
    for n in range(12):
        action_id, _ = ask(store, risk=Risk.LOW, agent=STORE_UNIT.agent,
                           version=STORE_UNIT.version, action_class=STORE_UNIT.action_class)
        label(store, action_id, reviewer="rita", correct="wrong" if n == 11 else "correct",
              harm=n == 11)


def main(out: Path) -> list[Path]:
    import qasync
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    from countersign.config import Config
    from countersign.session import open_services
    from countersign_ui.async_work import BackgroundWork
    from countersign_ui.autonomy.workspace import AutonomyWorkspace
    from countersign_ui.main_window import MainWindow
    from countersign_ui.palette import application_palette_changed

    from .engine_backend import EngineBackend, trip
    from .units import (
        big_unit,
        empty_unit,
        healthy_l2_unit,
        l3_unit,
        new_unit,
        ready_unit,
        regressed_unit,
    )

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    loop = qasync.QEventLoop(app, already_running=True)
    asyncio.set_event_loop(loop)
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    light = QPalette(app.palette())
    with tempfile.TemporaryDirectory() as tmp:
        services = open_services("sqlite:///" + str(Path(tmp) / "s.db"), None,
                                 config=Config(reviewer="lee"), create=True)
        work = BackgroundWork(loop)
        window = MainWindow(work)
        window.show()
        window.attach(services)
        big = big_unit()
        fleet = EngineBackend([ready_unit(), regressed_unit(), new_unit(), empty_unit(), big,
                               healthy_l2_unit(), l3_unit()])
        fleet.trips.append(trip("payments-agent"))
        autonomy = window.workspace(AutonomyWorkspace)
        autonomy.attach_backend(fleet, identity="lee")
        window.show_workspace(autonomy)

        def settle(condition: object = None) -> None:
            for step in range(400):
                app.processEvents()
                time.sleep(0.005)
                # At least 0.2 s: the sparklines are read after a short pause.
                if step > 40 and work.busy == 0 and (
                        condition is None or condition()):  # type: ignore[operator]
                    break

        def shoot(name: str) -> None:
            settle()
            path = out / f"{name}.png"
            window.grab().save(str(path))
            saved.append(path)

        def select(key: object) -> None:
            autonomy.select_unit(key)  # type: ignore[arg-type]
            settle(lambda: autonomy.detail is not None and autonomy.detail.key == key)
            autonomy.view.setFocus()

        settle(lambda: autonomy.model.rowCount() == 7)
        for theme in ("light", "dark"):
            if theme == "dark":
                app.setPalette(QPalette(QColor("#2b2b2b")))
                application_palette_changed()
            for width, height in SIZES:
                window.resize(width, height)
                select(big.key)
                shoot(f"autonomy-{theme}-{width}x{height}")
        app.setPalette(light)
        application_palette_changed()
        window.resize(1440, 900)
        select(regressed_unit().key)
        shoot("autonomy-light-1440x900-demoted")
        select(empty_unit().key)
        shoot("autonomy-light-1440x900-no-evidence")
        select(new_unit().key)
        autonomy.decisions.promote()
        settle()
        dialog = QApplication.activeModalWidget()
        if dialog is not None:
            dialog.grab().save(str(out / "autonomy-promote-against.png"))
            saved.append(out / "autonomy-promote-against.png")
            dialog.close()
        # The same window on the real autonomy service: the end-to-end test's story
        # (earned, promoted, auto-approved, labelled harmful, back at L1) in the store.
        real_story(services)
        autonomy.attach_backend(services.autonomy, identity="lee")
        autonomy.refresh()
        settle(lambda: autonomy.model.rowCount() == 3)
        select(STORE_UNIT)
        shoot("autonomy-light-1440x900-store")
        window.shutdown()
        window.close()
        work.shutdown()
        services.close()
    return saved


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    for path in main(target):
        print(path)
