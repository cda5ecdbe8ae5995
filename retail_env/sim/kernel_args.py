"""The arguments of the store's compiled kernels, grouped and named once.

A kernel of ``shoppers.py`` or ``shelf.py`` takes the tick's own inputs plus three
groups: ``StoreArrays`` (every array of ``StoreState``), ``Tables`` (the params'
lookup tables) and ``Consts`` (the params' scalars). Each group is a NamedTuple, so
kernels read ``st.phase`` or ``c.p_putback`` and a new constant is one field here
plus one keyword in ``kernel_params``: names and packing cannot drift apart.

Why plain tuples cross the boundary: Numba types a plain tuple in C but a NamedTuple
through Python, element by element (about 0.5 us per array, several times a tick), so
Python passes ``tuple`` values and each kernel entry rebuilds the NamedTuples
(``StoreArrays(*st)``), which costs nothing once compiled. Helpers that take a whole
group are ``inline="always"``: a compiled call would pass and reference-count every
array of the group (measured: the decisions took ~70 % longer without it).
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from typing import NamedTuple

import numpy as np

from retail_env.sim.state import StoreState

_ARRAY_FIELDS = [f.name for f in dataclasses.fields(StoreState) if f.type == "np.ndarray"]
StoreArrays = NamedTuple("StoreArrays", [(name, np.ndarray) for name in _ARRAY_FIELDS])  # pyright: ignore[reportArgumentType]  (built from StoreState)
StoreArrays.__doc__ = "Every array field of ``StoreState``, in its order (``st.phase``, ...)."
store_arrays = operator.attrgetter(*StoreArrays._fields)  # StoreState -> plain tuple


class Tables(NamedTuple):
    """Static lookup tables of a ``StoreParams``."""

    arrive_p: np.ndarray  # (24,) P(a party arrives in a tick) by hour
    category: np.ndarray  # (N,) category of each product
    category_start: np.ndarray  # first product of each category
    on_shelf: np.ndarray  # (N,) product has a plate
    entry_cells: np.ndarray  # gate cells
    cell_xy: np.ndarray  # (HW, 2) metres of each cell
    truth: np.ndarray  # (P,) true product of each plate
    capacity: np.ndarray  # (P,) items a plate holds
    n_plates_of: np.ndarray  # (N,) plates holding each product
    product_plates: np.ndarray  # (N, max) those plates
    plate_target: np.ndarray  # (P,) walking-table row of each plate
    next_flat: np.ndarray  # (T*HW,) next cell toward a target
    dist_flat: np.ndarray  # (T*HW,) steps to a target
    unit_w: np.ndarray  # (N,) mean unit weight kg
    w_sd: np.ndarray  # (N,) unit weight sd kg
    browse_cdf: np.ndarray  # Poisson CDF of browsing stops


class Consts(NamedTuple):
    """Scalars of a ``StoreParams`` (durations in ticks, speeds in cells per tick)."""

    # arrivals, walking, staff checks (shoppers.py)
    start_s: float
    inv_hz: float
    group_share: float
    member_share: float
    n_staff: int
    u_ev: int
    n_list: int
    check: int
    patience: int
    crossed: bool
    n_events: int
    hw: int
    exit_target: int
    width: int
    # decisions (shelf.py)
    speed_mean: float
    speed_sd: float
    speed_lo: float
    speed_hi: float
    staff_speed: float
    reach_lo: float
    reach_hi: float
    look_lo: float
    look_hi: float
    rest_lo: float
    rest_hi: float
    restock_lo: float
    restock_hi: float
    p_hand_rest: float
    p_take_foreign: float
    p_multi: float
    p_putback: float
    p_wrong_place: float
    p_handoff: float
    restock_below: float
    gap: int
    handoff_cells: int
    simultaneous: bool
    hand_rest: bool
    multi_item: bool
    wrong_put_back: bool
    handoffs: bool


@functools.lru_cache(maxsize=32)
def kernel_params(pr) -> tuple[tuple, tuple]:
    """``(Tables, Consts)`` of params ``pr`` as plain tuples (kept per params)."""
    t, sh, hard, lay, plano = pr.t, pr.config.shoppers, pr.config.hard, pr.layout, pr.planogram
    tables = Tables(
        arrive_p=pr.arrive_p,
        category=pr.demand.category,
        category_start=pr.demand.category_start,
        on_shelf=pr.on_shelf,
        entry_cells=lay.entry_cells,
        cell_xy=lay.cell_xy,
        truth=plano.truth,
        capacity=plano.capacity,
        n_plates_of=plano.n_plates_of,
        product_plates=plano.product_plates,
        plate_target=pr.plate_target,
        next_flat=pr.next_flat,
        dist_flat=pr.dist_flat,
        unit_w=pr.unit_w,
        w_sd=pr.w_sd,
        browse_cdf=pr.browse_cdf,
    )
    f = float
    consts = Consts(
        start_s=f(t["start_s"]),
        inv_hz=1.0 / t["hz"],
        group_share=f(sh.group_share),
        member_share=f(pr.config.demand.member_visit_share),
        n_staff=int(pr.n_staff),
        u_ev=int(t["u_ev"]),
        n_list=int(t["n_list"]),
        check=int(t["check"]),
        patience=int(t["patience"]),
        crossed=bool(hard.crowd_crossed_reaches),
        n_events=int(t["events"]),
        hw=int(t["hw"]),
        exit_target=int(t["exit_target"]),
        width=int(t["width"]),
        speed_mean=f(t["speed"][0]),
        speed_sd=f(t["speed"][1]),
        speed_lo=f(t["speed"][2]),
        speed_hi=f(t["speed"][3]),
        staff_speed=f(t["staff_speed"]),
        reach_lo=f(t["reach"][0]),
        reach_hi=f(t["reach"][1]),
        look_lo=f(t["look"][0]),
        look_hi=f(t["look"][1]),
        rest_lo=f(t["rest"][0]),
        rest_hi=f(t["rest"][1]),
        restock_lo=f(t["restock"][0]),
        restock_hi=f(t["restock"][1]),
        p_hand_rest=f(sh.p_hand_rest),
        p_take_foreign=f(sh.p_take_foreign),
        p_multi=f(sh.p_multi),
        p_putback=f(sh.p_putback),
        p_wrong_place=f(sh.p_wrong_place),
        p_handoff=f(sh.p_handoff),
        restock_below=f(pr.config.staff.restock_below),
        gap=int(t["gap"]),
        handoff_cells=int(sh.handoff_cells),
        simultaneous=bool(hard.simultaneous_picks),
        hand_rest=bool(hard.hand_rest),
        multi_item=bool(hard.multi_item),
        wrong_put_back=bool(hard.wrong_put_back),
        handoffs=bool(hard.handoffs),
    )
    return tuple(tables), tuple(consts)
