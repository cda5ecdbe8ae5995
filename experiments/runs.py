"""Run records shared by the experiment apps: one folder per run identity.

A run lives in ``<out_root>/runs/<env>/<agent>/seed<k>/<run_id>/`` (``evals/`` for
``retail_env.experiments.evaluate``), where ``run_id`` hashes everything that can change its results
(experiments/identity.py), so a sweep over any key gives distinct runs. A run folder
holds ``config.yaml`` (the resolved config, written first), ``results.json`` (written
last, atomically, only when the run finished) and whatever the run produced (logs,
checkpoints). ``results.json`` is the only file the leaderboard reads and the
"done" marker ``resume`` checks, so a crashed or killed run leaves no half-result and
never touches another run's folder. ``resume`` skips a run only when the results.json in its
folder is valid and records exactly the same identity, and it logs what it skipped.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

from omegaconf import DictConfig, OmegaConf

import retail_env
from retail_env.atomic import write_json, write_text
from retail_env.errors import RetailEnvError
from retail_env.sim.validation import ConfigError

from . import identity as ident
from .tasks import TASKS

log = logging.getLogger(__name__)
NO_EVALUATION = "has no 'evaluation'"


class ResultsError(RetailEnvError, ValueError):
    """results.json files that cannot be ranked (each file named with its problems)."""


REPO = Path(__file__).resolve().parents[1]
RESULTS = "results.json"
SCHEMA = 2  # 2: run_id / identity / hyperparams as used; 1: folders per seed


def run_identity(cfg: DictConfig | Mapping) -> dict[str, Any]:
    """The identity of the run ``cfg`` describes (experiments/identity.py)."""
    return ident.identity(cfg, retail_env.__version__)


def run_id(cfg: DictConfig | Mapping) -> str:
    return ident.run_id(run_identity(cfg))


# ``${run_id:}`` in conf/base.yaml's run and sweep folders: Hydra resolves it with the whole
# composed config, so the folder of a run is named by its identity.
OmegaConf.register_new_resolver("run_id", lambda *, _root_: run_id(_root_), replace=True)


def run_dir(cfg: DictConfig, kind: str = "runs") -> Path:
    """``<out_root>/<kind>/<env>/<agent>/seed<k>/<run_id>``: the folder Hydra gives the run."""
    return (
        Path(cfg.out_root)
        / kind
        / str(cfg.env.name)
        / str(cfg.agent.name)
        / f"seed{cfg.seed}"
        / run_id(cfg)
    )


def int_key(cfg: DictConfig, key: str) -> int:
    """``cfg[key]`` as an int, or ConfigError naming the key and the value."""
    value = OmegaConf.select(cfg, key)
    try:
        if isinstance(value, bool) or float(value) != int(value):
            raise ValueError
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}={value!r} is not allowed: must be a whole number") from None


def pin_threads(n: int) -> None:
    """One job, ``n`` threads: torch and BLAS would otherwise take every core of the machine."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    import torch

    torch.set_num_threads(n)


def hydra_output_dir() -> Path:
    """The running Hydra job's output folder (apps never chdir: version_base 1.3)."""
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir)


