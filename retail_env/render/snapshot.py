"""From the simulator to frames: the only module of ``render`` that reads simulator objects.

``header_from_params(params)`` describes a store once; ``frame_from_state(state, params, b)``
copies what is drawn of store ``b`` into a small :class:`Frame`. Task envs add what only
they know (decisions, prices, promotions, receipts) as keyword arguments.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from retail_env.render.frame import ABSENT, SHOPPER, STAFF, Frame, FrameHeader, make_frame

FLASH_TICKS = 10  # a plate keeps flashing 1 s after a reach ends [A]
TRAIL_POINTS = 3  # camera-track trail: positions 0.5, 1.0, 1.5 s ago (longer ones clutter)
TRAIL_STEP_S = 0.5


def header_from_params(params, task: str = "attribution") -> FrameHeader:
    """The static picture of a store built by ``retail_env.sim.store.make_params``."""
    layout, catalog, plano = params.layout, params.catalog, params.planogram
    product = np.asarray(plano.truth)
    return FrameHeader(
        grid=layout.grid,
        cell_m=layout.cell_m,
        plate_cell=layout.plate_cell,
        plate_category=np.asarray(catalog.category)[product],
        plate_product=product,
        category_names=catalog.category_names,
        product_names=tuple(catalog.name),
        task=task,
        tick_hz=params.config.tick_hz,
    )


def _trail(sensors, b: int, hz: float, points: int) -> np.ndarray:
    """(S, points, 2) track positions every TRAIL_STEP_S seconds back, oldest first."""
    hist = sensors.track_hist[b]  # (S, H, 2) ring
    H = hist.shape[1]
    step = max(1, int(round(TRAIL_STEP_S * hz)))
    back = np.arange(points, 0, -1) * step  # ticks ago, oldest first
    back = back[back < H]
    newest = (sensors.hist_pos - 1) % H  # slot written this tick
    return hist[:, (newest - back) % H]


def frame_from_state(
    state,
    params,
    b: int = 0,
    *,
    decisions=None,
    status: Mapping[str, float] | None = None,
    price_mult=None,
    promo=None,
    trail_points: int = TRAIL_POINTS,
    header: FrameHeader | None = None,
) -> Frame:
    """Snapshot store ``b`` of a ``StoreState``: people, tracks, stock, flashes.

    ``status`` is merged over the default ``{"n_in_store": shoppers present}``;
    ``decisions`` rows are ``[plate, outcome, age_ticks]`` (attribution);
    ``price_mult`` / ``promo`` per plate (promotion). Pass ``header`` to skip rebuilding it.
    """
    header = header or header_from_params(params)
    hz = float(params.config.tick_hz)
    tick = int(state.tick[b])
    present, staff = state.present[b], state.staff[b]
    kind = np.where(present, np.where(staff, STAFF, SHOPPER), ABSENT)
    sensors = state.sensors
    since = tick - state.plate_last[b].astype(np.float64)
    flash = np.clip(1.0 - since / FLASH_TICKS, 0.0, 1.0)
    flash = np.maximum(flash, sensors.active[b].astype(np.float64))
    stock = state.plate_count[b] / np.maximum(params.planogram.capacity, 1)
    stat = {"n_in_store": float(np.count_nonzero(present & ~staff)), **(status or {})}
    return make_frame(
        header,
        params.t["start_s"] + tick / hz,
        shopper_pos=state.pos[b],
        shopper_kind=kind,
        shopper_account=state.account[b],
        track_pos=sensors.track_pos[b],
        track_account=sensors.track_account[b],
        track_trail=_trail(sensors, b, hz, trail_points) if trail_points else None,
        plate_stock_frac=stock,
        plate_event=flash,
        price_mult=price_mult,
        promo=promo,
        decisions=decisions,
        status=stat,
    )
