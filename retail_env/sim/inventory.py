"""Store inventory: periodic order-up-to replenishment with lead time, FIFO lots, spoilage.

Stock is kept in lots ``(B, N, K)`` with an expiry time each (``inf`` for
shelf-stable goods, which use lot 0 only). A perishable delivery goes to lot
``(time // review_h) % K``; K is large enough that a lot is empty (spoiled or
sold) before it is reused. Per period the caller sells, then at the period's
end calls ``receive``, ``spoil`` and ``order`` (in that order), so an order
arrives exactly ``lead periods`` later. Sales take the oldest lot first; demand beyond stock is
lost. Replenishment is automatic and deterministic (no RNG): every ``review_h``
hours the store orders up to ``cover x`` the forecast demand over review + lead
time, delivered ``lead_time_h`` later. ``policy="forecast"`` (default) forecasts at
the prices in force (the caller passes the rate: a promotion lift forecast, as
retailers run); ``policy="fixed"`` always uses the list-price demand. ``expedite=True``
(Promotion ``-v2``) adds a promotion's opening stock, delivered at once at a premium
(``deliver_now``; the caller sizes it). Books: cumulative received = sold + spoiled + on
hand, per product (the initial stock counts as received).
"""

from __future__ import annotations

import dataclasses
import math

import numba
import numpy as np

from retail_env.sim.validation import ConfigError, config, spec

HOURS_PER_YEAR = 24.0 * 365.0


@config
class InventoryParams:
    """Replenishment policy and costs."""

    # [A] daily direct-store delivery, ordered once a day, arriving next day.
    review_h: int = spec(24, lo=1, hi=24 * 28)
    lead_time_h: int = spec(24, lo=0, hi=24 * 28)
    # [A] order-up-to level = cover x mean list-price demand over review + lead time;
    # above 1 is safety stock (and, for perishables, a source of spoilage).
    cover: float = spec(1.5, lo=0.1, hi=20.0)
    # Retailers forecast promoted weeks with a promotion lift model rather than from the
    # base rate (promotion forecasting is standard in retail replenishment systems; Fildes,
    # Ma & Kolassa, IJF 2022 review). "fixed" keeps the list-price order-up-to level.
    policy: str = spec(
        "forecast",
        choices=("forecast", "fixed"),
        doc="order-up-to from demand forecast at the prices in force, or at list",
    )
    # A promotion short of stock gets its opening stock at once, at a premium
    # (docs/promotion_economics.md). Retailers enter a promotion at least "planning horizon +
    # lead time" before it starts so that its stock arrives first (Nextail help centre, "How
    # many days in advance should I configure a promotion"; RELEX, "the art of promotion
    # management": initial quantities delivered before the start). The pricing action gives no
    # such notice, so the opening stock is expedited and the premium prices the short notice.
    expedite: bool = spec(
        False,
        choices=(True, False),
        doc="deliver a starting promotion's missing stock at once, at a premium",
    )
    # [A] premium per expedited unit, as a share of unit cost: store logistics cost 1-5 % of
    # sales (Javelin Group retail logistics benchmark), same-day ground freight 3-5x a planned
    # shipment (freightmaths.com emergency freight calculator): ~4 % x 4 extra = 16 % of the
    # price, about 25 % of a unit cost at the catalog's ~35 % gross margin.
    expedite_premium: float = spec(0.25, lo=0.0, hi=5.0)
    # Perishables: an order leaves at least cover x a review's demand usable once it
    # arrives, counting stock net of what is expected to expire unsold before then, as
    # order rules corrected for expected outdating do (Broekmeulen & van Donselaar,
    # Computers & OR 2009, the EWA policy). Without it a lot that expires whole (often the
    # over-order after a promotion) blocks its replacement and the shelf empties for a day.
    # Only a floor: netting the whole position over-ordered the fresh preset's generous
    # cover (list price: +300 spoiled units for 5 fewer lost).
    net_outdating: bool = spec(
        False,
        choices=(True, False),
        doc="order at least cover x a review's demand usable on arrival, net of expected outdating",
    )
    # Holding cost 20-40 %/yr of unit cost, 25 % rule of thumb (SIG glossary).
    holding_rate: float = spec(0.25, lo=0.0, hi=5.0)
    # [A] disposal cost per spoiled unit as a share of unit cost, on top of the write-off.
    disposal_share: float = spec(0.0, lo=0.0, hi=5.0)

    def __post_init__(self):
        if self.expedite and self.policy != "forecast":
            raise ConfigError(
                f"inventory.expedite=True needs inventory.policy='forecast' (got "
                f"{self.policy!r}): the fixed rule does not see promotions"
            )


