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
is the neighbour of cell ``c`` one step closer to target ``t``.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from pathlib import Path

import numpy as np

from retail_env.sim.validation import ConfigError

FLOOR, WALL, SHELF, ENTRY, EXIT, ENDCAP = 0, 1, 2, 3, 4, 5
CHARS = {".": FLOOR, "#": WALL, "=": SHELF, "E": ENTRY, "X": EXIT, "+": ENDCAP}
WALKABLE = (FLOOR, ENTRY, EXIT)
MAP_DIR = Path(__file__).with_name("maps")
BUILTIN = ("small", "medium", "large")
UNREACHABLE = np.iinfo(np.int16).max
# neighbour offsets N, S, W, E
_DIRS = ((-1, 0), (1, 0), (0, -1), (0, 1))


@dataclasses.dataclass(frozen=True, eq=False)
class Layout:
    """A static store map: grid codes, plates and the walking tables."""

    name: str
    grid: np.ndarray            # (H, W) uint8 cell codes
    cell_m: float               # cell edge, metres
    plate_cell: np.ndarray      # (P, 2) row, col of each plate's shelf cell
    plate_access: np.ndarray    # (P,) flat floor cell a shopper stands on to reach it
    plate_shelf: np.ndarray     # (P,) shelf id
    plate_neighbors: np.ndarray  # (P, 2) left/right plate on the same shelf, -1 if none
    plate_endcap: np.ndarray    # (P,) bool, plate is an end-cap display
    entry_cells: np.ndarray     # flat indices
    exit_cells: np.ndarray
    endcap_cells: np.ndarray
    targets: np.ndarray         # (T,) flat target cell; the last target is "nearest exit"
    plate_target: np.ndarray    # (P,) row of each plate's access cell in the tables
    dist: np.ndarray            # (T, H*W) int16 steps to target (UNREACHABLE if none)
    next_cell: np.ndarray       # (T, H*W) int32 next flat cell toward target
    cell_xy: np.ndarray         # (H*W, 2) float32 cell centre (x = col, y = row), metres

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
        raise ConfigError(f"{source}: map has no grid lines")
    width = max(len(r) for _, r in rows)
    grid = np.full((len(rows), width), WALL, dtype=np.uint8)
    for r, (lineno, line) in enumerate(rows):
        for c, ch in enumerate(line):
            if ch not in CHARS:
                raise ConfigError(f"{source}:{lineno}:{c + 1}: unknown map character {ch!r}; "
                                  f"allowed: {sorted(CHARS)}")
            grid[r, c] = CHARS[ch]
    for code, what in ((ENTRY, "entry gate 'E'"), (EXIT, "exit gate 'X'")):
        if not (grid == code).any():
            raise ConfigError(f"{source}: map has no {what}")
    if not np.isin(grid, (SHELF, ENDCAP)).any():
        raise ConfigError(f"{source}: map has no shelf cells ('=' or '+')")
    return grid, [lineno for lineno, _ in rows]


def _bfs(grid: np.ndarray, sources: list[tuple[int, int]]) -> np.ndarray:
    """Steps from every walkable cell to the nearest source (4-connected)."""
    h, w = grid.shape
    walk = np.isin(grid, WALKABLE)
    dist = np.full((h, w), UNREACHABLE, dtype=np.int32)
    q: deque = deque()
    for r, c in sources:
        dist[r, c] = 0
        q.append((r, c))
    while q:
        r, c = q.popleft()
        d = dist[r, c] + 1
        for dr, dc in _DIRS:
            rr, cc = r + dr, c + dc
            if 0 <= rr < h and 0 <= cc < w and walk[rr, cc] and dist[rr, cc] > d:
                dist[rr, cc] = d
                q.append((rr, cc))
    return dist


