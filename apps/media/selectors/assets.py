"""Reads of assets: one asset, a user's assets, an asset with its clips and predictions; and
the media app's one definition of a live asset (not soft-deleted, its owner live), which the
SQL of other apps uses instead of reading the assets table themselves."""

from __future__ import annotations

import datetime
import uuid
from functools import partial
from itertools import groupby
from operator import itemgetter
from typing import TypeVar

from piccolo.table import Table

from apps.core import rawsql
from apps.core.errors import NotFoundError
from apps.core.keyset import KeysetList, optional
from apps.core.pagination import Page
from apps.core.validation import one_of, validated
from apps.media.errors import AssetNotFoundError, not_found
from apps.media.records import (
    AssetRecord,
    AssetWithClips,
    ClipSummary,
    ClipWithPredictions,
    PredictionSummary,
)
from apps.media.tables import Asset, AssetStatus, Clip, Prediction
from apps.users.selectors import user_is_live, user_label

R = TypeVar("R")

ASSET_COLUMNS = rawsql.columns(Asset, "a")

# Visibility: a live asset belongs to a live user; a live clip to a live asset.
LIVE_ASSET = "a.deleted_at IS NULL AND " + user_is_live("a.user_id")


def asset_is_live(asset_id: str) -> str:
    """The SQL condition "the asset ``asset_id`` is live": not soft-deleted, owner live.

    The media app's one definition of a live asset, for the SQL of other apps (ads) whose
    rows hang off an asset; ``asset_id`` is a column reference or a ``$n`` parameter.
    """
    return (
        "EXISTS (SELECT 1 FROM assets live_a WHERE live_a.id = "
        f"{asset_id} AND live_a.deleted_at IS NULL AND {user_is_live('live_a.user_id')})"
    )


def asset_label(asset_id: str) -> str:
    """The SQL expression labelling the asset ``asset_id`` for people (its original file
    name), for the labels other apps show; ``asset_id`` a column reference or ``$n``."""
    return f"(SELECT label_a.original_name FROM assets label_a WHERE label_a.id = {asset_id})"


ROW_LABELS: dict[str, str] = {
    "assets": f"t.original_name || ' · ' || {user_label('t.user_id')}",
    "clips": f"'clip #' || coalesce(t.rank::text, '?') || ' of ' || {asset_label('t.asset_id')}",
}
"""How people tell apart a row (alias ``t``) of the media tables: the admin's pickers of
soft-deleted rows use it. A table not named here is labelled by its readable columns."""


async def _fetch_one(
    table: type[Table],
    sql: str,
    row_id: uuid.UUID,
    *,
    record_class: type[R],
    error: type[NotFoundError],
    entity: str,
) -> R:
    """The row of ``sql`` for ``row_id``; ``error`` (field ``<entity>_id``) when there is none."""
    row = await rawsql.fetchrow(rawsql.engine_of(table), sql, row_id, record_class=record_class)
    if row is None:
        raise not_found(error, entity, row_id)
    return row


_ASSET_BY_ID = rawsql.statement(
    f"SELECT {ASSET_COLUMNS} FROM assets a WHERE a.id = $1 AND {LIVE_ASSET}", owner=__name__
)
_ASSET_BY_ID_ANY = rawsql.statement(
    f"SELECT {ASSET_COLUMNS} FROM assets a WHERE a.id = $1", owner=__name__
)


@validated
async def asset_get(*, asset_id: uuid.UUID, include_deleted: bool = False) -> AssetRecord:
    """The asset with this id; AssetNotFoundError when absent or (by default) not live."""
    sql = _ASSET_BY_ID_ANY if include_deleted else _ASSET_BY_ID
    return await _fetch_one(
        Asset, sql, asset_id, record_class=AssetRecord, error=AssetNotFoundError, entity="asset"
    )


# Newest first; served by assets_user_id_created_at_id (user_id, created_at, id).
_ASSET_LIST: KeysetList[AssetRecord] = KeysetList(
    Asset,
    select=f"SELECT {ASSET_COLUMNS} FROM assets a",
    where=("a.user_id = $1", LIVE_ASSET),
    filters={"status": optional("a.status = $?")},
    order=(("a.created_at", "DESC"), ("a.id", "DESC")),
    types=(datetime.datetime, uuid.UUID),
    record_class=AssetRecord,
    owner=__name__,
)


