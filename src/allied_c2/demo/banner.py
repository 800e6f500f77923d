"""What the demo prints when it is ready: where to look, who to be, how to connect."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from allied_c2.alliance.model import Structure
from allied_c2.demo.motion import Track
from allied_c2.demo.principals import Issued
from allied_c2.demo.simulator import connect_host
from allied_c2.pki.bundle import DEFAULT_P12_PASSWORD, TRUSTSTORE_NAME


def _url(address: str) -> str:
    host, _, port = address.rpartition(":")
    host = connect_host(host)
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _organisation(structure: Structure, org_id: str | None) -> str:
    if org_id is None:
        return "-"
    org = structure.organisations.get(org_id)
    return f"{org.name} ({org_id})" if org is not None else org_id


def render(
    endpoints: dict[str, str],
    issued: Sequence[Issued],
    structure: Structure,
    tracks: Sequence[Track],
    data_dir: Path,
    speed: float,
    seconds: float | None,
) -> str:
    exercise = structure.exercise.name if structure.exercise else structure.name
    certs = data_dir / "certs"
    lines = [
        "",
        "=" * 78,
        f"allied-c2 demo: {exercise}",
        "All data is synthetic and unclassified; the markings are exercise markings.",
        "=" * 78,
    ]
    if "http" in endpoints:
        url = _url(endpoints["http"])
        lines += [
            f"Web COP:   {url}   (sign in with a token below)",
            f"API:       {url}api/docs",
        ]
    lines += [f"Data dir:  {data_dir}", "", "Sign in as (bearer tokens, also in demo.json):"]
    staff = [i for i in issued if not i.user.feed]
    width = max(len(i.user.callsign) for i in staff)
    for item in staff:
        user = item.user
        lines.append(
            f"  {user.callsign:<{width}}  {user.nation}  {user.clearance:<12}  "
            f"{','.join(user.roles):<9}  {_organisation(structure, user.organisation)}"
        )
        lines.append(f"  {'':<{width}}  token: {item.token}")
    marks = Counter(t.mark.banner for t in tracks)
    feeds = ", ".join(i.user.callsign for i in issued if i.user.feed)
    lines += [
        "",
        f"Simulator: {len(tracks)} tracks at {speed:g}x speed over TLS as {feeds}",
        "  markings: " + "; ".join(f"{n} {banner}" for banner, n in marks.most_common()),
        "  requests and readiness reports are filed by the people above, over the API",
        "",
        "TAK clients (ATAK, WinTAK, iTAK):",
    ]
    if "cot_tcp" in endpoints:
        lines.append(
            f"  anonymous  TCP {endpoints['cot_tcp']}: receives only UNCLASSIFIED, uncaveated items"
        )
    if "cot_tls" in endpoints:
        lines += [
            f"  identified SSL {endpoints['cot_tls']}: client certificate {certs}/CALLSIGN.p12",
            f"             (password {DEFAULT_P12_PASSWORD}), trust store {certs}/{TRUSTSTORE_NAME}"
            f" (same password) or {certs}/ca.pem",
        ]
    lines += [
        f"Terminal:  allied-c2 watch --data-dir {data_dir}",
        "",
        f"Stops by itself after {seconds:g} s." if seconds else "Ctrl+C stops the demo.",
        "=" * 78,
        "",
    ]
    return "\n".join(lines)
