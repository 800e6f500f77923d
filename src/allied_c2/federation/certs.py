"""This server's federation identity on disk: DATA_DIR/pki/federation.{pem,key}.

Issued by the server's own CA (``allied-c2 federate cert``), with serverAuth and
clientAuth so one certificate listens and dials. The peer administrator gets the
certificate and the CA (``federate add --peer-cert --peer-ca`` on their side)
and pins its SHA-256 fingerprint. TLS always sends the chain leaf + CA: TAK
Server reads the CA from the chain and fails every call without it
(federation-v2.md §3). The fingerprint is also this server's id in TAK
provenance, so it needs no other state.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from allied_c2.federation.identity import CertificateFacts, certificate_facts
from allied_c2.pki.authority import (
    CertificateAuthority,
    PkiError,
    PkiPaths,
    cert_pem,
    default_hostnames,
    key_pem,
    write_private,
    write_public,
)


@dataclass(frozen=True, slots=True)
class FederationPaths:
    cert: Path
    key: Path
    ca: Path

    @classmethod
    def under(cls, data_dir: Path) -> FederationPaths:
        pki = PkiPaths.under(data_dir)
        return cls(pki.directory / "federation.pem", pki.directory / "federation.key", pki.ca_cert)

    def exists(self) -> bool:
        return self.cert.exists() and self.key.exists() and self.ca.exists()


@dataclass(frozen=True, slots=True)
class FederationIdentity:
    """What the gRPC edge presents: the key, the chain (leaf + CA), and the facts."""

    key_pem: bytes
    cert_pem: bytes
    ca_pem: bytes
    facts: CertificateFacts

    @property
    def chain_pem(self) -> bytes:
        return self.cert_pem + self.ca_pem

    @property
    def server_id(self) -> str:
        return self.facts.fingerprint

    @property
    def server_name(self) -> str:
        return self.facts.subject_cn


def issue_federation_certificate(
    data_dir: Path,
    authority: CertificateAuthority,
    hostnames: Iterable[str] = (),
) -> FederationPaths:
    paths = FederationPaths.under(data_dir)
    # The first name is the subject CN, which TAK Server shows (CN(subject):CN(issuer))
    # and which marks this server's sanitised copies: a given host, else the host name.
    given = [h.strip() for h in hostnames if h.strip()]
    names = [*given, socket.gethostname(), *default_hostnames()]
    issued = authority.issue_federation(list(dict.fromkeys(names)))
    write_private(paths.key, key_pem(issued.key))
    write_public(paths.cert, cert_pem(issued.certificate))
    return paths


def load_identity(data_dir: Path) -> FederationIdentity:
    paths = FederationPaths.under(data_dir)
    if not paths.exists():
        raise PkiError(
            f"no federation certificate in {paths.cert.parent}: run "
            f"`allied-c2 federate cert --data-dir {data_dir} --out DIR` first"
        )
    cert = paths.cert.read_bytes()
    return FederationIdentity(
        key_pem=paths.key.read_bytes(),
        cert_pem=cert,
        ca_pem=paths.ca.read_bytes(),
        facts=certificate_facts(x509.load_pem_x509_certificate(cert)),
    )
