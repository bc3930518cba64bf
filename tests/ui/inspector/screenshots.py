"""Screenshots of the Traces workspace in the real main window, to look at it as an
operator would: ``python -m tests.ui.inspector.screenshots [OUT_DIR]`` (offscreen).

The window is the console's own on a temporary store holding `fleet_traces`' runs:
agent loops, an imported run without prices, a running run, a run whose action waits
for a verdict (selected, its tool span on show with the LLM call that asked for it),
and a model call recorded by two instrumentations. Light and dark at 1440×900 and
1024×640, plus the About box and the Connections dialog after a failed test.
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
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    from countersign.config import Config
    from countersign.session import open_services
    from countersign_ui.async_work import BackgroundWork
    from countersign_ui.connections import open_connections_dialog
    from countersign_ui.main_window import MainWindow
    from countersign_ui.palette import application_palette_changed
    from countersign_ui.traces.workspace import TracesWorkspace

    from .fleet_traces import fill

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
        fleet = fill(services.traces, services.actions)
        work = BackgroundWork(loop)
        window = MainWindow(work)
        window.show()
        window.attach(services)
        traces = window.workspace(TracesWorkspace)
        window.show_workspace(traces)

        def settle(condition: object = None) -> None:
            for _ in range(600):
                app.processEvents()
                time.sleep(0.005)
                if work.busy == 0 and (condition is None or condition()):  # type: ignore[operator]
                    break

        def shoot(name: str, widget: object = None) -> None:
            settle()
            path = out / f"{name}.png"
            (widget or window).grab().save(str(path))  # type: ignore[attr-defined]
            saved.append(path)

        settle(lambda: traces.model.rowCount() > 30)
        traces.filter_bar.duplicates.setChecked(True)
        settle(lambda: traces.model.row_of(fleet.duplicate) is not None)
        row = traces.model.row_of(fleet.pending)
        assert row is not None
        traces.table.setCurrentIndex(traces.model.index(row, 0))
        settle(lambda: traces.inspector.selected_span_id() == fleet.proposer)
        traces.inspector.tree.setFocus()
        for theme in ("light", "dark"):
            if theme == "dark":
                app.setPalette(QPalette(QColor("#2b2b2b")))
                application_palette_changed()
            for width, height in SIZES:
                window.resize(width, height)
                shoot(f"traces-{theme}-{width}x{height}")
        app.setPalette(light)
        application_palette_changed()
        window.resize(1440, 900)
        row = traces.model.row_of(fleet.duplicate)
        assert row is not None
        traces.table.setCurrentIndex(traces.model.index(row, 0))
        settle(lambda: not traces.run_note.isHidden())
        shoot("traces-light-1440x900-duplicate")
        row = traces.model.row_of(fleet.unpriced)
        assert row is not None
        traces.table.setCurrentIndex(traces.model.index(row, 0))
        settle(lambda: traces.inspector.run.nodes and traces.inspector.run.nodes[0].span
               and traces.inspector.run.nodes[0].span.trace_id == fleet.unpriced)
        shoot("traces-light-1440x900-unpriced")
        window.show_error("demo: Cannot connect to http://127.0.0.1:9: nothing is listening "
                          "there (the connection was refused). Is the server running, and "
                          "is the port right? This sentence goes on to be long enough to be "
                          "cut in the status bar.")
        window.resize(1024, 640)
        shoot("traces-light-1024x640-status-error")
        window.show_about()
        settle(lambda: window.about_box is not None and "…" not in window.about_box.head.text())
        if window.about_box is not None:
            shoot("about", window.about_box)
            window.about_box.close()
        config = Path(tmp) / "config.toml"
        config.write_text('[[sources]]\nname = "prod"\nplugin = "langgraph"\n'
                          'url = "http://127.0.0.1:9"\n')
        dialog = open_connections_dialog(window, config)
        dialog.table.selectRow(0)
        tested: list[object] = []
        dialog.tested.connect(lambda *args: tested.append(args))
        dialog.test_selected()
        settle(lambda: bool(tested))
        dialog.message.toggle.click()
        shoot("connections-failed-test", dialog)
        dialog.close()
        window.shutdown()
        window.close()
        work.shutdown()
        services.close()
    return saved


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    for path in main(target):
        print(path)
