"""Store state and tick output: plain arrays with the store axis first.

``StoreState`` holds everything that changes while a batch of ``B`` stores runs:
``S`` shopper slots (staff use the first slot when restocking is on), ``P``
plates and ``N`` products. Ground truth is always kept (true baskets, true plate
contents and weights, item books), beside what the sensors report.

Item books, per store and product, hold at every tick::

    stock.sum(plates) + basket.sum(slots) + exited == initial + restocked

``TickOutput`` is what one tick produced: the sensors' detected events, the true
interactions (``Truth``), who left with what (``Exits``) and who came in
(``Entries``), all as flat 1-D arrays with a ``store`` column.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

# Shopper phases (a slot with FREE holds nobody).
FREE, WALK, ARRIVE, DWELL, REST, REACH, HOLD, SPAWN = range(8)
IDLE = 1 << 30  # timer of a free slot: never due
# Truth kinds: PICK shelf->basket, PUT basket->shelf (maybe the wrong plate),
# HANDOFF basket->another member's basket, RESTOCK staff->shelf, TOUCH hand rests.
PICK, PUT, HANDOFF, RESTOCK, TOUCH = 1, 2, 3, 4, 5
KIND_NAMES = {PICK: "pick", PUT: "put", HANDOFF: "handoff", RESTOCK: "restock", TOUCH: "touch"}


@dataclasses.dataclass
class StoreState:
    """Mutable simulator state for B stores; ``step`` updates it in place."""

    tick: np.ndarray  # (B,) int64 ticks since this store's reset
    # shopper slots (B, S)
    phase: np.ndarray  # int8 phase code (FREE, WALK, ...)
    timer: np.ndarray  # int32 ticks until the slot's next step or decision (IDLE if free)
    cell: np.ndarray  # int32 flat grid cell
    tgt: np.ndarray  # int32 row of the walking tables (target)
    plate: np.ndarray  # int32 plate being visited (-1: heading for the exit)
    act: np.ndarray  # int8 what the current reach does (ACT_* in shoppers.py)
    act_prod: np.ndarray  # int32 product the reach moves
    unwanted: np.ndarray  # int32 product to put back at the next plate (-1 none)
    acc: np.ndarray  # float32 fraction of a tick carried to the next step
    speed: np.ndarray  # float32 cells per tick
    wait: np.ndarray  # int16 ticks waited behind someone
    browse: np.ndarray  # int16 browsing stops left
    account: np.ndarray  # int64 account id (-1: free slot or staff)
    member: np.ndarray  # bool loyalty member
    partner: np.ndarray  # int32 slot of the other group member (-1 none)
    leader: np.ndarray  # bool leads its group (or shops alone)
    staff: np.ndarray  # bool slot holds a staff member
    entered: np.ndarray  # int64 tick the slot's occupant came in
    present: np.ndarray  # bool someone is in the slot
    pos: np.ndarray  # (B, S, 2) float32 metres (x, y); NaN when absent
    want: np.ndarray  # (B, S, N) int16 shopping list still to buy
    basket: np.ndarray  # (B, S, N) int32 true basket
    # plates (B, P)
    stock: np.ndarray  # (B, P, N) int32 true items on each plate, by product
    plate_count: np.ndarray  # (B, P) int32 items on the plate (all products)
    weight: np.ndarray  # (B, P) float64 true load on the plate, kg
    plate_last: np.ndarray  # (B, P) int64 tick the last reach at the plate ended
    occ: np.ndarray  # (B, H*W) int16 people per cell
    # books (B, N) int64
    initial: np.ndarray
    restocked: np.ndarray
    exited: np.ndarray
    next_account: np.ndarray  # (B,) int64
    n_entered: np.ndarray  # (B,) int64 shoppers who came in
    n_exited: np.ndarray  # (B,) int64 shoppers who left
    n_balked: np.ndarray  # (B,) int64 arrivals turned away (store full)
    # demand table in force: P(buy product) per visit by segment (0 non-member, 1 member)
    buy_prob: np.ndarray  # (B, 2, N) float64
    buy_extra: np.ndarray  # (B, 2, N) float64 P(second unit | buys)
    sensors: Any = None  # SensorState of retail_env.sim.sensors
    # (B,) bool entry gate open; a closed gate turns arrivals away (closing time of one
    # store of a batch, without changing its random draws). None: always open.
    gate_open: np.ndarray | None = None
    # (B,) bool sensors standing still: a vector env sets it for stores whose episode is
    # over while their batch-mates run on (their readings are never looked at again).
    sensors_idle: np.ndarray | None = None

    @property
    def batch_size(self) -> int:
        return self.tick.shape[0]

    def copy(self) -> StoreState:
        """A deep copy (arrays and sensor state)."""
        return _map(self, lambda a: a.copy())

    def books_balance(self) -> np.ndarray:
        """(B, N) shelves + baskets + exited - initial - restocked; all zeros when books hold."""
        return (
            self.stock.sum(axis=1)
            + self.basket.sum(axis=1)
            + self.exited
            - self.initial
            - self.restocked
        )


def _map(obj, fn):
    """Apply ``fn`` to every array of a dataclass (recursing into nested dataclasses)."""
    kw = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, np.ndarray):
            v = fn(v)
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            v = _map(v, fn)
        kw[f.name] = v
    return type(obj)(**kw)


def store_axis(full: np.ndarray, part: np.ndarray) -> int | None:
    """The axis along which ``full`` (B stores) and ``part`` (n != B stores) differ."""
    diff = [a for a in range(full.ndim) if full.shape[a] != part.shape[a]]
    return diff[0] if len(diff) == 1 else None


# Fields that belong to the batch, not to a store (the sensors' scratch buffers of
# ended detector segments, B * P long): a partial reset keeps the batch's own.
BATCH_FIELDS = frozenset({"ev_idx", "ev_dw", "ev_peak"})


def scatter_stores(dst, src, index: np.ndarray) -> None:
    """Write batch ``src`` (n < B stores) into stores ``index`` of ``dst`` (same type), in place.

    The store axis of each array is the one whose length differs between the two
    batches (usually the first); arrays without one (constants) must be equal.
    Nested dataclasses (the sensor state) recurse; scalars keep ``dst``'s value.
    """
    for f in dataclasses.fields(dst):
        if f.name in BATCH_FIELDS:
            continue
        d, s = getattr(dst, f.name), getattr(src, f.name)
        if isinstance(d, np.ndarray):
            ax = store_axis(d, s) if d.ndim == s.ndim else None
            if ax is not None:
                d[(slice(None),) * ax + (index,)] = s
            elif not np.array_equal(d, s):
                raise ValueError(
                    f"cannot reset stores separately: field {f.name!r} has no "
                    "store axis and differs between stores"
                )
        elif dataclasses.is_dataclass(d) and not isinstance(d, type):
            scatter_stores(d, s, index)


@dataclasses.dataclass(frozen=True)
class Truth:
    """True interactions of one tick, one row each (1-D arrays)."""

    store: np.ndarray
    tick: np.ndarray
    shopper: np.ndarray  # slot of the actor (the giver for HANDOFF)
    account: np.ndarray  # actor's account (-1 for staff)
    plate: np.ndarray  # -1 for HANDOFF
    product: np.ndarray
    qty: np.ndarray  # items moved (0 for TOUCH)
    kind: np.ndarray  # PICK, PUT, HANDOFF, RESTOCK, TOUCH
    dw: np.ndarray  # true plate weight change, kg (negative = removed)
    other: np.ndarray  # receiving slot for HANDOFF, else -1
    cell: np.ndarray  # flat cell the actor stood on

    def __len__(self) -> int:
        return len(self.store)


@dataclasses.dataclass(frozen=True)
class Exits:
    """Items leaving the store with a shopper: one row per (shopper, product) carried out."""

    store: np.ndarray
    tick: np.ndarray
    shopper: np.ndarray
    account: np.ndarray
    product: np.ndarray
    qty: np.ndarray

    def __len__(self) -> int:
        return len(self.store)


@dataclasses.dataclass(frozen=True)
class Entries:
    """Shoppers and staff who came in through the entry gate this tick."""

    store: np.ndarray
    tick: np.ndarray
    shopper: np.ndarray
    account: np.ndarray  # -1 for staff
    member: np.ndarray
    staff: np.ndarray

    def __len__(self) -> int:
        return len(self.store)


def _empty(cls):
    kw = {
        f.name: np.zeros(
            0,
            np.float64 if f.name == "dw" else (bool if f.name in ("member", "staff") else np.int64),
        )
        for f in dataclasses.fields(cls)
    }
    for a in kw.values():
        a.setflags(write=False)
    return cls(**kw)


EMPTY_TRUTH, EMPTY_EXITS, EMPTY_ENTRIES = _empty(Truth), _empty(Exits), _empty(Entries)
_EMPTY = {Truth: EMPTY_TRUTH, Exits: EMPTY_EXITS, Entries: EMPTY_ENTRIES}


def concat_rows(cls, parts: list[dict]):
    """One record of ``cls`` from a list of column dicts (empty list -> shared empty record)."""
    if not parts:
        return _EMPTY[cls]
    if len(parts) == 1:
        return cls(**parts[0])
    return cls(
        **{f.name: np.concatenate([p[f.name] for p in parts]) for f in dataclasses.fields(cls)}
    )


@dataclasses.dataclass(frozen=True)
class TickOutput:
    """What one tick produced, for B stores."""

    events: Any  # sensors.DetectedEvents (store, plate, t_start, t_end, dw)
    truth: Truth
    exits: Exits
    entries: Entries
    n_active: int  # shoppers (not staff) in all stores after the tick