@validated
async def asset_list(
    *,
    user_id: uuid.UUID,
    status: AssetStatus | str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[AssetRecord]:
    """A live user's live assets, newest first (empty when the user is not live)."""
    status_value = one_of(AssetStatus, status, field="status").value if status else None
    return await _ASSET_LIST.page(
        user_id,
        limit=limit,
        cursor=cursor,
        list_name=f"media.asset_list:{user_id}:{status_value}",
        status=status_value,
    )


# --- nested read -------------------------------------------------------------------------

_NESTED_CLIPS = rawsql.statement(
    "SELECT "
    + rawsql.columns(
        Clip,
        "c",
        only=(
            "id",
            "start_time",
            "end_time",
            "duration",
            "clip_url",
            "thumbnail_url",
            "score",
            "viral_score",
            "engagement_score",
            "brand_safety_score",
            "rank",
            "status",
        ),
    )
    + " FROM clips c WHERE c.asset_id = $1 AND c.deleted_at IS NULL ORDER BY c.start_time, c.id",
    owner=__name__,
)
_NESTED_PREDICTION_COLUMNS = rawsql.columns(
    Prediction, "p", exclude=("features", "metadata", "updated_at")
)
# Each prediction comes with its clip's position in _NESTED_CLIPS's order (the same WHERE and
# ORDER BY, numbered from 0), sorted by it: the runs of predictions line up with the clip
# rows without hashing a UUID per clip in Python (pgproto's UUID hash goes through an int
# conversion: it was the largest client cost of this read). Served by
# clips_asset_id_start_time_id and predictions_clip_id.
_NESTED_PREDICTIONS = rawsql.statement(
    f"SELECT {_NESTED_PREDICTION_COLUMNS}, c.position AS clip_position FROM (SELECT c.id, "
    "(row_number() OVER (ORDER BY c.start_time, c.id) - 1)::int AS position "
    "FROM clips c WHERE c.asset_id = $1 AND c.deleted_at IS NULL) c "
    "JOIN predictions p ON p.clip_id = c.id ORDER BY c.position, p.created_at, p.id",
    owner=__name__,
)


def _position(column_list: str, column: str) -> int:
    """Where ``column`` is in a SELECT list made by rawsql.columns (for C-level itemgetters)."""
    return [name.strip() for name in column_list.split(",")].index(column)


_ID = itemgetter(_position(_NESTED_CLIPS[len("SELECT ") : _NESTED_CLIPS.index(" FROM ")], "c.id"))
_CLIP_ID = itemgetter(_position(_NESTED_PREDICTION_COLUMNS, "p.clip_id"))
_CLIP_POSITION = itemgetter(-1)  # the last column, clip_position
_NO_PREDICTIONS: tuple[PredictionSummary, ...] = ()
# ClipWithPredictions is a NamedTuple: tuple.__new__ builds one from a (clip, predictions)
# pair in C.
_new_entry = partial(tuple.__new__, ClipWithPredictions)


def _nest(
    clip_rows: list[ClipSummary], prediction_rows: list[PredictionSummary]
) -> list[ClipWithPredictions]:
    """Each clip with its predictions; Python runs once per clip that has predictions.

    The two statements run one after the other, not in one snapshot: a clip created or
    deleted in between shifts the positions. Each run is checked against the clip at its
    position; on a mismatch the predictions are matched by clip id instead (those of a clip
    the clips read did not see are left out).
    """
    slots = [_NO_PREDICTIONS] * len(clip_rows)
    for position, run in groupby(prediction_rows, _CLIP_POSITION):
        predictions = tuple(run)
        if position >= len(slots) or _ID(clip_rows[position]) != _CLIP_ID(predictions[0]):
            return _nest_by_id(clip_rows, prediction_rows)
        slots[position] = predictions
    return list(map(_new_entry, zip(clip_rows, slots, strict=True)))


def _nest_by_id(
    clip_rows: list[ClipSummary], prediction_rows: list[PredictionSummary]
) -> list[ClipWithPredictions]:
    by_clip: dict[uuid.UUID, list[PredictionSummary]] = {}
    for prediction in prediction_rows:
        by_clip.setdefault(_CLIP_ID(prediction), []).append(prediction)
    return [ClipWithPredictions(clip, tuple(by_clip.get(_ID(clip), ()))) for clip in clip_rows]


@validated
async def asset_get_with_clips(*, asset_id: uuid.UUID) -> AssetWithClips:
    """A live asset, its live clips and every clip's predictions, in at most three queries
    whatever the number of clips (asset; clips; predictions of all those clips), on one
    connection. AssetNotFoundError when the asset is not live."""
    engine = rawsql.engine_of(Asset)
    async with rawsql.connection(engine) as conn:
        asset = await conn.fetchrow(_ASSET_BY_ID, asset_id, record_class=AssetRecord)
        if asset is None:
            raise not_found(AssetNotFoundError, "asset", asset_id)
        clip_rows = await conn.fetch(_NESTED_CLIPS, asset_id, record_class=ClipSummary)
        # Without clips there are no predictions to ask for.
        prediction_rows = (
            await conn.fetch(_NESTED_PREDICTIONS, asset_id, record_class=PredictionSummary)
            if clip_rows
            else []
        )
    return AssetWithClips(asset=asset, clips=_nest(clip_rows, prediction_rows))


# Every status has a move out of it (the asset state machine), so every live asset.
_ASSET_CHOICES = rawsql.statement(
    f"SELECT a.id, a.original_name || ' · ' || a.status || ' · ' || {user_label('a.user_id')} "
    f"AS label FROM assets a WHERE {LIVE_ASSET} "
    "ORDER BY a.created_at DESC, a.original_name, a.id LIMIT $1",
    owner=__name__,
)


@validated
async def asset_choices(*, limit: int) -> list[tuple[uuid.UUID, str]]:
    """Up to ``limit`` live assets, newest first, labelled (name · status · owner's email)."""
    return await rawsql.fetch_choices(Asset, _ASSET_CHOICES, limit)
