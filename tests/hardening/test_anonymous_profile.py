"""Issue 9 A: the anonymous profile cannot be configured into privilege."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from allied_c2.app import anonymous_principal, build_runtime
from allied_c2.config import AnonymousProfile, Config, ConfigError, load_config
from allied_c2.security.decision import may_release
from allied_c2.security.markings import parse_banner
from allied_c2.security.policy import load_policy

README = Path(__file__).resolve().parents[2] / "README.md"


def config_file(tmp_path: Path, anonymous: str) -> Path:
    path = tmp_path / "allied-c2.toml"
    path.write_text(f"cot_tcp = 'off'\n\n[anonymous]\n{anonymous}\n")
    return path


def test_an_empty_nation_means_none(tmp_path: Path) -> None:
    # `nation = ""` used to become Principal(nation=""): not None, so the anonymous
    # rule (public items only) no longer applied to plain-TCP clients.
    config = load_config(config_file(tmp_path, 'nation = ""\nclearance = "UNCLASSIFIED"'))
    assert config.anonymous.nation is None
    principal = anonymous_principal(config.anonymous, load_policy(None))
    assert principal.nation is None
    cui = parse_banner("CUI", load_policy(None))
    assert not may_release(cui, principal, load_policy(None)).allowed


def test_the_readme_example_configures_a_real_anonymous_profile(tmp_path: Path) -> None:
    block = re.search(r"```toml\n(.*?)```", README.read_text(), re.S)
    assert block is not None
    path = tmp_path / "readme.toml"
    path.write_text(block.group(1))
    profile = load_config(path).anonymous
    assert profile.nation is None and profile.clearance == "UNCLASSIFIED"


def test_a_nation_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot have a nation"):
        load_config(config_file(tmp_path, 'nation = "USA"'))
    with pytest.raises(ConfigError, match="unknown \\[anonymous\\] setting"):
        load_config(config_file(tmp_path, 'roles = ["admin"]'))


@pytest.mark.parametrize("clearance", ["SECRET", "CONFIDENTIAL", "JPN:GOKUHI", "CUI"])
def test_a_clearance_above_unclassified_is_refused(clearance: str) -> None:
    with pytest.raises(ConfigError, match="above UNCLASSIFIED"):
        anonymous_principal(AnonymousProfile(clearance=clearance), load_policy(None))


def test_the_server_refuses_to_start_with_a_privileged_anonymous_profile(tmp_path: Path) -> None:
    config = Config(
        data_dir=tmp_path / "var",
        cot_tcp=None,
        cot_tls=None,
        http=None,
        anonymous=AnonymousProfile(clearance="SECRET"),
    )
    with pytest.raises(ConfigError, match="above UNCLASSIFIED"):
        build_runtime(config)
