"""Pluggable observations of the attribution task (highway-env style ``{"type": ...}``).

``features`` (default): engineered event and per-candidate trajectory features.
``raw``: the plate's and its neighbours' weight streams and the candidate tracks'
raw positions, so sensor-fusion models can learn from the signals themselves.
Both are flat Dicts of float32 Boxes (SB3 ``MultiInputPolicy``);
:class:`FlattenAttributionObs` turns either into one vector for MLP policies.
Every value is clipped into its Box, so observations always lie in the space.
"""

from __future__ import annotations

import abc

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from retail_env.envs.attribution_core import AttributionCore, EventRecord

LIM = 10.0        # features are scaled to about [-LIM, LIM] and clipped there
FAR_M = 10.0      # distance reported for a track not seen in a window

EVENT_FEATURES = (
    "dw_kg",              # weight change (negative = removed: a pick)
    "is_putback",         # 1 if weight was added
    "qty_est",            # |dw| / unit weight of the plate's believed product
    "qty_residual",       # distance of qty_est from the nearest integer (look-alike, wrong item)
    "qty_zero",           # 1 if the estimate rounds to 0 items (touch, noise)
    "duration_s",         # detector segment length
    "unit_weight_kg",     # believed product's unit weight
    "weight_cv",          # its unit-weight spread / weight (variable-weight produce)
    "price_rel",          # its price / the dearest product's
    "lookalike",          # 1 if an equal-weight look-alike exists
    "plate_x", "plate_y",  # where the plate is, as a share of the store's width / depth
    "endcap",             # 1 for an end-cap display plate
    "time_frac",          # store time / opening span (> 1 after closing)
    "closed",             # 1 once the entry gate has closed
    "n_candidates",       # valid candidates / K
    "queue_len",          # other events waiting for a decision
    "shelf_events",       # other events on the same shelf within 2 s (queued or decided)
    "neighbor_dw_ratio",  # largest |dw| on a neighbour plate within 1 s / this |dw| (crosstalk)
    "undoes_recent",      # 1 if an opposite, equal-size event hit this plate in the last 5 s
    "review_credit",      # reviews the budget allows now (capped at LIM)
    "review_available",   # 1 if a review would be accepted
    "review_rate",        # reviews / decisions so far
)

CANDIDATE_FEATURES = (
    "d_min_m",            # closest approach to the plate's access point during the event
    "d_mean_m",           # mean distance during the event
    "d_start_m",          # distance at the event start
    "d_end_m",            # distance at the event end
    "d_now_m",            # distance now, decision_delay_s after detection
    "leave_m",            # d_now - d_end: how far it walked away after the event (0 if unseen)
    "stay_s",             # time spent within arm's reach without a break up to the event end
    "dwell",              # share of the event spent within arm's reach
    "visible",            # share of the event the track was seen
    "approach_mps",       # closing speed over the second before the event
    "gap_to_best_m",      # d_min minus the best candidate's d_min
    "crowd",              # other candidates within 1 m of this one mid-event
    "has_account",        # 1 if the entry gate bound an account to the track
    "receipt_items",      # items already charged to its account / 10
    "holds_product",      # believed product on its receipt (items / 5)
    "busy_elsewhere",     # 1 if it is the nearest track of a concurrent event on another plate
)


def _nan_to(x: np.ndarray, v: float) -> np.ndarray:
    return np.where(np.isnan(x), v, x)


