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
staff member comes in, refills the lowest plates one by one (RESTOCK, never
chargeable) and leaves. Staff are tracked by cameras but carry no account (-1).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from retail_env.sim import shoppers
from retail_env.sim.shoppers import (
    U_DUR,
    U_HANDOFF,
    U_MISC,
    U_MULTI,
    U_PUTBACK,
    U_WRONG,
    Ctx,
    enter,
    split_uniforms,
)
from retail_env.sim.state import (
    ARRIVE,
    DWELL,
    FREE,
    HOLD,
    PICK,
    PUT,
    REACH,
    REST,
    RESTOCK,
    SPAWN,
    TOUCH,
)
from retail_env.sim.state import HANDOFF as K_HANDOFF

# What the current reach does.
ACT_PICK, ACT_PUT_SAME, ACT_PUT_WRONG, ACT_RESTOCK = 1, 2, 3, 4
RETRY_TICKS = 5  # a blocked reach looks again after 0.5 s
EV_DOUBLES = 3   # BatchRNG doubles per decision slot (12 uniforms: 8 used + 2 normals)


def _dur(lohi: tuple[float, float], u: np.ndarray) -> np.ndarray:
    return np.maximum(1, (lohi[0] + (lohi[1] - lohi[0]) * u).astype(np.int32))


def _first_per_plate(b, plate, n_plates: int) -> np.ndarray:
    """Mask keeping the first row of each (store, plate) pair."""
    key = b * n_plates + plate
    keep = np.zeros(len(key), bool)
    keep[np.unique(key, return_index=True)[1]] = True
    return keep


def route(ctx: Ctx, b, s, u) -> None:
    """Send ``(b, s)`` to their next stop (staff: the lowest plate)."""
    is_staff = ctx.st.staff[b, s]
    plate = np.empty(len(b), np.int64)
    if is_staff.any():
        plate[is_staff] = low_plate(ctx, b[is_staff])
    if not is_staff.all():
        sh = ~is_staff
        plate[sh] = shoppers.next_plate(ctx, b[sh], s[sh], u[sh])
    shoppers.head_to(ctx, b, s, plate)


def decide(ctx: Ctx, b, s, ph) -> None:
    """Take the decisions due at ``(b, s)`` (phases ``ph``; ``b`` sorted), up to E per store.

    The j-th decision of a store this tick uses that store's j-th decision slot of
    draws; decisions beyond E wait a tick.
    """
    pr = ctx.pr
    e = np.arange(len(b)) - np.searchsorted(b, b)
    E = pr.t["events"]
    if e.max() >= E:
        keep = e < E
        b, s, ph, e = b[keep], s[keep], ph[keep], e[keep]
    cols = pr.t["u_ev"] + EV_DOUBLES * e[:, None] + np.arange(EV_DOUBLES)
    x = split_uniforms(ctx.u[b[:, None], cols])
    u, z = x[:, :8], ndtri(x[:, 8:10])
    for code, handler in ((SPAWN, _spawn), (ARRIVE, _arrive), (DWELL, _dwell_end),
                          (REST, _to_reach), (HOLD, _to_reach), (REACH, _reach_end)):
        m = ph == code
        if m.any():
            handler(ctx, b[m], s[m], u[m], z[m])


def _spawn(ctx: Ctx, b, s, u, z) -> None:
    """Walking speed and browsing stops of a newcomer; then its first stop."""
    st, pr = ctx.st, ctx.pr
    mean, sd, lo, hi = pr.t["speed"]
    is_staff = st.staff[b, s]
    st.speed[b, s] = np.where(is_staff, pr.t["staff_speed"], np.clip(mean + sd * z[:, 0], lo, hi))
    n_browse = np.searchsorted(pr.browse_cdf, u[:, U_DUR], side="right")
    st.browse[b, s] = np.where(is_staff, 0, n_browse)
    route(ctx, b, s, u)


