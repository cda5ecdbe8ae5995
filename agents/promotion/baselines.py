"""Baseline policies for the Promotion task.

Every policy is an :class:`~retail_env.agents.factory.Agent` built for its env
(``make_agent("hi_lo", env, depth=0.3)``): ``reset(seed)``, ``act(obs, info) -> action``;
they read the unwrapped env's params and state (for the model-based ones that is what
"using the true demand model" means). All work with the discrete (MultiDiscrete) action; ``ListPrice``,
``RandomPolicy`` and ``Myopic`` also with the continuous one.

- ``ListPrice``: never discount.
- ``RandomPolicy``: uniform random actions.
- ``HiLo``: each decision unit gets ``depth`` off for ``promo_h`` hours once every
  ``cycle_days``, staggered across units (the classic high-low calendar).
- ``Myopic``: each period, the prices that maximise this period's expected profit
  under the true demand model and current reference prices (coordinate ascent).
- ``Lookahead``: the myopic optimiser plus first-order values of what prices do to
  the future (stock that would spoil, reference prices), from the true model.
- ``ThompsonBandit``: per unit, Gaussian Thompson sampling over discount levels on
  the unit's period profit (normalised by the hour's traffic).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from retail_env.envs.promotion import core as core
from retail_env.sim import demand as dm
from retail_env.sim import inventory as inv

from ..factory import Agent, register_agent


class PromotionAgent(Agent):
    """A Promotion baseline: reads ``store``, the unwrapped env (``params``, ``state``,
    ``action_space``); an episode without a seed starts as seed 0 would."""

    name = ""

    def __init__(self, env, seed: int | None = None):
        super().__init__(env, seed)
        self.store: Any = env.unwrapped  # the PromotionEnv: params, state, action_space


class ListPrice(PromotionAgent):
    name = "list_price"

    def act(self, obs, info):
        space = self.store.action_space
        return np.zeros(space.shape, dtype=space.dtype)


class RandomPolicy(PromotionAgent):
    name = "random"

    def reset(self, seed: int | None = None) -> None:
        self.space = self.store.action_space
        self.space.seed(0 if seed is None else seed)

    def act(self, obs, info):
        return self.space.sample()


def _levels_action(p: core.PromoParams, level: np.ndarray, member: np.ndarray | None = None):
    """MultiDiscrete action from per-unit level indices (and member flags)."""
    if p.config.action != "discrete":
        raise ValueError("this baseline needs the discrete (MultiDiscrete) action")
    parts = [level.astype(np.int64)]
    if p.config.member_offers:
        parts.append(np.zeros(p.n_units, np.int64) if member is None else member.astype(np.int64))
    return np.concatenate(parts)


class HiLo(PromotionAgent):
    """Staggered high-low calendar: depth off for ``promo_h`` hours every ``cycle_days``."""

    name = "hi_lo"

    def __init__(
        self,
        env,
        seed: int | None = None,
        depth: float = 0.3,
        cycle_days: int = 7,
        promo_h: int = 24,
        member_only: bool = False,
    ):
        super().__init__(env, seed)
        self.depth, self.cycle_days, self.promo_h, self.member_only = (
            depth,
            cycle_days,
            promo_h,
            member_only,
        )

    def reset(self, seed: int | None = None) -> None:
        p = self.store.params
        self.level = int(np.argmin(np.abs(np.asarray(p.config.discount_levels) - self.depth)))
        cycle = self.cycle_days * 24
        self.offset = (np.arange(p.n_units) * cycle) // p.n_units  # staggered starts

    def act(self, obs, info):
        p, st = self.store.params, self.store.state
        hour = st.period * p.config.period_h
        cycle = self.cycle_days * 24
        on = ((hour - self.offset) % cycle) < self.promo_h
        member = on if self.member_only else None
        return _levels_action(p, np.where(on, self.level, 0), member)


def expected_profit(
    p: core.PromoParams,
    st: core.PromoState,
    seg_price,
    depth,
    spoil_value: np.ndarray | None = None,
) -> np.ndarray:
    """(K,) expected period profit of K candidate price sets for store 0 (true model)."""
    k = seg_price.shape[0]
    ds = dm.DemandState(
        ref=np.broadcast_to(st.demand.ref[:1], (k, *st.demand.ref.shape[1:])),
        pantry=np.broadcast_to(st.demand.pantry[:1], (k, *st.demand.pantry.shape[1:])),
    )
    table = dm.demand_table(p.model, ds, seg_price, core.endcap_exposure(p, seg_price))
    hour = np.full(k, core.period_hour(p, st.period))
    visits = dm.expected_visits(p.model, hour, p.config.period_h)
    units = dm.expected_sales(table, visits)
    want = units.sum(axis=1)
    # Expected sales from the stock on hand: E[min(demand, stock)] (not min(E[demand], stock)),
    # shared between the segments in proportion to their demand, as ``settle`` books it.
    # With ``inventory.expedite`` (-v2) a promotion's missing stock arrives first, at a premium.
    stock, premium = st.inv.on_hand[:1], 0.0
    if p.config.inventory.expedite:
        rate = dm.expected_sales(table, p.model.visit_rate[None, :]).sum(axis=1)
        top_up = core.promotion_top_up(p, st, seg_price, rate, st.period * p.config.period_h)
        stock = stock + top_up
        premium = (top_up * p.catalog.cost).sum(axis=1) * p.config.inventory.expedite_premium
    buyers = visits[..., None] * table.prob
    sold = dm.expected_capped_units(
        (buyers * (1.0 - table.extra)).sum(axis=1), (buyers * table.extra).sum(axis=1), stock
    )
    scale = np.where(want > 0, sold / np.maximum(want, 1e-9), 0.0)
    margin = seg_price - p.catalog.cost[None, None, :]
    out = (units * scale[:, None, :] * margin).sum(axis=(1, 2)) - premium
    if spoil_value is not None:
        out = out + (sold * spoil_value[None, :]).sum(axis=1)
    return out


class Myopic(PromotionAgent):
    """Maximise this period's expected profit (true model), coordinate ascent over units."""

    name = "myopic"

    def __init__(self, env, seed: int | None = None, passes: int = 2, grid: int = 11):
        super().__init__(env, seed)
        self.passes, self.grid = passes, grid

    def _options(self, p: core.PromoParams) -> np.ndarray:
        cfg = p.config
        if cfg.action == "continuous":
            return np.linspace(-1.0, 1.0, self.grid)[:, None]
        lv = np.arange(len(cfg.discount_levels))
        if not cfg.member_offers:
            return lv[:, None]
        return np.array([(a, m) for a in lv for m in (0, 1) if a > 0 or m == 0])

    def _decode(self, p, choice: np.ndarray, opts: np.ndarray):
        """(K, U) option indices -> prices (K, S, N), depth (K, N)."""
        o = opts[choice]  # (K, U, w)
        if p.config.action == "continuous":
            sp, depth, _ = core.prices_from_continuous(p, o[..., 0])
            return sp, depth
        a = o[..., 0] if o.shape[-1] == 1 else np.concatenate([o[..., 0], o[..., 1]], axis=1)
        sp, depth, _ = core.prices_from_discrete(p, a)
        return sp, depth

    def prepare(self, p, st) -> None:
        """Per-period set-up for ``objective`` (nothing for the myopic policy)."""

    def objective(self, p, st, seg_price, depth) -> np.ndarray:
        return expected_profit(p, st, seg_price, depth)

    def act(self, obs, info):
        p, st = self.store.params, self.store.state
        opts = self._options(p)
        zero = 0 if p.config.action != "continuous" else len(opts) // 2
        choice = np.full(p.n_units, zero)
        self.prepare(p, st)
        # Units in different categories do not interact (end-caps aside), so each sweep
        # updates the r-th unit of every category at once (block coordinate ascent).
        unit_cat = np.zeros(p.n_units, np.int64)
        unit_cat[p.unit_of_product] = p.catalog.category
        rank = np.zeros(p.n_units, np.int64)
        for c in np.unique(unit_cat):
            rank[unit_cat == c] = np.arange(np.count_nonzero(unit_cat == c))
        n_opt = len(opts)
        for _ in range(self.passes):
            for r in range(rank.max() + 1):
                units = np.flatnonzero(rank == r)
                cand = np.repeat(choice[None, :], len(units) * n_opt, axis=0)
                rows = np.arange(len(cand))
                cand[rows, np.repeat(units, n_opt)] = np.tile(np.arange(n_opt), len(units))
                sp, depth = self._decode(p, cand, opts)
                value = self.objective(p, st, sp, depth).reshape(len(units), n_opt)
                choice[units] = np.argmax(value, axis=1)
        o = opts[choice]
        if p.config.action == "continuous":
            return o[:, 0].astype(np.float32)
        return o[:, 0] if o.shape[1] == 1 else np.concatenate([o[:, 0], o[:, 1]])


