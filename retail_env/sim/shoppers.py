"""Shoppers coming in, walking, choosing where to go next, and leaving.

Everything works on all stores and slots at once; per-tick work that touches
few shoppers (arrivals, steps, decisions) is done on compacted ``(store, slot)``
index arrays, so nothing loops over shoppers or stores in Python.

- Arrivals: a time-varying Poisson process, thinned to at most one party per
  tick (a Bernoulli draw per tick with the same mean; ``arrive_p <= 1``). The
  hourly profile and visit volume come from ``demand.py`` (c-store profile:
  GasBuddy 2018, NPD, inMarket). A party is one shopper or a pair sharing one
  account (``group_share``); the member flag belongs to the account. Shopping
  lists are drawn from the demand model (``demand.draw_lists``) at arrival.
- Walking: one cell per step along the precomputed next-step table toward the
  current target, a step every ``1 / speed`` ticks (the walker's ``timer``).
  Soft-collision rule: a shopper whose next cell is occupied waits there, and
  after ``patience_ticks`` of waiting steps in anyway (so nobody deadlocks; two
  people may briefly share a cell). With ``crowd_crossed_reaches`` a shopper
  blocked one step from a plate's access cell reaches past the person standing
  there instead of waiting.
- Leaving: at the exit gate the basket leaves the store (``exited`` books per
  product, ``Exits`` rows per account) and the slot is freed.
"""

from __future__ import annotations

import numba
import numpy as np

from retail_env.sim.demand import draw_list
from retail_env.sim.kernel_args import Consts, StoreArrays, Tables, kernel_params, store_arrays
from retail_env.sim.state import ARRIVE, FREE, IDLE, SPAWN, WALK

# Columns of a decision slot's uniforms (one decision per shopper per tick).
U_MODE, U_PLATE, U_DUR, U_PUTBACK, U_WRONG, U_MULTI, U_HANDOFF, U_MISC = range(8)
# Each BatchRNG double carries SPLIT uniforms of BITS bits (resolution 1/8192): few
# draws per tick whatever B is, and plenty for decisions with probabilities >= 1e-3.
SPLIT, BITS = 4, 13
EV_DOUBLES = 3  # BatchRNG doubles per decision slot (12 uniforms: 8 used + 2 normals)
EXIT_COLS = ("store", "tick", "shopper", "account", "product", "qty")
_SHIFTS = np.arange(SPLIT, dtype=np.uint64) * np.uint64(BITS)
_MASK = np.uint64((1 << BITS) - 1)


@numba.njit(cache=True, nogil=True)
def split_uniforms(d: np.ndarray) -> np.ndarray:
    """(n, k) uniform doubles -> (n, SPLIT * k) uniforms on a 13-bit grid in (0, 1)."""
    out = np.empty((d.shape[0], SPLIT * d.shape[1]), np.float64)
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            x = np.uint64(d[i, j] * float(1 << 52))
            for q in range(SPLIT):
                out[i, SPLIT * j + q] = (((x >> _SHIFTS[q]) & _MASK) + 0.5) * (1.0 / (1 << BITS))
    return out


class Ctx:
    """One tick's working set: state, params, the tick's draws and the logs."""

    def __init__(self, st, pr, u: np.ndarray):
        self.st, self.pr, self.u = st, pr, u
        self.kernel_args = (store_arrays(st), *kernel_params(pr))  # see kernel_args.py
        self.truth: list[dict] = []
        self.exits: list[dict] = []
        self.entries: list[dict] = []
        self.born = np.zeros(st.phase.shape, bool)  # who came in through the gate this tick
        self.n_active = 0  # shoppers inside, all stores (advance)


