"""Train a stable-baselines3 agent through the native vector env (Hydra app).

    python -m retail_env.experiments.train env=attribution_hard agent=ppo seed=0
    python -m retail_env.experiments.train env=attribution_hard agent=dagger seed=0    # imitation
    python -m retail_env.experiments.train env=attribution_hard agent=ppo_dagger seed=0  # RL from DAgger
    python -m retail_env.experiments.train -m agent=ppo,a2c seed=0,1 hydra/launcher=local   # in parallel
    python -m retail_env.experiments.train agent=sac env=promotion_continuous train.total_timesteps=20000

Each run folder gets ``config.yaml`` at the start; ``logs/`` (SB3 ``progress.csv`` - the
learning curve - and TensorBoard events); ``checkpoints/step<N>`` every
``train.checkpoint_every`` steps and ``checkpoints/final`` (safe format,
experiments/checkpoints.py); then, last, ``results.json`` with the training budget and the
final policy's score on the frozen evaluation seeds, and the hyperparameters the model was
built with (``hyperparams``; the checkpoints record the same). The folder is
``<out_root>/runs/<env>/<agent>/seed<k>/<run_id>`` (experiments/identity.py). With
``resume=true`` (the default) a run is skipped only when its folder holds a valid
results.json of exactly this identity.

Precedence of hyperparameters, highest first: command line, ``experiment=`` file, the
agent's ``by_task`` entry for the env's task, the agent's defaults (conf/agent/ppo.yaml).

With ``train.env_workers`` > 1 (worker processes), a script that calls :func:`train`
itself must do so under ``if __name__ == "__main__":`` (the workers start by importing the
main module); ``python -m retail_env.experiments.train`` already does.

Agents with an ``imitation`` block (bc, dagger) learn from the oracle's labels
(agents/attribution/imitation.py; the vector env then carries ``oracle_action``, and checkpoints are
written after each round once ``train.checkpoint_every`` > 0); the others by their SB3
algorithm. ``agent.init_from`` (a checkpoint folder) starts from its policy weights.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, cast

import hydra
from omegaconf import DictConfig, OmegaConf

from retail_env.sim.validation import ConfigError

from . import runs
from .checkpoints import save_checkpoint
from .tasks import TASKS

log = logging.getLogger(__name__)


def _checkpoint_callback(every: int, folder: Path, meta: dict):
    from stable_baselines3.common.callbacks import BaseCallback

    class SafeCheckpoints(BaseCallback):
        """Save a safe checkpoint every ``every`` env steps."""

        def __init__(self):
            super().__init__()
            self.last = 0

        def _on_step(self) -> bool:
            if every and self.num_timesteps - self.last >= every:
                self.last = self.num_timesteps
                save_checkpoint(self.model, folder / f"step{self.num_timesteps:09d}", meta)
            return True

    return SafeCheckpoints()


def train_seed(cfg: DictConfig) -> int:
    """The vector env's seed: store i starts at seed * n_envs + i, so training seeds never
    share an episode with each other or with the frozen evaluation seeds."""
    n = int(cfg.train.n_envs)
    first = int(cfg.seed) * n
    if first + n > min(cfg.eval.seed0.values()):
        raise ConfigError(
            f"seed={cfg.seed} with train.n_envs={n} would train on episode seeds "
            f"up to {first + n - 1}, into the frozen evaluation seeds (from "
            f"{min(cfg.eval.seed0.values())}): use a smaller seed"
        )
    return first


def env_workers(cfg: DictConfig) -> int:
    """``train.env_workers``, checked: worker processes serve the tasks whose vector env
    shards (the task table's ``workers``)."""
    workers, n = int(cfg.train.get("env_workers", 1)), int(cfg.train.n_envs)
    if workers != 1 and (not TASKS[cfg.env.task].workers or not 1 <= workers <= n):
        sharded = [t.name for t in TASKS.values() if t.workers]
        raise ConfigError(
            f"train.env_workers={workers} is not allowed: worker processes serve "
            f"the {' and '.join(sharded)} task only, with 1 <= env_workers <= "
            f"train.n_envs={n}"
        )
    return workers


def env_bank(cfg: DictConfig) -> str | None:
    """``env.bank`` resolved: a training bank's directory (``auto``: built on demand into
    ``<out_root>/banks``, keyed by the world's hash), checked; None: the live env."""
    bank = cfg.env.get("bank")
    if bank is None:
        return None
    if not TASKS[cfg.env.task].banks:
        banked = [t.name for t in TASKS.values() if t.banks]
        raise ConfigError(f"env.bank={bank!r}: only the {' and '.join(banked)} task replays banks")
    from retail_env.bank import Bank, cached_bank

    if bank == "auto":
        from retail_env.envs.attribution.core import RAW_TYPES
        from retail_env.envs.registry import attribution_config
        from retail_env.sim.validation import to_dict

        task, store = attribution_config(
            cfg.env.id,
            cast(dict, OmegaConf.to_container(cfg.env.kwargs, resolve=True) or {}),
        )
        task = to_dict(task)
        n = int(cfg.train.get("bank_episodes", 1024))
        bank = cached_bank(
            Path(cfg.out_root) / "banks",
            f"0:{n}",
            task.pop("scenario"),
            store=store,
            raw=task["observation"]["type"] in RAW_TYPES,
            progress=False,
            **task,
        )
    Bank(bank).check_training()
    return str(bank)


def bank_record(path: str | None) -> dict | None:
    """What results.json says of a training bank (no absolute path)."""
    if path is None:
        return None
    from retail_env.bank.cli import summary

    s = summary(path)
    return {k: s[k] for k in ("scenario", "seeds", "world_hash", "episodes", "decisions", "bytes")}


def _shown(path: Path) -> str:
    """``path`` as results.json records it: relative to the working directory when under it
    (committed results hold no absolute paths)."""
    path = Path(path).absolute()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def warm_start(path: str) -> Path:
    """``agent.init_from``: a checkpoint folder, or a run's seed folder
    (``<out_root>/runs/<env>/<agent>/seed<k>``) holding exactly one finished run, whose final
    checkpoint is taken."""
    from .checkpoints import META, CheckpointError

    folder = Path(path)
    if (folder / META).exists():
        return folder
    if (folder / "checkpoints" / "final" / META).exists():  # a run folder
        return folder / "checkpoints" / "final"
    done = sorted(
        p.parent
        for p in folder.glob("*/results.json")
        if (p.parent / "checkpoints" / "final" / META).exists()
    )
    if len(done) != 1:
        raise CheckpointError(
            f"agent.init_from={path}: {len(done)} finished runs there "
            f"({', '.join(d.name for d in done) or 'none'}); give one "
            "checkpoint folder (train the run it starts from first)"
        )
    return done[0] / "checkpoints" / "final"


def make_vec_env(cfg: DictConfig):
    """The run's SB3 VecEnv (the native vector env), with episode stats for the logs."""
    from stable_baselines3.common.vec_env import VecMonitor
    from stable_baselines3.common.vec_env.base_vec_env import VecEnvWrapper

    from retail_env.envs.sb3_vec import make_sb3_vec_env

    kwargs = cast("dict[str, Any]", OmegaConf.to_container(cfg.env.kwargs, resolve=True) or {})
    if (bank := env_bank(cfg)) is not None:
        kwargs["bank"] = bank
    n = int(cfg.train.n_envs)
    if (workers := env_workers(cfg)) != 1:
        kwargs["num_workers"] = workers
    if cfg.agent.get("imitation") is not None:
        kwargs["oracle_info"] = True  # the labels (the policy never sees them)
    venv = make_sb3_vec_env(cfg.env.id, n, seed=train_seed(cfg), **kwargs)
    wrapped, v = False, venv
    while isinstance(v, VecEnvWrapper):
        wrapped |= isinstance(v, VecMonitor)
        v = v.venv
    return venv if wrapped else VecMonitor(venv)


def train(cfg: DictConfig, out_dir: Path) -> dict:
    """Train, checkpoint, evaluate on the frozen seeds, and write the run record."""
    from stable_baselines3.common.logger import configure

    from ..agents.attribution.imitation import imitate
    from ..agents.sb3_agents import build_model, resolved_hyperparams
    from .checkpoints import load_weights
    from .evaluate import evaluate_model, summarise

    runs.check_config(cfg)
    if cfg.agent.kind != "sb3":
        raise ConfigError(
            f"agent={cfg.agent.name!r} is a baseline: nothing to train (use "
            "retail_env.experiments.evaluate, or retail_env.experiments.benchmark for both kinds)"
        )
    if runs.int_key(cfg, "train.total_timesteps") < 1 or runs.int_key(cfg, "train.n_envs") < 1:
        raise ConfigError(
            f"train.total_timesteps={cfg.train.total_timesteps} and train.n_envs="
            f"{cfg.train.n_envs} must both be >= 1"
        )
    env_workers(cfg)
    done, started = runs.skip_or_start(cfg, out_dir)
    if done is not None:
        return done
    hp = resolved_hyperparams(cfg.agent, cfg.env.task)  # the precedence is the composition's
    venv = make_vec_env(cfg)
    logs = out_dir / "logs"
    model = build_model(cfg.agent.algo, hp, venv, seed=int(cfg.seed))
    if (init := cfg.agent.get("init_from")) is not None:
        init = warm_start(init)
        log.info("starting from the policy of %s", init)
        load_weights(init, model)
        init = str(init)
    model.set_logger(
        configure(str(logs), ["csv", "log"] + (["tensorboard"] if cfg.train.tensorboard else []))
    )
    budget = {
        "total_timesteps": int(cfg.train.total_timesteps),
        "n_envs": int(cfg.train.n_envs),
        "algo": cfg.agent.algo,
        "vec_env": type(venv.unwrapped).__qualname__,
        "bank": bank_record(env_bank(cfg)),
    }
    meta = {
        "algo": cfg.agent.algo,
        "agent": cfg.agent.name,
        "env_id": cfg.env.id,
        "init_from": init,
        "env_kwargs": OmegaConf.to_container(cfg.env.kwargs, resolve=True),
        "hyperparams": hp,
        "seed": int(cfg.seed),
        "train": budget,
    }
    ckpts = out_dir / "checkpoints"
    every = int(cfg.train.checkpoint_every)
    t0 = time.perf_counter()
    if (imitation := cfg.agent.get("imitation")) is not None:
        imitate(
            model,
            venv,
            cast("dict[str, Any]", OmegaConf.to_container(imitation)),
            int(cfg.train.total_timesteps),
            seed=int(cfg.seed),
            on_round=lambda n: every and save_checkpoint(model, ckpts / f"step{n:09d}", meta),
        )
    else:
        model.learn(
            int(cfg.train.total_timesteps),
            log_interval=int(cfg.train.log_interval),
            progress_bar=bool(cfg.train.progress_bar),
            callback=_checkpoint_callback(every, ckpts, meta),
        )
    train_s = time.perf_counter() - t0
    venv.close()
    budget.update(
        steps_done=int(model.num_timesteps),
        wall_s=train_s,
        steps_per_s=model.num_timesteps / max(train_s, 1e-9),
    )
    final = save_checkpoint(model, ckpts / "final", {**meta, "train": budget})
    log.info(
        "trained %s on %s: %d steps in %.0f s; checkpoint %s",
        cfg.agent.name,
        cfg.env.id,
        model.num_timesteps,
        train_s,
        final,
    )
    out = {
        "train": budget,
        "hyperparams": hp,
        "checkpoint": _shown(final),
        "learning_curve": _shown(logs / "progress.csv"),
    }
    if cfg.train.evaluate:
        seeds = runs.eval_seeds(cfg)
        t1 = time.perf_counter()
        out["evaluation"] = summarise(
            cfg, evaluate_model(cfg, model, seeds), seeds, time.perf_counter() - t1
        )
        s = out["evaluation"]["score"]
        log.info(
            "%s = %.4f [%.4f, %.4f] on %d frozen seeds",
            cfg.env.score,
            s["mean"],
            s["ci_low"],
            s["ci_high"],
            len(seeds),
        )
    return runs.finish_run(cfg, out_dir, out, started)


@hydra.main(config_path="../conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    record = train(cfg, runs.hydra_output_dir())
    ev = record.get("evaluation")
    return None if ev is None else float(ev["score"]["mean"])


if __name__ == "__main__":
    main()
