"""The PKI's file layout, callsign rule and error: what needs no ``cryptography``.

``pki/tls.py`` (the TLS listeners' contexts), the web API and the server's start
import these without loading ``cryptography`` (about 9 MB resident with PyJWT,
docs/benchmarks.md "Where the memory is"): a server whose CA already exists never
needs it to serve CoT over TLS or HTTPS. ``pki/authority.py`` re-exports them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# Used as certificate CN and as file name: keep it to what every client and file system takes.
CALLSIGN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Where the CA key's passphrase comes from when the key is encrypted (`ca init
# --encrypt-key`); without it the CLI prompts on a terminal. The server itself never
# needs the CA key: the TLS listeners use the server key, which stays unencrypted
# so the server can start unattended.
CA_PASSPHRASE_ENV = "ALLIED_C2_CA_PASSPHRASE"
_ENCRYPTED_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


class PkiError(RuntimeError):
    """The PKI cannot do what was asked; the message says why."""


@dataclass(frozen=True, slots=True)
class PkiPaths:
    directory: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path

    @classmethod
    def under(cls, data_dir: Path) -> PkiPaths:
        directory = data_dir / "pki"
        return cls(
            directory,
            directory / "ca.pem",
            directory / "ca.key",
            directory / "server.pem",
            directory / "server.key",
        )

    def ca_exists(self) -> bool:
        return self.ca_cert.exists() and self.ca_key.exists()

    def ca_key_encrypted(self) -> bool:
        """Whether the CA key needs a passphrase (PKCS#8 ``ENCRYPTED PRIVATE KEY``)."""
        return self.ca_key.exists() and _ENCRYPTED_PEM in self.ca_key.read_bytes()
