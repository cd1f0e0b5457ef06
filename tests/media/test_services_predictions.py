"""Predictions: record, fill in actuals (prediction_error = MAE), accuracy per model."""

from __future__ import annotations

import uuid

import pytest

from apps.core.errors import ValidationError
from apps.media import selectors, services
from apps.media.errors import ClipNotFoundError, PredictionNotFoundError
from apps.media.services import NewClip
from apps.media.tables import Prediction
from apps.users import services as user_services


@pytest.fixture
async def clip_ids() -> list[uuid.UUID]:
    owner = await user_services.user_create(email="pred@example.com", name="Pred")
    asset = await services.asset_register(
        user_id=owner.id,
        filename="a.mp4",
        original_name="a.mp4",
        mime_type="video/mp4",
        file_size=1,
        gcs_url="gs://bucket/pred.mp4",
    )
    return await services.clip_bulk_create(
        asset_id=asset.id, clips=[NewClip(start_time=i, end_time=i + 1) for i in range(3)]
    )


async def test_prediction_record_stores_the_prediction(clip_ids: list[uuid.UUID]) -> None:
    # given a live clip
    # when a prediction is recorded
    prediction = await services.prediction_record(
        clip_id=clip_ids[0],
        model_version="v1.2.3",
        predicted_roas=3.2,
        predicted_ctr=0.021,
        confidence=0.87,
        features={"duration": 15},
    )
    # then it is stored with no actuals and no error yet
    assert prediction.clip_id == clip_ids[0]
    assert (prediction.model_version, prediction.model_type) == ("v1.2.3", "roas")
    assert (prediction.predicted_roas, prediction.confidence) == (3.2, 0.87)
    assert prediction.actual_roas is None and prediction.prediction_error is None
    assert prediction.features == {"duration": 15}
    assert await selectors.prediction_get(prediction_id=prediction.id) == prediction


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"model_version": " ", "predicted_roas": 1.0}, "model_version", "not_blank"),
        ({"model_version": "v1"}, "predicted_roas", "at_least_one"),
        ({"model_version": "v1", "predicted_roas": 1.0, "confidence": 1.5}, "confidence", "max"),
        ({"model_version": "v1", "predicted_roas": 1.0, "confidence": -0.1}, "confidence", "min"),
        ({"model_version": "v1", "predicted_ctr": float("nan")}, "predicted_ctr", "finite"),
    ],
)
async def test_prediction_record_refuses_bad_input(
    clip_ids: list[uuid.UUID], kwargs: dict[str, object], field: str, rule: str
) -> None:
    # given a live clip
    # when recording a prediction with one bad value
    with pytest.raises(ValidationError) as caught:
        await services.prediction_record(clip_id=clip_ids[0], **kwargs)  # type: ignore[arg-type]
    # then the error names the field and rule, and nothing is written
    assert (caught.value.field, caught.value.rule) == (field, rule)
    assert await Prediction.count() == 0


async def test_prediction_record_refuses_unknown_and_deleted_clips(
    clip_ids: list[uuid.UUID],
) -> None:
    # given a deleted clip
    await services.clip_soft_delete(clip_id=clip_ids[0])
    # when predicting for it, or for no clip
    # then both are not found
    for clip_id in (clip_ids[0], uuid.uuid4()):
        with pytest.raises(ClipNotFoundError):
            await services.prediction_record(clip_id=clip_id, model_version="v1", predicted_roas=1)
    assert await Prediction.count() == 0


async def test_prediction_fill_actuals_computes_the_mae_over_metrics_present(
    clip_ids: list[uuid.UUID],
) -> None:
    # given a prediction of roas 3.0, ctr 0.02 and cpa 10 (no engagement)
    prediction = await services.prediction_record(
        clip_id=clip_ids[0],
        model_version="v1",
        predicted_roas=3.0,
        predicted_ctr=0.02,
        predicted_cpa=10.0,
    )
    # when the actual roas and engagement arrive
    first = await services.prediction_fill_actuals(
        prediction_id=prediction.id, actual_roas=2.5, actual_engagement=0.4
    )
    # then the error covers roas only (engagement was not predicted)
    assert first.prediction_error == pytest.approx(0.5)
    # when the actual ctr and cpa follow
    second = await services.prediction_fill_actuals(
        prediction_id=prediction.id, actual_ctr=0.03, actual_cpa=12.0
    )
    # then earlier actuals stay and the error is the mean of |3-2.5|, |0.02-0.03|, |10-12|
    assert (second.actual_roas, second.actual_engagement) == (2.5, 0.4)
    assert second.prediction_error == pytest.approx((0.5 + 0.01 + 2.0) / 3)


