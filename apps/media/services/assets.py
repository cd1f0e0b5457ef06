"""Writes of assets: register an upload, move its status, soft delete, restore and purge.

Asset status transitions (anything else raises InvalidAssetTransitionError):

============  ====================  ==========================================
from          to                    why
============  ====================  ==========================================
PENDING       PROCESSING            the pipeline picked the upload up
PROCESSING    READY                 clips are cut and scored
PROCESSING    FAILED                processing broke (processing_error says why)
FAILED        PROCESSING            retry
READY         ARCHIVED              taken out of use
ARCHIVED      READY                 put back in use
============  ====================  ==========================================

processing_error is required when moving to FAILED and cleared by every other transition.
These are cold paths: Piccolo's query builder writes them, run through :mod:`apps.core.rawsql`.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Mapping
from typing import Any

from piccolo.columns.combination import WhereRaw
from piccolo.query.methods.update import Update

from apps.core import rawsql
from apps.core.errors import ConflictError, ValidationError
from apps.core.softdelete import purge_rows, restore_row, soft_delete_row
from apps.core.transitions import Transitions
from apps.core.validation import at_least, finite, json_object, not_blank, one_of, validated
from apps.media.errors import (
    AssetNotFoundError,
    GcsUrlTakenError,
    InvalidAssetTransitionError,
    not_found,
)
from apps.media.records import AssetRecord
from apps.media.selectors.assets import LIVE_ASSET
from apps.media.tables import Asset, AssetStatus
from apps.users.errors import UserNotFoundError
from apps.users.selectors import user_is_live

ASSET_TRANSITIONS: Mapping[AssetStatus, frozenset[AssetStatus]] = {
    AssetStatus.PENDING: frozenset({AssetStatus.PROCESSING}),
    AssetStatus.PROCESSING: frozenset({AssetStatus.READY, AssetStatus.FAILED}),
    AssetStatus.FAILED: frozenset({AssetStatus.PROCESSING}),
    AssetStatus.READY: frozenset({AssetStatus.ARCHIVED}),
    AssetStatus.ARCHIVED: frozenset({AssetStatus.READY}),
}
ASSET_MACHINE = Transitions(ASSET_TRANSITIONS, entity="asset", error=InvalidAssetTransitionError)
# Bucket names per Google Cloud Storage's naming rules (lower case, digits, - _ .).
_GCS_URL = re.compile(r"gs://(?P<bucket>[a-z0-9][a-z0-9._-]{1,220}[a-z0-9])/(?P<path>.+)")
_MIME_TYPE = re.compile(r"[a-z]+/[a-zA-Z0-9][a-zA-Z0-9.+_-]*")
TEXT_MAX = 1024
_ASSET_ROW = Asset.all_columns()
# The asset row of an UPDATE on "assets" (no alias) is live: not deleted, its owner live.
_UPDATED_ASSET_IS_LIVE = WhereRaw(user_is_live("assets.user_id"))


def optional_text(value: str | None, *, field: str) -> str | None:
    """``value`` checked as a short text (not blank, at most 1024 characters), or None."""
    return None if value is None else not_blank(value, field=field, max_length=TEXT_MAX)


_USER_IS_LIVE = rawsql.statement(f"SELECT {user_is_live('$1::uuid')}", owner=__name__)


@validated
async def asset_register(
    *,
    user_id: uuid.UUID,
    filename: str,
    original_name: str,
    mime_type: str,
    file_size: int,
    gcs_url: str,
    thumbnail_url: str | None = None,
    duration: float | None = None,
    fps: float | None = None,
    width: int | None = None,
    height: int | None = None,
    bitrate: int | None = None,
    codec: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    asset_id: uuid.UUID | None = None,
) -> AssetRecord:
    """Register an uploaded file of a live user, status PENDING. The bucket and the path are
    taken from ``gcs_url`` (``gs://bucket/path``). ``asset_id`` fixes the id (sample data,
    imports); by default a new one is made.

    Raises ValidationError (naming the field), UserNotFoundError and GcsUrlTakenError.
    """
    mime_type = mime_type.strip().lower()
    if not _MIME_TYPE.fullmatch(mime_type):
        raise ValidationError(
            "mime_type must look like type/subtype", field="mime_type", rule="mime_type"
        )
    match = _GCS_URL.fullmatch(gcs_url.strip())
    if match is None:
        raise ValidationError(
            "gcs_url must look like gs://bucket/path", field="gcs_url", rule="gs_url"
        )
    row = Asset(
        id=asset_id or uuid.uuid4(),
        user=user_id,
        filename=not_blank(filename, field="filename", max_length=TEXT_MAX),
        original_name=not_blank(original_name, field="original_name", max_length=TEXT_MAX),
        mime_type=mime_type,
        file_size=at_least(file_size, 0, field="file_size"),
        gcs_url=gcs_url.strip(),
        gcs_bucket=match["bucket"],
        gcs_path=match["path"],
        thumbnail_url=optional_text(thumbnail_url, field="thumbnail_url"),
        duration=finite(duration, field="duration", minimum=0),
        fps=finite(fps, field="fps", minimum=0),
        width=at_least(width, 0, field="width"),
        height=at_least(height, 0, field="height"),
        bitrate=at_least(bitrate, 0, field="bitrate"),
        codec=optional_text(codec, field="codec"),
        metadata=json_object(metadata, field="metadata"),
        status=AssetStatus.PENDING.value,
    )
    # Two statements: the owner check (the users app's definition of live), then the insert.
    if not await rawsql.fetchval(rawsql.engine_of(Asset), _USER_IS_LIVE, user_id):
        raise UserNotFoundError(f"user {user_id} not found", field="user_id", rule="exists")
    try:
        inserted = await rawsql.fetchrow_query(
            Asset.insert(row).returning(*_ASSET_ROW), record_class=AssetRecord
        )
    except ConflictError as error:
        raise GcsUrlTakenError(
            "another asset is registered for this gcs_url", field="gcs_url", rule="unique"
        ) from error
    assert inserted is not None
    return inserted


_ASSET_STATUS = rawsql.statement(
    f"SELECT a.status FROM assets a WHERE a.id = $1 AND {LIVE_ASSET}", owner=__name__
)


def _processing_error(target: AssetStatus, processing_error: str | None) -> str | None:
    if target is AssetStatus.FAILED:
        if processing_error is None or not processing_error.strip():
            raise ValidationError(
                "processing_error is required when an asset fails",
                field="processing_error",
                rule="required_for_failed",
            )
        return processing_error.strip()
    if processing_error is not None:
        raise ValidationError(
            "processing_error is only recorded when an asset fails",
            field="processing_error",
            rule="only_for_failed",
        )
    return None


@validated
async def asset_transition(
    *,
    asset_id: uuid.UUID,
    status: AssetStatus | str,
    processing_error: str | None = None,
    expected_status: AssetStatus | str | None = None,
) -> AssetRecord:
    """Move a live asset to ``status`` along an allowed transition (see the module's table).

    With ``expected_status`` the change happens only from that status. ``processing_error``
    is required for FAILED and refused otherwise. Raises InvalidAssetTransitionError,
    AssetNotFoundError and ValidationError.

    Compare-and-set: the row changes only if its status is still one the target may follow,
    so two racing transitions cannot both succeed from the same state.
    """
    target = one_of(AssetStatus, status, field="status")
    error_text = _processing_error(target, processing_error)
    sources = ASSET_MACHINE.sources(target)
    detail = ""
    if expected_status is not None:
        expected = one_of(AssetStatus, expected_status, field="expected_status")
        if not ASSET_MACHINE.allows(expected, target):
            raise ASSET_MACHINE.refused(current=expected.value, target=target)
        sources, detail = [expected.value], f" (expected {expected.value})"
    if sources:  # nothing leads to PENDING: no UPDATE can match, read the status to refuse
        row = await rawsql.fetchrow_query(
            _transition(asset_id, target, error_text, sources), record_class=AssetRecord
        )
        if row is not None:
            return row
    current = await rawsql.fetchval(rawsql.engine_of(Asset), _ASSET_STATUS, asset_id)
    if current is None:
        raise not_found(AssetNotFoundError, "asset", asset_id)
    raise ASSET_MACHINE.refused(current=current, target=target, detail=detail)


def _transition(
    asset_id: uuid.UUID, target: AssetStatus, error_text: str | None, sources: list[str]
) -> Update[Any]:
    return (
        Asset.update({Asset.status: target.value, Asset.processing_error: error_text})
        .where(
            Asset.id == asset_id,
            Asset.status.is_in(sources),
            Asset.deleted_at.is_null(),
            _UPDATED_ASSET_IS_LIVE,
        )
        .returning(*_ASSET_ROW)
    )


_ASSET_ROWS: dict[str, Any] = {
    "not_found": AssetNotFoundError,
    "field": "asset_id",
    "entity": "asset",
}


@validated
async def asset_soft_delete(*, asset_id: uuid.UUID) -> datetime.datetime:
    """Soft-delete an asset; its clips and predictions vanish from reads with it.

    Returns the deletion time. Raises AssetNotFoundError.
    """
    return await soft_delete_row(Asset, row_id=asset_id, **_ASSET_ROWS)


@validated
async def asset_restore(*, asset_id: uuid.UUID) -> None:
    """Bring a soft-deleted asset back with its clips. Raises AssetNotFoundError."""
    await restore_row(Asset, row_id=asset_id, **_ASSET_ROWS)


@validated
async def asset_purge(*, older_than: datetime.timedelta) -> int:
    """Hard-delete assets soft-deleted more than ``older_than`` ago, with their clips,
    predictions and metrics; return how many assets went."""
    return await purge_rows(Asset, older_than=older_than)
