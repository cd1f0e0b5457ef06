"""The experiment statistics against textbook values."""

import math

import pytest

from apps.ads.stats import VariantCounts, leader_confidence, normal_cdf, two_proportion_z_test


def test_normal_cdf_matches_the_standard_normal_table() -> None:
    # given the critical values printed in every z table
    # then Phi gives the tabulated probabilities
    assert normal_cdf(0.0) == pytest.approx(0.5)
    assert normal_cdf(1.0) == pytest.approx(0.841345, abs=1e-6)
    assert normal_cdf(1.644854) == pytest.approx(0.95, abs=1e-6)
    assert normal_cdf(1.959964) == pytest.approx(0.975, abs=1e-6)
    assert normal_cdf(-2.326348) == pytest.approx(0.01, abs=1e-6)


def test_z_test_matches_a_worked_example() -> None:
    # given the worked example: 130 conversions of 1000 against 100 of 1000
    # pooled p = 230/2000 = 0.115; SE = sqrt(0.115 * 0.885 * (1/1000 + 1/1000)) = 0.0142671
    # z = (0.13 - 0.10) / 0.0142671 = 2.10274; one-sided p = 1 - Phi(2.10274) = 0.017744
    result = two_proportion_z_test(successes_a=130, trials_a=1000, successes_b=100, trials_b=1000)
    # then
    assert result.z == pytest.approx(2.10274, abs=1e-5)
    assert result.p_value == pytest.approx(0.017744, abs=1e-5)
    assert result.confidence == pytest.approx(1 - 0.017744, abs=1e-5)


def test_z_test_matches_a_second_textbook_example() -> None:
    # given a second hand-computed example: 300 of 500 (0.6) against 200 of 400 (0.5):
    # pooled 0.5556, SE = sqrt(0.5556 * 0.4444 * (1/500 + 1/400)) = 0.033333
    # z = 0.1 / 0.033333 = 3.0
    result = two_proportion_z_test(successes_a=300, trials_a=500, successes_b=200, trials_b=400)
    # then
    assert result.z == pytest.approx(3.0, abs=1e-9)
    assert result.p_value == pytest.approx(0.0013499, abs=1e-6)


def test_z_test_is_antisymmetric_and_neutral_without_data() -> None:
    forward = two_proportion_z_test(successes_a=30, trials_a=200, successes_b=20, trials_b=200)
    backward = two_proportion_z_test(successes_a=20, trials_a=200, successes_b=30, trials_b=200)
    assert forward.z == pytest.approx(-backward.z)
    assert forward.confidence + backward.confidence == pytest.approx(1.0)
    empty = two_proportion_z_test(successes_a=0, trials_a=0, successes_b=5, trials_b=10)
    assert empty.confidence == 0.5
    same = two_proportion_z_test(successes_a=0, trials_a=10, successes_b=0, trials_b=10)
    assert same.z == 0.0


def test_z_test_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError, match="exceed"):
        two_proportion_z_test(successes_a=11, trials_a=10, successes_b=0, trials_b=10)
    with pytest.raises(ValueError, match="negative"):
        two_proportion_z_test(successes_a=-1, trials_a=10, successes_b=0, trials_b=10)


def test_leader_confidence_is_the_weakest_pairwise_confidence() -> None:
    # given three variants where B leads, A is close and C is far behind
    variants = [
        VariantCounts("A", impressions=1000, clicks=100, conversions=0),
        VariantCounts("B", impressions=1000, clicks=130, conversions=0),
        VariantCounts("C", impressions=1000, clicks=50, conversions=0),
    ]
    # when
    result = leader_confidence(variants, metric="ctr")
    # then B leads, and its confidence is the one against its closest rival A
    assert result.leader_id == "B"
    assert result.z_scores["A"] == pytest.approx(2.10274, abs=1e-5)
    assert result.confidence == pytest.approx(normal_cdf(result.z_scores["A"]))
    assert result.z_scores["C"] > result.z_scores["A"]


def test_leader_confidence_by_conversion_rate_and_deterministic_ties() -> None:
    variants = [
        VariantCounts("b", impressions=10, clicks=100, conversions=10),
        VariantCounts("a", impressions=10, clicks=100, conversions=10),
    ]
    result = leader_confidence(variants, metric="cvr")
    assert result.leader_id == "a"
    assert result.confidence == pytest.approx(0.5)
    assert math.isclose(result.z_scores["b"], 0.0, abs_tol=1e-12)
    with pytest.raises(ValueError, match="two variants"):
        leader_confidence(variants[:1], metric="ctr")
