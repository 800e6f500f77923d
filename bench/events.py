"""The benchmark's CoT traffic: ATAK-shaped XML PLI events, built and read back cheaply.

Each event carries a ``<__bench s= q= t=/>`` detail element (sender index, sequence
number, send time in monotonic microseconds). A TAK server passes unknown detail
elements through, so receivers can count per-sender gaps and measure latency without
an XML parser. The pattern accepts either quote style in case a server re-serialises.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# ATAK sends a declaration with single quotes before every event; keeping it makes
# the byte count and the parser's work match what a real client costs.
_TEMPLATE = (
    "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>"
    "<event version='2.0' uid='{uid}' type='a-f-G-U-C' time='{now}' start='{now}'"
    " stale='{stale}' how='m-g'{marking}>"
    "<point lat='{lat:.7f}' lon='{lon:.7f}' hae='41.3' ce='4.9' le='9999999.0'/>"
    "<detail>"
    "<takv os='34' version='4.10.0.57 (4c1ae3a8).1712846220-CIV' device='SAMSUNG SM-G998U'"
    " platform='ATAK-CIV'/>"
    "<contact endpoint='*:-1:stcp' callsign='{callsign}'/>"
    "<uid Droid='{callsign}'/>"
    "<precisionlocation altsrc='GPS' geopointsrc='GPS'/>"
    "<__group role='Team Member' name='Cyan'/>"
    "<status battery='{battery}'/>"
    "<track course='{course:.1f}' speed='1.4'/>"
    "<__bench s='{sender}' q='{seq}' t='{sent_us}'/>"
    "</detail></event>"
)

BENCH_RE = re.compile(rb"<__bench s=[\"'](\d+)[\"'] q=[\"'](\d+)[\"'] t=[\"'](\d+)[\"']")
EVENT_END = b"</event>"
STALE_AFTER = timedelta(minutes=6)


def sender_uid(sender: int) -> str:
    """ATAK-like device uid; distinct per sender so the server keeps one picture item each."""
    return f"ANDROID-b3nc{sender:012x}"


def sender_callsign(sender: int) -> str:
    return f"BENCH {sender // 10}-{sender % 10}"


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


class TimeStrings:
    """``time``/``stale`` strings, re-formatted at most every ``refresh_s`` of wall time.

    Formatting a datetime costs more than the rest of an event; flat-out senders
    share one instance so the cost is paid a few times per second, not per event.
    """

    def __init__(self, refresh_s: float = 0.1) -> None:
        self._refresh = refresh_s
        self._until = 0.0
        self.now = ""
        self.stale = ""

    def get(self, mono_s: float) -> tuple[str, str]:
        if mono_s >= self._until:
            wall = datetime.now(UTC)
            self.now, self.stale = iso(wall), iso(wall + STALE_AFTER)
            self._until = mono_s + self._refresh
        return self.now, self.stale


def pli(sender: int, seq: int, sent_us: int, now: str, stale: str, marking: str = "") -> bytes:
    """One PLI of ATAK's size and shape (about 700 bytes). ``marking`` is e.g. ``UNCLASSIFIED``;
    empty means unmarked, as ATAK sends it."""
    return _TEMPLATE.format(
        uid=sender_uid(sender),
        callsign=sender_callsign(sender),
        now=now,
        stale=stale,
        marking=f" access='{marking}'" if marking else "",
        lat=35.6 + sender * 1e-3 + (seq % 1000) * 1e-6,
        lon=139.7 + sender * 1e-3 + (seq % 1000) * 1e-6,
        battery=99 - sender % 50,
        course=(seq * 7) % 360,
        sender=sender,
        seq=seq,
        sent_us=sent_us,
    ).encode()


def takp_request(now: str, stale: str) -> bytes:
    """The client's ``t-x-takp-q``: switch this connection to TAK protocol v1 (protobuf)."""
    return (
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>"
        f"<event version='2.0' uid='bench-takp' type='t-x-takp-q' time='{now}' start='{now}'"
        f" stale='{stale}' how='m-g'><point lat='0' lon='0' hae='0' ce='9999999'"
        " le='9999999'/><detail><TakControl><TakRequest version='1'/></TakControl>"
        "</detail></event>"
    ).encode()


# The cluster and federation latency rows: a small PLI whose uid carries its send time,
# ``lat-<sender>-<time.time_ns()>``, read back at the receiver with LATENCY_UID.
LATENCY_UID = re.compile(rb'uid="lat-(\d+)-(\d+)"')


def latency_pli(uid: str, now: datetime | None = None) -> bytes:
    now = now or datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    stale = (now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return (
        f'<event version="2.0" uid="{uid}" type="a-f-G-U-C" how="m-g" time="{stamp}" '
        f'start="{stamp}" stale="{stale}"><point lat="35.7" lon="139.3" hae="0" ce="9" le="9"/>'
        f'<detail><contact callsign="{uid[:12]}"/></detail></event>'
    ).encode()
