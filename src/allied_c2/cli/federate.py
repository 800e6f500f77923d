"""`allied-c2 federate`: this server's federation certificate and its federates.

Every change is recorded in the audit log or undone (cli/audited.py). A running
server polls the store and applies a change within a second: ``remove`` closes
the link at once, ``update`` re-decides what waits for the peer.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509

from allied_c2.cli.audited import fail, record_change
from allied_c2.cli.ca import create_ca, load_authority
from allied_c2.cli.common import ConfigOption, DatabaseUrlOption, DataDirOption, resolve_config
from allied_c2.config import Config, ConfigError, Endpoint
from allied_c2.federation.certs import (
    FederationPaths,
    issue_federation_certificate,
    load_identity,
)
from allied_c2.federation.identity import (
    certificate_facts,
    check_issued_by,
    tak_fingerprint,
)
from allied_c2.federation.rules import RulesError, load_rules
from allied_c2.pki.authority import CALLSIGN, PkiError, PkiPaths
from allied_c2.security.levels import MarkingError
from allied_c2.security.policy import load_policy
from allied_c2.store.db import opened_database
from allied_c2.store.federates import FederateError, FederateRecord, FederateStore
from allied_c2.store.principals import NATION

app = typer.Typer(help="Federation with other servers (TAK federation v2).", no_args_is_help=True)

NameOption = Annotated[str | None, typer.Option("--name", help="The federate's name")]
NameArgument = Annotated[str | None, typer.Argument(help="The federate's name (or --name)")]
CoiOption = Annotated[
    list[str] | None, typer.Option("--coi", help="Community of interest (repeatable)")
]
RelayOption = Annotated[
    list[str] | None,
    typer.Option(
        "--relay-from",
        help="Let items from this other federate be relayed to this one (repeatable)",
    ),
]


def _name(argument: str | None, option: str | None) -> str:
    name = option or argument
    if not name:
        fail("give the federate's name (--name NAME)")
    return name


def _read_pem(path: Path, what: str) -> tuple[str, x509.Certificate]:
    try:
        text = path.read_text(encoding="ascii")
        return text, x509.load_pem_x509_certificate(text.encode("ascii"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        fail(f"{what} {path}: not a PEM certificate ({exc})")


def _check_clearance(config: Config, nation: str, clearance: str) -> None:
    try:
        load_policy(config.security_policy).clearance_level(clearance, nation)
    except MarkingError as exc:
        fail(f"clearance: {exc}; use a level such as SECRET, JPN:GOKUHI, PHL:CONFIDENTIAL")


def _check_connect(value: str | None) -> str | None:
    if value is None or value.lower() == "off":
        return None
    try:
        endpoint = Endpoint.parse(value)
    except ConfigError as exc:
        fail(str(exc))
    return None if endpoint is None else str(endpoint)


def _rules(config: Config, path: Path) -> tuple[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {path}: {exc}")
    try:
        load_rules(text, str(path), load_policy(config.security_policy))
    except RulesError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        fail(f"{path}: {len(exc.problems)} problem(s); nothing changed")
    return text, path.name


def _digest(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def attributes(record: FederateRecord) -> dict[str, object]:
    return {
        "nation": record.nation,
        "clearance": record.clearance,
        "cois": sorted(record.cois),
        "fingerprint": record.fingerprint,
        "connect": record.connect,
        "rules": record.rules_name,
        "rules_sha256": _digest(record.rules),
        "relay_from": sorted(record.relay_from),
    }


@app.command("cert")
def cert(
    out: Annotated[Path, typer.Option("--out", help="Where to write the files for the peer")],
    host: Annotated[
        list[str] | None,
        typer.Option("--host", help="A name or address peers dial (repeatable)"),
    ] = None,
    renew: Annotated[bool, typer.Option("--renew", help="Issue a new certificate")] = False,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Write this server's federation certificate and CA for a peer administrator."""
    config = resolve_config(data_dir, database_url, config_file)
    paths = FederationPaths.under(config.data_dir)
    if not PkiPaths.under(config.data_dir).ca_exists():
        create_ca(config, [])
        typer.echo("no CA yet: created one (allied-c2 ca init)")
    if renew or host or not paths.exists():
        try:
            issue_federation_certificate(config.data_dir, load_authority(config), host or ())
        except PkiError as exc:
            fail(str(exc))
        with opened_database(config) as engine:
            identity = load_identity(config.data_dir)
            record_change(
                config,
                engine,
                "federation.cert",
                identity.server_name,
                {"fingerprint": identity.server_id, "names": list(identity.facts.names)},
            )
    identity = load_identity(config.data_dir)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(paths.cert, out / "federation.pem")
    shutil.copyfile(paths.ca, out / "ca.pem")
    typer.echo(f"certificate: {out / 'federation.pem'} (names: {', '.join(identity.facts.names)})")
    typer.echo(f"CA:          {out / 'ca.pem'}")
    typer.echo(f"SHA-256:     {tak_fingerprint(identity.server_id)}")
    typer.echo(
        "Give both files to the peer's administrator (`federate add --peer-cert --peer-ca`)."
    )


