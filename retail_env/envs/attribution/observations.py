"""Pluggable observations of the attribution task (highway-env style ``{"type": ...}``).

``features`` (default): engineered event and per-candidate trajectory features.
``features_context``: ``features`` plus ``context`` (K, C): each candidate against the
event's other candidates and the concurrent events (``context_features.py``).
``raw``: the plate's and its neighbours' weight streams and the candidate tracks'
raw positions, so sensor-fusion models can learn from the signals themselves.
``features_raw``: ``features_context`` and ``raw``'s signals together (the set policy
reads each candidate's track beside its features).
Both are flat Dicts of float32 Boxes (SB3 ``MultiInputPolicy``);
:class:`FlattenAttributionObs` turns either into one vector for MLP policies.
Every value is clipped into its Box, so observations always lie in the space.
"""

from __future__ import annotations

import abc
import itertools
from typing import TYPE_CHECKING, NamedTuple, cast

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from retail_env.envs.attribution.context_features import (
    CONTEXT_FEATURES,
    CONTEXT_WINDOW_S,
    context_rows,
)
from retail_env.envs.attribution.core import AttributionCore, EventRecord
from retail_env.envs.attribution.receipt_kernel import receipt_row
from retail_env.envs.attribution.track_features import N_TRACK_FEATURES, track_features

if TYPE_CHECKING:
    from retail_env.bank.core import BankCore

LIM = 10.0  # features are scaled to about [-LIM, LIM] and clipped there
FAR_M = 10.0  # distance reported for a track not seen in a window

EVENT_FEATURES = (
    "dw_kg",  # weight change (negative = removed: a pick)
    "is_putback",  # 1 if weight was added
    "qty_est",  # |dw| / unit weight of the plate's believed product
    "qty_residual",  # distance of qty_est from the nearest integer (look-alike, wrong item)
    "qty_zero",  # 1 if the estimate rounds to 0 items (touch, noise)
    "duration_s",  # detector segment length
    "unit_weight_kg",  # believed product's unit weight
    "weight_cv",  # its unit-weight spread / weight (variable-weight produce)
    "price_rel",  # its price / the dearest product's
    "lookalike",  # 1 if an equal-weight look-alike exists
    "plate_x",
    "plate_y",  # where the plate is, as a share of the store's width / depth
    "endcap",  # 1 for an end-cap display plate
    "time_frac",  # store time / opening span (> 1 after closing)
    "closed",  # 1 once the entry gate has closed
    "n_candidates",  # valid candidates / K
    "queue_len",  # other events waiting for a decision
    "shelf_events",  # other events on the same shelf within 2 s (queued or decided)
    "neighbor_dw_ratio",  # largest |dw| on a neighbour plate within 1 s / this |dw| (crosstalk)
    "undoes_recent",  # 1 if an opposite, equal-size event hit this plate in the last 5 s
    "review_credit",  # reviews the budget allows now (capped at LIM)
    "review_available",  # 1 if a review would be accepted
    "review_rate",  # reviews / decisions so far
)

CANDIDATE_FEATURES = (
    "d_min_m",  # closest approach to the plate's access point during the event
    "d_mean_m",  # mean distance during the event
    "d_start_m",  # distance at the event start
    "d_end_m",  # distance at the event end
    "d_now_m",  # distance now, decision_delay_s after detection
    "leave_m",  # d_now - d_end: how far it walked away after the event (0 if unseen)
    "stay_s",  # time spent within arm's reach without a break up to the event end
    "dwell",  # share of the event spent within arm's reach
    "visible",  # share of the event the track was seen
    "approach_mps",  # closing speed over the second before the event
    "gap_to_best_m",  # d_min minus the best candidate's d_min
    "crowd",  # other candidates within 1 m of this one mid-event
    "has_account",  # 1 if the entry gate bound an account to the track
    "receipt_items",  # items already charged to its account / 10
    "holds_product",  # believed product on its receipt (items / 5)
    "busy_elsewhere",  # 1 if it is the nearest track of a concurrent event on another plate
)

