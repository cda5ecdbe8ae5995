"""The two fidelities share one demand model and agree on expected sales.

The walking store plays out an hour (after an hour of warm-up with the same
arrival rate, so shoppers carried across the period boundary cancel out) under
a promotion; the units that leave the store must match the aggregate model's
expectation within sampling error (compound-Poisson variance: one unit or two).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from retail_env.envs.promotion import core as core
from retail_env.envs.promotion.spatial import SpatialFidelity
from retail_env.sim import demand as dm
from retail_env.sim.rng import BatchRNG

SEEDS = [100, 101, 102, 103]


def test_spatial_and_aggregate_agree_on_expected_sales():
    cfg = core.make_config(
        "spatial", {"period_h": 1.0, "start_hour": 7, "demand": {"daily_visits": 5000.0}}
    )
    p = core.build_params(cfg)
    assert dm.HOURLY_PROFILE[7] == dm.HOURLY_PROFILE[8]  # warm-up hour = measured hour
    b = len(SEEDS)
    rng = BatchRNG(SEEDS)
    fid = SpatialFidelity(p)
    fid.reset(rng)
    state = core.init_state(p, b)
    action = np.zeros((b, 2 * p.n_units), np.int64)
    action[:, 0] = 3  # 30 % off product 0 for everyone
    action[:, 4], action[:, p.n_units + 4] = 2, 1  # 20 % off product 4 for members only
    prices = core.prices_from_discrete(p, action)
    fid.step(state, *prices, rng)  # warm-up hour (07:00-08:00)

    table = dm.demand_table(p.model, state.demand, prices[0], core.endcap_exposure(p, prices[0]))
    visits = dm.expected_visits(
        p.model, np.full(b, core.period_hour(p, state.period)), cfg.period_h
    )
    mean = visits[..., None] * table.prob * (1 + table.extra)  # (B, S, N)
    var = visits[..., None] * table.prob * (1 + 3 * table.extra)  # singles + 4 doubles
    got = fid.run_period(table, rng)  # (B, S, N) exits

    # total units
    z = (got.sum() - mean.sum()) / np.sqrt(var.sum())
    assert abs(z) < 3.5, (got.sum(), mean.sum())
    # per product and segment, pooled over stores: chi-square goodness of fit
    o, e, v = got.sum(0).ravel(), mean.sum(0).ravel(), var.sum(0).ravel()
    chi2 = float(((o - e) ** 2 / v).sum())
    print(
        f"spatial {got.sum()} vs aggregate {mean.sum():.1f} units: z = {z:.2f}, "
        f"chi2 = {chi2:.1f} on {o.size} df"
    )
    assert stats.chi2.sf(chi2, df=o.size) > 1e-3, (o, e.round(1))
    # the promotions show in both: product 0 sells above its list-price share
    assert got[:, :, 0].sum() > 0.8 * mean[:, :, 0].sum()
    assert got[:, 1, 4].sum() > got[:, 0, 4].sum()  # members took the member-only deal
