"""Screenshots of the Queue workspace in the real main window with the demo fleet, to
look at it as an operator would: ``python -m tests.ui.queue_screenshots [OUT_DIR]``
(offscreen).

The window is the console's own, attached to a temporary store, with the simulated
demo fleet asking through the gate (undo held for 10 s). Saves light and dark at
1440×900 and 1024×640, then, at 1024×640 and from the keyboard alone: after J, a key
pressed too soon, a critical approval waiting for its second press, the undo
countdown, the History on an edited action, a tripped breaker, and the argument
viewer.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SIZES = ((1440, 900), (1024, 640))


def main(out: Path) -> list[Path]:
    import qasync
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from countersign.config import Config, ConsoleConfig
    from countersign.domain import Risk, Verdict
    from countersign.plugin_host.loading import load_source_class
    from countersign.services.actions import ActionRequest
    from countersign.session import open_services
    from countersign_ui.async_work import BackgroundWork
    from countersign_ui.main_window import MainWindow
    from countersign_ui.palette import application_palette_changed
    from countersign_ui.queue.workspace import QueueWorkspace

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    loop = qasync.QEventLoop(app, already_running=True)
    asyncio.set_event_loop(loop)
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    light = QPalette(app.palette())
    with tempfile.TemporaryDirectory() as tmp:
        services = open_services("sqlite:///" + str(Path(tmp) / "s.db"), None,
                                 config=Config(reviewer="ann",
                                               console=ConsoleConfig(undo_seconds=10)),
                                 create=True)
        work = BackgroundWork(loop)
        window = MainWindow(work)
        window.show()
        window.attach(services)
        demo = load_source_class("demo")(name="demo", config={
            "agents": 6, "seed": 11, "burst": 6, "rate_per_minute": 0.01,
            "deadline_s": 600})
        runtime = services.make_runtime([demo])
        started = loop.create_task(runtime.start())
        queue = window.workspace(QueueWorkspace)

        def settle(condition: object = None, rounds: int = 600) -> None:
            for _ in range(rounds):
                app.processEvents()
                time.sleep(0.005)
                if work.busy == 0 and (condition is None or condition()):  # type: ignore[operator]
                    break

        def until(condition: object, rounds: int = 2000) -> None:
            """Process events until ``condition`` holds (background work or not)."""
            for _ in range(rounds):
                app.processEvents()
                time.sleep(0.005)
                if condition():  # type: ignore[operator]
                    break

        def shoot(name: str, *, quick: bool = False) -> None:
            settle(rounds=40 if quick else 600)
            path = out / f"{name}.png"
            window.grab().save(str(path))
            saved.append(path)
            print(path, window.size().width(), window.size().height(), file=sys.stderr)

        settle(started.done)
        settle(lambda: queue.model.rowCount() >= 6, rounds=4000)
        settle(lambda: queue.loaded is not None)
        queue.focus_list()
        for theme in ("light", "dark"):
            if theme == "dark":
                app.setPalette(QPalette(QColor("#2b2b2b")))
                application_palette_changed()
            for width, height in SIZES:
                window.resize(width, height)
                settle()
                shoot(f"queue-{theme}-{width}x{height}")
        app.setPalette(light)
        application_palette_changed()
        window.resize(1024, 640)

        def key(k: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
                ) -> None:
            QTest.keyClick(app.focusWidget() or window, k, modifier)

        def looked_at() -> None:
            settle(lambda: queue.loaded is not None and queue.flow.guard.settled())

        key(Qt.Key.Key_J)
        settle(lambda: queue.loaded is not None)
        queue.flow.guard.shown(queue.current_id())  # as if it had just appeared
        key(Qt.Key.Key_A)  # at once: too soon
        shoot("queue-light-1024x640-too-soon", quick=True)
        critical = next(r.id for r in map(queue.model.row_at, range(queue.model.rowCount()))
                        if r is not None and r.risk is Risk.CRITICAL)
        queue.select_action(critical)
        looked_at()
        key(Qt.Key.Key_A)
        armed_at = queue.flow.guard.clock()
        shoot("queue-light-1024x640-critical-confirm", quick=True)
        until(lambda: queue.flow.guard.clock() - armed_at > 0.6)
        key(Qt.Key.Key_A)
        until(lambda: queue.flow.undo_offer is not None)
        shoot("queue-light-1024x640-undo-countdown", quick=True)
        key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        settle(lambda: queue.flow.undo_offer is None and queue.current_id() == critical)
        shoot("queue-light-1024x640-undone")
        # An edit, then the History on it.
        row = queue.model.row_at(0)
        assert row is not None
        detail = services.actions.get(row.id)
        import json
        arguments = json.loads(detail.arguments_json)
        first_key = next(k for k, v in arguments.items() if isinstance(v, str))
        arguments[first_key] = arguments[first_key] + " (checked)"
        try:
            services.decisions.decide(row.id, Verdict.EDIT, reviewer="ann", arguments=arguments,
                                      severity=__import__("countersign.domain").domain
                                      .EditSeverity.COSMETIC)
        except Exception as exc:  # a schema may refuse the change: show an approval
            print("edit refused:", exc, file=sys.stderr)
            services.decisions.decide(row.id, Verdict.APPROVE, reviewer="bob")
        settle(lambda: queue.model.get(row.id) is None)
        key(Qt.Key.Key_H)
        settle(lambda: queue.history.model.rowCount() > 0)
        queue.select_action(row.id)
        settle(lambda: queue.loaded is not None and queue.loaded.detail.id == row.id)
        shoot("queue-light-1024x640-history")
        window.resize(1440, 900)
        shoot("queue-light-1440x900-history")
        window.resize(1024, 640)
        key(Qt.Key.Key_H)
        # A runaway agent trips its budget breaker: shown above the list.
        services.autonomy.set_budget("loop-agent", {"actions_per_minute": 2}, actor="lee")
        for n in range(4):
            services.actions.request(ActionRequest(
                agent="loop-agent", agent_version="0.9", action_class="retry_charge",
                arguments={"charge": "ch_1", "attempt": n}, risk=Risk.HIGH,
                source_ref=f"loop-{n}", description="Retry the failed charge"))
        queue.breakers.refresh()
        settle(lambda: queue.breakers.isVisible())
        shoot("queue-light-1024x640-breaker")
        mail = next((r.id for r in map(queue.model.row_at, range(queue.model.rowCount()))
                     if r is not None and r.action_class == "send_email"), None)
        if mail is not None:
            queue.select_action(mail)
            looked_at()
            queue.focus_list()
            shoot("queue-light-1024x640-email")
            key(Qt.Key.Key_V)
            key(Qt.Key.Key_Return)
            settle()
            viewer = queue.pane.action.reader.viewer
            if viewer is not None:
                path = out / "queue-argument-viewer.png"
                viewer.grab().save(str(path))
                saved.append(path)
                viewer.close()
        stopped = loop.create_task(runtime.stop())
        settle(stopped.done)
        window.shutdown()
        window.close()
        work.shutdown()
        services.close()
    return saved


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    for path in main(target):
        print(path)
