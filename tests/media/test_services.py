"""Assets: register, status transitions, soft delete / restore / purge."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from apps.core.errors import GatewayError, ValidationError
from apps.media import selectors, services
from apps.media.errors import AssetNotFoundError, GcsUrlTakenError, InvalidAssetTransitionError
from apps.media.selectors import AssetRecord
from apps.media.tables import Asset, AssetStatus
from apps.users import services as user_services
from apps.users.errors import UserNotFoundError
from apps.users.records import UserRecord
from apps.users.tables import User
from piccolo_conf import DB
from tests.conftest import savepoint

T = TypeVar("T")


@pytest.fixture
async def owner() -> UserRecord:
    return await user_services.user_create(email="owner@example.com", name="Owner")


async def _register(owner: UserRecord, name: str = "ad") -> AssetRecord:
    return await services.asset_register(
        user_id=owner.id,
        filename=f"{name}.mp4",
        original_name=f"My {name}.mp4",
        mime_type="video/mp4",
        file_size=50_000_000,
        gcs_url=f"gs://gateway-assets/uploads/{name}.mp4",
        duration=30.0,
        fps=30,
        width=1920,
        height=1080,
        codec="h264",
        metadata={"source": "upload"},
    )


async def test_asset_register_stores_the_asset_pending_with_bucket_and_path(
    owner: UserRecord,
) -> None:
    # given a live user
    # when an upload is registered
    asset = await _register(owner)
    # then it is PENDING, and the bucket and path come from the URL
    assert asset.status is AssetStatus.PENDING
    assert (asset.gcs_bucket, asset.gcs_path) == ("gateway-assets", "uploads/ad.mp4")
    assert asset.user_id == owner.id
    assert asset.metadata == {"source": "upload"}
    assert (asset.width, asset.height, asset.fps) == (1920, 1080, 30.0)
    assert await selectors.asset_get(asset_id=asset.id) == asset


async def test_asset_register_refuses_a_gcs_url_registered_before(owner: UserRecord) -> None:
    # given a registered asset
    await _register(owner)
    # when the same URL is registered again
    with pytest.raises(GcsUrlTakenError) as caught:
        async with savepoint():
            await _register(owner)
    # then the conflict names gcs_url and there is still one asset
    assert (caught.value.field, caught.value.rule) == ("gcs_url", "unique")
    assert await Asset.count() == 1


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"gcs_url": "https://example.com/a.mp4"}, "gcs_url", "gs_url"),
        ({"gcs_url": "gs://bucket-only"}, "gcs_url", "gs_url"),
        ({"file_size": -1}, "file_size", "min"),
        ({"filename": " "}, "filename", "not_blank"),
        ({"mime_type": "mp4"}, "mime_type", "mime_type"),
        ({"duration": -3.0}, "duration", "min"),
        ({"fps": float("nan")}, "fps", "finite"),
        ({"width": -1}, "width", "min"),
        ({"metadata": {"x": object()}}, "metadata", "json"),
    ],
)
async def test_asset_register_refuses_bad_input(
    owner: UserRecord, change: dict[str, object], field: str, rule: str
) -> None:
    # given otherwise valid arguments with one bad value
    arguments: dict[str, object] = {
        "user_id": owner.id,
        "filename": "a.mp4",
        "original_name": "a.mp4",
        "mime_type": "video/mp4",
        "file_size": 1,
        "gcs_url": "gs://bucket/a.mp4",
        **change,
    }
    # when registering
    with pytest.raises(ValidationError) as caught:
        await services.asset_register(**arguments)  # type: ignore[arg-type]
    # then the error names field and rule, and nothing is written
    assert (caught.value.field, caught.value.rule) == (field, rule)
    assert await Asset.count() == 0


async def test_asset_register_refuses_unknown_and_deleted_users(owner: UserRecord) -> None:
    # given a deleted user
    await user_services.user_soft_delete(user_id=owner.id)
    # when registering an asset for it, or for nobody
    # then both are refused with a typed not-found naming user_id
    for user_id in (owner.id, uuid.uuid4()):
        with pytest.raises(UserNotFoundError) as caught:
            await services.asset_register(
                user_id=user_id,
                filename="a.mp4",
                original_name="a.mp4",
                mime_type="video/mp4",
                file_size=1,
                gcs_url=f"gs://bucket/{user_id}.mp4",
            )
        assert caught.value.field == "user_id"
    assert await Asset.count() == 0


async def test_asset_transition_follows_the_allowed_edges(owner: UserRecord) -> None:
    # given a pending asset
    asset = await _register(owner)
    # when it is processed, fails, is retried, gets ready, is archived and unarchived
    steps = [
        (AssetStatus.PROCESSING, None),
        (AssetStatus.FAILED, "ffmpeg: moov atom not found"),
        (AssetStatus.PROCESSING, None),
        (AssetStatus.READY, None),
        (AssetStatus.ARCHIVED, None),
        (AssetStatus.READY, None),
    ]
    seen = []
    for status, error in steps:
        moved = await services.asset_transition(
            asset_id=asset.id, status=status, processing_error=error
        )
        seen.append((moved.status, moved.processing_error))
    # then each step lands, the error is recorded on FAILED and cleared by the retry
    assert seen == steps
    assert (await selectors.asset_get(asset_id=asset.id)).status is AssetStatus.READY


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], AssetStatus.READY),
        ([], AssetStatus.ARCHIVED),
        ([AssetStatus.PROCESSING], AssetStatus.PENDING),
        ([AssetStatus.PROCESSING, AssetStatus.READY], AssetStatus.PROCESSING),
        ([AssetStatus.PROCESSING, AssetStatus.READY], AssetStatus.READY),
    ],
)
async def test_asset_transition_refuses_other_edges(
    owner: UserRecord, path: list[AssetStatus], target: AssetStatus
) -> None:
    # given an asset brought along ``path``
    asset = await _register(owner)
    for status in path:
        await services.asset_transition(asset_id=asset.id, status=status)
    current = path[-1] if path else AssetStatus.PENDING
    # when moved to a status that may not follow
    with pytest.raises(InvalidAssetTransitionError) as caught:
        await services.asset_transition(asset_id=asset.id, status=target)
    # then the error names both statuses and the asset did not move
    assert (caught.value.current, caught.value.requested) == (current.value, target.value)
    assert caught.value.field == "status"
    assert (await selectors.asset_get(asset_id=asset.id)).status is current


async def test_asset_transition_with_expected_status_is_a_compare_and_set(
    owner: UserRecord,
) -> None:
    # given an asset that a worker has already taken to PROCESSING
    asset = await _register(owner)
    await services.asset_transition(
        asset_id=asset.id, status="PROCESSING", expected_status="PENDING"
    )
    # when a second worker tries the same move from PENDING
    with pytest.raises(InvalidAssetTransitionError) as caught:
        await services.asset_transition(
            asset_id=asset.id, status="PROCESSING", expected_status="PENDING"
        )
    # then it is refused: the asset is PROCESSING, not PENDING
    assert caught.value.current == "PROCESSING"
    # and an expected status from which the target can never follow is refused up front
    with pytest.raises(InvalidAssetTransitionError):
        await services.asset_transition(
            asset_id=asset.id, status="READY", expected_status="PENDING"
        )


async def test_asset_transition_checks_processing_error_and_the_asset(
    owner: UserRecord,
) -> None:
    # given a processing asset
    asset = await _register(owner)
    await services.asset_transition(asset_id=asset.id, status=AssetStatus.PROCESSING)
    # when failing it without an error, readying it with one, or moving an unknown asset
    with pytest.raises(ValidationError) as missing:
        await services.asset_transition(asset_id=asset.id, status="FAILED", processing_error=" ")
    with pytest.raises(ValidationError) as extra:
        await services.asset_transition(asset_id=asset.id, status="READY", processing_error="x")
    with pytest.raises(ValidationError) as bad_status:
        await services.asset_transition(asset_id=asset.id, status="DONE")
    with pytest.raises(AssetNotFoundError):
        await services.asset_transition(asset_id=uuid.uuid4(), status="READY")
    # then each error names its field and rule, and the asset is still processing
    assert (missing.value.field, missing.value.rule) == ("processing_error", "required_for_failed")
    assert (extra.value.field, extra.value.rule) == ("processing_error", "only_for_failed")
    assert (bad_status.value.field, bad_status.value.rule) == ("status", "one_of")
    assert (await selectors.asset_get(asset_id=asset.id)).status is AssetStatus.PROCESSING


async def test_asset_transition_refuses_a_deleted_asset(owner: UserRecord) -> None:
    # given a soft-deleted asset
    asset = await _register(owner)
    await services.asset_soft_delete(asset_id=asset.id)
    # when moving it
    # then it is not found
    with pytest.raises(AssetNotFoundError):
        await services.asset_transition(asset_id=asset.id, status="PROCESSING")


async def test_asset_soft_delete_restore_and_purge(owner: UserRecord) -> None:
    # given two assets
    kept = await _register(owner, "kept")
    dropped = await _register(owner, "dropped")
    # when one is soft-deleted
    await services.asset_soft_delete(asset_id=dropped.id)
    # then it is hidden from reads, visible when asked for, and deleting again fails
    with pytest.raises(AssetNotFoundError):
        await selectors.asset_get(asset_id=dropped.id)
    assert (await selectors.asset_get(asset_id=dropped.id, include_deleted=True)).deleted_at
    assert [a.id for a in (await selectors.asset_list(user_id=owner.id)).items] == [kept.id]
    with pytest.raises(AssetNotFoundError):
        await services.asset_soft_delete(asset_id=dropped.id)
    # when restored, it is back; restoring a live asset fails
    await services.asset_restore(asset_id=dropped.id)
    assert (await selectors.asset_get(asset_id=dropped.id)).deleted_at is None
    with pytest.raises(AssetNotFoundError):
        await services.asset_restore(asset_id=dropped.id)
    # when deleted long ago and purged, it is gone for good and the other stays
    await services.asset_soft_delete(asset_id=dropped.id)
    long_ago = datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(days=90)
    await Asset.update({Asset.deleted_at: long_ago}).where(Asset.id == dropped.id)
    assert await services.asset_purge(older_than=datetime.timedelta(days=30)) == 1
    assert {row["id"] for row in await Asset.select(Asset.id)} == {kept.id}


async def _committed(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` outside the test's rolled-back transaction (its writes commit)."""

    async def run() -> T:
        DB.current_transaction.set(None)  # this task's copy of the context only
        return await work()

    return await asyncio.create_task(run())


