"""Store layouts from ASCII maps, with walking precomputed so a move is a table lookup.

Map legend (one character per 0.5 m x 0.5 m cell; lines starting with ``;`` or
``# `` + text before the grid are comments -- a comment is a line whose first
character is ``#`` followed by a space):

====  ==========================================================
``#``  wall
``.``  floor (walkable)
``=``  shelf cell holding one weight plate
``+``  end-cap display spot: a stand-alone shelf cell with one plate
``E``  entry gate (walkable; shoppers appear here, the gate binds the account)
``X``  exit gate (walkable; shoppers leave the store here)
====  ==========================================================

A run of ``=`` cells in one row (or column) that are reached from the same side
forms one shelf; plates on a shelf have left/right neighbours (weight crosstalk).
Each plate is reached from one floor cell next to it (its *access cell*).
Walking is 4-connected. For every target (each access cell, and the nearest exit)
a BFS distance field and a next-step table are precomputed: ``next_cell[t, c]``
is the neighbour of cell ``c`` one step closer to target ``t`` (one compiled BFS per
target, then one vectorised pass for all next steps).

Limits (docs/limits.md): a map file of at most ``MAX_MAP_BYTES``, a grid of at most
``MAX_CELLS`` cells and at most ``MAX_PLATES`` plates, so the tables (targets x cells,
6 bytes each) stay under ~100 MB and the largest map builds in about a second.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numba
import numpy as np

from retail_env.errors import MapError

FLOOR, WALL, SHELF, ENTRY, EXIT, ENDCAP = 0, 1, 2, 3, 4, 5
CHARS = {".": FLOOR, "#": WALL, "=": SHELF, "E": ENTRY, "X": EXIT, "+": ENDCAP}
WALKABLE = (FLOOR, ENTRY, EXIT)
MAP_DIR = Path(__file__).with_name("maps")
BUILTIN = ("small", "medium", "large")
UNREACHABLE = np.iinfo(np.int16).max
MAX_MAP_BYTES = 1 << 20  # a map file (1 MiB: far above MAX_CELLS characters plus comments)
MAX_CELLS = 16_384  # grid cells (e.g. 128 x 128, 64 m square; 'large' has 960)
MAX_PLATES = 1_024  # plates ('large' has 215)
# neighbour offsets N, S, W, E
_DIRS = ((-1, 0), (1, 0), (0, -1), (0, 1))


@dataclasses.dataclass(frozen=True, eq=False)
class Layout:
    """A static store map: grid codes, plates and the walking tables."""

    name: str
    grid: np.ndarray  # (H, W) uint8 cell codes
    cell_m: float  # cell edge, metres
    plate_cell: np.ndarray  # (P, 2) row, col of each plate's shelf cell
    plate_access: np.ndarray  # (P,) flat floor cell a shopper stands on to reach it
    plate_shelf: np.ndarray  # (P,) shelf id
    plate_neighbors: np.ndarray  # (P, 2) left/right plate on the same shelf, -1 if none
    plate_endcap: np.ndarray  # (P,) bool, plate is an end-cap display
    entry_cells: np.ndarray  # flat indices
    exit_cells: np.ndarray
    endcap_cells: np.ndarray
    targets: np.ndarray  # (T,) flat target cell; the last target is "nearest exit"
    plate_target: np.ndarray  # (P,) row of each plate's access cell in the tables
    dist: np.ndarray  # (T, H*W) int16 steps to target (UNREACHABLE if none)
    next_cell: np.ndarray  # (T, H*W) int32 next flat cell toward target
    cell_xy: np.ndarray  # (H*W, 2) float32 cell centre (x = col, y = row), metres

    @property
    def shape(self) -> tuple[int, int]:
        return self.grid.shape

    @property
    def n_cells(self) -> int:
        return self.grid.size

    @property
    def n_plates(self) -> int:
        return len(self.plate_access)

    @property
    def n_shelves(self) -> int:
        return int(self.plate_shelf.max()) + 1

    @property
    def exit_target(self) -> int:
        return len(self.targets) - 1

    @property
    def walkable(self) -> np.ndarray:
        """(H*W,) bool: cells shoppers may stand on."""
        return np.isin(self.grid.ravel(), WALKABLE)


def _parse(text: str, source: str) -> tuple[np.ndarray, list[int]]:
    rows: list[tuple[int, str]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip("\r\n")
        if not line.strip() or line.startswith(";") or line.startswith("# "):
            continue
        rows.append((lineno, line.rstrip()))
    if not rows:
        raise MapError(f"{source}: map has no grid lines")
    width = max(len(r) for _, r in rows)
    if len(rows) * width > MAX_CELLS:
        raise MapError(
            f"{source}: map of {len(rows)} x {width} = {len(rows) * width:,} cells is "
            f"too large: at most {MAX_CELLS:,} cells"
        )
    grid = np.full((len(rows), width), WALL, dtype=np.uint8)
    for r, (lineno, line) in enumerate(rows):
        for c, ch in enumerate(line):
            if ch not in CHARS:
                raise MapError(
                    f"{source}:{lineno}:{c + 1}: unknown map character {ch!r}; "
                    f"allowed: {sorted(CHARS)}"
                )
            grid[r, c] = CHARS[ch]
    for code, what in ((ENTRY, "entry gate 'E'"), (EXIT, "exit gate 'X'")):
        if not (grid == code).any():
            raise MapError(f"{source}: map has no {what}")
    if not np.isin(grid, (SHELF, ENDCAP)).any():
        raise MapError(f"{source}: map has no shelf cells ('=' or '+')")
    return grid, [lineno for lineno, _ in rows]


@numba.njit(cache=True, nogil=True)
def _bfs_kernel(walk: np.ndarray, w: int, src_ptr: np.ndarray, src: np.ndarray) -> np.ndarray:
    """(T, N) int32 steps from every cell to the nearest of target t's sources
    ``src[src_ptr[t]:src_ptr[t + 1]]`` (flat cells), 4-connected over ``walk`` (N,);
    ``NO_PATH`` where none."""
    n, t_count = walk.shape[0], src_ptr.shape[0] - 1
    dist = np.full((t_count, n), NO_PATH, np.int32)
    queue = np.empty(n, np.int64)
    for t in range(t_count):
        head = tail = 0
        for k in range(src_ptr[t], src_ptr[t + 1]):
            if dist[t, src[k]] != 0:
                dist[t, src[k]] = 0
                queue[tail] = src[k]
                tail += 1
        while head < tail:
            c = queue[head]
            head += 1
            d = dist[t, c] + 1
            r, col = c // w, c % w
            for nb, ok in (
                (c - w, r > 0),
                (c + w, c + w < n),
                (c - 1, col > 0),
                (c + 1, col < w - 1),
            ):
                if ok and walk[nb] and dist[t, nb] > d:
                    dist[t, nb] = d
                    queue[tail] = nb
                    tail += 1
    return dist


NO_PATH = np.iinfo(np.int32).max


def _bfs_many(grid: np.ndarray, sources: list[np.ndarray]) -> np.ndarray:
    """(T, H, W) int32 steps from every walkable cell to the nearest of each target's
    sources (flat cells); ``NO_PATH`` where unreachable."""
    h, w = grid.shape
    walk = np.isin(grid, WALKABLE).ravel()
    ptr = np.zeros(len(sources) + 1, np.int64)
    ptr[1:] = np.cumsum([len(s) for s in sources])
    src = np.concatenate([np.asarray(s, np.int64).ravel() for s in sources])
    return _bfs_kernel(walk, w, ptr, src).reshape(len(sources), h, w)


def _next_step(dist: np.ndarray) -> np.ndarray:
    """(T, H, W) -> (T, H*W): for each cell, the 4-neighbour with the smallest distance
    (itself at the target; ties go N, S, W, E)."""
    t, h, w = dist.shape
    best = dist.copy()
    idx = np.arange(h * w, dtype=np.int32).reshape(h, w)
    nxt = np.broadcast_to(idx, dist.shape).copy()
    pad = np.pad(dist, ((0, 0), (1, 1), (1, 1)), constant_values=NO_PATH)
    for dr, dc in _DIRS:
        nd = pad[:, 1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w]
        better = nd < best
        best = np.where(better, nd, best)
        nxt = np.where(better, np.roll(idx, (-dr, -dc), axis=(0, 1)), nxt)
    return nxt.reshape(t, h * w)


def _plates(grid: np.ndarray, source: str, lines: list[int]):
    """Plates in reading order with their access cells and shelf runs."""
    h, w = grid.shape
    walk = np.isin(grid, WALKABLE)
    is_shelf = grid == SHELF

    def ok(r, c, arr):
        return 0 <= r < h and 0 <= c < w and arr[r, c]

    cells, access, orient = [], [], []
    for r in range(h):
        for c in range(w):
            if grid[r, c] not in (SHELF, ENDCAP):
                continue
            horiz = grid[r, c] == SHELF and (ok(r, c - 1, is_shelf) or ok(r, c + 1, is_shelf))
            vert = grid[r, c] == SHELF and (ok(r - 1, c, is_shelf) or ok(r + 1, c, is_shelf))
            order = _DIRS if horiz or not vert else (_DIRS[2], _DIRS[3], _DIRS[0], _DIRS[1])
            acc = next(((r + dr, c + dc) for dr, dc in order if ok(r + dr, c + dc, walk)), None)
            if acc is None:
                raise MapError(
                    f"{source}:{lines[r]}:{c + 1}: shelf cell "
                    f"{'=+'[int(grid[r, c] == ENDCAP)]!r} has no floor cell next to it"
                )
            cells.append((r, c))
            access.append(acc)
            orient.append("h" if horiz or not vert else "v")
    # shelves: runs of '=' with the same orientation and access side
    key = {
        cell: (o, (a[0] - cell[0], a[1] - cell[1]), grid[cell] == ENDCAP)
        for cell, a, o in zip(cells, access, orient, strict=True)
    }
    index = {cell: i for i, cell in enumerate(cells)}
    shelf = np.full(len(cells), -1, dtype=np.int64)
    nbr = np.full((len(cells), 2), -1, dtype=np.int64)
    n_shelf = 0
    for i, (r, c) in enumerate(cells):
        o, side, endcap = key[(r, c)]
        step = (0, 1) if o == "h" else (1, 0)
        for j, (dr, dc) in enumerate(((-step[0], -step[1]), step)):
            other = (r + dr, c + dc)
            if not endcap and other in key and key[other] == key[(r, c)]:
                nbr[i, j] = index[other]
    for i in range(len(cells)):
        if shelf[i] < 0:
            shelf[i] = n_shelf
            k = i
            while nbr[k, 1] >= 0:
                k = nbr[k, 1]
                shelf[k] = n_shelf
            n_shelf += 1
    return (np.array(cells, dtype=np.int64), np.array(access, dtype=np.int64), shelf, nbr)


def parse_layout(text: str, name: str = "map", cell_m: float = 0.5) -> Layout:
    """Build a :class:`Layout` from map text; errors name the source, line and column."""
    grid, lines = _parse(text, name)
    h, w = grid.shape
    plate_cell, acc_rc, plate_shelf, nbr = _plates(grid, name, lines)
    flat = lambda rc: rc[..., 0] * w + rc[..., 1]  # noqa: E731
    entries = np.argwhere(grid == ENTRY)
    exits = np.argwhere(grid == EXIT)
    if len(plate_cell) > MAX_PLATES:
        raise MapError(f"{name}: map has {len(plate_cell):,} plates: at most {MAX_PLATES:,}")
    plate_access = flat(acc_rc)
    uniq, plate_target = np.unique(plate_access, return_inverse=True)
    dist = _bfs_many(grid, [flat(entries), *uniq[:, None], flat(exits)])
    reach, dist = dist[0], dist[1:]
    longest = int(reach[reach < NO_PATH].max())
    if longest >= UNREACHABLE:
        raise MapError(
            f"{name}: a walk of {longest:,} steps from the entry is longer than the "
            f"{UNREACHABLE:,} steps the tables hold"
        )
    for (r, c), (ar, ac) in zip(plate_cell, acc_rc, strict=True):
        if reach[ar, ac] >= UNREACHABLE:
            raise MapError(
                f"{name}:{lines[r]}:{c + 1}: plate at row {r}, col {c} "
                "cannot be reached from the entry"
            )
    for r, c in exits:
        if reach[r, c] >= UNREACHABLE:
            raise MapError(f"{name}:{lines[r]}:{c + 1}: exit gate cannot be reached from the entry")
    nexts = _next_step(dist)
    rows, cols = np.divmod(np.arange(h * w), w)
    cell_xy = (np.stack([cols, rows], axis=1) + 0.5).astype(np.float32) * np.float32(cell_m)
    arrays = dict(
        grid=grid,
        plate_cell=plate_cell,
        plate_access=plate_access,
        plate_shelf=plate_shelf,
        plate_neighbors=nbr,
        plate_endcap=grid[plate_cell[:, 0], plate_cell[:, 1]] == ENDCAP,
        entry_cells=flat(entries),
        exit_cells=flat(exits),
        endcap_cells=flat(np.argwhere(grid == ENDCAP)),
        targets=np.append(uniq, flat(exits)[0]),
        plate_target=plate_target.astype(np.int64),
        dist=np.minimum(dist.reshape(len(dist), -1), UNREACHABLE).astype(np.int16),
        next_cell=nexts,
        cell_xy=cell_xy,
    )
    for a in arrays.values():
        a.setflags(write=False)
    return Layout(name=name, cell_m=cell_m, **arrays)


def load_layout(name_or_path: str, cell_m: float = 0.5) -> Layout:
    """A built-in layout by name (``small``, ``medium``, ``large``) or a map file path."""
    path = MAP_DIR / f"{name_or_path}.txt" if name_or_path in BUILTIN else Path(name_or_path)
    if not path.is_file():
        raise MapError(
            f"layout={name_or_path!r} is neither a built-in {list(BUILTIN)} nor a map file"
        )
    if path.stat().st_size > MAX_MAP_BYTES:
        raise MapError(
            f"{path}: map file of {path.stat().st_size:,} bytes is too large: at most "
            f"{MAX_MAP_BYTES:,}"
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise MapError(
            f"{path} is not a text map (not UTF-8: byte {err.start} is "
            f"{err.object[err.start : err.start + 1]!r})"
        ) from None
    return parse_layout(text, name=str(path), cell_m=cell_m)
