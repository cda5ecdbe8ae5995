"""Decisions at shelves: dwell, resting hands, reaches, picks, put-backs, hand-offs, restocks.

A shopper's timed phase ends (``timer <= 0``) and one decision is taken, with
that store's decision-slot draws; at most ``events_per_tick`` per store and
tick (the rest wait a tick, so draw counts never depend on state). A visit::

    ARRIVE -> DWELL -> [REST: hand on the plate] -> REACH -> (pick)
           -> [HOLD: look, then REACH again to put it back] -> next stop

Hard cases, each behind its switch in ``config.HardCases``:
- simultaneous_picks: off -> a reach waits until nobody else handles the plate
  and ``plate_gap_s`` has passed since the last one; on -> a shopper arriving
  where someone is reaching joins at once.
- wrong_put_back: a put-back is sometimes carried to the next plate and left
  there; a later shopper at that plate may take the foreign item.
- handoffs: a group member hands a fresh pick to its partner nearby.
- hand_rest: a hand rests on the plate (force, no weight moved) before a reach.
- multi_item: a reach takes several units at once (else one per reach).
Item weights are drawn when items move (unit weight + sd z, produce spread).

Staff: every ``check_s`` a store whose staff slot (slot 0) is free looks for
plates whose true product is below ``restock_below`` of capacity; if any, a
staff member comes in (``shoppers.advance``), refills the lowest plates one by one
(RESTOCK, never chargeable) and leaves. Staff are tracked by cameras but carry no account (-1).

Why compiled: a tick takes a handful of decisions per store, each a chain of
branches, so as NumPy over index arrays the decisions were ~100 small calls a tick
(half of a B = 64 tick). ``_decide_kernel`` runs them one by one, phase group by
phase group as the NumPy model did (one compiled function per group), and reads what
a group's decisions share before the group writes, so draws, state and truth rows are
the same bit for bit. The transcendental parts (normal quantiles, the dwell exp) stay
in NumPy. Arguments are grouped as ``kernel_args.py`` describes.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from scipy.special import ndtri

from retail_env.sim.kernel_args import Consts, StoreArrays, Tables
from retail_env.sim.shoppers import (
    U_DUR,
    U_HANDOFF,
    U_MISC,
    U_MODE,
    U_MULTI,
    U_PLATE,
    U_PUTBACK,
    U_WRONG,
    Ctx,
    low_plate,
)
from retail_env.sim.state import (
    ARRIVE,
    DWELL,
    HOLD,
    PICK,
    PUT,
    REACH,
    REST,
    RESTOCK,
    SPAWN,
    TOUCH,
    WALK,
)
from retail_env.sim.state import HANDOFF as K_HANDOFF

# What the current reach does.
ACT_PICK, ACT_PUT_SAME, ACT_PUT_WRONG, ACT_RESTOCK = 1, 2, 3, 4
RETRY_TICKS = 5  # a blocked reach looks again after 0.5 s
TRUTH_COLS = (
    "store",
    "tick",
    "shopper",
    "account",
    "plate",
    "product",
    "qty",
    "kind",
    "other",
    "cell",
)


class Due(NamedTuple):
    """The decisions of the tick, one row each."""

    b: np.ndarray  # store
    s: np.ndarray  # slot
    ph: np.ndarray  # phase whose timer ran out
    u: np.ndarray  # (n, 8) uniforms, columns U_*
    z: np.ndarray  # (n, 2) normals: walking speed, item weight
    dwell: np.ndarray  # (n,) dwell ticks if it arrives at a plate


class Reaches(NamedTuple):
    """The reaches ending this tick (one per plate and store) and what came of each."""

    grp: np.ndarray  # its row of ``Due``
    plate: np.ndarray
    acts: np.ndarray  # ACT_* the reach did
    done: np.ndarray  # the shopper moves on to its next stop
    picked: np.ndarray  # something left the plate
    moved: np.ndarray  # product picked
    qty: np.ndarray  # items picked
    back: np.ndarray  # the pick will be put back


def decide(ctx: Ctx, due: np.ndarray, x: np.ndarray) -> None:
    """Take the decisions ``due`` (3, n): rows store, slot, phase, at most E per store.

    ``shoppers.advance`` picked them (the j-th decision of a store this tick has that
    store's j-th decision slot of draws; decisions beyond E wait a tick; shoppers at the
    exit have left) and split their draws into ``x`` (n, 12) uniforms; the normal
    quantiles and the dwell exp are NumPy's, the decisions run in ``_decide_kernel``.
    """
    pr = ctx.pr
    b, s, ph = due
    u, z = x[:, :8], ndtri(x[:, 8:10])
    dwell = np.exp(pr.t["dwell_mu"] + pr.t["dwell_sd"] * z[:, 0])
    rows = np.empty((len(TRUTH_COLS), 3 * len(b)), np.int64)
    dw = np.empty(3 * len(b), np.float64)
    n = _decide_kernel(b, s, ph, u, z, dwell, *ctx.kernel_args, rows, dw)
    if n:
        ctx.truth.append(dict(zip(TRUTH_COLS, rows[:, :n], strict=True), dw=dw[:n]))


@numba.njit(cache=True, nogil=True)
def _decide_kernel(b, s, ph, u, z, dwell, st, tables, consts, rows, dws):
    """Every decision of the tick, phase group by phase group in the order of the NumPy
    model this replaces (spawn, arrive, dwell end, rest/hold end, reach end); inside a
    group, what each decision reads is read before the group writes. Truth rows go to
    ``rows``/``dws`` in that order; returns how many."""
    d, st, tb, c = Due(b, s, ph, u, z, dwell), StoreArrays(*st), Tables(*tables), Consts(*consts)
    out = (rows, dws)
    _spawn(d, st, tb, c)
    _arrive(d, st, c)
    n = _dwell_over(d, st, tb, c, out, 0)
    for i in range(b.size):  # a resting hand or a look at the item is over: reach
        if ph[i] == REST or ph[i] == HOLD:
            st.phase[b[i], s[i]] = REACH
            st.timer[b[i], s[i]] = _dur(c.reach_lo, c.reach_hi, u[i, U_DUR])
    return _reach_over(d, st, tb, c, out, n)


@numba.njit(cache=True, nogil=True)
def _dur(lo, hi, u):
    return max(1, np.int32(lo + (hi - lo) * u))


@numba.njit(cache=True, nogil=True, inline="always")
def _log(out, n, d, st, i, kind, plate, prod, q, dw, other):
    """Truth row ``n`` of ``out`` (rows, dws) for decision ``i``; returns ``n + 1``."""
    rows, dws = out
    bi, si = d.b[i], d.s[i]
    rows[0, n], rows[1, n], rows[2, n], rows[3, n] = bi, st.tick[bi], si, st.account[bi, si]
    rows[4, n], rows[5, n], rows[6, n], rows[7, n] = plate, prod, q, kind
    rows[8, n], rows[9, n] = other, st.cell[bi, si]
    dws[n] = dw
    return n + 1


@numba.njit(cache=True, nogil=True)
def _plate_busy(b, s, plate, phase, st_plate):
    """Someone else in store ``b`` is resting a hand, reaching or holding at ``plate``."""
    for j in range(phase.shape[1]):
        ph = phase[b, j]
        if j != s and (ph == REST or ph == REACH or ph == HOLD) and st_plate[b, j] == plate:
            return True
    return False


@numba.njit(cache=True, nogil=True)
def _first_per_plate(idx, b, plate):
    """Mask over ``idx`` keeping the first of each (store, plate) pair."""
    keep = np.ones(idx.size, np.bool_)
    for r in range(idx.size):
        for q in range(r):
            if b[idx[q]] == b[idx[r]] and plate[q] == plate[r]:
                keep[r] = False
                break
    return keep


@numba.njit(cache=True, nogil=True, inline="always")
def _route(idx, d, st, tb, c):
    """Send decisions ``idx`` to their next stop: a plate of the first product left on the
    list, a random plate to browse, the plate a group leader is heading to (a follower,
    half the time), or the exit (-1); staff go to the emptiest low plate. Every next stop
    is chosen before anyone moves (a follower sees where its leader was heading)."""
    b, s, u = d.b, d.s, d.u
    n_plates = tb.truth.size
    nxt = np.empty(idx.size, np.int64)
    for r in range(idx.size):
        i = idx[r]
        bi, si = b[i], s[i]
        if st.staff[bi, si]:
            nxt[r] = low_plate(bi, st.stock, tb.truth, tb.capacity, c.restock_below)
            continue
        prod = -1
        for k in range(st.want.shape[2]):
            if st.want[bi, si, k] > 0:
                prod = k
                break
        has = prod >= 0
        prod = max(prod, 0)
        left = st.browse[bi, si] > 0
        lead = st.leader[bi, si]
        p = st.partner[bi, si]
        lead_plate = st.plate[bi, max(p, 0)]
        mode = u[i, U_MODE]
        follow = not lead and p >= 0 and lead_plate >= 0 and mode < 0.5 and (has or left)
        use_list = has and not follow and (not left or mode < 0.5 + 0.5 * lead)
        browsing = not use_list and not follow and left
        if left and (follow or browsing):
            st.browse[bi, si] -= 1
        if follow:
            nxt[r] = lead_plate
        elif use_list:
            n_of = tb.n_plates_of[prod]
            on = min(np.int64(u[i, U_PLATE] * n_of), max(n_of - 1, 0))
            nxt[r] = tb.product_plates[prod, on]
        elif browsing:
            nxt[r] = min(np.int64(u[i, U_PLATE] * n_plates), n_plates - 1)
        else:
            nxt[r] = -1
    hw = c.hw
    for r in range(idx.size):
        bi, si = b[idx[r]], s[idx[r]]
        p = nxt[r]
        t = tb.plate_target[p] if p >= 0 else c.exit_target
        st.plate[bi, si] = p
        st.tgt[bi, si] = t
        there = tb.dist_flat[t * hw + st.cell[bi, si]] == 0
        st.phase[bi, si] = ARRIVE if there else WALK
        st.timer[bi, si] = 0 if there else 1


@numba.njit(cache=True, nogil=True, inline="always")
def _move(bi, plate, prod, q, z, sign, st, tb):
    """Move ``q`` items of ``prod`` off (sign -1) or onto (+1) a plate; returns true dw, kg.
    Item weights are drawn as they move (unit weight + sd z); the last item off a plate
    takes whatever load is left."""
    w = q * tb.unit_w[prod] + tb.w_sd[prod] * np.sqrt(q) * min(max(z, -3.0), 3.0)
    w = max(w, 0.2 * q * tb.unit_w[prod])
    st.stock[bi, plate, prod] += sign * q
    st.plate_count[bi, plate] += sign * q
    before = st.weight[bi, plate]
    if sign < 0:
        w = before if st.plate_count[bi, plate] == 0 else min(w, before)
    dw = sign * w
    st.weight[bi, plate] = before + dw
    return dw


@numba.njit(cache=True, nogil=True, inline="always")
def _spawn(d, st, tb, c):
    """Newcomers: walking speed and browsing stops; then their first stop."""
    b, s, u, z = d.b, d.s, d.u, d.z
    grp = np.flatnonzero(d.ph == SPAWN)
    for i in grp:
        bi, si = b[i], s[i]
        if st.staff[bi, si]:
            st.speed[bi, si] = c.staff_speed
            st.browse[bi, si] = 0
        else:
            st.speed[bi, si] = min(max(c.speed_mean + c.speed_sd * z[i, 0], c.speed_lo), c.speed_hi)
            st.browse[bi, si] = np.searchsorted(tb.browse_cdf, u[i, U_DUR], side="right")
    _route(grp, d, st, tb, c)


@numba.njit(cache=True, nogil=True, inline="always")
def _arrive(d, st, c):
    """Arrived at a plate: staff reach to restock; shoppers dwell (at once if joining)."""
    b, s, u = d.b, d.s, d.u
    grp = np.flatnonzero(d.ph == ARRIVE)
    for i in grp:
        bi, si = b[i], s[i]
        if st.staff[bi, si]:
            st.phase[bi, si] = REACH
            st.act[bi, si] = ACT_RESTOCK
            st.timer[bi, si] = _dur(c.restock_lo, c.restock_hi, u[i, U_DUR])
    busy = np.zeros(b.size, np.bool_)
    if c.simultaneous:
        for i in grp:
            if not st.staff[b[i], s[i]]:
                busy[i] = _plate_busy(b[i], s[i], st.plate[b[i], s[i]], st.phase, st.plate)
    for i in grp:
        bi, si = b[i], s[i]
        if not st.staff[bi, si]:
            st.phase[bi, si] = DWELL
            st.timer[bi, si] = 1 if busy[i] else np.int32(max(1.0, d.dwell[i]))


@numba.njit(cache=True, nogil=True, inline="always")
def _dwell_over(d, st, tb, c, out, n):
    """Dwell over: reach (to put an unwanted item down and/or pick the product, maybe
    resting a hand first) or move on. Returns the truth row count."""
    b, s, u = d.b, d.s, d.u
    grp = np.flatnonzero(d.ph == DWELL)
    acting = np.zeros(grp.size, np.bool_)
    for r in range(grp.size):
        bi, si = b[grp[r]], s[grp[r]]
        prod = tb.truth[st.plate[bi, si]]
        acting[r] = st.unwanted[bi, si] >= 0 or st.want[bi, si, prod] > 0
    _route(grp[~acting], d, st, tb, c)
    grp = grp[acting]
    plate = np.empty(grp.size, np.int64)
    for r in range(grp.size):
        plate[r] = st.plate[b[grp[r]], s[grp[r]]]
    if not c.simultaneous:
        free = _first_per_plate(grp, b, plate)
        for r in range(grp.size):
            bi, si = b[grp[r]], s[grp[r]]
            free[r] &= (
                not _plate_busy(bi, si, plate[r], st.phase, st.plate)
                and st.tick[bi] - st.plate_last[bi, plate[r]] >= c.gap
            )
        for r in range(grp.size):
            if not free[r]:
                st.timer[b[grp[r]], s[grp[r]]] = RETRY_TICKS
        grp, plate = grp[free], plate[free]
    for r in range(grp.size):
        i = grp[r]
        bi, si = b[i], s[i]
        prod = tb.truth[plate[r]]
        put = st.unwanted[bi, si] >= 0
        st.act[bi, si] = ACT_PUT_WRONG if put else ACT_PICK
        st.act_prod[bi, si] = st.unwanted[bi, si] if put else prod
        rest = c.hand_rest and u[i, U_MISC] < c.p_hand_rest
        st.phase[bi, si] = REST if rest else REACH
        if rest:
            st.timer[bi, si] = _dur(c.rest_lo, c.rest_hi, u[i, U_DUR])
        else:
            st.timer[bi, si] = _dur(c.reach_lo, c.reach_hi, u[i, U_DUR])
    for r in range(grp.size):
        i = grp[r]
        if st.phase[b[i], s[i]] == REST:
            n = _log(out, n, d, st, i, TOUCH, plate[r], tb.truth[plate[r]], 0, 0.0, -1)
    return n


@numba.njit(cache=True, nogil=True, inline="always")
def _reach_over(d, st, tb, c, out, n):
    """Reach over: items move; one reach per plate and store per tick (others wait a
    tick). Picks, then hand-offs, put-backs and restocks; returns the truth row count."""
    b, s = d.b, d.s
    grp = np.flatnonzero(d.ph == REACH)
    plate = np.empty(grp.size, np.int64)
    for r in range(grp.size):
        plate[r] = st.plate[b[grp[r]], s[grp[r]]]
    keep = _first_per_plate(grp, b, plate)
    grp, plate = grp[keep], plate[keep]
    m = grp.size
    acts = np.empty(m, np.int64)
    for r in range(m):
        bi, si = b[grp[r]], s[grp[r]]
        st.plate_last[bi, plate[r]] = st.tick[bi]
        acts[r] = st.act[bi, si]
    rc = Reaches(
        grp,
        plate,
        acts,
        np.zeros(m, np.bool_),
        np.zeros(m, np.bool_),
        np.empty(m, np.int64),
        np.empty(m, np.int64),
        np.zeros(m, np.bool_),
    )
    n = _picks(rc, d, st, tb, c, out, n)
    _after_picks(rc, d, st, c)
    if c.handoffs:
        n = _handoffs(rc, d, st, c, out, n)
    n = _put_backs(rc, d, st, tb, c, out, n)
    n = _restocks(rc, d, st, tb, out, n)
    _route(grp[rc.done], d, st, tb, c)
    return n


@numba.njit(cache=True, nogil=True, inline="always")
def _picks(rc, d, st, tb, c, out, n):
    """What each pick takes (its product, or a foreign item on the plate; one or several
    units), then the items leave the plate for the basket."""
    b, s, u, z = d.b, d.s, d.u, d.z
    for r in range(rc.grp.size):
        if rc.acts[r] != ACT_PICK:
            continue
        i = rc.grp[r]
        bi, si, pl = b[i], s[i], rc.plate[r]
        prod = st.act_prod[bi, si]
        have = st.stock[bi, pl, prod]
        foreign = st.plate_count[bi, pl] - have
        take_f = foreign > 0 and u[i, U_MISC] < c.p_take_foreign
        wanted = np.int64(st.want[bi, si, prod])
        q = min(wanted, 1)
        if c.multi_item:
            q = max(wanted, 1) + (u[i, U_MULTI] < c.p_multi) + (u[i, U_MULTI] < c.p_multi / 3)
        mv = prod
        if take_f:
            best = -1
            for k in range(st.stock.shape[2]):
                if k != prod and st.stock[bi, pl, k] > best:
                    best, mv = st.stock[bi, pl, k], k
            if best <= 0:  # all others empty: the first 0, as NumPy's argmax
                mv = min(mv, prod)
        q = 1 if take_f else min(q, have)
        st.want[bi, si, prod] = max(wanted - q, 0) if (take_f or have > 0) else 0
        rc.moved[r], rc.qty[r] = mv, q
        rc.picked[r] = q > 0
        rc.done[r] = q <= 0
    for r in range(rc.grp.size):
        if rc.picked[r]:
            i = rc.grp[r]
            bi, si = b[i], s[i]
            dw = _move(bi, rc.plate[r], rc.moved[r], rc.qty[r], z[i, 1], -1, st, tb)
            st.basket[bi, si, rc.moved[r]] += rc.qty[r]
            n = _log(out, n, d, st, i, PICK, rc.plate[r], rc.moved[r], rc.qty[r], dw, -1)
    return n


@numba.njit(cache=True, nogil=True, inline="always")
def _after_picks(rc, d, st, c):
    """After a pick: look at it and put it back (here, or later on a wrong plate), reach
    again for more of the product, or move on."""
    b, s, u = d.b, d.s, d.u
    for r in range(rc.grp.size):
        if not rc.picked[r]:
            continue
        i = rc.grp[r]
        bi, si = b[i], s[i]
        rc.back[r] = u[i, U_PUTBACK] < c.p_putback
        later = False
        if (
            c.wrong_put_back
            and rc.back[r]
            and u[i, U_WRONG] < c.p_wrong_place
            and st.unwanted[bi, si] < 0
        ):
            more = st.browse[bi, si] > 0
            for k in range(st.want.shape[2]):
                more = more or st.want[bi, si, k] > 0
            if more:
                later = True
                st.unwanted[bi, si] = rc.moved[r]
        if rc.back[r] and not later:
            st.act[bi, si] = ACT_PUT_SAME
            st.act_prod[bi, si] = rc.moved[r]
            st.phase[bi, si] = HOLD
            st.timer[bi, si] = _dur(c.look_lo, c.look_hi, u[i, U_DUR])
            continue
        prod = st.act_prod[bi, si]
        if not rc.back[r] and st.want[bi, si, prod] > 0 and st.stock[bi, rc.plate[r], prod] > 0:
            st.phase[bi, si] = REACH
            st.timer[bi, si] = _dur(c.reach_lo, c.reach_hi, u[i, U_DUR])
        else:
            rc.done[r] = True


@numba.njit(cache=True, nogil=True, inline="always")
def _handoffs(rc, d, st, c, out, n):
    """A group member near its partner hands over what it just picked (and keeps)."""
    b, s, u = d.b, d.s, d.u
    w = c.width
    for r in range(rc.grp.size):
        if not rc.picked[r] or rc.back[r]:
            continue
        i = rc.grp[r]
        bi, si = b[i], s[i]
        p = st.partner[bi, si]
        pc, cl = st.cell[bi, max(p, 0)], st.cell[bi, si]
        near = abs(pc // w - cl // w) + abs(pc % w - cl % w) <= c.handoff_cells
        if p >= 0 and near and u[i, U_HANDOFF] < c.p_handoff:
            st.basket[bi, si, rc.moved[r]] -= rc.qty[r]
            st.basket[bi, p, rc.moved[r]] += rc.qty[r]
            n = _log(out, n, d, st, i, K_HANDOFF, -1, rc.moved[r], rc.qty[r], 0.0, p)
    return n


@numba.njit(cache=True, nogil=True, inline="always")
def _put_backs(rc, d, st, tb, c, out, n):
    """Put-backs (here, then the unwanted item on this wrong plate); after the latter,
    reach for what it came for."""
    b, s, u, z = d.b, d.s, d.u, d.z
    for code in (ACT_PUT_SAME, ACT_PUT_WRONG):
        for r in range(rc.grp.size):
            if rc.acts[r] != code:
                continue
            i = rc.grp[r]
            bi, si = b[i], s[i]
            prod = st.act_prod[bi, si]
            if st.basket[bi, si, prod] > 0:
                st.basket[bi, si, prod] -= 1
                dw = _move(bi, rc.plate[r], prod, 1, z[i, 1], 1, st, tb)
                n = _log(out, n, d, st, i, PUT, rc.plate[r], prod, 1, dw, -1)
        for r in range(rc.grp.size):
            if rc.acts[r] != code:
                continue
            i = rc.grp[r]
            bi, si = b[i], s[i]
            rc.done[r] = True
            if st.act[bi, si] == ACT_PUT_WRONG:
                st.unwanted[bi, si] = -1
                target = tb.truth[rc.plate[r]]
                if st.want[bi, si, target] > 0:
                    st.act[bi, si] = ACT_PICK
                    st.act_prod[bi, si] = target
                    st.timer[bi, si] = _dur(c.reach_lo, c.reach_hi, u[i, U_DUR])
                    rc.done[r] = False
    return n


@numba.njit(cache=True, nogil=True, inline="always")
def _restocks(rc, d, st, tb, out, n):
    """Staff fill the plate's true product up to capacity."""
    for r in range(rc.grp.size):
        if rc.acts[r] != ACT_RESTOCK:
            continue
        i = rc.grp[r]
        bi, pl = d.b[i], rc.plate[r]
        prod = tb.truth[pl]
        add = max(tb.capacity[pl] - st.stock[bi, pl, prod], 0)
        if add > 0:
            dw = _move(bi, pl, prod, add, d.z[i, 1], 1, st, tb)
            st.restocked[bi, prod] += add
            n = _log(out, n, d, st, i, RESTOCK, pl, prod, add, dw, -1)
        rc.done[r] = True
    return n
