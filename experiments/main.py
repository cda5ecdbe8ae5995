"""The README's main job: the whole loop on the default scenario, in one command.

    python -m retail_env.experiments.main                          # -> outputs/main/
    python -m retail_env.experiments.main out_root=/tmp/m total_timesteps=2048 scenario=attribution_hard
    python -m retail_env.experiments.main scenario=promotion_mini 'baselines=[random,list_price,lookahead]'

1. every baseline on the frozen evaluation seeds (retail_env.experiments.evaluate),
2. a short training of the learned agent (default: behaviour cloning of the oracle on a
   small episode bank of the scenario, built once), evaluated on the same seeds
   (retail_env.experiments.train),
3. the leaderboard table from the results.json files (retail_env.experiments.leaderboard),
4. one episode of the trained policy recorded with ``RecordEpisode`` and exported to MP4
   (a rerun reuses the recording when the checkpoint is the same).

Each step is the Hydra app's own function on a config composed from ``conf/`` (the same
as the command line would build), so the run folders are the ones the apps write, and a
rerun skips runs already done (``resume``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import hydra
from hydra import compose
from omegaconf import DictConfig

from retail_env.atomic import write_json

from . import runs

log = logging.getLogger(__name__)


def _compose(app: str, cfg: DictConfig, agent: str, extra: Sequence[str] = ()) -> DictConfig:
    return compose(
        app,
        overrides=[
            f"env={cfg.scenario}",
            f"agent={agent}",
            f"eval={cfg.eval_set}",
            f"seed={cfg.seed}",
            f"out_root={cfg.out_root}",
            f"resume={str(bool(cfg.resume)).lower()}",
            *extra,
        ],
    )


def record_episode(
    run_cfg: DictConfig, checkpoint: str, folder: Path, every: int, fps: float | None
) -> dict:
    """Play the trained policy for one frozen-seed episode under RecordEpisode; export MP4."""
    from retail_env.render import RecordEpisode, load_recording
    from retail_env.render.export import export_mp4

    from ..agents.factory import run_episode
    from ..agents.sb3_agents import SB3Agent
    from .checkpoints import load_checkpoint
    from .evaluate import make_env

    env = make_env(run_cfg)
    model = load_checkpoint(checkpoint, env, env_id=run_cfg.env.id)
    rec_env = RecordEpisode(env, folder, every=every, overwrite=True)  # a new checkpoint's
    seed = runs.eval_seeds(run_cfg)[0]
    metrics = run_episode(rec_env, SB3Agent(rec_env, model), seed)
    rec_env.close()
    npz = rec_env.saved[-1]
    mp4, n = export_mp4(load_recording(npz), npz.with_suffix(".mp4"), fps=fps)
    return {
        "recording": str(npz),
        "mp4": str(mp4),
        "frames": n,
        "seed": seed,
        "checkpoint": str(checkpoint),
        run_cfg.env.score: metrics[run_cfg.env.score],
    }


def previous_video(out: Path, checkpoint: str) -> dict | None:
    """The last main job's recording of this same checkpoint, if its MP4 is still there."""
    try:
        video = json.loads((out / "main.json").read_text())["video"]
    except (OSError, ValueError, KeyError):
        return None
    same = video.get("checkpoint") == str(checkpoint) and Path(video["mp4"]).is_file()
    return video if same else None


def main_job(cfg: DictConfig) -> dict:
    from .evaluate import evaluate
    from .leaderboard import write_leaderboard
    from .tasks import TASKS
    from .train import train

    out = Path(cfg.out_root)
    budget = [f"train.total_timesteps={cfg.total_timesteps}", f"train.n_envs={cfg.n_envs}"]
    run_cfg = _compose("train", cfg, cfg.learned, budget)
    if TASKS[run_cfg.env.task].banks and cfg.get("bank") is not None:  # a replay bank
        run_cfg = _compose(
            "train",
            cfg,
            cfg.learned,
            [*budget, f"env.bank={cfg.bank}", f"train.bank_episodes={cfg.bank_episodes}"],
        )
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    for name in cfg.baselines:
        t0 = time.perf_counter()
        base_cfg = _compose("evaluate", cfg, name)
        evaluate(base_cfg, runs.run_dir(base_cfg))
        timings[f"baseline {name}"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    trained = train(run_cfg, runs.run_dir(run_cfg))
    timings[f"train+evaluate {cfg.learned}"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    board = write_leaderboard(out / "runs", out / "leaderboard")
    timings["leaderboard"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    video = previous_video(out, trained["checkpoint"]) if cfg.resume else None
    if video is None:
        video = record_episode(
            run_cfg, trained["checkpoint"], out / "recording", int(cfg.record.every), cfg.record.fps
        )
    timings["record + mp4"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_all
    summary = {
        "env_id": run_cfg.env.id,
        "timings_s": timings,
        "video": video,
        "train": trained.get("train"),
        "runs": str(out / "runs"),
        "leaderboard": {k: str(v) for k, v in board["paths"].items()},
        "git": runs.git_commit(),
    }
    write_json(out / "main.json", summary)
    return {**summary, "table": board["table"]}


@hydra.main(config_path="../conf", config_name="main", version_base="1.3")
def main(cfg: DictConfig) -> None:
    runs.pin_threads(1)
    s = main_job(cfg)
    print(s["table"])
    print(f"runs (config.yaml, results.json, logs, checkpoints): {s['runs']}")
    for name, path in s["leaderboard"].items():
        print(f"leaderboard {name}: {path}")
    print(f"recorded episode (seed {s['video']['seed']}): {s['video']['recording']}")
    print(f"video: {s['video']['mp4']} ({s['video']['frames']} frames)")
    print("timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in s["timings_s"].items()))
    print(f"summary: {Path(cfg.out_root) / 'main.json'}")
    log.info("main job done in %.0f s", s["timings_s"]["total"])


if __name__ == "__main__":
    main()
