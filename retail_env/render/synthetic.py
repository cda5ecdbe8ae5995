"""A tiny hand-made store and a scripted episode, independent of the simulator.

Tests and the benchmark use it to check drawing, recording and playback on known
pixels (a full shelf here, a shopper there, a wrong decision on plate 3).
"""

from __future__ import annotations

import numpy as np

from retail_env.render.frame import (
    DISCOUNT,
    MEMBER_ONLY,
    SHOPPER,
    STAFF,
    Frame,
    FrameHeader,
    make_frame,
)

DEMO_MAP = """\
####################
#..................#
#.SSSSSS...SSSSSS..#
#..................#
#.SSSSSS...SSSSSS..#
#..................#
#E................E#
#..SSSSSSSSSSSS....#
#..................#
##II##########OO####
"""
CODES = {"#": 1, ".": 0, "S": 2, "I": 3, "O": 4, "E": 5}
CATEGORIES = ("produce", "dairy", "bakery", "snacks", "drinks", "household")


def demo_header(task: str = "attribution", grid_text: str = DEMO_MAP) -> FrameHeader:
    """One plate per shelf cell; categories run in blocks of four plates."""
    grid = np.array([[CODES[ch] for ch in line] for line in grid_text.splitlines()], np.uint8)
    cells = np.argwhere(grid == 2)
    cat = (np.arange(len(cells)) // 4) % len(CATEGORIES)
    return FrameHeader(
        grid=grid,
        cell_m=0.5,
        plate_cell=cells,
        plate_category=cat,
        plate_product=np.arange(len(cells)),
        category_names=CATEGORIES,
        product_names=tuple(f"item {i}" for i in range(len(cells))),
        task=task,
    )


def _walk(t: np.ndarray, phase: float, row: float, width_m: float) -> np.ndarray:
    """Back-and-forth walk along an aisle (metres, x east, y south)."""
    x = 1.0 + (width_m - 2.0) * 0.5 * (1 - np.cos(0.25 * t + phase))
    return np.stack([x, np.full_like(x, row)], axis=-1)


def demo_frame(
    header: FrameHeader, tick: int, n_shoppers: int = 6, trail: int = 4, switch_tick: int = 60
) -> Frame:
    """Frame at ``tick``: shoppers on aisles, noisy tracks (two swap identity at
    ``switch_tick``), a flash every few ticks, decisions on plates 3 (wrong) and 5 (right)."""
    t = tick / header.tick_hz
    h, w = header.grid.shape
    rows = np.array([1.5, 3.5, 5.5, 8.5, 3.5, 5.5])[:n_shoppers] * header.cell_m
    rows = np.resize(rows, n_shoppers)
    pos = np.concatenate(
        [_walk(np.array([t]), 1.3 * i, rows[i], w * header.cell_m) for i in range(n_shoppers)]
    )
    kind = np.full(n_shoppers, SHOPPER)
    kind[-1] = STAFF
    account = np.arange(n_shoppers) - 1  # shoppers 0 and 1: one family account
    account[0] = 0
    account[-1] = -1  # staff carry no account
    noise = np.random.default_rng(tick).normal(0.0, 0.08, pos.shape)
    tpos = pos + noise
    if tick >= switch_tick and n_shoppers >= 3:
        tpos[[1, 2]] = tpos[[2, 1]]  # identity switch: tracks 1 and 2 swap bodies
    past = np.stack(
        [
            np.concatenate(
                [
                    _walk(np.array([t - k]), 1.3 * i, rows[i], w * header.cell_m)
                    for i in range(n_shoppers)
                ]
            )
            for k in range(trail, 0, -1)
        ],
        1,
    )
    p = header.n_plates
    stock = 1.0 - ((np.arange(p) * 7 + tick // 5) % 11) / 12.0
    flash = np.zeros(p)
    flash[(tick // 3) % p] = 1.0
    flash[(tick // 3 + 9) % p] = 0.5
    price = np.ones(p)
    promo = np.zeros(p, np.int8)
    price[8:12], promo[8:12] = 0.7, DISCOUNT
    price[20:22], promo[20:22] = 0.8, MEMBER_ONLY
    decisions = [[3, 2, 10], [5, 1, 40], [14, 3, 100]]
    return make_frame(
        header,
        t,
        shopper_pos=pos,
        shopper_kind=kind,
        shopper_account=account,
        track_pos=tpos,
        track_account=account,
        track_trail=past,
        plate_stock_frac=stock,
        plate_event=flash,
        price_mult=price,
        promo=promo,
        decisions=decisions,
        status={
            "n_in_store": n_shoppers - 1,
            "decisions_right": 7 + tick // 50,
            "decisions": 9 + tick // 40,
        },
    )


def demo_frames(header: FrameHeader, n: int, **kw) -> list[Frame]:
    return [demo_frame(header, k, **kw) for k in range(n)]
