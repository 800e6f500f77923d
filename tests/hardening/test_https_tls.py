"""Issue 9 F: --https has the CoT TLS listener's rules, and a certificate is a principal
on the WebSocket too."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path

import pytest
import websockets

from allied_c2.pki.authority import CertificateAuthority, PkiPaths, init_ca
from allied_c2.pki.bundle import write_client_bundle
from tests.hardening.conftest import LOOPBACK, Node, NodeFactory


def issue(node: Node, callsign: str, out: Path) -> None:
    authority = CertificateAuthority.load(PkiPaths.under(node.runtime.config.data_dir))
    issued = authority.issue_client(callsign)
    node.runtime.principals.record_certificate(
        callsign,
        issued.fingerprint,
        issued.certificate.serial_number,
        issued.certificate.not_valid_after_utc,
    )
    write_client_bundle(issued, authority.certificate, out, callsign)


def client(certs: Path, name: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    context.check_hostname = False
    if name is not None:
        context.load_cert_chain(str(certs / f"{name}.pem"), str(certs / f"{name}.key"))
    return context


async def handshake(node: Node, context: ssl.SSLContext) -> str:
    reader, writer = await asyncio.open_connection(*node.address("https"), ssl=context)
    try:
        writer.write(b"GET /api/v1/whoami HTTP/1.0\r\n\r\n")
        response = await asyncio.wait_for(reader.read(), timeout=5)
    finally:
        writer.close()
    return response.decode(errors="replace")


async def refused(node: Node, context: ssl.SSLContext) -> bool:
    """No HTTP answer: the handshake failed, or (TLS 1.3, where the server checks the
    client certificate after the client has finished) the server closed at once."""
    try:
        return not await handshake(node, context)
    except (ssl.SSLError, ConnectionError):
        return True


@pytest.fixture
async def https(make_node: NodeFactory, tmp_path: Path) -> tuple[Node, Path]:
    node = await make_node(https=LOOPBACK)
    issue(node, "EAGLE", tmp_path / "certs")
    return node, tmp_path / "certs"


async def test_a_certificate_identifies_the_caller(https: tuple[Node, Path]) -> None:
    node, certs = https
    assert '"callsign":"EAGLE"' in await handshake(node, client(certs, "EAGLE"))
    assert '"callsign":"anonymous"' in await handshake(node, client(certs))


async def test_tls_1_1_is_refused(https: tuple[Node, Path]) -> None:
    node, certs = https
    old = client(certs, "EAGLE")
    with pytest.warns(DeprecationWarning):  # Python itself discourages these versions
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    assert await refused(node, old)


async def test_suites_outside_the_project_s_choice_are_refused(https: tuple[Node, Path]) -> None:
    """uvicorn's own context took CBC-mode suites (ECDHE-RSA-AES256-SHA384); the
    project's rules (pki/tls.py, as on the CoT TLS listener) take ECDHE with AEAD only."""
    node, certs = https
    for suite in ("ECDHE-RSA-AES256-SHA384", "AES128-GCM-SHA256", "AES256-SHA"):
        weak = client(certs, "EAGLE")
        weak.maximum_version = ssl.TLSVersion.TLSv1_2
        weak.set_ciphers(f"{suite}:@SECLEVEL=0")
        assert await refused(node, weak), suite
    good = client(certs, "EAGLE")
    good.maximum_version = ssl.TLSVersion.TLSv1_2
    assert '"callsign":"EAGLE"' in await handshake(node, good)


async def test_a_certificate_from_another_ca_is_refused(
    https: tuple[Node, Path], tmp_path: Path
) -> None:
    node, certs = https
    rogue_dir = tmp_path / "rogue"
    rogue = CertificateAuthority.load(init_ca(rogue_dir))
    write_client_bundle(rogue.issue_client("EAGLE"), rogue.certificate, rogue_dir, "EAGLE")
    context = client(certs)
    context.load_cert_chain(str(rogue_dir / "EAGLE.pem"), str(rogue_dir / "EAGLE.key"))
    assert await refused(node, context)


async def test_a_websocket_over_https_is_the_certificate_s_principal(
    https: tuple[Node, Path],
) -> None:
    node, certs = https
    url = f"{node.url('https', 'wss')}/api/v1/stream"
    async with websockets.connect(url, ssl=client(certs, "EAGLE")) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
    assert hello["kind"] == "hello" and hello["principal"]["callsign"] == "EAGLE"
