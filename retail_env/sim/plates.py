"""Weight plates: the noisy 60 Hz load-cell stream and the moving-variance event detector.

Readings are truth + absolute zero error (offset + random-walk drift) + hand force
(own touch plus crosstalk from touched neighbours) + Gaussian noise whose sd grows
with the hand's tremor and jolts + rare spikes, quantised. The detector never sees
truth: it segments the stream where the moving variance exceeds a threshold and
estimates the weight change between the stable means on either side, so events
can be missed, merged, split or false as in AutoCheckout's recordings.

A tick's samples are kept as ``raw`` (k, B, P) float32 in units of the quantisation
step relative to each plate's reset-time reading, so the quantised values are exact
integers (the detector's running sums are then exact too).

Normals come from a constant *noise bank* (exact normal quantiles in a fixed
scrambled order) read at an offset given by one BatchRNG uniform per plate per
tick: k+1 normals for the price of one uniform, which is what makes 300k samples
per tick affordable at B=1024. All randomness still flows from BatchRNG.

Why compiled: per plate and tick the model is a chain of ~20 float32 operations
over k samples. As NumPy array passes it streamed the (k, B, P) block through
memory a dozen times (about a third of a B = 1024 tick, see docs/performance.md);
one Numba pass per store does the same arithmetic, operation for operation in the
same precision and order, so results are unchanged bit for bit.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, NamedTuple

import numba
import numpy as np
from scipy.special import ndtri

if TYPE_CHECKING:
    from retail_env.sim.sensors import SensorParams, SensorState

BANK_BITS = 16
BANK_SIZE = 1 << BANK_BITS
BANK_MASK = BANK_SIZE - 1
_F = np.float32


@functools.cache
def noise_bank() -> np.ndarray:
    """BANK_SIZE standard normals as a constant float32 table (unit sd).

    Values are the normal quantiles at (i + 0.5)/K, ordered by a splitmix64 hash of
    i, so neighbouring entries behave as independent draws; no generator is involved.
    Draw j of an offset i is ``bank[(i + j) % BANK_SIZE]``.
    """
    i = np.arange(BANK_SIZE, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = i + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    q = ndtri((np.arange(BANK_SIZE) + 0.5) / BANK_SIZE)
    return (q[np.argsort(z, kind="stable")] / q.std()).astype(np.float32)


# The bank as a global: Numba freezes it into the compiled kernel as constant data, so the
# compiler knows no store can change it and vectorises the sample loop with gathers from it.
_BANK = noise_bank()


class SamplesConsts(NamedTuple):
    """Constants of ``_samples_kernel`` (quantities in quanta, float32 where the model is)."""

    nb_left: np.ndarray  # (P,) left neighbour of each plate (itself where none)
    nb_right: np.ndarray
    w_left: np.ndarray  # (P,) float32 crosstalk weight from it
    w_right: np.ndarray
    ramp: np.ndarray  # (k,) share of the tick's change at each sample
    drift: np.float32  # zero drift step
    inv_unit: np.float32  # 1 / quantisation step
    tremor: np.float32  # noise sd per unit of hand force
    jolt: np.float32  # noise sd per unit of force change
    spike_p: float  # P(a spike on a plate in a tick)
    spike_q: np.float32  # spike sd
    quantise: bool
    hist_scale: np.float32  # window sum -> kg


@numba.njit(cache=True, nogil=True)
def _samples_kernel(
    weight,
    touch,
    u,
    ticks,
    idle,
    slot,
    hist_row,
    raw,
    zero_rel,
    level,
    prev_force,
    noise_sd_q,
    ring,
    sums,
    baseline,
    consts,
):
    """One tick of readings for every plate, and the detector's window sums (see plate_samples).

    Per store: a pass over the plates for their tick constants, then the k samples
    sample by sample across plates (contiguous rows of ``raw``, so the compiler
    vectorises), then the sums. Each plate's float32 operations run in the same order
    as one sample loop per plate would, so results do not depend on the loop order.
    """
    (
        nb_left,
        nb_right,
        w_left,
        w_right,
        ramp,
        drift,
        inv_unit,
        tremor,
        jolt,
        spike_p,
        spike_q,
        quantise,
        hist_scale,
    ) = SamplesConsts(*consts)
    k, B, P = raw.shape
    W = ring.shape[0]
    off = np.empty(P, np.int64)
    sd = np.empty(P, np.float32)
    step = np.empty(P, np.float32)
    old = np.empty(P, np.float32)
    spike = np.empty(P, np.float32)
    s0 = np.empty(P, np.float32)
    s1 = np.empty(P, np.float32)
    for b in range(B):
        if idle[b]:
            continue
        js = ((ticks[b] - 1) % W) % k  # the sample this store's spikes land on
        for p in range(P):
            t = touch[b, p]
            force = (t + touch[b, nb_left[p]] * w_left[p]) + touch[b, nb_right[p]] * w_right[p]
            x = u[b, p] * BANK_SIZE
            i = int(x)
            frac = x - i
            zk = _BANK[(i + k) & BANK_MASK]
            zr = zero_rel[b, p] + drift * zk
            zero_rel[b, p] = zr
            lev = ((_F(weight[b, p]) + force) + zr) * inv_unit
            sd[p] = (noise_sd_q[b, p] + tremor * force) + jolt * abs(force - prev_force[b, p])
            off[p] = i
            old[p] = level[b, p]
            step[p] = lev - old[p]
            spike[p] = (_F(1.0) if frac < spike_p else _F(0.0)) * spike_q * zk
            level[b, p] = lev
            prev_force[b, p] = force
            s0[p] = _F(0.0)
            s1[p] = _F(0.0)
        for j in range(k):
            r = ramp[j]
            row = raw[j, b]
            for p in range(P):
                v = (_BANK[(off[p] + j) & BANK_MASK] * sd[p] + r * step[p]) + old[p]
                if j == js:
                    v = v + spike[p]
                if quantise:
                    v = _F(np.rint(v))
                row[p] = v
                s0[p] = s0[p] + v
                s1[p] = s1[p] + v * v
        for p in range(P):
            sums[0, b, p] = (sums[0, b, p] + s0[p]) - ring[slot, 0, b, p]
            sums[1, b, p] = (sums[1, b, p] + s1[p]) - ring[slot, 1, b, p]
            ring[slot, 0, b, p] = s0[p]
            ring[slot, 1, b, p] = s1[p]
            hist_row[b, p] = s0[p] * hist_scale + baseline[b, p]


def plate_samples(
    sstate: SensorState,
    sp: SensorParams,
    weight: np.ndarray,
    touch: np.ndarray,
    u: np.ndarray,
    ticks: np.ndarray,
    hist_row: np.ndarray,
    idle: np.ndarray,
) -> None:
    """One tick of every plate: readings into ``raw``, window sums into the detector's ring.

    ``touch`` (B,P) is the hand force on each plate; a plate feels its own plus
    ``crosstalk`` x its neighbours'. Truth and hand force ramp linearly from last
    tick's value to this tick's over the k samples (a lift takes time). Noise sd =
    per-plate sd + tremor x force + jolt x |force change|: a steady resting hand is
    quiet, its arrival and departure are not. Spikes: all of a tick's spikes land on
    one sample (chosen by the store's own clock, so a store restarted mid-batch
    matches a fresh one); a spike's amplitude reuses the tick's drift normal (that
    drift step is ~1e-4 of it). The running float64 sums over the W-tick ring give
    the 0.5 s moving mean and variance; adding and later subtracting the same
    float32 value keeps them exact. ``hist_row`` (B,P) gets the tick's mean reading (kg).
    Stores ``idle`` (B,) are left as they are.
    """
    s = sstate
    _samples_kernel(
        weight,
        touch,
        u,
        ticks,
        idle,
        s.slot,
        hist_row,
        s.raw,
        s.zero_rel,
        s.level,
        s.prev_force,
        s.noise_sd_q,
        s.ring,
        s.sums,
        s.baseline,
        s.kernel_consts(sp)[0],
    )
    s.slot = (s.slot + 1) % s.ring.shape[0]


def samples_consts(s: SensorState, sp: SensorParams) -> tuple:
    """``SamplesConsts`` as a plain tuple (see ``SensorState.kernel_consts``; plain tuples
    cross into Numba faster, see ``kernel_args.py``)."""
    return tuple(
        SamplesConsts(
            nb_left=s.nb_left,
            nb_right=s.nb_right,
            w_left=s.w_left,
            w_right=s.w_right,
            ramp=s.ramp,
            drift=_F(sp.drift_step_kg),
            inv_unit=_F(s.inv_unit),
            tremor=s.tremor_q,
            jolt=s.jolt_q,
            spike_p=s.spike_p_tick,
            spike_q=s.spike_q,
            quantise=sp.quant_kg > 0,
            hist_scale=_F(s.unit / s.k),
        )
    )


class DetectorConsts(NamedTuple):
    """Constants of ``_detector_kernel`` (variances and weights in quanta)."""

    inv_n: float  # 1 / samples in the window
    thr_q: float  # variance threshold
    hold: int  # quiet ticks that end a segment
    min_dw_q: float  # smallest |dw| reported
    unit: float  # quantum -> kg
    unit2: float  # quantum^2 -> kg^2


@numba.njit(cache=True, nogil=True)
def _detector_kernel(
    sums,
    ticks,
    idle,
    j,
    var_q,
    active,
    quiet,
    t_start,
    peak_var_q,
    pre_mean,
    mean_ring,
    calm,
    out_idx,
    out_dw,
    out_peak,
    consts,
):
    inv_n, thr_q, hold, min_dw_q, unit, unit2 = DetectorConsts(*consts)
    B, P = active.shape
    W = mean_ring.shape[0]
    n = 0
    for b in range(B):
        if idle[b]:
            continue
        for p in range(P):
            mean = sums[0, b, p] * inv_n
            var = sums[1, b, p] * inv_n - mean * mean
            var_q[b, p] = var
            above = var > thr_q
            act = active[b, p]
            q = (quiet[b, p] + 1) * (act and not above)
            quiet[b, p] = q
            end = q >= hold
            if above and not act:
                t_start[b, p] = ticks[b]
                peak_var_q[b, p] = var
            else:
                peak_var_q[b, p] = max(peak_var_q[b, p], var)
            if end:
                dw = mean - pre_mean[b, p]
                if abs(dw) >= min_dw_q:
                    out_idx[n] = b * P + p
                    out_dw[n] = dw * unit
                    out_peak[n] = peak_var_q[b, p] * unit2
                    n += 1
            act = above or (act and not end)
            active[b, p] = act
            c = (calm[b, p] + 1) * (not act)
            calm[b, p] = c
            if not act:
                pre_mean[b, p] = mean_ring[j, b, p] if c > W else mean
            mean_ring[j, b, p] = mean
    return n


def detector_step(
    sstate: SensorState, sp: SensorParams, ticks: np.ndarray, idle: np.ndarray
) -> tuple[np.ndarray, ...] | None:
    """Advance the per-plate stable/active machine; return ended segments or None.

    stable -> active when the moving variance exceeds the threshold (t_start = that
    tick); active -> stable after ``hold`` consecutive ticks below it (t_end = that
    tick; the disturbance ended about one window earlier). dw = stable window mean
    after minus the stable window mean before. The "before" mean is the window that
    ended W ticks ago: the active window's first ticks often already hold the start
    of the reach (below threshold), and using them would bias dw by the hand's push.
    Right after an event, when that lagged window overlaps the event, the event's own
    "after" mean is used. Returns (b, p, t_start, t_end, dw kg, peak_var kg^2) for
    segments with |dw| >= min_dw; ``ticks`` is each store's clock (B,); stores ``idle``
    are left as they are.
    """
    s = sstate
    P = s.active.shape[1]
    n = _detector_kernel(
        s.sums,
        ticks,
        idle,
        (s.slot - 1) % s.mean_ring.shape[0],
        s.var_q,
        s.active,
        s.quiet,
        s.t_start,
        s.peak_var_q,
        s.pre_mean,
        s.mean_ring,
        s.calm,
        s.ev_idx,
        s.ev_dw,
        s.ev_peak,
        s.kernel_consts(sp)[1],
    )
    if not n:
        return None
    b, p = np.divmod(s.ev_idx[:n], P)
    return (b, p, s.t_start[b, p], ticks[b], s.ev_dw[:n].copy(), s.ev_peak[:n].copy())


def detector_consts(s: SensorState) -> tuple:
    """``DetectorConsts`` as a plain tuple."""
    return tuple(
        DetectorConsts(
            inv_n=1.0 / s.window_n,
            thr_q=s.thr_q,
            hold=s.hold,
            min_dw_q=s.min_dw_q,
            unit=s.unit,
            unit2=s.unit**2,
        )
    )
