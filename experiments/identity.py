"""What a run is: the part of its resolved config that can change its results, and its hash.

A run's identity is its env node (id, kwargs, ...), its agent node (with the hyperparameters
actually used, ``by_task`` already applied), the training seed, the training budget and every
other ``train`` key that changes the weights, the evaluation settings, the checkpoint it
evaluates (by content), and the project version. Keys that cannot change a result (where the
run is written, ``resume``, thread counts, logging, progress bars, checkpoint cadence, the
number of env worker processes: the same weights, tests/test_experiments.py) are left out.
Any other key is in: a new key makes runs distinct rather than letting them collide.

``run_id`` (12 hex digits of a SHA-256 over the identity's canonical JSON) names the run's
folder, ``<out_root>/runs/<env>/<agent>/seed<k>/<run_id>``; ``group_id`` is the same hash
without the seed, which is what the leaderboard pools over.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

NOT_IDENTITY = ("out_root", "resume", "threads", "hydra")
TRAIN_NOT_IDENTITY = (
    "env_workers",
    "checkpoint_every",
    "progress_bar",
    "tensorboard",
    "log_interval",
)
AGENT_NOT_IDENTITY = ("by_task", "total_timesteps", "n_envs")  # applied / copied into train


def _plain(cfg: Mapping | DictConfig) -> dict:
    """The identity-relevant top-level keys as plain data (``hydra`` is never resolved: its
    run folder interpolates the run id itself)."""
    out = {}
    for key in cfg:
        if key not in NOT_IDENTITY:
            value = cfg[key]
            out[key] = (
                OmegaConf.to_container(value, resolve=True)
                if OmegaConf.is_config(value)
                else copy.deepcopy(value)
            )
    return out


def checkpoint_digest(folder: str | Path | None) -> str | None:
    """SHA-256 of a checkpoint's weights and description ("missing" when it is not there:
    evaluation then fails with a CheckpointError naming the folder)."""
    if not folder:
        return None
    h = hashlib.sha256()
    for name in ("checkpoint.json", "policy.pt"):
        try:
            h.update(Path(folder, name).read_bytes())
        except OSError:
            return "missing"
    return h.hexdigest()


def identity(config: Mapping | DictConfig, version: str, legacy: bool = False) -> dict[str, Any]:
    """The identity of the run that ``config`` (a resolved config, or a results.json's
    ``config``) describes. ``legacy``: a schema-1 record, written when ``by_task`` was
    merged over ``hyperparams`` at training time (so that is what ran)."""
    c = _plain(config)
    agent = c["agent"]
    if legacy and agent.get("kind") == "sb3":
        agent["hyperparams"] = {
            **(agent.get("hyperparams") or {}),
            **((agent.get("by_task") or {}).get(c["env"]["task"]) or {}),
        }
    for key in AGENT_NOT_IDENTITY:
        agent.pop(key, None)
    checkpoint = c.pop("checkpoint", None)
    if checkpoint:
        # the checkpoint carries its own hyperparameters: it is keyed by its content
        agent.pop("hyperparams", None)
        c["checkpoint"] = checkpoint_digest(checkpoint)
    if agent.get("kind") != "sb3" or checkpoint:
        c.pop("train", None)  # nothing is trained: the budget cannot matter
    else:
        for key in TRAIN_NOT_IDENTITY:
            (c.get("train") or {}).pop(key, None)
    c["version"] = version
    return c


def digest(data: Any) -> str:
    """12 hex digits of SHA-256 over canonical JSON (sorted keys)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_id(ident: Mapping[str, Any]) -> str:
    return digest(ident)


def group_id(ident: Mapping[str, Any]) -> str:
    """The hash of everything but the seed: runs that differ only in their seed share it."""
    return digest({k: v for k, v in ident.items() if k != "seed"})


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"train": {"n_envs": 8}}`` -> ``{"train.n_envs": 8}`` (lists stay values)."""
    if not isinstance(data, Mapping):
        return {prefix: data}
    out: dict[str, Any] = {}
    for k, v in data.items():
        out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def differences(idents: list[Mapping[str, Any]]) -> list[str]:
    """The dotted keys whose values differ between these identities (seed excluded)."""
    flat = [flatten({k: v for k, v in i.items() if k != "seed"}) for i in idents]
    keys = sorted(set().union(*flat))
    return [k for k in keys if len({json.dumps(f.get(k), sort_keys=True) for f in flat}) > 1]
