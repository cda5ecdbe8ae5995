"""Every action's outcome on a banked event, compiled: the banked core's decision kernel.

For each event of a batch: the receipt line each "charge candidate k" writes, the
(correct, over, under) item counts of every action (K charges, no one, review), and
whether only a review gets the event exactly right. These are
``AttributionCore.charge_line``, ``_score`` and ``_needs_review`` repeated in compiled
code with the same float operations (a put-back's product is inferred from the
charged receipt: the account's held product whose unit weight best explains dw), so
a bank replay decides as the live env does, bit for bit (tests/test_bank.py), without
a Python call per event.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _line(charged, account, product, dw, unit_w):
    """``charge_line``'s (product, signed qty) for ``account`` (qty 0: no line)."""
    prod = product
    if dw > 0:
        held = False
        has = False
        for p in range(charged.shape[1]):
            if charged[account, p] > 0:
                held = True
                has = has or p == product
        if held and not has:
            best_err = np.inf
            for p in range(charged.shape[1]):
                if charged[account, p] > 0:
                    w = unit_w[p]
                    q = max(1.0, np.rint(dw / w))
                    err = abs(dw - q * w)
                    if err < best_err:
                        best_err = err
                        prod = p
    qty = np.rint(abs(dw) / unit_w[prod])
    return prod, int(qty if dw < 0 else -qty)


@numba.njit(cache=True, nogil=True)
def _sign(x):
    return (x > 0) - (x < 0)


@numba.njit(cache=True, nogil=True)
def _score(la, lp, lq, keys, nk, out):
    """(correct, over, under) of writing line (la, lp, lq) (lq = 0: nothing) against the
    net truth ``keys[:nk]`` (account, product, net qty), into ``out``."""
    correct = over = under = 0
    matched = False
    for j in range(nk):
        y = keys[j, 2]
        x = 0
        if lq != 0 and keys[j, 0] == la and keys[j, 1] == lp:
            x = lq
            matched = True
        if _sign(x) == _sign(y):
            correct += min(abs(x), abs(y))
        over += max(x - y, 0)
        under += max(y - x, 0)
    if lq != 0 and not matched:
        over += max(lq, 0)
        under += max(-lq, 0)
    out[0], out[1], out[2] = correct, over, under


@numba.njit(cache=True, nogil=True)
def outcomes(charged, stores, account, n_cand, product, dw, truth, unit_w, counts, lines, need):
    """For event i of store ``stores[i]`` (ledger ``charged[stores[i]]``): ``lines[i, k]``
    = (account, product, qty) charging candidate k writes (qty 0: nothing),
    ``counts[i, a]`` every action's item counts (review granted), ``need[i]``."""
    K = account.shape[1]
    keys = np.zeros((truth.shape[1], 3), np.int64)
    for i in range(stores.shape[0]):
        led = charged[stores[i]]
        nk = 0                                   # the truth netted by (account, product)
        for t in range(truth.shape[1]):
            q = truth[i, t, 2]
            if q == 0:
                continue                         # padding (a truth line moves >= 1 item)
            j = 0
            while j < nk and not (keys[j, 0] == truth[i, t, 0] and keys[j, 1] == truth[i, t, 1]):
                j += 1
            if j == nk:
                keys[j, 0], keys[j, 1], keys[j, 2] = truth[i, t, 0], truth[i, t, 1], 0
                nk += 1
            keys[j, 2] += q
        for k in range(K):
            a = account[i, k] if k < n_cand[i] else -1
            lines[i, k, 0], lines[i, k, 1], lines[i, k, 2] = a, 0, 0
            if a >= 0:
                p, q = _line(led, a, product[i], dw[i], unit_w)
                lines[i, k, 1], lines[i, k, 2] = p, q
            _score(a, lines[i, k, 1], lines[i, k, 2], keys, nk, counts[i, k])
        _score(-1, 0, 0, keys, nk, counts[i, K])                  # no one
        c = 0
        for j in range(nk):
            c += abs(keys[j, 2])
        counts[i, K + 1, 0], counts[i, K + 1, 1], counts[i, K + 1, 2] = c, 0, 0   # review
        if nk != 1:
            need[i] = nk > 1
        elif keys[0, 2] == 0:
            need[i] = False
        else:
            need[i] = True
            for k in range(n_cand[i]):
                if (account[i, k] == keys[0, 0] and lines[i, k, 1] == keys[0, 1]
                        and lines[i, k, 2] == keys[0, 2]):
                    need[i] = False
                    break
