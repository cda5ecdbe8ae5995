"""Evaluate attribution policies on each scenario's frozen evaluation seeds.

    python -m retail_env.experiments.evaluate_attribution                       # all baselines, all presets
    python -m retail_env.experiments.evaluate_attribution --agents oracle,hungarian --scenarios hard \\
        --episodes 20 --out /tmp/attribution

Every (agent, seed) pair is one store of a single batched simulation, so all
agents see exactly the same shoppers and sensor readings, and the batch runs far
faster than one env at a time. Decisions are taken in the same order and at the
same store time as in the Gymnasium env (store ``i`` == the env reset with its
seed), so the numbers are the env's numbers. Prints the Markdown tables and writes
``<out>.json`` (every episode's receipts + summaries) and ``<out>.md`` atomically;
``<out>`` defaults to ``experiments/results/attribution_eval`` (docs/baselines.md's table).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import cast

import numpy as np

from retail_env.atomic import write_json, write_text
from retail_env.envs.attribution.core import REWARD_TERMS, AttributionConfig, AttributionCore
from retail_env.envs.attribution.env import episode_record
from retail_env.envs.registry import attribution_config
from retail_env.sim.validation import from_dict, to_dict

from ..agents import make_agent
from .readme_tables import RESULTS
from .stats import summarize

SCENARIOS = ("easy", "medium", "hard", "crowded", "produce")
BASELINES = ("random", "nearest", "trajectory", "hungarian", "oracle")
# Frozen evaluation seeds: episode i of every scenario is seeded EVAL_SEED0 + i
# (training code should draw its seeds below EVAL_SEED0).
EVAL_SEED0 = 10_000
MAX_EPISODES = 1_000
TABLE_METRICS = ("exact_match", "f1", "review_rate")


def eval_seeds(n: int) -> list[int]:
    """The first ``n`` frozen evaluation seeds (the same list for every scenario)."""
    if not 1 <= n <= MAX_EPISODES:
        raise ValueError(f"episodes={n} is out of range: must be in [1, {MAX_EPISODES}]")
    return list(range(EVAL_SEED0, EVAL_SEED0 + n))


def registered_baseline(env_id: str, env_kwargs: dict, agent: str, seeds: list[int]) -> list[dict]:
    """Baseline ``agent`` on registered ``env_id`` (with its ``gym.make`` kwargs), every
    seed in one batched core: the task table's ``batched_baselines``."""
    task, store = attribution_config(env_id, env_kwargs)
    task = to_dict(task)
    return run_batch(task.pop("scenario"), [agent], seeds, task=task, store=store)[agent]


def run_batch(
    scenario: str,
    agent_names: list[str],
    seeds: list[int],
    task: dict | None = None,
    store: dict | None = None,
) -> dict[str, list[dict]]:
    """Receipts and rewards of every agent on every seed: ``{agent: [episode_record per
    seed]}``.

    ``task``: AttributionConfig overrides; ``store``: sim-config overrides (as the env's).
    """
    cfg = from_dict(AttributionConfig, {**(task or {}), "scenario": scenario})
    n = len(seeds)
    core = AttributionCore(cfg, store, batch=n * len(agent_names))
    agents = [
        make_agent(name, core, task="attribution", seed=i) for i, name in enumerate(agent_names)
    ]
    needs_oracle = [name == "oracle" for name in agent_names]
    core.reset(seeds * len(agent_names))
    out: list[dict | None] = [None] * core.B
    sums: list[dict[str, float]] = [dict.fromkeys(REWARD_TERMS, 0.0) for _ in range(core.B)]
    while True:
        for b in range(core.B):
            if out[b] is not None:
                continue
            a = b // n
            while core.ready(b):
                info = core.decision_info(b, oracle=needs_oracle[a])
                for k, v in core.decide(b, int(agents[a].act(None, info))).items():
                    sums[b][k] += v
            if core.finished(b):
                out[b] = episode_record(core.receipts(b), sums[b])
        if all(r is not None for r in out):
            break
        core.tick()
    done = cast("list[dict]", out)  # every episode finished
    return {name: done[i * n : (i + 1) * n] for i, name in enumerate(agent_names)}


