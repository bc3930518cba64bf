"""The Review workspace (issue 12): the reviewer labels sampled actions and runs with a
rubric, watches reviewer agreement, and turns labels and decisions into datasets."""
