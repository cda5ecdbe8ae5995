"""Minari datasets for offline RL and imitation: ``export_minari(env_id, policy, n, name)``.

Episodes of a baseline, the Attribution oracle or a trained checkpoint are collected with
Minari's ``DataCollector`` (Arrow format) and stored under ``root/<dataset id>`` (root:
``MINARI_DATASETS_PATH``, else Minari's ``~/.minari/datasets``), so ``minari.load_dataset``
finds them and ``recover_environment()`` makes the env from the stored spec (``import
retail_env`` registers it). The metadata hold Minari's env spec plus ``retail_env``: project
version, env id and kwargs, policy, the reset seeds, and which recorded ``info`` keys are
truth.

Recorded infos (the same keys at every step, as Minari needs):

- Attribution: ``action_mask``, ``event_index``, ``time_s``, ``review_credit`` (what a
  deployed system sees) and ``oracle_action``, the one truth-derived key, kept on purpose:
  it is the label an imitation learner needs under any behaviour policy (with the
  ``oracle`` policy the actions themselves are those labels).
- Promotion: ``kpis_*`` (the period's revenue, profit, units, stock-outs, spoilage, member
  share, mean discount: the store's own books; ``info["kpis"]`` flattened) and ``period``.

The dataset is assembled in a hidden folder of the root and renamed into place, so an
existing dataset is never overwritten and a failure leaves nothing under the name.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from retail_env.data.log import progress
from retail_env.data.policies import Policy, task_of
from retail_env.data.staging import DataExportError, publish, refuse_existing, scratch_dir

INFO_KEYS = {
    "attribution": ("action_mask", "event_index", "time_s", "review_credit", "oracle_action"),
    "promotion": ("kpis", "period"),
}
TRUTH_INFO_KEYS = {"attribution": ("oracle_action",), "promotion": ()}


def _minari():
    try:
        import minari
    except ImportError as err:
        raise DataExportError(
            "Minari export needs the data extra: pip install 'retail-env[data]'"
        ) from err
    return minari


def datasets_root(root: str | os.PathLike | None = None) -> Path:
    """Where Minari keeps datasets: ``root``, else ``MINARI_DATASETS_PATH``, else Minari's
    default ``~/.minari/datasets``."""
    if root is not None:
        return Path(root)
    env = os.environ.get("MINARI_DATASETS_PATH")
    return Path(env) if env else Path.home() / ".minari" / "datasets"


def _flat_info(info: dict, keys: tuple[str, ...]) -> dict[str, Any]:
    """The recorded keys of ``info``, dicts flattened (``kpis`` -> ``kpis_profit``, ...):
    Minari 0.5's Arrow format reads back neither nested dicts nor 0-d arrays."""
    out = {}
    for k in keys:
        v = info[k]
        if isinstance(v, dict):
            out.update({f"{k}_{name}": float(x) for name, x in v.items()})
        elif isinstance(v, np.ndarray):
            out[k] = v
        else:
            out[k] = v.item() if isinstance(v, np.generic) else v
    return out


def _stack(items: list[dict]) -> dict[str, Any]:
    """Per-step info dicts as one dict of arrays (array values) or lists (scalars)."""
    return {
        k: (
            np.stack([x[k] for x in items])
            if isinstance(items[0][k], np.ndarray)
            else [x[k] for x in items]
        )
        for k in items[0]
    }


def collect(env: gym.Env, pol: Policy, seed: int, episode: int, task: str):
    """One episode as a Minari ``EpisodeBuffer`` (recorded infos: ``INFO_KEYS``).

    Built whole rather than by Minari's ``DataCollector``, whose step buffer needs JAX."""
    from minari.data_collector import EpisodeBuffer

    keys = INFO_KEYS[task]
    obs, info = env.reset(seed=seed)
    pol.reset(seed)
    observations, infos = [obs], [_flat_info(info, keys)]
    actions, rewards, terms, truncs = [], [], [], []
    done = False
    while not done:
        action = pol.act(obs, info)
        obs, reward, term, trunc, info = env.step(action)
        observations.append(obs)
        infos.append(_flat_info(info, keys))
        actions.append(np.asarray(action, dtype=env.action_space.dtype))
        rewards.append(float(reward))
        terms.append(bool(term))
        truncs.append(bool(trunc))
        done = term or trunc
    stacked = _stack(observations) if isinstance(obs, dict) else np.stack(observations)
    return EpisodeBuffer(
        id=episode,
        seed=seed,
        observations=stacked,  # pyright: ignore[reportArgumentType]  (takes arrays)
        actions=np.stack(actions),  # pyright: ignore[reportArgumentType]  (takes arrays)
        rewards=rewards,
        terminations=terms,
        truncations=truncs,
        infos=_stack(infos),
    )