def markdown(summary: dict, episodes: dict, n: int) -> str:
    """The baselines table (mean [95% CI]) and what the oracle loses, and why."""
    lines = [
        f"Attribution baselines, {n} frozen evaluation seeds per scenario "
        f"({EVAL_SEED0}..{EVAL_SEED0 + n - 1}); mean [95% bootstrap CI].",
        "",
        "| scenario | agent | exact_match | f1 | review_rate |",
        "|---|---|---|---|---|",
    ]
    for scen, by_agent in summary.items():
        for agent, m in by_agent.items():
            cells = [
                f"{m[k]['mean']:.3f} [{m[k]['ci_low']:.3f}, {m[k]['ci_high']:.3f}]"
                for k in TABLE_METRICS
            ]
            lines.append(f"| {scen} | {agent} | " + " | ".join(cells) + " |")
    oracle = {
        scen: by_agent["oracle"] for scen, by_agent in episodes.items() if "oracle" in by_agent
    }
    if oracle:
        lines += [
            "",
            "What the oracle loses. `ceiling`: the receipts if every detected event "
            "were decided perfectly (below 1 only through events the detector missed); "
            '`need review`: events that no charge and not "no one" gets exactly right '
            "(the budget allows 5 %).",
            "",
            "| scenario | events / episode | receipts / episode | need review "
            "| oracle review_rate | oracle exact_match | ceiling exact_match "
            "| episodes with every needed review done: oracle = ceiling |",
            "|---|---|---|---|---|---|---|---|",
        ]
    for scen, o in oracle.items():
        done = [
            i
            for i, (need, rev) in enumerate(zip(o["n_need_review"], o["n_reviews"], strict=True))
            if need <= rev
        ]
        same = sum(o["exact_match"][i] == o["ceiling_exact_match"][i] for i in done)
        need = sum(o["n_need_review"]) / max(1.0, sum(o["n_events"]))
        lines.append(
            f"| {scen} | {np.mean(o['n_events']):.0f} | {np.mean(o['n_receipts']):.1f} "
            f"| {100 * need:.1f} % | {100 * np.mean(o['review_rate']):.1f} % "
            f"| {np.mean(o['exact_match']):.3f} | {np.mean(o['ceiling_exact_match']):.3f} "
            f"| {same} of {len(done)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument(
        "--agents", default=",".join(BASELINES), help="comma-separated baselines (default: all)"
    )
    ap.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help="comma-separated scenarios (default: all)"
    )
    ap.add_argument(
        "--episodes", type=int, default=100, help="frozen-seed episodes per scenario (default 100)"
    )
    ap.add_argument(
        "--out",
        default=str(RESULTS / "attribution_eval"),
        help="path stem of the .json and .md written",
    )
    args = ap.parse_args(argv)
    agent_names = [a for a in args.agents.split(",") if a]
    scenarios = [s for s in args.scenarios.split(",") if s]
    seeds = eval_seeds(args.episodes)
    episodes, summary, timing = {}, {}, {}
    for scen in scenarios:
        t0 = time.perf_counter()
        res = run_batch(scen, agent_names, seeds)
        timing[scen] = round(time.perf_counter() - t0, 1)
        # columns: metric -> one value per seed (compact, and easy to re-summarise)
        episodes[scen] = {
            a: {k: [round(r[k], 6) for r in rs] for k in rs[0]} for a, rs in res.items()
        }
        summary[scen] = {
            a: {k: summarize(v) for k, v in cols.items()} for a, cols in episodes[scen].items()
        }
        print(
            f"{scen}: {timing[scen]:.1f} s for {len(seeds)} seeds x {len(agent_names)} agents",
            flush=True,
        )
    table = markdown(summary, episodes, len(seeds))
    print(table)
    out = Path(args.out)
    write_json(
        out.with_suffix(".json"),
        {
            "seeds": seeds,
            "agents": agent_names,
            "scenarios": scenarios,
            "seconds": timing,
            "summary": summary,
            "episodes": episodes,
        },
    )
    write_text(out.with_suffix(".md"), table)
    return summary


if __name__ == "__main__":
    main()
