"""Shopper demand: multinomial logit within each category, shared by both fidelities.

Every visit considers every category independently; within category ``c`` the
shopper buys product ``j`` (one unit, sometimes a second one) or nothing (the
outside option, utility 0). Segment ``s`` (0 = non-member, 1 = member) sees
price ``p[s, j]`` and has its own reference price ``r[s, j]``::

    v[s, j] = a[s, j] - beta[s, j] * p + gain[s, j] * max(r - p, 0)
              - loss[s, j] * max(p - r, 0) + display_lift * exposure[j]
              + log(1 - pantry share of category c)

- ``a`` and ``beta`` are calibrated from the catalog so that at list prices each
  category is bought by ``category_penetration`` of non-member visits (times
  ``member_spend_ratio`` for members) and the share-weighted mean own-price
  elasticity is ``elasticity`` (long-run: reference = price).
- A second unit is bought with probability ``stockpile_rate * (relative gain -
  stockpile_threshold)``; those extra units go to a pantry that displaces later
  purchases one for one as it is consumed (post-promotion dip).
- Reference prices follow exponential smoothing of the prices each segment saw.

How the walking store uses it (spatial fidelity)
------------------------------------------------
Once per period the env calls ``table = demand_table(model, dstate, seg_price,
exposure)`` and hands ``table`` to the store. When a party arrives the store's
arrival kernel draws each member's shopping list, (N,) int unit counts, with
``draw_list`` from uniforms of a fixed count (``draw_lists(table, member (B, K)
bool, model.category, rng)`` is the same draw for a batch). The aggregate fidelity instead calls ``sample_sales`` with the
period's expected visits; both draw from the same ``table``, so they agree in
expectation (tests/test_promotion_fidelity.py).
"""

from __future__ import annotations

import dataclasses
import math

import numba
import numpy as np
from scipy.special import gammaln, ndtri

from retail_env.sim.catalog import Catalog
from retail_env.sim.rng import BatchRNG
from retail_env.sim.validation import config, spec

N_SEGMENTS = 2  # 0 = non-member, 1 = loyalty member

# Hourly share of daily visits, c-store [A] shape: commute peaks 05-09 h and
# 16-20 h, noon ~8 % of daily visits (GasBuddy Q3 2018; NPD; inMarket).
HOURLY_PROFILE = np.array(
    [
        0.010,
        0.010,
        0.010,
        0.010,
        0.010,
        0.030,
        0.050,
        0.060,
        0.060,
        0.045,
        0.045,
        0.055,
        0.080,
        0.060,
        0.045,
        0.050,
        0.060,
        0.065,
        0.060,
        0.050,
        0.035,
        0.025,
        0.020,
        0.015,
    ]
)
HOURLY_PROFILE = HOURLY_PROFILE / HOURLY_PROFILE.sum()


