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

from retail_env.sim.demand import DemandTable, draw_lists
from retail_env.sim.state import ARRIVE, FREE, IDLE, SPAWN, WALK

# Columns of a decision slot's uniforms (one decision per shopper per tick).
U_MODE, U_PLATE, U_DUR, U_PUTBACK, U_WRONG, U_MULTI, U_HANDOFF, U_MISC = range(8)
# Each BatchRNG double carries SPLIT uniforms of BITS bits (resolution 1/8192): few
# draws per tick whatever B is, and plenty for decisions with probabilities >= 1e-3.
SPLIT, BITS = 4, 13
_SHIFTS = np.arange(SPLIT, dtype=np.uint64) * np.uint64(BITS)
_MASK = np.uint64((1 << BITS) - 1)


def split_uniforms(d: np.ndarray) -> np.ndarray:
    """(..., k) uniform doubles -> (..., SPLIT * k) uniforms on a 13-bit grid in (0, 1)."""
    x = (d * float(1 << 52)).astype(np.uint64)[..., None] >> _SHIFTS
    return (((x & _MASK) + 0.5) * (1.0 / (1 << BITS))).reshape(*d.shape[:-1], -1)


class Ctx:
    """One tick's working set: state, params, the tick's draws and the logs."""

    def __init__(self, st, pr, u: np.ndarray):
        self.st, self.pr, self.u = st, pr, u
        self.truth: list[dict] = []
        self.exits: list[dict] = []
        self.entries: list[dict] = []
        self.born: np.ndarray | None = None

    def log(self, kind: int, b, s, plate, product, qty, dw, other=None) -> None:
        """Append true interactions (one row per element of ``b``)."""
        st, n = self.st, len(b)
        i64 = lambda a: np.broadcast_to(np.asarray(a, np.int64), (n,))  # noqa: E731
        self.truth.append(dict(
            store=i64(b), tick=st.tick[b], shopper=i64(s), account=st.account[b, s],
            plate=i64(plate), product=i64(product), qty=i64(qty), kind=i64(kind),
            dw=np.broadcast_to(np.asarray(dw, np.float64), (n,)),
            other=i64(-1 if other is None else other), cell=i64(st.cell[b, s])))


class _PreDrawn:
    """Hands uniforms drawn earlier this tick to ``demand.draw_lists``."""

    def __init__(self, u: np.ndarray):
        self._u = u

    def uniform(self, *shape: int) -> np.ndarray:
        return self._u.reshape(len(self._u), *shape)


def enter(ctx: Ctx, b, s, cell, account, member, leader, partner, is_staff) -> None:
    """Put new people into free slots ``(b, s)`` at gate cell ``cell``."""
    st, pr = ctx.st, ctx.pr
    st.phase[b, s] = SPAWN
    st.timer[b, s] = 0
    st.cell[b, s] = cell
    np.add.at(st.occ, (b, cell), 1)
    st.pos[b, s] = pr.layout.cell_xy[cell]
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
    if ctx.born is None:
        ctx.born = np.zeros(st.phase.shape, bool)
    ctx.born[b, s] = True
    ctx.entries.append(dict(store=b.astype(np.int64), tick=st.tick[b], shopper=s.astype(np.int64),
                            account=np.asarray(account, np.int64) + np.zeros(len(b), np.int64),
                            member=np.asarray(member, bool) & np.ones(len(b), bool),
                            staff=np.asarray(is_staff, bool) & np.ones(len(b), bool)))


