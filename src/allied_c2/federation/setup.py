"""Building the federation service for a server (called from app.py).

Federation runs when the server listens for federates (``--federation``) or has
registered federates to dial; otherwise grpcio is never imported. A first start
creates the federation certificate from the server's CA, as the TLS listeners
create the CA; an encrypted CA key needs ``ALLIED_C2_CA_PASSPHRASE`` for that first
start (as every signing command), or ``allied-c2 federate cert`` beforehand.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from allied_c2.config import Config, ConfigError
from allied_c2.server.hub import Hub
from allied_c2.server.peers import AuditSink
from allied_c2.store.federates import FederateStore

if TYPE_CHECKING:
    from allied_c2.federation.certs import FederationIdentity
    from allied_c2.federation.service import FederationService

log = logging.getLogger("allied_c2.federation")


def ensure_identity(config: Config) -> FederationIdentity:
    from allied_c2.federation.certs import (
        FederationPaths,
        issue_federation_certificate,
        load_identity,
    )
    from allied_c2.pki.authority import (
        CA_PASSPHRASE_ENV,
        CertificateAuthority,
        PkiError,
        PkiPaths,
        init_ca,
    )

    if not FederationPaths.under(config.data_dir).exists():
        pki = PkiPaths.under(config.data_dir)
        passphrase = os.environ.get(CA_PASSPHRASE_ENV)
        secret = passphrase.encode("utf-8") if passphrase else None
        if not pki.ca_exists():
            # As the TLS listeners do: with the variable set, the new CA key is encrypted.
            init_ca(config.data_dir, passphrase=secret)
            log.info("created the server CA in %s", pki.directory)
        try:
            authority = CertificateAuthority.load(pki, secret)
        except PkiError as exc:
            raise ConfigError(
                f"federation needs this server's federation certificate: {exc} "
                "(or issue it first with `allied-c2 federate cert`)"
            ) from None
        issue_federation_certificate(config.data_dir, authority)
        log.info("issued this server's federation certificate in %s", pki.directory)
    return load_identity(config.data_dir)


def build_federation(
    config: Config, hub: Hub, engine: Engine, audit: AuditSink | None
) -> FederationService | None:
    store = FederateStore(engine)
    if config.federation is None and not store.list():
        return None
    from allied_c2.federation.service import FederationService

    return FederationService(hub, store, audit, ensure_identity(config), config)