CF_RECEIPT = slice(
    CANDIDATE_FEATURES.index("receipt_items"), CANDIDATE_FEATURES.index("holds_product") + 1
)
CF_BUSY = CANDIDATE_FEATURES.index("busy_elsewhere")
EV_REVIEW = slice(EVENT_FEATURES.index("review_credit"), len(EVENT_FEATURES))  # the last three


def concurrent_events(core: AttributionCore, b: int, rec: EventRecord, within_s: float):
    """Other events (queued or recently decided) overlapping ``rec`` within ``within_s``."""
    pad = int(within_s * core.hz)
    lo, hi = rec.t_start - pad, rec.t_end + pad
    # The queue after its head (read-out events only), then the decided events. Those
    # were decided in detection order and end by their detection, so the walk back
    # from the newest stops at the first detected before ``lo``.
    queued = [
        r
        for r in itertools.islice(core.queues[b], 1, None)
        if r.t_start <= hi and r.t_end >= lo and r is not rec and r.n_cand >= 0
    ]
    decided = []
    for r, _ in reversed(core.recent[b]):
        if r.t_detect < lo:
            break
        if r.t_start <= hi and r.t_end >= lo and r is not rec and r.n_cand >= 0:
            decided.append(r)
    decided.reverse()
    return queued + decided


class Around(NamedTuple):
    """What the features take from the events around one (see EVENT_FEATURES)."""

    neighbor_dw: float  # largest |dw| on a neighbour plate within 1 s
    undone: bool  # an opposite, equal-size event hit this plate in the last 5 s
    same_shelf: int  # events on the same shelf within 2 s
    busy_tracks: set[int]  # nearest tracks of events on other plates within 2 s


def around(core: AttributionCore, b: int, rec: EventRecord) -> Around:
    """Both feature sets' view of the events around ``rec``, in one walk of those within
    5 s (the queue, which may be long in a vector env, is walked once per observation)."""
    pad2, pad1 = int(2.0 * core.hz), int(1.0 * core.hz)
    shelf, nbr = core.sim.plate_shelf, core.sim.nbr_sets[rec.plate]
    nb_dw, undone, same, busy = 0.0, False, 0, set()
    for r in concurrent_events(core, b, rec, 5.0):
        if r.t_start <= rec.t_end + pad2 and r.t_end >= rec.t_start - pad2:
            same += shelf[r.plate] == shelf[rec.plate]
            if r.plate != rec.plate and r.n_cand > 0:
                busy.add(int(r.cand_track[0]))
            if r.t_start <= rec.t_end + pad1 and r.t_end >= rec.t_start - pad1 and r.plate in nbr:
                nb_dw = max(nb_dw, abs(r.dw))
        undone = undone or (
            r.plate == rec.plate
            and r.t_end <= rec.t_start
            and _sign(r.dw) != _sign(rec.dw)
            and abs(r.dw + rec.dw) < 0.15 * abs(rec.dw)
        )
    return Around(nb_dw, undone, same, busy)


def candidate_features(core: AttributionCore, b: int, rec: EventRecord) -> np.ndarray:
    """(K, F) candidate features; rows past ``rec.n_cand`` are 0."""
    return candidate_rows(core, [b], [rec])[0]


def event_features(core: AttributionCore, b: int, rec: EventRecord) -> np.ndarray:
    """(E,) event features (see EVENT_FEATURES)."""
    return event_rows(core, [b], [rec])[0]


