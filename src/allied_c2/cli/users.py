"""`allied-c2 user` commands (`allied-c2 token`: cli/tokens.py).

Every change is recorded in the audit log or undone (cli/audited.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from allied_c2.cli.audited import fail as _fail
from allied_c2.cli.audited import record_change
from allied_c2.cli.ca import create_ca, load_authority
from allied_c2.cli.common import ConfigOption, DatabaseUrlOption, DataDirOption, resolve_config
from allied_c2.cli.connection import register as register_package
from allied_c2.cli.enroll import read_password, set_password
from allied_c2.cli.enroll import register as register_enrollment
from allied_c2.cli.groups import GroupOption, apply_groups, groups_text, parse_groups
from allied_c2.cli.tokens import token_app
from allied_c2.config import Config
from allied_c2.pki.authority import CALLSIGN, CertificateAuthority, PkiError, PkiPaths
from allied_c2.pki.bundle import DEFAULT_P12_PASSWORD, ClientBundle, write_client_bundle
from allied_c2.security.levels import MarkingError
from allied_c2.security.policy import load_policy
from allied_c2.security.principals import ROLES, Principal
from allied_c2.store.db import opened_database
from allied_c2.store.principals import NATION, PrincipalError, PrincipalStore

__all__ = ["issue_bundle", "token_app", "user_app"]

user_app = typer.Typer(help="Principals and their client certificates.", no_args_is_help=True)
register_enrollment(user_app)  # user invite, user passwd (cli/enroll.py)
register_package(user_app)  # user package (cli/connection.py)

NationOption = Annotated[str, typer.Option("--nation", help="ISO 3166 alpha-3, e.g. JPN")]
ClearanceOption = Annotated[str, typer.Option("--clearance", help="e.g. SECRET")]
CoiOption = Annotated[
    list[str] | None, typer.Option("--coi", help="Community of interest (repeatable)")
]
RoleOption = Annotated[
    list[str] | None, typer.Option("--role", help=f"One of {', '.join(ROLES)} (repeatable)")
]
OrgOption = Annotated[str | None, typer.Option("--org", help="Organisation id")]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Where to write the files. Default DATA_DIR/certs")
]
PasswordOption = Annotated[
    str, typer.Option("--p12-password", help="PKCS#12 password (TAK default: atakatak)")
]


def _check_nation(nation: str) -> str:
    if not NATION.match(nation):
        _fail(f"nation {nation!r} is not an ISO 3166 alpha-3 code (3 capital letters, e.g. JPN)")
    return nation


def _check_roles(roles: list[str] | None) -> frozenset[str]:
    chosen = frozenset(roles or ["operator"])
    unknown = sorted(chosen - set(ROLES))
    if unknown:
        _fail(f"unknown role(s) {', '.join(unknown)}; choose from {', '.join(ROLES)}")
    return chosen


def issue_bundle(
    config: Config,
    engine: Engine,
    callsign: str,
    out: Path | None,
    password: str,
    authority: CertificateAuthority | None = None,
) -> ClientBundle:
    """Issue a client certificate, bind it to the principal, write the client's files.

    The files are written only once the issue is recorded: a certificate whose
    audit entry failed is revoked and never handed out.
    """
    authority = authority or load_authority(config)  # may ask for the CA key's passphrase
    issued = authority.issue_client(callsign)
    store = PrincipalStore(engine)
    store.record_certificate(
        callsign,
        issued.fingerprint,
        issued.certificate.serial_number,
        issued.certificate.not_valid_after_utc,
    )
    record_change(
        config,
        engine,
        "certificate.issue",
        callsign,
        {
            "fingerprint": issued.fingerprint,
            "serial": format(issued.certificate.serial_number, "x"),
            "not_after": issued.certificate.not_valid_after_utc.isoformat(),
        },
        undo=lambda: store.revoke_certificate(issued.fingerprint),
    )
    return write_client_bundle(
        issued, authority.certificate, out or config.data_dir / "certs", callsign, password
    )


def _report_bundle(bundle: ClientBundle, password: str) -> None:
    typer.echo(f"certificate: {bundle.cert}")
    typer.echo(f"key:         {bundle.key}")
    typer.echo(f"PKCS#12:     {bundle.p12} (password {password!r}; ATAK/WinTAK/iTAK)")
    typer.echo(f"CA:          {bundle.ca} (trust store: {bundle.truststore})")


def principal_attributes(principal: Principal) -> dict[str, object]:
    return {
        "nation": principal.nation,
        "clearance": principal.clearance,
        "cois": sorted(principal.cois),
        "roles": sorted(principal.roles),
        "organisation": principal.organisation,
    }


def _check_clearance(config: Config, principal: Principal) -> None:
    """Refuse a clearance the security policy cannot place: it would deny everything."""
    try:
        load_policy(config.security_policy).clearance_level(principal.clearance, principal.nation)
    except MarkingError as exc:
        _fail(f"{exc}; use a level such as SECRET, CONFIDENTIAL, JPN:GOKUHI, NATO:SECRET")


@user_app.command("add")
def add(
    callsign: Annotated[str, typer.Option("--callsign", help="Callsign; the certificate's CN")],
    nation: NationOption,
    clearance: ClearanceOption,
    coi: CoiOption = None,
    role: RoleOption = None,
    org: OrgOption = None,
    out: OutOption = None,
    p12_password: PasswordOption = DEFAULT_P12_PASSWORD,
    group: GroupOption = None,
    password: Annotated[
        bool,
        typer.Option(
            "--password", help="Also set an enrollment password (ALLIED_C2_PASSWORD or asked)"
        ),
    ] = False,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Store a principal and issue its client certificate (creates the CA if needed)."""
    config = resolve_config(data_dir, database_url, config_file)
    memberships = parse_groups(group)
    secret = read_password() if password else None
    if not CALLSIGN.match(callsign):
        _fail(f"callsign {callsign!r}: use 1-64 letters, digits, '-', '_' or '.'")
    principal = Principal(
        callsign=callsign,
        nation=_check_nation(nation),
        clearance=clearance.strip().upper(),
        cois=frozenset(coi or ()),
        roles=_check_roles(role),
        organisation=org,
    )
    _check_clearance(config, principal)
    if not PkiPaths.under(config.data_dir).ca_exists():
        paths = create_ca(config, [])
        typer.echo(f"no CA in {paths.directory}: created one (allied-c2 ca init)")
    try:
        authority = load_authority(config)  # before anything is stored: a wrong passphrase
    except PkiError as exc:  # must not leave a principal without a certificate
        _fail(str(exc))
    with opened_database(config) as engine:
        try:
            store = PrincipalStore(engine)
            try:
                store.add(principal)
            except PrincipalError as exc:
                _fail(f"{exc} (change it with `allied-c2 user update`)")
            record_change(
                config,
                engine,
                "user.add",
                callsign,
                principal_attributes(principal),
                undo=lambda: store.revoke(callsign),
            )
            if memberships:
                apply_groups(config, engine, callsign, memberships)
            if secret is not None:
                set_password(config, engine, callsign, secret)
            bundle = issue_bundle(config, engine, callsign, out, p12_password, authority)
        except PkiError as exc:
            _fail(str(exc))
    typer.echo(f"added {callsign} ({principal.nation}, {principal.clearance})")
    if memberships:
        typer.echo(f"groups:      {groups_text(memberships)}")
    _report_bundle(bundle, p12_password)


