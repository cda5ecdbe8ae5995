"""Camera tracks: noisy positions, crowd-driven dropouts, identity switches, gate binding.

Track slot j follows shopper slot ``track_body[b, j]``; ``track_body`` is a
permutation of the shopper slots, so an identity switch is a swap of two entries
and the track keeps the account it was bound to at birth while now following
someone else. A track is (re)born when the shopper it follows enters: the entry
gate binds that shopper's account to it.

Positions are handled as complex64 (x + iy) views of the (…, 2) float32 arrays, so
per-track work is one element per track instead of a slow length-2 inner loop.
Crowding (neighbours within 1.5 m, pairs within 0.5 m) needs (S, S) distances; it
is refreshed every ``crowd_every`` ticks of each store's own clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from retail_env.sim.plates import bank_index

if TYPE_CHECKING:
    from retail_env.sim.sensors import SensorParams, SensorState

NAN_XY = np.complex64(complex(np.nan, np.nan))


def as_complex(xy: np.ndarray) -> np.ndarray:
    """(..., 2) float32 positions as a (...) complex64 view (copying only if needed)."""
    return np.ascontiguousarray(xy, np.float32).view(np.complex64)[..., 0]


def bind_births(sstate: SensorState, account: np.ndarray, born: np.ndarray) -> None:
    """Tracks whose shopper entered this tick take that shopper's account and a clean history."""
    s = sstate
    nb = np.take_along_axis(born, s.track_body, 1)
    s.track_account[nb] = np.take_along_axis(account, s.track_body, 1)[nb]
    s.hist_c[:, nb] = NAN_XY
    s.dropped[nb] = False


def crowding(sstate: SensorState, sp: SensorParams, body: np.ndarray, alive: np.ndarray,
             due: np.ndarray, u_switch: np.ndarray) -> None:
    """Refresh neighbour counts of the stores in ``due`` and apply their identity switches.

    Squared distances come from one batched matmul (|a|^2 + |b|^2 - 2 a.b). Each close
    pair (< switch_radius) switches with probability rate x dt x crowd_every per
    refresh, at most one switch per store per refresh (two are vanishingly rare at
    the rates used); which pair follows from the store's one switch uniform.
    """
    s = sstate
    idx = slice(None) if due.all() else np.flatnonzero(due)
    zc = np.where(alive, body, s.far)[idx]             # absent shoppers parked far apart
    xy = zc.view(np.float32).reshape(*zc.shape, 2)
    n2 = (zc * zc.conj()).real
    d2 = np.matmul(xy, xy.transpose(0, 2, 1), out=s.crowd_d2[:xy.shape[0]])
    d2 *= -2.0
    d2 += n2[:, :, None]
    d2 += n2[:, None, :]
    ones = s.ones_s
    s.near[idx] = np.less(d2, sp.crowd_radius_m ** 2, out=s.crowd_buf[:d2.shape[0]],
                          casting="unsafe") @ ones - 1.0
    if sp.switch_rate_hz <= 0:
        return
    npairs = 0.5 * (np.less(d2, sp.switch_radius_m ** 2, out=s.crowd_buf[:d2.shape[0]],
                            casting="unsafe") @ ones).sum(axis=1) - 0.5 * ones.size
    prob = np.minimum(npairs * s.switch_p_pair, 1.0)
    u = u_switch[idx]
    hit = u < prob
    if not hit.any():
        return
    h = np.flatnonzero(hit)
    m = (u[h] / prob[h] * np.rint(npairs[h])).astype(np.intp)     # which close pair, 0-based
    close = (d2[h] < sp.switch_radius_m ** 2) & s.upper
    f = (np.cumsum(close.reshape(h.size, -1), axis=1) > m[:, None]).argmax(axis=1)
    i, j = np.divmod(f, ones.size)
    b = np.arange(s.near.shape[0])[idx][h]
    s.track_body[b, i], s.track_body[b, j] = s.track_body[b, j], s.track_body[b, i]
    s.n_switches[b] += 1


def camera_step(sstate: SensorState, sp: SensorParams, shopper_pos: np.ndarray,
                present: np.ndarray, u: np.ndarray) -> None:
    """Update track positions, dropouts and history for one tick.

    Position error is AR(1) with correlation time ``pos_tau_s`` and stationary sd
    per axis ``pos_sd_m`` (``pos_sd_crowded_m`` with >= crowd_n neighbours). Dropouts
    are a two-state Markov chain whose stationary miss share is base + per_neighbor x
    neighbours and whose mean length is ``dropout_mean_s``, so the share does not
    depend on the tick rate. ``u`` is (B, S+1): one uniform per track (noise + dropout
    transition) and one per store for switches.
    """
    s = sstate
    S = s.track_body.shape[1]
    fi = s.track_body + s.row_off
    body = np.take(as_complex(shopper_pos), fi)
    alive = np.take(present, fi)
    i, frac = bank_index(u[:, :S])
    s.err_c *= s.err_keep
    s.err_c += np.where(s.near >= sp.crowd_n, s.err_in_crowded, s.err_in) * np.take(s.bank_c, i)
    p_miss = np.minimum(sp.dropout_base + sp.dropout_per_neighbor * s.near, sp.dropout_max)
    s.dropped = np.where(s.dropped, frac >= s.q_out, frac < p_miss / (1.0 - p_miss) * s.q_out)
    pos = np.where(alive > s.dropped, body + s.err_c, NAN_XY)
    s.track_pos_c = pos
    s.hist_c[s.hist_pos] = pos
    due = s.age % s.crowd_every == 0
    if due.any():
        crowding(s, sp, body, alive, due, u[:, S])
    s.age += 1
