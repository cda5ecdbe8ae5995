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
            continue                       # no account: charges no one
        a = min(a, last)
        items = 0
        for p in range(charged.shape[1]):
            items += max(charged[a, p], 0)
        out[k, 0] = min(max(items / 10.0, -lim), lim)
        out[k, 1] = min(max(max(charged[a, product], 0) / 5.0, -lim), lim)
