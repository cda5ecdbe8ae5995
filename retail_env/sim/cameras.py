"""Camera tracks: noisy positions, crowd-driven dropouts, identity switches, gate binding.

Track slot j follows shopper slot ``track_body[b, j]``; ``track_body`` is a
permutation of the shopper slots, so an identity switch is a swap of two entries
and the track keeps the account it was bound to at birth while now following
someone else. A track is (re)born when the shopper it follows enters: the entry
gate binds that shopper's account to it.

Positions are complex64 (x + iy) views of the (…, 2) float32 arrays. Crowding
(neighbours within 1.5 m, pairs within 0.5 m) needs every pair of a store's
tracks; it is refreshed every ``crowd_every`` ticks of each store's own clock.

Why compiled: the pair search is a sequential S x S kernel per store, and as NumPy
it built (B, S, S) matrices through a batched matmul (the largest single cost of a
B = 1024 tick). The Numba kernel does the same float32 arithmetic in the same order,
including the fused multiply-adds the matmul and complex products used (``_fma``),
so results are unchanged bit for bit and no longer depend on the BLAS build.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from retail_env.sim.plates import BANK_MASK, BANK_SIZE, noise_bank

if TYPE_CHECKING:
    from retail_env.sim.sensors import SensorParams, SensorState

NAN_XY = np.complex64(complex(np.nan, np.nan))
_F = np.float32


@intrinsic
def _fma(typingctx, a, b, c):
    """float32 a * b + c rounded once (LLVM's fma: the FMA instruction, or libm's fmaf)."""
    sig = types.float32(types.float32, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        f32 = ir.FloatType()
        fn = builder.module.declare_intrinsic("llvm.fma", [f32], ir.FunctionType(f32, [f32] * 3))
        return builder.call(fn, args)

    return sig, codegen


@numba.njit(cache=True, nogil=True)
def _pair_d2(xi, yi, ni, xj, yj, nj):
    """Squared distance |a|^2 + |b|^2 - 2 a.b of tracks i, j in the batched matmul's rounding
    (the form it replaced); d2(j, i) is (dot + n_j) + n_i, as a row j of that matmul."""
    return (_fma(yi, yj, xi * xj) * _F(-2.0) + ni) + nj


@numba.njit(cache=True, nogil=True)
def _crowding(
    b, bx, by, alive, far, near, r2, rs2, switch_p_pair, u_switch, track_body, n_switches, xyn
):
    """Neighbour counts of store ``b``'s tracks, and at most one identity switch.

    Absent shoppers are parked at least 10 m apart and 100 m from the store, so only
    pairs of present ones can be close: the others count only themselves. The present
    ones are packed into ``xyn`` (3, >= S) rows x, y, |xy|^2, padded with NaN to a
    multiple of 16 (NaN is never close), and every ordered pair is tested: a branch-free
    loop the compiler vectorises. Each close pair (< switch radius) switches with
    probability rate x dt x crowd_every per refresh, at most one switch per store per
    refresh (two are vanishingly rare at the rates used); which pair follows from the
    store's one switch uniform.
    """
    S = bx.shape[0]
    on = np.empty(S, np.int64)
    m = close = 0
    for i in range(S):
        if alive[i]:
            x, y = bx[i], by[i]
            xyn[0, m], xyn[1, m], xyn[2, m] = x, y, _fma(x, x, y * y)
            on[m] = i
            m += 1
        else:
            x, y = far[i].real, far[i].imag
            n2 = _fma(x, x, y * y)
            d = _pair_d2(x, y, n2, x, y, n2)
            near[i] = _F(d < r2) - _F(1.0)
            close += d < rs2
    M = -(-m // 16) * 16
    xyn[:, m:M] = np.nan
    xs, ys, ns = xyn[0, :M], xyn[1, :M], xyn[2, :M]
    for a in range(m):
        xi, yi, ni = xs[a], ys[a], ns[a]
        cnt = c2 = 0
        for c in range(M):
            d = _pair_d2(xi, yi, ni, xs[c], ys[c], ns[c])
            cnt += d < r2
            c2 += d < rs2
        near[on[a]] = _F(cnt) - _F(1.0)
        close += c2
    if switch_p_pair <= 0:
        return
    npairs = _F(0.5) * _F(close) - _F(0.5 * S)
    prob = min(npairs * switch_p_pair, _F(1.0))
    if not u_switch < prob:
        return
    k = int(u_switch / prob * np.rint(npairs))  # which close pair (i < j, row-major), 0-based
    hit_i = hit_j = seen = 0
    for a in range(m):
        for c in range(a + 1, m):
            if _pair_d2(xs[a], ys[a], ns[a], xs[c], ys[c], ns[c]) < rs2:
                if seen == k:
                    hit_i, hit_j = on[a], on[c]
                seen += 1
                if seen > k:
                    break
        if seen > k:
            break
    track_body[b, hit_i], track_body[b, hit_j] = track_body[b, hit_j], track_body[b, hit_i]
    n_switches[b] += 1


class CameraConsts(NamedTuple):
    """Constants of ``_camera_kernel`` (float32 where the model is)."""

    bank: np.ndarray  # the plates' noise bank (unit normals)
    far: np.ndarray  # (S,) complex64 parking spots of absent shoppers
    keep: np.float32  # AR(1) share of last tick's position error
    err_in: np.float32  # AR(1) innovation sd
    err_in_crowded: np.float32
    crowd_n: np.float32  # neighbours that make a track crowded
    base: np.float32  # dropout share alone
    per_nb: np.float32  # dropout share per neighbour
    max_miss: np.float32
    q_out: float  # P(a dropout ends in a tick)
    crowd_every: int  # ticks between crowding refreshes
    r2: np.float32  # crowd radius^2
    rs2: np.float32  # switch radius^2
    switch_p_pair: np.float32  # P(a close pair switches) per refresh


@numba.njit(cache=True, nogil=True)
def _camera_kernel(
    pos,
    present,
    account,
    born,
    u,
    u0,
    idle,
    hist_pos,
    track_body,
    track_account,
    track_pos_c,
    hist_c,
    err_c,
    dropped,
    near,
    age,
    n_switches,
    consts,
):
    (
        bank,
        far,
        keep,
        err_in,
        err_in_crowded,
        crowd_n,
        base,
        per_nb,
        max_miss,
        q_out,
        crowd_every,
        r2,
        rs2,
        switch_p_pair,
    ) = CameraConsts(*consts)
    B, S = track_body.shape
    nan = _F(np.nan)
    xyn = np.empty((3, -(-S // 16) * 16), np.float32)
    bx = np.empty(S, np.float32)
    by = np.empty(S, np.float32)
    alive = np.empty(S, np.bool_)
    for b in range(B):
        if idle[b]:
            continue
        for j in range(S):
            who = track_body[b, j]
            bx[j], by[j] = pos[b, who, 0], pos[b, who, 1]
            alive[j] = present[b, who]
            if born[b, who]:  # the gate binds the entering shopper's account
                track_account[b, j] = account[b, who]
                hist_c[:, b, j] = complex(nan, nan)
                dropped[b, j] = False
            x = u[b, u0 + j] * BANK_SIZE
            i = int(x)
            frac = x - i
            g = err_in_crowded if near[b, j] >= crowd_n else err_in
            e = err_c[b, j]
            er = e.real * keep + g * bank[i]
            ei = e.imag * keep + g * bank[(i + 1) & BANK_MASK]
            err_c[b, j] = complex(er, ei)
            p_miss = min(base + per_nb * near[b, j], max_miss)
            if dropped[b, j]:
                d = frac >= q_out
            else:
                d = frac < p_miss / (_F(1.0) - p_miss) * _F(q_out)
            dropped[b, j] = d
            if alive[j] and not d:
                xy = complex(bx[j] + er, by[j] + ei)
            else:
                xy = complex(nan, nan)
            track_pos_c[b, j] = xy
            hist_c[hist_pos, b, j] = xy
        if age[b] % crowd_every == 0:
            _crowding(
                b,
                bx,
                by,
                alive,
                far,
                near[b],
                r2,
                rs2,
                switch_p_pair,
                u[b, u0 + S],
                track_body,
                n_switches,
                xyn,
            )
        age[b] += 1


def camera_step(
    sstate: SensorState,
    sp: SensorParams,
    shopper_pos: np.ndarray,
    present: np.ndarray,
    account: np.ndarray,
    born: np.ndarray,
    u: np.ndarray,
    u0: int,
    idle: np.ndarray,
) -> None:
    """Update track positions, dropouts, history and crowding for one tick.

    Tracks whose shopper entered this tick (``born``) first take that shopper's
    account and a clean history. Position error is AR(1) with correlation time
    ``pos_tau_s`` and stationary sd per axis ``pos_sd_m`` (``pos_sd_crowded_m`` with
    >= crowd_n neighbours). Dropouts are a two-state Markov chain whose stationary
    miss share is base + per_neighbor x neighbours and whose mean length is
    ``dropout_mean_s``, so the share does not depend on the tick rate. ``u[:, u0:]``
    holds one uniform per track (noise + dropout transition) and one per store for
    switches. Stores ``idle`` (B,) are left as they are.
    """
    s = sstate
    _camera_kernel(
        np.asarray(shopper_pos, np.float32),
        present,
        account,
        born,
        u,
        u0,
        idle,
        s.hist_pos,
        s.track_body,
        s.track_account,
        s.track_pos_c,
        s.hist_c,
        s.err_c,
        s.dropped,
        s.near,
        s.age,
        s.n_switches,
        s.kernel_consts(sp)[2],
    )


def camera_consts(s: SensorState, sp: SensorParams) -> tuple:
    """``CameraConsts`` as a plain tuple (see ``SensorState.kernel_consts``)."""
    return tuple(
        CameraConsts(
            bank=noise_bank(),
            far=s.far,
            keep=s.err_keep,
            err_in=s.err_in,
            err_in_crowded=s.err_in_crowded,
            crowd_n=_F(sp.crowd_n),
            base=_F(sp.dropout_base),
            per_nb=_F(sp.dropout_per_neighbor),
            max_miss=_F(sp.dropout_max),
            q_out=s.q_out,
            crowd_every=s.crowd_every,
            r2=_F(sp.crowd_radius_m**2),
            rs2=_F(sp.switch_radius_m**2),
            switch_p_pair=_F(s.switch_p_pair) if sp.switch_rate_hz > 0 else _F(0.0),
        )
    )
