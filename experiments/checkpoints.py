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
import math
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from retail_env.atomic import atomic_path, write_json
from retail_env.errors import RetailEnvError
from retail_env.sim.validation import ConfigError

from ..agents.sb3_agents import build_model

FORMAT = "retail-env-sb3-checkpoint"
VERSION = 1
WEIGHTS, META = "policy.pt", "checkpoint.json"
# Limits on what a checkpoint may ask for (docs/limits.md), checked before anything is built:
MAX_WIDTH, MAX_DEPTH = 4096, 16  # net_arch: units per layer, layers per network
MAX_PARAMS = 50_000_000  # tensors in policy.pt, elements in all (200 MB float32)
MAX_WEIGHTS_BYTES = 1 << 30  # policy.pt, uncompressed members summed
HYPER_LIMITS = {
    "n_steps": (1, 1 << 16),
    "batch_size": (1, 1 << 20),
    "n_epochs": (1, 1000),
    "buffer_size": (1, 10_000_000),
    "n_envs": (1, 1 << 12),
    "learning_starts": (0, 10_000_000),
    "train_freq": (1, 1 << 20),
    "gradient_steps": (-1, 1 << 16),
    "target_update_interval": (1, 10_000_000),
}


class CheckpointError(RetailEnvError, ValueError):
    """A checkpoint is missing, damaged, unsafe, or does not fit the env it is loaded for."""


class OtherEnvWarning(UserWarning):
    """A checkpoint is played on another env id than it was trained on (same spaces)."""


def describe_space(space: spaces.Space) -> dict[str, Any]:
    """A JSON description of a space; equal descriptions mean interchangeable spaces."""
    if isinstance(space, spaces.Dict):
        return {"type": "Dict", "spaces": {k: describe_space(s) for k, s in space.spaces.items()}}
    if isinstance(space, spaces.Box):
        low, high = (
            np.broadcast_to(space.low, space.shape),
            np.broadcast_to(space.high, space.shape),
        )
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": str(space.dtype),
            "low": [float(v) for v in np.unique(low)],
            "high": [float(v) for v in np.unique(high)],
        }
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
    write_json(
        folder / META,
        {
            "format": FORMAT,
            "version": VERSION,
            **meta,
            "num_timesteps": int(model.num_timesteps),
            "observation_space": describe_space(model.observation_space),
            "action_space": describe_space(model.action_space),
        },
    )
    return folder


