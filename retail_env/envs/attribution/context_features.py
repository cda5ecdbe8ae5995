"""Per-candidate context features: each candidate against the event's other candidates and
against the events happening at the same time (the ``features_context`` observation).

The ``features`` observation describes every candidate on its own (plus one bit,
``busy_elsewhere``). What separates two shoppers at one shelf is often relational: who
is nearest and by how much, and whether the nearest track is the one that another
event, on another plate at the same moment, needs (two events at once are two hands;
the Hungarian baseline assigns them jointly). These columns give a learner that view.

Everything here comes from the event records themselves (the candidates' positions
stored at their read-out), never from live state: the concurrent events are those
``observations.concurrent_events`` returns, which a vector env shows ``as_of`` the
decision tick, so the columns are the same in the single env, the vector env and an
episode bank (which stores them; tests/test_context_features.py).
"""

from __future__ import annotations

import numpy as np

from retail_env.envs.attribution.track_features import N_TRACK_FEATURES, track_features

CONTEXT_WINDOW_S = 2.0  # events overlapping the decided one within this are concurrent

CONTEXT_FEATURES = (
    "d_min_rank",  # rank of its closest approach among the event's candidates / K
    "d_min_lead_m",  # nearest other candidate's d_min minus its own (> 0: it is nearest)
    "dwell_lead",  # its dwell share minus the largest other candidate's
    "other_events",  # concurrent events (any plate) it is a candidate of
    "other_nearest",  # concurrent events where it is the nearest candidate
    "other_same_plate",  # 1 if it is the nearest candidate of a concurrent event on this plate
    "other_d_min_m",  # its closest approach in any concurrent event (FAR if none)
    "other_lead_m",  # its largest d_min lead in a concurrent event (-FAR if none)
    "other_dwell",  # its largest dwell share in a concurrent event (0 if none)
    "d_min_vs_other_m",  # its d_min here minus its closest approach elsewhere (FAR if none)
)
D_MIN, DWELL = 0, 7  # columns of observations.CANDIDATE_FEATURES


def _leads(d: np.ndarray, far: float) -> np.ndarray:
    """Each value's margin below the smallest of the others (``far`` when alone)."""
    if len(d) == 1:
        return np.array([far - d[0]])
    order = np.sort(d)
    best_other = np.where(d == order[0], order[1], order[0])
    return best_other - d


def context_rows(
    own: np.ndarray, recs: list, others: list[list], hz: int, reach: float, lim: float, far: float
) -> np.ndarray:
    """(R, K, C) context features of events ``recs`` whose candidate features are ``own``
    (R, K, F); ``others[i]``: the events concurrent with ``recs[i]``. Rows past each
    ``n_cand`` are 0."""
    R, K = own.shape[:2]
    out = np.zeros((R, K, len(CONTEXT_FEATURES)), np.float32)
    seen: dict[int, int] = {}
    pool = []
    for group in others:
        for r in group:
            if r.n_cand > 0 and id(r) not in seen:
                seen[id(r)] = len(pool)
                pool.append(r)
    tf = np.zeros((len(pool), K, N_TRACK_FEATURES), np.float32)
    if pool:
        track_features(
            np.stack([r.cand_rel for r in pool]),
            [r.n_cand for r in pool],  # pyright: ignore[reportArgumentType]  (takes array-likes)
            [r.lo for r in pool],  # pyright: ignore[reportArgumentType]
            [r.hi for r in pool],  # pyright: ignore[reportArgumentType]
            hz,
            reach,
            lim,
            far,
            tf,
        )
    for i, rec in enumerate(recs):
        n = rec.n_cand
        if n <= 0:
            continue
        d, dwell = own[i, :n, D_MIN].astype(np.float64), own[i, :n, DWELL].astype(np.float64)
        f = np.zeros((n, len(CONTEXT_FEATURES)))
        f[:, 0] = np.argsort(np.argsort(d, kind="stable"), kind="stable") / K
        f[:, 1] = _leads(d, far)
        f[:, 2] = _leads(-dwell, 0.0)
        f[:, 6], f[:, 7], f[:, 9] = far, -far, far
        tracks = rec.cand_track[:n].tolist()
        for r in others[i]:
            if r.n_cand <= 0:
                continue
            j = seen[id(r)]
            od = tf[j, : r.n_cand, D_MIN].astype(np.float64)
            lead = _leads(od, far)
            where = {t: k for k, t in enumerate(r.cand_track[: r.n_cand].tolist())}
            for k, t in enumerate(tracks):
                m = where.get(t)
                if m is None:
                    continue
                nearest = lead[m] > 0 or (lead[m] == 0 and od.argmin() == m)
                f[k, 3] += 1
                f[k, 4] += nearest
                f[k, 5] = max(f[k, 5], float(nearest and r.plate == rec.plate))
                f[k, 6] = min(f[k, 6], od[m])
                f[k, 7] = max(f[k, 7], lead[m])
                f[k, 8] = max(f[k, 8], float(tf[j, m, DWELL]))
        f[:, 9] = np.where(f[:, 6] < far, d - f[:, 6], far)
        out[i, :n] = np.clip(f, -lim, lim)
    return out
