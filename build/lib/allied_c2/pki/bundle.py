"""A client's certificate files, in the forms TAK clients import.

``NAME.p12`` holds key, certificate and CA chain; ``truststore-root.p12`` holds
the CA alone (what ATAK and iTAK call the trust store). Both use the legacy
PKCS#12 encryption (3DES, SHA-1 MAC) because Android's and older iOS key stores
cannot read the AES-based default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from allied_c2.pki.authority import Issued, cert_pem, key_pem, write_private, write_public

DEFAULT_P12_PASSWORD = "atakatak"  # what TAK servers and clients assume by default
TRUSTSTORE_NAME = "truststore-root.p12"


@dataclass(frozen=True, slots=True)
class ClientBundle:
    cert: Path
    key: Path
    p12: Path
    ca: Path
    truststore: Path


def legacy_encryption(password: str) -> serialization.KeySerializationEncryption:
    return (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(50_000)
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())
        .build(password.encode("utf-8"))
    )


def client_p12(issued: Issued, ca: x509.Certificate, name: str, password: str) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        name.encode("utf-8"), issued.key, issued.certificate, [ca], legacy_encryption(password)
    )


def truststore_p12(ca: x509.Certificate, password: str) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        b"ca", None, None, [ca], legacy_encryption(password)
    )


def write_client_bundle(
    issued: Issued,
    ca: x509.Certificate,
    out_dir: Path,
    name: str,
    password: str = DEFAULT_P12_PASSWORD,
) -> ClientBundle:
    bundle = ClientBundle(
        cert=out_dir / f"{name}.pem",
        key=out_dir / f"{name}.key",
        p12=out_dir / f"{name}.p12",
        ca=out_dir / "ca.pem",
        truststore=out_dir / TRUSTSTORE_NAME,
    )
    write_public(bundle.cert, cert_pem(issued.certificate))
    write_private(bundle.key, key_pem(issued.key))
    write_private(bundle.p12, client_p12(issued, ca, name, password))
    write_public(bundle.ca, cert_pem(ca))
    write_public(bundle.truststore, truststore_p12(ca, password))
    return bundle
