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
phase group as the NumPy model did, and reads what a group's decisions share before
the group writes, so draws, state and truth rows are the same bit for bit. The
transcendental parts (normal quantiles, the dwell exp) stay in NumPy.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
from scipy.special import ndtri

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
TRUTH_COLS = ("store", "tick", "shopper", "account", "plate", "product", "qty", "kind",
              "other", "cell")


@functools.lru_cache(maxsize=32)
def _consts(pr) -> tuple[np.ndarray, np.ndarray]:
    """The params the decisions need, as one float64 and one int64 table (fewer kernel args)."""
    t, sh, hard = pr.t, pr.config.shoppers, pr.config.hard
    f = np.array([*t["speed"], t["staff_speed"], *t["reach"], *t["look"], *t["rest"],
                  *t["restock"], sh.p_hand_rest, sh.p_take_foreign, sh.p_multi, sh.p_putback,
                  sh.p_wrong_place, sh.p_handoff, pr.config.staff.restock_below], np.float64)
    i = np.array([t["hw"], t["exit_target"], t["width"], t["gap"], sh.handoff_cells,
                  hard.simultaneous_picks, hard.hand_rest, hard.multi_item, hard.wrong_put_back,
                  hard.handoffs], np.int64)
    return f, i


# float table
SPEED_MEAN, SPEED_SD, SPEED_LO, SPEED_HI, STAFF_SPEED, REACH_LO, REACH_HI, LOOK_LO, LOOK_HI, \
    REST_LO, REST_HI, RESTOCK_LO, RESTOCK_HI, P_HAND_REST, P_TAKE_FOREIGN, P_MULTI, P_PUTBACK, \
    P_WRONG_PLACE, P_HANDOFF, RESTOCK_BELOW = range(20)
# int table
HW, EXIT_TARGET, WIDTH, GAP, HANDOFF_CELLS, SIMULTANEOUS, HAND_REST, MULTI_ITEM, \
    WRONG_PUT_BACK, HANDOFFS = range(10)


def decide(ctx: Ctx, due: np.ndarray, x: np.ndarray) -> None:
    """Take the decisions ``due`` (3, n): rows store, slot, phase, at most E per store.

    ``shoppers.advance`` picked them (the j-th decision of a store this tick has that
    store's j-th decision slot of draws; decisions beyond E wait a tick; shoppers at the
    exit have left) and split their draws into ``x`` (n, 12) uniforms; the normal
    quantiles and the dwell exp are NumPy's, the decisions run in ``_decide_kernel``.
    """
    st, pr = ctx.st, ctx.pr
    b, s, ph = due
    u, z = x[:, :8], ndtri(x[:, 8:10])
    dwell = np.exp(pr.t["dwell_mu"] + pr.t["dwell_sd"] * z[:, 0])
    cf, ci = _consts(pr)
    plano = pr.planogram
    rows = np.empty((len(TRUTH_COLS), 3 * len(b)), np.int64)
    dw = np.empty(3 * len(b), np.float64)
    n = _decide_kernel(b, s, ph, u, z, dwell, st.phase, st.timer, st.plate, st.tgt, st.cell,
                       st.act, st.act_prod, st.unwanted, st.want, st.basket, st.stock,
                       st.plate_count, st.weight, st.plate_last, st.speed, st.browse, st.partner,
                       st.leader, st.staff, st.account, st.tick, st.restocked, plano.truth,
                       plano.capacity, plano.n_plates_of, plano.product_plates, pr.plate_target,
                       pr.dist_flat, pr.unit_w, pr.w_sd, pr.browse_cdf, cf, ci, rows, dw)
    if n:
        ctx.truth.append(dict(zip(TRUTH_COLS, rows[:, :n], strict=True), dw=dw[:n]))


@numba.njit(cache=True, nogil=True)
def _dur(lo, hi, u):
    return max(1, np.int32(lo + (hi - lo) * u))


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