def read_meta(folder: str | Path) -> dict[str, Any]:
    """The checkpoint's JSON, or CheckpointError saying what is wrong with the folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(
            f"checkpoint={str(folder)!r}: no such folder (a checkpoint is a "
            f"folder with {META} and {WEIGHTS}, written by retail_env.experiments.train)"
        )
    for name in (META, WEIGHTS):
        if not (folder / name).is_file():
            raise CheckpointError(
                f"checkpoint={str(folder)!r} has no {name}: it is incomplete or not a checkpoint"
            )
    try:
        meta = json.loads((folder / META).read_text())
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{folder / META} is not valid JSON ({err})") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(
            f"{folder / META} is not a retail-env checkpoint "
            f"(format {meta.get('format') if isinstance(meta, dict) else None!r})"
        )
    if meta.get("version") != VERSION:
        raise CheckpointError(
            f"{folder} is a version {meta.get('version')} checkpoint; this code "
            f"reads version {VERSION}"
        )
    _check_meta(folder / META, meta)
    return meta


def _check_meta(path: Path, meta: dict[str, Any]) -> None:
    """Typed, bounded JSON values (so building the model cannot ask for gigabytes)."""
    if not isinstance(meta.get("algo"), str):
        raise CheckpointError(f"{path}: 'algo' is {meta.get('algo')!r}, not a string")
    hp = meta.get("hyperparams", {})
    if not isinstance(hp, dict):
        raise CheckpointError(f"{path}: 'hyperparams' is {type(hp).__name__}, not an object")
    for key, (lo, hi) in HYPER_LIMITS.items():
        v = hp.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi):
            raise CheckpointError(
                f"{path}: hyperparams.{key}={v!r} is not allowed: must be an "
                f"integer in [{lo}, {hi}]"
            )
    for key, v in hp.items():
        if isinstance(v, float) and not math.isfinite(v):
            raise CheckpointError(f"{path}: hyperparams.{key}={v!r} is not a finite number")
    pk = hp.get("policy_kwargs") or {}
    if not isinstance(pk, dict):
        raise CheckpointError(f"{path}: hyperparams.policy_kwargs is {pk!r}, not an object")
    for name, layers in _nets(pk.get("net_arch", [])):
        if (
            not isinstance(layers, list)
            or len(layers) > MAX_DEPTH
            or not all(
                isinstance(w, int) and not isinstance(w, bool) and 1 <= w <= MAX_WIDTH
                for w in layers
            )
        ):
            raise CheckpointError(
                f"{path}: hyperparams.policy_kwargs.net_arch{name}={layers!r} "
                f"is not allowed: at most {MAX_DEPTH} layers of 1 to "
                f"{MAX_WIDTH} units"
            )


def _nets(arch: Any) -> list[tuple[str, Any]]:
    """net_arch as ``[(label, layer list)]`` (a list, or a dict pi/vf/qf of lists)."""
    if isinstance(arch, dict):
        return [(f".{k}", v) for k, v in arch.items()]
    return [("", arch)]


def load_checkpoint(folder: str | Path, env, env_id: str | None = None):
    """The SB3 model stored in ``folder``, ready to ``predict`` on ``env``.

    Raises CheckpointError when the folder is missing or damaged, the weights file holds
    anything but tensors, or the checkpoint's spaces are not the env's. A checkpoint trained
    on another id than ``env_id`` with the same spaces loads with an OtherEnvWarning.
    """
    folder = Path(folder)
    meta = read_meta(folder)
    other = env_id is not None and meta.get("env_id") != env_id
    _check_spaces(
        folder,
        meta,
        env,
        f" (trained on {meta.get('env_id')!r}, loaded for {env_id!r})" if other else "",
    )
    if other:
        warnings.warn(
            f"checkpoint {folder} was trained on {meta.get('env_id')!r} and is played "
            f"on {env_id!r}: the spaces are identical, the tasks may not be",
            OtherEnvWarning,
            stacklevel=2,
        )
    state = _read_state(folder, meta)
    try:
        model = build_model(meta["algo"], meta.get("hyperparams", {}), env, seed=0, inference=True)
    except ConfigError as err:
        raise CheckpointError(f"{folder / META}: {err}") from err
    _load_state(folder, meta, model, state)
    return model


def load_weights(folder: str | Path, model) -> dict[str, Any]:
    """Load the policy weights of checkpoint ``folder`` into ``model`` (a warm start: same
    policy class and spaces, any algorithm, e.g. PPO from a DAgger policy); its JSON."""
    folder = Path(folder)
    meta = read_meta(folder)
    _check_spaces(folder, meta, model)
    _load_state(folder, meta, model, _read_state(folder, meta))
    return meta


def _check_spaces(folder: Path, meta: dict[str, Any], env, trained: str = "") -> None:
    for key, space in (
        ("observation_space", env.observation_space),
        ("action_space", env.action_space),
    ):
        if meta.get(key) != describe_space(space):
            raise CheckpointError(
                f"checkpoint {folder} does not fit this env{trained}: {key} "
                f"was {meta.get(key)}, the env has {describe_space(space)}"
            )


def _read_state(folder: Path, meta: dict[str, Any]) -> dict:
    """policy.pt's tensors, checked before any model is built: a whole file of bounded size,
    finite floats, and a layer of every width the JSON's net_arch declares."""
    import torch

    path = folder / WEIGHTS
    try:
        with zipfile.ZipFile(path) as zf:
            size = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError) as err:
        raise CheckpointError(f"{path} is truncated or not a PyTorch weights file ({err})") from err
    if size > MAX_WEIGHTS_BYTES:
        raise CheckpointError(
            f"{path} declares {size:,} bytes of tensors: more than the limit "
            f"of {MAX_WEIGHTS_BYTES:,}"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(
            f"{path} was refused by safe loading (weights only): {str(err).splitlines()[0]}"
        ) from err
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a state_dict of tensors")
    if sum(v.numel() for v in state.values()) > MAX_PARAMS:
        raise CheckpointError(f"{path} holds more than {MAX_PARAMS:,} weights")
    for name, v in state.items():
        if v.is_floating_point() and not bool(torch.isfinite(v).all()):
            raise CheckpointError(f"{path}: tensor {name!r} holds non-finite values (NaN or inf)")
    out_dims = {int(v.shape[0]) for v in state.values() if v.ndim == 2}
    for name, layers in _nets(
        meta.get("hyperparams", {}).get("policy_kwargs", {}).get("net_arch", [])
    ):
        missing = sorted(set(layers) - out_dims)
        if missing:
            raise CheckpointError(
                f"{path} does not fit {META}: net_arch{name}={layers} has "
                f"layers of {missing} units, the weights have none"
            )
    return state


def _load_state(folder: Path, meta: dict[str, Any], model, state: dict) -> None:
    try:
        model.policy.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise CheckpointError(
            f"{folder / WEIGHTS} does not fit a {meta['algo']} policy with "
            f"these hyperparameters ({type(model.policy).__name__}): "
            f"{str(err).splitlines()[0]}"
        ) from err