class Lookahead(Myopic):
    """Forward-looking: this period's expected profit plus what the prices do to the future.

    Two first-order terms, both from the true model: (1) stock of a perishable lot
    that would not sell at list price before it expires is worth its unit cost when
    sold now (otherwise it is written off); (2) the change a price makes to the
    reference prices is valued by the derivative of list-price profit per period
    with respect to the reference price, summed over the rest of the episode as the
    change decays (``(1 - (1 - w)^R) / w`` periods, w the smoothing weight).
    """

    name = "lookahead"

    def __init__(self, env, seed: int | None = None, horizon_h: float = 48.0, passes: int = 1):
        super().__init__(env, seed, passes=passes)
        self.horizon_h = horizon_h

    def prepare(self, p, st) -> None:
        cfg = p.config
        now = st.period * cfg.period_h
        at_risk = inv.expiring_within(st.inv, now, self.horizon_h)[0]
        sellable = p.base_units / cfg.period_h * self.horizon_h
        excess = np.maximum(at_risk - sellable, 0.0)
        share = np.where(at_risk > 0, excess / np.maximum(at_risk, 1e-9), 0.0)
        self.spoil_value = share * p.catalog.cost
        # d(list-price profit per period)/d(reference price), per segment and product
        n, s_ = p.catalog.n_products, dm.N_SEGMENTS
        eps = 0.01
        ref = np.repeat(st.demand.ref[:1], s_ * n + 1, axis=0)
        idx = np.arange(s_ * n)
        ref.reshape(len(ref), -1)[idx + 1, idx] += eps
        pantry = np.repeat(st.demand.pantry[:1], len(ref), axis=0)
        lst = np.broadcast_to(p.catalog.price, (len(ref), s_, n))
        table = dm.demand_table(p.model, dm.DemandState(ref=ref, pantry=pantry), lst)
        visits = p.model.visit_rate[None, :] * cfg.period_h
        units = dm.expected_sales(table, visits)
        profit = (units * (lst - p.catalog.cost)).sum(axis=1)  # (1 + S N, N) per product
        self.ref_grad = ((profit[1:] - profit[:1]).sum(axis=1) / eps).reshape(s_, n)
        w = 1.0 - (1.0 - p.model.params.ref_weight) ** (
            cfg.period_h / p.model.params.purchase_interval_h
        )
        left = max(p.n_periods - st.period - 1, 0)
        self.ref_weight, self.future = w, (1.0 - (1.0 - w) ** left) / w

    def objective(self, p, st, seg_price, depth) -> np.ndarray:
        now = expected_profit(p, st, seg_price, depth, self.spoil_value)
        d_ref = self.ref_weight * (seg_price - st.demand.ref[:1])
        return now + self.future * (d_ref * self.ref_grad[None]).sum(axis=(1, 2))


