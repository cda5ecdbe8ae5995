"""The Attribution task's sensor read-out for a batch of events, as one compiled pass.

For each event (store, plate, window of ticks in the sensors' history ring): the K
camera tracks that came nearest the plate during the window (nearest first, ties
by track slot, tracks never seen in the window left out), each with its whole
history relative to the plate, and the per-tick weight stream of the plate and of
its left and right neighbours, each relative to its first value.

Why compiled: one or two events fall due per tick across a batch, and as NumPy the
read-out was a dozen gathers and reductions over (events, tracks, ticks) arrays
per tick, the largest cost of the env's own work. The kernel does the same float32
subtractions and ``hypot`` (libm's, as NumPy's) in the same order.
"""

from __future__ import annotations

import numba
import numpy as np

from retail_env.sim.sensors import SensorState


def read_events(sens: SensorState, stores: np.ndarray, plates: np.ndarray, first: np.ndarray,
                last: np.ndarray, plate_xy: np.ndarray, neighbours: np.ndarray, k: int):
    """Read R events; ``first``/``last`` index the ring's ticks oldest first (0..H-1).

    Returns ``cand_track`` (R, K) slots (-1 = none), ``cand_account`` (R, K) the
    accounts those tracks were bound to, ``cand_rel`` (R, K, H, 2) float32 metres
    from the plate (NaN = not seen or no candidate), ``weights`` (R, 3, H) float32
    kg and ``n_cand`` (R,) candidates found.
    """
    R, H = len(stores), sens.hist_c.shape[0]
    cand_track = np.full((R, k), -1, np.int64)
    cand_account = np.full((R, k), -1, np.int64)
    cand_rel = np.full((R, k, H, 2), np.nan, np.float32)
    weights = np.zeros((R, 3, H), np.float32)
    n_cand = np.zeros(R, np.int64)
    _read(sens.hist_c, sens.plate_hist, sens.hist_pos, sens.track_account,
          np.asarray(stores, np.int64), np.asarray(plates, np.int64), np.asarray(first, np.int64),
          np.asarray(last, np.int64), plate_xy, neighbours, cand_track, cand_account, cand_rel,
          weights, n_cand)
    return cand_track, cand_account, cand_rel, weights, n_cand


@numba.njit(cache=True, nogil=True)
def _read(hist_c, plate_hist, hist_pos, track_account, stores, plates, first, last, plate_xy,
          neighbours, cand_track, cand_account, cand_rel, weights, n_cand):
    H, _, S = hist_c.shape
    K = cand_track.shape[1]
    dmin = np.empty(S, np.float32)
    taken = np.zeros(S, np.bool_)
    for r in range(stores.size):
        b, p = stores[r], plates[r]
        px, py = plate_xy[p, 0], plate_xy[p, 1]
        for s in range(S):
            dm = np.float32(np.inf)
            for t in range(first[r], last[r] + 1):
                z = hist_c[(hist_pos + t) % H, b, s]
                d = np.hypot(z.real - px, z.imag - py)
                if d < dm:                      # NaN (not seen) never counts
                    dm = d
            dmin[s] = dm
            taken[s] = False
        n = 0
        for k in range(min(K, S)):
            best = -1
            for s in range(S):
                if not taken[s] and (best < 0 or dmin[s] < dmin[best]):
                    best = s
            taken[best] = True
            if not np.isfinite(dmin[best]):
                break                           # the rest were never seen either
            cand_track[r, k] = best
            cand_account[r, k] = track_account[b, best]
            for t in range(H):
                z = hist_c[(hist_pos + t) % H, b, best]
                cand_rel[r, k, t, 0] = z.real - px
                cand_rel[r, k, t, 1] = z.imag - py
            n += 1
        n_cand[r] = n
        for j in range(3):
            q = p if j == 0 else neighbours[p, j - 1]
            if q < 0:
                continue                        # no neighbour: zeros
            w0 = plate_hist[hist_pos % H, b, q]
            for t in range(H):
                weights[r, j, t] = plate_hist[(hist_pos + t) % H, b, q] - w0
