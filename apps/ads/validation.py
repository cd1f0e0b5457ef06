"""Argument checks shared by the ads services; each failure names the field and the rule."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from apps.ads.errors import AdsValidationError

MONEY_MAX = Decimal("99999999.99")  # NUMERIC(10, 2)
CENT = Decimal("0.01")
_CURRENCY = re.compile(r"[A-Z]{3}")


def money(value: Any, *, field: str, allow_none: bool = False) -> Decimal | None:
    """An exact, non-negative amount with at most two decimal places that fits NUMERIC(10,2).

    Floats are refused: 0.1 + 0.2 is not 0.3, and money must be exact.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise AdsValidationError(
            f"{field} must be a Decimal (or an int), not {type(value).__name__}",
            field=field,
            rule="decimal",
        )
    amount = Decimal(value)
    if not amount.is_finite():
        raise AdsValidationError(f"{field} must be a finite amount", field=field, rule="finite")
    if amount < 0:
        raise AdsValidationError(f"{field} must not be negative", field=field, rule="min")
    if amount > MONEY_MAX:
        raise AdsValidationError(f"{field} must be at most {MONEY_MAX}", field=field, rule="max")
    try:
        exact = amount == amount.quantize(CENT)
    except InvalidOperation:  # pragma: no cover - guarded by the range check above
        exact = False
    if not exact:
        raise AdsValidationError(
            f"{field} must have at most two decimal places", field=field, rule="scale"
        )
    return amount


def count(value: Any, *, field: str) -> int:
    """A non-negative whole number (BIGINT)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise AdsValidationError(f"{field} must be an int", field=field, rule="int")
    if value < 0:
        raise AdsValidationError(f"{field} must not be negative", field=field, rule="min")
    if value >= 2**63:
        raise AdsValidationError(f"{field} is too large", field=field, rule="max")
    return value


def text(value: Any, *, field: str) -> str:
    """A required, non-blank string, stripped."""
    if not isinstance(value, str) or not value.strip():
        raise AdsValidationError(f"{field} must not be blank", field=field, rule="required")
    return value.strip()


def currency(value: Any, *, field: str = "currency") -> str:
    """A three-letter ISO 4217 code in capitals, such as USD."""
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise AdsValidationError(
            f"{field} must be a 3-letter ISO 4217 code such as USD", field=field, rule="iso4217"
        )
    return value


def aware(value: Any, *, field: str) -> datetime.datetime | None:
    """A timezone-aware datetime (or None)."""
    if value is None:
        return None
    if not isinstance(value, datetime.datetime) or value.tzinfo is None:
        raise AdsValidationError(
            f"{field} must be a timezone-aware datetime", field=field, rule="timezone"
        )
    return value


def ordered_dates(start: datetime.datetime | None, end: datetime.datetime | None) -> None:
    """end_date must not come before start_date when both are set."""
    if start is not None and end is not None and end < start:
        raise AdsValidationError(
            "end_date must not be before start_date", field="end_date", rule="after_start_date"
        )


def age_range(value: Any) -> dict[str, Any]:
    """``{"min": 25, "max": 45}`` with 13 <= min <= max <= 120; either bound may be left out."""
    if not isinstance(value, dict) or set(value) - {"min", "max"}:
        raise AdsValidationError(
            "target_age_range must be a dict with min and/or max",
            field="target_age_range",
            rule="shape",
        )
    low, high = value.get("min", 13), value.get("max", 120)
    if not (isinstance(low, int) and isinstance(high, int) and 13 <= low <= high <= 120):
        raise AdsValidationError(
            "target_age_range needs 13 <= min <= max <= 120",
            field="target_age_range",
            rule="range",
        )
    return dict(value)
