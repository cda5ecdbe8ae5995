"""Colours and sizes. One place, so pictures stay consistent and tests can name colours.

Category colours follow Tableau 10 (distinct under common colour-vision deficiencies);
green and red are reserved for decision marks, so categories avoid pure green/red.
"""

from __future__ import annotations

from typing import cast

import numpy as np

RGB = tuple[int, int, int]

FLOOR: RGB = (236, 233, 226)
FLOOR_LINE: RGB = (224, 220, 211)
WALL: RGB = (58, 63, 74)
ENTRY: RGB = (196, 228, 202)
EXIT: RGB = (244, 207, 196)
ENDCAP_EDGE: RGB = (212, 160, 23)
SHELF_EDGE: RGB = (40, 40, 46)

STATUS_BG: RGB = (32, 35, 42)
STATUS_FG: RGB = (245, 245, 245)
STATUS_DIM: RGB = (160, 166, 178)
PANEL_BG: RGB = (247, 246, 242)
PANEL_FG: RGB = (40, 42, 48)
HELP_BG: RGB = (20, 22, 27)
HELP_FG: RGB = (220, 224, 232)

CATEGORY: tuple[RGB, ...] = (
    (78, 121, 167),  # blue
    (242, 142, 43),  # orange
    (118, 183, 178),  # teal
    (237, 201, 72),  # yellow
    (176, 122, 161),  # purple
    (255, 157, 167),  # pink
    (156, 117, 95),  # brown
    (186, 176, 172),  # grey
    (106, 61, 154),  # violet
    (31, 190, 207),  # cyan
    (140, 86, 75),  # umber
    (188, 189, 34),  # olive
)

# Shopper / track colours by account (family members share an account, hence a colour).
ACCOUNT: tuple[RGB, ...] = (
    (31, 119, 180),
    (255, 127, 14),
    (148, 103, 189),
    (23, 190, 207),
    (227, 119, 194),
    (140, 86, 75),
    (188, 189, 34),
    (0, 0, 128),
    (255, 187, 120),
    (0, 128, 128),
    (197, 176, 213),
    (128, 0, 128),
)
NO_ACCOUNT: RGB = (90, 90, 90)
STAFF: RGB = (50, 50, 50)
OUTLINE: RGB = (25, 25, 30)

EVENT: RGB = (255, 214, 0)
CORRECT: RGB = (26, 163, 74)
WRONG: RGB = (220, 38, 38)
REVIEWED: RGB = (37, 99, 235)
PENDING: RGB = (120, 120, 130)
DECISION = {0: PENDING, 1: CORRECT, 2: WRONG, 3: REVIEWED}

DISCOUNT: RGB = (255, 111, 0)
MEMBER: RGB = (156, 39, 176)
PRICE_UP: RGB = (96, 96, 110)

EMPTY_SLOT: RGB = (255, 255, 255)
EMPTY_MIX = 0.72  # empty part of a plate: category colour faded this far to white


def category(i: int) -> RGB:
    return CATEGORY[int(i) % len(CATEGORY)]


def account(a: int) -> RGB:
    return NO_ACCOUNT if a < 0 else ACCOUNT[int(a) % len(ACCOUNT)]


def empty(c: RGB) -> RGB:
    """The pale colour of the emptied part of a plate (the saturated part is stock left)."""
    return mix(c, EMPTY_SLOT, EMPTY_MIX)


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Blend from ``a`` (t=0) to ``b`` (t=1)."""
    t = float(min(1.0, max(0.0, t)))
    return cast("RGB", tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b, strict=True)))


# Heatmap colour map: perceptually ordered anchors of matplotlib's "inferno".
_HEAT_ANCHORS = np.array(
    [
        (0, 0, 4),
        (40, 11, 84),
        (101, 21, 110),
        (159, 42, 99),
        (212, 72, 66),
        (245, 125, 21),
        (250, 193, 39),
        (252, 255, 164),
    ],
    dtype=np.float64,
)


def heat_lut(n: int = 256) -> np.ndarray:
    """(n, 3) uint8 colour lookup table from dark (0) to bright (n-1)."""
    x = np.linspace(0.0, len(_HEAT_ANCHORS) - 1, n)
    i = np.minimum(x.astype(int), len(_HEAT_ANCHORS) - 2)
    t = (x - i)[:, None]
    return np.rint(_HEAT_ANCHORS[i] * (1 - t) + _HEAT_ANCHORS[i + 1] * t).astype(np.uint8)