def _arrive(ctx: Ctx, b, s, u, z) -> None:
    st, pr = ctx.st, ctx.pr
    out = st.plate[b, s] < 0
    if out.any():
        shoppers.leave(ctx, b[out], s[out])
    is_staff = st.staff[b, s] & ~out
    if is_staff.any():
        bs, ss = b[is_staff], s[is_staff]
        st.phase[bs, ss] = REACH
        st.act[bs, ss] = ACT_RESTOCK
        st.timer[bs, ss] = _dur(pr.t["restock"], u[is_staff, U_DUR])
    sh = ~out & ~is_staff
    if not sh.any():
        return
    b, s = b[sh], s[sh]
    dwell = np.maximum(1, np.exp(pr.t["dwell_mu"] + pr.t["dwell_sd"] * z[sh, 0])).astype(np.int32)
    if pr.config.hard.simultaneous_picks:  # join someone already handling the plate
        busy = _plate_busy(st, b, s, st.plate[b, s])
        dwell = np.where(busy, 1, dwell)
    st.phase[b, s] = DWELL
    st.timer[b, s] = dwell


def _plate_busy(st, b, s, plate) -> np.ndarray:
    """Someone else in the store is resting a hand, reaching or holding at ``plate``."""
    ph = st.phase[b]
    handling = (ph == REST) | (ph == REACH) | (ph == HOLD)
    other = np.arange(ph.shape[1])[None, :] != s[:, None]
    return (handling & other & (st.plate[b] == plate[:, None])).any(axis=1)


def _dwell_end(ctx: Ctx, b, s, u, z) -> None:
    """Reach (to put an unwanted item down and/or pick the product) or move on."""
    st, pr = ctx.st, ctx.pr
    plate = st.plate[b, s]
    prod = pr.planogram.truth[plate]
    unwanted = st.unwanted[b, s]
    acting = (unwanted >= 0) | (st.want[b, s, prod] > 0)
    if not acting.all():
        done = ~acting
        route(ctx, b[done], s[done], u[done])
        b, s, u, plate, prod, unwanted = (a[acting] for a in (b, s, u, plate, prod, unwanted))
    if not len(b):
        return
    if not pr.config.hard.simultaneous_picks:
        free = ~_plate_busy(st, b, s, plate) & (st.tick[b] - st.plate_last[b, plate] >= pr.t["gap"])
        free &= _first_per_plate(b, plate, pr.n_plates)
        st.timer[b[~free], s[~free]] = RETRY_TICKS
        b, s, u, plate, prod, unwanted = (a[free] for a in (b, s, u, plate, prod, unwanted))
    put = unwanted >= 0
    st.act[b, s] = np.where(put, ACT_PUT_WRONG, ACT_PICK)
    st.act_prod[b, s] = np.where(put, unwanted, prod)
    rest = (u[:, U_MISC] < pr.config.shoppers.p_hand_rest) if pr.config.hard.hand_rest \
        else np.zeros(len(b), bool)
    st.phase[b, s] = np.where(rest, REST, REACH)
    st.timer[b, s] = np.where(rest, _dur(pr.t["rest"], u[:, U_DUR]), _dur(pr.t["reach"], u[:, U_DUR]))
    if rest.any():
        ctx.log(TOUCH, b[rest], s[rest], plate[rest], prod[rest], 0, 0.0)


def _to_reach(ctx: Ctx, b, s, u, z) -> None:
    """After a resting hand or a look at the item: reach."""
    st = ctx.st
    st.phase[b, s] = REACH
    st.timer[b, s] = _dur(ctx.pr.t["reach"], u[:, U_DUR])


def _reach_end(ctx: Ctx, b, s, u, z) -> None:
    """The reach moves items; one reach per plate and store per tick (others wait a tick)."""
    st, pr = ctx.st, ctx.pr
    plate = st.plate[b, s]
    keep = _first_per_plate(b, plate, pr.n_plates)
    if not keep.all():
        b, s, u, z, plate = b[keep], s[keep], u[keep], z[keep], plate[keep]
    st.plate_last[b, plate] = st.tick[b]
    act = st.act[b, s]
    done = np.zeros(len(b), bool)
    for code, fn in ((ACT_PICK, _pick), (ACT_PUT_SAME, _put), (ACT_PUT_WRONG, _put),
                     (ACT_RESTOCK, _restock)):
        m = act == code
        if m.any():
            done[m] = fn(ctx, b[m], s[m], u[m], z[m], plate[m])
    if done.any():
        route(ctx, b[done], s[done], u[done])


