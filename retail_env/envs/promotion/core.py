"""The Promotion task's pure core: config, presets, action decoding and one batched period step.

``step(state, seg_price, depth, params, rng)`` advances B stores by one trading
period (aggregate fidelity) and updates ``state`` in place; the Gymnasium env in
``promotion.py`` is a thin shell around it. Within a period: prices are set,
end-caps show the deepest discounts (of at least ``endcap_min_depth``), shoppers
buy (demand model), sales come out of stock oldest-first (the rest is lost), and
at the period's end deliveries arrive, expired lots spoil, shoppers update their
reference prices and pantries, and the store reorders (at review times, from the
demand expected at the prices in force since the last order, unless
``inventory.policy="fixed"``). With ``inventory.expedite`` (the ``-v2`` ids) a promotion
that starts short of stock gets its opening stock at once, at a premium, before the
period's sales (``promotion_top_up``; docs/promotion_economics.md).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from retail_env.envs.base import preset_config
from retail_env.sim import demand as dm
from retail_env.sim import inventory as inv
from retail_env.sim.catalog import Catalog, CatalogConfig, build_catalog
from retail_env.sim.rng import BatchRNG
from retail_env.sim.validation import (
    ConfigError,
    config,
    spec,
)


@config
class SpatialParams:
    """The walking store behind the spatial fidelity (retail_env/sim/store.py)."""

    layout: str = spec("medium", doc="built-in layout name or map path")
    tick_hz: int = spec(5, choices=(5, 10, 20))
    max_shoppers: int = spec(64, lo=1, hi=512)
    # Put-backs are an attribution matter; here a put-back would be a lost sale the
    # aggregate model does not have, so they are off by default.
    p_putback: float = spec(0.0, lo=0.0, hi=1.0)


@config
class PromotionConfig:
    """Everything that defines a Promotion scenario."""

    catalog: CatalogConfig = spec(CatalogConfig())
    demand: dm.DemandParams = spec(dm.DemandParams())
    inventory: inv.InventoryParams = spec(inv.InventoryParams())
    fidelity: str = spec("aggregate", choices=("aggregate", "spatial"))
    action: str = spec("discrete", choices=("discrete", "continuous"))
    granularity: str = spec(
        "product",
        choices=("product", "category"),
        doc="one price decision per product or per category",
    )
    period_h: float = spec(
        1.0,
        choices=(0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 24.0),
        doc="hours per step (short periods suit the spatial fidelity)",
    )
    start_hour: int = spec(0, lo=0, hi=23, doc="hour of day of the first period")
    episode_days: int = spec(14, lo=1, hi=365)
    # Typical discount depth 30 % (RetailSynth Beta(15, 35)); UK scanner mean 24 %
    # (AgEcon 51572). Levels the discrete action picks from.
    discount_levels: tuple = spec((0.0, 0.1, 0.2, 0.3, 0.4, 0.5), lo=0.0, hi=0.9)
    member_offers: bool = spec(
        True, choices=(True, False), doc="discrete action has a member-only flag per unit"
    )
    max_discount: float = spec(0.5, lo=0.0, hi=0.9, doc="continuous action -1 -> this discount")
    max_markup: float = spec(0.2, lo=0.0, hi=1.0, doc="continuous action +1 -> this markup")
    n_endcaps: int = spec(
        2,
        lo=0,
        hi=16,
        doc="end-cap displays, given to the deepest discounts "
        "of at least endcap_min_depth that every shopper is offered",
    )
    # A display comes with a real promotion: syndicated data record a display (a temporary
    # secondary location, usually an end-cap) mostly together with a price cut (cpgdatainsights
    # glossary "Display"); IRI's price-reduction flag needs a cut of at least 5 % (Bronnenberg,
    # Kruger & Mela, Mkt Sci 2008). [A] 20 %: the low end of promoted depths (UK scanner mean
    # 24 %, AgEcon 51572; typical 30 %, RetailSynth), so no token discount buys a display.
    endcap_min_depth: float = spec(
        0.2, lo=0.01, hi=0.9, doc="shelf-price discount (non-member price) that earns an end-cap"
    )
    # [A] share of shoppers whose path passes an end-cap (end-caps face the main aisle).
    endcap_reach: float = spec(0.6, lo=0.0, hi=1.0)
    reward_scale: float = spec(1.0, lo=1e-6, hi=1e6, doc="reward = profit x this")
    spatial: SpatialParams = spec(SpatialParams())

    def __post_init__(self):
        lv = self.discount_levels
        if len(lv) < 2 or lv[0] != 0.0 or any(b <= a for a, b in zip(lv[:-1], lv[1:], strict=True)):
            raise ConfigError(
                f"discount_levels={lv!r}: must start at 0.0 and increase, with at least two levels"
            )


# Named scenarios (kwargs for the registry; gym.make(id, config={...}) overrides them).
PRESETS: dict[str, dict] = {
    "default": {},
    "continuous": {"action": "continuous"},
    "category": {"granularity": "category"},
    # perishables-heavy fresh format, generous ordering: markdowns beat spoilage
    "fresh": {"catalog": {"assortment": "fresh"}, "inventory": {"cover": 2.5}},
    # small and daily: 8 products, 28 daily steps (quick training and tests)
    "mini": {"catalog": {"assortment": "mini"}, "period_h": 24, "episode_days": 28},
    # the walking store, on the small assortment
    # the walking store, on the small assortment; 6-minute periods from 11:00, one day
    "spatial": {
        "catalog": {"assortment": "mini"},
        "fidelity": "spatial",
        "period_h": 0.1,
        "start_hour": 11,
        "episode_days": 1,
    },
}


def make_config(preset: str = "default", overrides: dict | None = None) -> PromotionConfig:
    """The preset's config with ``overrides`` (nested dict) applied and validated."""
    return preset_config(PromotionConfig, PRESETS, preset, overrides)


