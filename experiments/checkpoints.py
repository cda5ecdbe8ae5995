"""Checkpoints that load without running anyone's code: weights + a JSON description.

A checkpoint is a folder with ``policy.pt`` (the policy's ``state_dict``, read back with
``torch.load(weights_only=True)``, which refuses pickled objects) and ``checkpoint.json``
(algorithm, hyperparameters, env id and kwargs, observation and action spaces). SB3's own
``.zip`` is not used: its ``data`` member is cloudpickle, i.e. arbitrary code on load.
Loading checks the spaces before touching the weights and says what differs; a checkpoint
trained on another env id with identical spaces loads with a warning naming both ids
(transfer studies, e.g. trained on Attribution-Hard, evaluated on Attribution).
"""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from agents.sb3_agents import build_model
from retail_env.atomic import atomic_path, write_json

FORMAT = "retail-env-sb3-checkpoint"
VERSION = 1
WEIGHTS, META = "policy.pt", "checkpoint.json"


class CheckpointError(Exception):
    """A checkpoint is missing, damaged, unsafe, or does not fit the env it is loaded for."""


class OtherEnvWarning(UserWarning):
    """A checkpoint is played on another env id than it was trained on (same spaces)."""


def describe_space(space: spaces.Space) -> dict[str, Any]:
    """A JSON description of a space; equal descriptions mean interchangeable spaces."""
    if isinstance(space, spaces.Dict):
        return {"type": "Dict", "spaces": {k: describe_space(s) for k, s in space.spaces.items()}}
    if isinstance(space, spaces.Box):
        low, high = np.broadcast_to(space.low, space.shape), np.broadcast_to(space.high, space.shape)
        return {"type": "Box", "shape": list(space.shape), "dtype": str(space.dtype),
                "low": [float(v) for v in np.unique(low)], "high": [float(v) for v in np.unique(high)]}
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": np.asarray(space.nvec).tolist()}
    if isinstance(space, spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}
    raise TypeError(f"cannot describe space {space}")


def save_checkpoint(model, folder: str | Path, meta: dict[str, Any]) -> Path:
    """Write ``policy.pt`` then ``checkpoint.json`` (atomically; the JSON marks it complete)."""
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / WEIGHTS, suffix=".pt") as tmp:
        torch.save({k: v.detach().cpu() for k, v in model.policy.state_dict().items()}, tmp)
    write_json(folder / META, {
        "format": FORMAT, "version": VERSION, **meta,
        "num_timesteps": int(model.num_timesteps),
        "observation_space": describe_space(model.observation_space),
        "action_space": describe_space(model.action_space)})
    return folder


def read_meta(folder: str | Path) -> dict[str, Any]:
    """The checkpoint's JSON, or CheckpointError saying what is wrong with the folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint={str(folder)!r}: no such folder (a checkpoint is a "
                              f"folder with {META} and {WEIGHTS}, written by experiments.train)")
    for name in (META, WEIGHTS):
        if not (folder / name).is_file():
            raise CheckpointError(f"checkpoint={str(folder)!r} has no {name}: it is incomplete "
                                  "or not a checkpoint")
    try:
        meta = json.loads((folder / META).read_text())
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{folder / META} is not valid JSON ({err})") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{folder / META} is not a retail-env checkpoint "
                              f"(format {meta.get('format') if isinstance(meta, dict) else None!r})")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{folder} is a version {meta.get('version')} checkpoint; this code "
                              f"reads version {VERSION}")
    return meta


def load_checkpoint(folder: str | Path, env, env_id: str | None = None):
    """The SB3 model stored in ``folder``, ready to ``predict`` on ``env``.

    Raises CheckpointError when the folder is missing or damaged, the weights file holds
    anything but tensors, or the checkpoint's spaces are not the env's. A checkpoint trained
    on another id than ``env_id`` with the same spaces loads with an OtherEnvWarning.
    """
    folder = Path(folder)
    meta = read_meta(folder)
    other = env_id is not None and meta.get("env_id") != env_id
    _check_spaces(folder, meta, env, f" (trained on {meta.get('env_id')!r}, loaded for "
                                     f"{env_id!r})" if other else "")
    if other:
        warnings.warn(f"checkpoint {folder} was trained on {meta.get('env_id')!r} and is played "
                      f"on {env_id!r}: the spaces are identical, the tasks may not be",
                      OtherEnvWarning, stacklevel=2)
    model = build_model(meta["algo"], meta.get("hyperparams", {}), env, seed=0, inference=True)
    _load_state(folder, meta, model)
    return model


def load_weights(folder: str | Path, model) -> dict[str, Any]:
    """Load the policy weights of checkpoint ``folder`` into ``model`` (a warm start: same
    policy class and spaces, any algorithm, e.g. PPO from a DAgger policy); its JSON."""
    folder = Path(folder)
    meta = read_meta(folder)
    _check_spaces(folder, meta, model)
    _load_state(folder, meta, model)
    return meta


def _check_spaces(folder: Path, meta: dict[str, Any], env, trained: str = "") -> None:
    for key, space in (("observation_space", env.observation_space),
                       ("action_space", env.action_space)):
        if meta.get(key) != describe_space(space):
            raise CheckpointError(f"checkpoint {folder} does not fit this env{trained}: {key} "
                                  f"was {meta.get(key)}, the env has {describe_space(space)}")


def _load_state(folder: Path, meta: dict[str, Any], model) -> None:
    import torch

    try:
        state = torch.load(folder / WEIGHTS, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as err:
        raise CheckpointError(f"{folder / WEIGHTS} was refused by safe loading (weights only): "
                              f"{str(err).splitlines()[0]}") from err
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{folder / WEIGHTS} does not hold a state_dict of tensors")
    try:
        model.policy.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise CheckpointError(f"{folder / WEIGHTS} does not fit a {meta['algo']} policy with "
                              f"these hyperparameters ({type(model.policy).__name__}): "
                              f"{str(err).splitlines()[0]}") from err