async def test_asset_transition_lets_exactly_one_of_many_racing_workers_win() -> None:
    # given a committed PENDING asset (other connections must see it)
    async def register() -> AssetRecord:
        racer = await user_services.user_create(email="race@example.com", name="Race")
        return await _register(racer, "race")

    asset = await _committed(register)
    try:
        # when 8 workers claim it at once, each on its own connection
        async def claim() -> bool:
            try:
                await services.asset_transition(
                    asset_id=asset.id, status="PROCESSING", expected_status="PENDING"
                )
            except InvalidAssetTransitionError:
                return False
            return True

        outcomes = await asyncio.gather(*(_committed(claim) for _ in range(8)))
        # then exactly one wins and the asset is PROCESSING
        assert sorted(outcomes) == [False] * 7 + [True]
        current = await _committed(lambda: selectors.asset_get(asset_id=asset.id))
        assert current.status is AssetStatus.PROCESSING
    finally:
        await _committed(lambda: User.delete().where(User.id == asset.user_id))


async def test_asset_transition_errors_carry_the_asset_status_rule(owner: UserRecord) -> None:
    # given a new (PENDING) asset
    asset = await _register(owner)
    # when asked to become READY, to go back to PENDING, or to move from a wrong expectation
    refused = []
    for kwargs in (
        {"status": "READY"},
        {"status": "PENDING"},
        {"status": "READY", "expected_status": "FAILED"},
    ):
        with pytest.raises(InvalidAssetTransitionError) as caught:
            await services.asset_transition(asset_id=asset.id, **kwargs)
        refused.append(caught.value)
    # then each error is the asset machine's, with its code, both statuses and the edge
    assert [(e.current, e.requested, e.rule) for e in refused] == [
        ("PENDING", "READY", "PENDING->READY"),
        ("PENDING", "PENDING", "PENDING->PENDING"),
        ("FAILED", "READY", "FAILED->READY"),
    ]
    assert {e.code for e in refused} == {"invalid_asset_transition"}
    assert services.ASSET_MACHINE.sources(AssetStatus.READY) == ["ARCHIVED", "PROCESSING"]


def test_every_media_error_has_its_own_code_and_names_ids_by_entity() -> None:
    from apps.media import errors

    classes = [
        value
        for value in vars(errors).values()
        if isinstance(value, type)
        and issubclass(value, GatewayError)
        and value.__module__ == errors.__name__
    ]
    codes = [cls.code for cls in classes]
    assert len(classes) == 5 and len(set(codes)) == len(codes)
    assert all(cls.__doc__ for cls in classes)
    missing = errors.not_found(errors.PredictionNotFoundError, "prediction", uuid.uuid4())
    assert (missing.field, missing.rule, missing.code) == (
        "prediction_id",
        "exists",
        "prediction_not_found",
    )


async def test_asset_register_refuses_a_soft_deleted_owner(owner: UserRecord) -> None:
    # given an owner who is then soft-deleted
    await user_services.user_soft_delete(user_id=owner.id)
    # when an asset is registered for them
    with pytest.raises(UserNotFoundError) as caught:
        await _register(owner)
    # then the error names the user and nothing was written
    assert (caught.value.field, caught.value.rule) == ("user_id", "exists")
    assert await Asset.count() == 0
