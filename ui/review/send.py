""""Send to review" from the other workspaces: an action from the Queue, a run from
Traces, added to the review queue by hand (ad hoc: no ``pi``, never counted toward
estimates) through the review service, off the GUI thread. The outcome is one line
in the status bar: the item's number, or the service's reason for refusing (an
action still pending, a rubric for the other kind of subject…).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from countersign.text import one_line

if TYPE_CHECKING:
    from countersign.session import Services

    from ..workspace import Workspace

#: The key of "Send to review" in the Queue and in Traces.
SEND_KEY = "Ctrl+Shift+R"


def send_to_review(workspace: Workspace, services: Services | None, *,
                   action_id: int | None = None, trace_id: str | None = None) -> bool:
    """Add the action or the run to review; False (and a message) when there is none
    selected or no store yet."""
    what = (f"action #{action_id}" if action_id is not None
            else f"run {one_line(trace_id or '', 16)}")
    if services is None or (action_id is None and trace_id is None):
        workspace.errorOccurred.emit("Send to review: select an action or a run first")
        return False

    def added(result: tuple[int, bool]) -> None:
        item_id, created = result
        workspace.notice.emit(f"Sent {what} to review: item #{item_id}" if created
                              else f"{what.capitalize()} is already in review: item #{item_id}")

    def refused(exc: BaseException) -> None:
        workspace.errorOccurred.emit(f"Send to review: {exc}")

    workspace.work.submit(services.review.add, actor=services.identity, action_id=action_id,
                          trace_id=trace_id, on_done=added, on_error=refused)
    return True
