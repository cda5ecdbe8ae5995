"""The reward-ranking check: re-weighed returns equal a run under those weights; inversions."""

from __future__ import annotations

import numpy as np
import pytest
from retail_env.experiments.evaluate_attribution import run_batch
from retail_env.experiments.reward_ranking import inversions, parse_weights, rank_check, reweigh

SHORT = {"episode_s": 60.0, "close_grace_s": 60.0}


def test_reweighed_return_equals_a_run_under_those_weights():
    w = parse_weights("correct=2,overcharge=-1,undercharge=-0.5")
    base = run_batch("hard", ["nearest", "none"], [31, 32], task=SHORT)
    other = run_batch("hard", ["nearest", "none"], [31, 32], task={**SHORT, "reward": w})
    for agent in base:  # heuristics do not read the reward: same actions, other weights
        for b, o in zip(base[agent], other[agent], strict=True):
            assert reweigh(b, {}) == pytest.approx(b["return"])
            assert reweigh(b, w) == pytest.approx(o["return"])
            assert b["exact_match"] == o["exact_match"]


def test_inversions_count_pairs_ordered_differently():
    assert inversions(np.array([3.0, 2.0, 1.0]), np.array([0.9, 0.5, 0.1])) == (0, 3)
    assert inversions(np.array([3.0, 2.0, 1.0]), np.array([0.1, 0.5, 0.9])) == (3, 3)
    assert inversions(np.array([1.0, 1.0, 0.0]), np.array([0.2, 0.1, 0.3])) == (2, 2)  # tie skipped
    eps = {
        "a": [
            {
                "exact_match": 0.2,
                "f1": 0.0,
                "exact_match_nonempty": 0.0,
                **{
                    f"reward_{k}": 0.0
                    for k in (
                        "correct",
                        "overcharge",
                        "undercharge",
                        "review",
                        "refused",
                        "empty_slot",
                    )
                },
                "reward_undercharge": -10.0,
            }
        ],
        "b": [
            {
                "exact_match": 0.4,
                "f1": 0.5,
                "exact_match_nonempty": 0.3,
                **{f"reward_{k}": 0.0 for k in ("correct", "review", "refused", "empty_slot")},
                "reward_correct": 5.0,
                "reward_overcharge": -16.0,
                "reward_undercharge": -4.0,
            }
        ],
    }
    # default: a = -10, b = -15 (b has better receipts): inverted; overcharge -1: b = -7
    assert rank_check(eps, {})["inversions"]["exact_match"]["inverted_pairs"] == ["a/b"]
    assert rank_check(eps, {"overcharge": -1.0})["inversions"]["exact_match"]["means"] == [0, 1]
    with pytest.raises(ValueError, match="not a reward term"):
        parse_weights("overcharged=-1")
