"""Sampling rules in the store: read on every offer (cheaply), replaced from the config
file or the console's editor, every change an audit event.

The store holds the rules in order (migration 0004 seeds AUTONOMY.md's risk-tier
rates). A config file with ``[[review.rules]]`` is the team's source of truth: on open,
rules that differ from the stored ones replace them. Without it, the rules edited in
the console stay. An empty list is allowed and means "draw nothing".
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..jsonio import canonical, loads
from ..review.sampling import SamplingRule, rules_from_toml_table, rules_to_dicts
from ..store.review_models import SamplingRuleRow
from . import audit

#: Parsed rules by their stored JSON: offering an action reads a few short rows and
#: re-uses the models while the rules are unchanged (pydantic parsing is the cost).
_parsed: dict[tuple[str, ...], tuple[SamplingRule, ...]] = {}
_PARSED_LIMIT = 64


def load_rules(session: Session) -> tuple[SamplingRule, ...]:
    """The stored rules in order (disabled ones included: `choose` skips them)."""
    texts = tuple(session.execute(
        select(SamplingRuleRow.definition_json).order_by(SamplingRuleRow.position)
    ).scalars())
    rules = _parsed.get(texts)
    if rules is None:
        rules = tuple(rules_from_toml_table([loads(text) for text in texts],
                                            where="stored review rules"))
        if len(_parsed) >= _PARSED_LIMIT:
            _parsed.clear()
        _parsed[texts] = rules
    return rules


def replace_rules(session: Session, rules: Sequence[SamplingRule], *, actor: str,
                  reason: str) -> bool:
    """Make ``rules`` the stored rules, in this order; False (and nothing written) when
    they already are. Names must be unique. Audited as ``review.rules.replaced`` with
    the rules before and after."""
    tables = rules_to_dicts(rules)
    checked = rules_from_toml_table(tables)  # unique names, as the config requires
    before = load_rules(session)
    if tuple(checked) == before:
        return False
    now = time.time()
    session.execute(delete(SamplingRuleRow))
    session.flush()
    session.add_all(
        SamplingRuleRow(position=position, name=table["name"], enabled=rule.enabled,
                        definition_json=canonical(table), updated_at=now)
        for position, (rule, table) in enumerate(zip(checked, tables, strict=True)))
    session.flush()
    audit.append(session, kind="review.rules.replaced", actor=actor, subject_type="review",
                 subject_id="rules",
                 payload={"reason": reason, "before": rules_to_dicts(before),
                          "after": tables})
    return True


def sync_config_rules(session: Session, rules: Sequence[SamplingRule] | None, *,
                      actor: str, config_path: str | None) -> bool:
    """On open: the config file's rules replace differing stored ones (None: the file
    has none, nothing happens). True when the store changed."""
    if rules is None:
        return False
    return replace_rules(session, rules, actor=actor,
                         reason=f"configuration file {config_path or '(default)'}")
