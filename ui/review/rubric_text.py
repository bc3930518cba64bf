"""The Rubrics page's text helpers: the template a new rubric starts from, whether two
rubrics say the same (saving one over the other makes no version), and the name a
rubric text gives before it is valid (to file an imported text under its rubric)."""

from __future__ import annotations

import tomllib

from countersign.review.rubric import Rubric

#: A new rubric starts from this (valid) text.
TEMPLATE = '''name = "new-rubric"
target = "action"            # or "run"
description = "What this rubric judges, for the reviewers who answer it."

[[questions]]
key = "correct"              # what answers are keyed by
prompt = "Was the action correct?"
type = "categorical"         # boolean | categorical | ordinal | numeric | text
required = true
options = [                  # categorical and ordinal: in order; ordinal order is the scale
  { value = "yes", hotkey = "1", description = "Right action, right arguments." },
  { value = "no", hotkey = "2" },
]
# numeric: min = 0, max = 10
'''


def same_definition(a: Rubric, b: Rubric) -> bool:
    """Whether two rubrics say the same (the version aside): saving one over the other
    makes no version."""
    return a.model_dump(mode="json", exclude={"version"}) == b.model_dump(
        mode="json", exclude={"version"})


def named_in(text: str) -> str | None:
    """The ``name`` a rubric text gives, if it is readable TOML that gives one."""
    try:
        name = tomllib.loads(text).get("name")
    except tomllib.TOMLDecodeError:
        return None
    return name if isinstance(name, str) else None