async def test_prediction_fill_actuals_leaves_the_error_empty_without_matching_metrics(
    clip_ids: list[uuid.UUID],
) -> None:
    # given a roas-only prediction
    prediction = await services.prediction_record(
        clip_id=clip_ids[0], model_version="v1", predicted_roas=3.0
    )
    # when only an actual ctr arrives
    filled = await services.prediction_fill_actuals(prediction_id=prediction.id, actual_ctr=0.1)
    # then there is nothing to compare yet
    assert filled.actual_ctr == 0.1
    assert filled.prediction_error is None


async def test_prediction_fill_actuals_refuses_bad_input_and_hidden_predictions(
    clip_ids: list[uuid.UUID],
) -> None:
    # given a prediction whose clip is then deleted, and another one
    hidden = await services.prediction_record(
        clip_id=clip_ids[0], model_version="v1", predicted_roas=3.0
    )
    live = await services.prediction_record(
        clip_id=clip_ids[1], model_version="v1", predicted_roas=3.0
    )
    await services.clip_soft_delete(clip_id=clip_ids[0])
    # when filling actuals for it, for nobody, with nothing, or with a non-finite value
    for prediction_id in (hidden.id, uuid.uuid4()):
        with pytest.raises(PredictionNotFoundError):
            await services.prediction_fill_actuals(prediction_id=prediction_id, actual_roas=1)
    with pytest.raises(ValidationError) as nothing:
        await services.prediction_fill_actuals(prediction_id=live.id)
    with pytest.raises(ValidationError) as infinite:
        await services.prediction_fill_actuals(prediction_id=live.id, actual_cpc=float("inf"))
    # then typed errors name the field, and no actual was written
    assert (nothing.value.field, nothing.value.rule) == ("actual_roas", "at_least_one")
    assert (infinite.value.field, infinite.value.rule) == ("actual_cpc", "finite")
    filled = await Prediction.select(Prediction.id).where(Prediction.actual_roas.is_not_null())
    assert filled == []


async def test_prediction_accuracy_report_groups_by_model_version(
    clip_ids: list[uuid.UUID],
) -> None:
    # given v1 predictions with errors 0.5 and 1.5 plus one without actuals, and a v2 one
    errors: dict[str, list[float | None]] = {"v1": [0.5, 1.5, None], "v2": [0.25]}
    for version, values in errors.items():
        for index, error in enumerate(values):
            prediction = await services.prediction_record(
                clip_id=clip_ids[index], model_version=version, predicted_roas=3.0
            )
            if error is not None:
                await services.prediction_fill_actuals(
                    prediction_id=prediction.id, actual_roas=3.0 + error
                )
    # when the report is made, for all versions and for v2
    report = await selectors.prediction_accuracy_report()
    only_v2 = await selectors.prediction_accuracy_report(model_version="v2")
    # then each version has its counts and mean error
    assert [(r.model_version, r.predictions, r.evaluated) for r in report] == [
        ("v1", 3, 2),
        ("v2", 1, 1),
    ]
    assert report[0].mean_error == pytest.approx(1.0)
    assert report[1].mean_error == pytest.approx(0.25)
    assert [r.model_version for r in only_v2] == ["v2"]
    # when the clip holding v2's prediction is deleted, it leaves the report
    await services.clip_soft_delete(clip_id=clip_ids[0])
    after = await selectors.prediction_accuracy_report()
    assert [(r.model_version, r.predictions, r.evaluated) for r in after] == [("v1", 2, 1)]


async def test_prediction_fill_actuals_clears_an_actual_given_as_none(
    clip_ids: list[uuid.UUID],
) -> None:
    # given a prediction of roas 3.0 and ctr 0.02 with both actuals filled in
    prediction = await services.prediction_record(
        clip_id=clip_ids[0], model_version="v1", predicted_roas=3.0, predicted_ctr=0.02
    )
    await services.prediction_fill_actuals(
        prediction_id=prediction.id, actual_roas=2.0, actual_ctr=0.04
    )
    # when the roas actual is withdrawn (None) and the ctr one left out (not given)
    cleared = await services.prediction_fill_actuals(prediction_id=prediction.id, actual_roas=None)
    # then roas is NULL again, ctr kept, and the error covers ctr only
    assert (cleared.actual_roas, cleared.actual_ctr) == (None, 0.04)
    assert cleared.prediction_error == pytest.approx(0.02)
    assert await selectors.prediction_get(prediction_id=prediction.id) == cleared
    # and withdrawing the last shared metric empties the error
    emptied = await services.prediction_fill_actuals(prediction_id=prediction.id, actual_ctr=None)
    assert emptied.prediction_error is None


def test_prediction_error_is_the_mean_absolute_error_over_shared_metrics() -> None:
    assert services.prediction_error([3.0, None, 10.0], [2.0, 5.0, 13.0]) == pytest.approx(2.0)
    assert services.prediction_error([3.0, None], [None, 1.0]) is None