def candidate_rows(
    core: AttributionCore,
    stores: list[int],
    recs: list[EventRecord],
    near: list[Around] | None = None,
) -> np.ndarray:
    """(R, K, F) candidate features of events ``recs`` of ``stores``: the trajectory
    features in one compiled pass over all of them (``track_features.py``; a vector env
    observes every store at once), the receipt look-ups as array ops, the concurrent
    events in Python per event. Rows past each ``n_cand`` are 0."""
    K = core.K
    out = np.zeros((len(recs), K, len(CANDIDATE_FEATURES)), np.float32)
    sel = [i for i, r in enumerate(recs) if r.n_cand > 0]
    if not sel:
        return out
    rs = [recs[i] for i in sel]
    n = [r.n_cand for r in rs]
    track_features(
        np.stack([r.cand_rel for r in recs]),
        [r.n_cand for r in recs],
        [r.lo for r in recs],
        [r.hi for r in recs],
        core.hz,
        core.cfg.reach_m,
        LIM,
        FAR_M,
        out,
    )
    valid = np.arange(K) < np.array(n)[:, None]  # (R, K)
    acc = np.array([r.cand_account for r in rs])
    near = near or [around(core, b, rec) for b, rec in zip(stores, recs, strict=True)]
    busy = np.zeros((len(sel), K), np.float32)
    for j, i in enumerate(sel):
        if near[i].busy_tracks:
            busy[j] = busy_elsewhere(recs[i], near[i].busy_tracks)
    f = np.stack([acc >= 0, busy], axis=2)
    out[sel, :, N_TRACK_FEATURES] = np.where(valid, f[..., 0], 0.0)
    out[sel, :, CF_BUSY] = np.where(valid, f[..., 1], 0.0)
    out[sel, :, CF_RECEIPT] = receipt_columns(core, [stores[i] for i in sel], rs)
    return out


def receipt_columns(core: AttributionCore, stores: list[int], recs: list) -> np.ndarray:
    """(R, K, 2) ``receipt_items`` and ``holds_product`` of events ``recs`` of ``stores``:
    the candidate features that depend on earlier decisions (so a bank replay computes
    them live, with this same function); rows past each ``n_cand`` are 0."""
    out = np.zeros((len(recs), core.K, 2))
    for i, (b, r) in enumerate(zip(stores, recs, strict=True)):
        if r.n_cand > 0:
            receipt_row(core.ledgers[b].charged, r.cand_account, r.n_cand, r.product, LIM, out[i])
    return out


def review_columns(core: AttributionCore, stores: list[int]) -> np.ndarray:
    """(R, 3) ``review_credit``, ``review_available``, ``review_rate`` of ``stores``: the
    event features that depend on earlier decisions."""
    return review_cols(
        core.credit[stores],
        np.array([core.stats[b]["reviews"] for b in stores]),
        np.array([core.stats[b]["decisions"] for b in stores]),
    )


def review_cols(credit: np.ndarray, reviews: np.ndarray, decisions: np.ndarray) -> np.ndarray:
    """``review_columns`` from arrays of credit, reviews and decisions (the bank's replay)."""
    rate = reviews / np.maximum(1, decisions)
    f = np.stack([np.minimum(credit, LIM), credit >= 1.0, rate], axis=1, dtype=np.float64)
    return np.clip(f, -LIM, LIM)


def busy_elsewhere(rec: EventRecord, nearest: set[int]) -> list[bool]:
    """Which of the K candidates is the nearest track of a concurrent event on another plate."""
    return [k < rec.n_cand and t in nearest for k, t in enumerate(rec.cand_track.tolist())]


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def event_rows(
    core: AttributionCore,
    stores: list[int],
    recs: list[EventRecord],
    near: list[Around] | None = None,
) -> np.ndarray:
    """(R, E) event features of events ``recs`` of ``stores`` (see EVENT_FEATURES): the
    concurrent-event counts in Python per event, the rest as array ops over all."""
    cat, lay = core.catalog, core.sim.params.layout
    near = near or [around(core, b, rec) for b, rec in zip(stores, recs, strict=True)]
    ctx = []
    for b, rec, ar in zip(stores, recs, near, strict=True):
        ctx.append(
            (
                rec.dw,
                rec.product,
                rec.plate,
                rec.t_end - rec.t_start,
                rec.t_detect,
                bool(core.closed[b]),
                rec.n_cand / core.K,
                len(core.queues[b]) - 1,
                ar.same_shelf,
                ar.neighbor_dw / max(abs(rec.dw), 1e-3),
                ar.undone,
            )
        )
    dw, p, plate, dur, t_detect, closed, cand, queue, same, nb, undo = (
        np.array(c) for c in zip(*ctx, strict=True)
    )
    uw = core.unit_w[p]
    q = np.abs(dw) / uw
    H, W = lay.shape
    f = np.stack(
        [
            dw,
            dw > 0,
            q,
            np.abs(q - np.rint(q)),
            np.rint(q) == 0,
            dur / core.hz,
            uw,
            cat.weight_sd[p] / uw,
            cat.price[p] / cat.price.max(),
            cat.lookalike[p] >= 0,
            core.plate_xy[plate, 0] / (W * lay.cell_m),
            core.plate_xy[plate, 1] / (H * lay.cell_m),
            lay.plate_endcap[plate],
            t_detect / max(1, core.end_tick),
            closed,
            cand,
            queue,
            same,
            nb,
            undo,
        ],
        axis=1,
        dtype=np.float64,
    )
    return np.concatenate([np.clip(f, -LIM, LIM), review_columns(core, stores)], axis=1).astype(
        np.float32
    )


