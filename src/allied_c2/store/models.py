"""The database schema, as SQLAlchemy 2 typed models.

Alembic migrations in ``store/migrations`` create exactly this schema; a test
compares the two so they cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from allied_c2.store.types import BigId, UtcDateTime

# Deterministic constraint names, so later migrations can alter them on both backends.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Event(Base):
    """Every accepted CoT event, with its canonical XML."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String)
    type: Mapped[str] = mapped_column(String)
    how: Mapped[str] = mapped_column(String)
    time: Mapped[datetime] = mapped_column(UtcDateTime)
    start: Mapped[datetime] = mapped_column(UtcDateTime)
    stale: Mapped[datetime] = mapped_column(UtcDateTime)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    hae: Mapped[float] = mapped_column(Float)
    access: Mapped[str | None] = mapped_column(String)
    caveat: Mapped[str | None] = mapped_column(String)
    releasable_to: Mapped[str | None] = mapped_column(String)
    banner: Mapped[str] = mapped_column(String)
    originator: Mapped[str | None] = mapped_column(String)
    sender: Mapped[str | None] = mapped_column(String)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    xml: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        Index("ix_events_uid_time", "uid", "time"),
        Index("ix_events_received_at", "received_at"),
        # "The newest N in a window" (/api/v1/events, replay) walks this backwards (0006).
        Index("ix_events_time_id", "time", "id"),
        # Rebuilding the picture starts from the few rows that are not stale yet.
        Index("ix_events_stale", "stale"),
    )


class PrincipalRow(Base):
    __tablename__ = "principals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    callsign: Mapped[str] = mapped_column(String, unique=True)
    nation: Mapped[str | None] = mapped_column(String(3))
    clearance: Mapped[str] = mapped_column(String)
    cois: Mapped[str] = mapped_column(Text, default="[]")  # JSON list, sorted
    roles: Mapped[str] = mapped_column(Text, default="[]")  # JSON list, sorted
    organisation: Mapped[str | None] = mapped_column(String)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Global change counter value at this row's last change (see counters).
    revision: Mapped[int] = mapped_column(BigInteger, index=True)


class CertificateRow(Base):
    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"), index=True)
    serial: Mapped[str] = mapped_column(String)  # hex: serials exceed 64 bits
    not_after: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TokenRow(Base):
    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    # ISO text, not a timestamp column: the hash covers at.isoformat(), which
    # must come back byte-for-byte whatever the backend does to time zones.
    at: Mapped[str] = mapped_column(String)
    actor: Mapped[str] = mapped_column(String)
    action: Mapped[str] = mapped_column(String, index=True)
    subject: Mapped[str] = mapped_column(String)
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Counter(Base):
    """Named counters whose row lock also serialises writers across processes.

    ``principals.revision``: bumped by every principal, certificate or token
    change so the server can poll for changes. ``audit.seq``: the last audit
    sequence number handed out; a gap against the newest row reveals deletions.
    """

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


PRINCIPALS_REVISION = "principals.revision"
AUDIT_SEQ = "audit.seq"


class DecisionRequestRow(Base):
    """A decision request: searchable columns beside the lifecycle machine's own JSON.

    ``machine`` (``RequestMachine.to_dict()``) is the source of truth; the other
    columns copy what lists, filters and the release decision need without
    parsing it. ``seq`` orders requests and gives the public id (``REQ-0001``).
    """

    __tablename__ = "decision_requests"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String)
    originator: Mapped[str] = mapped_column(String, index=True)  # organisation id
    subject: Mapped[str] = mapped_column(Text)
    banner: Mapped[str] = mapped_column(String)
    access: Mapped[str] = mapped_column(String)
    caveat: Mapped[str | None] = mapped_column(String)
    releasable_to: Mapped[str | None] = mapped_column(String)
    originator_nation: Mapped[str | None] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(16), index=True)
    holders: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of organisation ids
    needed_by: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_deadline: Mapped[datetime | None] = mapped_column(UtcDateTime)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String)  # callsign of the submitting principal
    machine: Mapped[str] = mapped_column(Text)  # RequestMachine.to_dict() as JSON
    # Bumped by every save, which succeeds only from the version it read (migration 0005).
    version: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")


class ReadinessReportRow(Base):
    """A unit readiness report as posted (``ReadinessReport.to_dict()``) with its marking."""

    __tablename__ = "readiness_reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    unit: Mapped[str] = mapped_column(String)
    level: Mapped[int] = mapped_column(BigInteger)  # the reported overall C-level
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    banner: Mapped[str] = mapped_column(String)
    access: Mapped[str] = mapped_column(String)
    caveat: Mapped[str | None] = mapped_column(String)
    releasable_to: Mapped[str | None] = mapped_column(String)
    originator_nation: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String)
    report: Mapped[str] = mapped_column(Text)  # ReadinessReport.to_dict() as JSON

    __table_args__ = (Index("ix_readiness_reports_unit_reported_at", "unit", "reported_at"),)


FEDERATES_REVISION = "federates.revision"


class FederateRow(Base):
    """A federated peer server (issue 11), registered by an administrator.

    The peer is known by its certificate's SHA-256 fingerprint (lower-case hex)
    and is a principal for the guard: nation, clearance (its accreditation, in its
    national scheme) and COIs. ``rules`` holds the sanitisation rules file as
    validated by ``federate update --rules``; ``revision`` follows
    ``federates.revision`` so a running server sees changes by polling.
    """

    __tablename__ = "federates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    nation: Mapped[str] = mapped_column(String(3))
    clearance: Mapped[str] = mapped_column(String)
    cois: Mapped[str] = mapped_column(Text, default="[]")  # JSON list, sorted
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    peer_cert: Mapped[str] = mapped_column(Text)  # PEM
    peer_ca: Mapped[str] = mapped_column(Text)  # PEM
    connect: Mapped[str | None] = mapped_column(String)  # HOST:PORT this server dials
    rules: Mapped[str | None] = mapped_column(Text)  # the rules file's text
    rules_name: Mapped[str | None] = mapped_column(String)  # its file name (TOML or YAML)
    relay_from: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of federate names
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revision: Mapped[int] = mapped_column(BigInteger, index=True)


class FederationCursorRow(Base):
    """How far the outbound stream to a federate got: the newest item handed to it.

    ``sent_at`` is the ``received_at`` of that item's history row; after a
    restart the link replays what is newer (less a safety window) and not stale.
    """

    __tablename__ = "federation_cursors"

    federate: Mapped[str] = mapped_column(String(64), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


# The TAK ecosystem's tables (issue 12) live in their own module; importing it here
# puts them in Base.metadata wherever the schema is used (migrations, tests).
from allied_c2.store import cluster_models as _cluster_models  # noqa: E402, F401
from allied_c2.store import tak_models as _tak_models  # noqa: E402, F401