@dataclasses.dataclass
class InventoryState:
    """Arrays (B, ...), updated in place."""

    lot_qty: np.ndarray  # (B, N, K) int units per lot
    lot_expiry: np.ndarray  # (B, N, K) float hours (inf = never)
    pipeline: np.ndarray  # (B, D, N) int units arriving at the end of the period d+1 from now
    received: np.ndarray  # (B, N) int cumulative
    sold: np.ndarray  # (B, N) int cumulative
    spoiled: np.ndarray  # (B, N) int cumulative

    @property
    def on_hand(self) -> np.ndarray:
        return self.lot_qty.sum(axis=-1)

    @property
    def on_order(self) -> np.ndarray:
        return self.pipeline.sum(axis=1)


@dataclasses.dataclass(frozen=True, eq=False)
class InventoryPlan:
    """Static per-product targets derived from the params, catalog and base demand."""

    params: InventoryParams
    period_h: float
    order_up_to: np.ndarray  # (N,) int
    base_per_h: np.ndarray  # (N,) list-price demand per hour the plan was made for
    shelf_life_h: np.ndarray  # (N,)
    perishable: np.ndarray  # (N,) bool
    n_lots: int
    lead_periods: int


def make_plan(
    params: InventoryParams, shelf_life_h: np.ndarray, base_units_per_h: np.ndarray, period_h: float
) -> InventoryPlan:
    """Order-up-to levels from list-price demand ``base_units_per_h`` (N,)."""
    life = np.asarray(shelf_life_h, dtype=np.float64)
    perishable = np.isfinite(life)
    max_life = life[perishable].max() if perishable.any() else 0.0
    n_lots = int(math.ceil(max_life / params.review_h)) + 2 if perishable.any() else 1
    lead_periods = int(math.ceil(params.lead_time_h / period_h - 1e-9))
    return InventoryPlan(
        params=params,
        period_h=period_h,
        order_up_to=order_up_to(params, np.asarray(base_units_per_h))[0],
        base_per_h=np.asarray(base_units_per_h, np.float64),
        shelf_life_h=life,
        perishable=perishable,
        n_lots=n_lots,
        lead_periods=lead_periods,
    )


def init_inventory(plan: InventoryPlan, batch: int, now_h: float = 0.0) -> InventoryState:
    """Shelves filled to the order-up-to level; nothing on order."""
    n = plan.order_up_to.size
    st = InventoryState(
        lot_qty=np.zeros((batch, n, plan.n_lots), dtype=np.int64),
        lot_expiry=np.full((batch, n, plan.n_lots), np.inf),
        pipeline=np.zeros((batch, max(plan.lead_periods, 1), n), dtype=np.int64),
        received=np.zeros((batch, n), dtype=np.int64),
        sold=np.zeros((batch, n), dtype=np.int64),
        spoiled=np.zeros((batch, n), dtype=np.int64),
    )
    _put_away(st, plan, np.broadcast_to(plan.order_up_to, (batch, n)).copy(), now_h)
    return st