@user_app.command("update")
def update(
    callsign: Annotated[str, typer.Argument(help="Callsign")],
    nation: Annotated[str | None, typer.Option("--nation")] = None,
    clearance: Annotated[str | None, typer.Option("--clearance")] = None,
    coi: CoiOption = None,
    no_coi: Annotated[bool, typer.Option("--no-coi", help="Remove all COIs")] = False,
    role: RoleOption = None,
    org: OrgOption = None,
    group: GroupOption = None,
    no_group: Annotated[
        bool, typer.Option("--no-group", help="Remove all groups (back to __ANON__)")
    ] = False,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Change a principal's attributes; live connections pick them up, no reissue needed.

    ``--group`` replaces the principal's groups; its connected clients are sent
    ``t-x-g-c`` and fetch their channels again."""
    config = resolve_config(data_dir, database_url, config_file)
    memberships = [] if no_group else parse_groups(group)
    with opened_database(config) as engine:
        store = PrincipalStore(engine)
        current = store.get(callsign)
        if current is None:
            _fail(f"no active principal {callsign!r}")
        changed = Principal(
            callsign=callsign,
            nation=_check_nation(nation) if nation is not None else current.nation,
            clearance=clearance.strip().upper() if clearance is not None else current.clearance,
            cois=frozenset() if no_coi else frozenset(coi) if coi else current.cois,
            roles=_check_roles(role) if role else current.roles,
            organisation=org if org is not None else current.organisation,
        )
        try:
            store.update(changed)
        except PrincipalError as exc:
            _fail(str(exc))
        record_change(
            config,
            engine,
            "user.update",
            callsign,
            {"before": principal_attributes(current), "after": principal_attributes(changed)},
            undo=lambda: store.update(current),
        )
        if memberships is not None:
            apply_groups(config, engine, callsign, memberships)
    typer.echo(f"updated {callsign}: {json.dumps(principal_attributes(changed))}")
    if memberships is not None:
        typer.echo(f"groups: {groups_text(memberships)}")


@user_app.command("cert")
def cert(
    callsign: Annotated[str, typer.Argument(help="Callsign")],
    out: OutOption = None,
    p12_password: PasswordOption = DEFAULT_P12_PASSWORD,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Issue another client certificate for an existing principal (e.g. a new device)."""
    config = resolve_config(data_dir, database_url, config_file)
    with opened_database(config) as engine:
        try:
            if PrincipalStore(engine).get(callsign) is None:
                _fail(f"no active principal {callsign!r}")
            bundle = issue_bundle(config, engine, callsign, out, p12_password)
        except PkiError as exc:
            _fail(str(exc))
    _report_bundle(bundle, p12_password)


@user_app.command("revoke")
def revoke(
    callsign: Annotated[str, typer.Argument(help="Callsign")],
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Revoke a principal, its certificates and tokens (live connections are closed)."""
    config = resolve_config(data_dir, database_url, config_file)
    with opened_database(config) as engine:
        store = PrincipalStore(engine)
        certificates = [c.fingerprint for c in store.certificates(callsign) if not c.revoked]
        if not store.revoke(callsign):
            _fail(f"no active principal {callsign!r}")
        record_change(config, engine, "user.revoke", callsign, {"certificates": certificates})
    typer.echo(f"revoked {callsign} ({len(certificates)} certificate(s) and all tokens)")


@user_app.command("list")
def list_users(
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """All principals, revoked ones included."""
    config = resolve_config(data_dir, database_url, config_file)
    with opened_database(config) as engine:
        records = PrincipalStore(engine).list()
    table = Table(title=f"principals ({len(records)})")
    for column in ("callsign", "nation", "clearance", "COIs", "roles", "org", "status", "certs"):
        table.add_column(column, overflow="fold")
    for record in records:
        p = record.principal
        table.add_row(
            p.callsign,
            p.nation or "-",
            p.clearance,
            ", ".join(sorted(p.cois)) or "-",
            ", ".join(sorted(p.roles)) or "-",
            p.organisation or "-",
            "revoked" if record.revoked else "active",
            str(record.active_certificates),
        )
    Console().print(table)
