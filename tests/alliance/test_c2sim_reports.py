"""C2SIM position and observation reports as CoT, and CoT as position reports."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from allied_c2.alliance.c2sim_reports import (
    STALE_AFTER,
    KnownUnit,
    position_reports,
    read_reports,
    sighting_event,
    subject_uuid,
)
from allied_c2.alliance.c2sim_xml import VERSIONS, C2SIMError
from allied_c2.alliance.symbology import cot_type_from_sidc, echelon_from_sidc
from tests.alliance.c2sim_material import (
    OBSERVATION,
    POSITION,
    TNO_POSITION,
    assert_valid,
    sample,
)

NOW = datetime(2026, 3, 4, 1, 0, tzinfo=UTC)


def test_gmu_position_report() -> None:
    batch = read_reports(sample(POSITION))
    assert batch.classification is None and batch.unmapped == []
    (sighting,) = batch.sightings
    assert (sighting.subject, sighting.kind) == ("00000000-0007-0001-0103-000000000000", "position")
    assert (sighting.lat, sighting.lon) == (58.507, 15.880)
    assert sighting.remarks == ("operational status FullyOperational", "strength 85%")
    # "0000-00-00T00:10:00Z" is a scenario-relative time, not a date: receipt time is used.
    assert sighting.time is None and "is not a calendar time" in batch.notes[0]
    event = sighting_event(sighting, NOW, marking=("SECRET", None, None))
    assert event.uid == "c2sim-00000000-0007-0001-0103-000000000000"
    assert (event.type, event.how, event.access) == ("a-f-G", "m-p", "SECRET")
    assert event.time == NOW and event.stale == NOW + STALE_AFTER
    assert event.remarks is not None and "strength 85%" in event.remarks


def test_gmu_observation_report() -> None:
    (sighting,) = read_reports(sample(OBSERVATION)).sightings
    assert sighting.kind == "observation" and sighting.subject.endswith("0002-1001-000000000000")
    assert (sighting.lat, sighting.lon) == (58.640, 16.223)
    assert sighting_event(sighting, NOW).type == "a-u-G"  # an observed actor of unknown side


def test_tno_2_0_0_message_with_header() -> None:
    (sighting,) = read_reports(sample(TNO_POSITION)).sightings
    assert sighting.time == datetime(2025, 4, 28, 20, 20, 34, tzinfo=UTC)
    event = sighting_event(sighting, NOW, known=KnownUnit("Alpha Company", "SFGPUCI----E---"))
    assert event.callsign == "Alpha Company" and event.type == "a-f-G-U-C-I"
    assert event.start == sighting.time and event.stale == NOW + STALE_AFTER


OBSERVED = b"""<?xml version="1.0"?>
<Message xmlns="http://www.sisostds.org/schemas/C2SIM/1.1">
 <C2SIMHeader><CommunicativeActTypeCode>Inform</CommunicativeActTypeCode>
  <ConversationID>11111111-1111-1111-1111-111111111111</ConversationID>
  <FromSendingSystem>SIM</FromSendingSystem><MessageID>22222222-2222-2222-2222-222222222222</MessageID>
  <Protocol>SISO-STD-C2SIM</Protocol><ProtocolVersion>1.0.0</ProtocolVersion>
  <SecurityClassificationCode>Secret</SecurityClassificationCode>
  <ToReceivingSystem>ALL</ToReceivingSystem></C2SIMHeader>
 <MessageBody><DomainMessageBody><ReportBody>
  <FromSender>33333333-3333-3333-3333-333333333333</FromSender>
  <ToReceiver>00000000-0000-0000-0000-000000000000</ToReceiver>
  <ReportContent><ObservationReportContent>
   <TimeOfObservation><DateTime><IsoDateTime>2026-03-04T00:55:00Z</IsoDateTime></DateTime></TimeOfObservation>
   <Observation><NameObservation><ActorReference>44444444-4444-4444-4444-444444444444</ActorReference>
    <HostilityStatusCode>HO</HostilityStatusCode><Name>OPFOR RECCE</Name>
   </NameObservation></Observation>
   <Observation><SubjectTypeObservation><EntityType><APP6-SIDC><SIDCString>SHGPUCR----D---</SIDCString>
    </APP6-SIDC></EntityType></SubjectTypeObservation></Observation>
   <Observation><LocationObservation><ActorReference>44444444-4444-4444-4444-444444444444</ActorReference>
    <ConfidenceLevel>0.7</ConfidenceLevel>
    <Location><GeodeticCoordinate><Latitude>14.8</Latitude><Longitude>120.3</Longitude></GeodeticCoordinate></Location>
   </LocationObservation></Observation>
  </ObservationReportContent></ReportContent>
  <ReportContent><TaskStatus><TaskStatusCode>x</TaskStatusCode></TaskStatus></ReportContent>
  <ReportID>55555555-5555-5555-5555-555555555555</ReportID>
  <ReportingEntity>33333333-3333-3333-3333-333333333333</ReportingEntity>
 </ReportBody></DomainMessageBody></MessageBody>
</Message>"""


def test_observations_of_one_actor_are_one_sighting() -> None:
    batch = read_reports(OBSERVED)
    assert batch.classification == "Secret"
    (sighting,) = batch.sightings
    event = sighting_event(sighting, NOW)
    assert event.type == "a-h-G-U-C-R" and event.callsign == "OPFOR RECCE"
    assert event.time == datetime(2026, 3, 4, 0, 55, tzinfo=UTC)
    assert event.remarks is not None and "confidence 0.7" in event.remarks
    assert "by 33333333-3333-3333-3333-333333333333" in event.remarks
    assert [str(u) for u in batch.unmapped] == [
        "ReportBody/ReportContent/TaskStatus/TaskStatusCode ×1 (x)"
    ]


def test_not_a_report() -> None:
    with pytest.raises(C2SIMError, match="no ReportBody"):
        read_reports(b"<MessageBody/>")


@pytest.mark.parametrize("version", list(VERSIONS))
def test_picture_as_position_reports_validates_and_reads_back(version: str) -> None:
    events = [
        sighting_event(s, NOW)
        for name in (POSITION, OBSERVATION, TNO_POSITION)
        for s in read_reports(sample(name)).sightings
    ]
    moving = events[0].evolve(uid="ANDROID-1", course=90.0, speed=4.5)
    document = position_reports([*events, moving], "Secret", c2sim_version=version)
    assert document is not None
    assert_valid(document, version)
    back = read_reports(document)
    assert back.classification == (None if version.startswith("2.0.0") else "Secret")
    assert [s.subject for s in back.sightings] == [
        *(e.uid.removeprefix("c2sim-") for e in events),
        subject_uuid("ANDROID-1"),
    ]
    if VERSIONS[version].report_motion:
        assert (back.sightings[-1].course, back.sightings[-1].speed) == (90.0, 4.5)
    assert position_reports([], "Unclassified") is None


def test_sidc_to_cot_type() -> None:
    assert cot_type_from_sidc("SFGPUCIZ---E---") == "a-f-G-U-C-I-Z"
    assert cot_type_from_sidc("SHGPEXI--------") == "a-h-G-E-X-I"
    assert cot_type_from_sidc("SDSPC-------US-") == "a-f-S-C"  # exercise friend
    assert cot_type_from_sidc("GFGPGLB--------") is None  # a tactical graphic
    assert cot_type_from_sidc("10031000001211000000") is None  # 2525D number form
    assert echelon_from_sidc("SFGPUCIZ---E---") == "company"
