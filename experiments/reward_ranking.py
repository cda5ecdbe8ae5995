"""Does the reward rank attribution policies as the receipts do? (issue 16)

    python -m retail_env.experiments.reward_ranking                          # default weights
    python -m retail_env.experiments.reward_ranking --scenarios hard --episodes 10 \\
        --weights overcharge=-1 --weights overcharge=-1,correct=2

Plays oracle, hungarian, trajectory, nearest, none and random on the first frozen
evaluation seeds of each scenario (one batched simulation, experiments/evaluate_attribution.py)
and compares, per seed and on the means, the order of the policies by return with
their order by ``exact_match`` and by ``f1``: a pair of policies is *inverted* when
reward and receipts order it differently. Other reward weights (``--weights``, any
RewardConfig field) re-weigh the heuristics' reward terms (their actions do not read
the reward) and re-run the oracle (reward-optimal per decision, it depends on them).
Prints one Markdown table per weight set and writes ``<out>.json`` (every number) and
``<out>.md`` (the summary: inverted pairs per weight set and scenario, for docs/baselines.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from pathlib import Path

import numpy as np

from retail_env.atomic import write_json, write_text
from retail_env.envs.attribution.core import REWARD_TERMS, RewardConfig

from .evaluate_attribution import eval_seeds, run_batch
from .readme_tables import RESULTS

POLICIES = ("oracle", "hungarian", "trajectory", "nearest", "none", "random")
METRICS = ("exact_match", "f1")


def parse_weights(text: str) -> dict[str, float]:
    """``"overcharge=-1,correct=2"`` -> RewardConfig overrides (``"default"``: none)."""
    if text == "default":
        return {}
    out = {}
    for item in text.split(","):
        key, _, val = item.partition("=")
        if key not in REWARD_TERMS:
            raise ValueError(
                f"--weights {key!r} is not a reward term: must be one of {REWARD_TERMS}"
            )
        out[key] = float(val)
    return out


def reweigh(episode: dict, weights: dict[str, float]) -> float:
    """The episode's return under ``weights`` (its terms were weighted by the defaults)."""
    default = dataclasses.asdict(RewardConfig())
    return sum(
        episode[f"reward_{k}"] / default[k] * weights.get(k, default[k])
        for k in REWARD_TERMS
        if default[k] != 0
    )


def inversions(score_a: np.ndarray, score_b: np.ndarray) -> tuple[int, int]:
    """(pairs ordered differently by a and b, pairs both order strictly)."""
    bad = total = 0
    for i, j in itertools.combinations(range(len(score_a)), 2):
        da, db = np.sign(score_a[i] - score_a[j]), np.sign(score_b[i] - score_b[j])
        if da != 0 and db != 0:
            total += 1
            bad += int(da != db)
    return bad, total


def rank_check(episodes: dict[str, list[dict]], weights: dict[str, float]) -> dict:
    """Means per policy, and the inversions of return vs each metric (per seed, on means)."""
    names = list(episodes)
    ret = np.array([[reweigh(e, weights) for e in episodes[a]] for a in names])  # (P, S)
    out = {"weights": weights, "policies": {}, "inversions": {}}
    for p, a in enumerate(names):
        out["policies"][a] = {
            "return": float(ret[p].mean()),
            **{
                m: float(np.mean([e[m] for e in episodes[a]]))
                for m in (*METRICS, "exact_match_nonempty")
            },
        }
    for m in METRICS:
        met = np.array([[e[m] for e in episodes[a]] for a in names])
        per_seed = [inversions(ret[:, s], met[:, s]) for s in range(ret.shape[1])]
        out["inversions"][m] = {
            "per_seed": [sum(b for b, _ in per_seed), sum(t for _, t in per_seed)],
            "means": list(inversions(ret.mean(1), met.mean(1))),
            "inverted_pairs": [
                f"{names[i]}/{names[j]}"
                for i, j in itertools.combinations(range(len(names)), 2)
                if np.sign(ret[i].mean() - ret[j].mean()) * np.sign(met[i].mean() - met[j].mean())
                < 0
            ],
        }
    return out


