"""`allied-c2 c2sim ingest|reports|validate` against a real server process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alliance.c2sim_material import POSITION, SCHEMAS, material
from tests.alliance.test_c2sim_reports import OBSERVED
from tests.alliance_server.conftest import SCENARIOS
from tests.support.server import ServerProcess, add_user, cli


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    data = tmp_path_factory.mktemp("c2sim-cli")
    cli("ca", "init", "--data-dir", str(data))
    add_user(data, "SHOGUN", "JPN", "SECRET", roles=("commander",), org="jjoc")
    token = cli("token", "create", "--data-dir", str(data), "SHOGUN").stdout.strip()
    server = ServerProcess(data, "--scenario", str(SCENARIOS / "alliance-jfhq.yaml")).start()
    yield data, token
    server.stop()


def test_ingest_then_reports_then_validate(served: tuple[Path, str], tmp_path: Path) -> None:
    data, token = served
    observed = tmp_path / "observed.xml"
    observed.write_bytes(OBSERVED)
    env = {"ALLIED_C2_TOKEN": token}
    ingested = cli(
        "c2sim",
        "ingest",
        str(material("samples", POSITION)),
        str(observed),
        "--marking",
        "SECRET//REL TO USA, JPN",
        "--data-dir",
        str(data),
        env=env,
    ).stdout
    assert "SECRET//REL TO USA, JPN" in ingested
    assert "observed.xml: 1 on the picture: c2sim-44444444-4444-4444-4444-444444444444" in ingested
    assert "is not a calendar time" in ingested  # the GMU sample's relative time
    out = tmp_path / "picture.xml"
    reports = cli("c2sim", "reports", "--out", str(out), "--data-dir", str(data), env=env)
    assert "SECRET//REL TO USA, JPN" in reports.stderr
    assert out.read_bytes().count(b"<PositionReportContent>") == 2
    xsd = material("schema", SCHEMAS["1.0.0"])
    assert "picture.xml: valid" in cli("c2sim", "validate", str(out), "--xsd", str(xsd)).stdout
    wrong = material("schema", SCHEMAS["2.0.0-cwix2026"])
    refused = cli("c2sim", "validate", str(out), "--xsd", str(wrong), check=False)
    assert refused.returncode == 1 and "INVALID" in refused.stdout