def _move(st, pr, b, plate, prod, q, z, sign: int) -> np.ndarray:
    """Move ``q`` items of ``prod`` off (sign -1) or onto (+1) plates; returns true dw, kg."""
    w = q * pr.unit_w[prod] + pr.w_sd[prod] * np.sqrt(q) * np.clip(z, -3.0, 3.0)
    w = np.maximum(w, 0.2 * q * pr.unit_w[prod])
    st.stock[b, plate, prod] += sign * q
    st.plate_count[b, plate] += sign * q
    before = st.weight[b, plate]
    if sign < 0:  # the last item takes whatever load is left
        w = np.where(st.plate_count[b, plate] == 0, before, np.minimum(w, before))
    dw = sign * w
    st.weight[b, plate] = before + dw
    return dw


def _pick(ctx: Ctx, b, s, u, z, plate) -> np.ndarray:
    st, pr = ctx.st, ctx.pr
    hard, sh = pr.config.hard, pr.config.shoppers
    prod = st.act_prod[b, s]
    have = st.stock[b, plate, prod]
    foreign = st.plate_count[b, plate] - have
    take_f = (foreign > 0) & (u[:, U_MISC] < sh.p_take_foreign)
    want = st.want[b, s, prod].astype(np.int64)
    q = np.minimum(want, 1)
    if hard.multi_item:
        extra = (u[:, U_MULTI] < sh.p_multi).astype(np.int64) + (u[:, U_MULTI] < sh.p_multi / 3)
        q = np.maximum(want, 1) + extra
    moved = prod.copy()
    if take_f.any():
        other = st.stock[b[take_f], plate[take_f]].copy()
        other[np.arange(take_f.sum()), prod[take_f]] = 0
        moved[take_f] = other.argmax(axis=1)
    q = np.where(take_f, 1, np.minimum(q, have))
    st.want[b, s, prod] = np.where(take_f | (have > 0), np.maximum(want - q, 0), 0)
    got = q > 0
    done = ~got
    if not got.any():
        return done
    b, s, u, z, plate, prod, moved, q = (a[got] for a in (b, s, u, z, plate, prod, moved, q))
    dw = _move(st, pr, b, plate, moved, q, z[:, 1], -1)
    np.add.at(st.basket, (b, s, moved), q)
    ctx.log(PICK, b, s, plate, moved, q, dw)
    # what next: put one back (here, or later at a wrong plate), hand it over, pick again
    back = u[:, U_PUTBACK] < sh.p_putback
    later = np.zeros(len(b), bool)
    if hard.wrong_put_back:
        more = (st.want[b, s] > 0).any(axis=1) | (st.browse[b, s] > 0)
        later = back & more & (u[:, U_WRONG] < sh.p_wrong_place) & (st.unwanted[b, s] < 0)
        st.unwanted[b[later], s[later]] = moved[later]
    here = back & ~later
    st.act[b[here], s[here]] = ACT_PUT_SAME
    st.act_prod[b[here], s[here]] = moved[here]
    st.phase[b[here], s[here]] = HOLD
    st.timer[b[here], s[here]] = _dur(pr.t["look"], u[here, U_DUR])
    if hard.handoffs:
        _handoff(ctx, b, s, u, moved, q, ~back)
    again = ~back & (st.want[b, s, prod] > 0) & (st.stock[b, plate, prod] > 0)
    st.phase[b[again], s[again]] = REACH
    st.timer[b[again], s[again]] = _dur(pr.t["reach"], u[again, U_DUR])
    done[np.flatnonzero(got)[~here & ~again]] = True
    return done


