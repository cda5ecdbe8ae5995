"""Demand model: calibration to the sourced numbers, economics, and the two samplers."""

from __future__ import annotations

import numpy as np
import pytest

from retail_env.sim.catalog import CatalogConfig, build_catalog
from retail_env.sim.demand import (
    DemandParams,
    build_demand_model,
    demand_table,
    draw_lists,
    expected_sales,
    expected_visits,
    init_demand_state,
    poisson_from_uniform,
    sample_sales,
    update_demand_state,
)
from retail_env.sim.rng import BatchRNG

CAT = build_catalog()
MODEL = build_demand_model(DemandParams(), CAT)
N = CAT.n_products


def _list_prices(b: int = 1) -> np.ndarray:
    return np.broadcast_to(CAT.price, (b, 2, N)).copy()


def _long_run_probs(price: np.ndarray) -> np.ndarray:
    ds = init_demand_state(MODEL, price.shape[0])
    ds.ref[:] = price
    return demand_table(MODEL, ds, price).prob


def test_calibrated_to_penetration_and_member_spend():
    prob = _long_run_probs(_list_prices())[0]
    for c in range(CAT.n_categories):
        inside = prob[:, CAT.category == c].sum(axis=1)
        assert inside[0] == pytest.approx(CAT.category_penetration[c])
        assert inside[1] == pytest.approx(CAT.category_penetration[c] * 1.39)


def test_mean_elasticities_match_literature():
    base = _long_run_probs(_list_prices())[0, 0]
    own, cross = [], []
    for j in range(N):
        p = _list_prices()
        p[:, :, j] *= 1.001
        d = (_long_run_probs(p)[0, 0] / base - 1.0) / 0.001
        own.append(d[j])
        same = (CAT.category == CAT.category[j]) & (np.arange(N) != j)
        cross.extend(d[same])
    own_w = np.average(own, weights=base)
    assert own_w == pytest.approx(-2.6, abs=0.05)  # Bijmolt et al. 2005
    assert 0.1 <= np.mean(cross) <= 0.4  # Auer & Papies 2019: 0.10-0.26


@pytest.mark.parametrize("j", [0, 7, 13, 21])
def test_raising_a_price_lowers_own_and_raises_substitutes(j):
    ds = init_demand_state(MODEL, 1)
    base = demand_table(MODEL, ds, _list_prices()).prob[0]
    p = _list_prices()
    p[:, :, j] *= 1.2
    new = demand_table(MODEL, ds, p).prob[0]
    subs = (CAT.category == CAT.category[j]) & (np.arange(N) != j)
    other = CAT.category != CAT.category[j]
    for s in range(2):
        assert new[s, j] < base[s, j]
        assert np.all(new[s, subs] > base[s, subs])
        np.testing.assert_allclose(new[s, other], base[s, other])


def test_losses_loom_larger_than_gains():
    ds = init_demand_state(MODEL, 1)
    base = demand_table(MODEL, ds, _list_prices()).prob[0, 0, 0]
    up, down = _list_prices(), _list_prices()
    up[..., 0] *= 1.05
    down[..., 0] *= 0.95
    rise = demand_table(MODEL, ds, up).prob[0, 0, 0] / base
    cut = demand_table(MODEL, ds, down).prob[0, 0, 0] / base
    assert (1 - rise) > 1.2 * (cut - 1)


def test_members_buy_more_and_are_less_price_sensitive():
    assert np.all(MODEL.beta[1] < MODEL.beta[0])
    prob = _long_run_probs(_list_prices())[0]
    assert np.all(prob[1] > prob[0])


def test_reference_price_follows_discounts_and_wears_them_off():
    ds = init_demand_state(MODEL, 1)
    p = _list_prices()
    p[:, :, 0] *= 0.7
    first = demand_table(MODEL, ds, p).prob[0, 0, 0]
    for _ in range(24 * 14):
        update_demand_state(ds, MODEL, p, np.zeros((1, 2, N)), period_h=1)
    assert ds.ref[0, 0, 0] < CAT.price[0] * 0.8
    assert demand_table(MODEL, ds, p).prob[0, 0, 0] < 0.9 * first  # the deal wears off
    back = demand_table(MODEL, ds, _list_prices()).prob[0, 0, 0]
    fresh = demand_table(MODEL, init_demand_state(MODEL, 1), _list_prices()).prob[0, 0, 0]
    assert back < 0.8 * fresh  # list now feels like a loss