def _box(*shape: int, lo: float = -LIM, hi: float = LIM) -> spaces.Box:
    return spaces.Box(lo, hi, shape=shape, dtype=np.float32)


class ObservationType(abc.ABC):
    """Builds the observations of stores' head events; blank rows where nothing is left."""

    def __init__(self, core: AttributionCore):
        self.core = core
        spaces = self.space().spaces
        self.shapes: dict[str, tuple[int, ...]] = {k: s.shape for k, s in spaces.items()}  # pyright: ignore[reportAttributeAccessIssue]  (Boxes: shape is set)

    @abc.abstractmethod
    def space(self) -> spaces.Dict:
        """The observation space (a flat Dict of float32 Boxes)."""

    @abc.abstractmethod
    def rows(self, stores: list[int], recs: list[EventRecord]) -> dict[str, np.ndarray]:
        """The observations of head events ``recs`` of ``stores``, one row each."""

    def observe_many(self, stores: list[int]) -> dict[str, np.ndarray]:
        """The observations of the given stores' head events, one row each (blank if none):
        built as one batch, so a vector env pays per batch, not per store."""
        out = {k: np.zeros((len(stores), *s), np.float32) for k, s in self.shapes.items()}
        heads = [self.core.head(b) for b in stores]
        idx = [i for i, rec in enumerate(heads) if rec is not None]
        if idx:
            recs = cast("list[EventRecord]", [heads[i] for i in idx])
            for k, v in self.rows([stores[i] for i in idx], recs).items():
                out[k][idx] = v
        return out

    def observe(self, b: int) -> dict[str, np.ndarray]:
        """The observation of store ``b``'s head event."""
        return {k: v[0] for k, v in self.observe_many([b]).items()}

    def blank(self) -> dict[str, np.ndarray]:
        return {k: np.zeros(s, np.float32) for k, s in self.shapes.items()}

    def mask(self, recs: list[EventRecord]) -> np.ndarray:
        return (np.arange(self.core.K) < np.array([r.n_cand for r in recs])[:, None]).astype(
            np.float32
        )


class FeaturesObservation(ObservationType):
    """Keys: ``event`` (E,), ``candidates`` (K, F), ``mask`` (K,)."""

    def space(self) -> spaces.Dict:
        K = self.core.K
        return spaces.Dict(
            {
                "event": _box(len(EVENT_FEATURES)),
                "candidates": _box(K, len(CANDIDATE_FEATURES)),
                "mask": _box(K, lo=0.0, hi=1.0),
            }
        )

    def rows(self, stores, recs):
        near = [around(self.core, b, rec) for b, rec in zip(stores, recs, strict=True)]
        return {
            "event": event_rows(self.core, stores, recs, near),
            "candidates": candidate_rows(self.core, stores, recs, near),
            "mask": self.mask(recs),
        }


class FeaturesContextObservation(FeaturesObservation):
    """``features`` plus ``context`` (K, C): see CONTEXT_FEATURES."""

    def space(self) -> spaces.Dict:
        return spaces.Dict(
            {**super().space().spaces, "context": _box(self.core.K, len(CONTEXT_FEATURES))}
        )

    def rows(self, stores, recs):
        out = super().rows(stores, recs)
        out["context"] = context_columns(self.core, stores, recs, out["candidates"])
        return out


