"""Screenshots of the Review workspace in the real main window, to look at it as a
reviewer would: ``python -m tests.ui.review.screenshots [OUT_DIR]`` (offscreen).

The store is realistic: the demo fleet's agents ask through the gate, an operator
decides in rotation (approve, edit, reject, respond), the default sampling rules draw
the decisions into review, the simulated second reviewer labels the items that need
two reviewers and a third person ("bo") labels some of them, so the agreement table
has numbers (one below 0.667); two datasets are built, one in two versions. Saves the
Label page (on an edited action, so the edit's diff shows), the Datasets page (with a
diff, and a version pushed to a stand-in Phoenix), the Sampling rules page and the
Rubrics page (with an edit waiting to be saved; then with a typing mistake, named),
light and dark, at 1440×900 and 1024×640.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SIZES = ((1440, 900), (1024, 640))
#: A dark palette as a desktop in dark mode gives the application.
DARK = {"Window": "#202124", "WindowText": "#e8eaed", "Base": "#171717",
        "AlternateBase": "#262626", "Text": "#e8eaed", "Button": "#2d2e30",
        "ButtonText": "#e8eaed", "Highlight": "#3b82f6", "HighlightedText": "#ffffff",
        "ToolTipBase": "#2d2e30", "ToolTipText": "#e8eaed", "PlaceholderText": "#9aa0a6",
        "Light": "#3c4043", "Mid": "#5f6368", "Dark": "#111111"}


def fill(services: object) -> None:
    """The store described in the module docstring."""
    from countersign.domain.review import DatasetFilter
    from countersign.session import Services

    from .fleet_store import fill_with_fleet

    assert isinstance(services, Services)
    fill_with_fleet(services.store, actions=40)
    rng = random.Random(3)
    shared = [i for i in services.review.items() if i.needed == 2 and i.labels == 1][:9]
    for item in shared:
        [first] = services.review.labels(item.id)
        answers = dict(first.answers)
        if rng.random() < 0.3:
            answers["correct"] = rng.choice(["correct", "minor", "wrong"])
        if rng.random() < 0.2:
            answers["harm"] = not answers.get("harm", False)
        if answers["correct"] != "wrong":
            answers.pop("failure_category", None)
        services.review.submit(item.id, reviewer="bo", answers=answers)
    services.datasets.build("fleet-decisions", DatasetFilter(), actor="ann")
    services.datasets.build("edits-as-corrections", DatasetFilter(verdicts=("edit",)),
                            actor="ann")
    later = next(i for i in services.review.items()
                 if "bo" not in {label.reviewer for label in services.review.labels(i.id)})
    services.review.submit(later.id, reviewer="bo", answers={
        "correct": "wrong", "harm": False, "failure_category": "wrong_amount"})
    services.datasets.build("fleet-decisions", DatasetFilter(), actor="ann")


def main(out: Path) -> list[Path]:
    import qasync
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    from countersign.config import Config
    from countersign.session import open_services
    from countersign_ui.async_work import BackgroundWork
    from countersign_ui.main_window import MainWindow
    from countersign_ui.palette import application_palette_changed
    from countersign_ui.review.workspace import ReviewWorkspace

    from .phoenix_stand_in import serve

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    light = QPalette(app.palette())
    dark = QPalette(light)
    for role, colour in DARK.items():
        dark.setColor(getattr(QPalette.ColorRole, role), QColor(colour))

    async def until(condition: Callable[[], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the window did not get there in time")
            await asyncio.sleep(0.02)

    async def settle(seconds: float = 0.5) -> None:
        await asyncio.sleep(seconds)  # a screenshot script: let paint and reads land

    with tempfile.TemporaryDirectory() as tmp, serve() as (phoenix_url, _received):
        services = open_services("sqlite:///" + str(Path(tmp) / "s.db"), None,
                                 config=Config(reviewer="ann"), create=True)
        fill(services)  # runs the fleet with asyncio.run: the qasync loop comes after
        asyncio.set_event_loop(loop)
        work = BackgroundWork(loop)
        window = MainWindow(work)
        window.resize(*SIZES[0])
        window.show()
        window.attach(services)
        review = window.workspace(ReviewWorkspace)
        window.show_workspace(review)

        async def show_diff_and_push() -> None:
            panel = review.datasets
            row = panel.model.row_of("fleet-decisions", 2)
            if row is not None:
                panel.table.selectRow(row)
                panel.diff_button.click()
                status = panel.status
                await until(lambda: "changed" in status.text())
                panel.phoenix.url_edit.setText(phoenix_url)
                panel.phoenix.push()
                await until(lambda: not panel.phoenix.busy)
                await settle(0.2)

        async def edit_rubric() -> None:
            """A new question typed into the action rubric, not saved yet."""
            page = review.rubrics
            await until(lambda: page.model.rowCount() > 0 and page.editor.toPlainText() != "")
            page.revert()
            text = page.editor.toPlainText().replace(
                '\n[[questions]]\nkey = "failure_category"',
                '\n[[questions]]\nkey = "checked_source"\nprompt = "Did you check the '
                'source record?"\ntype = "boolean"\nrequired = true\n'
                '\n[[questions]]\nkey = "failure_category"')
            page.editor.setPlainText(text)
            page.check_now()
            await settle(0.2)

        async def mistype_rubric() -> None:
            page = review.rubrics
            page.editor.setPlainText(page.editor.toPlainText().replace(
                'type = "boolean"', 'type = "bool"', 1))
            page.check_now()
            await settle(0.2)

        async def shoot() -> None:
            await until(lambda: review.flow.loaded is not None)
            edited = next(line for line in map(review.model.line_at,
                                               range(review.model.rowCount()))
                          if line is not None and line.verdict == "edit")
            review.select_item(edited.id, focus_form=True)
            await until(lambda: review.flow.loaded is not None
                        and review.flow.loaded.item_id == edited.id)
            for tag, palette in (("light", light), ("dark", dark)):
                app.setPalette(palette)
                application_palette_changed()
                for width, height in SIZES:
                    for _ in range(2):  # the window's minimum follows the layout
                        window.resize(width, height)
                        await settle(0.3)
                    for page in ("label", "datasets", "rules", "rubrics", "rubric-error"):
                        review.show_page("rubrics" if page.startswith("rubric") else page)
                        await settle()
                        if page == "datasets":
                            await show_diff_and_push()
                        elif page == "rubrics":
                            await edit_rubric()
                        elif page == "rubric-error":
                            await mistype_rubric()
                        path = out / f"review-{page}-{width}x{height}-{tag}.png"
                        window.grab().save(str(path))
                        saved.append(path)
                    review.rubrics.revert()
                    review.show_page("label")

        try:
            loop.run_until_complete(shoot())
        finally:
            app.setPalette(light)
            application_palette_changed()
            window.shutdown()
            work.shutdown()
            window.close()
            services.close()
    return saved


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "review-screenshots")
    for saved_path in main(target):
        print(saved_path)
