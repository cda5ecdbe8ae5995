"""The Attribution task's sensor read-out for a batch of events, as one compiled pass.

For each event (store, plate, window of ticks in the sensors' history ring): the K
camera tracks that came nearest the plate during the window (nearest first, ties
by track slot, tracks never seen in the window left out), each with its whole
history relative to the plate, and the per-tick weight stream of the plate and of
its left and right neighbours, each relative to its first value.

Why compiled: one or two events fall due per tick across a batch, and as NumPy the
read-out was a dozen gathers and reductions over (events, tracks, ticks) arrays
per tick, the largest cost of the env's own work. The kernel does the same float32
subtractions and ``hypot`` (libm's, as NumPy's). It looks for a track's nearest
approach on float64 squared distances and takes ``hypot`` there only: libm's float32
``hypot`` is that float64 sum's square root rounded (glibc) and so rises with it,
which makes the minimum the same as over every tick's ``hypot``, at a third of the cost.
"""

from __future__ import annotations

import numba
import numpy as np

from retail_env.sim.sensors import SensorState


def read_events(
    sens: SensorState,
    stores: np.ndarray,
    plates: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    plate_xy: np.ndarray,
    neighbours: np.ndarray,
    k: int,
):
    """Read R events; ``first``/``last`` index the ring's ticks oldest first (0..H-1).

    Returns ``cand_track`` (R, K) slots (-1 = none), ``cand_account`` (R, K) the
    accounts those tracks were bound to, ``cand_rel`` (R, K, H, 2) float32 metres
    from the plate (NaN = not seen or no candidate), ``weights`` (R, 3, H) float32
    kg and ``n_cand`` (R,) candidates found.
    """
    return _read(
        sens.hist_c,
        sens.plate_hist,
        sens.hist_pos,
        sens.track_account,
        np.array([stores, plates, first, last], np.int64).reshape(4, -1),
        plate_xy,
        neighbours,
        k,
    )


@numba.njit(cache=True, nogil=True)
def _read(hist_c, plate_hist, hist_pos, track_account, events, plate_xy, neighbours, K):
    H, _, S = hist_c.shape
    stores, plates, first, last = events
    R = stores.size
    cand_track = np.full((R, K), -1, np.int64)
    cand_account = np.full((R, K), -1, np.int64)
    cand_rel = np.full((R, K, H, 2), np.nan, np.float32)
    weights = np.zeros((R, 3, H), np.float32)
    n_cand = np.zeros(R, np.int64)
    dmin = np.empty(S, np.float32)
    near2 = np.empty(S, np.float64)
    near_t = np.empty(S, np.int64)
    taken = np.zeros(S, np.bool_)
    ring = np.empty(H, np.int64)  # ring row of each tick, oldest first
    for t in range(H):
        ring[t] = (hist_pos + t) % H
    for r in range(R):
        b, p = stores[r], plates[r]
        px, py = plate_xy[p, 0], plate_xy[p, 1]
        near2[:] = np.inf
        near_t[:] = -1
        for t in range(first[r], last[r] + 1):  # a tick's slots lie side by side
            row = hist_c[ring[t], b]
            for s in range(S):
                x = np.float64(row[s].real - px)
                y = np.float64(row[s].imag - py)
                if x * x + y * y < near2[s]:  # NaN (not seen) never counts
                    near2[s] = x * x + y * y
                    near_t[s] = t
        for s in range(S):
            dmin[s] = np.inf
            if near_t[s] >= 0:
                z = hist_c[ring[near_t[s]], b, s]
                dmin[s] = np.hypot(z.real - px, z.imag - py)
            taken[s] = False
        n = 0
        for k in range(min(K, S)):
            best = -1
            for s in range(S):
                if not taken[s] and (best < 0 or dmin[s] < dmin[best]):
                    best = s
            taken[best] = True
            if not np.isfinite(dmin[best]):
                break  # the rest were never seen either
            cand_track[r, k] = best
            cand_account[r, k] = track_account[b, best]
            for t in range(H):
                z = hist_c[ring[t], b, best]
                cand_rel[r, k, t, 0] = z.real - px
                cand_rel[r, k, t, 1] = z.imag - py
            n += 1
        n_cand[r] = n
        for j in range(3):
            q = p if j == 0 else neighbours[p, j - 1]
            if q < 0:
                continue  # no neighbour: zeros
            w0 = plate_hist[ring[0], b, q]
            for t in range(H):
                weights[r, j, t] = plate_hist[ring[t], b, q] - w0
    return cand_track, cand_account, cand_rel, weights, n_cand
