"""Episode bank build speed and size: episodes/s with 1 and 2 processes, bytes per decision.

Usage: ``python -m retail_env.experiments.bench_bank [--episodes 32] [--scenario medium] [--json OUT]``

Builds the same seeds twice into temporary folders (1 process, then 2: one shard per
process), and reports episodes/s, decisions/s, bytes per decision (the ``features``
group, and with ``--raw`` the raw group too) and per episode. Writes OUT (default
``experiments/results/bench_bank.json``) and a Markdown table beside it (``.md``) for
docs/performance.md. Replay speed is in ``retail_env.experiments.bench_envs`` (banked rows).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from retail_env.atomic import write_json, write_text
from retail_env.bank import build_bank
from retail_env.bank.cli import summary

from .bench_sim import RESULTS, load_note


def measure(scenario: str, episodes: int, workers: int, raw: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        out = build_bank(
            Path(tmp) / "bank",
            scenario,
            f"0:{episodes}",
            raw=raw,
            shard_size=max(1, episodes // (2 * workers)),
            workers=workers,
            progress=False,
        )
        s = time.perf_counter() - t0
        info = {k: v for k, v in summary(out).items() if k != "path"}  # a temporary folder
    return {
        **info,
        "seconds": s,
        "episodes_per_s": episodes / s,
        "decisions_per_s": info["decisions"] / s,
        "workers": workers,
    }


def table(res: dict) -> str:
    lines = [
        "| build (scenario) | processes | episodes/s | decisions/s | bytes per decision "
        "(features) | bytes per episode |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in res["runs"]:
        lines.append(
            f"| {r['scenario']}, {r['episodes']} episodes{', raw' if res['raw'] else ''}"
            f" | {r['workers']} | {r['episodes_per_s']:.2f} | {r['decisions_per_s']:,.0f}"
            f" | {r['bytes_per_decision_features']:,.0f} | {r['bytes_per_episode']:,.0f} |"
        )
    lines += [
        "",
        f"`python -m retail_env.experiments.bench_bank`: seeds 0..{res['episodes'] - 1}, four "
        f"shards per process; the compiled kernels warm; {res['load']}. Target: <= 1 KB "
        "per decision for what `features` needs.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--episodes", type=int, default=32, help="episodes built per measure")
    ap.add_argument("--scenario", default="medium", help="sim preset of the bank")
    ap.add_argument("--raw", action="store_true", help="also the raw group")
    ap.add_argument(
        "--json",
        default=str(RESULTS / "bench_bank.json"),
        help="output JSON (Markdown table beside it, .md)",
    )
    args = ap.parse_args(argv)
    if args.episodes < 2:
        ap.error(f"--episodes {args.episodes} must be >= 2")
    measure(args.scenario, 2, 1, args.raw)  # compile the kernels first
    res = {
        "episodes": args.episodes,
        "raw": args.raw,
        "runs": [measure(args.scenario, args.episodes, w, args.raw) for w in (1, 2)],
    }
    res["load"] = load_note()
    md = table(res)
    print(md)
    write_json(args.json, res)
    write_text(Path(args.json).with_suffix(".md"), md)
    return res


if __name__ == "__main__":
    main()
