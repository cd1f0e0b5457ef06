"""Reads of clips: one clip, an asset's clips, the best clips of an asset or of a user, and
the stream of every live clip for pipelines; and ``LIVE_CLIP_ASSETS``, the media app's one
definition of the live clips with their asset, for the SQL of other apps."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import AsyncIterator
from typing import Any

from apps.core import rawsql
from apps.core.errors import ValidationError
from apps.core.keyset import KeysetList, optional
from apps.core.pagination import Page
from apps.core.replicas import lag_tolerant
from apps.core.validation import one_of, validated
from apps.media.errors import ClipNotFoundError
from apps.media.records import ClipRecord
from apps.media.selectors.assets import (
    LIVE_ASSET,
    _fetch_one,
)
from apps.media.tables import Clip, ClipStatus

CLIP_COLUMNS = rawsql.columns(Clip, "c")

LIVE_CLIP_ASSETS = (
    "(SELECT c.id AS clip_id, c.asset_id FROM clips c JOIN assets a ON a.id = c.asset_id "
    f"WHERE c.deleted_at IS NULL AND {LIVE_ASSET})"
)
"""A derived table (``clip_id``, ``asset_id``) of the live clips and their assets, for the
SQL of other apps that follow a clip to its asset: ``JOIN {LIVE_CLIP_ASSETS} lc ON ...``."""

_LIVE_PARENT_ASSET = f"EXISTS (SELECT 1 FROM assets a WHERE a.id = $1 AND {LIVE_ASSET})"
_CLIP_BY_ID = rawsql.statement(
    f"SELECT {CLIP_COLUMNS} FROM clips c JOIN assets a ON a.id = c.asset_id "
    f"WHERE c.id = $1 AND c.deleted_at IS NULL AND {LIVE_ASSET}",
    owner=__name__,
)
_CLIP_BY_ID_ANY = rawsql.statement(
    f"SELECT {CLIP_COLUMNS} FROM clips c WHERE c.id = $1", owner=__name__
)


@validated
async def clip_get(*, clip_id: uuid.UUID, include_deleted: bool = False) -> ClipRecord:
    """The clip with this id; ClipNotFoundError when absent or (by default) not live."""
    sql = _CLIP_BY_ID_ANY if include_deleted else _CLIP_BY_ID
    return await _fetch_one(
        Clip, sql, clip_id, record_class=ClipRecord, error=ClipNotFoundError, entity="clip"
    )


# Timeline order; served by clips_asset_id_start_time_id (asset_id, start_time, id).
# The parent check does not depend on the clip row: PostgreSQL runs it once.
_CLIP_LIST: KeysetList[ClipRecord] = KeysetList(
    Clip,
    select=f"SELECT {CLIP_COLUMNS} FROM clips c",
    where=("c.asset_id = $1", "c.deleted_at IS NULL", _LIVE_PARENT_ASSET),
    filters={"status": optional("c.status = $?")},
    order=(("c.start_time", "ASC"), ("c.id", "ASC")),
    types=(float, uuid.UUID),
    record_class=ClipRecord,
    owner=__name__,
)


@validated
async def clip_list(
    *,
    asset_id: uuid.UUID,
    status: ClipStatus | str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[ClipRecord]:
    """A live asset's live clips in timeline order (empty when the asset is not live)."""
    status_value = one_of(ClipStatus, status, field="status").value if status else None
    return await _CLIP_LIST.page(
        asset_id,
        limit=limit,
        cursor=cursor,
        list_name=f"media.clip_list:{asset_id}:{status_value}",
        status=status_value,
    )


# Best rank first; served by clips_asset_id_rank (asset_id, rank, id).
_TOP_OF_ASSET: KeysetList[ClipRecord] = KeysetList(
    Clip,
    select=f"SELECT {CLIP_COLUMNS} FROM clips c",
    where=("c.asset_id = $1", "c.rank IS NOT NULL", "c.deleted_at IS NULL", _LIVE_PARENT_ASSET),
    order=(("c.rank", "ASC"), ("c.id", "ASC")),
    types=(int, uuid.UUID),
    record_class=ClipRecord,
    owner=__name__,
)
# Ranks are per asset, so across a user's assets the order is the one ranking uses: score
# descending, ties by created_at then id. The user's assets come from assets_user_id, their
# clips from clips_asset_id; the sort is a top-N sort.
_TOP_OF_USER: KeysetList[ClipRecord] = KeysetList(
    Clip,
    select=f"SELECT {CLIP_COLUMNS} FROM clips c JOIN assets a ON a.id = c.asset_id",
    where=("a.user_id = $1", LIVE_ASSET, "c.deleted_at IS NULL", "c.score IS NOT NULL"),
    order=(("c.score", "DESC"), ("c.created_at", "ASC"), ("c.id", "ASC")),
    types=(float, datetime.datetime, uuid.UUID),
    record_class=ClipRecord,
    owner=__name__,
)


@lag_tolerant
@validated
async def clip_list_top(
    *,
    asset_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[ClipRecord]:
    """The best clips of one asset (by rank, 1 first; unranked clips left out) or of all a
    user's assets (by score, best first; unscored clips left out). Give exactly one of
    ``asset_id`` and ``user_id``."""
    if (asset_id is None) == (user_id is None):
        raise ValidationError(
            "give exactly one of asset_id and user_id", field="asset_id", rule="exactly_one"
        )
    if asset_id is not None:
        ranking, scope = _TOP_OF_ASSET, f"asset:{asset_id}"
    else:
        ranking, scope = _TOP_OF_USER, f"user:{user_id}"
    return await ranking.page(
        asset_id or user_id,
        limit=limit,
        cursor=cursor,
        list_name=f"media.clip_list_top:{scope}",
    )


# --- stream for pipelines ----------------------------------------------------------------

# Every live clip in (created_at, id) order. The row comparison is an index condition on
# clips_created_at_id, so each page costs the same at any depth (no OFFSET); the first page
# starts below every real key.
_CLIP_STREAM = rawsql.statement(
    f"SELECT {CLIP_COLUMNS} FROM clips c JOIN assets a ON a.id = c.asset_id "
    f"WHERE (c.created_at, c.id) > ($1, $2) AND c.deleted_at IS NULL AND {LIVE_ASSET} "
    "ORDER BY c.created_at, c.id LIMIT $3",
    owner=__name__,
)
STREAM_START = (datetime.datetime.min.replace(tzinfo=datetime.UTC), uuid.UUID(int=0))
MAX_STREAM_PAGE = 10_000


def check_stream_page(page: int) -> int:
    """A stream's page size, 1 to MAX_STREAM_PAGE (ValidationError naming ``page``)."""
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_STREAM_PAGE:
        raise ValidationError(
            f"page must be an integer between 1 and {MAX_STREAM_PAGE}", field="page", rule="range"
        )
    return page


async def clip_stream(*, page: int = 1000) -> AsyncIterator[ClipRecord]:
    """Every live clip, oldest first ((created_at, id) order), fetched ``page`` rows per
    statement: for the ML and export jobs that read everything. Each page is its own
    statement on a pooled connection (nothing is held between pages); rows created behind
    the reading position during the stream are not seen."""
    size = check_stream_page(page)
    engine = rawsql.engine_of(Clip)
    after: tuple[Any, ...] = STREAM_START
    while True:
        rows = await rawsql.fetch(engine, _CLIP_STREAM, *after, size, record_class=ClipRecord)
        for row in rows:
            yield row
        if len(rows) < size:
            return
        after = (rows[-1].created_at, rows[-1].id)