@dataclasses.dataclass(frozen=True, eq=False)
class PromoParams:
    """Static: config, catalog, calibrated demand, inventory plan, unit map."""

    config: PromotionConfig
    catalog: Catalog
    model: dm.DemandModel
    plan: inv.InventoryPlan
    unit_of_product: np.ndarray  # (N,) decision unit index of each product
    n_units: int
    base_units: np.ndarray  # (N,) expected units per period at list prices (day mean)
    n_periods: int


def build_params(cfg: PromotionConfig) -> PromoParams:
    cat = build_catalog(cfg.catalog)
    model = dm.build_demand_model(cfg.demand, cat)
    table = dm.demand_table(
        model,
        dm.init_demand_state(model, 1),
        np.broadcast_to(cat.price, (1, dm.N_SEGMENTS, cat.n_products)),
    )
    per_h = dm.expected_sales(table, model.visit_rate[None, :]).sum(axis=1)[0]  # (N,)
    plan = inv.make_plan(cfg.inventory, cat.shelf_life_h, per_h, cfg.period_h)
    if cfg.granularity == "product":
        unit, n_units = np.arange(cat.n_products), cat.n_products
    else:
        unit, n_units = np.asarray(cat.category), cat.n_categories
    return PromoParams(
        config=cfg,
        catalog=cat,
        model=model,
        plan=plan,
        unit_of_product=unit,
        n_units=n_units,
        base_units=per_h * cfg.period_h,
        n_periods=int(round(cfg.episode_days * 24 / cfg.period_h)),
    )


