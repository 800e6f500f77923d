"""TLS contexts for the mutual-TLS listeners, and the certificate-to-principal key."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

# Not pki.authority: the listeners need no `cryptography` (pki/paths.py).
from allied_c2.pki.paths import PkiError, PkiPaths


def certificate_fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate, lower-case hex: how principals find their certificates."""
    return hashlib.sha256(der).hexdigest()


def peer_fingerprint(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> str | None:
    """The fingerprint of the certificate the peer presented, if any."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return certificate_fingerprint(der) if der else None


# TLS 1.2 suites: ECDHE key exchange (forward secrecy) with AEAD ciphers only, the
# Mozilla "intermediate" profile and NIST SP 800-52 Rev. 2's recommended TLS 1.2
# suites; ATAK (Android 5+), WinTAK and iTAK all negotiate them. TLS 1.3 suites
# are all AEAD with forward secrecy and are left at OpenSSL's defaults.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"


def server_ssl_context(data_dir: Path, *, require_client_cert: bool = True) -> ssl.SSLContext:
    """The one set of TLS rules for every listener (CoT TLS and HTTPS).

    TLS 1.2+ (NIST SP 800-52 Rev. 2), :data:`TLS12_CIPHERS`, no renegotiation or
    compression, the server certificate, client certificates verified against
    the server's CA. With ``require_client_cert=False`` a client may connect
    without one (for the HTTPS API, where a bearer token can identify it
    instead); one it does present is still verified, and refused if it fails.
    """
    paths = PkiPaths.under(data_dir)
    for path in (paths.ca_cert, paths.server_cert, paths.server_key):
        if not path.exists():
            raise PkiError(f"{path} is missing: run `allied-c2 ca init --data-dir {data_dir}`")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    # One TLS 1.3 session ticket, not OpenSSL's two (RFC 8446 §4.6.1 leaves the number
    # to the server): a TAK client resumes one session, and each ticket is about 0.3 ms
    # of the event loop in every full handshake (docs/reliability.md).
    context.num_tickets = 1
    context.load_cert_chain(paths.server_cert, paths.server_key)
    context.load_verify_locations(cafile=paths.ca_cert)
    context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    return context


def client_ssl_context(
    ca_pem: Path | str,
    cert_pem: Path | str | None = None,
    key_pem: Path | str | None = None,
    *,
    check_hostname: bool = True,
) -> ssl.SSLContext:
    """A client context trusting ``ca_pem``, presenting ``cert_pem``/``key_pem`` if given."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cafile=str(ca_pem))
    context.check_hostname = check_hostname
    if cert_pem is not None:
        context.load_cert_chain(str(cert_pem), str(key_pem) if key_pem is not None else None)
    return context