@config
class DemandParams:
    """Demand-model defaults with their sources (docs/sources.md, "Demand and promotions" and "Demand model")."""

    # Mean own-price elasticity -2.62 over 1,851 estimates (Bijmolt, van Heerde & Pieters, JMR 2005).
    # Calibrated for non-members in the long run (reference = price); experiments/elasticities.py
    # measures every segment, short and long run.
    elasticity: float = spec(-2.6, lo=-10.0, hi=-0.2)
    # Visits per day: Amazon Go about 550/day (RBC via Recode 2019).
    daily_visits: float = spec(550.0, lo=1.0, hi=100_000.0)
    # 36.5 % of c-store shoppers enrolled (CSNews) x 1.5 visits (PDI) -> 46 % of visits.
    member_visit_share: float = spec(0.46, lo=0.0, hi=1.0)
    # Members spend 1.39x per trip ($18.68 vs $13.47, CSNews): self-selected heavier buyers.
    member_spend_ratio: float = spec(1.39, lo=0.5, hi=3.0)
    # [A] members are less price-sensitive: programmes mostly subsidise already-loyal
    # customers, cherry-pickers are the price-sensitive ones (Lal & Bell 2003).
    member_price_sensitivity: float = spec(0.85, lo=0.1, hi=3.0)
    # Reference price: smoothed past prices (Kalyanaram & Winer 1995); [A] weight 0.25
    # on the newest price per purchase occasion (Erasmus EI 2004-36 has no single estimate).
    ref_weight: float = spec(0.25, lo=0.0, hi=1.0)
    # [A] hours between purchase occasions in a category (turns the weight into a rate).
    purchase_interval_h: float = spec(72.0, lo=1.0, hi=10_000.0)
    # [A] gain coefficient as a share of the price coefficient.
    gain_share: float = spec(0.6, lo=0.0, hi=5.0)
    # Losses weigh more than gains: lambda 2.4 (Hardie, Johnson & Fader 1993; 2.25 T&K 1992).
    loss_aversion: float = spec(2.4, lo=1.0, hi=10.0)
    # [A] utility lift of an end-cap display seen by every shopper (about doubles a
    # small-share product's sales; exposure scales it by the share who pass by).
    display_lift: float = spec(0.7, lo=0.0, hi=5.0)
    # [A] P(second unit) per unit of relative gain above the threshold. Stockpiling is a
    # minority of the bump (Gupta 1988 <2 %; van Heerde et al. ~1/3 incl. time shift).
    stockpile_rate: float = spec(1.0, lo=0.0, hi=3.0)
    stockpile_threshold: float = spec(0.1, lo=0.0, hi=1.0)
    # [A] hours for a household pantry of extra units to be consumed; the post-promotion
    # dip is then 4-25 % of the bump (van Heerde, Leeflang & Wittink 2000).
    pantry_h: float = spec(72.0, lo=1.0, hi=10_000.0)


@dataclasses.dataclass(frozen=True, eq=False)
class DemandModel:
    """Calibrated coefficients, arrays over (segment, product); static."""

    params: DemandParams
    category: np.ndarray  # (N,) category index (products contiguous per category)
    category_start: np.ndarray  # (C,) first product of each category
    n_categories: int
    list_price: np.ndarray  # (N,)
    alpha: np.ndarray  # (S, N) intercepts
    beta: np.ndarray  # (S, N) price coefficient, per $
    gain: np.ndarray  # (S, N) per $ below reference
    loss: np.ndarray  # (S, N) per $ above reference
    visit_rate: np.ndarray  # (S,) mean visits per hour by segment


@dataclasses.dataclass
class DemandState:
    """What shoppers remember, arrays (B, ...); updated in place by ``update_demand_state``."""

    ref: np.ndarray  # (B, S, N) reference price per segment
    pantry: np.ndarray  # (B, S, C) extra units held at home per segment


@dataclasses.dataclass
class DemandTable:
    """One period's per-visit purchase probabilities (what both fidelities draw from)."""

    prob: np.ndarray  # (B, S, N) P(buy product j on a visit); sums <= 1 within a category
    extra: np.ndarray  # (B, S, N) P(a second unit | buys j)


def build_demand_model(params: DemandParams, catalog: Catalog) -> DemandModel:
    """Calibrate intercepts and price coefficients to the catalog at list prices."""
    cat = np.asarray(catalog.category)
    if np.any(np.diff(cat) < 0):
        raise ValueError("catalog products must be grouped by category (ascending)")
    price = np.asarray(catalog.price, dtype=np.float64)
    n_cat = catalog.n_categories
    pen = np.asarray(catalog.category_penetration, dtype=np.float64)
    pen_seg = np.stack([pen, np.minimum(pen * params.member_spend_ratio, 0.9)])  # (S, C)
    share = pen_seg[:, cat] * np.asarray(catalog.popularity)[None, :]  # (S, N)
    # beta per category: share-weighted mean of -beta p (1 - s) equals the elasticity.
    w = share[0]
    num = np.bincount(cat, weights=w * price * (1.0 - w), minlength=n_cat)
    den = np.bincount(cat, weights=w, minlength=n_cat)
    beta_cat = -params.elasticity / (num / den)
    sens = np.array([1.0, params.member_price_sensitivity])
    beta = sens[:, None] * beta_cat[cat][None, :]
    alpha = np.log(share / (1.0 - pen_seg[:, cat])) + beta * price[None, :]
    gain = params.gain_share * beta
    rate = params.daily_visits / 24.0
    visit_rate = np.array([1.0 - params.member_visit_share, params.member_visit_share]) * rate
    return DemandModel(
        params=params,
        category=cat,
        category_start=category_starts(cat),
        n_categories=n_cat,
        list_price=price,
        alpha=alpha,
        beta=beta,
        gain=gain,
        loss=params.loss_aversion * gain,
        visit_rate=visit_rate,
    )


