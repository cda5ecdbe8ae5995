"""Sensors of the store: weight plates with an event detector, and camera tracks.

The store calls :func:`sensor_reset` once and :func:`sensor_step` once per tick
with the truth (plate weights, hand forces, shopper positions); everything the
attribution side may see comes out of here: ``DetectedEvents`` and the camera
tracks in ``SensorState``. Plate physics and the detector live in ``plates.py``,
tracks in ``cameras.py``. Every number below cites its source; [A] = assumption.

Per tick and store, the sensors draw exactly P + S + 1 uniforms (plate noise-bank
offsets, track noise/dropouts, one switch draw), whatever happens in the store.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from retail_env.sim.cameras import NAN_XY, camera_consts, camera_step
from retail_env.sim.plates import detector_consts, detector_step, plate_samples, samples_consts
from retail_env.sim.validation import ConfigError, config, spec


@config
class SensorParams:
    """Weight-plate, detector and camera models; set a magnitude to 0 to switch it off."""

    tick_hz: int = spec(10, 1, 100, doc="store ticks per second (0.1 s ticks by default)")
    # AutoCheckout README: plates sample at 60 Hz.
    plate_hz: int = spec(60, 1, 1000, doc="plate samples per second; a multiple of tick_hz")
    # docs/sources.md#weight-shelves [A]: 1.5 g white noise; AutoCheckout README: noise varies by shelf.
    noise_sd_kg: float = spec(0.0015, 0.0, 1.0, doc="median white-noise sd of a plate")
    noise_shelf_cv: float = spec(0.5, 0.0, 3.0, doc="[A] log-sd of the noise sd between shelves")
    # docs/sources.md#weight-shelves [A]: 0.5 % of samples spike (roger-random 2023, 24 h HX711 log).
    spike_rate: float = spec(0.005, 0.0, 0.2, doc="share of samples with a spike")
    spike_sd_kg: float = spec(0.03, 0.0, 20.0, doc="[A] sd of a spike's amplitude")
    # docs/sources.md#weight-shelves [A]: random walk 2 g/h; AutoCheckout README: absolute weight not zeroed.
    drift_kg_per_sqrt_h: float = spec(0.002, 0.0, 10.0, doc="random-walk drift, kg per sqrt(hour)")
    offset_sd_kg: float = spec(0.5, 0.0, 20.0, doc="[A] sd of each plate's absolute zero offset")
    # HX711 24-bit resolves far below 1 g (SparkFun OpenScale); [A] 1 g display step.
    quant_kg: float = spec(0.001, 0.0, 1.0, doc="quantisation step; 0 = none")
    crosstalk: float = spec(0.1, 0.0, 1.0, doc="[A] share of a neighbour's hand force felt")
    hand_tremor: float = spec(0.15, 0.0, 10.0, doc="[A] noise sd per kg of steady hand force")
    hand_jolt: float = spec(1.0, 0.0, 10.0, doc="[A] noise sd per kg of hand-force change a tick")
    # Zenodo 4300738: event = moving variance > 0.01 kg^2 over 0.5 s.
    window_s: float = spec(0.5, 0.05, 10.0, doc="moving-variance window")
    var_threshold_kg2: float = spec(0.01, 0.0, 100.0, doc="variance that marks a plate active")
    # AutoCheckout WeightTrigger.py: a plate event needs |dw| > 5 g.
    min_dw_kg: float = spec(0.005, 0.0, 20.0, doc="smallest reported weight change")
    stable_hold_s: float = spec(0.2, 0.0, 10.0, doc="[A] quiet time that ends an active segment")
    # [A] 5 s (50 ticks) of history for tracks and per-tick plate means.
    hist_s: float = spec(5.0, 0.1, 600.0, doc="length of the history rings")
    # docs/sources.md#multi-camera-tracking [A]: position error 10 cm, 25 cm under occlusion.
    pos_sd_m: float = spec(0.10, 0.0, 10.0, doc="track position error sd")
    pos_sd_crowded_m: float = spec(0.25, 0.0, 10.0, doc="track position error sd when crowded")
    crowd_n: int = spec(2, 1, 1000, doc="[A] neighbours within crowd_radius_m that occlude")
    pos_tau_s: float = spec(1.0, 0.0, 600.0, doc="[A] correlation time of the position error")
    # docs/sources.md#multi-camera-tracking [A]: miss p = 0.02 + 0.03 x people within 1.5 m (scaled to MOT17).
    crowd_radius_m: float = spec(1.5, 0.0, 100.0, doc="radius for counting neighbours")
    dropout_base: float = spec(0.02, 0.0, 0.99, doc="miss share of a lone track")
    dropout_per_neighbor: float = spec(0.03, 0.0, 0.99, doc="extra miss share per neighbour")
    dropout_max: float = spec(0.9, 0.0, 0.99, doc="[A] cap on the miss share")
    dropout_mean_s: float = spec(0.5, 0.0, 60.0, doc="[A] mean length of a dropout")
    # docs/sources.md#multi-camera-tracking [A]: 0.005 identity switches/s per pair closer than 0.5 m.
    switch_rate_hz: float = spec(
        0.005, 0.0, 100.0, doc="identity switches per second per close pair"
    )
    switch_radius_m: float = spec(0.5, 0.0, 100.0, doc="distance under which a pair is close")
    crowd_every_s: float = spec(0.5, 0.0, 10.0, doc="[A] refresh period of crowding (cost)")

    def __post_init__(self):
        if self.plate_hz % self.tick_hz:
            raise ConfigError(
                f"plate_hz={self.plate_hz!r} is not allowed: must be a multiple "
                f"of tick_hz={self.tick_hz}"
            )
        if self.window_s * self.plate_hz < 2:
            raise ConfigError(f"window_s={self.window_s!r} is too short: must hold >= 2 samples")

    def ticks(self, seconds: float) -> int:
        """A duration in whole ticks (at least 1)."""
        return max(1, round(seconds * self.tick_hz))

    @property
    def drift_step_kg(self) -> float:
        """Random-walk sd per tick."""
        return self.drift_kg_per_sqrt_h * (1.0 / (self.tick_hz * 3600.0)) ** 0.5


@dataclasses.dataclass(frozen=True)
class DetectedEvents:
    """Plate events the detector closed: 1-D arrays, one entry per event.

    t_start: first tick whose 0.5 s window was active; t_end: tick the plate was
    declared stable again (the disturbance ended about one window earlier).
    dw: stable mean after minus before (kg; negative = weight removed).
    """

    store: np.ndarray
    plate: np.ndarray
    t_start: np.ndarray
    t_end: np.ndarray
    dw: np.ndarray
    peak_var: np.ndarray

    def __len__(self) -> int:
        return self.store.size

    @classmethod
    def empty(cls) -> DetectedEvents:
        i, f = np.zeros(0, np.int64), np.zeros(0, np.float32)
        return cls(i, i, i, i, f, f)

    @classmethod
    def concat(cls, parts: list[DetectedEvents]) -> DetectedEvents:
        if not parts:
            return cls.empty()
        return cls(
            *(np.concatenate([getattr(e, f.name) for e in parts]) for f in dataclasses.fields(cls))
        )


def _no_events() -> DetectedEvents:
    ev = DetectedEvents.empty()
    for f in dataclasses.fields(ev):
        getattr(ev, f.name).setflags(write=False)
    return ev


NO_EVENTS = _no_events()  # what most ticks return: one shared record, read-only arrays


@dataclasses.dataclass(eq=False)
class SensorState:
    """All sensor arrays, store axis first; updated in place by :func:`sensor_step`.

    Public: ``samples`` (B,P,k) last tick's raw readings in kg (computed on access
    from ``raw``); ``var`` (B,P) moving variance kg^2; ``active`` (B,P);
    ``plate_hist`` (H,B,P) per-tick mean readings kg (ring); ``track_pos`` (B,S,2) float32
    metres (NaN = dropped or nobody); ``track_body``, ``track_account`` (B,S);
    ``track_hist`` (B,S,H,2); ``hist_pos`` (next slot of both rings); ``n_switches``
    (B,). The rest is model state and constants baked in at reset.
    """

    # plates: raw is (k, B, P) quanta relative to baseline (see plates.py)
    raw: np.ndarray
    plate_hist: np.ndarray
    noise_sd_q: np.ndarray  # per-plate noise sd (quanta)
    zero_rel: np.ndarray  # absolute zero error (offset + drift) minus baseline (kg)
    level: np.ndarray  # noiseless reading at the end of the last tick (quanta)
    prev_force: np.ndarray
    baseline: np.ndarray  # reset-time reading (kg), on the quantisation grid
    # detector
    ring: np.ndarray  # (W, 2, B, P) float32
    sums: np.ndarray  # (2, B, P) float64 running sums over the ring
    var_q: np.ndarray
    active: np.ndarray
    quiet: np.ndarray
    t_start: np.ndarray
    peak_var_q: np.ndarray
    pre_mean: np.ndarray
    mean_ring: np.ndarray  # (W, B, P) float64 window means of the last W ticks
    calm: np.ndarray  # (B, P) ticks since the plate was last active
    ev_idx: np.ndarray  # (B*P,) scratch: flat plate index of each ended segment
    ev_dw: np.ndarray  # (B*P,) scratch: its dw (kg)
    ev_peak: np.ndarray  # (B*P,) scratch: its peak variance (kg^2)
    # cameras (positions as complex64 views, see cameras.py)
    track_pos_c: np.ndarray
    track_body: np.ndarray
    track_account: np.ndarray
    hist_c: np.ndarray  # (H, B, S) complex64 ring of track positions
    err_c: np.ndarray
    dropped: np.ndarray
    near: np.ndarray
    age: np.ndarray
    n_switches: np.ndarray
    # constants
    k: int
    unit: float
    inv_unit: float
    tremor_q: np.float32
    jolt_q: np.float32
    thr_q: float
    min_dw_q: float
    window_n: int
    hold: int
    crowd_every: int
    spike_p_tick: float
    ramp: np.ndarray  # (k,) float32 share of this tick's change at each sample
    nb_left: np.ndarray  # (P,) left neighbour of each plate (itself where none)
    nb_right: np.ndarray
    w_left: np.ndarray  # (P,) float32 crosstalk weight from it (0 where none)
    w_right: np.ndarray
    spike_q: np.float32
    far: np.ndarray
    err_keep: np.float32
    err_in: np.float32
    err_in_crowded: np.float32
    q_out: float
    switch_p_pair: float
    slot: int = 0
    hist_pos: int = 0

    @property
    def samples(self) -> np.ndarray:
        """Last tick's readings (B, P, k) kg."""
        return self.raw.transpose(1, 2, 0) * self.unit + self.baseline[..., None]

    @property
    def var(self) -> np.ndarray:
        """Moving variance over the detector window (B, P) kg^2."""
        return self.var_q * self.unit**2

    @property
    def track_hist(self) -> np.ndarray:
        """Ring of track positions (B, S, H, 2) float32, a view; slot ``hist_pos`` is next."""
        return self.hist_c.view(np.float32).reshape(*self.hist_c.shape, 2).transpose(1, 2, 0, 3)

    @property
    def track_pos(self) -> np.ndarray:
        """Camera track positions (B, S, 2) float32 metres, NaN when dropped or nobody."""
        return self.track_pos_c.view(np.float32).reshape(*self.track_pos_c.shape, 2)

    def kernel_consts(self, sp: SensorParams) -> tuple[tuple, tuple, tuple]:
        """The plate, detector and camera kernels' constant arguments (tables, float32
        scalars), made on first use with ``sp`` and kept beside the fields: building them
        every tick cost about as much as the kernels themselves at B = 1."""
        c = self.__dict__.get("_kernel_consts")
        if c is None or c[0] is not sp:
            c = (sp, samples_consts(self, sp), detector_consts(self), camera_consts(self, sp))
            self.__dict__["_kernel_consts"] = c
        return c[1:]