class ThompsonBandit(PromotionAgent):
    """Per-unit Gaussian Thompson sampling over discount levels (non-member prices)."""

    name = "thompson"

    def __init__(self, env, seed: int | None = None, prior_sd: float = 1.0):
        super().__init__(env, seed)
        self.prior_sd = prior_sd

    def reset(self, seed: int | None = None) -> None:
        p = self.store.params
        self.rng = np.random.default_rng(0 if seed is None else seed)
        k = len(p.config.discount_levels)
        self.n = np.zeros((p.n_units, k))
        self.mean = np.zeros((p.n_units, k))
        self.m2 = np.zeros((p.n_units, k))
        self.last = None
        self.last_period = -1

    def _learn(self) -> None:
        p, st = self.store.params, self.store.state
        if self.last is None or st.period != self.last_period + 1:
            return
        margin = (st.units * (st.price - p.catalog.cost[None, None, :])).sum(axis=1)[0]
        unit_profit = np.bincount(p.unit_of_product, weights=margin, minlength=p.n_units)
        base = np.bincount(
            p.unit_of_product,
            weights=p.base_units * p.catalog.price * p.catalog.margin,
            minlength=p.n_units,
        )
        hour = core.period_hour(p, self.last_period)
        traffic = (
            dm.traffic_share(np.array([hour]), p.config.period_h)[0] * 24.0 / p.config.period_h
        )
        r = unit_profit / np.maximum(base * traffic, 1e-9)  # ~1.0 at list price
        idx = (np.arange(p.n_units), self.last)
        self.n[idx] += 1
        delta = r - self.mean[idx]
        self.mean[idx] += delta / self.n[idx]
        self.m2[idx] += delta * (r - self.mean[idx])

    def act(self, obs, info):
        self._learn()
        p = self.store.params
        var = np.where(self.n > 1, self.m2 / np.maximum(self.n - 1, 1), self.prior_sd**2)
        sd = np.sqrt(var / np.maximum(self.n, 1)) * np.where(self.n > 0, 1.0, self.prior_sd)
        draw = self.rng.normal(np.where(self.n > 0, self.mean, 1.0), sd)
        self.last = np.argmax(draw, axis=1)
        self.last_period = self.store.state.period
        return _levels_action(p, self.last)


BASELINES = {
    cls.name: cls for cls in (ListPrice, RandomPolicy, HiLo, Myopic, Lookahead, ThompsonBandit)
}
for _name, _cls in BASELINES.items():
    register_agent("promotion", _name, _cls)