@numba.njit(cache=True, nogil=True, inline="always")
def _enter(b, s, cell, account, member, leader, partner, is_staff, st, tb, born, ent, n):
    """Put one person into free slot ``(b, s)`` at gate cell ``cell``; entry row ``n`` of ``ent``."""
    st.phase[b, s] = SPAWN
    st.timer[b, s] = 0
    st.cell[b, s] = cell
    st.occ[b, cell] += 1
    st.pos[b, s, 0], st.pos[b, s, 1] = tb.cell_xy[cell, 0], tb.cell_xy[cell, 1]
    st.present[b, s] = True
    st.account[b, s] = account
    st.member[b, s] = member
    st.leader[b, s] = leader
    st.partner[b, s] = partner
    st.staff[b, s] = is_staff
    st.entered[b, s] = st.tick[b]
    st.acc[b, s] = 0.0
    st.wait[b, s] = 0
    st.unwanted[b, s] = -1
    st.plate[b, s] = -1
    born[b, s] = True
    ent[0, n], ent[1, n], ent[2, n], ent[3, n], ent[4, n], ent[5, n] = (
        b,
        st.tick[b],
        s,
        account,
        member,
        is_staff,
    )
    return n + 1


def _log_entries(ctx: Ctx, ent: np.ndarray, n: int) -> None:
    if n:
        e = ent[:, :n]
        ctx.entries.append(
            dict(
                store=e[0],
                tick=e[1],
                shopper=e[2],
                account=e[3],
                member=e[4].astype(bool),
                staff=e[5].astype(bool),
            )
        )


@numba.njit(cache=True, nogil=True, inline="always")
def _enter_staff(bs, cell, st, tb, born, ent, n):
    """A staff member comes into slot 0 of stores ``bs`` at gate cell ``cell``."""
    for b in bs:
        n = _enter(b, 0, cell, -1, False, True, -1, True, st, tb, born, ent, n)
    return n


@numba.njit(cache=True, nogil=True)
def low_plate(b, stock, truth, capacity, below):
    """The emptiest plate of store ``b`` by share of its true product held, if below ``below``."""
    best, k = np.inf, 0
    for p in range(truth.size):
        fill = stock[b, p, truth[p]] / capacity[p]
        if fill < best:
            best, k = fill, p
    return k if best < below else -1


@numba.njit(cache=True, nogil=True, inline="always")
def _arrivals_kernel(bi, u, st, tb, c, born, ent):
    """The party arriving at each store ``bi``: its size and account, the members' shopping
    lists (``demand.draw_list``), then into the first free slots (leader first). Compiled:
    an arrival is a few dozen small steps per store, too little for NumPy to pay off."""
    phase, category = st.phase, tb.category
    S = phase.shape[1]
    n_cat = tb.category_start.size
    slots = np.empty(2, np.int64)
    lists = np.zeros((2, category.size), np.int64)
    cum = np.empty(category.size, np.float64)
    n = 0
    for b in bi:
        party = split_uniforms(u[b : b + 1, 1:2])[0]  # group, member, entry cell
        size = 1 + (party[0] < c.group_share)
        free = 0
        for j in range(c.n_staff, S):
            if phase[b, j] == FREE:
                if free < size:
                    slots[free] = j
                free += 1
        if free < size:
            st.n_balked[b] += 1
            continue
        account = st.next_account[b]
        st.next_account[b] += 1
        member = party[1] < c.member_share
        lu = split_uniforms(u[b : b + 1, 2 : c.u_ev])[0, : c.n_list].reshape(2, n_cat, 2)
        seg = np.int64(member)
        for k in range(2):
            draw_list(
                st.buy_prob[b, seg],
                st.buy_extra[b, seg],
                lu[k],
                category,
                tb.category_start,
                cum,
                lists[k],
            )
        cell = tb.entry_cells[np.int64(party[2] * tb.entry_cells.size)]
        for k in range(size):
            for j in range(category.size):
                st.want[b, slots[k], j] = lists[k, j] * tb.on_shelf[j]
        st.n_entered[b] += size
        for k in range(size):
            partner = slots[1 - k] if size == 2 else -1
            n = _enter(
                b, slots[k], cell, account, member, k == 0, partner, False, st, tb, born, ent, n
            )
    return n