def _handoff(ctx: Ctx, b, s, u, prod, q, allowed) -> None:
    """A group member near its partner hands over what it just picked."""
    st, pr = ctx.st, ctx.pr
    p = st.partner[b, s]
    w = pr.t["width"]
    pc = st.cell[b, np.maximum(p, 0)]
    c = st.cell[b, s]
    near = np.abs(pc // w - c // w) + np.abs(pc % w - c % w) <= pr.config.shoppers.handoff_cells
    give = allowed & (p >= 0) & near & (u[:, U_HANDOFF] < pr.config.shoppers.p_handoff)
    if not give.any():
        return
    b, s, p, prod, q = b[give], s[give], p[give], prod[give], q[give]
    np.subtract.at(st.basket, (b, s, prod), q)
    np.add.at(st.basket, (b, p, prod), q)
    ctx.log(K_HANDOFF, b, s, -1, prod, q, 0.0, other=p)


def _put(ctx: Ctx, b, s, u, z, plate) -> np.ndarray:
    """Put one item back (same plate, or the unwanted item on this wrong plate)."""
    st, pr = ctx.st, ctx.pr
    prod = st.act_prod[b, s]
    ok = st.basket[b, s, prod] > 0
    if ok.any():
        bo, so, po, pl = b[ok], s[ok], prod[ok], plate[ok]
        np.subtract.at(st.basket, (bo, so, po), 1)
        dw = _move(st, pr, bo, pl, po, np.ones(len(bo), np.int64), z[ok, 1], +1)
        ctx.log(PUT, bo, so, pl, po, 1, dw)
    wrong = st.act[b, s] == ACT_PUT_WRONG
    st.unwanted[b[wrong], s[wrong]] = -1
    # after leaving the unwanted item, pick what this plate was visited for
    target = pr.planogram.truth[plate]
    then_pick = wrong & (st.want[b, s, target] > 0)
    bp, sp = b[then_pick], s[then_pick]
    st.act[bp, sp] = ACT_PICK
    st.act_prod[bp, sp] = target[then_pick]
    st.timer[bp, sp] = _dur(pr.t["reach"], u[then_pick, U_DUR])
    return ~then_pick


def _restock(ctx: Ctx, b, s, u, z, plate) -> np.ndarray:
    """Staff fill the plate's true product up to capacity."""
    st, pr = ctx.st, ctx.pr
    prod = pr.planogram.truth[plate]
    add = np.maximum(pr.planogram.capacity[plate] - st.stock[b, plate, prod], 0)
    m = add > 0
    if m.any():
        b2, s2, pl, pr2, a2 = b[m], s[m], plate[m], prod[m], add[m]
        dw = _move(st, pr, b2, pl, pr2, a2, z[m, 1], +1)
        np.add.at(st.restocked, (b2, pr2), a2)
        ctx.log(RESTOCK, b2, s2, pl, pr2, a2, dw)
    return np.ones(len(b), bool)


# --- staff ------------------------------------------------------------------

def _fill(ctx: Ctx, b) -> np.ndarray:
    """(n, P) share of capacity held of each plate's true product."""
    st, pr = ctx.st, ctx.pr
    plano = pr.planogram
    held = st.stock[b[:, None], np.arange(pr.n_plates)[None, :], plano.truth[None, :]]
    return held / plano.capacity


def low_plate(ctx: Ctx, b) -> np.ndarray:
    """The emptiest low plate of each store ``b`` (-1 if none is low)."""
    fill = _fill(ctx, b)
    k = fill.argmin(axis=1)
    low = fill[np.arange(len(b)), k] < ctx.pr.config.staff.restock_below
    return np.where(low, k, -1)


def maybe_spawn(ctx: Ctx) -> None:
    """Send a staff member in where a check is due, the slot is free and a plate is low."""
    st, pr = ctx.st, ctx.pr
    due = (st.tick % pr.t["check"] == 0) & (st.phase[:, 0] == FREE)
    if not due.any():
        return
    b = np.flatnonzero(due)
    b = b[(_fill(ctx, b) < pr.config.staff.restock_below).any(axis=1)]
    if not len(b):
        return
    s = np.zeros(len(b), np.int64)
    enter(ctx, b, s, pr.layout.entry_cells[0], -1, False, True, -1, True)
