"""Spatial fidelity of the Promotion task: a period is played out in the walking store.

Each period the env installs the demand table (same model, prices, reference
prices and end-caps as the aggregate fidelity) in the walking store
(``retail_env.sim.store.set_demand``), advances it tick by tick for the period,
and books what left the store through the exit gate as the period's demand,
split by segment through the account's member flag. The store's shelves are the
front of house (staff refill them); the inventory books behind them cap what can
be sold, exactly as in the aggregate fidelity (``promotion_core.settle``).
Shoppers still inside at a period's end are booked in the period they leave.
"""

from __future__ import annotations

import numpy as np

from retail_env.envs.promotion import core as core
from retail_env.sim import demand as dm
from retail_env.sim import store
from retail_env.sim.config import make_config
from retail_env.sim.rng import BatchRNG
from retail_env.sim.validation import to_dict


def sim_config(cfg: core.PromotionConfig):
    """The walking store's SimConfig for a Promotion config (attribution hard cases off)."""
    sp = cfg.spatial
    return make_config(
        "easy",
        layout=sp.layout,
        tick_hz=sp.tick_hz,
        start_hour=float(cfg.start_hour),
        catalog=to_dict(cfg.catalog),
        demand=to_dict(cfg.demand),
        shoppers={"max_shoppers": sp.max_shoppers, "p_putback": sp.p_putback},
        hard={
            "staff_restock": True,
            "produce": cfg.catalog.produce,
            "look_alikes": cfg.catalog.look_alikes,
        },
    )


class SpatialFidelity:
    """Drives B walking stores through trading periods (B = the promotion state's batch)."""

    def __init__(self, params: core.PromoParams):
        self.params = params
        self.sim = store.make_params(sim_config(params.config))
        if self.sim.catalog.name != params.catalog.name:
            raise ValueError("walking store and promotion env disagree on the catalog")
        self.ticks = int(round(params.config.period_h * 3600 * params.config.spatial.tick_hz))
        self.state = None
        self.member_of = np.zeros((1, 0), bool)

    def reset(self, rng: BatchRNG) -> None:
        self.state, _ = store.reset(self.sim, rng)
        self.member_of = np.zeros((rng.batch_size, 256), bool)

    def _remember_members(self, entries) -> None:
        keep = entries.account >= 0
        b, acc = entries.store[keep], entries.account[keep]
        if len(acc) and acc.max() >= self.member_of.shape[1]:
            grow = np.zeros((self.member_of.shape[0], 2 * (int(acc.max()) + 1)), bool)
            grow[:, : self.member_of.shape[1]] = self.member_of
            self.member_of = grow
        self.member_of[b, acc] = entries.member[keep]

    def run_period(self, table: dm.DemandTable, rng: BatchRNG) -> np.ndarray:
        """Play one period; returns units that left the store (B, S, N) by segment."""
        st, b = self.state, rng.batch_size
        assert st is not None  # reset first
        store.set_demand(st, table.prob, table.extra)
        units = np.zeros((b, dm.N_SEGMENTS, self.params.catalog.n_products), np.int64)
        for _ in range(self.ticks):
            out = store.step(st, self.sim, rng)
            if len(out.entries):
                self._remember_members(out.entries)
            ex = out.exits
            if len(ex):
                seg = self.member_of[ex.store, np.maximum(ex.account, 0)].astype(np.int64)
                np.add.at(units, (ex.store, seg, ex.product), ex.qty)
        return units

    def step(self, state: core.PromoState, seg_price, depth, member_only, rng: BatchRNG):
        p = self.params
        table = dm.demand_table(
            p.model, state.demand, seg_price, core.endcap_exposure(p, seg_price)
        )
        units = self.run_period(table, rng)
        # Second units are not labelled in the walking store: book their expected share.
        doubles = units * table.extra / (1.0 + table.extra)
        return core.settle(state, seg_price, depth, member_only, units, doubles, table, p)
