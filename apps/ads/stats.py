"""Statistics for A/B experiments: which variant leads, and how sure we are.

Method (stated, standard): the one-sided two-proportion z-test with a pooled standard error.
For a leader L and another variant O, with successes ``x`` out of trials ``n``::

    p_L = x_L / n_L,  p_O = x_O / n_O,  p = (x_L + x_O) / (n_L + n_O)
    z   = (p_L - p_O) / sqrt(p (1 - p) (1 / n_L + 1 / n_O))
    confidence(L beats O) = Phi(z) = 1 - p_value(one-sided)

where ``Phi`` is the standard normal CDF, ``0.5 (1 + erf(z / sqrt 2))``. The confidence that
the leader beats *all* the others is the smallest of its pairwise confidences (it must beat
the closest rival). The normal approximation wants roughly ``n p >= 5`` and
``n (1 - p) >= 5`` in every group; below that the figure is indicative only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Metric = Literal["ctr", "cvr"]
"""``ctr``: clicks per impression. ``cvr``: conversions per click."""


def normal_cdf(x: float) -> float:
    """Phi(x), the standard normal cumulative distribution function."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


@dataclass(frozen=True, slots=True)
class ZTest:
    """Result of a one-sided two-proportion z-test of "A's rate is greater than B's"."""

    z: float
    p_value: float
    confidence: float


def two_proportion_z_test(
    *, successes_a: int, trials_a: int, successes_b: int, trials_b: int
) -> ZTest:
    """One-sided pooled two-proportion z-test that A's success rate exceeds B's."""
    for name, value in (
        ("successes_a", successes_a),
        ("trials_a", trials_a),
        ("successes_b", successes_b),
        ("trials_b", trials_b),
    ):
        if value < 0:
            raise ValueError(f"{name} must not be negative")
    if successes_a > trials_a or successes_b > trials_b:
        raise ValueError("successes cannot exceed trials")
    if trials_a == 0 or trials_b == 0:
        return ZTest(z=0.0, p_value=0.5, confidence=0.5)
    rate_a = successes_a / trials_a
    rate_b = successes_b / trials_b
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    variance = pooled * (1.0 - pooled) * (1.0 / trials_a + 1.0 / trials_b)
    if variance == 0.0:
        # Both rates are 0 or both are 1: no evidence either way.
        return ZTest(z=0.0, p_value=0.5, confidence=0.5)
    z = (rate_a - rate_b) / math.sqrt(variance)
    confidence = normal_cdf(z)
    return ZTest(z=z, p_value=1.0 - confidence, confidence=confidence)


@dataclass(frozen=True, slots=True)
class VariantCounts:
    """The counters of one experiment variant."""

    variant_id: str
    impressions: int
    clicks: int
    conversions: int

    def successes_and_trials(self, metric: Metric) -> tuple[int, int]:
        if metric == "ctr":
            return self.clicks, self.impressions
        return self.conversions, self.clicks

    def rate(self, metric: Metric) -> float | None:
        successes, trials = self.successes_and_trials(metric)
        return successes / trials if trials else None


@dataclass(frozen=True, slots=True)
class LeaderConfidence:
    """The leading variant and the confidence that it beats every other variant."""

    leader_id: str
    confidence: float
    z_scores: dict[str, float]


def leader_confidence(variants: Sequence[VariantCounts], *, metric: Metric) -> LeaderConfidence:
    """The variant with the highest rate and the confidence that it beats all the others.

    Ties on the rate go to the variant with more trials, then to the lower id, so the
    answer is deterministic. Needs at least two variants.
    """
    if len(variants) < 2:
        raise ValueError("an experiment needs at least two variants")

    def sort_key(variant: VariantCounts) -> tuple[float, int, str]:
        successes, trials = variant.successes_and_trials(metric)
        rate = successes / trials if trials else -1.0
        return (-rate, -trials, variant.variant_id)

    ordered = sorted(variants, key=sort_key)
    leader = ordered[0]
    leader_successes, leader_trials = leader.successes_and_trials(metric)
    confidence = 1.0
    z_scores: dict[str, float] = {}
    for other in ordered[1:]:
        successes, trials = other.successes_and_trials(metric)
        test = two_proportion_z_test(
            successes_a=leader_successes,
            trials_a=leader_trials,
            successes_b=successes,
            trials_b=trials,
        )
        z_scores[other.variant_id] = test.z
        confidence = min(confidence, test.confidence)
    return LeaderConfidence(leader_id=leader.variant_id, confidence=confidence, z_scores=z_scores)
