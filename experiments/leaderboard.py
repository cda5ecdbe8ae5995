"""The leaderboard: every results.json under ``out_root`` -> LEADERBOARD.md, a CSV and plots.

    python -m retail_env.experiments.leaderboard                       # reads outputs/, writes outputs/leaderboard/
    python -m retail_env.experiments.leaderboard results_root=experiments/results/leaderboard/runs \
        out_root=experiments/results table=experiments/results/leaderboard.md
    python -m retail_env.experiments.readme_tables                     # the docs' and README's blocks

Scores are each env's ``score`` metric (exact_match for Attribution, episode profit in $
for Promotion) on the frozen evaluation seeds. Samples: for a learned agent, one per
training seed (that seed's mean over the frozen episodes), so the interval covers training
luck; for a baseline (nothing trained), one per frozen episode, averaged over its runs.
Each env's scores are normalised to 0 = the random agent and 1 = the oracle, or where
there is none the best-known baseline (the true-model optimisers for Promotion). Mean, IQM
and 95% percentile-bootstrap CIs (experiments/stats.py) are reported raw and normalised.
A learned agent "beats" the best heuristic (the best non-privileged, non-random baseline)
when its normalised CI lies wholly above the heuristic's.

Unlike runs never pool: a row is one run group, i.e. runs whose identity
(experiments/identity.py: env, agent, hyperparameters used, budget, eval settings, version)
is the same apart from the seed. When an agent has several groups on one env (two budgets,
two learning rates, ...), ``unlike=split`` (the default) gives each its own row labelled by
what differs (``ppo [train.total_timesteps=2048]``) and ``unlike=refuse`` fails naming the
keys that differ. Records written before run identities existed (schema 1, one folder per
seed) are read too: their identity is derived from the config they record.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import sys
from collections import defaultdict
from pathlib import Path

import hydra
import numpy as np
from omegaconf import DictConfig

import retail_env
from retail_env.atomic import atomic_path, write_text

from . import identity as ident
from . import runs
from .stats import summarize

log = logging.getLogger(__name__)

MIN_SEEDS = 3  # learned agents need at least this many training seeds to be ranked
UNLIKE = ("split", "refuse")
COLUMNS = (
    "env_id",
    "agent",
    "label",
    "kind",
    "n",
    "samples",
    "mean",
    "iqm",
    "ci_low",
    "ci_high",
    "norm_mean",
    "norm_iqm",
    "norm_ci_low",
    "norm_ci_high",
    "vs_best_heuristic",
    "labels",
    "budget",
    "nonempty",
)
# Beside Attribution's exact_match, which counts an empty receipt for an empty basket as
# right (charging no one scores ~0.19 on Hard): exact_match over the receipts with at least
# one true or charged item, the mean over every evaluation episode of the row.
NONEMPTY = "exact_match_nonempty"


def with_identity(rec: dict) -> dict:
    """``rec`` with ``identity``, ``run_id`` and ``group_id`` (derived for schema-1 records)."""
    if "identity" not in rec:
        version = rec.get("versions", {}).get("retail_env", retail_env.__version__)
        rec["identity"] = ident.identity(rec["config"], version, legacy=rec.get("schema") == 1)
        rec["run_id"] = ident.run_id(rec["identity"])
        rec["group_id"] = ident.group_id(rec["identity"])
    return rec


def latest_records(root: str | Path, bad: list[str] | None = None) -> list[dict]:
    """One record per run identity: the newest, for runs evaluated more than once.

    A bad results.json is a ``runs.ResultsError``, unless ``bad`` (a list) collects it."""
    best: dict[str, dict] = {}
    for path, rec in runs.iter_results(root, bad):
        rec = with_identity(rec)
        rec["run_dir"] = str(path.parent)  # where its logs are, wherever the tree was moved
        key = rec["run_id"]
        if key not in best or rec.get("created", "") >= best[key].get("created", ""):
            best[key] = rec
    return list(best.values())


def run_groups(records: list[dict], unlike: str = "split") -> dict[tuple[str, str], list[dict]]:
    """``(env_id, row label) -> records`` of one run group each (alike apart from the seed).

    An agent with one group on an env is labelled by its name; with several, each label
    adds what differs (``unlike="split"``), or ValueError names it (``unlike="refuse"``).
    """
    if unlike not in UNLIKE:
        raise ValueError(f"unlike={unlike!r} is not allowed: must be one of {UNLIKE}")
    by_agent: dict[tuple[str, str], dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        by_agent[(r["env_id"], r["agent"])][r["group_id"]].append(r)
    out: dict[tuple[str, str], list[dict]] = {}
    for (env_id, agent), groups in sorted(by_agent.items()):
        if len(groups) == 1:
            out[(env_id, agent)] = next(iter(groups.values()))
            continue
        firsts = [g[0]["identity"] for g in groups.values()]
        keys = ident.differences(firsts)
        if unlike == "refuse":
            raise ValueError(
                f"{agent} on {env_id} has {len(groups)} unlike run groups that "
                f"differ in {', '.join(keys)}: pass unlike=split for one row each, "
                f"or give results_root a folder of alike runs"
            )
        for gid, recs in groups.items():
            flat = ident.flatten({k: v for k, v in recs[0]["identity"].items() if k != "seed"})
            shown = [f"{k}={flat.get(k)}" for k in keys]
            label = f"{agent} [{', '.join(shown)}]"
            if not shown or (env_id, label) in out:  # groups no shown key tells apart (e.g.
                label = f"{agent} [{', '.join([*shown, f'group {gid}'])}]"  # a legacy record)
            out[(env_id, label)] = recs
    return out


def samples(recs: list[dict]) -> tuple[np.ndarray, str]:
    """The score samples of one (env, agent) and what one sample is."""
    if recs[0]["kind"] == "sb3":
        return np.array([r["evaluation"]["score"]["mean"] for r in recs]), "training seeds"
    by_seed: dict[int, list[float]] = defaultdict(list)
    for r in recs:
        for s, x in zip(r["evaluation"]["eval_seeds"], r["evaluation"]["scores"], strict=True):
            by_seed[s].append(x)
    return np.array([np.mean(v) for _, v in sorted(by_seed.items())]), "eval episodes"


def _budget(recs: list[dict]) -> str:
    """Training budget of a group, from every record (a group shares its budget; any record
    that does not is shown as a range)."""
    if recs[0]["kind"] != "sb3":
        return ""
    trains = [r.get("train", {}) for r in recs]
    steps = sorted({int(t.get("total_timesteps", 0)) for t in trains})
    vec = "/".join(sorted({str(t.get("vec_env", "?")) for t in trains}))
    wall = np.mean([t.get("wall_s", np.nan) for t in trains])
    seeds = f"{len(recs)} seed{'s' if len(recs) > 1 else ''}"
    span = f"{steps[0]:,}" if len(steps) == 1 else f"{steps[0]:,}-{steps[-1]:,}"
    banks = sorted({(b["episodes"], b["decisions"]) for t in trains if (b := t.get("bank"))})
    where = (
        "live"
        if not banks
        else "bank of " + "/".join(f"{e:,} episodes ({d:,} decisions)" for e, d in banks)
    )
    return f"{span} steps x {seeds}, {wall:.0f} s/seed ({vec}, {where})"


def _reference(env_rows: list[dict], agent: str) -> dict | None:
    """The row of ``agent`` used to normalise (its largest group when it was run several ways)."""
    rows = [r for r in env_rows if r["agent"] == agent]
    return max(rows, key=lambda r: r["n"], default=None)


def build_rows(records: list[dict], unlike: str = "split") -> list[dict]:
    """Leaderboard rows (one per run group), grouped by env, best normalised mean first."""
    groups = run_groups(records, unlike)
    rows = []
    for env_id in sorted({e for e, _ in groups}):
        env_rows = []
        for (e, label), rs in groups.items():
            if e != env_id:
                continue
            x, unit = samples(rs)
            row = {
                "env_id": env_id,
                "agent": rs[0]["agent"],
                "label": label,
                "kind": rs[0]["kind"],
                "n": len(x),
                "samples": unit,
                "budget": _budget(rs),
                "privileged": bool(rs[0]["config"]["agent"].get("privileged", False)),
                "labels": bool(rs[0]["config"]["agent"].get("privileged_labels", False)),
                "x": x,
                "nonempty": _nonempty(rs),
            }
            row.update(summarize(x))
            env_rows.append(row)
        lo = _reference(env_rows, "random")
        hi = _reference(env_rows, "oracle") or max(
            (r for r in env_rows if r["kind"] == "baseline" and r["agent"] != "random"),
            key=lambda r: r["mean"],
            default=None,
        )
        for row in env_rows:
            x = row.pop("x")
            if lo is not None and hi is not None and hi["mean"] != lo["mean"]:
                z = summarize((x - lo["mean"]) / (hi["mean"] - lo["mean"]))
                row.update({f"norm_{k}": z[k] for k in ("mean", "iqm", "ci_low", "ci_high")})
        _compare(env_rows)
        env_rows.sort(key=lambda r: -r["mean"])
        rows += env_rows
    return rows


def _nonempty(recs: list[dict]) -> float | None:
    vals = [
        ep[NONEMPTY] for r in recs for ep in r["evaluation"].get("episodes", []) if NONEMPTY in ep
    ]
    return float(np.mean(vals)) if vals else None


def _compare(env_rows: list[dict]) -> None:
    """Mark each learned agent against the best heuristic (non-overlapping 95% CIs)."""
    heur = [
        r
        for r in env_rows
        if r["kind"] == "baseline" and not r["privileged"] and r["agent"] != "random"
    ]
    best = max(heur, key=lambda r: r["mean"], default=None)
    for r in env_rows:
        if r["kind"] != "sb3":
            r["vs_best_heuristic"] = ""
        elif best is None:
            r["vs_best_heuristic"] = "no heuristic run"
        elif r["n"] < MIN_SEEDS:
            r["vs_best_heuristic"] = f"unranked (< {MIN_SEEDS} seeds)"
        elif r["ci_low"] > best["ci_high"]:
            r["vs_best_heuristic"] = f"beats {best['label']}"
        elif r["ci_high"] < best["ci_low"]:
            r["vs_best_heuristic"] = f"below {best['label']}"
        else:
            r["vs_best_heuristic"] = f"overlaps {best['label']}"


def _fmt(x: float | None, big: bool) -> str:
    if x is None:
        return "n/a"
    return f"{x + 0.0:,.0f}" if big else f"{round(x, 3) + 0.0:.3f}"  # no "-0.000"


def markdown(rows: list[dict]) -> str:
    out = [
        "Scores on the frozen evaluation seeds: mean, IQM, [95% bootstrap CI]; normalised "
        "0 = random, 1 = oracle (Attribution) or best-known baseline (Promotion). "
        "n = training seeds for learned agents, eval episodes for baselines. "
        "Generated by `python -m retail_env.experiments.leaderboard`.",
        "",
    ]
    for env_id in dict.fromkeys(r["env_id"] for r in rows):
        env_rows = [r for r in rows if r["env_id"] == env_id]
        big = max(abs(r["mean"]) for r in env_rows) > 100
        extra = any(r.get("nonempty") is not None for r in env_rows)
        out += [
            f"### {env_id}",
            "",
            "| agent | kind | n | score | IQM | 95% CI | normalised | norm. 95% CI | "
            + ("exact_match, non-empty receipts | " if extra else "")
            + "vs best heuristic | privileged labels | training budget |",
            "|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if extra else ""),
        ]
        for r in env_rows:
            kind = (
                "learned"
                if r["kind"] == "sb3"
                else ("privileged" if r["privileged"] else "baseline")
            )
            out.append(
                f"| {r['label']} | {kind} | {r['n']} | {_fmt(r['mean'], big)} | "
                f"{_fmt(r['iqm'], big)} | [{_fmt(r['ci_low'], big)}, {_fmt(r['ci_high'], big)}] | "
                f"{_fmt(r.get('norm_mean'), False)} | [{_fmt(r.get('norm_ci_low'), False)}, "
                f"{_fmt(r.get('norm_ci_high'), False)}] | "
                + (f"{_fmt(r.get('nonempty'), False)} | " if extra else "")
                + f"{r['vs_best_heuristic']} | "
                f"{('yes' if r['labels'] else 'no') if r['kind'] == 'sb3' else ''} | "
                f"{r['budget']} |"
            )
        out.append("")
    return "\n".join(out)


def headline(rows: list[dict]) -> str:
    """The README's short table: per env, the best learned agent, the best heuristic and
    the reference (oracle or best privileged baseline), each with its normalised score."""
    out = [
        "Best of each kind per env: score (mean [95% CI]) and normalised score (0 = random, "
        "1 = oracle or best-known baseline). Generated by `python -m retail_env.experiments.leaderboard`; "
        "the full table is in the docs.",
        "",
        "| env | best learned | best heuristic | reference |",
        "|---|---|---|---|",
    ]

    def cell(r: dict | None, big: bool) -> str:
        if r is None:
            return "n/a"
        return (
            f"{r['label']}: {_fmt(r['mean'], big)} [{_fmt(r['ci_low'], big)}, "
            f"{_fmt(r['ci_high'], big)}], {_fmt(r.get('norm_mean'), False)}"
        )

    for env_id in dict.fromkeys(r["env_id"] for r in rows):
        env_rows = [r for r in rows if r["env_id"] == env_id]  # best mean first
        big = max(abs(r["mean"]) for r in env_rows) > 100
        learned = next((r for r in env_rows if r["kind"] == "sb3"), None)
        heuristic = next(
            (
                r
                for r in env_rows
                if r["kind"] == "baseline" and not r["privileged"] and r["agent"] != "random"
            ),
            None,
        )
        reference = next((r for r in env_rows if r["kind"] == "baseline" and r["privileged"]), None)
        out.append(
            f"| {env_id.split('/')[-1]} | {cell(learned, big)} | {cell(heuristic, big)} "
            f"| {cell(reference, big)} |"
        )
    return "\n".join(out)


def write_csv(rows: list[dict], path: Path) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    write_text(path, buf.getvalue())


def plot(rows: list[dict], path: Path) -> None:
    """Normalised score with 95% CI per agent, one panel per env."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(dict.fromkeys(r["env_id"] for r in rows))
    fig, axes = plt.subplots(1, len(envs), figsize=(4.5 * len(envs), 3.6), squeeze=False)
    for ax, env_id in zip(axes[0], envs, strict=True):
        env_rows = [r for r in rows if r["env_id"] == env_id and "norm_mean" in r][::-1]
        y = np.arange(len(env_rows))
        m = np.array([r["norm_mean"] for r in env_rows])
        err = np.array(
            [
                [r["norm_mean"] - r["norm_ci_low"], r["norm_ci_high"] - r["norm_mean"]]
                for r in env_rows
            ]
        ).T.reshape(2, -1)
        colors = [
            "tab:orange" if r["kind"] == "sb3" else "tab:gray" if r["privileged"] else "tab:blue"
            for r in env_rows
        ]
        ax.barh(y, m, xerr=err, color=colors, capsize=3)
        ax.set_yticks(y, [r["label"] for r in env_rows])
        ax.axvline(0, color="k", lw=0.5)
        ax.axvline(1, color="k", lw=0.5, ls="--")
        ax.set_title(env_id.split("/")[-1], fontsize=10)
        ax.set_xlabel("normalised score (0 random, 1 oracle / best known)")
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def plot_curves(records: list[dict], path: Path) -> bool:
    """Training curves from each run's progress.csv: episode reward vs steps (RL), and on
    a second axis the imitation learners' agreement with the oracle's labels on each
    round's fresh states, before fitting them (bc, dagger: their reward is the oracle's)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    learned = [r for r in records if r["kind"] == "sb3"]
    envs = sorted({r["env_id"] for r in learned})
    if not envs:
        return False
    cols = min(3, len(envs))
    rows = -(-len(envs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 4.2 * rows), squeeze=False)
    for ax in axes.flat[len(envs) :]:
        ax.set_visible(False)
    for ax, env_id in zip(axes.flat, envs, strict=False):
        twin = None
        for r in sorted(
            (r for r in learned if r["env_id"] == env_id), key=lambda r: (r["agent"], r["seed"])
        ):
            log = Path(r["run_dir"]) / "logs" / "progress.csv"
            name = f"{r['agent']}{_observation(r)} s{r['seed']}"
            steps, agree = _curve(log, "imitation/agreement")
            if len(steps):
                twin = twin or ax.twinx()
                twin.plot(steps, agree, "--", marker=".", lw=1, label=f"{name} agreement")
                continue
            steps, rew = _curve(log)
            if len(steps):
                ax.plot(steps, rew, lw=1, label=name)
        ax.set_title(env_id.split("/")[-1], fontsize=10)
        ax.set_xlabel("env steps (decisions)")
        ax.set_ylabel("mean episode reward")
        handles, labels = ax.get_legend_handles_labels()
        if twin is not None:
            twin.set_ylabel("agreement with the oracle")
            more = twin.get_legend_handles_labels()
            handles, labels = handles + more[0], labels + more[1]
        if handles:
            ax.legend(handles, labels, fontsize=6)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return True


def _observation(rec: dict) -> str:
    """`` features_raw`` etc. when the run chose an Attribution observation, else ''."""
    kwargs = rec["config"]["env"].get("kwargs") or {}
    obs = (kwargs.get("config") or {}).get("observation") or kwargs.get("observation")
    return f" {obs}" if isinstance(obs, str) else ""


def _curve(progress: Path, key: str = "rollout/ep_rew_mean") -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(progress) as f:
            rows = [r for r in csv.DictReader(f) if r.get(key)]
    except OSError:
        return np.zeros(0), np.zeros(0)
    return (
        np.array([float(r["time/total_timesteps"]) for r in rows]),
        np.array([float(r[key]) for r in rows]),
    )


def write_leaderboard(
    root: str | Path,
    out_dir: str | Path,
    table: str | None = None,
    unlike: str = "split",
    skip_bad: bool = False,
) -> dict:
    """Build everything from the results under ``root``; returns the paths and rows.

    ``unlike``: ``"split"`` (unlike run groups of one agent get a row each, labelled by
    what differs) or ``"refuse"`` (ValueError naming what differs).

    ``table``: also write the Markdown table there and its headline (best learned, best
    heuristic and reference per env) beside it as ``<stem>_headline.md``
    (``python -m retail_env.experiments.readme_tables`` puts the table into the docs' leaderboard page
    and the headline into the README).

    ``skip_bad``: leave out malformed, partial or non-finite results.json files (by default
    they fail, each named) and head the table with a PARTIAL note listing them.
    """
    out_dir = Path(out_dir)
    bad: list[str] | None = [] if skip_bad else None
    records = latest_records(root, bad)
    if not records:
        raise FileNotFoundError(f"no results.json with an evaluation under {root}")
    rows = build_rows(records, unlike)
    text = markdown(rows)
    if bad:
        log.warning("leaderboard is PARTIAL: %d bad results.json left out", len(bad))
        text = (
            f"**PARTIAL: {len(bad)} results.json file(s) were left out (skip_bad=true):**\n\n"
            + "".join(f"- {_rel(line, root)}\n" for line in bad)
            + "\n"
            + text
        )
    write_text(out_dir / "LEADERBOARD.md", "# Leaderboard\n\n" + text + "\n")
    write_csv(rows, out_dir / "leaderboard.csv")
    plot(rows, out_dir / "leaderboard.png")
    paths = {
        "markdown": out_dir / "LEADERBOARD.md",
        "csv": out_dir / "leaderboard.csv",
        "plot": out_dir / "leaderboard.png",
    }
    if plot_curves(records, out_dir / "learning_curves.png"):
        paths["curves"] = out_dir / "learning_curves.png"
    if table:
        write_text(Path(table), text + "\n")
        paths["table"] = Path(table)
        short = Path(table).with_name(Path(table).stem + "_headline.md")
        write_text(short, headline(rows) + "\n")
        paths["headline"] = short
    return {
        "paths": paths,
        "rows": rows,
        "table": text,
        "n_records": len(records),
        "skipped": bad or [],
    }


def _rel(line: str, root: str | Path) -> str:
    """A bad-file line with the results root cut off (committed tables hold no absolute paths)."""
    return line.replace(str(Path(root)) + os.sep, "", 1)


@hydra.main(config_path="../conf", config_name="leaderboard", version_base="1.3")
def main(cfg: DictConfig) -> None:
    try:
        out = write_leaderboard(
            cfg.results_root, runs.hydra_output_dir(), cfg.table, cfg.unlike, bool(cfg.skip_bad)
        )
    except runs.ResultsError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    print(out["table"])
    for name, p in out["paths"].items():
        print(f"{name}: {p}")


if __name__ == "__main__":
    main()
