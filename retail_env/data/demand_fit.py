"""A multinomial-logit demand fit to an exported Promotion log: proof that the data is usable.

The simulator's shoppers choose within each category by a logit with an outside option
(``retail_env/sim/demand.py``); an analyst with the log fits the same family by maximum
likelihood. Units sold of product ``j`` to one segment in period ``t`` are taken as
Poisson with mean ``visits_t * s_tj``,::

    s_tj = exp(u_tj) / (1 + sum_k in c(j) exp(u_tk)),
    u_tj = a_j - b_c p_tj [+ g_c max(r_tj - p_tj, 0) - l_c max(p_tj - r_tj, 0)]
           [+ d_c endcap_tj]

(the bracketed terms by ``Spec``: reference prices ``r`` are the log's truth column
``sales.ref_price``, which no real store records). The long-run own-price elasticity at
list prices (reference = price, no display) is ``-b_c p_j (1 - s_j)``, what
``experiments/elasticities.py`` measures on the simulator.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from scipy.optimize import minimize


@dataclasses.dataclass(frozen=True)
class Spec:
    """What the fitted utility holds and which rows it uses."""

    name: str
    reference: bool = False  # gain/loss terms from the log's (truth) reference prices
    endcap: bool = False  # the end-cap display term
    drop_stockouts: bool = False  # leave out product-periods with lost sales


@dataclasses.dataclass
class Panel:
    """One segment's (T periods, N products) arrays from a log."""

    units: np.ndarray
    price: np.ndarray
    ref: np.ndarray
    endcap: np.ndarray
    lost: np.ndarray  # lost sales of the product in the period (both segments)
    visits: np.ndarray  # (T,) expected visits of the segment
    category: np.ndarray  # (N,)
    list_price: np.ndarray  # (N,)


def load_panel(folder: str | Path, member: bool) -> Panel:
    """The (episode x period, product) panel of one segment from a log folder."""
    import pandas as pd

    folder = Path(folder)
    sales = pd.read_parquet(folder / "sales.parquet")
    sales = sales[sales.member == member].sort_values(["episode", "period", "product"])  # pyright: ignore[reportCallIssue]  (a DataFrame)
    prices = pd.read_parquet(folder / "prices.parquet").sort_values(
        ["episode", "period", "product"]
    )
    inv = pd.read_parquet(folder / "inventory.parquet").sort_values(
        ["episode", "period", "product"]
    )
    n = int(prices["product"].max()) + 1

    def grid(col) -> np.ndarray:
        return np.asarray(col, np.float64).reshape(-1, n)

    first = prices[(prices.episode == prices.episode.iloc[0]) & (prices.period == 0)]
    return Panel(
        units=grid(sales.units),
        price=grid(sales.price_paid),
        ref=grid(sales.ref_price),
        endcap=grid(prices.endcap),
        lost=grid(inv.lost),
        visits=grid(sales.visits)[:, 0],
        category=first.category.to_numpy(),
        list_price=first.list_price.to_numpy(),
    )


def _features(panel: Panel, spec: Spec, cols: np.ndarray) -> list[np.ndarray]:
    """Covariates (T, n) of the slope terms, each entering the utility with + sign."""
    p, r = panel.price[:, cols], panel.ref[:, cols]
    feats = [-p]
    if spec.reference:
        feats += [np.maximum(r - p, 0.0), -np.maximum(p - r, 0.0)]
    if spec.endcap:
        feats.append(panel.endcap[:, cols])
    return feats


def _nll(theta, y, w, visits, feats):
    """Poisson negative log-likelihood of a category's logit and its gradient."""
    n = y.shape[1]
    u = theta[:n][None, :] + sum(c * f for c, f in zip(theta[n:], feats, strict=True))
    m = np.maximum(u.max(axis=1, keepdims=True), 0.0)
    eu = np.exp(u - m)
    den = np.exp(-m) + eu.sum(axis=1, keepdims=True)
    s = eu / den
    mu = visits[:, None] * s
    logmu = np.log(visits)[:, None] + u - m - np.log(den)
    nll = float((w * (mu - y * logmu)).sum())
    r = w * (mu - y)
    g = r - s * r.sum(axis=1, keepdims=True)
    grad = np.concatenate([g.sum(axis=0), [float((g * f).sum()) for f in feats]])
    return nll, grad


def fit(panel: Panel, spec: Spec) -> dict[int, np.ndarray]:
    """Per category: the fitted ``[a_j ..., b, (g, l), (d)]`` (slopes in ``_features`` order)."""
    out = {}
    for c in np.unique(panel.category):
        cols = np.flatnonzero(panel.category == c)
        y = panel.units[:, cols]
        w = (panel.lost[:, cols] == 0).astype(float) if spec.drop_stockouts else np.ones_like(y)
        feats = _features(panel, spec, cols)
        share = np.maximum((w * y).sum(axis=0), 0.5) / (w * panel.visits[:, None]).sum(axis=0)
        theta0 = np.concatenate([np.log(share), np.zeros(len(feats))])
        res = minimize(
            _nll,
            theta0,
            args=(y, w, panel.visits, feats),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": 2000},
        )
        out[int(c)] = res.x
    return out


def elasticities(panel: Panel, params: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Long-run own-price elasticity of every product at list prices (reference = price, no
    display), and the product's expected units per visit there (the averaging weights)."""
    n = panel.list_price.size
    el, share = np.zeros(n), np.zeros(n)
    for c, theta in params.items():
        cols = np.flatnonzero(panel.category == c)
        a, b, p = theta[: cols.size], theta[cols.size], panel.list_price[cols]
        eu = np.exp(a - b * p)
        s = eu / (1.0 + eu.sum())
        el[cols], share[cols] = -b * p * (1.0 - s), s
    return el, share