def arrivals(ctx: Ctx, u: np.ndarray) -> None:
    """New parties at the entry gate (the store's uniform block ``u``, (B, n_u))."""
    st, pr = ctx.st, ctx.pr
    t = pr.t
    hour = ((t["start_s"] + st.tick * (1.0 / t["hz"])) // 3600.0).astype(np.int64) % 24
    come = u[:, 0] < pr.arrive_p[hour]
    if st.gate_open is not None:
        come &= st.gate_open
    if not come.any():
        return
    bi = np.flatnonzero(come)
    sh = pr.config.shoppers
    party = split_uniforms(u[bi, 1:2])  # group, member, entry cell
    size = 1 + (party[:, 0] < sh.group_share)
    free = st.phase[bi, pr.n_staff:] == FREE
    ok = free.sum(axis=1) >= size
    st.n_balked[bi[~ok]] += 1
    bi, size, free, party = bi[ok], size[ok], free[ok], party[ok]
    if not len(bi):
        return
    account = st.next_account[bi]
    st.next_account[bi] += 1
    member = party[:, 1] < pr.config.demand.member_visit_share
    seg = np.repeat(member[:, None], 2, axis=1)
    table = DemandTable(prob=st.buy_prob[bi], extra=st.buy_extra[bi])
    lu = split_uniforms(u[bi, 2:t["u_ev"]])[:, :t["n_list"]]
    lists = draw_lists(table, seg, pr.demand.category, _PreDrawn(lu)) * pr.on_shelf
    rank = np.cumsum(free, axis=1)
    take = free & (rank <= size[:, None])
    r, slot = np.nonzero(take)
    slot = slot + pr.n_staff
    k = rank[r, slot - pr.n_staff] - 1            # 0 = leader, 1 = follower
    pair = size[r] == 2
    i = np.arange(len(slot))      # a pair's leader and follower are neighbours in this order
    nxt, prv = slot[np.minimum(i + 1, len(slot) - 1)], slot[np.maximum(i - 1, 0)]
    partner = np.where(pair, np.where(k == 0, nxt, prv), -1)
    b = bi[r]
    n_entry = len(pr.layout.entry_cells)
    cell = pr.layout.entry_cells[(party[r, 2] * n_entry).astype(np.int64)]
    st.want[b, slot] = lists[r, k]
    st.n_entered[bi] += size
    enter(ctx, b, slot, cell, account[r], member[r], k == 0, partner, False)


def walk(ctx: Ctx, b, s) -> None:
    """Walkers ``(b, s)`` whose step is due move one cell (soft collisions).

    A walker's ``timer`` counts ticks to its next step: ``1 / speed`` ticks per cell,
    the fraction carried in ``acc``. A blocked walker tries again next tick. Whether a
    cell is blocked is judged on the occupancy before anyone moves this tick.
    """
    st, pr = ctx.st, ctx.pr
    _walk_kernel(b, s, st.cell, st.tgt, st.occ, st.wait, st.plate, st.phase, st.timer, st.pos,
                 st.acc, st.speed, pr.next_flat, pr.dist_flat, pr.layout.cell_xy, pr.t["hw"],
                 pr.t["patience"], pr.config.hard.crowd_crossed_reaches)


@numba.njit(cache=True, nogil=True)
def _walk_kernel(b, s, cell, tgt, occ, wait, plate, phase, timer, pos, acc, speed, next_flat,
                 dist_flat, cell_xy, hw, patience, crossed):
    """The step of each walker in turn (compiled: a handful of walkers per tick and store
    made the NumPy version call-overhead bound). With ``crossed`` (crowd_crossed_reaches)
    a walker blocked one step from its plate's access cell reaches past the person there."""
    n = b.size
    blocked = np.empty(n, np.bool_)
    for i in range(n):
        blocked[i] = occ[b[i], next_flat[tgt[b[i], s[i]] * hw + cell[b[i], s[i]]]] > 0
    for i in range(n):
        bi, si = b[i], s[i]
        c = cell[bi, si]
        ti = tgt[bi, si] * hw
        nc = next_flat[ti + c]
        there = dist_flat[ti + nc] == 0
        go = not blocked[i] or wait[bi, si] >= patience
        if crossed and blocked[i] and there and plate[bi, si] >= 0:
            go = False
            phase[bi, si] = ARRIVE
        if not go:
            wait[bi, si] += 1
            timer[bi, si] = 1
            continue
        occ[bi, c] -= 1
        occ[bi, nc] += 1
        cell[bi, si] = nc
        pos[bi, si, 0] = cell_xy[nc, 0]
        pos[bi, si, 1] = cell_xy[nc, 1]
        wait[bi, si] = 0
        due = acc[bi, si] + np.float32(1.0) / speed[bi, si]
        steps = np.int32(due)
        acc[bi, si] = due - np.float32(steps)
        phase[bi, si] = ARRIVE if there else WALK
        timer[bi, si] = 0 if there else steps


def leave(ctx: Ctx, b, s) -> None:
    """People at the exit gate leave; their baskets leave the store with them."""
    st = ctx.st
    items = st.basket[b, s]
    r, k = np.nonzero(items)
    if len(r):
        np.add.at(st.exited, (b[r], k), items[r, k])
        ctx.exits.append(dict(store=b[r].astype(np.int64), tick=st.tick[b[r]],
                              shopper=s[r].astype(np.int64), account=st.account[b[r], s[r]],
                              product=k.astype(np.int64), qty=items[r, k].astype(np.int64)))
    np.subtract.at(st.occ, (b, st.cell[b, s]), 1)
    p = st.partner[b, s]
    has_p = p >= 0
    st.partner[b[has_p], p[has_p]] = -1
    np.add.at(st.n_exited, b, ~st.staff[b, s])
    st.basket[b, s] = 0
    st.want[b, s] = 0
    st.phase[b, s] = FREE
    st.timer[b, s] = IDLE
    st.present[b, s] = False
    st.pos[b, s] = np.nan
    st.account[b, s] = -1
    st.partner[b, s] = -1
    st.staff[b, s] = False
    st.unwanted[b, s] = -1
    st.plate[b, s] = -1
    st.member[b, s] = False
