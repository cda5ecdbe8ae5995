"""Rendering and recording benchmark: rgb_array frames/s at 800x600 and the size of a
recorded 20-minute episode (the project's budget: >= 120 frames/s, <= 10 MB).

    python -m retail_env.experiments.bench_render [--preset medium] [--minutes 20] [--out STEM]

Runs one simulated store for ``--minutes`` (one frame per 0.1 s tick), records every
tick, then times ``Renderer.render`` (draw + copy to a uint8 array) over those frames.
Prints JSON and writes ``STEM.json`` and a Markdown table ``STEM.md`` (docs/performance.md's)
atomically; ``STEM`` defaults to ``experiments/results/bench_render``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from retail_env.atomic import write_json, write_text  # noqa: E402
from retail_env.render import Renderer, load_recording, save_recording  # noqa: E402
from retail_env.render.snapshot import frame_from_state, header_from_params  # noqa: E402
from retail_env.sim import store  # noqa: E402

from .readme_tables import RESULTS  # noqa: E402


def simulate(preset: str, minutes: float, seed: int):
    params = store.make_params(preset)
    header = header_from_params(params)
    state, rng = store.reset(params, [seed])
    frames = []
    t0 = time.perf_counter()
    for _ in range(int(minutes * 60 * params.config.tick_hz)):
        store.step(state, params, rng)
        frames.append(frame_from_state(state, params, 0, header=header))
    return params, header, frames, time.perf_counter() - t0


def bench_fps(header, frames, n: int, repeats: int = 3) -> tuple[float, float]:
    """Best of ``repeats`` runs over ``n`` frames spread through the episode: frames per
    wall second, and per CPU second of this process (what other jobs on the machine
    take away from the wall figure, the CPU figure keeps)."""
    r = Renderer(header, "rgb_array")
    pick = [frames[i] for i in np.linspace(0, len(frames) - 1, n).astype(int)]
    r.render(pick[0])  # warm caches (background, glyphs)
    wall = cpu = 0.0
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for f in pick:
            img = r.render(f)
        wall = max(wall, n / (time.perf_counter() - t0))
        cpu = max(cpu, n / max(time.process_time() - c0, 1e-9))
    assert img is not None and img.shape == (600, 800, 3) and img.dtype == np.uint8
    r.close()
    return wall, cpu


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--preset", default="medium", help="simulator preset (default medium)")
    ap.add_argument(
        "--minutes", type=float, default=20.0, help="store minutes recorded (default 20)"
    )
    ap.add_argument("--seed", type=int, default=0, help="simulation seed (default 0)")
    ap.add_argument("--frames", type=int, default=600, help="frames timed per run")
    ap.add_argument("--out", default=str(RESULTS / "bench_render"), help="path stem of .json/.md")
    args = ap.parse_args(argv)

    load_before = os.getloadavg()[0]
    params, header, frames, sim_s = simulate(args.preset, args.minutes, args.seed)
    fps, fps_cpu = bench_fps(header, frames, args.frames)
    present = np.array([np.count_nonzero(f.shopper_kind == 0) for f in frames])
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for every in (1, 2):
            path = Path(tmp) / f"ep{every}.npz"
            t0 = time.perf_counter()
            save_recording(
                path, header, frames[::every], {"seed": args.seed, "preset": args.preset}
            )
            save_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            n = len(load_recording(path))
            sizes[f"every_{every}"] = {
                "frames": n,
                "mb": round(path.stat().st_size / 1e6, 3),
                "save_s": round(save_s, 2),
                "load_s": round(time.perf_counter() - t0, 2),
            }
    result = {
        "preset": args.preset,
        "layout": params.config.layout,
        "minutes": args.minutes,
        "grid": list(header.grid.shape),
        "plates": header.n_plates,
        "shopper_slots": len(frames[0].shopper_pos),
        "shoppers_present_mean": round(float(present.mean()), 1),
        "shoppers_present_max": int(present.max()),
        "sim_and_snapshot_s": round(sim_s, 2),
        "rgb_array_fps_800x600": round(fps, 1),
        "rgb_array_fps_per_cpu_s": round(fps_cpu, 1),
        "recording": sizes,
        "targets": {"rgb_array_fps": 120, "recording_20min_mb": 10},
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "load_avg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        },
    }
    print(json.dumps(result, indent=2))
    out = Path(args.out)
    write_json(out.with_suffix(".json"), result)
    write_text(out.with_suffix(".md"), markdown(result))
    return result


def markdown(r: dict) -> str:
    """The docs table (docs/performance.md): measured figures against the design's budget."""
    rec = r["recording"]["every_1"]
    load = r["machine"]["load_avg_1min"]
    return (
        f"Measured by `python -m retail_env.experiments.bench_render` on {r['machine']['cpu_count']} cores "
        f"(`{r['preset']}`, {r['shoppers_present_mean']:.0f} shoppers on average; 1-minute "
        f"load average {load[0]:.1f} before, {load[1]:.1f} after).\n\n"
        "| figure | measured | budget |\n|---|---|---|\n"
        f"| `rgb_array` frames/s at 800x600 | {r['rgb_array_fps_800x600']:,.0f} | >= 120 |\n"
        f"| the same, per CPU second of the process | {r['rgb_array_fps_per_cpu_s']:,.0f} | |\n"
        f"| recording of a {r['minutes']:.0f}-minute episode, every 0.1 s tick "
        f"({rec['frames']:,} frames) | {rec['mb']:.2f} MB | <= 10 MB |\n"
        f"| the same, every 2nd tick | {r['recording']['every_2']['mb']:.2f} MB | |\n"
    )


if __name__ == "__main__":
    main()
