"""The receipt columns of a candidate set, compiled: shared by the live observation and
the bank replay (so both compute them with the same operations)."""

from __future__ import annotations

import numba


@numba.njit(cache=True, nogil=True)
def receipt_row(charged, account, n, product, lim, out):
    """One event's ``receipt_columns``: items on each candidate's receipt / 10 (negative
    lines count 0) and its items of ``product`` / 5, clipped to [-lim, lim]."""
    last = charged.shape[0] - 1
    for k in range(n):
        a = account[k]
        if a < 0:
            continue  # no account: charges no one
        a = min(a, last)
        items = 0
        for p in range(charged.shape[1]):
            items += max(charged[a, p], 0)
        out[k, 0] = min(max(items / 10.0, -lim), lim)
        out[k, 1] = min(max(max(charged[a, product], 0) / 5.0, -lim), lim)


@numba.njit(cache=True, nogil=True)
def tally(true_qty, pred, price):
    """One pass over an episode's (A, N) true and printed receipts for
    ``receipts.receipt_metrics``: items right / charged / true, accounts exactly right,
    non-empty, exactly right and non-empty, and the over- and undercharged value (each
    account's lines summed in product order, then the accounts in order)."""
    tp = n_pred = n_true = exact = nonempty = exact_nonempty = 0
    over = under = 0.0
    for a in range(true_qty.shape[0]):
        same, t_sum, p_sum = True, 0, 0
        row_over = row_under = 0.0
        for p in range(true_qty.shape[1]):
            t, c = true_qty[a, p], pred[a, p]
            tp += min(t, c)
            t_sum += t
            p_sum += c
            if c > t:
                row_over += (c - t) * price[p]
                same = False
            elif t > c:
                row_under += (t - c) * price[p]
                same = False
        n_true += t_sum
        n_pred += p_sum
        over += row_over
        under += row_under
        ne = t_sum > 0 or p_sum > 0
        exact += same
        nonempty += ne
        exact_nonempty += same and ne
    return tp, n_pred, n_true, exact, nonempty, exact_nonempty, over, under
