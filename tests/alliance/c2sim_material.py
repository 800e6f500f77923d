"""The C2SIM schemas and sample messages in ``../shared/interop/c2sim``.

They are loaded where they lie, never copied into the repository (their licences
differ from ours); a test that needs them skips, saying why, when the shared
folder is not checked out beside the repository.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from allied_c2.alliance.c2sim_xml import VERSIONS

C2SIM = Path(__file__).resolve().parents[2] / ".." / "shared" / "interop" / "c2sim"
SCHEMAS = {
    "1.0.0": "C2SIM_SMX_LOX_v1.0.0.xsd",
    "1.0.1": "C2SIM_SMX_LOX_v1.0.1.xsd",
    "cwix2025": "C2SIM_SMX_LOX_CWIX2025.xsd",
    "2.0.0-cwix2026": "C2SIM_SMX_LOX_v2.0.0-cwix2026.xsd",
}
STP = "gmu-stp__v1.0.0__initialization__SimpleAttack100.xml"
POSITION = "gmu__v1.0.0__report__position.xml"
OBSERVATION = "gmu__v1.0.0__report__observation.xml"
TNO_POSITION = "tno__v2.0.0-cwix2026__message__position-report.xml"
assert set(SCHEMAS) == set(VERSIONS)


def material(*parts: str) -> Path:
    path = C2SIM.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"no C2SIM material at {path.resolve()} (../shared is not checked out)")
    return path


def sample(name: str) -> bytes:
    return material("samples", name).read_bytes()


@cache
def _schema(version: str) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)
    return etree.XMLSchema(etree.parse(str(C2SIM / "schema" / SCHEMAS[version]), parser))


def schema(version: str) -> etree.XMLSchema:
    material("schema", SCHEMAS[version])
    return _schema(version)


def assert_valid(document: bytes, version: str) -> None:
    checker = schema(version)
    if not checker.validate(etree.fromstring(document)):
        errors = [f"{e.line}: {e.message}" for e in checker.error_log.filter_from_errors()[:5]]
        raise AssertionError(f"not valid against C2SIM {version}:\n" + "\n".join(errors))
