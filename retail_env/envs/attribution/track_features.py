"""The candidates' trajectory features (``observations.CANDIDATE_FEATURES`` 0..11), compiled.

They depend only on what the read-out stored with each event (the candidates'
positions relative to the plate and the event's window in the ring), so a batch
of events is one pass. As NumPy they were some forty operations over (events, K,
ticks) arrays per observation batch, the largest cost of building an observation.

Distances are taken only at the ticks some feature looks at. The kernel repeats
NumPy's arithmetic exactly: float32 ``hypot`` (libm's), float32
window sums in NumPy's pairwise order, and the features NumPy computed in float64
(means, shares, times) computed in float64, each rounded to float32 after clipping.
"""

from __future__ import annotations

import numba
import numpy as np

N_TRACK_FEATURES = 12


def track_features(
    rel: np.ndarray,
    n_cand: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    hz: int,
    reach: float,
    lim: float,
    far: float,
    out: np.ndarray,
) -> None:
    """Fill ``out[r, k, :12]`` for the valid candidates ``k < n_cand[r]`` of events ``r``.

    ``rel`` (R, K, H, 2) float32 metres from the plate (NaN = unseen); ``lo``/``hi``
    the events' first and last ring ticks (inclusive).
    """
    _kernel(
        rel,
        np.asarray(n_cand, np.int64),
        np.asarray(lo, np.int64),
        np.asarray(hi, np.int64) + 1,
        hz,
        np.float32(reach),
        lim,
        np.float32(far),
        out,
    )


@numba.njit(cache=True, nogil=True)
def _pairwise_sum(a, lo, n, part):
    """NumPy's float32 ``add.reduce`` of ``a[lo:lo + n]``, in its order: blocks of up to
    128 terms summed in 8 strands (``part``: scratch), larger runs halved recursively."""
    if n < 8:
        res = np.float32(-0.0)
        for i in range(lo, lo + n):
            res += a[i]
        return res
    if n <= 128:
        part[:] = a[lo : lo + 8]
        i = 8
        while i < n - n % 8:
            for j in range(8):
                part[j] += a[lo + i + j]
            i += 8
        res = ((part[0] + part[1]) + (part[2] + part[3])) + (
            (part[4] + part[5]) + (part[6] + part[7])
        )
        while i < n:
            res += a[lo + i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise_sum(a, lo, n2, part) + _pairwise_sum(a, lo + n2, n - n2, part)


@numba.njit(inline="always")
def _dist(rel, r, k, t):
    return np.hypot(rel[r, k, t, 0], rel[r, k, t, 1])


@numba.njit(inline="always")
def _clip(x, lim):
    return np.float32(min(max(x, -lim), lim))


@numba.njit(cache=True, nogil=True)
def _kernel(rel, n_cand, lo_, hi_, hz, reach, lim, far, out):
    R, K, H, _ = rel.shape
    d = np.empty(H, np.float32)
    d0 = np.empty(H, np.float32)
    d_min = np.empty(K, np.float32)
    part = np.empty(8, np.float32)
    for r in range(R):
        n, lo, hi = n_cand[r], lo_[r], hi_[r]
        if n <= 0:
            continue
        span = max(1, hi - lo)
        pre = max(0, lo - hz)
        mid_t = (lo + hi - 1) // 2
        for k in range(n):
            n_seen = 0
            near = 0
            best = np.float32(np.inf)
            for t in range(lo, hi):
                d[t] = _dist(rel, r, k, t)
                d0[t] = np.float32(0.0) if np.isnan(d[t]) else d[t]
                if not np.isnan(d[t]):
                    n_seen += 1
                    best = min(best, d[t])
                    if d[t] < reach:
                        near += 1
            last_away = -1  # last tick up to the end out of reach,
            for t in range(hi - 1, -1, -1):  # walked back: it is seldom far
                dt = d[t] if t >= lo else _dist(rel, r, k, t)
                if (far if np.isnan(dt) else dt) >= reach:
                    last_away = t
                    break
            d_now = _dist(rel, r, k, H - 1)
            d_pre = d[pre] if pre >= lo else _dist(rel, r, k, pre)
            f = out[r, k]
            d_min[k] = best if n_seen > 0 else far
            f[0] = _clip(d_min[k], lim)
            if n_seen > 0:
                f[1] = _clip(np.float64(_pairwise_sum(d0, lo, hi - lo, part)) / n_seen, lim)
            else:
                f[1] = _clip(far, lim)
            f[2] = _clip(far if np.isnan(d[lo]) else d[lo], lim)
            f[3] = _clip(far if np.isnan(d[hi - 1]) else d[hi - 1], lim)
            f[4] = _clip(far if np.isnan(d_now) else d_now, lim)
            leave = d_now - d[hi - 1]
            f[5] = 0.0 if np.isnan(leave) else _clip(leave, lim)
            f[6] = _clip((hi - 1 - last_away) / hz, lim)
            f[7] = _clip(near / span, lim)
            f[8] = _clip(n_seen / span, lim)
            approach = (d_pre - d[lo]) * np.float32(hz) / np.float32(max(1, lo - pre))
            f[9] = 0.0 if np.isnan(approach) else _clip(approach, lim)
        low = np.float32(np.inf)
        for k in range(n):
            low = min(low, d_min[k])
        for k in range(n):
            out[r, k, 10] = _clip(d_min[k] - low, lim)
            x, y = rel[r, k, mid_t, 0], rel[r, k, mid_t, 1]
            crowd = -1
            for j in range(n):
                if np.hypot(x - rel[r, j, mid_t, 0], y - rel[r, j, mid_t, 1]) < 1.0:
                    crowd += 1
            out[r, k, 11] = max(crowd, 0)