@contextlib.contextmanager
def _minari_root(path: Path):
    """Point Minari at ``path`` for the duration (it reads the variable at every call)."""
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def check_dataset_id(dataset_id: str) -> None:
    """Minari's ``(namespace/)name-vN`` form (DataExportError naming what is wrong)."""
    from minari.dataset.minari_dataset import parse_dataset_id

    try:
        parse_dataset_id(dataset_id)
    except ValueError as err:
        raise DataExportError(
            f"dataset name {dataset_id!r} is not valid: must be "
            "(namespace/)name-vN, e.g. retail/promotion-hilo-v0"
        ) from err


def export_minari(
    env_id: str,
    policy: str,
    episodes: int,
    dataset_id: str,
    seeds: Iterable[int] | None = None,
    root: str | os.PathLike | None = None,
    env_kwargs: dict | None = None,
    show_progress: bool = True,
    description: str | None = None,
):
    """Collect ``episodes`` episodes (reset seeds ``seeds``, default 0..n-1) of ``policy``
    on ``env_id`` into the Minari dataset ``dataset_id``; returns the loaded dataset.

    DataExportError for an unknown env or policy, a bad or existing dataset name, an
    unwritable root or a full disk (nothing is left under the name).
    """
    minari = _minari()
    from retail_env import __version__

    task = task_of(env_id)
    check_dataset_id(dataset_id)
    seeds = list(range(episodes)) if seeds is None else [int(s) for s in seeds]
    if len(seeds) != episodes or episodes < 1:
        raise DataExportError(
            f"episodes={episodes}: must be >= 1 and match the {len(seeds)} seeds given"
        )
    root = datasets_root(root)
    final = refuse_existing(root / dataset_id, f"Minari dataset {dataset_id}")
    env = gym.make(env_id, **(env_kwargs or {}))
    pol = Policy(env, policy, env_id)  # unknown policy: refused before writing
    what = f"Minari dataset {dataset_id}"
    with scratch_dir(root, what, final.name) as stage:
        with _minari_root(stage):
            buffers = [
                collect(env, pol, seed, i, task)
                for i, seed in enumerate(
                    progress(seeds, len(seeds), f"minari {dataset_id}", show_progress)
                )
            ]
            env.close()
            with warnings.catch_warnings():  # Minari warns of every field left None
                warnings.simplefilter("ignore", UserWarning)
                minari.create_dataset_from_buffers(
                    dataset_id=dataset_id,
                    buffer=buffers,
                    env=env,
                    algorithm_name=pol.name,
                    author="retail-env",
                    description=description or f"{episodes} episodes of {pol.name} on {env_id}",
                    requirements=[f"retail-env=={__version__}"],
                    data_format="arrow",
                )
            staged = stage / dataset_id
            _add_metadata(
                staged,
                {
                    "version": __version__,
                    "env_id": env_id,
                    "env_kwargs": env_kwargs or {},
                    "task": task,
                    "policy": pol.name,
                    "seeds": seeds,
                    "info_keys": list(INFO_KEYS[task]),
                    "truth_info_keys": list(TRUTH_INFO_KEYS[task]),
                },
            )
        publish(staged, final, what)
    with _minari_root(root):
        return minari.load_dataset(dataset_id)


def _add_metadata(dataset_dir: Path, extra: dict) -> None:
    """Put ``extra`` under the ``retail_env`` key of the dataset's metadata."""
    from minari.dataset.minari_storage import MinariStorage

    storage = MinariStorage.read(dataset_dir / "data")
    storage.update_metadata({"retail_env": extra})