@app.command("add")
def add(
    name: NameOption = None,
    nation: Annotated[str, typer.Option("--nation", help="The peer's nation (alpha-3)")] = "",
    clearance: Annotated[
        str, typer.Option("--clearance", help="Accreditation: the highest level the peer holds")
    ] = "",
    peer_ca: Annotated[Path | None, typer.Option("--peer-ca", help="The peer's CA (PEM)")] = None,
    peer_cert: Annotated[
        Path | None, typer.Option("--peer-cert", help="The peer's federation certificate (PEM)")
    ] = None,
    connect: Annotated[
        str | None, typer.Option("--connect", help="HOST:PORT: this server dials the peer")
    ] = None,
    coi: CoiOption = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="Sanitisation rules file")] = None,
    relay_from: RelayOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Register a peer server by its certificate; with --connect this server dials it."""
    config = resolve_config(data_dir, database_url, config_file)
    name = _name(None, name)
    if not CALLSIGN.match(name):
        fail(f"name {name!r}: use 1-64 letters, digits, '-', '_' or '.'")
    if not NATION.match(nation):
        fail(f"--nation {nation!r}: an ISO 3166 alpha-3 code (3 capital letters, e.g. JPN)")
    if not clearance.strip():
        fail("--clearance is required: the peer's accreditation, e.g. SECRET")
    if peer_ca is None or peer_cert is None:
        fail("--peer-ca and --peer-cert are required (from the peer's `federate cert`)")
    clearance = clearance.strip().upper()
    _check_clearance(config, nation, clearance)
    ca_text, ca = _read_pem(peer_ca, "--peer-ca")
    cert_text, certificate = _read_pem(peer_cert, "--peer-cert")
    problem = check_issued_by(certificate, ca)
    if problem is not None:
        fail(problem)
    facts = certificate_facts(certificate)
    rules_text, rules_name = _rules(config, rules) if rules is not None else (None, None)
    record = FederateRecord(
        name=name,
        nation=nation,
        clearance=clearance,
        fingerprint=facts.fingerprint,
        peer_cert=cert_text,
        peer_ca=ca_text,
        cois=frozenset(coi or ()),
        connect=_check_connect(connect),
        rules=rules_text,
        rules_name=rules_name,
        relay_from=frozenset(relay_from or ()),
    )
    with opened_database(config) as engine:
        store = FederateStore(engine)
        try:
            store.add(record)
        except FederateError as exc:
            fail(f"{exc} (change it with `allied-c2 federate update`)")
        record_change(
            config,
            engine,
            "federate.add",
            name,
            attributes(record),
            undo=lambda: store.remove(name),
        )
    typer.echo(f"added federate {name} ({nation}, {clearance}), certificate {facts.tak_name}")
    typer.echo(f"SHA-256: {tak_fingerprint(facts.fingerprint)}")
    if record.connect:
        typer.echo(f"this server dials {record.connect} and keeps the link up")


@app.command("update")
def update(
    name_argument: NameArgument = None,
    name: NameOption = None,
    nation: Annotated[str | None, typer.Option("--nation")] = None,
    clearance: Annotated[str | None, typer.Option("--clearance")] = None,
    coi: CoiOption = None,
    no_coi: Annotated[bool, typer.Option("--no-coi", help="Remove all COIs")] = False,
    connect: Annotated[str | None, typer.Option("--connect", help="HOST:PORT, or off")] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="Sanitisation rules file")] = None,
    no_rules: Annotated[bool, typer.Option("--no-rules", help="Remove the rules")] = False,
    peer_ca: Annotated[Path | None, typer.Option("--peer-ca")] = None,
    peer_cert: Annotated[Path | None, typer.Option("--peer-cert")] = None,
    relay_from: RelayOption = None,
    no_relay: Annotated[bool, typer.Option("--no-relay", help="Relay from no federate")] = False,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Change a federate: accreditation, COIs, address, certificate, rules (--rules FILE)."""
    config = resolve_config(data_dir, database_url, config_file)
    name = _name(name_argument, name)
    with opened_database(config) as engine:
        store = FederateStore(engine)
        current = store.get(name)
        if current is None:
            fail(f"no federate {name!r}")
        changed = current
        if nation is not None:
            if not NATION.match(nation):
                fail(f"--nation {nation!r}: an ISO 3166 alpha-3 code")
            changed = changed.evolve(nation=nation)
        if clearance is not None:
            changed = changed.evolve(clearance=clearance.strip().upper())
        _check_clearance(config, changed.nation, changed.clearance)
        if no_coi or coi:
            changed = changed.evolve(cois=frozenset(coi or ()))
        if connect is not None:
            changed = changed.evolve(connect=_check_connect(connect))
        if no_rules:
            changed = changed.evolve(rules=None, rules_name=None)
        elif rules is not None:
            text, file_name = _rules(config, rules)
            changed = changed.evolve(rules=text, rules_name=file_name)
        if no_relay or relay_from:
            changed = changed.evolve(relay_from=frozenset(relay_from or ()))
        if peer_ca is not None or peer_cert is not None:
            ca_text, ca = (
                _read_pem(peer_ca, "--peer-ca")
                if peer_ca is not None
                else (current.peer_ca, x509.load_pem_x509_certificate(current.peer_ca.encode()))
            )
            cert_text, certificate = (
                _read_pem(peer_cert, "--peer-cert")
                if peer_cert is not None
                else (current.peer_cert, x509.load_pem_x509_certificate(current.peer_cert.encode()))
            )
            problem = check_issued_by(certificate, ca)
            if problem is not None:
                fail(problem)
            fingerprint = certificate_facts(certificate).fingerprint
            changed = changed.evolve(peer_ca=ca_text, peer_cert=cert_text, fingerprint=fingerprint)
        try:
            store.update(changed)
        except FederateError as exc:
            fail(str(exc))
        before, after = attributes(current), attributes(changed)
        record_change(
            config,
            engine,
            "federate.update",
            name,
            {"before": before, "after": after},
            undo=lambda: store.update(current),
        )
    typer.echo(f"updated federate {name}: {json.dumps(attributes(changed))}")


