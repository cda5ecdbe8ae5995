"""Measure what promotions do to attribution: the Attribution baselines under list price,
hi-lo and deep end-cap promotions, on the frozen evaluation seeds.

    python -m retail_env.experiments.whole_store_coupling --episodes 20

For each price plan, every baseline plays the same stores (``evaluate_attribution.run_batch``:
one batched simulation, the env's numbers), and one pass over the same stores with nobody
deciding measures the crowding the plan causes: events per episode, events on the busiest
shelf, and the share of events that overlap in time another event on the same shelf (two
hands at one shelf: where attribution fails). Writes ``<out>.json`` and ``<out>.md``
(mean [95% bootstrap CI] over seeds, ``experiments/stats.py``) with the seconds each plan
took; ``retail_env.experiments.readme_tables --readme docs/whole_store.md`` puts the table in the docs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from retail_env.atomic import write_json, write_text
from retail_env.envs.attribution.core import PRESETS, AttributionConfig, AttributionCore
from retail_env.sim.validation import from_dict

from .evaluate_attribution import eval_seeds, run_batch
from .readme_tables import RESULTS
from .stats import summarize

DEEP = PRESETS["promo"]["promotion"]  # RetailStore/Attribution-Promo-v0's deals
# list price; the Promotion task's hi-lo depth (30 %, two end-caps) on the same calendar;
# the RetailStore/Attribution-Promo-v0 plan (50 %, four end-caps).
PLANS = {
    "list price": {},
    "hi-lo 30 %": {**DEEP, "depth": 0.3, "n_endcaps": 2},
    "deep 50 % + end-caps": DEEP,
}
AGENTS = ("nearest", "trajectory", "hungarian", "oracle")
CROWD_KEYS = ("events", "busiest_shelf_events", "overlap_share")


def crowding(scenario: str, promotion: dict, seeds: list[int]) -> dict[str, list[float]]:
    """Per seed: events, events on the busiest shelf, share of events overlapping another
    on the same shelf (the world only: nobody decides, nothing depends on decisions)."""
    cfg = from_dict(AttributionConfig, {"scenario": scenario, "promotion": promotion})
    core = AttributionCore(cfg, batch=len(seeds))
    core.reset(seeds)
    while not core.shut.all():
        core.tick()
    shelf = core.sim.params.layout.plate_shelf
    out = {k: [] for k in CROWD_KEYS}
    for q in core.queues:
        ev = list(q)
        s = np.array([shelf[r.plate] for r in ev])
        t0 = np.array([r.t_start for r in ev])
        t1 = np.array([r.t_end for r in ev])
        same = (
            (s[:, None] == s[None, :]) & (t0[:, None] <= t1[None, :]) & (t0[None, :] <= t1[:, None])
        )
        np.fill_diagonal(same, False)
        out["events"].append(float(len(ev)))
        out["busiest_shelf_events"].append(float(np.bincount(s).max()) if len(ev) else 0.0)
        out["overlap_share"].append(float(same.any(axis=1).mean()) if len(ev) else 0.0)
    return out


def _cell(m: dict, digits: int = 3) -> str:
    return f"{m['mean']:.{digits}f} [{m['ci_low']:.{digits}f}, {m['ci_high']:.{digits}f}]"


def markdown(summary: dict, seconds: dict, n: int, scenario: str) -> str:
    lines = [
        f"Scenario `{scenario}`, {n} frozen evaluation seeds per plan; mean [95 % bootstrap "
        "CI] over seeds. Crowding is measured on the same stores with nobody deciding.",
        "",
        "| plan | events / episode | events on busiest shelf | events overlapping "
        "another on their shelf | "
        + " | ".join(f"{a} exact_match" for a in AGENTS)
        + " | hungarian f1 | seconds |",
        "|---" * (6 + len(AGENTS)) + "|",
    ]
    for plan, s in summary.items():
        crowd = [
            _cell(s["crowding"]["events"], 0),
            _cell(s["crowding"]["busiest_shelf_events"], 0),
            _cell(s["crowding"]["overlap_share"]),
        ]
        em = [_cell(s["agents"][a]["exact_match"]) for a in AGENTS]
        em.append(_cell(s["agents"]["hungarian"]["f1"]))
        lines.append(f"| {plan} | " + " | ".join(crowd + em) + f" | {seconds[plan]:.0f} |")
    base = summary.get("list price")
    if base:
        lines += [
            "",
            "Change from list price (mean exact_match; negative: promotions make "
            "attribution harder):",
            "",
        ]
        for plan, s in summary.items():
            if plan != "list price":
                d = [
                    f"{a} {s['agents'][a]['exact_match']['mean'] - base['agents'][a]['exact_match']['mean']:+.3f}"
                    for a in AGENTS
                ]
                lines.append(f"- {plan}: " + ", ".join(d))
    return "\n".join(lines) + "\n"


def script_args(
    argv: list[str] | None, doc: str | None, stem: str, unit: str
) -> argparse.Namespace:
    """The arguments both whole-store scripts take."""
    ap = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    ap.add_argument(
        "--episodes", type=int, default=20, help=f"frozen-seed episodes per {unit} (default 20)"
    )
    ap.add_argument("--scenario", default="medium", help="sim preset (default medium)")
    ap.add_argument(
        "--out", default=str(RESULTS / stem), help="path stem of the .json and .md written"
    )
    return ap.parse_args(argv)


def measure(
    args: argparse.Namespace, seeds: list[int], cases: dict, run, markdown, key: str
) -> dict:
    """Run every case (``run(case) -> (episodes, summary)``), timing each; print the table
    and write it to ``<out>.md`` and everything to ``<out>.json`` (atomically)."""
    summary, episodes, seconds = {}, {}, {}
    for name, case in cases.items():
        t0 = time.perf_counter()
        episodes[name], summary[name] = run(case)
        seconds[name] = round(time.perf_counter() - t0, 1)
        print(f"{name}: {seconds[name]:.1f} s", flush=True)
    table = markdown(summary, seconds, len(seeds), args.scenario)
    print(table)
    write_json(
        Path(args.out).with_suffix(".json"),
        {
            "seeds": seeds,
            "scenario": args.scenario,
            key: cases,
            "seconds": seconds,
            "summary": summary,
            "episodes": episodes,
        },
    )
    write_text(Path(args.out).with_suffix(".md"), table)
    return summary


def main(argv: list[str] | None = None) -> dict:
    args = script_args(argv, __doc__, "whole_store_coupling", "plan")
    seeds = eval_seeds(args.episodes)

    def run(promo: dict) -> tuple[dict, dict]:
        res = run_batch(args.scenario, list(AGENTS), seeds, task={"promotion": promo})
        crowd = crowding(args.scenario, promo, seeds)
        eps = {
            "crowding": crowd,
            "agents": {
                a: {k: [r[k] for r in rs] for k in ("exact_match", "f1")} for a, rs in res.items()
            },
        }
        return eps, {
            "crowding": {k: summarize(v) for k, v in crowd.items()},
            "agents": {
                a: {k: summarize(v) for k, v in cols.items()} for a, cols in eps["agents"].items()
            },
        }

    return measure(args, seeds, PLANS, run, markdown, "plans")


if __name__ == "__main__":
    main()
