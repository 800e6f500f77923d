"""The cluster's settings from flags or the config file (flags win)."""

from __future__ import annotations

from pathlib import Path

import pytest

from allied_c2.cli.server import cluster_settings
from allied_c2.config import ConfigError, load_config


def test_cluster_keys_in_the_config_file_and_flags_over_them(tmp_path: Path) -> None:
    (tmp_path / "nats.seed").write_text("SUAEXAMPLE\n")
    config_file = tmp_path / "allied.toml"
    config_file.write_text(
        'cluster = "nats://10.0.0.5:4222, nats://10.0.0.6:4222"\n'
        'node_id = "tokyo-1"\n'
        'cluster_prefix = "jjoc"\n'
        'cluster_user = "allied"\n'
        'cluster_nkey = "nats.seed"\n'
    )
    config = load_config(config_file)
    settings = cluster_settings(config, None, None, None, None, None, None, None, None, None)
    assert settings is not None
    assert settings.servers == ("nats://10.0.0.5:4222", "nats://10.0.0.6:4222")
    assert (settings.node_id, settings.prefix, settings.user) == ("tokyo-1", "jjoc", "allied")
    assert settings.nkey_seed == (tmp_path / "nats.seed").resolve()  # relative to the file
    flagged = cluster_settings(
        config, "nats://127.0.0.1:4222", "n9", None, None, None, None, None, None, None
    )
    assert flagged is not None
    assert (flagged.servers, flagged.node_id, flagged.prefix) == (
        ("nats://127.0.0.1:4222",),
        "n9",
        "jjoc",
    )


def test_without_a_cluster_key_or_flag_there_is_no_cluster(tmp_path: Path) -> None:
    config = load_config(None)
    assert cluster_settings(config, None, None, None, None, None, None, None, None, None) is None


def test_the_workers_internal_settings_are_not_file_keys(tmp_path: Path) -> None:
    config_file = tmp_path / "allied.toml"
    config_file.write_text("reuse_port = true\n")
    with pytest.raises(ConfigError, match="unknown setting 'reuse_port'"):
        load_config(config_file)
