from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from allied_c2.security.principals import Principal
from allied_c2.store.principals import (
    PrincipalError,
    PrincipalExists,
    PrincipalStore,
    UnknownPrincipal,
    token_hash,
)

NOW = datetime.now(UTC)
FP1 = "ab" * 32
FP2 = "cd" * 32

SAKURA = Principal(
    callsign="SAKURA",
    nation="JPN",
    clearance="SECRET",
    cois=frozenset({"BLUE", "MARITIME"}),
    roles=frozenset({"operator"}),
    organisation="jgsdf-1",
)


def test_add_get_list(engine: Engine) -> None:
    store = PrincipalStore(engine)
    record = store.add(SAKURA)
    assert record.principal == SAKURA
    assert not record.revoked
    assert store.get("SAKURA") == SAKURA
    assert store.get("nobody") is None
    store.add(Principal("EAGLE", "USA", "TOP SECRET"))
    assert [r.principal.callsign for r in store.list()] == ["EAGLE", "SAKURA"]
    with pytest.raises(PrincipalExists):
        store.add(SAKURA)


@pytest.mark.parametrize(
    ("principal", "message"),
    [
        (Principal("X", "jp"), "ISO 3166 alpha-3"),
        (Principal("X", "JAPAN"), "ISO 3166 alpha-3"),
        (Principal("X", "JPN", roles=frozenset({"king"})), "unknown role"),
        (Principal("", "JPN"), "callsign"),
        (Principal("X", "JPN", clearance=" "), "clearance"),
    ],
)
def test_invalid_principals_are_refused(engine: Engine, principal: Principal, message: str) -> None:
    with pytest.raises(PrincipalError, match=message):
        PrincipalStore(engine).add(principal)
    assert PrincipalStore(engine).list() == []


def test_certificate_maps_to_principal_until_revoked(engine: Engine) -> None:
    store = PrincipalStore(engine)
    store.add(SAKURA)
    store.record_certificate("SAKURA", FP1, 0xDEADBEEF, NOW + timedelta(days=30))
    store.record_certificate("SAKURA", FP2.upper(), 7, NOW + timedelta(days=30))
    assert store.by_fingerprint(FP1) == SAKURA
    colon_form = ":".join(FP1[i : i + 2] for i in range(0, 64, 2)).upper()
    assert store.by_fingerprint(colon_form) == SAKURA
    assert store.by_fingerprint(FP2) == SAKURA
    assert store.by_fingerprint("00" * 32) is None
    assert [c.serial for c in store.certificates("SAKURA")] == ["deadbeef", "7"]
    assert store.record("SAKURA").active_certificates == 2  # type: ignore[union-attr]

    assert store.revoke_certificate(FP2)
    assert not store.revoke_certificate(FP2)
    assert store.by_fingerprint(FP2) is None
    assert store.by_fingerprint(FP1) == SAKURA

    assert store.revoke("SAKURA")
    assert not store.revoke("SAKURA")
    assert store.by_fingerprint(FP1) is None
    assert store.get("SAKURA") is None
    assert store.record("SAKURA").revoked  # type: ignore[union-attr]


def test_expired_certificate_and_unknown_principal(engine: Engine) -> None:
    store = PrincipalStore(engine)
    store.add(SAKURA)
    store.record_certificate("SAKURA", FP1, 1, NOW - timedelta(seconds=1))
    assert store.by_fingerprint(FP1) is None
    with pytest.raises(UnknownPrincipal):
        store.record_certificate("GHOST", FP2, 2, NOW + timedelta(days=1))


def test_update_takes_effect_without_reissue(engine: Engine) -> None:
    store = PrincipalStore(engine)
    store.add(SAKURA)
    store.record_certificate("SAKURA", FP1, 1, NOW + timedelta(days=1))
    promoted = Principal("SAKURA", "JPN", "TOP SECRET", frozenset(), frozenset({"commander"}))
    store.update(promoted)
    assert store.by_fingerprint(FP1) == promoted
    with pytest.raises(UnknownPrincipal):
        store.update(Principal("GHOST", "JPN"))


def test_readd_after_revoke_keeps_old_credentials_dead(engine: Engine) -> None:
    store = PrincipalStore(engine)
    store.add(SAKURA)
    store.record_certificate("SAKURA", FP1, 1, NOW + timedelta(days=1))
    old_token = store.create_token("SAKURA")
    store.revoke("SAKURA")
    store.add(SAKURA)
    store.record_certificate("SAKURA", FP2, 2, NOW + timedelta(days=1))
    assert store.by_fingerprint(FP1) is None
    assert store.by_token(old_token) is None
    assert store.by_fingerprint(FP2) == SAKURA


def test_tokens(engine: Engine) -> None:
    store = PrincipalStore(engine)
    store.add(SAKURA)
    token = store.create_token("SAKURA")
    assert token.startswith("ac2_") and len(token) > 40
    assert store.by_token(token) == SAKURA
    assert store.by_token(token + "x") is None
    assert store.by_token("") is None
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT hash FROM tokens")).scalars().all()
    assert stored == [token_hash(token)]  # the token itself is never stored

    expired = store.issue_token("SAKURA", NOW - timedelta(seconds=1))
    assert store.by_token(expired.token) is None
    later = store.issue_token("SAKURA", NOW + timedelta(days=1))
    assert store.by_token(later.token) == SAKURA
    assert store.revoke_token(later.id)
    assert not store.revoke_token(later.id)
    assert store.by_token(later.token) is None
    assert store.by_token(token) == SAKURA
    assert [(t.id, t.revoked) for t in store.tokens("SAKURA")] == [
        (1, False),
        (expired.id, False),
        (later.id, True),
    ]
    with pytest.raises(UnknownPrincipal):
        store.create_token("GHOST")
    store.revoke("SAKURA")
    assert store.by_token(token) is None


def test_revision_tracks_every_change(engine: Engine) -> None:
    store = PrincipalStore(engine)
    assert store.revision() == 0
    store.add(SAKURA)
    r1 = store.revision()
    store.add(Principal("EAGLE", "USA", "SECRET"))
    r2 = store.revision()
    assert r2 > r1 > 0
    assert [c.callsign for c in store.changes_since(r1)] == ["EAGLE"]
    assert store.changes_since(r2) == []

    store.record_certificate("SAKURA", FP1, 1, NOW + timedelta(days=1))
    r3 = store.revision()
    assert r3 > r2
    (change,) = store.changes_since(r2)
    assert (change.callsign, change.principal) == ("SAKURA", SAKURA)

    store.revoke_certificate(FP1)
    assert store.revision() > r3
    assert [c.callsign for c in store.changes_since(r3)] == ["SAKURA"]

    r4 = store.revision()
    store.revoke("EAGLE")
    assert store.revoked_since(r4) == {"EAGLE"}
    (change,) = store.changes_since(r4)
    assert change.principal is None

    # Operations that change nothing do not move the revision.
    r5 = store.revision()
    assert not store.revoke("EAGLE")
    assert not store.revoke_certificate("ff" * 32)
    assert store.revision() == r5
