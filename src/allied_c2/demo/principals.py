"""The demo's people and feeds: principals with organisations, tokens and certificates.

Staff principals sit at real organisations of the trilateral scenario with
different nations and clearances, so signing in as each shows a different
picture. Feed principals are the simulator's TAK connections, one per nation,
so every track carries its true originating nation. Everything is issued the
way ``allied-c2 ca init``, ``user add`` and ``token create`` do it (same
functions, same audit entries).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from allied_c2.alliance.model import Structure
from allied_c2.cli.audit import audit_log, cli_actor
from allied_c2.cli.ca import create_ca
from allied_c2.cli.users import issue_bundle, principal_attributes
from allied_c2.config import Config
from allied_c2.pki.authority import PkiPaths
from allied_c2.pki.bundle import DEFAULT_P12_PASSWORD, ClientBundle
from allied_c2.security.policy import load_policy
from allied_c2.security.principals import Principal
from allied_c2.store.db import opened_database
from allied_c2.store.principals import PrincipalStore


@dataclass(frozen=True, slots=True)
class DemoUser:
    callsign: str
    nation: str
    clearance: str
    roles: tuple[str, ...]
    organisation: str | None
    title: str
    feed: bool = False  # a simulator connection rather than a person

    def principal(self) -> Principal:
        return Principal(
            callsign=self.callsign,
            nation=self.nation,
            clearance=self.clearance,
            roles=frozenset(self.roles),
            organisation=self.organisation,
        )


STAFF = (
    DemoUser("USFJ-CDR", "USA", "SECRET", ("commander",), "usfj", "Commander, USFJ joint force HQ"),
    DemoUser("USFJ-OPS", "USA", "SECRET", ("operator",), "usfj", "USFJ J3 operations officer"),
    DemoUser(
        "INDOPACOM-CDR",
        "USA",
        "SECRET",
        ("commander",),
        "indopacom",
        "INDOPACOM decision authority (watch)",
    ),
    DemoUser("JJOC-CDR", "JPN", "SECRET", ("commander",), "jjoc", "Commander, JSDF JJOC"),
    DemoUser(
        "JSDF-HADR-OPS",
        "JPN",
        "CONFIDENTIAL",
        ("operator",),
        "jsdf_hadr",
        "JSDF relief contingent operations",
    ),
    DemoUser(
        "AFP-CDR", "PHL", "CONFIDENTIAL", ("commander",), "afp", "Chief of Staff's office, AFP"
    ),
    DemoUser(
        "AFP-TF-OPS",
        "PHL",
        "CONFIDENTIAL",
        ("operator",),
        "afp_hadr_tf",
        "AFP disaster-response task force operations",
    ),
)
FEEDS = (
    DemoUser("SIM-USA", "USA", "SECRET", ("operator",), None, "US track feed", feed=True),
    DemoUser("SIM-JPN", "JPN", "SECRET", ("operator",), None, "Japanese track feed", feed=True),
    DemoUser(
        "SIM-PHL", "PHL", "CONFIDENTIAL", ("operator",), None, "Philippine track feed", feed=True
    ),
)


@dataclass(frozen=True, slots=True)
class Issued:
    user: DemoUser
    token: str
    bundle: ClientBundle


class ProvisionError(RuntimeError):
    """A demo principal cannot be created as specified (e.g. its organisation is missing)."""


def check_users(users: tuple[DemoUser, ...], structure: Structure, config: Config) -> None:
    """Fail early, naming the user, when the scenario or policy cannot place someone."""
    policy = load_policy(config.security_policy)
    for user in users:
        if user.organisation is not None and user.organisation not in structure.organisations:
            raise ProvisionError(
                f"{user.callsign}: organisation {user.organisation!r} is not in scenario "
                f"{structure.name!r}"
            )
        policy.clearance_level(user.clearance, user.nation)


def provision(
    config: Config, structure: Structure, users: tuple[DemoUser, ...] = STAFF + FEEDS
) -> list[Issued]:
    """Create the CA (if missing), then each principal with a token and a client bundle."""
    check_users(users, structure, config)
    if not PkiPaths.under(config.data_dir).ca_exists():
        create_ca(config, [])
    issued: list[Issued] = []
    with opened_database(config) as engine:
        store = PrincipalStore(engine)
        audit = audit_log(config, engine)
        actor = cli_actor()
        for user in users:
            principal = user.principal()
            store.add(principal)
            audit.append(actor, "user.add", user.callsign, principal_attributes(principal))
            token = store.issue_token(user.callsign)
            audit.append(
                actor, "token.create", user.callsign, {"token_id": token.id, "expires": None}
            )
            bundle = issue_bundle(config, engine, user.callsign, None, DEFAULT_P12_PASSWORD)
            issued.append(Issued(user, token.token, bundle))
    return issued


def certs_dir(config: Config) -> Path:
    return config.data_dir / "certs"