def git_commit() -> dict[str, Any]:
    """The repo's commit and whether the tree had local changes (read-only git calls)."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD"), "dirty": None if status is None else bool(status)}


def mismatch(cfg: DictConfig) -> str | None:
    """Why ``cfg.agent`` cannot play ``cfg.env`` (task or action space), or None if it can."""
    if cfg.env.task not in cfg.agent.tasks:
        return (
            f"agent={cfg.agent.name!r} plays {list(cfg.agent.tasks)} tasks; "
            f"env={cfg.env.name!r} ({cfg.env.id}) is a {cfg.env.task} task"
        )
    if cfg.env.action_space not in cfg.agent.action_spaces:
        return (
            f"agent={cfg.agent.name!r} needs a {'/'.join(cfg.agent.action_spaces)} action "
            f"space; env={cfg.env.name!r} ({cfg.env.id}) has {cfg.env.action_space}"
        )
    return None


def check_config(cfg: DictConfig) -> None:
    """Fail early, naming the key, on combinations no run can use."""
    if cfg.env.task not in TASKS:
        raise ConfigError(f"env.task={cfg.env.task!r} is not allowed: must be one of {list(TASKS)}")
    if cfg.agent.kind not in ("baseline", "sb3"):
        raise ConfigError(
            f"agent.kind={cfg.agent.kind!r} is not allowed: must be 'baseline' or 'sb3'"
        )
    for key in ("seed", "eval.n_episodes"):
        int_key(cfg, key)
    if int(cfg.seed) < 0 or int(cfg.seed) >= min(cfg.eval.seed0.values()):
        raise ConfigError(
            f"seed={cfg.seed} is not allowed: training seeds must be in "
            f"[0, {min(cfg.eval.seed0.values())}) so they never meet the frozen "
            "evaluation seeds"
        )
    if int(cfg.eval.n_episodes) < 1:
        raise ConfigError(f"eval.n_episodes={cfg.eval.n_episodes} is not allowed: must be >= 1")
    why = mismatch(cfg)
    if why is not None:
        raise ConfigError(why)


def eval_seeds(cfg: DictConfig) -> list[int]:
    """The frozen evaluation seeds of the run's task."""
    seed0 = int(cfg.eval.seed0[cfg.env.task])
    return list(range(seed0, seed0 + int(cfg.eval.n_episodes)))


def container(cfg: DictConfig) -> dict:
    """The resolved config as plain data (no Hydra node)."""
    data = cast("dict[str, Any]", OmegaConf.to_container(cfg, resolve=True))
    data.pop("hydra", None)
    return data


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def record_problems(rec: Any) -> list[str]:
    """What makes ``rec`` (a parsed results.json) unusable: missing keys, wrong types,
    non-finite scores; empty when it is a whole evaluated record."""
    if not isinstance(rec, dict):
        return [f"is a JSON {type(rec).__name__}, not an object (a run record)"]
    probs = [
        f"has no '{k}'"
        for k in ("schema", "env_id", "agent", "kind", "config", "evaluation")
        if k not in rec
    ]
    for k in ("env_id", "agent", "kind", "run_id"):
        if k in rec and not isinstance(rec[k], str):
            probs.append(f"'{k}' is {rec[k]!r}, not a string")
    if "config" in rec and not (
        isinstance(rec["config"], dict) and isinstance(rec["config"].get("agent"), dict)
    ):
        probs.append("'config' has no 'agent' mapping")
    ev = rec.get("evaluation")
    if ev is None:
        return probs
    if not isinstance(ev, dict):
        return probs + [f"'evaluation' is {type(ev).__name__}, not an object"]
    scores, seeds = ev.get("scores"), ev.get("eval_seeds")
    mean = ev.get("score", {}).get("mean") if isinstance(ev.get("score"), dict) else None
    if not _finite(mean):
        probs.append(f"evaluation.score.mean is {mean!r}, not a finite number")
    if not isinstance(scores, list) or not scores or not all(_finite(x) for x in scores):
        bad = scores if not isinstance(scores, list) else [x for x in scores if not _finite(x)][:3]
        probs.append(f"evaluation.scores must be a non-empty list of finite numbers (bad: {bad!r})")
    if (
        not isinstance(seeds, list)
        or not all(isinstance(s, int) for s in seeds)
        or (isinstance(scores, list) and len(seeds) != len(scores))
    ):
        probs.append("evaluation.eval_seeds must be a list of integers, one per score")
    return probs