@app.command("remove")
def remove(
    name_argument: NameArgument = None,
    name: NameOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Remove a federate: its certificate is refused and a running server closes the link."""
    config = resolve_config(data_dir, database_url, config_file)
    name = _name(name_argument, name)
    with opened_database(config) as engine:
        store = FederateStore(engine)
        if not store.remove(name):
            fail(f"no federate {name!r}")
        record_change(config, engine, "federate.remove", name, {})
    typer.echo(f"removed federate {name}: a running server closes the link within a second")


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
) -> None:
    """The registered federates (the live link state: GET /api/v1/federation)."""
    config = resolve_config(data_dir, database_url, config_file)
    with opened_database(config) as engine:
        records = FederateStore(engine).list()
    if as_json:
        typer.echo(json.dumps([{"name": r.name, **attributes(r)} for r in records], indent=2))
        return
    if not records:
        typer.echo("no federates")
        return
    for r in records:
        cois = f" COI {'/'.join(sorted(r.cois))}" if r.cois else ""
        dial = f" dials {r.connect}" if r.connect else " listens"
        rules_text = f" rules {r.rules_name}" if r.rules_name else ""
        typer.echo(f"{r.name}: {r.nation} {r.clearance}{cois},{dial}{rules_text}")
        typer.echo(f"  SHA-256 {tak_fingerprint(r.fingerprint)}")