def init_demand_state(model: DemandModel, batch: int) -> DemandState:
    """Reference prices at list, empty pantries."""
    n = model.list_price.size
    ref = np.broadcast_to(model.list_price, (batch, N_SEGMENTS, n)).copy()
    return DemandState(ref=ref, pantry=np.zeros((batch, N_SEGMENTS, model.n_categories)))


def _category_softmax(v: np.ndarray, cat: np.ndarray, n_cat: int) -> np.ndarray:
    """exp(v) / (1 + sum over the category of exp(v)), over the last axis."""
    m = np.maximum(v.max(axis=-1, keepdims=True), 0.0)
    ev = np.exp(v - m)
    flat = ev.reshape(-1, ev.shape[-1])
    den = np.zeros((flat.shape[0], n_cat))
    for c in range(n_cat):  # C is small and static
        den[:, c] = flat[:, cat == c].sum(axis=1)
    den = den.reshape(*ev.shape[:-1], n_cat) + np.exp(-m)
    return ev / den[..., cat]


def demand_table(
    model: DemandModel,
    dstate: DemandState,
    seg_price: np.ndarray,
    exposure: np.ndarray | float = 0.0,
) -> DemandTable:
    """Per-visit purchase probabilities for prices ``seg_price`` (B, S, N).

    ``exposure`` (B, N) in [0, 1]: share of shoppers who pass the product on an end-cap.
    """
    p = model.params
    r = dstate.ref
    diff = r - seg_price
    v = (
        model.alpha
        - model.beta * seg_price
        + model.gain * np.maximum(diff, 0.0)
        - model.loss * np.maximum(-diff, 0.0)
    )
    expo = np.asarray(exposure, dtype=np.float64)
    v = v + p.display_lift * (expo[..., None, :] if expo.ndim else expo)
    # Pantry: extra units consumed over pantry_h displace that share of purchases.
    base = model.visit_rate[None, :, None] * p.pantry_h * list_category_units(model)[None]
    cover = np.clip(dstate.pantry / np.maximum(base, 1e-9), 0.0, 0.95)
    v = v + np.log1p(-cover)[..., model.category]
    prob = _category_softmax(v, model.category, model.n_categories)
    rel_gain = diff / np.maximum(r, 1e-9)
    extra = np.clip(p.stockpile_rate * (rel_gain - p.stockpile_threshold), 0.0, 0.8)
    return DemandTable(prob=prob, extra=extra)


def list_category_units(model: DemandModel) -> np.ndarray:
    """(S, C) category purchase probability per visit at list prices (no pantry)."""
    odds = np.exp(model.alpha - model.beta * model.list_price)
    inside = np.stack(
        [
            np.bincount(model.category, weights=odds[s], minlength=model.n_categories)
            for s in range(N_SEGMENTS)
        ]
    )
    return inside / (1.0 + inside)


def traffic_share(hour: np.ndarray, period_h: float) -> np.ndarray:
    """Share of a day's visits that fall in [hour, hour + period_h) (hours of day, float)."""
    cum = np.concatenate([[0.0], np.cumsum(HOURLY_PROFILE)])

    def upto(t):  # visits share from midnight of day 0 to time t (hours)
        day, h = np.divmod(np.asarray(t, dtype=np.float64), 24.0)
        i = np.minimum(np.floor(h).astype(np.int64), 23)
        return day + cum[i] + HOURLY_PROFILE[i] * (h - i)

    return upto(np.asarray(hour) + period_h) - upto(hour)


def expected_visits(model: DemandModel, hour: np.ndarray, period_h: float) -> np.ndarray:
    """(B, S) mean visits in the period starting at ``hour`` (B,) hour of day."""
    return traffic_share(hour, period_h)[:, None] * model.visit_rate[None, :] * 24.0


def expected_sales(table: DemandTable, visits: np.ndarray) -> np.ndarray:
    """(B, S, N) expected units demanded given (B, S) expected visits."""
    return visits[..., None] * table.prob * (1.0 + table.extra)


