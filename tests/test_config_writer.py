"""Writing the TOML configuration: round trips exactly, refuses what TOML cannot hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from countersign.config import Config, ConfigError, ReceiverConfig, SourceConfig, load_config
from countersign.config.writer import (
    ConfigWriteError,
    dump_config,
    save_config,
    with_receiver,
    with_source,
    without_source,
)


def test_round_trip_with_awkward_text(tmp_path: Path) -> None:
    config = with_source(Config(reviewer='ann "the" reviewer'), SourceConfig.model_validate({
        "name": "prod\tagents\x7f\u202e", "plugin": "langgraph", "url": "http://h:1",
        "metadata": {"team name": "pay\\ments", "n": 2, "ok": True}, "poll_interval": 0.5,
        "assistant_id": None}))
    path = tmp_path / "sub" / "config.toml"
    save_config(path, config)
    again = load_config(path)
    assert again.reviewer == config.reviewer
    assert again.sources[0].name == config.sources[0].name
    assert again.sources[0].settings == {"url": "http://h:1", "poll_interval": 0.5,
                                         "metadata": {"team name": "pay\\ments", "n": 2,
                                                      "ok": True}}
    assert without_source(again, again.sources[0].name).sources == []


def test_unwritable_values_are_refused() -> None:
    config = with_source(Config(), SourceConfig.model_validate(
        {"name": "x", "plugin": "p", "ratio": float("nan")}))
    with pytest.raises(ConfigWriteError, match="ratio"):
        dump_config(config)


def test_receiver_settings_round_trip_and_bad_ones_name_the_key(tmp_path: Path) -> None:
    config = with_receiver(Config(reviewer="ann"),
                           ReceiverConfig(enabled=True, host="::1", port=4319))
    config = with_source(config, SourceConfig(name="prod", plugin="langgraph"))
    path = tmp_path / "config.toml"
    save_config(path, config)
    assert load_config(path) == config
    # The default receiver is not written at all.
    assert "[receiver]" not in dump_config(Config(reviewer="ann"))
    path.write_text("[receiver]\nenabled = true\nport = 70000\n")
    with pytest.raises(ConfigError, match=r"receiver\.port"):
        load_config(path)
