"""The TAK ecosystem's tables (issue 12): groups, files, missions, enrollment credentials.

Part of the one schema (``models.Base``); the Alembic migration
``0004_tak`` creates exactly these. Every item that leaves the server from
here (a file, a mission's contents) carries its marking in the same columns as
a request or readiness report: the banner for display, the CoT attributes and
the originating nation to rebuild the marking the audience decision checks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from allied_c2.store.models import Base
from allied_c2.store.types import BigId, UtcDateTime


class PrincipalGroupRow(Base):
    """A principal's membership in a server-side group (TAK channel): in, out or both."""

    __tablename__ = "principal_groups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("principal_id", "name"),)


class PackageRow(Base):
    """A file or data package, stored content-addressed (its SHA-256) in the file store."""

    __tablename__ = "packages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String)
    filename: Mapped[str] = mapped_column(String)
    mime_type: Mapped[str] = mapped_column(String)
    size: Mapped[int] = mapped_column(BigInteger)
    keywords: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    tool: Mapped[str] = mapped_column(String(32))  # "private" (addressees) or "public"
    banner: Mapped[str] = mapped_column(String)
    access: Mapped[str] = mapped_column(String)
    caveat: Mapped[str | None] = mapped_column(String)
    releasable_to: Mapped[str | None] = mapped_column(String)
    originator_nation: Mapped[str | None] = mapped_column(String(3))
    groups: Mapped[str] = mapped_column(Text, default="[]")  # JSON: the uploader's IN groups
    creator_uid: Mapped[str | None] = mapped_column(String)
    submitter: Mapped[str] = mapped_column(String)  # the uploading principal's callsign
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MissionRow(Base):
    """A Data Sync mission: a named, marked collection of CoT items and files."""

    __tablename__ = "missions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    tool: Mapped[str] = mapped_column(String(32))
    banner: Mapped[str] = mapped_column(String)
    access: Mapped[str] = mapped_column(String)
    caveat: Mapped[str | None] = mapped_column(String)
    releasable_to: Mapped[str | None] = mapped_column(String)
    originator_nation: Mapped[str | None] = mapped_column(String(3))
    groups: Mapped[str] = mapped_column(Text, default="[]")  # JSON: the creator's IN groups
    creator_uid: Mapped[str | None] = mapped_column(String)
    created_by: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MissionContentRow(Base):
    """One item of a mission: a CoT uid or a file hash."""

    __tablename__ = "mission_contents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(4))  # "uid" or "hash"
    key: Mapped[str] = mapped_column(String)
    creator_uid: Mapped[str | None] = mapped_column(String)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("mission_id", "kind", "key"),)


class MissionSubscriptionRow(Base):
    """A client subscribed to a mission (by its uid), and the principal that subscribed it."""

    __tablename__ = "mission_subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    client_uid: Mapped[str] = mapped_column(String)
    principal: Mapped[str] = mapped_column(String)
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("mission_id", "client_uid"),)


class MissionChangeRow(Base):
    """The change log of a mission (``GET …/changes``, the ``t-x-m-c`` notices)."""

    __tablename__ = "mission_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    content_uid: Mapped[str | None] = mapped_column(String)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    creator_uid: Mapped[str | None] = mapped_column(String)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class EnrollmentCredentialRow(Base):
    """What certificate enrollment accepts for a principal: a password or a one-time token.

    Only a hash is stored (Argon2id for passwords, SHA-256 for 256-bit random
    tokens); a token is spent by its first successful use (``used_at``).
    """

    __tablename__ = "enrollment_credentials"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "password" or "token"
    secret_hash: Mapped[str] = mapped_column(String)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_enrollment_credentials_secret_hash", "secret_hash"),)


class VideoFeedRow(Base):
    """A stored video feed entry (``/Marti/vcm``, ``/Marti/api/video``): metadata only, no
    video is relayed. Marked like any item: who may see a feed may learn where it is."""

    __tablename__ = "video_feeds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(128), unique=True)
    alias: Mapped[str] = mapped_column(String)
    url: Mapped[str] = mapped_column(Text)
    banner: Mapped[str] = mapped_column(String)
    access: Mapped[str] = mapped_column(String)
    caveat: Mapped[str | None] = mapped_column(String)
    releasable_to: Mapped[str | None] = mapped_column(String)
    originator_nation: Mapped[str | None] = mapped_column(String(3))
    groups: Mapped[str] = mapped_column(Text, default="[]")  # JSON: the creator's IN groups
    created_by: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
