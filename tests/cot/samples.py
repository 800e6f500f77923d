"""CoT events shaped like what ATAK, WinTAK and iTAK really send (synthetic values)."""

from __future__ import annotations

PLI_UID = "ANDROID-589520ccfcd20f01"

# ATAK 5.x PLI: takv, contact with endpoint, __group, precisionlocation,
# status, track, and the `uid Droid` element that only exists in xmlDetail.
ATAK_PLI = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<event version="2.0" uid="ANDROID-589520ccfcd20f01" type="a-f-G-U-C" how="h-e"'
    b' time="2026-11-26T07:00:00.123Z" start="2026-11-26T07:00:00.123Z"'
    b' stale="2026-11-26T07:06:15.123Z">'
    b'<point lat="35.6895" lon="139.6917" hae="40.2" ce="9.9" le="9999999.0"/>'
    b"<detail>"
    b'<takv os="34" version="5.2.0.8 (e8c7e9c2).1718731585-CIV" device="GOOGLE PIXEL 8"'
    b' platform="ATAK-CIV"/>'
    b'<contact endpoint="*:-1:stcp" callsign="ANDREW"/>'
    b'<uid Droid="ANDREW"/>'
    b'<precisionlocation altsrc="GPS" geopointsrc="GPS"/>'
    b'<__group role="Team Member" name="Cyan"/>'
    b'<status battery="78"/>'
    b'<track course="123.4" speed="1.2"/>'
    b"</detail></event>"
)

# ATAK GeoChat direct message from ANDREW to BRAVO.
GEOCHAT = (
    b'<event version="2.0" uid="GeoChat.ANDROID-589520ccfcd20f01.BRAVO-UID.6a3f0b1e"'
    b' type="b-t-f" how="h-g-i-g-o" time="2026-11-26T07:01:00.000Z"'
    b' start="2026-11-26T07:01:00.000Z" stale="2026-11-27T07:01:00.000Z">'
    b'<point lat="35.6895" lon="139.6917" hae="40.2" ce="9.9" le="9999999.0"/>'
    b"<detail>"
    b'<__chat parent="RootContactGroup" groupOwner="false" messageId="6a3f0b1e"'
    b' chatroom="BRAVO" id="BRAVO-UID" senderCallsign="ANDREW">'
    b'<chatgrp uid0="ANDROID-589520ccfcd20f01" uid1="BRAVO-UID" id="BRAVO-UID"/>'
    b"</__chat>"
    b'<link uid="ANDROID-589520ccfcd20f01" type="a-f-G-U-C" relation="p-p"/>'
    b'<remarks source="BAO.F.ATAK.ANDROID-589520ccfcd20f01" to="BRAVO-UID"'
    b' time="2026-11-26T07:01:00.000Z">Meet at rally point &amp; wait</remarks>'
    b'<__serverdestination destinations="10.0.0.5:4242:tcp:ANDROID-589520ccfcd20f01"/>'
    b'<marti><dest callsign="BRAVO"/></marti>'
    b"</detail></event>"
)

# iTAK addresses by uid; a mission and a group destination too.
ITAK_DIRECT = (
    b'<event version="2.0" uid="marker-1" type="b-m-p-s-p-i" how="h-g-i-g-o"'
    b' time="2026-11-26T07:02:00Z" start="2026-11-26T07:02:00Z"'
    b' stale="2026-11-26T08:02:00Z" access="SECRET" caveat="REL TO"'
    b' releasableTo="USA JPN">'
    b'<point lat="14.5995" lon="120.9842" hae="9999999" ce="9999999" le="9999999"/>'
    b'<detail><contact callsign="Checkpoint 1"/>'
    b'<marti><dest uid="ITAK-UID-1"/><dest mission="hadr"/><dest group="Cyan"/></marti>'
    b"</detail></event>"
)


def event_xml(
    uid: str = "U-1",
    cot_type: str = "a-f-G-U-C",
    *,
    lat: str = "35.0",
    lon: str = "139.0",
    time: str = "2026-11-26T07:00:00Z",
    start: str | None = None,
    stale: str = "2026-11-26T07:05:00Z",
    detail: str = '<contact callsign="ALPHA"/>',
    extra: str = "",
) -> bytes:
    """A minimal event with one field swapped for a table test."""
    return (
        f'<event version="2.0" uid="{uid}" type="{cot_type}" how="m-g" time="{time}"'
        f' start="{start or time}" stale="{stale}"{extra}>'
        f'<point lat="{lat}" lon="{lon}" hae="0" ce="10" le="10"/>'
        f"<detail>{detail}</detail></event>"
    ).encode()