def _neighbours(layout, crosstalk: float) -> tuple[np.ndarray, np.ndarray]:
    """(2, P) left and right neighbour index (self where none) and crosstalk weights."""
    nb = np.asarray(layout.plate_neighbors, np.intp).reshape(-1, 2).T
    w = ((nb >= 0) * crosstalk).astype(np.float32)
    return np.ascontiguousarray(np.where(nb >= 0, nb, np.arange(nb.shape[1]))), w


def sensor_reset(
    sparams: SensorParams, layout, plate_weight: np.ndarray, rng, B: int, n_slots: int
) -> SensorState:
    """Fresh sensors over plates at ``plate_weight`` (B,P) kg and ``n_slots`` shopper slots.

    Draws P + n_shelves + 2S normals and P + S + 1 uniforms per store. The detector
    starts stable: its window is filled with one idle tick of readings.
    """
    sp = sparams
    P, S = int(layout.n_plates), int(n_slots)
    shelf = np.asarray(layout.plate_shelf, np.intp)
    n_shelf = int(shelf.max()) + 1 if P else 0
    k, W, H = sp.plate_hz // sp.tick_hz, sp.ticks(sp.window_s), sp.ticks(sp.hist_s)
    unit = sp.quant_kg if sp.quant_kg > 0 else 0.001
    weight = np.asarray(plate_weight, np.float32).reshape(B, P)
    zn = rng.normal(P + n_shelf + 2 * S)
    zero = (sp.offset_sd_kg * zn[:, :P]).astype(np.float32)
    baseline = weight + zero
    if sp.quant_kg > 0:
        baseline = (np.rint(baseline / unit) * unit).astype(np.float32)
    shelf_f = np.exp(sp.noise_shelf_cv * zn[:, P : P + n_shelf])
    nb_idx, nb_w = _neighbours(layout, sp.crosstalk)
    keep = float(np.exp(-1.0 / (sp.pos_tau_s * sp.tick_hz))) if sp.pos_tau_s > 0 else 0.0
    grow = (1.0 - keep * keep) ** 0.5
    zc = zn[:, P + n_shelf :].reshape(B, S, 2)
    s = SensorState(
        raw=np.zeros((k, B, P), np.float32),
        plate_hist=np.zeros((H, B, P), np.float32),
        noise_sd_q=(sp.noise_sd_kg / unit * shelf_f[:, shelf]).astype(np.float32),
        zero_rel=zero - baseline,
        level=(weight + zero - baseline) / np.float32(unit),
        prev_force=np.zeros((B, P), np.float32),
        baseline=baseline,
        ring=np.zeros((W, 2, B, P), np.float32),
        sums=np.zeros((2, B, P)),
        var_q=np.zeros((B, P)),
        active=np.zeros((B, P), bool),
        quiet=np.zeros((B, P), np.int32),
        t_start=np.zeros((B, P), np.int64),
        peak_var_q=np.zeros((B, P)),
        pre_mean=np.zeros((B, P)),
        mean_ring=np.zeros((W, B, P)),
        calm=np.full((B, P), W + 1, np.int64),
        ev_idx=np.zeros(B * P, np.int64),
        ev_dw=np.zeros(B * P, np.float32),
        ev_peak=np.zeros(B * P, np.float32),
        track_pos_c=np.full((B, S), np.nan, np.complex64),
        track_body=np.tile(np.arange(S, dtype=np.intp), (B, 1)),
        track_account=np.full((B, S), -1, np.int64),
        hist_c=np.full((H, B, S), NAN_XY),
        err_c=(sp.pos_sd_m * (zc[..., 0] + 1j * zc[..., 1])).astype(np.complex64),
        dropped=np.zeros((B, S), bool),
        near=np.zeros((B, S), np.float32),
        age=np.zeros(B, np.int64),
        n_switches=np.zeros(B, np.int64),
        k=k,
        unit=unit,
        inv_unit=1.0 / unit,
        tremor_q=np.float32(sp.hand_tremor / unit),
        jolt_q=np.float32(sp.hand_jolt / unit),
        thr_q=sp.var_threshold_kg2 / unit**2,
        min_dw_q=sp.min_dw_kg / unit,
        window_n=W * k,
        hold=sp.ticks(sp.stable_hold_s),
        crowd_every=sp.ticks(sp.crowd_every_s),
        spike_p_tick=1.0 - (1.0 - sp.spike_rate) ** k,
        ramp=np.arange(1, k + 1, dtype=np.float32) / k,
        nb_left=nb_idx[0],
        nb_right=nb_idx[1],
        w_left=nb_w[0],
        w_right=nb_w[1],
        spike_q=np.float32(sp.spike_sd_kg / unit),
        # absent shoppers are parked 100 m outside the store, 10 m apart (never close)
        far=(-100.0 - 10.0 * np.arange(S) - 100.0j).astype(np.complex64),
        err_keep=np.float32(keep),
        err_in=np.float32(grow * sp.pos_sd_m),
        err_in_crowded=np.float32(grow * sp.pos_sd_crowded_m),
        q_out=min(1.0, 1.0 / (sp.dropout_mean_s * sp.tick_hz)) if sp.dropout_mean_s > 0 else 1.0,
        switch_p_pair=sp.switch_rate_hz / sp.tick_hz * sp.ticks(sp.crowd_every_s),
    )
    u = rng.uniform(P + S + 1, copy=False)
    plate_samples(
        s,
        sp,
        weight,
        np.zeros((B, P), np.float32),
        u,
        np.ones(B, np.int64),
        s.plate_hist[0],
        np.zeros(B, bool),
    )
    s.ring[:] = s.ring[0]
    s.sums[:] = s.ring.sum(axis=0, dtype=np.float64)
    s.slot = 0
    mean = s.sums[0] / s.window_n
    s.var_q = s.sums[1] / s.window_n - mean * mean
    s.pre_mean = mean
    s.mean_ring[:] = mean
    s.plate_hist[:] = s.plate_hist[0]
    return s


