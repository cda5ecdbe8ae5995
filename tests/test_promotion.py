"""Promotion task: economics, books, spoilage, invalid actions, batching, room to learn.

(check_env, seeding, pickling, rendering and vector envs run for every registered
id in tests/test_registry_envs.py.)
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from retail_env.agents.factory import run_episode
from retail_env.agents.promotion.baselines import (
    HiLo,
    ListPrice,
    Lookahead,
    Myopic,
    RandomPolicy,
)

import retail_env  # noqa: F401  (registers the ids)
from retail_env.envs.promotion import core as core
from retail_env.envs.promotion.env import PromotionEnv
from retail_env.errors import InvalidActionError
from retail_env.sim import demand as dm
from retail_env.sim.rng import BatchRNG
from retail_env.sim.validation import ConfigError


def _level_action(env, level: int, member: int = 0) -> np.ndarray:
    p = env.unwrapped.params
    return np.array([level] * p.n_units + [member] * p.n_units)


def test_info_terms_sum_to_reward_and_kpis_present():
    env = gym.make("RetailStore/Promotion-v1", config={"reward_scale": 1.0})  # dollars
    env.reset(seed=0)
    _, r, term, trunc, info = env.step(_level_action(env, 3))
    assert set(info["rewards"]) == {"revenue", "cogs", "spoilage", "holding", "expedite"}
    assert info["rewards"]["expedite"] == 0.0  # -v1 expedites nothing
    assert sum(info["rewards"].values()) == pytest.approx(r)
    assert info["kpis"]["profit"] == pytest.approx(r)
    assert set(info["kpis"]) == {
        "revenue",
        "profit",
        "units",
        "stockouts",
        "spoilage",
        "expedited",
        "member_share",
        "mean_discount",
    }
    assert info["kpis"]["mean_discount"] == pytest.approx(0.3, abs=1e-9)
    assert not term and not trunc


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros(3, np.int64), "shape"),
        ("level-3", "shape"),
        (None, "shape"),
    ],
)
def test_invalid_action_shapes_raise(bad, match):
    env = gym.make("RetailStore/Promotion-v1")
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match=match):
        env.step(bad)


def test_invalid_action_values_raise():
    env = PromotionEnv()
    env.reset(seed=0)
    a = _level_action(env, 0)
    a[2] = 6
    with pytest.raises(InvalidActionError, match=r"out of range.*\[0, 5\]"):
        env.step(a)
    a[2] = -1
    with pytest.raises(InvalidActionError):
        env.step(a)
    with pytest.raises(InvalidActionError, match="integers"):
        env.step(_level_action(env, 0) + 0.5)
    box = PromotionEnv(preset="continuous")
    box.reset(seed=0)
    with pytest.raises(InvalidActionError, match=r"\[-1, 1\]"):
        box.step(np.full(box.action_space.shape, 1.5, np.float32))
    with pytest.raises(InvalidActionError):
        box.step(np.full(box.action_space.shape, np.nan, np.float32))


def test_bad_config_and_preset_fail_clearly():
    with pytest.raises(ConfigError, match="preset"):
        PromotionEnv(preset="hypermarket")
    with pytest.raises(ConfigError, match="period_h"):
        PromotionEnv(config={"period_h": 5})
    with pytest.raises(ConfigError, match="discount_levels"):
        PromotionEnv(config={"discount_levels": [0.3, 0.1]})
    with pytest.raises(ConfigError, match="unknown"):
        PromotionEnv(config={"inventory": {"lead_days": 2}})


def test_books_balance_over_an_episode():
    env = gym.make("RetailStore/Promotion-Fresh-v1", config={"episode_days": 6})
    env.reset(seed=4)
    env.action_space.seed(4)
    sold = spoiled = 0.0
    done = False
    while not done:
        _, _, term, trunc, info = env.step(env.action_space.sample())
        sold += info["kpis"]["units"]
        spoiled += info["kpis"]["spoilage"]
        done = term or trunc
    st = env.unwrapped.state.inv
    np.testing.assert_array_equal(st.received, st.sold + st.spoiled + st.on_hand)
    assert st.sold.sum() == sold and st.spoiled.sum() == spoiled
    assert spoiled > 0 and sold > 0


def test_perishables_spoil_when_overstocked_and_shelf_stable_never():
    spoil = {}
    for cover in (1.0, 4.0):
        env = PromotionEnv(
            preset="fresh", config={"inventory": {"cover": cover}, "episode_days": 7}
        )
        run_episode(env, ListPrice(env), seed=1)
        inv = env.state.inv
        spoil[cover] = inv.spoiled[0].sum()
        assert inv.spoiled[0, ~env.params.catalog.perishable].sum() == 0
    assert spoil[4.0] > 3 * max(spoil[1.0], 1)


def test_lead_time_delivers_exactly_lead_periods_later():
    env = PromotionEnv(config={"inventory": {"lead_time_h": 5, "review_h": 24}})
    env.reset(seed=0)
    inv = env.state.inv
    for _ in range(24):
        env.step(_level_action(env, 5))  # deep discounts draw stock down
    ordered = inv.on_order.copy()
    assert ordered.sum() > 0
    on_hand = inv.on_hand.copy()
    for k in range(5):
        env.step(_level_action(env, 0))
        if k < 4:
            assert np.array_equal(inv.on_order, ordered)
    assert inv.on_order.sum() == 0 and inv.on_hand.sum() > on_hand.sum()


def test_repeated_deep_discount_earns_less_than_sparing_use():
    """Reference prices: 30 % off every period wears off; the same 30 % one day a week pays."""
    always, sparing = [], []
    for seed in range(3):
        # ample, long-lived stock: only the demand side differs between the two
        env = PromotionEnv(
            config={"inventory": {"cover": 4.0}, "catalog": {"shelf_life_scale": 10.0}}
        )
        obs, _ = env.reset(seed=seed)
        total = 0.0
        for _ in range(env.params.n_periods):
            total += env.step(_level_action(env, 3))[1]
        always.append(total)
        ref_ratio = env.state.demand.ref[0] / env.params.catalog.price
        assert ref_ratio.max() < 0.9  # shoppers now expect the deal
        sparing.append(
            run_episode(env, HiLo(env, depth=0.3, cycle_days=7, promo_h=24), seed)["return"]
        )
    assert np.mean(always) < 0.9 * np.mean(sparing)


def test_raising_a_price_lowers_own_expected_sales_and_raises_substitutes():
    env = PromotionEnv()
    env.reset(seed=0)
    p = env.params
    base, _, _ = core.prices_from_discrete(p, _level_action(env, 0)[None])
    up = base.copy()
    up[:, :, 0] *= 1.1
    tabs = [dm.demand_table(p.model, env.state.demand, x) for x in (base, up)]
    sales = [dm.expected_sales(t, np.array([[10.0, 10.0]])) for t in tabs]
    same = p.catalog.category == p.catalog.category[0]
    assert np.all(sales[1][0, :, 0] < sales[0][0, :, 0])
    assert np.all(sales[1][0, :, 1:][:, same[1:]] > sales[0][0, :, 1:][:, same[1:]])
    np.testing.assert_allclose(sales[1][0, :, ~same], sales[0][0, :, ~same])


def test_member_only_offer_prices_and_references_by_segment():
    env = PromotionEnv(config={"episode_days": 3})
    env.reset(seed=0)
    for _ in range(48):
        env.step(_level_action(env, 3, member=1))
    st, lst = env.state, env.params.catalog.price
    np.testing.assert_allclose(st.price[0, 0], lst)
    np.testing.assert_allclose(st.price[0, 1], lst * 0.7)
    assert np.all(st.demand.ref[0, 1] < lst) and np.allclose(st.demand.ref[0, 0], lst)


def test_end_caps_go_to_the_deepest_public_discounts_above_the_minimum():
    p = core.build_params(core.make_config())
    assert p.config.endcap_min_depth == 0.2
    a = np.zeros((1, 2 * p.n_units), np.int64)
    a[0, [4, 9, 11, 13]] = [1, 4, 3, 5]  # 10 % (below the minimum), 40 %, 30 %, 50 % ...
    a[0, p.n_units + 13] = 1  # ... but 50 % on product 13 for members only
    seg_price, _, _ = core.prices_from_discrete(p, a)
    expo = core.endcap_exposure(p, seg_price)
    assert np.flatnonzero(expo[0]).tolist() == [9, 11]
    a[0, 9] = a[0, 11] = 1  # only 10 % cuts left everyone can take: no display
    assert core.endcap_exposure(p, core.prices_from_discrete(p, a)[0]).sum() == 0


def test_batched_core_equals_store_by_store():
    p = core.build_params(core.make_config("fresh", {"episode_days": 2}))
    seeds = [3, 8, 21]
    rng_b = BatchRNG(seeds)
    st_b = core.init_state(p, 3)
    rngs = [BatchRNG([s]) for s in seeds]
    sts = [core.init_state(p, 1) for _ in seeds]
    gen = np.random.default_rng(0)
    for _ in range(30):
        a = gen.integers(0, 6, size=(3, 2 * p.n_units))
        a[:, p.n_units :] %= 2
        prices = core.prices_from_discrete(p, a)
        rb, _ = core.step(st_b, *prices, p, rng_b)
        for i in range(3):
            one = core.prices_from_discrete(p, a[i : i + 1])
            r1, _ = core.step(sts[i], *one, p, rngs[i])
            for k in rb:
                assert rb[k][i] == r1[k][0]
    for i in range(3):
        np.testing.assert_array_equal(st_b.inv.lot_qty[i], sts[i].inv.lot_qty[0])
        np.testing.assert_array_equal(st_b.demand.ref[i], sts[i].demand.ref[0])


def test_lookahead_beats_myopic_and_is_level_with_list_price_on_mini():
    """On the mini preset the forward-looking planner beats the myopic optimum. Since end-caps
    need a real discount (issue 20) it no longer beats list price: the old margin was mostly
    displays bought by 10 % cuts. Whether a learner can beat list price is open."""
    env = gym.make("RetailStore/Promotion-Mini-v1")
    seeds = range(100, 104)
    score = {
        pol.name: np.mean([run_episode(env, pol, s)["return"] for s in seeds])
        for pol in (ListPrice(env), Myopic(env), Lookahead(env))
    }
    assert score["lookahead"] > score["myopic"] * 1.02
    assert abs(score["lookahead"] / score["list_price"] - 1.0) < 0.02


def test_random_policy_is_worse_than_list_price():
    env = gym.make("RetailStore/Promotion-Mini-v1")
    lst = run_episode(env, ListPrice(env), 5)["return"]
    rnd = run_episode(env, RandomPolicy(env), 5)["return"]
    assert rnd < lst