def candidate_features(core: AttributionCore, b: int, rec: EventRecord) -> np.ndarray:
    """(K, F) candidate features; rows past ``rec.n_cand`` are 0."""
    K, n = core.K, rec.n_cand
    out = np.zeros((K, len(CANDIDATE_FEATURES)), np.float32)
    if n == 0:
        return out
    d = np.hypot(rec.cand_rel[:n, :, 0], rec.cand_rel[:n, :, 1])  # (n, H), NaN = unseen
    lo, hi = rec.lo, rec.hi + 1
    win = d[:, lo:hi]
    seen = ~np.isnan(win)
    n_seen = seen.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        d_min = np.where(n_seen > 0, np.nanmin(_nan_to(win, np.inf), axis=1), FAR_M)
        d_mean = np.where(n_seen > 0, np.nansum(_nan_to(win, 0.0), axis=1) / np.maximum(n_seen, 1),
                          FAR_M)
    last = _nan_to(d, FAR_M)
    pre = max(0, lo - int(core.hz))
    approach = (_nan_to(d[:, pre], np.nan) - _nan_to(d[:, lo], np.nan)) * core.hz / max(1, lo - pre)
    mid = rec.cand_rel[:n, (lo + hi - 1) // 2]
    pair = np.hypot(mid[:, None, 0] - mid[None, :, 0], mid[:, None, 1] - mid[None, :, 1])
    crowd = (_nan_to(pair, np.inf) < 1.0).sum(1) - 1
    acc = rec.cand_account[:n]
    led = core.ledgers[b]
    safe = np.clip(acc, 0, len(led.seen) - 1)
    items = np.where(acc >= 0, led.charged[safe].clip(0).sum(1), 0)
    holds = np.where(acc >= 0, led.charged[safe, rec.product].clip(0), 0)
    busy = _busy_elsewhere(core, b, rec)[:n]
    near = _nan_to(d[:, :hi], FAR_M) < core.cfg.reach_m
    away = np.flip(~near, axis=1)            # from the event end backwards
    stay = np.where(away.any(1), away.argmax(1), hi) / core.hz
    f = np.stack([d_min, d_mean, last[:, lo], last[:, hi - 1], last[:, -1],
                  _nan_to(d[:, -1] - d[:, hi - 1], 0.0), stay,
                  (win < core.cfg.reach_m).sum(1) / max(1, hi - lo), n_seen / max(1, hi - lo),
                  _nan_to(approach, 0.0), d_min - d_min.min(), np.maximum(crowd, 0),
                  acc >= 0, items / 10.0, holds / 5.0, busy], axis=1)
    out[:n] = np.clip(f, -LIM, LIM)
    return out


def _concurrent(core: AttributionCore, b: int, rec: EventRecord, within_s: float,
                pool: list[EventRecord] | None = None):
    """Other events (queued or recently decided) overlapping ``rec`` within ``within_s``.

    ``pool``: an earlier answer for a wider ``within_s`` to filter (same order), so the
    queue, which may be long in a vector env, is walked once per observation.
    """
    pad = int(within_s * core.hz)
    if pool is None:
        queued = list(core.queues[b])[1:]
        pool = [r for r in queued + [r for r, _ in core.recent[b]] if r is not rec and r.n_cand >= 0]
    return [r for r in pool if r.t_start <= rec.t_end + pad and r.t_end >= rec.t_start - pad]


def _busy_elsewhere(core: AttributionCore, b: int, rec: EventRecord) -> np.ndarray:
    busy = np.zeros(core.K, np.float32)
    for r in _concurrent(core, b, rec, 2.0):
        if r.plate != rec.plate and r.n_cand > 0:
            busy[rec.cand_track == r.cand_track[0]] = 1.0
    busy[rec.n_cand:] = 0.0
    return busy


def event_features(core: AttributionCore, b: int, rec: EventRecord) -> np.ndarray:
    """(E,) event features (see EVENT_FEATURES)."""
    cat, p = core.catalog, rec.product
    uw = core.unit_w[p]
    q = abs(rec.dw) / uw
    st = core.stats[b]
    H, W = core.sim.params.layout.shape
    cell = core.sim.params.layout.cell_m
    shelf = core.sim.params.layout.plate_shelf
    wide = _concurrent(core, b, rec, 5.0)
    conc = _concurrent(core, b, rec, 2.0, wide)
    same_shelf = sum(shelf[r.plate] == shelf[rec.plate] for r in conc)
    nbr = set(int(x) for x in core.sim.nbr[rec.plate] if x >= 0)
    nb_dw = max((abs(r.dw) for r in _concurrent(core, b, rec, 1.0, conc) if r.plate in nbr),
                default=0.0)
    undo = any(r.plate == rec.plate and r.t_end <= rec.t_start and np.sign(r.dw) != np.sign(rec.dw)
               and abs(r.dw + rec.dw) < 0.15 * abs(rec.dw)
               for r in wide)
    credit = core.credit[b]
    f = np.array([
        rec.dw, rec.dw > 0, q, abs(q - np.rint(q)), np.rint(q) == 0,
        (rec.t_end - rec.t_start) / core.hz, uw, cat.weight_sd[p] / uw,
        cat.price[p] / cat.price.max(), cat.lookalike[p] >= 0,
        core.plate_xy[rec.plate, 0] / (W * cell), core.plate_xy[rec.plate, 1] / (H * cell),
        core.sim.params.layout.plate_endcap[rec.plate],
        rec.t_detect / max(1, core.end_tick), bool(core.closed[b]), rec.n_cand / core.K,
        len(core.queues[b]) - 1, same_shelf, nb_dw / max(abs(rec.dw), 1e-3), undo,
        min(credit, LIM), credit >= 1.0, st["reviews"] / max(1, st["decisions"]),
    ], dtype=np.float64)
    return np.clip(f, -LIM, LIM).astype(np.float32)


def _box(*shape: int, lo: float = -LIM, hi: float = LIM) -> spaces.Box:
    return spaces.Box(lo, hi, shape=shape, dtype=np.float32)


class ObservationType(abc.ABC):
    """Builds the observation of a store's head event; ``blank()`` when nothing is left."""

    def __init__(self, core: AttributionCore):
        self.core = core

    @abc.abstractmethod
    def space(self) -> spaces.Dict:
        """The observation space (a flat Dict of float32 Boxes)."""

    @abc.abstractmethod
    def observe(self, b: int) -> dict[str, np.ndarray]:
        """The observation of store ``b``'s head event."""

    def blank(self) -> dict[str, np.ndarray]:
        return {k: np.zeros(s.shape, np.float32) for k, s in self.space().spaces.items()}

    def mask(self, rec: EventRecord) -> np.ndarray:
        m = np.zeros(self.core.K, np.float32)
        m[:rec.n_cand] = 1.0
        return m


class FeaturesObservation(ObservationType):
    """Keys: ``event`` (E,), ``candidates`` (K, F), ``mask`` (K,)."""

    def space(self) -> spaces.Dict:
        K = self.core.K
        return spaces.Dict({"event": _box(len(EVENT_FEATURES)),
                            "candidates": _box(K, len(CANDIDATE_FEATURES)),
                            "mask": _box(K, lo=0.0, hi=1.0)})

    def observe(self, b: int) -> dict[str, np.ndarray]:
        rec = self.core.head(b)
        if rec is None:
            return self.blank()
        return {"event": event_features(self.core, b, rec),
                "candidates": candidate_features(self.core, b, rec), "mask": self.mask(rec)}


RAW_EVENT = ("dw_kg", "duration_s", "start_offset", "end_offset", "unit_weight_kg",
             "plate_x", "plate_y", "review_credit", "review_available", "time_frac")


class RawObservation(ObservationType):
    """Keys: ``weights`` (3, T) plate/left/right per-tick readings relative to the window's
    first (kg); ``tracks`` (K, T, 2) candidate positions relative to the plate (m, 0 where
    unseen); ``track_seen`` (K, T); ``event`` (RAW_EVENT); ``mask`` (K,)."""

    def __init__(self, core: AttributionCore):
        super().__init__(core)
        self.T = min(core.cfg.observation.raw_ticks, core.sim.hist_ticks)

    def space(self) -> spaces.Dict:
        K, T = self.core.K, self.T
        return spaces.Dict({"weights": _box(3, T, lo=-2 * LIM, hi=2 * LIM),
                            "tracks": _box(K, T, 2, lo=-4 * LIM, hi=4 * LIM),
                            "track_seen": _box(K, T, lo=0.0, hi=1.0),
                            "event": _box(len(RAW_EVENT)),
                            "mask": _box(K, lo=0.0, hi=1.0)})

    def observe(self, b: int) -> dict[str, np.ndarray]:
        core, rec, T = self.core, self.core.head(b), self.T
        if rec is None:
            return self.blank()
        H = rec.cand_rel.shape[1]
        w = rec.weights[:, H - T:]
        tracks = rec.cand_rel[:, H - T:]
        seen = ~np.isnan(tracks[..., 0])
        H_, W_ = core.sim.params.layout.shape
        size = np.array([W_, H_]) * core.sim.params.layout.cell_m
        credit = core.credit[b]
        ev = np.array([rec.dw, (rec.t_end - rec.t_start) / core.hz, (rec.lo - (H - T)) / T,
                       (rec.hi - (H - T)) / T, core.unit_w[rec.product],
                       *(core.plate_xy[rec.plate] / size), min(credit, LIM), credit >= 1.0,
                       rec.t_detect / max(1, core.end_tick)])
        return {"weights": np.clip(w - w[:, :1], -2 * LIM, 2 * LIM).astype(np.float32),
                "tracks": np.clip(np.where(seen[..., None], tracks, 0.0), -4 * LIM, 4 * LIM
                                  ).astype(np.float32),
                "track_seen": seen.astype(np.float32),
                "event": np.clip(ev, -LIM, LIM).astype(np.float32), "mask": self.mask(rec)}


OBSERVATION_TYPES: dict[str, type[ObservationType]] = {
    "features": FeaturesObservation, "raw": RawObservation}


def observation_factory(core: AttributionCore) -> ObservationType:
    """The observation type named by ``core.cfg.observation.type``."""
    return OBSERVATION_TYPES[core.cfg.observation.type](core)


class FlattenAttributionObs(gym.ObservationWrapper):
    """One float32 vector (keys in the Dict's order) for MLP policies."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.observation_space = spaces.flatten_space(env.observation_space)

    def observation(self, observation):
        return spaces.flatten(self.env.observation_space, observation).astype(np.float32)