def sensor_step(
    sstate: SensorState,
    sparams: SensorParams,
    layout,
    plate_weight: np.ndarray,
    touch: np.ndarray,
    shopper_pos: np.ndarray,
    present: np.ndarray,
    rng,
    tick,
    *,
    account: np.ndarray,
    born: np.ndarray,
    idle: np.ndarray | None = None,
) -> DetectedEvents:
    """Advance all sensors by one tick; return the plate events that closed in it.

    plate_weight (B,P) true kg after this tick; touch (B,P) float32 hand force on each
    plate this tick (kg, >= 0; 0 = untouched; a reach ~0.2-0.5, a resting hand ~0.5-1
    [A]); shopper_pos (B,S,2) float32 metres; present (B,S) bool; tick: int or (B,)
    int (each store's clock, stamped on events); account (B,S) int accounts of the
    shoppers; born (B,S) bool shoppers that entered through the gate this tick; idle (B,)
    bool stores whose sensors stand still this tick (no draws saved: see rng.py).
    ``layout`` is unused at run time (its arrays were baked in at reset); it stays in
    the signature so callers pass the same context to reset and step.
    """
    s, sp = sstate, sparams
    P = s.level.shape[1]
    u = rng.uniform(P + s.track_body.shape[1] + 1, copy=False)
    weight = np.asarray(plate_weight, np.float32)
    # (B,) clocks; the store passes its (B,) array as is (broadcast_to costs ~5 us a tick)
    ticks = tick if getattr(tick, "ndim", 0) == 1 else np.full(s.level.shape[0], tick, np.int64)
    idle = np.zeros(len(ticks), bool) if idle is None else idle
    plate_samples(
        s, sp, weight, np.asarray(touch, np.float32), u, ticks, s.plate_hist[s.hist_pos], idle
    )
    ended = detector_step(s, sp, ticks, idle)
    camera_step(s, sp, shopper_pos, present, account, born, u, P, idle)
    s.hist_pos = (s.hist_pos + 1) % s.plate_hist.shape[0]
    return NO_EVENTS if ended is None else DetectedEvents(*ended)


def _chronological(sstate: SensorState) -> np.ndarray:
    H = sstate.plate_hist.shape[0]
    return (sstate.hist_pos + np.arange(H)) % H


def plate_window(sstate: SensorState, store, plate) -> np.ndarray:
    """Per-tick mean readings of the last H ticks, oldest first: (..., H) kg (one gather)."""
    return sstate.plate_hist[
        _chronological(sstate), np.asarray(store)[..., None], np.asarray(plate)[..., None]
    ]


def track_window(sstate: SensorState, store, slot, ticks: slice = slice(None)) -> np.ndarray:
    """Track positions of the last H ticks, oldest first: (..., H, 2) metres (NaN = none).

    ``ticks`` picks part of that window (e.g. ``slice(lo, hi)``) without copying the rest.
    """
    return sstate.track_hist[store, slot][..., _chronological(sstate)[ticks], :]