@numba.njit(cache=True, nogil=True)
def _route(idx, b, s, u, phase, timer, st_plate, tgt, cell, want, browse, partner, leader,
           staff, stock, truth, capacity, n_plates_of, product_plates, plate_target, dist_flat,
           cf, ci):
    """Send candidates ``idx`` to their next stop: a plate of the first product left on the
    list, a random plate to browse, the plate a group leader is heading to (a follower,
    half the time), or the exit (-1); staff go to the emptiest low plate. Every next stop
    is chosen before anyone moves (a follower sees where its leader was heading)."""
    n_plates = truth.size
    nxt = np.empty(idx.size, np.int64)
    for r in range(idx.size):
        i = idx[r]
        bi, si = b[i], s[i]
        if staff[bi, si]:
            nxt[r] = low_plate(bi, stock, truth, capacity, cf[RESTOCK_BELOW])
            continue
        prod = -1
        for k in range(want.shape[2]):
            if want[bi, si, k] > 0:
                prod = k
                break
        has = prod >= 0
        prod = max(prod, 0)
        left = browse[bi, si] > 0
        lead = leader[bi, si]
        p = partner[bi, si]
        lead_plate = st_plate[bi, max(p, 0)]
        mode = u[i, U_MODE]
        follow = not lead and p >= 0 and lead_plate >= 0 and mode < 0.5 and (has or left)
        use_list = has and not follow and (not left or mode < 0.5 + 0.5 * lead)
        browsing = not use_list and not follow and left
        if left and (follow or browsing):
            browse[bi, si] -= 1
        if follow:
            nxt[r] = lead_plate
        elif use_list:
            n_of = n_plates_of[prod]
            on = min(np.int64(u[i, U_PLATE] * n_of), max(n_of - 1, 0))
            nxt[r] = product_plates[prod, on]
        elif browsing:
            nxt[r] = min(np.int64(u[i, U_PLATE] * n_plates), n_plates - 1)
        else:
            nxt[r] = -1
    hw = ci[HW]
    for r in range(idx.size):
        bi, si = b[idx[r]], s[idx[r]]
        p = nxt[r]
        t = plate_target[p] if p >= 0 else ci[EXIT_TARGET]
        st_plate[bi, si] = p
        tgt[bi, si] = t
        there = dist_flat[t * hw + cell[bi, si]] == 0
        phase[bi, si] = ARRIVE if there else WALK
        timer[bi, si] = 0 if there else 1


@numba.njit(cache=True, nogil=True)
def _move(bi, plate, prod, q, z, sign, stock, plate_count, weight, unit_w, w_sd):
    """Move ``q`` items of ``prod`` off (sign -1) or onto (+1) a plate; returns true dw, kg.
    Item weights are drawn as they move (unit weight + sd z); the last item off a plate
    takes whatever load is left."""
    w = q * unit_w[prod] + w_sd[prod] * np.sqrt(q) * min(max(z, -3.0), 3.0)
    w = max(w, 0.2 * q * unit_w[prod])
    stock[bi, plate, prod] += sign * q
    plate_count[bi, plate] += sign * q
    before = weight[bi, plate]
    if sign < 0:
        w = before if plate_count[bi, plate] == 0 else min(w, before)
    dw = sign * w
    weight[bi, plate] = before + dw
    return dw


