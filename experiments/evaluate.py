"""Evaluate a baseline or a trained checkpoint on the frozen evaluation seeds (Hydra app).

    python -m retail_env.experiments.evaluate env=attribution_hard agent=hungarian
    python -m retail_env.experiments.evaluate env=attribution_hard agent=ppo \\
        checkpoint=outputs/runs/attribution_hard/ppo/seed0/<run_id>/checkpoints/final
    python -m retail_env.experiments.evaluate -m env=promotion_mini agent=list_price,myopic,lookahead

The run folder is ``<out_root>/evals/<env>/<agent>/seed<k>/<run_id>``; a checkpoint's run
id hashes its content, so evaluating another checkpoint is another run (never skipped as
"done"). Writes ``config.yaml`` and ``results.json`` (score = the env's ``score`` metric per frozen
episode, mean / IQM / 95% bootstrap CI, every metric) into the run folder. Attribution
baselines run as one batched simulation (experiments/evaluate_attribution.py, the same
numbers as the Gymnasium env); everything else plays the Gymnasium env episode by episode.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf

import retail_env  # noqa: F401  (registers the ids)
from retail_env.sim.validation import ConfigError

from ..agents.factory import make_agent, run_episode
from . import runs
from .stats import summarize
from .tasks import TASKS

log = logging.getLogger(__name__)


def env_kwargs(cfg: DictConfig) -> dict[str, Any]:
    return cast("dict[str, Any]", OmegaConf.to_container(cfg.env.kwargs, resolve=True) or {})


def make_env(cfg: DictConfig, **extra: Any) -> gym.Env:
    return gym.make(cfg.env.id, **env_kwargs(cfg), **extra)


def evaluate_baseline(cfg: DictConfig, seeds: list[int]) -> list[dict]:
    """Baseline ``cfg.agent`` on the frozen ``seeds``: batched where the task table has a
    batched evaluation, otherwise one episode at a time through ``gym.make``."""
    task = TASKS[cfg.env.task]
    if task.batched_baselines:
        return task.load("batched_baselines")(cfg.env.id, env_kwargs(cfg), cfg.agent.name, seeds)
    env = make_env(cfg)
    try:
        return [
            run_episode(env, make_agent(cfg.agent.name, env, **cfg.agent.kwargs), s) for s in seeds
        ]
    except ValueError as err:
        raise ConfigError(
            f"agent={cfg.agent.name!r} cannot play env={cfg.env.name!r} ({cfg.env.id}): {err}"
        ) from err
    finally:
        env.close()


def evaluate_model(cfg: DictConfig, model, seeds: list[int]) -> list[dict]:
    """Play a trained SB3 model on the Gymnasium env, one frozen seed per episode."""
    from ..agents.sb3_agents import SB3Agent

    env = make_env(cfg)
    try:
        agent = SB3Agent(env, model, deterministic=bool(cfg.eval.deterministic))
        return [run_episode(env, agent, s) for s in seeds]
    finally:
        env.close()


def summarise(cfg: DictConfig, episodes: list[dict], seeds: list[int], seconds: float) -> dict:
    """The ``evaluation`` block of results.json."""
    score = [float(e[cfg.env.score]) for e in episodes]
    keys = [k for k in episodes[0] if all(np.isfinite(float(e[k])) for e in episodes)]
    return {
        "score": summarize(score),
        "scores": score,
        "eval_seeds": seeds,
        "n_episodes": len(seeds),
        "eval_seconds": seconds,
        "metrics": {k: summarize([float(e[k]) for e in episodes]) for k in keys},
        "episodes": episodes,
    }


def evaluate(cfg: DictConfig, out_dir: Path) -> dict:
    """Evaluate ``cfg.agent`` (a baseline, or ``cfg.checkpoint``) and write its run record."""
    runs.check_config(cfg)
    checkpoint = cfg.get("checkpoint")
    if cfg.agent.kind == "sb3" and not checkpoint:
        raise ConfigError(
            f"agent={cfg.agent.name!r} is learned: pass checkpoint=<folder written "
            "by retail_env.experiments.train>"
        )
    if cfg.agent.kind == "baseline" and checkpoint:
        raise ConfigError(
            f"checkpoint={checkpoint!r} was given with the baseline agent="
            f"{cfg.agent.name!r}: pass the checkpoint's algorithm, e.g. agent=ppo"
        )
    done, started = runs.skip_or_start(cfg, out_dir)
    if done is not None:
        return done
    seeds = runs.eval_seeds(cfg)
    t0 = time.perf_counter()
    if checkpoint:
        from .checkpoints import CheckpointError, load_checkpoint, read_meta

        meta = read_meta(checkpoint)
        if meta["algo"] != cfg.agent.algo:
            raise CheckpointError(
                f"checkpoint {checkpoint} holds a {meta['algo']} policy; "
                f"agent={cfg.agent.name!r} is {cfg.agent.algo}"
            )
        env = make_env(cfg)
        model = load_checkpoint(checkpoint, env, env_id=cfg.env.id)
        env.close()
        episodes = evaluate_model(cfg, model, seeds)
        extra = {
            "checkpoint": str(checkpoint),
            "trained_env_id": meta.get("env_id"),
            "train": meta.get("train", {}),
            "hyperparams": meta.get("hyperparams", {}),
        }
    else:
        episodes = evaluate_baseline(cfg, seeds)
        extra = {}
    ev = summarise(cfg, episodes, seeds, time.perf_counter() - t0)
    log.info(
        "%s on %s: %s = %.4f [%.4f, %.4f] over %d frozen seeds",
        cfg.agent.name,
        cfg.env.id,
        cfg.env.score,
        ev["score"]["mean"],
        ev["score"]["ci_low"],
        ev["score"]["ci_high"],
        len(seeds),
    )
    return runs.finish_run(cfg, out_dir, {**extra, "evaluation": ev}, started)


@hydra.main(config_path="../conf", config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> float:
    return float(evaluate(cfg, runs.hydra_output_dir())["evaluation"]["score"]["mean"])


if __name__ == "__main__":
    main()