@dataclasses.dataclass
class PromoState:
    """Dynamic state of B stores (arrays with the store axis first)."""

    period: int
    demand: dm.DemandState
    inv: inv.InventoryState
    price: np.ndarray  # (B, S, N) prices of the last period
    depth: np.ndarray  # (B, N) last discount depth (negative = markup)
    member_only: np.ndarray  # (B, N) bool
    units: np.ndarray  # (B, S, N) units sold last period
    lost: np.ndarray  # (B, N) units demanded but not in stock last period
    # Replenishment forecast: expected units at the prices in force, summed since the last
    # order, over the day-average hours they stand for (rate = forecast_units / forecast_hours).
    forecast_units: np.ndarray  # (B, N)
    forecast_hours: float
    totals: dict[str, np.ndarray]  # (B,) episode sums behind the episode KPIs


REWARD_KEYS = ("revenue", "cogs", "spoilage", "holding", "expedite")  # reward terms, summed
TOTAL_KEYS = (
    "revenue",
    "profit",
    "units",
    "member_units",
    "list_revenue",
    "stockouts",
    "spoilage",
    "cogs",
    "holding",
    "spoilage_cost",
    "expedited",
    "expedite_cost",
)


def init_state(params: PromoParams, batch: int) -> PromoState:
    n = params.catalog.n_products
    return PromoState(
        period=0,
        demand=dm.init_demand_state(params.model, batch),
        inv=inv.init_inventory(params.plan, batch),
        price=np.broadcast_to(params.catalog.price, (batch, dm.N_SEGMENTS, n)).copy(),
        depth=np.zeros((batch, n)),
        member_only=np.zeros((batch, n), dtype=bool),
        units=np.zeros((batch, dm.N_SEGMENTS, n), dtype=np.int64),
        lost=np.zeros((batch, n), dtype=np.int64),
        forecast_units=np.zeros((batch, n)),
        forecast_hours=0.0,
        totals={k: np.zeros(batch) for k in TOTAL_KEYS},
    )


def prices_from_discrete(params: PromoParams, action: np.ndarray):
    """(B, A) int action -> (seg_price (B, S, N), depth (B, N), member_only (B, N))."""
    levels = np.asarray(params.config.discount_levels)
    u = params.n_units
    depth = levels[action[:, :u]][:, params.unit_of_product]
    if params.config.member_offers:
        member_only = action[:, u:][:, params.unit_of_product].astype(bool)
    else:
        member_only = np.zeros_like(depth, dtype=bool)
    lst = params.catalog.price[None, :]
    nonmember = lst * (1.0 - np.where(member_only, 0.0, depth))
    member = lst * (1.0 - depth)
    return np.stack([nonmember, member], axis=1), depth, member_only


def prices_from_continuous(params: PromoParams, action: np.ndarray):
    """(B, U) float in [-1, 1] -> prices: -1 is ``max_discount`` off, +1 ``max_markup`` on."""
    cfg = params.config
    a = action[:, params.unit_of_product]
    mult = 1.0 + np.where(a < 0, a * cfg.max_discount, a * cfg.max_markup)
    price = params.catalog.price[None, :] * mult
    depth = 1.0 - mult
    return np.stack([price, price], axis=1), depth, np.zeros_like(depth, dtype=bool)


