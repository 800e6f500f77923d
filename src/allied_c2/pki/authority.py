"""The server's certificate authority: its own CA, the server certificate and
client certificates for TAK clients.

RSA 2048 and SHA-256 throughout: ATAK, WinTAK and iTAK all accept them. The
server certificate lives 825 days, the longest iOS (iTAK) accepts for a TLS
server; client certificates two years; the CA ten.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Re-exported: the names that need no cryptography live in pki/paths.py (memory: see there).
from allied_c2.pki.paths import CA_PASSPHRASE_ENV as CA_PASSPHRASE_ENV
from allied_c2.pki.paths import CALLSIGN as CALLSIGN
from allied_c2.pki.paths import PkiError as PkiError
from allied_c2.pki.paths import PkiPaths as PkiPaths

KEY_SIZE = 2048
CA_DAYS = 3650
SERVER_DAYS = 825
CLIENT_DAYS = 730
# Back-dated so a client whose clock runs a little behind still accepts them.
CLOCK_SKEW = timedelta(minutes=5)
ORGANISATION = "allied-c2"


@dataclass(frozen=True, slots=True)
class Issued:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def fingerprint(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)


def key_pem(key: rsa.RSAPrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM; with a passphrase encrypted by the library's best available scheme
    (cryptography: AES-256-CBC, PBKDF2-HMAC-SHA256)."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def cert_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def write_private(path: Path, data: bytes) -> None:
    """Write a secret readable by the owner only, from its very first byte."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to an existing file


def write_public(path: Path, data: bytes) -> None:
    # Public files share directories with keys (pki/, certs/): those stay owner-only.
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_bytes(data)


def default_hostnames(extra: Iterable[str] = ()) -> list[str]:
    """Names and addresses the server certificate covers, without duplicates."""
    names = ["localhost", "127.0.0.1", "::1", socket.gethostname(), socket.getfqdn(), *extra]
    seen: dict[str, None] = {}
    for name in names:
        name = name.strip()
        if name and name.lower() not in (n.lower() for n in seen):
            seen[name] = None
    return list(seen)


def _san(names: Iterable[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


class CertificateAuthority:
    def __init__(self, certificate: x509.Certificate, key: rsa.RSAPrivateKey) -> None:
        self.certificate = certificate
        self.key = key

    @classmethod
    def create(cls, common_name: str | None = None) -> CertificateAuthority:
        key = new_key()
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
                x509.NameAttribute(
                    NameOID.COMMON_NAME, common_name or f"allied-c2 CA {socket.gethostname()}"
                ),
            ]
        )
        now = datetime.now(UTC)
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(certificate, key)

    @classmethod
    def load(cls, paths: PkiPaths, passphrase: bytes | None = None) -> CertificateAuthority:
        """The CA with its key; ``passphrase`` is needed when the key is encrypted."""
        certificate = load_ca_certificate(paths)
        encrypted = paths.ca_key_encrypted()
        if encrypted and not passphrase:
            raise PkiError(
                f"{paths.ca_key} is encrypted: set {CA_PASSPHRASE_ENV} or run the "
                "command on a terminal to be asked for the passphrase"
            )
        try:
            key = serialization.load_pem_private_key(
                paths.ca_key.read_bytes(), password=passphrase if encrypted else None
            )
        except ValueError as exc:  # cryptography: wrong passphrase or damaged key
            raise PkiError(f"cannot read {paths.ca_key}: wrong passphrase? ({exc})") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise PkiError(f"{paths.ca_key} is not an RSA key")
        return cls(certificate, key)

    @property
    def fingerprint(self) -> str:
        return self.fingerprint_of(self.certificate)

    @staticmethod
    def fingerprint_of(certificate: x509.Certificate) -> str:
        return certificate.fingerprint(hashes.SHA256()).hex()

    def leaf_builder(
        self,
        subject: x509.Name,
        public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
        days: int,
        usages: Iterable[x509.ObjectIdentifier],
    ) -> x509.CertificateBuilder:
        """An end-entity certificate for ``public_key`` (ours or a CSR's), valid for
        ``days`` but never past the CA; the caller adds names and signs."""
        now = datetime.now(UTC)
        not_after = min(now + timedelta(days=days), self.certificate.not_valid_after_utc)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=True,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )

    def _leaf(
        self, subject: x509.Name, days: int, *usages: x509.ObjectIdentifier
    ) -> tuple[x509.CertificateBuilder, rsa.RSAPrivateKey]:
        key = new_key()
        return self.leaf_builder(subject, key.public_key(), days, usages), key

    def issue_server(self, hostnames: Iterable[str], days: int = SERVER_DAYS) -> Issued:
        names = list(hostnames)
        if not names:
            raise PkiError("a server certificate needs at least one host name")
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
                x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
            ]
        )
        builder, key = self._leaf(subject, days, ExtendedKeyUsageOID.SERVER_AUTH)
        certificate = builder.add_extension(_san(names), critical=False).sign(
            self.key, hashes.SHA256()
        )
        return Issued(certificate, key)

    def issue_client(self, callsign: str, days: int = CLIENT_DAYS) -> Issued:
        if not CALLSIGN.match(callsign):
            raise PkiError(
                f"callsign {callsign!r} cannot name a certificate: use 1-64 letters, digits, "
                "'-', '_' or '.', starting with a letter or digit"
            )
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
                x509.NameAttribute(NameOID.COMMON_NAME, callsign),
            ]
        )
        builder, key = self._leaf(subject, days, ExtendedKeyUsageOID.CLIENT_AUTH)
        return Issued(builder.sign(self.key, hashes.SHA256()), key)

    def issue_federation(self, hostnames: Iterable[str], days: int = SERVER_DAYS) -> Issued:
        """This server's certificate towards federates: one certificate both listens
        (serverAuth) and dials (clientAuth), as TAK Server uses one keystore for both
        (federation-v2.md §3); it lives as long as a server certificate."""
        names = list(hostnames)
        if not names:
            raise PkiError("a federation certificate needs at least one host name")
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
                x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
            ]
        )
        builder, key = self._leaf(
            subject, days, ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
        )
        certificate = builder.add_extension(_san(names), critical=False).sign(
            self.key, hashes.SHA256()
        )
        return Issued(certificate, key)


def load_ca_certificate(paths: PkiPaths) -> x509.Certificate:
    """The CA certificate alone (its fingerprint, the chain for bundles): no passphrase."""
    if not paths.ca_exists():
        raise PkiError(f"no CA in {paths.directory}: run `allied-c2 ca init` first")
    return x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())


def init_ca(
    data_dir: Path,
    hostnames: Iterable[str] = (),
    *,
    force: bool = False,
    passphrase: bytes | None = None,
) -> PkiPaths:
    """Create the CA and the server certificate under ``data_dir/pki``.

    Refuses to replace an existing CA unless ``force``: every client certificate
    issued so far would stop working. With ``passphrase`` the CA key is written
    encrypted (the server key is not: the server must start unattended).
    """
    paths = PkiPaths.under(data_dir)
    if paths.ca_exists() and not force:
        raise PkiError(f"a CA already exists in {paths.directory} (use --force to replace it)")
    authority = CertificateAuthority.create()
    server = authority.issue_server(default_hostnames(hostnames))
    write_private(paths.ca_key, key_pem(authority.key, passphrase))
    write_public(paths.ca_cert, cert_pem(authority.certificate))
    write_private(paths.server_key, key_pem(server.key))
    write_public(paths.server_cert, cert_pem(server.certificate))
    return paths
