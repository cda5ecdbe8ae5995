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
def _event(led, account, nc, product, dw, truth, unit_w, keys, counts, lines) -> bool:
    """One event's outcomes (see ``outcomes``) from its ledger ``led`` (A, N), candidate
    ``account`` row, ``nc`` candidates and padded ``truth`` lines; returns ``need``."""
    K = account.shape[0]
    nk = 0  # the truth netted by (account, product)
    for t in range(truth.shape[0]):
        q = truth[t, 2]
        if q == 0:
            continue  # padding (a truth line moves >= 1 item)
        j = 0
        while j < nk and not (keys[j, 0] == truth[t, 0] and keys[j, 1] == truth[t, 1]):
            j += 1
        if j == nk:
            keys[j, 0], keys[j, 1], keys[j, 2] = truth[t, 0], truth[t, 1], 0
            nk += 1
        keys[j, 2] += q
    for k in range(K):
        a = account[k] if k < nc else -1
        lines[k, 0], lines[k, 1], lines[k, 2] = a, 0, 0
        if a >= 0:
            p, q = _line(led, a, product, dw, unit_w)
            lines[k, 1], lines[k, 2] = p, q
        _score(a, lines[k, 1], lines[k, 2], keys, nk, counts[k])
    _score(-1, 0, 0, keys, nk, counts[K])  # no one
    c = 0
    for j in range(nk):
        c += abs(keys[j, 2])
    counts[K + 1, 0], counts[K + 1, 1], counts[K + 1, 2] = c, 0, 0  # review
    if nk != 1:
        return nk > 1
    if keys[0, 2] == 0:
        return False
    for k in range(nc):
        if account[k] == keys[0, 0] and lines[k, 1] == keys[0, 1] and lines[k, 2] == keys[0, 2]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def outcomes(charged, stores, d, account, n_cand, product, dw, truth, unit_w, counts, lines, need):
    """For decision ``d[i]`` of store ``b = stores[i]`` (its columns in the slot buffers
    ``account[b, d]``, ..., ledger ``charged[b]``): ``lines[i, k]`` = (account, product,
    qty) charging candidate k writes (qty 0: nothing), ``counts[i, a]`` every action's
    item counts (review granted), ``need[i]``."""
    keys = np.zeros((truth.shape[2], 3), np.int64)
    for i in range(stores.shape[0]):
        b, e = stores[i], d[i]
        need[i] = _event(
            charged[b],
            account[b, e],
            n_cand[b, e],
            product[b, e],
            dw[b, e],
            truth[b, e],
            unit_w,
            keys,
            counts[i],
            lines[i],
        )


# Columns of the banked core's counters (``retail_env.envs.attribution.core.STAT_KEYS``).
DECISIONS, REVIEWS, REFUSED, EMPTY, NEED = 0, 1, 2, 3, 8


@numba.njit(cache=True, nogil=True)
def decide_all(
    charged,
    stores,
    d,
    actions,
    account,
    n_cand,
    product,
    dw,
    truth,
    unit_w,
    credit,
    stat,
    weights,
    budget,
    terms,
    outcome,
):
    """``AttributionCore.decide`` for decision ``d[i]`` of each store ``stores[i]`` with
    ``actions[i]``: the receipts, credit and counters updated in place, the weighted reward
    terms (``REWARD_TERMS`` order) in ``terms[i]``, 1/2/3 (right, wrong, reviewed) in
    ``outcome[i]``. The same float operations as the Python code."""
    K = account.shape[2]
    keys = np.zeros((truth.shape[2], 3), np.int64)
    counts = np.zeros((K + 2, 3), np.int64)
    lines = np.zeros((K, 3), np.int64)
    for i in range(stores.shape[0]):
        b, e, a = stores[i], d[i], actions[i]
        nc = n_cand[b, e]
        need = _event(
            charged[b],
            account[b, e],
            nc,
            product[b, e],
            dw[b, e],
            truth[b, e],
            unit_w,
            keys,
            counts,
            lines,
        )
        can = credit[b] >= 1.0
        granted = a == K + 1 and can
        refused = a == K + 1 and not can
        empty = a < K and a >= nc
        col = K + 1 if granted else min(a, K)
        if a < K and lines[a, 0] >= 0 and lines[a, 2] != 0:
            charged[b, lines[a, 0], lines[a, 1]] += lines[a, 2]
        if granted:  # a review applies the truth's lines
            for t in range(truth.shape[2]):
                if truth[b, e, t, 0] >= 0 and truth[b, e, t, 2] != 0:
                    charged[b, truth[b, e, t, 0], truth[b, e, t, 1]] += truth[b, e, t, 2]
            credit[b] -= 1.0
        credit[b] += budget
        stat[b, NEED] += need
        stat[b, DECISIONS] += 1
        stat[b, REVIEWS] += granted
        stat[b, REFUSED] += refused
        stat[b, EMPTY] += empty
        terms[i, 0] = weights[0] * counts[col, 0]
        terms[i, 1] = weights[1] * counts[col, 1]
        terms[i, 2] = weights[2] * counts[col, 2]
        terms[i, 3] = weights[3] * (1.0 if granted else 0.0)
        terms[i, 4] = weights[4] * (1.0 if refused else 0.0)
        terms[i, 5] = weights[5] * (1.0 if empty else 0.0)
        right = counts[col, 1] == 0 and counts[col, 2] == 0
        outcome[i] = 3 if granted else (1 if right else 2)


@numba.njit(cache=True, nogil=True)
def best_action(counts, n_cand, can_review, weights):
    """``AttributionCore.oracle_action`` from every action's (correct, over, under)
    ``counts`` (review granted): the reward of each action summed as the Python code sums
    its terms, the first best with its 1e-9 tie rule."""
    K = counts.shape[0] - 2
    best, best_r = K, -np.inf
    for a in range(K + 2):
        row = a if a <= K or can_review else K
        review = a == K + 1 and can_review
        refused = a == K + 1 and not can_review
        empty = a < K and a >= n_cand
        r = (
            weights[0] * counts[row, 0]
            + weights[1] * counts[row, 1]
            + weights[2] * counts[row, 2]
            + weights[3] * (1.0 if review else 0.0)
            + weights[4] * (1.0 if refused else 0.0)
            + weights[5] * (1.0 if empty else 0.0)
        )
        if r > best_r + 1e-9:
            best, best_r = a, r
    return best