def context_columns(
    core: AttributionCore, stores: list[int], recs: list[EventRecord], candidates: np.ndarray
) -> np.ndarray:
    """(R, K, C) context features of events ``recs`` of ``stores`` whose candidate features
    are ``candidates`` (only their action-independent trajectory columns are read)."""
    others = [
        concurrent_events(core, b, rec, CONTEXT_WINDOW_S)
        for b, rec in zip(stores, recs, strict=True)
    ]
    return context_rows(candidates, recs, others, core.hz, core.cfg.reach_m, LIM, FAR_M)


RAW_EVENT = (
    "dw_kg",
    "duration_s",
    "start_offset",
    "end_offset",
    "unit_weight_kg",
    "plate_x",
    "plate_y",
    "review_credit",
    "review_available",
    "time_frac",
)
RAW_REVIEW = slice(RAW_EVENT.index("review_credit"), RAW_EVENT.index("review_available") + 1)


class RawObservation(ObservationType):
    """Keys: ``weights`` (3, T) plate/left/right per-tick readings relative to the window's
    first (kg); ``tracks`` (K, T, 2) candidate positions relative to the plate (m, 0 where
    unseen); ``track_seen`` (K, T); ``event`` (RAW_EVENT); ``mask`` (K,)."""

    def __init__(self, core: AttributionCore):
        self.T = min(core.cfg.observation.raw_ticks, core.sim.hist_ticks)
        super().__init__(core)

    def space(self) -> spaces.Dict:
        K, T = self.core.K, self.T
        return spaces.Dict(
            {
                "weights": _box(3, T, lo=-2 * LIM, hi=2 * LIM),
                "tracks": _box(K, T, 2, lo=-4 * LIM, hi=4 * LIM),
                "track_seen": _box(K, T, lo=0.0, hi=1.0),
                "event": _box(len(RAW_EVENT)),
                "mask": _box(K, lo=0.0, hi=1.0),
            }
        )

    def rows(self, stores, recs):
        core, T = self.core, self.T
        H = recs[0].cand_rel.shape[1]
        w = np.stack([r.weights for r in recs])[:, :, H - T :]
        tracks = np.stack([r.cand_rel for r in recs])[:, :, H - T :]
        seen = ~np.isnan(tracks[..., 0])
        H_, W_ = core.sim.params.layout.shape
        size = np.array([W_, H_]) * core.sim.params.layout.cell_m
        credit = core.credit[stores]
        col = [
            np.array(c)
            for c in zip(
                *(
                    (r.dw, r.t_end - r.t_start, r.lo, r.hi, r.product, r.plate, r.t_detect)
                    for r in recs
                ),
                strict=True,
            )
        ]
        dw, dur, lo, hi, p, plate, t_detect = col
        xy = core.plate_xy[plate] / size
        ev = np.stack(
            [
                dw,
                dur / core.hz,
                (lo - (H - T)) / T,
                (hi - (H - T)) / T,
                core.unit_w[p],
                xy[:, 0],
                xy[:, 1],
                np.minimum(credit, LIM),
                credit >= 1.0,
                t_detect / max(1, core.end_tick),
            ],
            axis=1,
            dtype=np.float64,
        )
        return {
            "weights": np.clip(w - w[:, :, :1], -2 * LIM, 2 * LIM),
            "tracks": np.clip(np.where(seen[..., None], tracks, 0.0), -4 * LIM, 4 * LIM),
            "track_seen": seen,
            "event": np.clip(ev, -LIM, LIM),
            "mask": self.mask(recs),
        }


RAW_KEYS = {"weights": "weights", "tracks": "tracks", "track_seen": "track_seen", "event": "window"}


def raw_part(raw: dict) -> dict:
    """What ``features_raw`` takes of a ``raw`` observation (or space), under its names."""
    return {new: raw[old] for old, new in RAW_KEYS.items()}


class FeaturesRawObservation(FeaturesContextObservation):
    """``features_context`` plus ``raw``'s ``weights``, ``tracks`` and ``track_seen``, and
    its ``event`` as ``window`` (where the event lies in the window): the candidates'
    whole tracks tell apart shoppers whose summary features look alike (docs/learners.md)."""

    raw_type: type[RawObservation] = RawObservation

    def __init__(self, core: AttributionCore):
        self.raw = self.raw_type(core)
        super().__init__(core)

    def space(self) -> spaces.Dict:
        return spaces.Dict({**super().space().spaces, **raw_part(self.raw.space().spaces)})

    def rows(self, stores, recs):
        return {**super().rows(stores, recs), **raw_part(self.raw.rows(stores, recs))}


