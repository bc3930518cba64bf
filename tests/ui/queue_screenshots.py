"""Screenshots of the Queue workspace in the real main window with the demo fleet, to
look at it as an operator would: ``python -m tests.ui.queue_screenshots [OUT_DIR]``
(offscreen).

The window is the console's own, attached to a temporary store, with the simulated
demo fleet asking through the gate. Saves light and dark at 1440×900 and 1024×640,
the History view, and the argument viewer opened from the keyboard.
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

    from countersign.config import Config
    from countersign.plugin_host.loading import load_source_class
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
                                 config=Config(reviewer="ann"), create=True)
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

        def shoot(name: str) -> None:
            settle()
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
        QTest.keyClick(queue.view, Qt.Key.Key_J)
        settle(lambda: queue.loaded is not None)
        shoot("queue-light-1024x640-after-J")
        extra = getattr(queue, "screenshot_extras", None)
        if callable(extra):
            for name in extra(settle):
                shoot(name)
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