def poisson_from_uniform(u: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Poisson(mu) by inverting the CDF at ``u`` (one uniform per variate).

    Exact table inversion for mu <= 30; a Cornish-Fisher normal approximation above.
    """
    u = np.asarray(u, dtype=np.float64)
    mu = np.broadcast_to(np.asarray(mu, dtype=np.float64), u.shape)
    out = np.zeros(u.shape, dtype=np.int64)
    small = mu <= 30.0
    if small.any():
        out[small] = _invert_table(u[small], mu[small])
    big = ~small
    if big.any():
        z = ndtri(np.clip(u[big], 1e-12, 1.0 - 1e-12))
        mb = mu[big]
        out[big] = np.maximum(np.floor(mb + np.sqrt(mb) * z + (z * z - 1.0) / 6.0 + 0.5), 0)
    return out


def _invert_table(u: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """#{k <= kmax : CDF(k) <= u}, the CDF summed term by term in growing blocks.

    Most variates are decided in the first few terms (small means), so only the
    undecided few pay for the long tail up to ``kmax``. The running sum carries
    over between blocks, so every CDF value is the same float as one long cumsum.
    """
    kmax = int(math.ceil(mu.max() + 8.0 * math.sqrt(mu.max()) + 10.0))
    logm = np.log(np.maximum(mu, 1e-300))
    out = np.zeros(u.shape, dtype=np.int64)
    todo = np.arange(u.size)
    carry = np.zeros(u.size)
    k0, width = 0, 4
    while todo.size and k0 <= kmax:
        k = np.arange(k0, min(k0 + width, kmax + 1))
        p = np.exp(k[None, :] * logm[todo, None] - mu[todo, None] - gammaln(k + 1.0)[None, :])
        todo = _scan_block(p, u, todo, carry, out)
        k0, width = k0 + width, 2 * width
    return out


@numba.njit(cache=True, nogil=True)
def _scan_block(p, u, todo, carry, out):
    """Add one block of PMF terms ``p`` (len(todo), w) to the running CDFs ``carry``; count
    the terms with CDF <= u into ``out``; return the variates still undecided.

    Compiled because the arrays are small (a few thousand variates) and NumPy's cumsum,
    compare and gathers cost more in call overhead than in arithmetic; the sums are the
    same sequential float64 additions.
    """
    left = np.empty(todo.size, np.int64)
    m = 0
    for r in range(todo.size):
        i = todo[r]
        s = carry[i]
        c = 0
        for j in range(p.shape[1]):
            s = s + p[r, j]
            c += u[i] >= s
        out[i] += c
        carry[i] = s
        if u[i] >= s:
            left[m] = i
            m += 1
    return left[:m]


def sample_sales(
    table: DemandTable, visits: np.ndarray, rng: BatchRNG
) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate fidelity: units demanded (B, S, N) and the extra (second) units among them.

    Single- and double-unit buyers are independent Poisson counts (Poisson visits, thinned).
    """
    u = rng.uniform(2, *table.prob.shape[1:])  # (B, 2, S, N)
    mean_buyers = visits[..., None] * table.prob
    doubles = poisson_from_uniform(u[:, 1], mean_buyers * table.extra)
    singles = poisson_from_uniform(u[:, 0], mean_buyers * (1.0 - table.extra))
    return singles + 2 * doubles, doubles


def expected_capped_units(singles: np.ndarray, doubles: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """E[min(D, cap)] for D = S1 + 2 S2, S1 ~ Poisson(``singles``), S2 ~ Poisson(``doubles``)
    independent (the aggregate fidelity's units demanded): expected sales from ``cap`` units
    of stock. Arrays broadcast to one shape; exact (the PMF summed up to ``cap``)."""
    m1, m2, c = np.broadcast_arrays(
        np.asarray(singles, np.float64), np.asarray(doubles, np.float64), np.asarray(cap, np.int64)
    )
    out = np.empty(m1.shape)
    _capped_kernel(m1.ravel(), m2.ravel(), c.ravel(), out.reshape(-1))
    return out


@numba.njit(cache=True, nogil=True)
def _poisson_pmf(mean, n):
    """P(X = k) for k < n, X ~ Poisson(mean), in log space (no underflow for large means)."""
    out = np.zeros(n)
    if mean <= 0.0:
        out[0] = 1.0
        return out
    for k in range(n):
        out[k] = math.exp(k * math.log(mean) - mean - math.lgamma(k + 1.0))
    return out


@numba.njit(cache=True, nogil=True)
def _capped_kernel(m1, m2, cap, out):
    """E[min(S1 + 2 S2, cap)] = sum_{k < cap} P(D > k), with P(D = k) by convolving the two
    Poisson PMFs."""
    for i in range(m1.size):
        c, a, b = cap[i], m1[i], m2[i]
        mean = a + 2.0 * b
        if c <= 0:
            out[i] = 0.0
            continue
        if c > mean + 12.0 * math.sqrt(a + 4.0 * b) + 30.0:  # the cap is never reached
            out[i] = mean
            continue
        p1 = _poisson_pmf(a, c)
        p2 = _poisson_pmf(b, c // 2 + 1)
        acc, cdf = 0.0, 0.0
        for k in range(c):  # P(D = k) = sum_j P(S2 = j) P(S1 = k - 2j)
            pk = 0.0
            for j in range(k // 2 + 1):
                pk += p2[j] * p1[k - 2 * j]
            cdf += pk
            acc += 1.0 - cdf  # P(D > k)
        out[i] = acc


def category_starts(category: np.ndarray) -> np.ndarray:
    """Index of the first product of each category (products are grouped by category)."""
    return np.concatenate([[0], np.flatnonzero(np.diff(category)) + 1])


def draw_lists(
    table: DemandTable, member: np.ndarray, category: np.ndarray, rng: BatchRNG
) -> np.ndarray:
    """Spatial fidelity: shopping lists (B, K, N) int for K arriving shoppers.

    Takes 2 * K * C uniforms whatever ``member`` holds: one picks the product (or
    nothing) in each category, one decides the second unit.
    """
    b, k = member.shape
    n_cat = int(category.max()) + 1
    u = rng.uniform(k, n_cat, 2)
    starts = category_starts(category)
    seg = member.astype(np.int64)
    cum = np.empty(category.size)
    out = np.empty((b, k, category.size), np.int64)
    for i in range(b):
        for j in range(k):
            draw_list(
                table.prob[i, seg[i, j]],
                table.extra[i, seg[i, j]],
                u[i, j],
                category,
                starts,
                cum,
                out[i, j],
            )
    return out


@numba.njit(cache=True, nogil=True)
def draw_list(prob, extra, u, category, starts, cum, out):
    """One shopping list into ``out`` (N,): in each category the product whose slice of the
    cumulative purchase probabilities ``prob`` holds the category's uniform ``u[c, 0]``
    (none past the last), times 2 if ``u[c, 1] < extra``. ``cum`` (N,) is scratch.
    Compiled: lists are drawn a few at a time, too small for NumPy to pay off; the
    cumulative sums are the same sequential float64 additions as ``np.cumsum``."""
    acc = 0.0
    for j in range(category.size):
        acc = prob[j] if j == 0 else acc + prob[j]
        cum[j] = acc
    for j in range(category.size):
        c = category[j]
        hi = cum[j] - (cum[starts[c]] - prob[starts[c]])  # cum before the category
        lo = hi - prob[j]
        out[j] = (u[c, 0] >= lo and u[c, 0] < hi) * (1 + (u[c, 1] < extra[j]))


def update_demand_state(
    dstate: DemandState,
    model: DemandModel,
    seg_price: np.ndarray,
    extra_units: np.ndarray,
    period_h: float,
) -> None:
    """After a period: references move toward the prices seen; pantries fill and empty.

    ``extra_units`` (B, S, N): second units sold this period (they go to pantries).
    """
    p = model.params
    # Per-occasion weight turned into a per-period rate (occasions every purchase_interval_h).
    w = 1.0 - (1.0 - p.ref_weight) ** (period_h / p.purchase_interval_h)
    dstate.ref += w * (seg_price - dstate.ref)
    added = np.zeros_like(dstate.pantry)
    for c in range(model.n_categories):
        added[..., c] = extra_units[..., model.category == c].sum(axis=-1)
    dstate.pantry *= math.exp(-period_h / p.pantry_h)
    dstate.pantry += added