def read_done(out_dir: Path) -> dict | None:
    """The folder's results.json when it parses and is a whole finished record, else None
    (it is written last, atomically, so a crashed run has none; a corrupted, partial or
    non-finite one is not done either, and the run goes again)."""
    path = Path(out_dir) / RESULTS
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        if path.exists():
            log.warning("%s is unreadable: the run is not done and goes again", path)
        return None
    probs = [p for p in record_problems(rec) if p != NO_EVALUATION]
    if probs:
        log.warning("%s %s: the run is not done and goes again", path, "; ".join(probs))
        return None
    return rec


def start_run(cfg: DictConfig, out_dir: Path) -> float:
    """Write the resolved config before any work (what ran, even if it then crashes).

    Returns the start time (epoch seconds) for :func:`finish_run`.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "config.yaml", OmegaConf.to_yaml(container(cfg)))
    return time.time()


def finish_run(cfg: DictConfig, out_dir: Path, results: Mapping[str, Any], started: float) -> dict:
    """Write results.json (atomically, last) with the identity, config, commit and versions."""
    import stable_baselines3
    import torch

    who = run_identity(cfg)
    record = {
        "schema": SCHEMA,
        "run_id": ident.run_id(who),
        "group_id": ident.group_id(who),
        "env_id": cfg.env.id,
        "env": cfg.env.name,
        "task": cfg.env.task,
        "agent": cfg.agent.name,
        "kind": cfg.agent.kind,
        "seed": int(cfg.seed),
        "score_name": cfg.env.score,
        **results,
        "git": git_commit(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": platform.node(),
        "pid": os.getpid(),
        "started": started,
        "finished": time.time(),
        "versions": {
            "retail_env": retail_env.__version__,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "stable_baselines3": stable_baselines3.__version__,
        },
        "identity": who,
        "config": container(cfg),
    }
    write_json(out_dir / RESULTS, record)
    return record


def skip_or_start(cfg: DictConfig, out_dir: Path) -> tuple[dict | None, float]:
    """``(finished record, 0)`` when ``resume`` is on and ``out_dir`` holds a valid
    results.json of exactly this run identity; else pin the threads, write the config and
    return ``(None, start time)``: the run goes ahead (and says why when a record was there)."""
    done = read_done(out_dir)
    if done is not None and cfg.resume:
        rid = run_id(cfg)
        if done.get("run_id") == rid:
            log.info(
                "skipped %s %s seed %s (run %s): %s holds its results.json with this exact "
                "identity; resume=false reruns it",
                cfg.agent.name,
                cfg.env.id,
                cfg.seed,
                rid,
                out_dir,
            )
            return done, 0.0
        why = (
            ident.differences([done["identity"], run_identity(cfg)])
            if "identity" in done
            else ["no recorded identity (an older record)"]
        )
        log.warning(
            "%s holds results of another run identity (differs in %s): running %s again",
            out_dir,
            ", ".join(why) or "seed",
            rid,
        )
    pin_threads(int(cfg.threads))
    return None, start_run(cfg, out_dir)


def iter_results(
    root: str | os.PathLike, bad: list[str] | None = None
) -> Iterator[tuple[Path, dict]]:
    """Every whole, finite results.json under ``root``. A bad one (unreadable, not an
    object, missing keys, non-finite scores) is a ``ResultsError`` naming every bad file
    and its problems; with a ``bad`` list, its lines are appended there and the file skipped."""
    problems = []
    for path in sorted(Path(root).rglob(RESULTS)):
        try:
            rec = json.loads(path.read_text())
        except (OSError, ValueError, RecursionError) as err:
            problems.append(f"{path}: unreadable ({type(err).__name__}: {err})")
            continue
        probs = record_problems(rec)
        if probs == [NO_EVALUATION]:
            continue  # a whole run without an evaluation: nothing to rank
        if probs:
            problems.append(f"{path}: {'; '.join(probs)}")
            continue
        yield path, rec
    if problems and bad is None:
        raise ResultsError(
            f"{len(problems)} bad results.json file(s) (pass skip_bad=true to "
            "leave them out and mark the table partial):\n  " + "\n  ".join(problems)
        )
    if bad is not None:
        bad += problems