def _next_step(grid: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """For each cell, the 4-neighbour with the smallest distance (itself at the target)."""
    h, w = grid.shape
    best = dist.copy()
    nxt = np.arange(h * w, dtype=np.int32).reshape(h, w)
    pad = np.pad(dist, 1, constant_values=UNREACHABLE)
    idx = np.arange(h * w, dtype=np.int32).reshape(h, w)
    for dr, dc in _DIRS:
        nd = pad[1 + dr:1 + dr + h, 1 + dc:1 + dc + w]
        better = nd < best
        best = np.where(better, nd, best)
        nxt = np.where(better, np.roll(idx, (-dr, -dc), axis=(0, 1)), nxt)
    return nxt


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
                raise ConfigError(f"{source}:{lines[r]}:{c + 1}: shelf cell "
                                  f"{'=+'[int(grid[r, c] == ENDCAP)]!r} has no floor cell next to it")
            cells.append((r, c))
            access.append(acc)
            orient.append("h" if horiz or not vert else "v")
    # shelves: runs of '=' with the same orientation and access side
    key = {cell: (o, (a[0] - cell[0], a[1] - cell[1]), grid[cell] == ENDCAP)
           for cell, a, o in zip(cells, access, orient, strict=True)}
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
    return (np.array(cells, dtype=np.int64), np.array(access, dtype=np.int64),
            shelf, nbr)


def parse_layout(text: str, name: str = "map", cell_m: float = 0.5) -> Layout:
    """Build a :class:`Layout` from map text; errors name the source, line and column."""
    grid, lines = _parse(text, name)
    h, w = grid.shape
    plate_cell, acc_rc, plate_shelf, nbr = _plates(grid, name, lines)
    flat = lambda rc: rc[..., 0] * w + rc[..., 1]  # noqa: E731
    entries = np.argwhere(grid == ENTRY)
    exits = np.argwhere(grid == EXIT)
    reach = _bfs(grid, [tuple(e) for e in entries])
    for (r, c), (ar, ac) in zip(plate_cell, acc_rc, strict=True):
        if reach[ar, ac] >= UNREACHABLE:
            raise ConfigError(f"{name}:{lines[r]}:{c + 1}: plate at row {r}, col {c} "
                              "cannot be reached from the entry")
    for r, c in exits:
        if reach[r, c] >= UNREACHABLE:
            raise ConfigError(f"{name}:{lines[r]}:{c + 1}: exit gate cannot be reached "
                              "from the entry")
    plate_access = flat(acc_rc)
    uniq, plate_target = np.unique(plate_access, return_inverse=True)
    dists, nexts = [], []
    for t in uniq:
        d = _bfs(grid, [divmod(int(t), w)])
        dists.append(d)
        nexts.append(_next_step(grid, d))
    d = _bfs(grid, [tuple(e) for e in exits])
    dists.append(d)
    nexts.append(_next_step(grid, d))
    rows, cols = np.divmod(np.arange(h * w), w)
    cell_xy = (np.stack([cols, rows], axis=1) + 0.5).astype(np.float32) * np.float32(cell_m)
    arrays = dict(
        grid=grid, plate_cell=plate_cell, plate_access=plate_access, plate_shelf=plate_shelf,
        plate_neighbors=nbr, plate_endcap=grid[plate_cell[:, 0], plate_cell[:, 1]] == ENDCAP,
        entry_cells=flat(entries), exit_cells=flat(exits),
        endcap_cells=flat(np.argwhere(grid == ENDCAP)),
        targets=np.append(uniq, flat(exits)[0]), plate_target=plate_target.astype(np.int64),
        dist=np.minimum(np.stack(dists).reshape(len(dists), -1), UNREACHABLE).astype(np.int16),
        next_cell=np.stack(nexts).reshape(len(nexts), -1).astype(np.int32), cell_xy=cell_xy,
    )
    for a in arrays.values():
        a.setflags(write=False)
    return Layout(name=name, cell_m=cell_m, **arrays)


def load_layout(name_or_path: str, cell_m: float = 0.5) -> Layout:
    """A built-in layout by name (``small``, ``medium``, ``large``) or a map file path."""
    path = MAP_DIR / f"{name_or_path}.txt" if name_or_path in BUILTIN else Path(name_or_path)
    if not path.is_file():
        raise ConfigError(f"layout={name_or_path!r} is neither a built-in {list(BUILTIN)} "
                          "nor a map file")
    return parse_layout(path.read_text(), name=str(path), cell_m=cell_m)
