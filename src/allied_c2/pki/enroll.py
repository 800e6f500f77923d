"""Certificate enrollment as the official TAK Server does it: name entries, CSR, answers.

Pure (no I/O): the HTTP edge is web/enroll.py, the decisions server/enrollment.py.
Following TS ``CertManagerApi``/``CertManagerService`` (shared reference
tak-server-api.md §1): ``GET tls/config`` lists the subject name entries; the
CSR's subject must be exactly ``CN=<the Basic user>`` plus every entry (RDN
count = entries + 1); the issued certificate is a client certificate for that
CN, signed by this server's CA. Answers: v1 a PKCS#12 with no key (password
``atakatak``, aliases ``signedCert``, ``ca0``…; ATAK crashes without
``signedCert``, issue #279), v2 JSON ``{"signedCert", "ca0"}`` of base64 DER
without PEM lines, or ``<enrollment><signedCert/><ca/></enrollment>`` for an
XML Accept. Who the certificate is for (nation, clearance, COIs) is the
principal's record, looked up by fingerprint at connect time: nothing in
the CSR but its public key and subject is used.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from xml.sax.saxutils import quoteattr

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from allied_c2.pki.authority import (
    CLIENT_DAYS,
    ORGANISATION,
    CertificateAuthority,
)
from allied_c2.pki.bundle import DEFAULT_P12_PASSWORD, legacy_encryption

# TS CoreConfig certificateSigning nameEntries: O and OU here.
NAME_ENTRIES: tuple[tuple[str, str], ...] = (("O", ORGANISATION), ("OU", "TAK"))
_OIDS = {
    "CN": NameOID.COMMON_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "C": NameOID.COUNTRY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "L": NameOID.LOCALITY_NAME,
}
# TS CertManager: a `version` parameter marks a channels-capable client with this EKU.
CHANNELS_EKU = x509.ObjectIdentifier("1.2.840.113549.1.9.7")
_PEM_LINES = re.compile(rb"-----(BEGIN|END) [A-Z ]+-----")
MIN_RSA_BITS = 2048


class CsrError(ValueError):
    pass


def tls_config_xml(entries: tuple[tuple[str, str], ...] = NAME_ENTRIES) -> str:
    """``GET /Marti/api/tls/config``, served as text/plain (OTS; TAKAware #132)."""
    names = "".join(
        f"<nameEntry name={quoteattr(name)} value={quoteattr(value)}/>" for name, value in entries
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<ns2:certificateConfig xmlns="http://bbn.com/marti/xml/config" '
        f'xmlns:ns2="com.bbn.marti.config"><nameEntries>{names}</nameEntries>'
        "<validityDays>"
        f"{CLIENT_DAYS}</validityDays></ns2:certificateConfig>"
    )


def load_csr(body: bytes) -> x509.CertificateSigningRequest:
    """A PKCS#10 CSR: PEM, or base64 DER with or without PEM lines (pytak sends PEM)."""
    data = body.strip()
    try:
        if data.startswith(b"-----BEGIN"):
            return x509.load_pem_x509_csr(data)
        der = base64.b64decode(_PEM_LINES.sub(b"", data), validate=False)
        return x509.load_der_x509_csr(der)
    except (ValueError, binascii.Error) as exc:
        raise CsrError(f"not a PKCS#10 certificate request: {exc}") from None


def check_csr(
    csr: x509.CertificateSigningRequest,
    username: str,
    entries: tuple[tuple[str, str], ...] = NAME_ENTRIES,
) -> None:
    """Refuse a CSR whose subject is not CN=username plus exactly the name entries."""
    if not csr.is_signature_valid:
        raise CsrError("the request's signature does not verify")
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise CsrError(f"RSA keys of at least {MIN_RSA_BITS} bits")
    elif not isinstance(key, ec.EllipticCurvePublicKey):
        raise CsrError("the key must be RSA or EC")
    subject = list(csr.subject)
    if len(subject) != len(entries) + 1:
        raise CsrError(
            f"the subject has {len(subject)} names, the server expects {len(entries) + 1}"
        )
    common = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(common) != 1 or common[0].value != username:
        raise CsrError("the subject's CN must be the enrolling user")
    for name, value in entries:
        found = csr.subject.get_attributes_for_oid(_OIDS[name])
        if len(found) != 1 or found[0].value != value:
            raise CsrError(f"the subject must carry {name}={value}")


def sign_csr(
    authority: CertificateAuthority,
    csr: x509.CertificateSigningRequest,
    *,
    channels: bool = False,
    days: int = CLIENT_DAYS,
) -> x509.Certificate:
    """A client certificate for the CSR's subject and key, signed by the CA."""
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    if channels:
        usages.append(CHANNELS_EKU)
    public_key = csr.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    builder = authority.leaf_builder(csr.subject, public_key, days, usages)
    return builder.sign(authority.key, hashes.SHA256())


def _der64(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def v1_pkcs12(signed: x509.Certificate, chain: list[x509.Certificate]) -> bytes:
    """The v1 answer: no key, ``signedCert`` then ``ca0``, ``ca1``… (legacy PBE for ATAK)."""
    certificates = [pkcs12.PKCS12Certificate(signed, b"signedCert")]
    certificates += [
        pkcs12.PKCS12Certificate(ca, f"ca{index}".encode()) for index, ca in enumerate(chain)
    ]
    return pkcs12.serialize_key_and_certificates(
        None, None, None, certificates, legacy_encryption(DEFAULT_P12_PASSWORD)
    )


def v2_json(signed: x509.Certificate, chain: list[x509.Certificate]) -> str:
    body = {"signedCert": _der64(signed)}
    body |= {f"ca{index}": _der64(ca) for index, ca in enumerate(chain)}
    return json.dumps(body)


def v2_xml(signed: x509.Certificate, chain: list[x509.Certificate]) -> str:
    cas = "".join(f"<ca>{_der64(ca)}</ca>" for ca in chain)
    return f"<enrollment><signedCert>{_der64(signed)}</signedCert>{cas}</enrollment>"
