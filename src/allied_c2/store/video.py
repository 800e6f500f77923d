"""Stored video feed entries (metadata only: allied-c2 relays no video)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, select

from allied_c2.store.tak_models import VideoFeedRow

_V = cast(Table, VideoFeedRow.__table__)


@dataclass(frozen=True, slots=True)
class VideoFeed:
    uid: str
    alias: str
    url: str
    banner: str
    access: str
    caveat: str | None
    releasable_to: str | None
    originator_nation: str | None
    groups: frozenset[str]
    created_by: str
    created_at: datetime


def _feed(row: Any) -> VideoFeed:
    return VideoFeed(
        row.uid,
        row.alias,
        row.url,
        row.banner,
        row.access,
        row.caveat,
        row.releasable_to,
        row.originator_nation,
        frozenset(json.loads(row.groups)),
        row.created_by,
        row.created_at,
    )


class VideoStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def put(self, feed: VideoFeed) -> None:
        """Add or replace the feed with this uid."""
        values = {
            "uid": feed.uid,
            "alias": feed.alias,
            "url": feed.url,
            "banner": feed.banner,
            "access": feed.access,
            "caveat": feed.caveat,
            "releasable_to": feed.releasable_to,
            "originator_nation": feed.originator_nation,
            "groups": json.dumps(sorted(feed.groups)),
            "created_by": feed.created_by,
            "created_at": feed.created_at,
        }
        with self._engine.begin() as conn:
            conn.execute(delete(_V).where(_V.c.uid == feed.uid))
            conn.execute(_V.insert().values(**values))

    def get(self, uid: str) -> VideoFeed | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(_V).where(_V.c.uid == uid)).first()
        return None if row is None else _feed(row)

    def all(self) -> list[VideoFeed]:
        with self._engine.connect() as conn:
            return [_feed(r) for r in conn.execute(select(_V).order_by(_V.c.alias))]

    def delete(self, uid: str) -> bool:
        with self._engine.begin() as conn:
            return bool(conn.execute(delete(_V).where(_V.c.uid == uid)).rowcount)
