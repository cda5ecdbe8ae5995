"""Measure the input limits of docs/limits.md: build time of the largest allowed map and
peak memory of loading the largest allowed recording, and the cost of exporting frames
drawn on the largest allowed grid.

    python -m retail_env.experiments.bench_limits [--repeats 3] [--out outputs/limits]

The map is ``MAX_CELLS`` cells (128 x 128) with ``MAX_PLATES`` plates on shelf rows; the
recording holds members summing to just under ``MAX_TOTAL_BYTES`` (4,096 shopper slots
per frame). Memory is measured in a fresh process: the peak traced by ``tracemalloc`` (NumPy
reports its buffers to it) while loading, and the growth of the process's peak RSS
(VmHWM, Linux) from before the load. Speed is reported, never
asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from retail_env.render.frame import FRAME_ARRAYS
from retail_env.render.recording import load_recording, save_recording
from retail_env.render.recording_checks import MAX_SLOTS, MAX_TOTAL_BYTES
from retail_env.render.synthetic import demo_frames, demo_header
from retail_env.sim.layout import MAX_CELLS, MAX_PLATES, parse_layout


def largest_map_text(side: int = 128, plates: int = MAX_PLATES) -> str:
    """A ``side`` x ``side`` map (walls round it) with exactly ``plates`` shelf cells: runs
    of ``=`` on every third row, reached from the aisle below."""
    grid = [["."] * side for _ in range(side)]
    for r in range(side):
        grid[r][0] = grid[r][side - 1] = "#"
    grid[0] = ["#"] * side
    grid[side - 1] = ["#"] * side
    grid[1][1], grid[side - 2][side - 2] = "E", "X"
    left = plates
    for r in range(3, side - 3, 3):
        for c in range(3, side - 3):
            if left and c % 20:  # a gap every 20 cells to cross between aisles
                grid[r][c] = "="
                left -= 1
    if left:
        raise ValueError(f"{plates} plates do not fit a {side} x {side} map")
    return "\n".join("".join(row) for row in grid) + "\n"


def time_map(repeats: int) -> dict:
    text = largest_map_text()
    t0 = time.perf_counter()
    lay = parse_layout(text, "largest")  # the first build compiles the BFS (cached)
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        parse_layout(text, "largest")
        times.append(time.perf_counter() - t0)
    return {
        "cells": lay.n_cells,
        "plates": lay.n_plates,
        "targets": len(lay.targets),
        "table_mb": round((lay.dist.nbytes + lay.next_cell.nbytes) / 1e6, 1),
        "first_build_s": round(first, 3),
        "build_s_median": round(float(np.median(times)), 3),
    }


def largest_recording(path: Path) -> int:
    """Write a recording whose members sum to just under the limit (``MAX_SLOTS`` shoppers
    at random places in every frame); returns its uncompressed bytes."""
    header = demo_header()
    h, w = header.grid.shape
    rng = np.random.default_rng(0)
    base = demo_frames(header, 1)[0]
    pos = rng.uniform(0, 1, (MAX_SLOTS, 2)) * np.array([w, h]) * header.cell_m
    frame = dataclasses.replace(
        base,
        shopper_pos=pos.astype(np.float16),
        shopper_kind=np.zeros(MAX_SLOTS, np.int8),
        shopper_account=np.arange(MAX_SLOTS, dtype=np.int32),
    )
    per = sum(getattr(frame, k).nbytes for k in FRAME_ARRAYS) + frame.decisions.nbytes + 16
    n = int(MAX_TOTAL_BYTES * 0.97) // per
    save_recording(path, header, [frame] * n, {"env_id": "limits"})
    with zipfile.ZipFile(path) as zf:
        return sum(i.file_size for i in zf.infolist())


_LOADER = """
import json, sys, time, tracemalloc
from retail_env.render.recording import load_recording
def hwm():  # peak RSS of this process image, kB (ru_maxrss survives exec, VmHWM does not)
    return int(next(line.split()[1] for line in open("/proc/self/status")
                    if line.startswith("VmHWM")))
rss0 = hwm()
tracemalloc.start()
t0 = time.perf_counter()
rec = load_recording(sys.argv[1])
secs = time.perf_counter() - t0
peak = tracemalloc.get_traced_memory()[1]
rss = hwm()
print(json.dumps({"frames": len(rec), "load_s": round(secs, 2),
                  "traced_peak_mb": round(peak / 1e6, 1),
                  "rss_growth_mb": round((rss - rss0) / 1e3, 1), "rss_peak_mb": round(rss / 1e3, 1)}))
"""


def load_memory(path: Path) -> dict:
    """Load ``path`` in a fresh process (so its peak RSS is the load's alone)."""
    out = subprocess.run(
        [sys.executable, "-c", _LOADER, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_export(out: Path) -> dict:
    """Seconds and traced peak memory to export 2 frames (GIF) and a heatmap of a recording
    on the largest allowed grid (the issue's 8000 x 8000 grid took 31 s and 693 MB)."""
    import tracemalloc

    from retail_env.render.export import export_gif, export_heatmap
    from retail_env.render.frame import FrameHeader, make_frame

    lay = parse_layout(largest_map_text(), "largest")
    n = lay.n_plates
    header = FrameHeader(
        grid=lay.grid,
        cell_m=lay.cell_m,
        plate_cell=lay.plate_cell,
        plate_category=np.zeros(n),
        plate_product=np.zeros(n),
        category_names=("c",),
        product_names=("p",),
        task="limits",
    )
    xy = lay.cell_xy[lay.plate_access[:8]]
    frames = [
        make_frame(header, t, shopper_pos=xy, shopper_kind=np.zeros(len(xy))) for t in (0.0, 1.0)
    ]
    path = out / "largest_grid.npz"
    save_recording(path, header, frames)
    rec = load_recording(path)
    tracemalloc.start()
    t0 = time.perf_counter()
    export_gif(rec, out / "largest_grid.gif")
    export_heatmap(rec, out / "largest_grid.png")
    secs = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "grid": list(lay.grid.shape),
        "export_2_frames_and_heatmap_s": round(secs, 2),
        "traced_peak_mb": round(peak / 1e6, 1),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="timed builds of the largest map")
    ap.add_argument("--out", default="outputs/limits", help="folder for the largest recording")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"map": time_map(args.repeats), "max_cells": MAX_CELLS}
    path = out / "largest.npz"
    report["recording"] = {
        "uncompressed_mb": round(largest_recording(path) / 1e6, 1),
        "file_mb": round(path.stat().st_size / 1e6, 2),
        **load_memory(path),
    }
    report["export"] = time_export(out)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
