"""Benchmark: agents x presets x seeds as one Hydra multirun (then run the leaderboard).

    python -m retail_env.experiments.benchmark                                   # conf/experiment/bench_attribution
    python -m retail_env.experiments.benchmark experiment=bench_promotion
    python -m retail_env.experiments.benchmark experiment=bench_all hydra/launcher=slurm
    python -m retail_env.experiments.leaderboard

One job per (env, agent, seed): learned agents train then evaluate (retail_env.experiments.train),
baselines evaluate (retail_env.experiments.evaluate), both on the frozen seeds. A pair that cannot
play (a baseline of the other task, an algorithm the action space does not fit) is
skipped, so a grid can be a plain cartesian sweep. A job whose results.json exists is
skipped too (``resume``): rerun the same command after a crash or kill and only the
missing runs execute. Each job writes only its own folder, so one failure loses nothing
of the others.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig

from . import runs

log = logging.getLogger(__name__)


def run_job(cfg: DictConfig, out_dir: Path) -> dict | None:
    """Train and/or evaluate one grid point; None when the pair cannot play (skipped)."""
    why = runs.mismatch(cfg)
    if why is not None:
        log.info("skipped: %s", why)
        return None
    if cfg.agent.kind == "sb3":
        from .train import train

        return train(cfg, out_dir)
    from .evaluate import evaluate

    return evaluate(cfg, out_dir)


@hydra.main(config_path="../conf", config_name="benchmark", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    record = run_job(cfg, runs.hydra_output_dir())
    if record is None or "evaluation" not in record:
        return None
    return float(record["evaluation"]["score"]["mean"])


if __name__ == "__main__":
    main()
