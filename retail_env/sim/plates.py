"""Weight plates: the noisy 60 Hz load-cell stream and the moving-variance event detector.

Readings are truth + absolute zero error (offset + random-walk drift) + hand force
(own touch plus crosstalk from touched neighbours) + Gaussian noise whose sd grows
with the hand's tremor and jolts + rare spikes, quantised. The detector never sees
truth: it segments the stream where the moving variance exceeds a threshold and
estimates the weight change between the stable means on either side, so events
can be missed, merged, split or false as in AutoCheckout's recordings.

Layout for speed: a tick's samples are kept as ``raw`` (k, B, P) float32 in units
of the quantisation step relative to each plate's reset-time reading, so every
sample-axis operation runs over long contiguous rows and the quantised values are
exact integers (the detector's running sums are then exact too).

Normals come from a constant *noise bank* (exact normal quantiles in a fixed
scrambled order) read at an offset given by one BatchRNG uniform per plate per
tick: k+1 normals for the price of one uniform, which is what makes 300k samples
per tick affordable at B=1024. All randomness still flows from BatchRNG.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtri

if TYPE_CHECKING:
    from retail_env.sim.sensors import SensorParams, SensorState

BANK_BITS = 16
BANK_SIZE = 1 << BANK_BITS


@functools.cache
def noise_bank() -> np.ndarray:
    """BANK_SIZE standard normals as a constant float32 table (unit sd).

    Values are the normal quantiles at (i + 0.5)/K, ordered by a splitmix64 hash of
    i, so neighbouring entries behave as independent draws; no generator is involved.
    """
    i = np.arange(BANK_SIZE, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = i + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    q = ndtri((np.arange(BANK_SIZE) + 0.5) / BANK_SIZE)
    return (q[np.argsort(z, kind="stable")] / q.std()).astype(np.float32)


@functools.cache
def bank_cols(width: int) -> np.ndarray:
    """(width, BANK_SIZE) table: column i holds bank[i], bank[i+1], ... (wrapping)."""
    bank = noise_bank()
    return np.stack([np.roll(bank, -j) for j in range(width)])


def bank_index(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split uniforms into a bank index and a fresh uniform from the leftover bits."""
    x = u * BANK_SIZE
    i = x.astype(np.intp)
    return i, x - i


def plate_force(sstate: SensorState, touch: np.ndarray) -> np.ndarray:
    """Hand force each plate feels (kg): its own touch plus crosstalk from its neighbours."""
    s = sstate
    t2 = np.take(touch, s.nb_idx, axis=1)
    t2 *= s.nb_w
    return touch + t2[:, :s.nb_w.size // 2] + t2[:, s.nb_w.size // 2:]


def plate_samples(sstate: SensorState, sp: SensorParams, weight: np.ndarray,
                  force: np.ndarray, u: np.ndarray, tick: np.ndarray | None = None) -> None:
    """Write one tick of readings into ``raw`` (k, B, P) quanta; advance drift, level, force.

    Truth and hand force ramp linearly from last tick's value to this tick's over the
    k samples (a lift takes time). Noise sd = per-plate sd + tremor x force + jolt x
    |force change|: a steady resting hand is quiet, its arrival and departure are not.
    Big arrays are written into preallocated buffers (fresh 1 MB arrays each tick
    cost page faults).
    """
    s, k = sstate, sstate.k
    i, frac = bank_index(u)
    # (k+1, B, P): k sample normals + 1 drift. mode='clip' (i is in range anyway) writes
    # straight into ``out``; the default 'raise' buffers a copy first.
    z = np.take(s.bank_k1, i, axis=1, out=s.zbuf, mode="clip")
    s.zero_rel += sp.drift_step_kg * z[k]
    level = (weight + force + s.zero_rel) * s.inv_unit
    sd = s.noise_sd_q + s.tremor_q * force + s.jolt_q * np.abs(force - s.prev_force)
    x = np.multiply(z[:k], sd, out=s.raw)
    x += np.multiply(s.ramp, level - s.level, out=z[:k])
    x += s.level
    s.level, s.prev_force = level, force
    # Spikes: all of a tick's spikes land on one sample (which one rotates); the
    # detector's window sums do not care where, and this keeps the cost dense and flat.
    # A spike's amplitude reuses the tick's drift normal (that drift step is ~1e-4 of it).
    # The sample follows each store's own clock (``tick``, (B,)), not the batch's ring
    # cursor, so a store restarted mid-batch (reset_stores) matches a fresh one.
    spike = (frac < s.spike_p_tick) * s.spike_q * z[k]
    if tick is None:
        x[s.slot % k] += spike
    else:
        x[(tick - 1) % s.ring.shape[0] % k, np.arange(x.shape[1])] += spike
    if sp.quant_kg > 0:
        np.rint(x, out=x)


def detector_stats(sstate: SensorState) -> None:
    """Push this tick's per-plate sum and sum of squares into the W-tick ring.

    Running float64 sums over the ring give the 0.5 s moving mean and variance in a
    handful of array ops; adding and later subtracting the same float32 value keeps
    them exact (integers when quantised) to far below the threshold.
    """
    s, raw = sstate, sstate.raw
    new = s.tick_stats
    np.sum(raw, axis=0, out=new[0])
    np.einsum("kbp,kbp->bp", raw, raw, out=new[1])
    s.sums += new
    s.sums -= s.ring[s.slot]
    s.ring[s.slot] = new
    s.slot = (s.slot + 1) % s.ring.shape[0]


def detector_step(sstate: SensorState, tick: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """Advance the per-plate stable/active machine; return ended segments or None.

    stable -> active when the moving variance exceeds the threshold (t_start = that
    tick); active -> stable after ``hold`` consecutive ticks below it (t_end = that
    tick; the disturbance ended about one window earlier). dw = stable window mean
    after minus the stable window mean before (see below). Returns (b, p, t_start, t_end, dw kg,
    peak_var kg^2) for segments with |dw| >= min_dw. ``tick`` is (1, 1) or (B, 1).
    """
    s = sstate
    mean = s.sums[0] * (1.0 / s.window_n)
    var = s.sums[1] * (1.0 / s.window_n) - mean * mean
    s.var_q = var
    above = var > s.thr_q
    start = above > s.active
    s.quiet = (s.quiet + 1) * (s.active > above)
    end = s.quiet >= s.hold
    s.t_start = np.where(start, tick, s.t_start)
    s.peak_var_q = np.where(start, var, np.maximum(s.peak_var_q, var))
    out = None
    if end.any():
        b, p = np.nonzero(end)
        dw = mean[b, p] - s.pre_mean[b, p]
        keep = np.abs(dw) >= s.min_dw_q
        b, p = b[keep], p[keep]
        t_end = np.broadcast_to(tick, (s.active.shape[0], 1))[b, 0]
        out = (b, p, s.t_start[b, p], t_end, (dw[keep] * s.unit).astype(np.float32),
               (s.peak_var_q[b, p] * s.unit ** 2).astype(np.float32))
    s.active = above | (s.active > end)
    # The "before" mean is the window that ended W ticks ago: the active window's
    # first ticks often already hold the start of the reach (below threshold), and
    # using them would bias dw by the hand's push. Right after an event, when that
    # lagged window overlaps the event, the event's own "after" mean is used.
    j = (s.slot - 1) % s.mean_ring.shape[0]
    s.calm = (s.calm + 1) * ~s.active
    s.pre_mean = np.where(s.active, s.pre_mean,
                          np.where(s.calm > s.mean_ring.shape[0], s.mean_ring[j], mean))
    s.mean_ring[j] = mean
    return out
