"""Promotions in the walking store of the Attribution task: prices that draw the crowds.

A promotion changes who walks where: the shopping list a party draws at the gate
comes from the demand table (``sim/demand.py``) the store holds, so a deep discount
on an end-cap puts that product on more lists, and more shoppers at its shelf. Here
an Attribution scenario gets a price schedule, period by period, from either

- a named Promotion baseline (``agents/promotion/baselines.py``: ``list_price``,
  ``hi_lo``, ``myopic``), played against a Promotion task built on the store's own
  catalog and demand model, or
- an explicit plan: discounts ``(period, product, depth)``, members-only offers
  ``(period, product)`` and end-cap placements ``(period, product)``.

Each period's demand table is the Promotion task's (same prices, end-cap rule and
display lift: ``retail_env.envs.promotion.core``), installed in each store as its clock enters the
period (``StorePromotions.install``). No random number is drawn for it: lists are
drawn from the same uniforms whatever the table holds, so a store without a plan
(``policy="none"``) is bit for bit the store it always was.

[A] Reference prices and pantries stay at their list-price start: an Attribution
episode is minutes of store time, and a reference price moves by the weight
``1 - 0.75 ** (period_h / 72 h)`` a period (0.04 % for a 6-minute period).
"""

from __future__ import annotations

import math

import numpy as np

from retail_env.envs.promotion import core as core
from retail_env.sim import demand as dm
from retail_env.sim.validation import ConfigError, config, spec, to_dict

POLICIES = ("none", "plan", "list_price", "hi_lo", "myopic")


def _tuples(value, width: int, name: str) -> tuple:
    """A plan's rows as a tuple of ``width``-tuples (lists from YAML/JSON accepted)."""
    try:
        rows = tuple(tuple(r) for r in value)
    except TypeError:
        raise ConfigError(f"promotion.{name}={value!r} must be a list of rows") from None
    for r in rows:
        if len(r) != width or any(
            isinstance(x, bool) or not isinstance(x, (int, float)) for x in r
        ):
            raise ConfigError(f"promotion.{name} row {r!r} must be {width} numbers")
        if r[0] != int(r[0]) or r[0] < 0 or r[1] != int(r[1]) or r[1] < 0:
            raise ConfigError(
                f"promotion.{name} row {r!r}: period and product must be integers >= 0"
            )
    return rows


@config
class PromotionPlanConfig:
    """Prices in force in an Attribution store (``policy="none"``: list prices, no plan)."""

    policy: str = spec(
        "none", choices=POLICIES, doc="a Promotion baseline, an explicit 'plan' or 'none'"
    )
    period_h: float = spec(
        0.1, choices=(0.05, 0.1, 0.25, 0.5, 1.0), doc="hours per pricing period (store time)"
    )
    depth: float = spec(0.3, lo=0.0, hi=0.9, doc="hi_lo: discount while a unit is on deal")
    cycle_days: int = spec(7, lo=1, hi=365, doc="hi_lo: days between a unit's deals")
    promo_h: int = spec(24, lo=1, hi=24 * 365, doc="hi_lo: hours a deal lasts")
    member_only: bool = spec(False, choices=(True, False), doc="hi_lo: deals for members only")
    # The Promotion task's display rule and its sources (promotion_core.PromotionConfig).
    n_endcaps: int = spec(2, lo=0, hi=16, doc="end-caps given to the deepest shelf discounts")
    endcap_min_depth: float = spec(0.2, lo=0.01, hi=0.9, doc="discount that earns an end-cap")
    endcap_reach: float = spec(0.6, lo=0.0, hi=1.0, doc="share of shoppers passing an end-cap")
    discounts: tuple = spec((), rows=3, doc="plan: (period, product, depth) rows")
    member_offers: tuple = spec((), rows=2, doc="plan: (period, product) rows, members-only")
    endcaps: tuple = spec(
        (),
        rows=2,
        doc="plan: (period, product) end-cap placements (none given: "
        "the deepest shelf discounts, as in the Promotion task)",
    )

    def __post_init__(self):
        for name, width in (("discounts", 3), ("member_offers", 2), ("endcaps", 2)):
            rows = _tuples(getattr(self, name), width, name)
            object.__setattr__(self, name, rows)
            if rows and self.policy != "plan":
                raise ConfigError(
                    f"promotion.{name} is set but policy={self.policy!r}: "
                    "explicit rows need policy='plan'"
                )
        for r in self.discounts:
            if not 0.0 <= r[2] <= 0.9:
                raise ConfigError(f"promotion.discounts row {r!r}: depth must be in [0, 0.9]")


def promotion_config(
    plan: PromotionPlanConfig, sim_config, episode_s: float
) -> core.PromotionConfig:
    """The Promotion task over the walking store's catalog and demand (one day at most)."""
    return core.make_config(
        "default",
        {
            "catalog": to_dict(sim_config.catalog),
            "demand": to_dict(sim_config.demand),
            "period_h": 1.0,
            "start_hour": int(sim_config.start_hour),
            "episode_days": max(1, math.ceil(episode_s / 86400.0)),
            "n_endcaps": plan.n_endcaps,
            "endcap_min_depth": plan.endcap_min_depth,
            "endcap_reach": plan.endcap_reach,
        },
    )


