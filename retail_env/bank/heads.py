"""What a bank replay shows of each store's head event, compiled: one call per vector step.

At 64 stores, a dozen NumPy gathers per step cost more than the decisions themselves
(``outcomes.decide_all``), so the ``features`` observation and the action masks are
filled here in one loop over the stores. Each store's row is copied from the slot
buffers and its decision-dependent columns (the review columns and each candidate's
receipt columns) are computed with the live functions' float operations, so a replay
observes as the live env does, bit for bit (tests/test_bank.py). ``ragged_into`` loads
an episode's truth lines into its slot buffer the same way, when a store restarts.
"""

from __future__ import annotations

import numba
import numpy as np

from retail_env.envs.attribution.receipt_kernel import receipt_row


@numba.njit(cache=True, nogil=True)
def features_into(
    stores,
    rows,
    pos,
    n,
    event,
    candidates,
    n_cand,
    account,
    product,
    charged,
    credit,
    stat,
    lim,
    ev_review,
    cf_receipt,
    out_event,
    out_cand,
    out_mask,
):
    """Row ``rows[i]`` of ``out_*``: the head event of store ``stores[i]``'s replay, or
    zeros (the blank observation) for a finished one. ``ev_review`` / ``cf_receipt``:
    first column of the review / receipt groups."""
    K = out_mask.shape[1]
    rc = np.zeros((K, 2))
    for i in range(stores.shape[0]):
        b, r = stores[i], rows[i]
        d = pos[b]
        if d >= n[b]:
            out_event[r, :] = 0.0
            out_cand[r, :, :] = 0.0
            out_mask[r, :] = 0.0
            continue
        out_event[r, :] = event[b, d]
        c = credit[b]
        rate = stat[b, 1] / max(1, stat[b, 0])
        out_event[r, ev_review] = min(max(min(c, lim), -lim), lim)
        out_event[r, ev_review + 1] = 1.0 if c >= 1.0 else 0.0
        out_event[r, ev_review + 2] = min(max(rate, -lim), lim)
        out_cand[r, :, :] = candidates[b, d]
        rc[:, :] = 0.0
        nc = n_cand[b, d]
        if nc > 0:
            receipt_row(charged[b], account[b, d], nc, product[b, d], lim, rc)
        for k in range(K):
            out_cand[r, k, cf_receipt] = rc[k, 0]
            out_cand[r, k, cf_receipt + 1] = rc[k, 1]
            out_mask[r, k] = 1.0 if k < nc else 0.0


@numba.njit(cache=True, nogil=True)
def masks_into(stores, pos, n, n_cand, index, credit, out_mask, out_index):
    """``action_mask`` (K charges, no one, review) and ``event_index`` (-1: finished) of
    each store ``stores[i]``'s head event, into row ``i`` of ``out_mask`` / ``out_index``."""
    K = out_mask.shape[1] - 2
    for i in range(stores.shape[0]):
        b = stores[i]
        d = pos[b]
        live = d < n[b]
        nc = n_cand[b, d] if live else 0
        for k in range(K):
            out_mask[i, k] = 1 if k < nc else 0
        out_mask[i, K] = 1
        out_mask[i, K + 1] = 1 if credit[b] >= 1.0 else 0
        out_index[i] = index[b, d] if live else -1


@numba.njit(cache=True, nogil=True)
def ragged_into(off, first, n, acc, prod, qty, out):
    """Rows ``first .. first + n`` of the ragged truth columns (lines of row ``i``:
    ``off[i]:off[i + 1]``) into ``out[:n]`` (n, width, 3), padded with zeros."""
    out[:n] = 0
    for i in range(n):
        lo = off[first + i]
        for j in range(off[first + i + 1] - lo):
            out[i, j, 0] = acc[lo + j]
            out[i, j, 1] = prod[lo + j]
            out[i, j, 2] = qty[lo + j]
