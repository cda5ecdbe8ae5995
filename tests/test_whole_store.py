"""Promotions in the Attribution store: promoted shelves draw the crowds (the coupling is
real), a list-price plan is the store without one, and bad plans fail clearly."""

from __future__ import annotations

import numpy as np
import pytest

from retail_env.envs.attribution.core import PRESETS, AttributionConfig, AttributionCore
from retail_env.sim.validation import ConfigError, from_dict

PROMO = PRESETS["promo"]  # RetailStore/Attribution-Promo-v0
SHORT = 240.0  # store seconds: enough shoppers to see the pull, quick to run


def _events(promotion: dict, seed: int) -> tuple[AttributionCore, list]:
    """Every event one store detects in a short episode (nobody decides: the world does
    not depend on decisions)."""
    cfg = from_dict(
        AttributionConfig,
        {"scenario": "medium", "episode_s": SHORT, "close_grace_s": 60.0, "promotion": promotion},
    )
    core = AttributionCore(cfg)
    core.reset([seed])
    while not core.shut[0]:
        core.tick()
    return core, list(core.queues[0])


def test_promoted_shelves_see_more_visits():
    promo = PROMO["promotion"]
    on, off, n_on, n_off = 0, 0, 0, 0
    for seed in (1, 2):
        core, promoted_events = _events(promo, seed)
        _, list_events = _events({}, seed)
        promoted = core.sim.promotions.promoted(0)
        assert len(promoted) >= 4  # a quarter of 24 products, four on end-caps
        on_shelf = set(np.flatnonzero(np.isin(core.sim.params.planogram.truth, promoted)).tolist())
        on += sum(r.plate in on_shelf for r in promoted_events)
        off += sum(r.plate in on_shelf for r in list_events)
        n_on += len(promoted_events)
        n_off += len(list_events)
    assert on > 1.5 * off, (on, off)
    # the pull is on the promoted shelves: their share of all events grows
    assert on / n_on > off / n_off


def test_list_price_plan_is_the_store_without_one():
    _, plain = _events({}, 5)
    core, listed = _events({"policy": "list_price"}, 5)
    assert core.sim.promotions is not None
    assert [(r.plate, r.t_start, r.t_end, r.dw) for r in plain] == [
        (r.plate, r.t_start, r.t_end, r.dw) for r in listed
    ]


def test_explicit_plan_prices_and_endcaps():
    cfg = from_dict(
        AttributionConfig,
        {
            "promotion": {
                "policy": "plan",
                "discounts": [[0, 3, 0.4], [1, 5, 0.3]],
                "member_offers": [[1, 5]],
                "endcaps": [[0, 7]],
            }
        },
    )
    sp = AttributionCore(cfg).sim.promotions
    lst = sp.params.catalog.price
    assert sp.seg_price[0, :, 3] == pytest.approx(lst[3] * 0.6)
    assert sp.seg_price[1, 0, 5] == pytest.approx(lst[5])  # members only
    assert sp.seg_price[1, 1, 5] == pytest.approx(lst[5] * 0.7)
    assert sp.exposure[0, 7] > 0 and sp.exposure[0].sum() == sp.exposure[0, 7]
    # the discount puts product 3 on more lists in period 0 than in period 1
    assert sp.prob[0, :, 3].min() > sp.prob[1, :, 3].max()


@pytest.mark.parametrize(
    "promotion, words",
    [
        ({"policy": "bogus"}, "policy"),
        ({"discounts": [[0, 1, 0.3]]}, "policy='plan'"),
        ({"policy": "plan", "discounts": [[0, 1, 1.5]]}, "depth"),
        ({"policy": "plan", "discounts": [[0, 1]]}, "3 numbers"),
        ({"policy": "plan", "endcaps": [[-1, 2]]}, "integers"),
    ],
)
def test_bad_plans_named(promotion, words):
    with pytest.raises(ConfigError, match=words.replace("(", r"\(")):
        from_dict(AttributionConfig, {"promotion": promotion})


@pytest.mark.parametrize(
    "row, words", [([0, 99, 0.3], "product 99"), ([50, 1, 0.3], "period 50 is after the episode")]
)
def test_rows_outside_catalog_or_episode_named(row, words):
    cfg = from_dict(AttributionConfig, {"promotion": {"policy": "plan", "discounts": [row]}})
    with pytest.raises(ConfigError, match=words):
        AttributionCore(cfg)


def test_coupling_and_leaderboard_scripts_write_their_tables(tmp_path):
    pytest.importorskip("pettingzoo")  # the multi extra (the two-role leaderboard)
    from retail_env.experiments import whole_store_coupling, whole_store_leaderboard

    out = tmp_path / "coupling"
    s = whole_store_coupling.main(["--episodes", "1", "--scenario", "easy", "--out", str(out)])
    assert set(s) == set(whole_store_coupling.PLANS)
    text = out.with_suffix(".md").read_text()
    assert "deep 50 % + end-caps" in text and "hungarian exact_match" in text
    # deeper deals, more events on the same store
    assert (
        s["deep 50 % + end-caps"]["crowding"]["events"]["mean"]
        > s["list price"]["crowding"]["events"]["mean"]
    )
    out = tmp_path / "board"
    s = whole_store_leaderboard.main(["--episodes", "1", "--scenario", "easy", "--out", str(out)])
    assert set(s) == set(whole_store_leaderboard.PAIRS)
    assert "myopic + oracle" in out.with_suffix(".md").read_text()
    assert out.with_suffix(".json").exists()