def markdown(scenario: str, check: dict) -> str:
    w = ", ".join(f"{k}={v:g}" for k, v in check["weights"].items()) or "default"
    lines = [
        f"**{scenario}**, weights {w}",
        "",
        "| policy | return | exact_match | exact_match_nonempty | f1 |",
        "|---|---|---|---|---|",
    ]
    for a, m in sorted(check["policies"].items(), key=lambda kv: -kv[1]["return"]):
        lines.append(
            f"| {a} | {m['return']:.1f} | {m['exact_match']:.3f} | "
            f"{m['exact_match_nonempty']:.3f} | {m['f1']:.3f} |"
        )
    for m, inv in check["inversions"].items():
        lines.append(
            f"\nreturn vs {m}: {inv['per_seed'][0]} of {inv['per_seed'][1]} "
            f"pairs inverted over seeds; on the means {inv['means'][0]} of "
            f"{inv['means'][1]} ({', '.join(inv['inverted_pairs']) or 'none'})"
        )
    return "\n".join(lines) + "\n"


def summary(result: dict) -> str:
    """Inverted pairs (return vs exact_match) per weight set and scenario, as Markdown."""
    scens = list(result["scenarios"])
    n = len(result["seeds"])
    lines = [
        f"Pairs of policies ({', '.join(POLICIES)}) that return and `exact_match` order "
        f"differently, over {n} frozen seeds per scenario; then the pairs inverted on "
        "the means. Generated by `python -m retail_env.experiments.reward_ranking`.",
        "",
        "| weights | " + " | ".join(scens) + " | inverted on the means |",
        "|---|" + "---|" * (len(scens) + 1),
    ]
    for i, first in enumerate(result["scenarios"][scens[0]]):
        w = ", ".join(f"{k}={v:g}" for k, v in first["weights"].items()) or "default"
        checks = [result["scenarios"][s][i]["inversions"]["exact_match"] for s in scens]
        means = "; ".join(
            f"{s}: {', '.join(c['inverted_pairs'])}"
            for s, c in zip(scens, checks, strict=True)
            if c["inverted_pairs"]
        )
        lines.append(
            f"| {w} | "
            + " | ".join(f"{c['per_seed'][0]} of {c['per_seed'][1]}" for c in checks)
            + f" | {means or 'none'} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument(
        "--scenarios", default="hard,medium,crowded", help="comma-separated sim presets to play"
    )
    ap.add_argument("--episodes", type=int, default=5, help="frozen seeds per scenario")
    ap.add_argument(
        "--weights",
        action="append",
        default=None,
        help="reward weights to check, e.g. overcharge=-1 (repeatable)",
    )
    ap.add_argument(
        "--out",
        default=str(RESULTS / "reward_ranking"),
        help="path stem of the .json and .md written",
    )
    args = ap.parse_args(argv)
    weight_sets = [parse_weights(w) for w in ["default", *(args.weights or [])]]
    seeds = eval_seeds(args.episodes)
    result: dict = {"seeds": seeds, "scenarios": {}}
    for scen in (s for s in args.scenarios.split(",") if s):
        episodes = run_batch(scen, list(POLICIES), seeds)
        checks = []
        for w in weight_sets:
            if w:  # the oracle's choices depend on the weights: play it again under them
                episodes = {
                    **episodes,
                    "oracle": run_batch(scen, ["oracle"], seeds, task={"reward": w})["oracle"],
                }
                episodes["oracle"] = [{**e, **_as_default_terms(e, w)} for e in episodes["oracle"]]
            checks.append(rank_check(episodes, w))
            print(markdown(scen, checks[-1]), flush=True)
        result["scenarios"][scen] = checks
    out = Path(args.out)
    write_json(out.with_suffix(".json"), result)
    write_text(out.with_suffix(".md"), summary(result))
    return result


def _as_default_terms(episode: dict, weights: dict[str, float]) -> dict[str, float]:
    """An episode's reward terms re-expressed in the default weights (``reweigh``'s input)."""
    default = dataclasses.asdict(RewardConfig())
    return {
        f"reward_{k}": episode[f"reward_{k}"] / weights[k] * default[k]
        for k in weights
        if weights[k] != 0
    }


if __name__ == "__main__":
    main()
