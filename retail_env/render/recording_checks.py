"""Checks that make a loaded recording safe to play, export and heatmap.

A recording is untrusted input: a small ``.npz`` can declare a terabyte member, a
deeply nested header, a grid of millions of cells, or positions and indices that crash
drawing. These checks run in :func:`retail_env.render.recording.load_recording`, first
on the zip headers (before anything is decompressed), then on the header JSON (size and
nesting before parsing), then on every member's dtype, shape and values. The limits
are listed in docs/limits.md.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from retail_env.errors import RetailEnvError
from retail_env.render.frame import DECISION_DTYPE, FRAME_ARRAYS, FrameHeader
from retail_env.sim.layout import MAX_CELLS, MAX_PLATES

MAX_MEMBERS = 256  # .npy members in one recording
MAX_TOTAL_BYTES = 256 << 20  # decompressed members summed (256 MiB)
MAX_HEADER_BYTES = 1 << 20  # header_json (1 MiB)
MAX_HEADER_DEPTH = 32  # nesting of the header JSON (the env config is ~4)
MAX_SLOTS = 4_096  # shopper slots or camera tracks per frame
MAX_TRAIL = 256  # trail points per track
MAX_CELL_M = 10.0  # metres per grid cell
MARGIN_M = 10.0  # positions may lie this far outside (noisy camera tracks)
MIN_GAP_S = 1e-3  # frames share a time or are at least this far apart
N_CODES, N_OUTCOMES, N_PROMOS = 6, 4, 3  # grid cell codes, decision outcomes, promo kinds


class RecordingError(RetailEnvError, ValueError):
    """A file is not a recording, is from another format version, or is damaged."""


def check_archive(path: Path) -> None:
    """Refuse, from the zip headers alone, archives too big to decompress, and .npy members
    whose own header declares more data than the member holds (NumPy would allocate it)."""
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise RecordingError(f"{path} has {len(infos):,} members: at most {MAX_MEMBERS}")
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL_BYTES:
            big = max(infos, key=lambda i: i.file_size)
            raise RecordingError(
                f"{path} declares {total:,} bytes uncompressed (largest member "
                f"{big.filename!r}: {big.file_size:,}): at most "
                f"{MAX_TOTAL_BYTES:,}"
            )
        for info in infos:
            with zf.open(info) as fh:
                _check_npy_header(path, info, fh)


def _check_npy_header(path: Path, info: zipfile.ZipInfo, fh) -> None:
    try:
        read = {
            (1, 0): npy_format.read_array_header_1_0,
            (2, 0): npy_format.read_array_header_2_0,
        }.get(npy_format.read_magic(fh))
        if read is None:
            raise ValueError("unsupported .npy format version")
        shape, _, dtype = read(fh, max_header_size=10_000)
    except (ValueError, SyntaxError, TypeError, EOFError) as err:
        raise RecordingError(
            f"{path}: member {info.filename!r} is not a NumPy array ({err})"
        ) from None
    if dtype.hasobject:
        raise RecordingError(f"{path}: member {info.filename!r} holds Python objects")
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if need > info.file_size:
        raise RecordingError(
            f"{path}: member {info.filename!r} declares shape {shape} of "
            f"{dtype} ({need:,} bytes) but holds {info.file_size:,} bytes"
        )


def parse_header(path: Path, raw: bytes) -> Any:
    """The header JSON, refused before parsing when too large or nested too deep."""
    if len(raw) > MAX_HEADER_BYTES:
        raise RecordingError(
            f"{path}: header_json of {len(raw):,} bytes: at most {MAX_HEADER_BYTES:,}"
        )
    text = raw.decode("utf-8")
    bare = re.sub(rb'"(?:[^"\\]|\\.)*"', b'""', text.encode())  # strings cannot nest
    step = np.frombuffer(bare, np.uint8)
    depth = np.cumsum(
        np.isin(step, (91, 123)).astype(np.int64) - np.isin(step, (93, 125)).astype(np.int64)
    )
    if len(depth) and depth.max() > MAX_HEADER_DEPTH:
        raise RecordingError(
            f"{path}: header_json is nested {int(depth.max())} deep: at most {MAX_HEADER_DEPTH}"
        )
    return json.loads(text)


def check_header(path: Path, meta: dict, arrays: dict[str, np.ndarray]) -> FrameHeader:
    """The store header, with the grid and plate counts within the map limits."""
    hj = meta.get("header")
    if not isinstance(hj, dict):
        raise RecordingError(f"{path} is damaged: the header is {type(hj).__name__}, not an object")
    grid = arrays["grid"]
    if grid.ndim != 2 or grid.dtype != np.uint8 or not grid.size or grid.size > MAX_CELLS:
        raise RecordingError(
            f"{path}: grid of shape {grid.shape} ({grid.dtype}) is not allowed: "
            f"a 2-D uint8 grid of 1 to {MAX_CELLS:,} cells"
        )
    if grid.max() >= N_CODES:
        raise RecordingError(f"{path}: grid holds cell code {int(grid.max())}: codes are 0..5")
    cell_m, tick_hz = hj.get("cell_m"), hj.get("tick_hz", 10.0)
    for name, v, hi in (("cell_m", cell_m, MAX_CELL_M), ("tick_hz", tick_hz, 1000.0)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= hi:
            raise RecordingError(f"{path}: header {name}={v!r} must be a number in (0, {hi}]")
    names: dict[str, Any] = {k: hj.get(k) for k in ("category_names", "product_names")}
    for k, v in names.items():
        if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
            raise RecordingError(f"{path}: header {k} must be a list of strings")
    if not isinstance(hj.get("task", ""), str):
        raise RecordingError(f"{path}: header task must be a string")
    n_plates = len(arrays["plate_cell"].reshape(-1))
    if n_plates // 2 > MAX_PLATES:
        raise RecordingError(f"{path}: {n_plates // 2:,} plates: at most {MAX_PLATES:,}")
    for k in ("plate_cell", "plate_category", "plate_product"):
        if arrays[k].dtype.kind not in "iu":
            raise RecordingError(f"{path}: header {k} has dtype {arrays[k].dtype}, not integers")
    prod = arrays["plate_product"].reshape(-1)
    if len(prod) and (prod.min() < 0 or prod.max() >= len(names["product_names"])):
        raise RecordingError(f"{path}: plate_product indexes outside product_names")
    try:
        return FrameHeader.from_parts(hj, arrays)
    except (KeyError, ValueError, TypeError, OverflowError) as err:
        raise RecordingError(f"{path} is damaged: bad header ({err})") from None


def _shape_of(name: str, n: int, s: int, t: int, k: int, p: int) -> tuple[int, ...]:
    return {
        "shopper_pos": (n, s, 2),
        "shopper_kind": (n, s),
        "shopper_account": (n, s),
        "track_pos": (n, t, 2),
        "track_account": (n, t),
        "track_trail": (n, t, k, 2),
        "plate_stock": (n, p),
        "plate_event": (n, p),
        "price_mult": (n, p),
        "promo": (n, p),
    }[name]


def check_frames(
    path: Path,
    header: FrameHeader,
    n: Any,
    arrays: dict[str, np.ndarray],
    counts: np.ndarray,
    dec: np.ndarray,
    status: dict[str, np.ndarray],
) -> None:
    """Dtypes, shapes and values of the frame members, so every frame can be drawn."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise RecordingError(f"{path} is damaged: n_frames={n!r} must be an integer >= 1")
    for name, dtype in {**FRAME_ARRAYS, "time_s": np.dtype(np.float64)}.items():
        if arrays[name].dtype != dtype:
            raise RecordingError(
                f"{path}: member {name!r} has dtype {arrays[name].dtype}, expected {dtype}"
            )
    sp, tp = arrays["shopper_pos"], arrays["track_trail"]
    s = sp.shape[1] if sp.ndim == 3 else -1
    t, k = (tp.shape[1], tp.shape[2]) if tp.ndim == 4 else (-1, -1)
    if not (0 <= s <= MAX_SLOTS and 0 <= t <= MAX_SLOTS and 0 <= k <= MAX_TRAIL):
        raise RecordingError(
            f"{path}: {s} shopper slots, {t} tracks of {k} trail points: at "
            f"most {MAX_SLOTS} slots or tracks and {MAX_TRAIL} trail points"
        )
    for name, a in arrays.items():
        want = (n,) if name == "time_s" else _shape_of(name, n, s, t, k, header.n_plates)
        if a.shape != want:
            raise RecordingError(
                f"{path}: member {name!r} has shape {a.shape}, expected {want} "
                f"(n_frames={n}, {s} slots, {t} tracks, {header.n_plates} plates)"
            )
    times, gaps = arrays["time_s"], np.diff(arrays["time_s"])
    if (
        not np.all(np.isfinite(times))
        or abs(times).max() > 1e9
        or np.any((gaps < 0) | ((gaps > 0) & (gaps < MIN_GAP_S)))
    ):
        raise RecordingError(
            f"{path}: time_s must be finite, within 1e9 s and non-decreasing "
            f"in steps of 0 or at least {MIN_GAP_S} s"
        )
    h, w = header.grid.shape
    lo = -MARGIN_M
    hi = np.array([w, h], np.float64) * header.cell_m + MARGIN_M
    for name in ("shopper_pos", "track_pos", "track_trail"):
        flat = arrays[name].reshape(-1, 2)
        for i in range(0, len(flat), 1 << 20):  # chunks: no full-size temporaries
            pos = flat[i : i + (1 << 20)].astype(np.float64)
            ok = np.isnan(pos) | ((pos >= lo) & (pos <= hi))
            if not ok.all():
                bad = float(pos[~ok].ravel()[0])
                raise RecordingError(
                    f"{path}: {name} holds {bad!r}: positions must be NaN or "
                    f"within {MARGIN_M:g} m of the store ({lo:g}..{hi[0]:g} m "
                    f"east, {lo:g}..{hi[1]:g} m south)"
                )
    for name, lo, top in (("shopper_kind", -1, 1), ("promo", 0, N_PROMOS - 1)):
        a = arrays[name]
        if a.size and (a.min() < lo or a.max() > top):
            raise RecordingError(f"{path}: {name} holds values outside {lo}..{top}")
    pm = arrays["price_mult"].astype(np.float64)
    if not np.all(np.isfinite(pm) & (pm >= 0)):
        raise RecordingError(f"{path}: price_mult must be finite and >= 0")
    if (
        counts.ndim != 1
        or counts.dtype.kind not in "iu"
        or len(counts) != n
        or (counts.size and counts.min() < 0)
    ):
        raise RecordingError(f"{path}: decision_count must be {n} non-negative integers")
    if (
        dec.dtype != DECISION_DTYPE
        or dec.ndim != 2
        or dec.shape[1] != 3
        or int(counts.sum()) != len(dec)
    ):
        raise RecordingError(
            f"{path}: decisions must be ({int(counts.sum())}, 3) {DECISION_DTYPE}, "
            f"got {dec.shape} {dec.dtype}"
        )
    if len(dec) and (
        dec[:, 0].min() < 0
        or dec[:, 0].max() >= header.n_plates
        or dec[:, 1].min() < 0
        or dec[:, 1].max() >= N_OUTCOMES
        or dec[:, 2].min() < 0
    ):
        raise RecordingError(
            f"{path}: decisions hold a plate outside 0..{header.n_plates - 1}, "
            f"an outcome outside 0..{N_OUTCOMES - 1} or a negative age"
        )
    for key, v in status.items():
        if (
            v.dtype != np.float64
            or v.shape != (n,)
            or np.isinf(v).any()
            or np.nanmax(np.abs(v), initial=0.0) > 1e15
        ):
            raise RecordingError(f"{path}: status__{key} must be ({n},) float64, finite or NaN")
