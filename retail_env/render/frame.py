"""What the renderer draws and the recorder stores: a static header per store and small frames.

A :class:`Frame` is a snapshot of ONE store at one moment, already quantised to the
dtypes a recording keeps (positions float16, stock and flashes uint8, ...). Live
rendering and playback therefore draw bit-identical inputs, so a recorded episode
replays pixel for pixel. Drawing never touches live simulator objects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

# Grid cell codes (same as retail_env.sim.layout).
FLOOR, WALL, SHELF, ENTRY, EXIT, ENDCAP = 0, 1, 2, 3, 4, 5

# Decision outcomes drawn on plates (attribution task).
PENDING, CORRECT, WRONG, REVIEWED = 0, 1, 2, 3
# Promotion kinds drawn as tags (promotion task).
NO_PROMO, DISCOUNT, MEMBER_ONLY = 0, 1, 2
# Agent kinds.
ABSENT, SHOPPER, STAFF = -1, 0, 1

# Per-frame array fields: name -> stored dtype. The recorder stacks these over time.
FRAME_ARRAYS: dict[str, np.dtype] = {
    "shopper_pos": np.dtype(np.float16),  # (S, 2) metres (x east, y south), NaN = absent
    "shopper_kind": np.dtype(np.int8),  # (S,) ABSENT / SHOPPER / STAFF
    "shopper_account": np.dtype(np.int32),  # (S,) account id, -1 none
    "track_pos": np.dtype(np.float16),  # (T, 2) camera track positions, NaN = dropped
    "track_account": np.dtype(np.int32),  # (T,) account bound at track birth, -1 none
    "track_trail": np.dtype(np.float16),  # (T, K, 2) older track positions, oldest first
    "plate_stock": np.dtype(np.uint8),  # (P,) stock fraction * 255
    "plate_event": np.dtype(np.uint8),  # (P,) event flash 0..255 (255 = event now)
    "price_mult": np.dtype(np.float16),  # (P,) price / list price
    "promo": np.dtype(np.int8),  # (P,) NO_PROMO / DISCOUNT / MEMBER_ONLY
}
DECISION_DTYPE = np.dtype(np.int32)  # (D, 3) [plate, outcome, age in ticks]


@dataclass(frozen=True, eq=False)
class FrameHeader:
    """Static description of one store: everything drawn that never changes in an episode."""

    grid: np.ndarray  # (H, W) uint8 cell codes
    cell_m: float  # metres per grid cell
    plate_cell: np.ndarray  # (P, 2) int16 (row, col) of each plate's shelf cell
    plate_category: np.ndarray  # (P,) int16 category index of the product on the plate
    plate_product: np.ndarray  # (P,) int16 product index
    category_names: tuple[str, ...]
    product_names: tuple[str, ...]
    task: str = ""  # shown in the status bar ("attribution", "promotion")
    tick_hz: float = 10.0  # simulator ticks per second (for time labels)

    def __post_init__(self):
        grid = np.ascontiguousarray(self.grid, dtype=np.uint8)
        if grid.ndim != 2 or grid.size == 0:
            raise ValueError(f"grid must be a non-empty (H, W) array, got shape {grid.shape}")
        cells = np.asarray(self.plate_cell, dtype=np.int16).reshape(-1, 2)
        n = len(cells)
        cat = np.asarray(self.plate_category, dtype=np.int16).reshape(-1)
        prod = np.asarray(self.plate_product, dtype=np.int16).reshape(-1)
        if len(cat) != n or len(prod) != n:
            raise ValueError(
                f"plate arrays disagree: {n} cells, {len(cat)} categories, {len(prod)} products"
            )
        if n and (cells.min() < 0 or (cells >= np.array(grid.shape)).any()):
            raise ValueError("plate_cell lies outside the grid")
        if n and (cat.max() >= len(self.category_names) or cat.min() < 0):
            raise ValueError("plate_category indexes past category_names")
        for name, value in (
            ("grid", grid),
            ("plate_cell", cells),
            ("plate_category", cat),
            ("plate_product", prod),
        ):
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "category_names", tuple(str(c) for c in self.category_names))
        object.__setattr__(self, "product_names", tuple(str(c) for c in self.product_names))
        object.__setattr__(self, "cell_m", float(self.cell_m))
        object.__setattr__(self, "tick_hz", float(self.tick_hz))

    @property
    def n_plates(self) -> int:
        return len(self.plate_cell)

    ARRAYS = ("grid", "plate_cell", "plate_category", "plate_product")

    def to_json(self) -> dict:
        """The scalar part (names, sizes); the arrays go into the recording as arrays."""
        return {
            "cell_m": self.cell_m,
            "category_names": list(self.category_names),
            "product_names": list(self.product_names),
            "task": self.task,
            "tick_hz": self.tick_hz,
        }

    @classmethod
    def from_parts(cls, meta: Mapping, arrays: Mapping[str, np.ndarray]) -> FrameHeader:
        return cls(
            **{k: arrays[k] for k in cls.ARRAYS},
            cell_m=meta["cell_m"],
            category_names=tuple(meta["category_names"]),
            product_names=tuple(meta["product_names"]),
            task=meta.get("task", ""),
            tick_hz=meta.get("tick_hz", 10.0),
        )

    def same_as(self, other: FrameHeader) -> bool:
        return self.to_json() == other.to_json() and all(
            np.array_equal(getattr(self, k), getattr(other, k)) for k in self.ARRAYS
        )


@dataclass(eq=False)
class Frame:
    """One store at one moment, in recorded dtypes. Build it with :func:`make_frame`."""

    time_s: float
    shopper_pos: np.ndarray
    shopper_kind: np.ndarray
    shopper_account: np.ndarray
    track_pos: np.ndarray
    track_account: np.ndarray
    track_trail: np.ndarray
    plate_stock: np.ndarray
    plate_event: np.ndarray
    price_mult: np.ndarray
    promo: np.ndarray
    decisions: np.ndarray
    status: dict[str, float] = field(default_factory=dict)

    @property
    def plate_stock_frac(self) -> np.ndarray:
        return self.plate_stock.astype(np.float32) / 255.0

    def same_as(self, other: Frame) -> bool:
        """Exact equality (NaN == NaN), used to check record -> load round trips."""
        if self.time_s != other.time_s or self.status != other.status:
            return False
        names = [*FRAME_ARRAYS, "decisions"]
        return all(
            np.array_equal(getattr(self, k), getattr(other, k), equal_nan=True) for k in names
        )


def _arr(x, dtype, shape: tuple) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64 if dtype.kind == "f" else None)
    if dtype.kind != "f" and a.dtype.kind == "f":
        a = np.rint(a)
    return np.ascontiguousarray(a.reshape(shape).astype(dtype))


def make_frame(
    header: FrameHeader,
    time_s: float,
    *,
    shopper_pos: np.ndarray,
    shopper_kind: np.ndarray,
    shopper_account: np.ndarray | None = None,
    track_pos: np.ndarray | None = None,
    track_account: np.ndarray | None = None,
    track_trail: np.ndarray | None = None,
    plate_stock_frac: np.ndarray | None = None,
    plate_event: np.ndarray | None = None,
    price_mult: np.ndarray | None = None,
    promo: np.ndarray | None = None,
    decisions: np.ndarray | Sequence | None = None,
    status: Mapping[str, float] | None = None,
) -> Frame:
    """Quantise plain arrays into a :class:`Frame`.

    Fractions (stock, flash) are in [0, 1]; positions in metres; ``decisions`` rows are
    ``[plate, outcome, age_ticks]``; ``status`` values must be numbers (the task name lives
    in the header). Missing optional parts default to "nothing to show".
    """
    p = header.n_plates
    pos = np.asarray(shopper_pos, dtype=np.float64).reshape(-1, 2)
    s = len(pos)
    kind = np.asarray(shopper_kind).reshape(s)
    pos = np.where((kind == ABSENT)[:, None], np.nan, pos)
    tpos = np.full((0, 2), np.nan) if track_pos is None else np.asarray(track_pos, np.float64)
    tpos = tpos.reshape(-1, 2)
    t = len(tpos)
    trail = np.zeros((t, 0, 2)) if track_trail is None else np.asarray(track_trail, np.float64)
    trail = trail.reshape(t, trail.size // (2 * t) if t else 0, 2)
    stock = np.ones(p) if plate_stock_frac is None else np.clip(plate_stock_frac, 0.0, 1.0)
    flash = np.zeros(p) if plate_event is None else np.clip(plate_event, 0.0, 1.0)
    dec = np.zeros((0, 3)) if decisions is None or len(decisions) == 0 else decisions
    stat = {}
    for key, value in (status or {}).items():
        if isinstance(value, (bool, str)) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"status[{key!r}]={value!r} must be a number")
        stat[str(key)] = float(value)
    f = FRAME_ARRAYS
    return Frame(
        time_s=float(time_s),
        shopper_pos=_arr(pos, f["shopper_pos"], (s, 2)),
        shopper_kind=_arr(kind, f["shopper_kind"], (s,)),
        shopper_account=_arr(
            np.full(s, -1) if shopper_account is None else shopper_account,
            f["shopper_account"],
            (s,),
        ),
        track_pos=_arr(tpos, f["track_pos"], (t, 2)),
        track_account=_arr(
            np.full(t, -1) if track_account is None else track_account, f["track_account"], (t,)
        ),
        track_trail=_arr(trail, f["track_trail"], trail.shape),
        plate_stock=_arr(np.asarray(stock, np.float64) * 255.0, f["plate_stock"], (p,)),
        plate_event=_arr(np.asarray(flash, np.float64) * 255.0, f["plate_event"], (p,)),
        price_mult=_arr(np.ones(p) if price_mult is None else price_mult, f["price_mult"], (p,)),
        promo=_arr(np.zeros(p) if promo is None else promo, f["promo"], (p,)),
        decisions=_arr(dec, DECISION_DTYPE, (-1, 3)),
        status=stat,
    )


def format_clock(time_s: float) -> str:
    """'mm:ss.s' within the first hour, 'h:mm:ss' within a day, then 'day d hh:mm'."""
    if not math.isfinite(time_s):
        return "--:--"
    if time_s < 3600:
        return f"{int(time_s // 60):02d}:{time_s % 60:04.1f}"
    if time_s < 86400:
        return f"{int(time_s // 3600)}:{int(time_s % 3600 // 60):02d}:{int(time_s % 60):02d}"
    day, rest = divmod(time_s, 86400)
    return f"day {int(day) + 1} {int(rest // 3600):02d}:{int(rest % 3600 // 60):02d}"
