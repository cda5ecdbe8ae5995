"""The Promotion observation: one flat float32 vector (fits every SB3 algorithm).

Layout (N products, C categories), each part scaled to about [0, 1]:

=====================  =====  ==========================================================
part                   size   meaning
=====================  =====  ==========================================================
time                   5      sin/cos hour of day, sin/cos day of week, episode progress
ref_price              2N     reference price / list price (non-members, members)
on_hand                N      stock on hand / order-up-to level
on_order               N      stock on order / order-up-to level
expiring               N      stock expiring within 24 h / order-up-to level
sales                  N      units sold last period / list-price expectation
lost                   N      units lost to stock-outs last period / list-price expectation
discount               N      last discount depth (negative = markup)
member_only            N      last member-only flag
pantry                 2C     stockpiled units at home / a pantry-horizon of purchases
=====================  =====  ==========================================================
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from retail_env.envs.promotion.core import PromoParams, PromoState, period_hour
from retail_env.sim import inventory as inv
from retail_env.sim.demand import list_category_units

HI = 10.0  # ratio parts are clipped to [0, HI]


def _parts(params: PromoParams) -> list[tuple[str, int, float, float]]:
    n, c = params.catalog.n_products, params.catalog.n_categories
    return [
        ("time", 5, -1.0, 1.0),
        ("ref_price", 2 * n, 0.0, HI),
        ("on_hand", n, 0.0, HI),
        ("on_order", n, 0.0, HI),
        ("expiring", n, 0.0, HI),
        ("sales", n, 0.0, HI),
        ("lost", n, 0.0, HI),
        ("discount", n, -1.0, 1.0),
        ("member_only", n, 0.0, 1.0),
        ("pantry", 2 * c, 0.0, HI),
    ]


def observation_space(params: PromoParams) -> spaces.Box:
    parts = _parts(params)
    low = np.concatenate([np.full(k, lo, np.float32) for _, k, lo, _ in parts])
    high = np.concatenate([np.full(k, hi, np.float32) for _, k, _, hi in parts])
    return spaces.Box(low, high, dtype=np.float32)


def observation_slices(params: PromoParams) -> dict[str, slice]:
    """Where each named part sits in the vector."""
    out, i = {}, 0
    for name, k, _, _ in _parts(params):
        out[name] = slice(i, i + k)
        i += k
    return out


def build_observation(params: PromoParams, state: PromoState) -> np.ndarray:
    """(B, D) float32 observations for B stores."""
    cat, plan = params.catalog, params.plan
    b = state.price.shape[0]
    hour = period_hour(params, state.period)
    day = int(state.period * params.config.period_h // 24) % 7
    t = np.array(
        [
            np.sin(2 * np.pi * hour / 24),
            np.cos(2 * np.pi * hour / 24),
            np.sin(2 * np.pi * day / 7),
            np.cos(2 * np.pi * day / 7),
            min(state.period / params.n_periods, 1.0),
        ]
    )
    s = plan.order_up_to[None, :].astype(np.float64)
    now = state.period * params.config.period_h
    base = np.maximum(params.base_units, 1e-6)[None, :]
    model = params.model
    pantry_norm = (model.visit_rate[:, None] * model.params.pantry_h * list_category_units(model))[
        None
    ]
    parts = [
        np.broadcast_to(t, (b, 5)),
        (state.demand.ref / cat.price[None, None, :]).reshape(b, -1),
        state.inv.on_hand / s,
        state.inv.on_order / s,
        inv.expiring_within(state.inv, now, 24.0) / s,
        state.units.sum(axis=1) / base,
        state.lost / base,
        np.clip(state.depth, -1.0, 1.0),
        state.member_only.astype(np.float64),
        (state.demand.pantry / np.maximum(pantry_norm, 1e-9)).reshape(b, -1),
    ]
    obs = np.concatenate(parts, axis=1)
    obs[:, 5:] = np.clip(obs[:, 5:], -1.0, HI)
    return obs.astype(np.float32)