def test_stockpiling_after_deep_discount_then_dip():
    ds = init_demand_state(MODEL, 1)
    p = _list_prices()
    p[:, :, 0] *= 0.6
    table = demand_table(MODEL, ds, p)
    assert table.extra[0, 0, 0] > 0.2 and table.extra[0, 0, 1] == 0
    extra = np.zeros((1, 2, N))
    extra[0, :, 0] = 200.0
    update_demand_state(ds, MODEL, _list_prices(), extra, period_h=1)
    ds.ref[:] = CAT.price  # isolate the pantry effect
    after = demand_table(MODEL, ds, _list_prices()).prob[0]
    fresh = demand_table(MODEL, init_demand_state(MODEL, 1), _list_prices()).prob[0]
    cat0 = CAT.category == 0
    assert np.all(after[:, cat0] < fresh[:, cat0])
    np.testing.assert_allclose(after[:, ~cat0], fresh[:, ~cat0])


def test_end_cap_exposure_raises_demand():
    ds = init_demand_state(MODEL, 1)
    expo = np.zeros((1, N))
    expo[0, 5] = 0.6
    a = demand_table(MODEL, ds, _list_prices()).prob[0, :, 5]
    b = demand_table(MODEL, ds, _list_prices(), expo).prob[0, :, 5]
    assert np.all(b > 1.3 * a)


@pytest.mark.parametrize("mu", [0.0, 0.3, 4.0, 29.0, 80.0])
def test_poisson_sampler_moments(mu):
    u = np.random.default_rng(0).random(40_000)
    x = poisson_from_uniform(u, np.full(u.shape, mu))
    assert x.mean() == pytest.approx(mu, abs=0.05 + 0.03 * mu)
    assert x.var() == pytest.approx(mu, abs=0.1 + 0.06 * mu)


def test_aggregate_sampling_matches_expectation():
    ds = init_demand_state(MODEL, 1)
    table = demand_table(MODEL, ds, _list_prices())
    visits = expected_visits(MODEL, np.array([12]), 1)
    rng = BatchRNG([5])
    total = sum(sample_sales(table, visits, rng)[0] for _ in range(2000)) / 2000
    exp = expected_sales(table, visits)
    np.testing.assert_allclose(total, exp, rtol=0.15, atol=0.05)


def test_lists_match_table_and_one_product_per_category():
    ds = init_demand_state(MODEL, 1)
    p = _list_prices()
    p[..., 3] *= 0.6
    table = demand_table(MODEL, ds, p)
    member = np.zeros((1, 4000), bool)
    member[:, ::2] = True
    lists = draw_lists(table, member, MODEL.category, BatchRNG([1]))
    assert lists.shape == (1, 4000, N)
    picked = lists > 0
    for c in range(CAT.n_categories):
        assert picked[..., CAT.category == c].sum(axis=-1).max() <= 1
    for s, m in ((0, ~member[0]), (1, member[0])):
        units = lists[0, m].mean(axis=0)
        np.testing.assert_allclose(units, table.prob[0, s] * (1 + table.extra[0, s]), atol=0.025)


def test_draws_do_not_depend_on_batch_size():
    cat = build_catalog(CatalogConfig(assortment="mini"))
    model = build_demand_model(DemandParams(), cat)
    price = np.broadcast_to(cat.price, (3, 2, cat.n_products)).copy()
    price[1] *= 0.5
    table = demand_table(model, init_demand_state(model, 3), price)
    visits = expected_visits(model, np.array([8, 8, 8]), 3)
    alone = BatchRNG([9])
    together = BatchRNG([4, 5, 9])
    t0 = demand_table(model, init_demand_state(model, 1), price[2:])
    a = sample_sales(t0, visits[2:], alone)[0]
    b = sample_sales(table, visits, together)[0]
    np.testing.assert_array_equal(a[0], b[2])
