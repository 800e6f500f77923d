"""Who a federate is: its certificate, its principal, the names TAK gives it.

A federate is known by the SHA-256 fingerprint of its certificate's DER, as TAK
Server knows its federates (federation-v2.md §3); for the guard it is a
principal whose nation is the peer's, whose clearance is the accreditation the
administrator registered (the highest level the peer's network may hold, in
its national scheme) and whose COIs are the peer's. Its principal name carries a
``fed:`` prefix, which no certificate callsign can (pki CALLSIGN), so a federate
is never mistaken for a local user as sender or addressee.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from allied_c2.security.principals import Principal

PRINCIPAL_PREFIX = "fed:"


def principal_name(federate: str) -> str:
    return PRINCIPAL_PREFIX + federate


def federate_of(principal_name_: str) -> str | None:
    """The federate a principal name stands for, None for anyone else."""
    if principal_name_.startswith(PRINCIPAL_PREFIX):
        return principal_name_[len(PRINCIPAL_PREFIX) :]
    return None


def federate_principal(
    name: str, nation: str, clearance: str, cois: frozenset[str] = frozenset()
) -> Principal:
    """The peer as a principal: no roles (a federate is no auditor, no admin)."""
    return Principal(callsign=principal_name(name), nation=nation, clearance=clearance, cois=cois)


def fingerprint_of_der(der: bytes) -> str:
    """Lower-case hex SHA-256, as the store keys certificates."""
    return hashlib.sha256(der).hexdigest()


def tak_fingerprint(fingerprint: str) -> str:
    """TAK Server's spelling of the same fingerprint: upper-case hex pairs joined by ':'."""
    plain = fingerprint.replace(":", "").upper()
    return ":".join(plain[i : i + 2] for i in range(0, len(plain), 2))


def _common_name(name: x509.Name) -> str:
    found = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(found[0].value) if found else ""


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    fingerprint: str
    subject_cn: str
    issuer_cn: str
    names: tuple[str, ...]  # subject alternative names (DNS and IP), then the CN

    @property
    def tak_name(self) -> str:
        """What TAK Server names a new federate: ``CN(subject):CN(issuer)``."""
        return f"{self.subject_cn}:{self.issuer_cn}"


def certificate_facts(certificate: x509.Certificate) -> CertificateFacts:
    names: list[str] = []
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names += [str(v) for v in san.get_values_for_type(x509.DNSName)]
        names += [str(v) for v in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        pass
    subject = _common_name(certificate.subject)
    if subject and subject not in names:
        names.append(subject)
    return CertificateFacts(
        fingerprint=fingerprint_of_der(certificate.public_bytes(Encoding.DER)),
        subject_cn=subject,
        issuer_cn=_common_name(certificate.issuer),
        names=tuple(names),
    )


def load_certificate(pem: bytes | str) -> x509.Certificate:
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    return x509.load_pem_x509_certificate(data)


def check_issued_by(certificate: x509.Certificate, ca: x509.Certificate) -> str | None:
    """None when ``ca`` signed ``certificate`` and is a CA; else the reason it is not."""
    try:
        constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
        if not constraints.ca:
            return "the peer CA file is not a CA certificate (basicConstraints CA:FALSE)"
    except x509.ExtensionNotFound:
        return "the peer CA file has no basicConstraints: not a CA certificate"
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError) as exc:
        return f"the peer certificate was not issued by the peer CA ({exc})"
    except Exception as exc:  # cryptography's InvalidSignature carries no message
        return f"the peer certificate's signature does not verify with the peer CA ({exc!r})"
    return None
