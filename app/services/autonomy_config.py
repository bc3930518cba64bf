"""The autonomy thresholds in force, versioned in the store (``autonomy_config``).

Every process that enforces levels (consoles, workers) must apply the same thresholds,
so the store holds them; the config file's ``[autonomy]`` table, when present, replaces
them on open if it differs (like ``[[review.rules]]``). Each change is a new version,
audited with every setting that changed; an auto-approval names the version it was
decided under (``policy:autonomy@<version>``). Bad settings are refused with a message
naming the setting (`AutonomyConfigError`), and nothing is written then.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..jsonio import canonical
from ..store.autonomy_models import AutonomyConfigRow
from . import audit

if TYPE_CHECKING:  # the engine (numpy) loads when thresholds are first needed
    from ..autonomy import AutonomyConfig

#: Parsed settings by version: the policy reads the version on every request, and a
#: version's settings never change.
_PARSED: dict[tuple[int, str], AutonomyConfig] = {}


class ConfigConflict(ValueError):
    """Someone else changed the thresholds at the same moment."""


@dataclass(frozen=True, slots=True)
class ConfigVersion:
    version: int
    config: AutonomyConfig
    created_at: float
    actor: str
    reason: str


def _parse(version: int, text: str) -> AutonomyConfig:
    key = (version, text)
    found = _PARSED.get(key)
    if found is None:
        from ..autonomy import AutonomyConfig

        found = AutonomyConfig.from_table(json.loads(text))
        if len(_PARSED) > 64:
            _PARSED.clear()
        _PARSED[key] = found
    return found


def current_config(session: Session) -> tuple[int, AutonomyConfig]:
    """(version, thresholds) in force; version 0 and the defaults on a store that has
    none (the migration writes version 1)."""
    row = session.execute(
        select(AutonomyConfigRow.version, AutonomyConfigRow.settings_json)
        .order_by(AutonomyConfigRow.version.desc()).limit(1)).first()
    if row is None:
        from ..autonomy import AutonomyConfig

        return 0, AutonomyConfig()
    return int(row[0]), _parse(int(row[0]), row[1])


def config_history(session: Session) -> list[ConfigVersion]:
    rows = session.execute(select(AutonomyConfigRow).order_by(AutonomyConfigRow.version))
    return [ConfigVersion(version=r.version, config=_parse(r.version, r.settings_json),
                          created_at=r.created_at, actor=r.actor, reason=r.reason)
            for r in rows.scalars()]


def _flat(table: dict[str, Any], prefix: str = "autonomy") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict):
            out.update(_flat(value, name))
        else:
            out[name] = value
    return out


def set_config(session: Session, settings: AutonomyConfig | dict[str, Any] | None, *,
               actor: str, reason: str, now: float | None = None) -> int | None:
    """Make ``settings`` (a config, or an ``[autonomy]`` table; None for the defaults)
    the thresholds in force, in ``session``'s transaction: a new version and an
    ``autonomy.config_changed`` audit event listing each changed setting. Returns the
    new version, or None when nothing changed. Raises `AutonomyConfigError` naming the
    setting, or `ConfigConflict` when another change took the version first."""
    from ..autonomy import AutonomyConfig, AutonomyConfigError

    if not reason.strip():
        raise AutonomyConfigError("a change of the autonomy thresholds needs a reason")
    config = (settings if isinstance(settings, AutonomyConfig)
              else AutonomyConfig.from_table(settings))
    version, current = current_config(session)
    if version and config == current:
        return None
    before, after = _flat(current.to_table()), _flat(config.to_table())
    changed = {name: [before.get(name), value] for name, value in after.items()
               if before.get(name) != value}
    now = time.time() if now is None else now
    new_version = int(session.execute(
        select(func.coalesce(func.max(AutonomyConfigRow.version), 0))).scalar_one()) + 1
    try:
        with session.begin_nested():
            session.add(AutonomyConfigRow(version=new_version,
                                          settings_json=canonical(config.to_table()),
                                          created_at=now, actor=actor, reason=reason))
    except IntegrityError as exc:
        raise ConfigConflict(f"the autonomy thresholds were changed by someone else at the "
                             f"same moment (version {new_version}); read them again") from exc
    audit.append(session, kind="autonomy.config_changed", actor=actor,
                 subject_type="autonomy_config", subject_id=new_version,
                 payload={"version": new_version, "previous_version": version,
                          "reason": reason, "changed": changed,
                          "settings": config.to_table()})
    return new_version


def sync_file_config(session: Session, table: dict[str, Any] | None, *, actor: str,
                     config_path: str | None) -> int | None:
    """The config file's ``[autonomy]`` table is the team's: when present and different
    from the thresholds in force, it becomes a new version (audited). None when absent
    or unchanged."""
    if table is None:
        return None
    where = f"config file {config_path}" if config_path else "the config file"
    return set_config(session, table, actor=actor, reason=f"[autonomy] in {where}")