def endcap_exposure(params: PromoParams, seg_price: np.ndarray) -> np.ndarray:
    """(B, N) exposure from prices (B, S, N): the ``n_endcaps`` deepest shelf discounts of at
    least ``endcap_min_depth`` go on end-caps (ties: the lower product index).

    The shelf discount is the non-member price's: a members-only offer earns no display
    (a display is shared floor space, given to offers every passer-by can take).
    """
    cfg = params.config
    depth = 1.0 - seg_price[:, 0] / params.catalog.price[None, :]
    out = np.zeros_like(depth)
    k = min(cfg.n_endcaps, depth.shape[1])
    if k == 0:
        return out
    order = np.argsort(-depth, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(depth, order, axis=1)
    earned = top >= cfg.endcap_min_depth - 1e-9
    np.put_along_axis(out, order, np.where(earned, cfg.endcap_reach, 0.0), axis=1)
    return out


def replenishment_forecast(params: PromoParams, state: PromoState, now_h: float) -> np.ndarray:
    """(B, N) units per hour the next order is sized for (``inventory.policy="forecast"``).

    The demand expected at the prices in force since the last order, per hour of day-average
    traffic: the true model's promotion lift, reference prices and end-caps included. [A] A
    discount on a product with stock expiring before the next delivery could arrive is read
    as a clearance markdown, not a promotion, and forecast at the list-price rate: otherwise
    every markdown of old stock orders more stock to mark down (measured on the fresh preset:
    the lookahead planner fell from about 14,000 $ to a loss).
    """
    inv_p = params.config.inventory
    rate = state.forecast_units / max(state.forecast_hours, 1e-9)
    clearance = inv.expiring_within(state.inv, now_h, inv_p.review_h + inv_p.lead_time_h) > 0
    return np.where(clearance, params.base_units[None, :] / params.config.period_h, rate)


def promotion_top_up(
    params: PromoParams, state: PromoState, seg_price: np.ndarray, rate: np.ndarray, now_h: float
) -> np.ndarray:
    """(B, N) units to expedite at ``now_h``, the start of a period (``inventory.expedite``).

    A product on promotion (some segment's price below list) whose stock on hand falls
    short of ``cover x`` the demand at the promotion's prices (``rate``, units per hour of
    day-average traffic) until the next regular delivery arrives gets the shortfall. It is
    the stock a promotion entered one planning horizon ahead would have found on the shelf:
    once an order placed with the promotion in force arrives, there is no shortfall left
    (list-price stock covers the list rate, so only a real lift, about a third or more,
    tops up). A clearance markdown gets nothing: it is meant to sell what is there. Here
    clearance means more stock expiring before the next delivery than list-price demand
    would sell by then (``replenishment_forecast``'s rule, any stock expiring before the
    next order could arrive, would read nearly every promotion of a short-lived product as
    clearance: on Mini a product that keeps 3.5 days always has a lot that close to expiry).
    """
    inv_p = params.config.inventory
    promoted = (seg_price < params.catalog.price * (1.0 - 1e-9)).any(axis=1)
    horizon = inv.hours_to_next_arrival(params.plan, now_h)
    list_sales = params.base_units / params.config.period_h * horizon
    clearance = inv.expiring_within(state.inv, now_h, horizon) > list_sales
    need = np.ceil(inv_p.cover * rate * horizon).astype(np.int64)
    return np.where(promoted & ~clearance, np.maximum(need - state.inv.on_hand, 0), 0)


def period_hour(params: PromoParams, period: int) -> float:
    """Hour of day (float) at which ``period`` starts."""
    return (params.config.start_hour + period * params.config.period_h) % 24


def step(
    state: PromoState,
    seg_price: np.ndarray,
    depth: np.ndarray,
    member_only: np.ndarray,
    params: PromoParams,
    rng: BatchRNG,
) -> tuple[dict, dict]:
    """One period for B stores (aggregate fidelity); returns (reward terms, period KPIs)."""
    cfg = params.config
    exposure = endcap_exposure(params, seg_price)
    table = dm.demand_table(params.model, state.demand, seg_price, exposure)
    hour = np.full(seg_price.shape[0], period_hour(params, state.period))
    visits = dm.expected_visits(params.model, hour, cfg.period_h)
    demand, doubles = dm.sample_sales(table, visits, rng)
    return settle(state, seg_price, depth, member_only, demand, doubles, table, params)


def settle(
    state: PromoState,
    seg_price,
    depth,
    member_only,
    demand: np.ndarray,
    doubles: np.ndarray,
    table: dm.DemandTable,
    params: PromoParams,
) -> tuple[dict, dict]:
    """Book a period's demand (B, S, N) (from either fidelity, drawn from ``table``) and
    close the period."""
    cfg, cat = params.config, params.catalog
    # Expected units per hour of day-average traffic at this period's prices (the true
    # model's promotion lift), weighted by the traffic the period holds.
    hours = (
        float(dm.traffic_share(np.array([period_hour(params, state.period)]), cfg.period_h)[0])
        * 24.0
    )
    rate = dm.expected_sales(table, params.model.visit_rate[None, :]).sum(axis=1)
    state.forecast_units += rate * hours
    state.forecast_hours += hours
    start = state.period * cfg.period_h  # hours since reset
    expedited = np.zeros_like(state.inv.received)
    if cfg.inventory.expedite:
        expedited = promotion_top_up(params, state, seg_price, rate, start)
        inv.deliver_now(state.inv, params.plan, expedited, start)
    expedite_cost = (expedited * cat.cost).sum(axis=1) * cfg.inventory.expedite_premium
    want = demand.sum(axis=1)
    sold = inv.sell(state.inv, want)
    frac = np.where(want > 0, sold / np.maximum(want, 1), 0.0)
    member_units = np.floor(demand[:, 1] * frac + 1e-9).astype(np.int64)
    units = np.stack([sold - member_units, member_units], axis=1)
    extra_sold = doubles * frac[:, None, :]

    now = (state.period + 1) * cfg.period_h  # hours since reset
    inv.receive(state.inv, params.plan, now)
    spoiled = inv.spoil(state.inv, now)
    dm.update_demand_state(state.demand, params.model, seg_price, extra_sold, cfg.period_h)
    forecast = None
    if inv.is_review(params.plan, now):
        if cfg.inventory.policy == "forecast":
            forecast = replenishment_forecast(params, state, now)
        state.forecast_units[:] = 0.0
        state.forecast_hours = 0.0
    inv.order(state.inv, params.plan, now, forecast)

    revenue = (units * seg_price).sum(axis=(1, 2))
    cogs = (sold * cat.cost).sum(axis=1)
    spoil_cost = (spoiled * cat.cost).sum(axis=1) * (1.0 + cfg.inventory.disposal_share)
    holding = inv.holding_cost(state.inv, params.plan, cat.cost)
    rewards = {
        "revenue": revenue,
        "cogs": -cogs,
        "spoilage": -spoil_cost,
        "holding": -holding,
        "expedite": -expedite_cost,
    }
    profit = revenue - cogs - spoil_cost - holding - expedite_cost
    lost = want - sold
    flows = {
        "revenue": revenue,
        "profit": profit,
        "units": sold.sum(axis=1).astype(float),
        "member_units": member_units.sum(axis=1).astype(float),
        "list_revenue": (sold * cat.price).sum(axis=1),
        "stockouts": lost.sum(axis=1).astype(float),
        "spoilage": spoiled.sum(axis=1).astype(float),
        "cogs": cogs,
        "holding": holding,
        "spoilage_cost": spoil_cost,
        "expedited": expedited.sum(axis=1).astype(float),
        "expedite_cost": expedite_cost,
    }
    for k in TOTAL_KEYS:
        state.totals[k] += flows[k]
    state.period += 1
    state.price, state.depth, state.member_only = seg_price, depth, member_only
    state.units, state.lost = units, lost
    return rewards, kpis_from(flows)


def kpis_from(t: dict) -> dict:
    """KPIs from period flows or episode totals (ratios over the same span)."""
    units = np.maximum(t["units"], 1e-9)
    return {
        "revenue": t["revenue"],
        "profit": t["profit"],
        "units": t["units"],
        "stockouts": t["stockouts"],
        "spoilage": t["spoilage"],
        "expedited": t["expedited"],
        "member_share": np.where(t["units"] > 0, t["member_units"] / units, 0.0),
        "mean_discount": np.where(
            t["list_revenue"] > 0, 1.0 - t["revenue"] / np.maximum(t["list_revenue"], 1e-9), 0.0
        ),
    }