@numba.njit(cache=True, nogil=True)
def _decide_kernel(b, s, ph, u, z, dwell, phase, timer, st_plate, tgt, cell, act, act_prod,
                   unwanted, want, basket, stock, plate_count, weight, plate_last, speed, browse,
                   partner, leader, staff, account, tick, restocked, truth, capacity, n_plates_of,
                   product_plates, plate_target, dist_flat, unit_w, w_sd, browse_cdf, cf, ci, rows,
                   dws):
    """Every decision of the tick, phase group by phase group in the order of the NumPy
    model this replaces (spawn, arrive, dwell end, rest/hold end, reach end); inside a
    group, what each decision reads is read before the group writes. Truth rows go to
    ``rows``/``dws`` in that order; returns how many."""
    nrow = 0

    def log(kind, i, plate, prod, q, dw, other, nrow):
        bi, si = b[i], s[i]
        rows[0, nrow], rows[1, nrow], rows[2, nrow], rows[3, nrow] = bi, tick[bi], si, account[bi, si]
        rows[4, nrow], rows[5, nrow], rows[6, nrow], rows[7, nrow] = plate, prod, q, kind
        rows[8, nrow], rows[9, nrow] = other, cell[bi, si]
        dws[nrow] = dw
        return nrow + 1

    route_args = (phase, timer, st_plate, tgt, cell, want, browse, partner, leader, staff, stock,
                  truth, capacity, n_plates_of, product_plates, plate_target, dist_flat, cf, ci)
    # spawn: walking speed and browsing stops of a newcomer; then its first stop
    grp = np.flatnonzero(ph == SPAWN)
    for i in grp:
        bi, si = b[i], s[i]
        if staff[bi, si]:
            speed[bi, si] = cf[STAFF_SPEED]
            browse[bi, si] = 0
        else:
            speed[bi, si] = min(max(cf[SPEED_MEAN] + cf[SPEED_SD] * z[i, 0], cf[SPEED_LO]),
                                cf[SPEED_HI])
            browse[bi, si] = np.searchsorted(browse_cdf, u[i, U_DUR], side="right")
    _route(grp, b, s, u, *route_args)
    # arrive at a plate: staff reach to restock; shoppers dwell (at once if joining)
    grp = np.flatnonzero(ph == ARRIVE)
    for i in grp:
        bi, si = b[i], s[i]
        if staff[bi, si]:
            phase[bi, si] = REACH
            act[bi, si] = ACT_RESTOCK
            timer[bi, si] = _dur(cf[RESTOCK_LO], cf[RESTOCK_HI], u[i, U_DUR])
    busy = np.zeros(b.size, np.bool_)
    if ci[SIMULTANEOUS]:
        for i in grp:
            if not staff[b[i], s[i]]:
                busy[i] = _plate_busy(b[i], s[i], st_plate[b[i], s[i]], phase, st_plate)
    for i in grp:
        bi, si = b[i], s[i]
        if not staff[bi, si]:
            phase[bi, si] = DWELL
            timer[bi, si] = 1 if busy[i] else np.int32(max(1.0, dwell[i]))
    # dwell over: reach (to put an unwanted item down and/or pick the product) or move on
    grp = np.flatnonzero(ph == DWELL)
    acting = np.zeros(grp.size, np.bool_)
    for r in range(grp.size):
        bi, si = b[grp[r]], s[grp[r]]
        prod = truth[st_plate[bi, si]]
        acting[r] = unwanted[bi, si] >= 0 or want[bi, si, prod] > 0
    _route(grp[~acting], b, s, u, *route_args)
    grp = grp[acting]
    plate = np.empty(grp.size, np.int64)
    for r in range(grp.size):
        plate[r] = st_plate[b[grp[r]], s[grp[r]]]
    if not ci[SIMULTANEOUS]:
        free = _first_per_plate(grp, b, plate)
        for r in range(grp.size):
            bi, si = b[grp[r]], s[grp[r]]
            free[r] &= (not _plate_busy(bi, si, plate[r], phase, st_plate)
                        and tick[bi] - plate_last[bi, plate[r]] >= ci[GAP])
        for r in range(grp.size):
            if not free[r]:
                timer[b[grp[r]], s[grp[r]]] = RETRY_TICKS
        grp, plate = grp[free], plate[free]
    for r in range(grp.size):
        i = grp[r]
        bi, si = b[i], s[i]
        prod = truth[plate[r]]
        put = unwanted[bi, si] >= 0
        act[bi, si] = ACT_PUT_WRONG if put else ACT_PICK
        act_prod[bi, si] = unwanted[bi, si] if put else prod
        rest = ci[HAND_REST] and u[i, U_MISC] < cf[P_HAND_REST]
        phase[bi, si] = REST if rest else REACH
        if rest:
            timer[bi, si] = _dur(cf[REST_LO], cf[REST_HI], u[i, U_DUR])
        else:
            timer[bi, si] = _dur(cf[REACH_LO], cf[REACH_HI], u[i, U_DUR])
    for r in range(grp.size):
        i = grp[r]
        if phase[b[i], s[i]] == REST:
            nrow = log(TOUCH, i, plate[r], truth[plate[r]], 0, 0.0, -1, nrow)
    # a resting hand or a look at the item is over: reach
    for i in range(b.size):
        if ph[i] == REST or ph[i] == HOLD:
            phase[b[i], s[i]] = REACH
            timer[b[i], s[i]] = _dur(cf[REACH_LO], cf[REACH_HI], u[i, U_DUR])
    # reach over: items move; one reach per plate and store per tick (others wait a tick)
    grp = np.flatnonzero(ph == REACH)
    plate = np.empty(grp.size, np.int64)
    for r in range(grp.size):
        plate[r] = st_plate[b[grp[r]], s[grp[r]]]
    keep = _first_per_plate(grp, b, plate)
    grp, plate = grp[keep], plate[keep]
    acts = np.empty(grp.size, np.int64)
    for r in range(grp.size):
        bi, si = b[grp[r]], s[grp[r]]
        plate_last[bi, plate[r]] = tick[bi]
        acts[r] = act[bi, si]
    done = np.zeros(grp.size, np.bool_)
    # picks
    picked = np.zeros(grp.size, np.bool_)
    moved = np.empty(grp.size, np.int64)
    qty = np.empty(grp.size, np.int64)
    for r in range(grp.size):
        if acts[r] != ACT_PICK:
            continue
        i = grp[r]
        bi, si, pl = b[i], s[i], plate[r]
        prod = act_prod[bi, si]
        have = stock[bi, pl, prod]
        foreign = plate_count[bi, pl] - have
        take_f = foreign > 0 and u[i, U_MISC] < cf[P_TAKE_FOREIGN]
        wanted = np.int64(want[bi, si, prod])
        q = min(wanted, 1)
        if ci[MULTI_ITEM]:
            q = max(wanted, 1) + (u[i, U_MULTI] < cf[P_MULTI]) + (u[i, U_MULTI] < cf[P_MULTI] / 3)
        mv = prod
        if take_f:
            best = -1
            for k in range(stock.shape[2]):
                if k != prod and stock[bi, pl, k] > best:
                    best, mv = stock[bi, pl, k], k
            if best <= 0:              # all others empty: the first 0, as NumPy's argmax
                mv = min(mv, prod)
        q = 1 if take_f else min(q, have)
        want[bi, si, prod] = max(wanted - q, 0) if (take_f or have > 0) else 0
        moved[r], qty[r] = mv, q
        picked[r] = q > 0
        done[r] = q <= 0
    for r in range(grp.size):
        if picked[r]:
            i = grp[r]
            bi, si = b[i], s[i]
            dw = _move(bi, plate[r], moved[r], qty[r], z[i, 1], -1, stock, plate_count, weight,
                       unit_w, w_sd)
            basket[bi, si, moved[r]] += qty[r]
            nrow = log(PICK, i, plate[r], moved[r], qty[r], dw, -1, nrow)
    back = np.zeros(grp.size, np.bool_)
    for r in range(grp.size):
        if not picked[r]:
            continue
        i = grp[r]
        bi, si = b[i], s[i]
        back[r] = u[i, U_PUTBACK] < cf[P_PUTBACK]
        later = False
        if ci[WRONG_PUT_BACK] and back[r] and u[i, U_WRONG] < cf[P_WRONG_PLACE] \
                and unwanted[bi, si] < 0:
            more = browse[bi, si] > 0
            for k in range(want.shape[2]):
                more = more or want[bi, si, k] > 0
            if more:
                later = True
                unwanted[bi, si] = moved[r]
        if back[r] and not later:
            act[bi, si] = ACT_PUT_SAME
            act_prod[bi, si] = moved[r]
            phase[bi, si] = HOLD
            timer[bi, si] = _dur(cf[LOOK_LO], cf[LOOK_HI], u[i, U_DUR])
            continue
        prod = act_prod[bi, si]
        if not back[r] and want[bi, si, prod] > 0 and stock[bi, plate[r], prod] > 0:
            phase[bi, si] = REACH
            timer[bi, si] = _dur(cf[REACH_LO], cf[REACH_HI], u[i, U_DUR])
        else:
            done[r] = True
    if ci[HANDOFFS]:     # a group member near its partner hands over what it just picked
        w = ci[WIDTH]
        for r in range(grp.size):
            if not picked[r] or back[r]:
                continue
            i = grp[r]
            bi, si = b[i], s[i]
            p = partner[bi, si]
            pc, c = cell[bi, max(p, 0)], cell[bi, si]
            near = abs(pc // w - c // w) + abs(pc % w - c % w) <= ci[HANDOFF_CELLS]
            if p >= 0 and near and u[i, U_HANDOFF] < cf[P_HANDOFF]:
                basket[bi, si, moved[r]] -= qty[r]
                basket[bi, p, moved[r]] += qty[r]
                nrow = log(K_HANDOFF, i, -1, moved[r], qty[r], 0.0, p, nrow)
    # put-backs (here, then the unwanted item on this wrong plate), then pick what it came for
    for code in (ACT_PUT_SAME, ACT_PUT_WRONG):
        for r in range(grp.size):
            if acts[r] != code:
                continue
            i = grp[r]
            bi, si = b[i], s[i]
            prod = act_prod[bi, si]
            if basket[bi, si, prod] > 0:
                basket[bi, si, prod] -= 1
                dw = _move(bi, plate[r], prod, 1, z[i, 1], 1, stock, plate_count, weight,
                           unit_w, w_sd)
                nrow = log(PUT, i, plate[r], prod, 1, dw, -1, nrow)
        for r in range(grp.size):
            if acts[r] != code:
                continue
            i = grp[r]
            bi, si = b[i], s[i]
            done[r] = True
            if act[bi, si] == ACT_PUT_WRONG:
                unwanted[bi, si] = -1
                target = truth[plate[r]]
                if want[bi, si, target] > 0:
                    act[bi, si] = ACT_PICK
                    act_prod[bi, si] = target
                    timer[bi, si] = _dur(cf[REACH_LO], cf[REACH_HI], u[i, U_DUR])
                    done[r] = False
    # staff fill the plate's true product up to capacity
    for r in range(grp.size):
        if acts[r] != ACT_RESTOCK:
            continue
        i = grp[r]
        bi, pl = b[i], plate[r]
        prod = truth[pl]
        add = max(capacity[pl] - stock[bi, pl, prod], 0)
        if add > 0:
            dw = _move(bi, pl, prod, add, z[i, 1], 1, stock, plate_count, weight, unit_w, w_sd)
            restocked[bi, prod] += add
            nrow = log(RESTOCK, i, pl, prod, add, dw, -1, nrow)
        done[r] = True
    _route(grp[done], b, s, u, *route_args)
    return nrow