def banked_features(
    core,
    stores: np.ndarray,
    out: dict[str, np.ndarray] | None = None,
    rows: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """``features`` of the head events of ``stores`` of a bank replay
    (``retail_env.bank.core.BankCore``; a finished store's row is blank): the banked rows,
    with the decision-dependent columns computed from the replay's arrays as the live
    functions compute them (``review_columns``, ``receipt_row``), for all stores at once
    in one compiled call. Written into rows ``rows`` of ``out`` when given (the vector
    env's buffers), else into new arrays."""
    from retail_env.bank.heads import features_into

    stores = np.asarray(stores, np.int64)
    if out is None:
        R, K = len(stores), core.K
        out = {
            "event": np.zeros((R, len(EVENT_FEATURES)), np.float32),
            "candidates": np.zeros((R, K, len(CANDIDATE_FEATURES)), np.float32),
            "mask": np.zeros((R, K), np.float32),
        }
        rows = np.arange(R)
    buf = core.buf
    features_into(
        stores,
        rows,
        core.pos,
        core.n,
        buf["event"],
        buf["candidates"],
        buf["n_cand"],
        buf["cand_account"],
        buf["product"],
        core.charged,
        core.credit,
        core.stat,
        LIM,
        EV_REVIEW.start,
        CF_RECEIPT.start,
        out["event"],
        out["candidates"],
        out["mask"],
    )
    return out


def banked_row(core, b: int) -> dict[str, np.ndarray]:
    """``banked_features`` of one store, in scalars (the single env's step: NumPy's
    per-call cost would dominate); the same numbers (tested against the live env)."""
    K, d = core.K, int(core.pos[b])
    ev = core.buf["event"][b, d].copy()
    credit, reviews, decisions = float(core.credit[b]), core.stat[b, 1], core.stat[b, 0]
    ev[EV_REVIEW] = (min(credit, LIM), float(credit >= 1.0), min(reviews / max(1, decisions), LIM))
    cand = core.buf["candidates"][b, d].copy()
    n = int(core.buf["n_cand"][b, d])
    if n:
        out = np.zeros((K, 2))
        receipt_row(
            core.charged[b],
            core.buf["cand_account"][b, d],
            n,
            int(core.buf["product"][b, d]),
            LIM,
            out,
        )
        cand[:, CF_RECEIPT] = out
    mask = np.zeros(K, np.float32)
    mask[:n] = 1.0
    return {"event": ev, "candidates": cand, "mask": mask}


if TYPE_CHECKING:  # what the mixin extends (object at run time)
    _ObservationBase = ObservationType
else:
    _ObservationBase = object


class _Banked(_ObservationBase):
    """Observations of a bank replay: built for every store at once from the replay's
    slot buffers (no event record is made)."""

    core: BankCore
    if TYPE_CHECKING:

        def banked_rows(self, stores: np.ndarray) -> dict[str, np.ndarray]: ...

    def observe_many(self, stores: list[int] | np.ndarray) -> dict[str, np.ndarray]:
        if (
            len(stores) == 1
            and isinstance(self, BankFeaturesObservation)
            and self.core.pos[stores[0]] < self.core.n[stores[0]]
        ):
            return {k: v[None] for k, v in banked_row(self.core, int(stores[0])).items()}
        stores = np.asarray(stores, np.int64)
        out = {k: np.zeros((len(stores), *s), np.float32) for k, s in self.shapes.items()}
        live = np.flatnonzero(self.core.pos[stores] < self.core.n[stores])
        if len(live):
            for k, v in self.banked_rows(stores[live]).items():
                out[k][live] = v
        return out

    def rows(self, stores, recs):
        return self.banked_rows(np.asarray(stores, np.int64))


class BankFeaturesObservation(_Banked, FeaturesObservation):
    """``features`` replayed from a bank."""

    def banked_rows(self, stores: np.ndarray) -> dict[str, np.ndarray]:
        return banked_features(self.core, stores)

    def observe_into(self, stores: np.ndarray, buf: dict[str, np.ndarray]) -> None:
        """Refresh rows ``stores`` of the vector env's buffers ``buf`` (blank if finished)."""
        banked_features(self.core, stores, buf, stores)


class BankFeaturesContextObservation(_Banked, FeaturesContextObservation):
    """``features_context`` replayed from a bank (its stored context columns)."""

    def banked_rows(self, stores: np.ndarray) -> dict[str, np.ndarray]:
        return banked_context(self.core, stores)


def banked_context(core: BankCore, stores: np.ndarray) -> dict[str, np.ndarray]:
    """``features_context`` rows of ``stores`` from the bank's columns."""
    out = banked_features(core, stores)
    out["context"] = core.buf["context"][stores, core.pos[stores]]
    return out


class BankRawObservation(_Banked, RawObservation):
    """``raw`` replayed from a bank (its raw column group)."""

    def banked_rows(self, stores: np.ndarray) -> dict[str, np.ndarray]:
        core, R = self.core, len(stores)
        d = core.pos[stores]
        out = {
            k: core.raw_buf[k][stores, d].reshape(R, *self.shapes[k])
            for k in ("weights", "tracks", "track_seen", "event")
        }
        credit = core.credit[stores]
        out["event"][:, RAW_REVIEW] = np.clip(
            np.stack([np.minimum(credit, LIM), credit >= 1.0], axis=1, dtype=np.float64), -LIM, LIM
        )
        out["mask"] = (np.arange(core.K) < core.buf["n_cand"][stores, d][:, None]).astype(
            np.float32
        )
        return out


class BankFeaturesRawObservation(_Banked, FeaturesRawObservation):
    """``features_raw`` replayed from a bank (its context columns and raw group)."""

    raw_type = BankRawObservation

    def banked_rows(self, stores: np.ndarray) -> dict[str, np.ndarray]:
        raw = cast(BankRawObservation, self.raw).banked_rows(stores)
        return {**banked_context(self.core, stores), **raw_part(raw)}


OBSERVATION_TYPES: dict[str, type[ObservationType]] = {
    "features": FeaturesObservation,
    "features_context": FeaturesContextObservation,
    "raw": RawObservation,
    "features_raw": FeaturesRawObservation,
}
BANK_OBSERVATION_TYPES: dict[str, type[ObservationType]] = {
    "features": BankFeaturesObservation,
    "features_context": BankFeaturesContextObservation,
    "raw": BankRawObservation,
    "features_raw": BankFeaturesRawObservation,
}


def observation_factory(core: AttributionCore) -> ObservationType:
    """The observation type named by ``core.cfg.observation.type`` (its bank replay for a
    banked core)."""
    types = OBSERVATION_TYPES if getattr(core, "bank", None) is None else BANK_OBSERVATION_TYPES
    return types[core.cfg.observation.type](core)


def event_view(core: AttributionCore, b: int, rec) -> tuple[np.ndarray, np.ndarray]:
    """(event features, candidate features) of event ``rec`` of store ``b`` now, live or
    banked (what the heuristic baselines read, whatever the observation type)."""
    if getattr(core, "bank", None) is not None:
        rows = banked_features(core, np.array([b]))
        return rows["event"][0], rows["candidates"][0]
    return event_features(core, b, rec), candidate_features(core, b, rec)


def neighbour_views(core: AttributionCore, b: int, rec, within_s: float) -> list[tuple]:
    """The events concurrent with ``rec`` within ``within_s`` (``concurrent_events``), each
    as (event, its candidate features now), live or banked."""
    if getattr(core, "bank", None) is not None:
        return cast("BankCore", core).neighbours(b, rec, within_s)
    return [(r, candidate_features(core, b, r)) for r in concurrent_events(core, b, rec, within_s)]


class FlattenAttributionObs(gym.ObservationWrapper):
    """One float32 vector (keys in the Dict's order) for MLP policies."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.observation_space = spaces.flatten_space(env.observation_space)

    def observation(self, observation):
        return spaces.flatten(self.env.observation_space, observation).astype(np.float32)  # pyright: ignore[reportAttributeAccessIssue]  (a Dict of Boxes flattens to an array)