def advance(ctx: Ctx) -> tuple[np.ndarray, np.ndarray]:
    """The tick up to the decisions: clocks, arrivals, staff, timers, walking, leaving.

    Each store's clock moves on; a party may arrive (``ctx.u[:, 0]`` against the hour's
    rate, unless the gate is closed); where a staff check is due, the staff slot free and
    a plate low, a staff member comes in; every timer counts down, and the walkers whose
    step is due move one cell (soft collisions, see ``_walk_kernel``). Of the others due,
    the first E of each store (in slot order) take a decision this tick, the rest wait;
    those at the exit gate leave (``_leave_kernel``). Returns the decisions to take,
    ``due`` (3, n) rows store, slot, phase, and their split draws ``x`` (n, 12): the j-th
    decision of a store uses that store's j-th decision slot. One compiled call: as NumPy
    this was some 40 small calls a tick, half of a one-store tick.
    """
    st = ctx.st
    ent, ext, due, x, ctx.n_active = _tick_kernel(ctx.u, st.gate_open, *ctx.kernel_args, ctx.born)
    _log_entries(ctx, ent, ent.shape[1])
    if ext.shape[1]:
        ctx.exits.append(dict(zip(EXIT_COLS, ext, strict=True)))
    return due, x


@numba.njit(cache=True, nogil=True)
def _tick_kernel(u, gate_open, st, tables, consts, born):
    """``advance`` in one pass, in the order of the NumPy steps it replaces: arrivals (all
    stores), staff, timers, walkers, leavers. Who is due is read before any walker moves,
    who leaves after. Returns the entry rows, exit rows, decisions, their draws and the
    shoppers inside all stores (nobody else comes or goes this tick)."""
    st, tb, c = StoreArrays(*st), Tables(*tables), Consts(*consts)
    tick, phase, timer, plate = st.tick, st.phase, st.timer, st.plate
    B, S = phase.shape
    bi = np.empty(B, np.int64)
    m = 0
    for b in range(B):
        tick[b] += 1
        hour = np.int64((c.start_s + tick[b] * c.inv_hz) // 3600.0) % 24
        if u[b, 0] < tb.arrive_p[hour] and (gate_open is None or gate_open[b]):
            bi[m] = b
            m += 1
    ent = np.empty((6, 3 * B), np.int64)
    n = _arrivals_kernel(bi[:m], u, st, tb, c, born, ent)
    if c.n_staff:
        m = 0
        for b in range(B):
            if (
                tick[b] % c.check == 0
                and phase[b, 0] == FREE
                and low_plate(b, st.stock, tb.truth, tb.capacity, c.restock_below) >= 0
            ):
                bi[m] = b
                m += 1
        n = _enter_staff(bi[:m], tb.entry_cells[0], st, tb, born, ent, n)
    wb, ws = np.empty(B * S, np.int64), np.empty(B * S, np.int64)
    due = np.empty((3, B * S), np.int64)
    nw = nd = 0
    for b in range(B):
        for s in range(S):
            timer[b, s] -= 1
            if timer[b, s] > 0:
                continue
            if phase[b, s] == WALK:
                wb[nw], ws[nw] = b, s
                nw += 1
            else:
                due[0, nd], due[1, nd], due[2, nd] = b, s, phase[b, s]
                nd += 1
    _walk_kernel(wb[:nw], ws[:nw], st, tb, c)
    # the first n_events of each store decide (the j-th on decision slot j); leavers go
    dec = np.empty((3, nd), np.int64)
    slot = np.empty(nd, np.int64)
    lb, ls = np.empty(nd, np.int64), np.empty(nd, np.int64)
    nl = nk = j = 0
    for i in range(nd):
        b, s = due[0, i], due[1, i]
        j = j + 1 if i > 0 and due[0, i - 1] == b else 0
        if j >= c.n_events:
            continue
        if due[2, i] == ARRIVE and plate[b, s] < 0:
            lb[nl], ls[nl] = b, s
            nl += 1
        else:
            dec[:, nk] = due[:, i]
            slot[nk] = j
            nk += 1
    ext = np.empty((6, nl * st.basket.shape[2]), np.int64)
    n_ext = _leave_kernel(lb[:nl], ls[:nl], st, ext)
    draws = np.empty((nk, EV_DOUBLES), np.float64)
    for i in range(nk):
        for q in range(EV_DOUBLES):
            draws[i, q] = u[dec[0, i], c.u_ev + EV_DOUBLES * slot[i] + q]
    return (
        ent[:, :n],
        ext[:, :n_ext],
        dec[:, :nk],
        split_uniforms(draws),
        st.n_entered.sum() - st.n_exited.sum(),
    )


@numba.njit(cache=True, nogil=True, inline="always")
def _walk_kernel(b, s, st, tb, c):
    """The step of each walker ``(b, s)`` in turn, one cell (soft collisions).

    A walker's ``timer`` counts ticks to its next step: ``1 / speed`` ticks per cell, the
    fraction carried in ``acc``. A blocked walker tries again next tick; whether a cell is
    blocked is judged on the occupancy before anyone moves this tick. With ``crossed``
    (crowd_crossed_reaches) a walker blocked one step from its plate's access cell
    reaches past the person there."""
    cell, tgt, occ, wait, plate, phase, timer = (
        st.cell,
        st.tgt,
        st.occ,
        st.wait,
        st.plate,
        st.phase,
        st.timer,
    )
    next_flat, hw = tb.next_flat, c.hw
    n = b.size
    blocked = np.empty(n, np.bool_)
    for i in range(n):
        blocked[i] = occ[b[i], next_flat[tgt[b[i], s[i]] * hw + cell[b[i], s[i]]]] > 0
    for i in range(n):
        bi, si = b[i], s[i]
        here = cell[bi, si]
        ti = tgt[bi, si] * hw
        nc = next_flat[ti + here]
        there = tb.dist_flat[ti + nc] == 0
        go = not blocked[i] or wait[bi, si] >= c.patience
        if c.crossed and blocked[i] and there and plate[bi, si] >= 0:
            go = False
            phase[bi, si] = ARRIVE
        if not go:
            wait[bi, si] += 1
            timer[bi, si] = 1
            continue
        occ[bi, here] -= 1
        occ[bi, nc] += 1
        cell[bi, si] = nc
        st.pos[bi, si, 0] = tb.cell_xy[nc, 0]
        st.pos[bi, si, 1] = tb.cell_xy[nc, 1]
        wait[bi, si] = 0
        due = st.acc[bi, si] + np.float32(1.0) / st.speed[bi, si]
        steps = np.int32(due)
        st.acc[bi, si] = due - np.float32(steps)
        phase[bi, si] = ARRIVE if there else WALK
        timer[bi, si] = 0 if there else steps


@numba.njit(cache=True, nogil=True, inline="always")
def _leave_kernel(b, s, st, rows):
    """Each leaver in turn: an exit row per product carried out, then the slot is freed
    (compiled: one or two leavers a tick made the NumPy version call-overhead bound)."""
    basket, want, partner, account = st.basket, st.want, st.partner, st.account
    n = 0
    for i in range(b.size):
        bi, si = b[i], s[i]
        for k in range(basket.shape[2]):
            q = basket[bi, si, k]
            if q:
                st.exited[bi, k] += q
                rows[0, n], rows[1, n], rows[2, n] = bi, st.tick[bi], si
                rows[3, n], rows[4, n], rows[5, n] = account[bi, si], k, q
                n += 1
            basket[bi, si, k] = 0
            want[bi, si, k] = 0
        st.occ[bi, st.cell[bi, si]] -= 1
        p = partner[bi, si]
        if p >= 0:
            partner[bi, p] = -1
        st.n_exited[bi] += not st.staff[bi, si]
        st.phase[bi, si] = FREE
        st.timer[bi, si] = IDLE
        st.present[bi, si] = False
        st.pos[bi, si, 0] = st.pos[bi, si, 1] = np.nan
        account[bi, si] = -1
        partner[bi, si] = -1
        st.staff[bi, si] = False
        st.unwanted[bi, si] = -1
        st.plate[bi, si] = -1
        st.member[bi, si] = False
    return n
