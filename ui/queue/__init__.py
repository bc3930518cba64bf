"""The Queue workspace: pending actions, the action under review, verdicts."""
