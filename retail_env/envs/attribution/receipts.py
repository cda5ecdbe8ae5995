"""Receipt metrics: what the agent charged against what shoppers really took.

Scored per account (a group pays on one account), item-level like
AutoCheckout's scorer (CPS-IoT 2020, ``AutoCheckout-CMU/AutoCheckout``):
a receipt line counts ``min(charged, true)`` items as correct. These numbers
are computed from the true baskets the simulator keeps, never from the reward,
so a policy cannot game them by shaping.

Conventions (documented in the env card):
- A receipt never holds negative quantities: a put-back charged to someone who
  never had the item leaves that line at 0 (the store does not pay shoppers).
- Micro-averaged over the accounts of one episode. With nothing charged,
  precision is 1 (nothing wrong was charged); with nothing to charge, recall is
  1; F1 is 1 when both are empty and the harmonic mean otherwise.
- ``exact_match`` counts an empty receipt for an empty basket as right (charging no one
  at all scores that share); ``exact_match_nonempty`` is exact_match over the receipts
  with at least one true or charged item (1 when there are none).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from retail_env.envs.attribution.receipt_kernel import tally

RECEIPT_KEYS = (
    "exact_match",
    "exact_match_nonempty",
    "precision",
    "recall",
    "f1",
    "review_rate",
    "overcharge_value",
    "undercharge_value",
)


def ledger_add(
    ledger: np.ndarray, account: np.ndarray, product: np.ndarray, qty: np.ndarray
) -> None:
    """Add signed item counts to an ``(A, N)`` ledger in place (picks +, put-backs -).

    Rows with ``account < 0`` or ``qty == 0`` are charged to no one. (A change is a few
    rows, so plain Python: far cheaper than ``np.add.at`` at that size.)
    """
    ledger_add_lines(
        ledger, zip(*(np.asarray(x).ravel().tolist() for x in (account, product, qty)), strict=True)
    )


def ledger_add_lines(ledger: np.ndarray, lines: Iterable[tuple[int, int, int]]) -> None:
    """``ledger_add`` of (account, product, qty) rows given as Python ints."""
    for a, p, q in lines:
        if a >= 0 and q != 0:
            ledger[a, p] += q


def receipts_from_ledger(ledger: np.ndarray) -> np.ndarray:
    """The printed receipts: the signed ledger with negative lines clipped to 0."""
    return np.maximum(ledger, 0)


def receipt_metrics(
    true_qty: np.ndarray, charged: np.ndarray, price: np.ndarray, n_events: int, n_reviews: int
) -> dict[str, float]:
    """Score one episode's receipts.

    true_qty: (A, N) items each scored account really left with (>= 0).
    charged:  (A, N) signed ledger of what the agent charged (clipped here).
    price:    (N,) shelf price of each product.
    n_events / n_reviews: decisions taken and how many were human reviews.
    """
    true_qty = np.asarray(true_qty, dtype=np.int64)
    pred = receipts_from_ledger(np.asarray(charged, dtype=np.int64))
    if true_qty.shape != pred.shape:
        raise ValueError(f"true {true_qty.shape} and charged {pred.shape} receipts differ in shape")
    if (true_qty < 0).any():
        raise ValueError("true baskets hold negative quantities")
    price = np.asarray(price, dtype=np.float64)
    tp, n_pred, n_true, exact, nonempty, exact_nonempty, over, under = tally(true_qty, pred, price)
    precision = float(tp / n_pred) if n_pred > 0 else 1.0
    recall = float(tp / n_true) if n_true > 0 else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    n_accounts = true_qty.shape[0]
    return {
        "exact_match": exact / n_accounts if n_accounts else 1.0,
        "exact_match_nonempty": exact_nonempty / nonempty if nonempty else 1.0,
        "precision": precision,
        "recall": recall,
        "f1": float(f1),
        "review_rate": float(n_reviews / n_events) if n_events else 0.0,
        "overcharge_value": float(over),
        "undercharge_value": float(under),
        "n_receipts": float(n_accounts),
        "n_items_true": float(n_true),
        "n_items_charged": float(n_pred),
        "n_events": float(n_events),
        "n_reviews": float(n_reviews),
    }
