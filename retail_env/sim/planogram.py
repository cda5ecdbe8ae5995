"""The planogram: which product each plate holds (truth) and what the store believes.

Deterministic from the layout and catalog (no randomness), so every store of a
batch shares it. Plates are walked shelf by shelf, left to right, and products
are laid in catalog order (grouped by category, look-alike pairs next to each
other in the catalog) in equal consecutive blocks. So same-category products
share shelves and look-alikes of equal weight stand side by side, as in
AutoCheckout's test store (green vs red water).

A *wrong* planogram (hard case) differs from the truth on a share of plates:
the believed product of such a plate is the product half the store away.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from retail_env.sim.catalog import Catalog
from retail_env.sim.layout import Layout


@dataclasses.dataclass(frozen=True, eq=False)
class Planogram:
    """Static plate -> product maps and plate capacities."""

    truth: np.ndarray  # (P,) product really on each plate
    believed: np.ndarray  # (P,) product the store's planogram lists
    capacity: np.ndarray  # (P,) items when full
    product_plates: np.ndarray  # (N, K) plates holding each product (truth), -1 padded
    n_plates_of: np.ndarray  # (N,) number of plates per product (0: not on a shelf)


def shelf_order(layout: Layout) -> np.ndarray:
    """Plate indices shelf by shelf, each shelf from its left (or top) end."""
    order = []
    nbr = layout.plate_neighbors
    for s in range(layout.n_shelves):
        on = np.flatnonzero(layout.plate_shelf == s)
        k = int(on[nbr[on, 0] < 0][0])
        while k >= 0:
            order.append(k)
            k = int(nbr[k, 1])
    return np.array(order, dtype=np.int64)


def build_planogram(
    layout: Layout, catalog: Catalog, capacity: int, max_kg: float, wrong_share: float = 0.0
) -> Planogram:
    """Truth and believed planograms; ``wrong_share`` > 0 makes that share of plates wrong."""
    n_plates, n_prod = layout.n_plates, catalog.n_products
    order = shelf_order(layout)
    blocks = np.full(n_prod, n_plates // n_prod) + (np.arange(n_prod) < n_plates % n_prod)
    seq = np.repeat(np.arange(n_prod), blocks)
    truth = np.empty(n_plates, dtype=np.int64)
    truth[order] = seq
    believed = truth.copy()
    if wrong_share > 0:
        step = max(1, int(round(1.0 / wrong_share)))
        wrong = np.arange(step // 2, n_plates, step)
        swap = truth[(wrong + n_plates // 2) % n_plates]
        same = swap == truth[wrong]
        swap[same] = (truth[wrong][same] + 1) % n_prod
        believed[wrong] = swap
    cap = np.minimum(capacity, np.floor(max_kg / np.asarray(catalog.unit_weight)[truth]))
    n_of = np.bincount(truth, minlength=n_prod)
    table = np.full((n_prod, max(1, int(n_of.max()))), -1, dtype=np.int64)
    for p in range(n_prod):  # static set-up, runs once
        on = np.flatnonzero(truth == p)
        table[p, : on.size] = on
    arrays = dict(
        truth=truth,
        believed=believed,
        capacity=np.maximum(cap, 1).astype(np.int64),
        product_plates=table,
        n_plates_of=n_of.astype(np.int64),
    )
    for a in arrays.values():
        a.setflags(write=False)
    return Planogram(**arrays)