class PromotionDesk:
    """What a Promotion baseline reads of its env (``params``, ``state``, ``action_space``),
    its clock set to a plan's period by :meth:`at`."""

    task = "promotion"  # make_agent builds Promotion baselines for it

    def __init__(self, params: core.PromoParams, period_h: float):
        from retail_env.envs.promotion.env import action_space_for

        self.params, self.state = params, core.init_state(params, 1)
        self.action_space = action_space_for(params)
        self.period_h = period_h

    @property
    def unwrapped(self):
        return self

    def at(self, k: int) -> PromotionDesk:
        """The desk at the start of plan period ``k``: the baselines' clock is ``period *
        period_h`` hours and the task's periods are hours (plans may be finer than the
        Promotion task allows), so the period is fractional."""
        self.state.period = k * self.period_h / self.params.config.period_h  # pyright: ignore[reportAttributeAccessIssue]  (fractional, see above)
        return self


def promotion_params(plan: PromotionPlanConfig, sim_params, episode_s: float) -> core.PromoParams:
    """The Promotion task on the walking store's catalog and demand model."""
    params = core.build_params(promotion_config(plan, sim_params.config, episode_s))
    if params.catalog.name != sim_params.catalog.name:
        raise ValueError("promotion plan and walking store disagree on the catalog")
    return params


def period_table(
    params: core.PromoParams, seg_price: np.ndarray, exposure: np.ndarray
) -> dm.DemandTable:
    """Demand tables (n, 2, N) of ``n`` periods' prices (n, 2, N) and end-caps (n, N), with
    shoppers' references at list (see the module's [A])."""
    ds = dm.init_demand_state(params.model, seg_price.shape[0])
    return dm.demand_table(params.model, ds, seg_price, exposure)


def plan_policy(plan: PromotionPlanConfig, desk: PromotionDesk):
    """The Promotion baseline a plan names (``hi_lo`` with the plan's calendar), on ``desk``."""
    from retail_env.agents.factory import make_agent  # pyright: ignore[reportMissingImports]  (installed from agents/)

    kw = {}
    if plan.policy == "hi_lo":
        kw = dict(
            depth=plan.depth,
            cycle_days=plan.cycle_days,
            promo_h=plan.promo_h,
            member_only=plan.member_only,
        )
    return make_agent(plan.policy, desk, **kw)


class StorePromotions:
    """The price schedule of an Attribution scenario and the demand table of each period."""

    def __init__(self, plan: PromotionPlanConfig, sim_params, episode_s: float):
        self.plan = plan
        self.params = promotion_params(plan, sim_params, episode_s)
        self.period_ticks = max(1, int(round(plan.period_h * 3600 * sim_params.config.tick_hz)))
        self.n_periods = int(math.ceil(episode_s * sim_params.config.tick_hz / self.period_ticks))
        self.seg_price, self.exposure = self._schedule()
        table = period_table(self.params, self.seg_price, self.exposure)
        self.prob, self.extra = table.prob, table.extra  # (n_periods, 2, N)

    def _schedule(self) -> tuple[np.ndarray, np.ndarray]:
        """Prices (n, 2, N) and end-cap exposure (n, N) of every period."""
        p, n = self.params, self.n_periods
        N = p.catalog.n_products
        if self.plan.policy == "plan":
            return self._explicit(n, N)
        desk = PromotionDesk(p, self.plan.period_h)
        policy = plan_policy(self.plan, desk)
        policy.reset(0)
        prices = []
        for k in range(n):
            desk.at(k)
            prices.append(core.prices_from_discrete(p, np.asarray(policy.act(None, {}))[None])[0])
        seg_price = np.concatenate(prices)
        return seg_price, core.endcap_exposure(p, seg_price)

    def _explicit(self, n: int, N: int) -> tuple[np.ndarray, np.ndarray]:
        plan = self.plan
        depth = np.zeros((n, N))
        member = np.zeros((n, N), bool)
        for rows in (plan.discounts, plan.member_offers, plan.endcaps):
            for r in rows:
                if int(r[1]) >= N:
                    raise ConfigError(
                        f"promotion plan row {r!r}: product {int(r[1])} is not in "
                        f"the catalog (products 0..{N - 1})"
                    )
                if int(r[0]) >= n:
                    raise ConfigError(
                        f"promotion plan row {r!r}: period {int(r[0])} is after "
                        f"the episode (periods 0..{n - 1} of {plan.period_h} h)"
                    )
        for k, j, d in plan.discounts:
            depth[int(k), int(j)] = d
        for k, j in plan.member_offers:
            member[int(k), int(j)] = True
        lst = self.params.catalog.price[None, :]
        seg_price = np.stack(
            [lst * (1.0 - np.where(member, 0.0, depth)), lst * (1.0 - depth)], axis=1
        )
        if not plan.endcaps:
            return seg_price, core.endcap_exposure(self.params, seg_price)
        expo = np.zeros((n, N))
        for k, j in plan.endcaps:
            expo[int(k), int(j)] = plan.endcap_reach
        return seg_price, expo

    def period_of(self, ticks: np.ndarray) -> np.ndarray:
        """The pricing period each store's clock is in (the last one past the schedule)."""
        return np.minimum(np.asarray(ticks) // self.period_ticks, self.n_periods - 1)

    def install(self, state, installed: np.ndarray) -> None:
        """Give every store whose clock entered a new period that period's demand table
        (``installed``: (B,) period each store holds, -1 after a reset; updated)."""
        now = self.period_of(state.tick)
        moved = np.flatnonzero(now != installed)
        if moved.size:
            state.buy_prob[moved] = self.prob[now[moved]]
            state.buy_extra[moved] = self.extra[now[moved]]
            installed[moved] = now[moved]

    def promoted(self, period: int = 0) -> np.ndarray:
        """Products on a shelf discount or an end-cap in ``period``."""
        lst = self.params.catalog.price
        return np.flatnonzero(
            (self.seg_price[period].min(axis=0) < lst - 1e-9) | (self.exposure[period] > 0)
        )