def _put_away(
    st: InventoryState, plan: InventoryPlan, qty: np.ndarray, now_h: float, merge: bool = False
) -> None:
    """Add a delivery to the lots (perishables: the lot picked by the delivery time).

    ``merge``: a delivery between reviews joins the review window's lot (which holds that
    window's regular delivery or nothing) and keeps its expiry (the earlier one)."""
    k = int(now_h // plan.params.review_h) % plan.n_lots
    per = plan.perishable[None, :]
    new = per & (qty > 0)
    held = st.lot_qty[:, :, k]
    if merge:
        forced = np.zeros_like(qty)
        new_lot = new & (held == 0)
        st.lot_qty[:, :, k] = np.where(new, held + qty, held)
    else:
        forced = np.where(new, held, 0)  # only if a lot outlived n_lots reviews
        new_lot = new
        st.lot_qty[:, :, k] = np.where(new, qty, held)
    st.lot_expiry[:, :, k] = np.where(
        new_lot, now_h + plan.shelf_life_h[None, :], st.lot_expiry[:, :, k]
    )
    st.lot_qty[:, :, 0] += np.where(per, 0, qty)
    st.received += qty
    st.spoiled += forced


def receive(st: InventoryState, plan: InventoryPlan, now_h: float) -> np.ndarray:
    """Deliveries due at ``now_h`` (end of a period) go on the shelf; returns (B, N) units."""
    if plan.lead_periods == 0:
        return np.zeros_like(st.received)
    due = st.pipeline[:, 0].copy()
    st.pipeline[:, :-1] = st.pipeline[:, 1:]
    st.pipeline[:, -1] = 0
    _put_away(st, plan, due, now_h)
    return due


@numba.njit(cache=True, nogil=True)
def _sell_kernel(lot_qty, lot_expiry, demand, sold):
    """FIFO by expiry per (store, product): a short sequential loop over its K lots."""
    B, N, K = lot_qty.shape
    order = np.empty(K, np.int64)
    for b in range(B):
        for n in range(N):
            exp = lot_expiry[b, n]
            for k in range(K):  # insertion sort by expiry, stable (ties by lot)
                j = k
                while j > 0 and exp[order[j - 1]] > exp[k]:
                    order[j] = order[j - 1]
                    j -= 1
                order[j] = k
            left = demand[b, n]
            total = 0
            for k in order:
                take = min(max(left, 0), lot_qty[b, n, k])
                lot_qty[b, n, k] -= take
                left -= take
                total += take
            sold[b, n] = total


def sell(st: InventoryState, demand: np.ndarray) -> np.ndarray:
    """Take ``demand`` (B, N) units oldest-lot first; returns units sold (the rest is lost).

    Compiled: as NumPy (argsort, gathers, scatter over (B, N, K)) this was a sixth of a
    promotion step; the loop gives the same integers.
    """
    sold = np.empty(st.sold.shape, np.int64)
    _sell_kernel(st.lot_qty, st.lot_expiry, np.asarray(demand, np.int64), sold)
    st.sold += sold
    return sold


def spoil(st: InventoryState, now_h: float) -> np.ndarray:
    """Lots past their expiry are written off; returns (B, N) units spoiled."""
    dead = st.lot_expiry <= now_h
    out = np.where(dead, st.lot_qty, 0).sum(axis=-1)
    st.lot_qty[dead] = 0
    st.spoiled += out
    return out


def is_review(plan: InventoryPlan, now_h: float) -> bool:
    """Whether the period ending at ``now_h`` crossed a review (ordering) time."""
    r = plan.params.review_h
    return math.floor(now_h / r + 1e-9) != math.floor((now_h - plan.period_h) / r + 1e-9)


def order_up_to(params: InventoryParams, rate_per_h: np.ndarray) -> np.ndarray:
    """(B, N) int target (B = 1 for (N,) rates): ``cover x`` demand at ``rate_per_h`` over
    review + lead time, at least 1."""
    horizon = params.review_h + params.lead_time_h
    s = np.ceil(params.cover * np.atleast_2d(rate_per_h) * horizon).astype(np.int64)
    return np.maximum(s, 1)


def order(
    st: InventoryState, plan: InventoryPlan, now_h: float, forecast_per_h: np.ndarray | None = None
) -> np.ndarray:
    """At a review, order up to the target: from ``forecast_per_h`` (B, N) units per hour
    when given (``policy="forecast"``), else the list-price level ``plan.order_up_to``."""
    if not is_review(plan, now_h):
        return np.zeros_like(st.received)
    target = (
        plan.order_up_to[None, :]
        if forecast_per_h is None
        else order_up_to(plan.params, forecast_per_h)
    )
    qty = np.maximum(target - st.on_hand - st.on_order, 0)
    if plan.params.net_outdating:
        # at least ``cover x`` a review's demand usable once the order arrives
        p = plan.params
        rate = plan.base_per_h[None, :] if forecast_per_h is None else forecast_per_h
        usable = st.on_hand - expected_outdating(st, now_h, p.lead_time_h, rate)
        after = np.maximum(usable - np.round(rate * p.lead_time_h).astype(np.int64), 0)
        floor = np.ceil(p.cover * rate * p.review_h).astype(np.int64) - after - st.on_order
        qty = np.maximum(qty, floor)
    if plan.lead_periods == 0:
        _put_away(st, plan, qty, now_h)
    else:
        st.pipeline[:, plan.lead_periods - 1] += qty
    return qty


def deliver_now(st: InventoryState, plan: InventoryPlan, qty: np.ndarray, now_h: float) -> None:
    """An expedited delivery (B, N) on the shelf at ``now_h``, between reviews."""
    _put_away(st, plan, np.asarray(qty, np.int64), now_h, merge=True)


def hours_to_next_arrival(plan: InventoryPlan, now_h: float) -> float:
    """Hours from ``now_h`` until the next regular delivery arrives (orders at reviews
    ``k x review_h``, k >= 1, arrive ``lead_time_h`` later)."""
    r, lead = plan.params.review_h, plan.params.lead_time_h
    k = max(1, math.floor((now_h - lead) / r + 1e-9) + 1)
    return k * r + lead - now_h


def expiring_within(st: InventoryState, now_h: float, hours: float) -> np.ndarray:
    """(B, N) units that expire within ``hours`` (what a markdown should move)."""
    soon = st.lot_expiry <= now_h + hours
    return np.where(soon, st.lot_qty, 0).sum(axis=-1)


def expected_outdating(
    st: InventoryState, now_h: float, hours: float, rate_per_h: np.ndarray
) -> np.ndarray:
    """(B, N) units expected to expire unsold within ``hours``: lots are sold oldest first
    to demand arriving at ``rate_per_h`` (B, N), each until its expiry."""
    order = np.argsort(st.lot_expiry, axis=-1, kind="stable")
    qty = np.take_along_axis(st.lot_qty, order, axis=-1)
    exp = np.take_along_axis(st.lot_expiry, order, axis=-1)
    demand = np.asarray(rate_per_h, np.float64)[..., None] * np.clip(exp - now_h, 0.0, hours)
    consumed = np.zeros(qty.shape[:2])
    waste = np.zeros(qty.shape[:2])
    for k in range(qty.shape[-1]):  # a handful of lots
        sold = np.clip(demand[..., k] - consumed, 0.0, qty[..., k])
        consumed += sold
        waste += np.where(exp[..., k] <= now_h + hours, qty[..., k] - sold, 0.0)
    return np.ceil(waste - 1e-9).astype(np.int64)


def holding_cost(st: InventoryState, plan: InventoryPlan, unit_cost: np.ndarray) -> np.ndarray:
    """(B,) cost of holding the current stock for one period."""
    rate = plan.params.holding_rate * plan.period_h / HOURS_PER_YEAR
    return (st.on_hand * unit_cost[None, :]).sum(axis=-1) * rate
