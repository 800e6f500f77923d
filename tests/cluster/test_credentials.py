"""NATS credentials and TLS (issue 13): a node joins over tls:// with a user and password,
another with an nkey; a wrong password is refused at start, saying why.

Runs its own nats-server (Debian's package) with TLS (the cluster's own server
certificate) and authorization; skipped when the binary is not installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import nkeys
import pytest

from tests.cluster.support import Cluster
from tests.support.cot import CotClient, client_tls, pli
from tests.support.server import ServerProcess

PASSWORD = "correct horse battery staple"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def secured(cluster_db: str, tmp_path: Path) -> Iterator[tuple[Cluster, Path]]:
    """A cluster whose NATS demands TLS and credentials; returns it and an nkey seed file."""
    binary = shutil.which("nats-server")
    if binary is None:
        pytest.skip("nats-server is not installed (Debian package nats-server)")
    port = _free_port()
    made = Cluster(tmp_path, f"tls://127.0.0.1:{port}", cluster_db, "creds")
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    public = nkeys.from_seed(bytearray(seed)).public_key.decode()
    seed_file = tmp_path / "node.nk"
    seed_file.write_bytes(seed + b"\n")
    pki = made.base / "pki"
    config = tmp_path / "nats.conf"
    config.write_text(
        f'listen: "127.0.0.1:{port}"\n'
        f'jetstream {{ store_dir: "{tmp_path / "js"}" }}\n'
        f'tls {{ cert_file: "{pki / "server.pem"}", key_file: "{pki / "server.key"}" }}\n'
        "authorization { users = [\n"
        f'  {{ user: "node", password: "{PASSWORD}" }}\n'
        f'  {{ nkey: "{public}" }}\n'
        "] }\n"
    )
    log = (tmp_path / "nats.log").open("wb")
    proc = subprocess.Popen([binary, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail(f"nats-server did not start: {(tmp_path / 'nats.log').read_text()}")
            time.sleep(0.05)
    try:
        yield made, seed_file
    finally:
        made.stop_all()
        proc.terminate()
        proc.wait(10)


async def test_nodes_join_over_tls_with_a_password_and_with_an_nkey(
    secured: tuple[Cluster, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster, seed_file = secured
    cluster.add_user("ALPHA", "USA", "SECRET")
    cluster.add_user("BRAVO", "USA", "SECRET")
    ca = str(cluster.base / "pki" / "ca.pem")
    monkeypatch.setenv("ALLIED_C2_NATS_PASSWORD", PASSWORD)
    one = cluster.start_node("n1", "--cluster-user", "node", "--cluster-ca", ca)
    monkeypatch.delenv("ALLIED_C2_NATS_PASSWORD")
    two = cluster.start_node("n2", "--cluster-nkey", str(seed_file), "--cluster-ca", ca)
    alpha = await CotClient.connect(*one.address("cot_tls"), tls=client_tls(cluster.certs, "ALPHA"))
    bravo = await CotClient.connect(*two.address("cot_tls"), tls=client_tls(cluster.certs, "BRAVO"))
    try:
        await alpha.send(pli("alpha-uid", "ALPHA"))
        await bravo.wait_uid("alpha-uid")
    finally:
        await alpha.close()
        await bravo.close()


def test_a_wrong_nats_password_is_refused_at_start(
    secured: tuple[Cluster, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster, _ = secured
    ca = str(cluster.base / "pki" / "ca.pem")
    monkeypatch.setenv("ALLIED_C2_NATS_PASSWORD", "wrong")
    data = cluster.root / "n1"
    shutil.copytree(cluster.base / "pki", data / "pki")
    node = ServerProcess(
        data, *cluster.node_args("n1"), "--cluster-user", "node", "--cluster-ca", ca, tls=True
    )
    started = time.monotonic()
    with pytest.raises(AssertionError, match="server exited 2") as refused:
        node.start(timeout=30)
    assert "error: cluster: NATS at tls://" in str(refused.value)
    assert "refused this node" in str(refused.value) and "uthorization" in str(refused.value)
    assert time.monotonic() - started < 20  # refused at start, not retried for ever
