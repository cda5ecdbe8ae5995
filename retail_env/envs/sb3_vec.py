"""stable-baselines3 ``VecEnv`` over a native batched vector env (SB3 rejects Gymnasium's).

SB3 expects SAME-step autoreset: when store ``i`` is done, ``step_wait`` returns the
first observation of its next episode, with the last one in
``infos[i]["terminal_observation"]`` and ``infos[i]["TimeLimit.truncated"]`` telling
truncation from termination. The native envs reset NEXT-step, so after a done step
this adapter calls their ``reset_done()`` at once (no extra simulation for the
others). Per-store info dicts are built only where SB3 reads them (done stores, plus
the named reward terms, action mask and, with ``oracle_info=True``, oracle action of
every store), so the adapter adds no per-store Python work beyond that. The action mask
and oracle action describe the observation returned (for a done store, the first of
its next episode); ``action_masks()`` returns the masks (sb3-contrib's MaskablePPO).

``make_sb3_vec_env(env_id, num_envs, seed)`` is what the training code calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv

import retail_env  # noqa: F401  (registers the ids)


def _row(tree: Any, i: int | np.integer) -> Any:
    """Store ``i``'s slice of a batched observation (array or dict of arrays)."""
    if isinstance(tree, dict):
        return {k: _row(v, i) for k, v in tree.items()}
    return tree[i].copy()


class NativeVecEnv(VecEnv):
    """SB3 view of an ``AttributionVectorEnv`` / ``PromotionVectorEnv`` (any env with ``reset_done``)."""

    def __init__(self, venv: gym.vector.VectorEnv, seed: int | None = None):
        self.venv = venv
        self.render_mode = None
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        if seed is not None:
            self.seed(seed)
        self._actions: np.ndarray | None = None
        self._masks: np.ndarray | None = None

    # --- VecEnv API ------------------------------------------------------------
    def reset(self):
        seed = self._seeds[0] if self._seeds and self._seeds[0] is not None else None
        obs, info = self.venv.reset(seed=seed)
        self._reset_seeds()
        self.reset_infos = self._store_infos(info)
        self._masks = info.get("action_mask")
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self):
        obs, rewards, terminated, truncated, info = self.venv.step(self._actions)
        done = terminated | truncated
        infos = self._store_infos(info)
        if done.any():
            for i in np.flatnonzero(done):
                infos[i]["terminal_observation"] = _row(obs, i)
                infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            obs, now = self.venv.reset_done()  # pyright: ignore[reportAttributeAccessIssue]  (our vector envs add it)
            for key in ("action_mask", "oracle_action"):
                if key in now:
                    info[key] = now[key]
                    for i in np.flatnonzero(done):
                        infos[i][key] = now[key][i]
        self._masks = info.get("action_mask")
        return obs, rewards.astype(np.float32), done, infos

    def action_masks(self) -> np.ndarray:
        """(n_envs, n_actions) bool: the valid actions of the current observations."""
        if self._masks is None:
            raise RuntimeError(
                "no action masks: call reset() first (only envs whose info has "
                "'action_mask', i.e. Attribution, have them)"
            )
        return np.asarray(self._masks, bool)

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        own = attr_name in ("render_mode", "action_masks")
        value = getattr(self, attr_name) if own else getattr(self.venv, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(
        self, method_name: str, *method_args, indices=None, **method_kwargs
    ) -> list[Any]:
        if method_name == "action_masks":  # one row per store (MaskablePPO stacks them)
            masks = self.action_masks()
            return [masks[i] for i in self._get_indices(indices)]
        out = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [out for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None] * self.num_envs

    # --- helpers ---------------------------------------------------------------
    def _store_infos(self, info: dict) -> list[dict[str, Any]]:
        """Each store's info: reward terms, action mask and any masked entries it has (each
        column is turned into a Python list once, and the dicts are built by ``map``: at 64
        stores a per-store loop would cost as much as the banked step itself)."""
        outs: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for key, value in info.items():
            if key == "rewards":
                stores, rows = range(self.num_envs), slice(None)
            elif isinstance(value, dict) and info.get(f"_{key}") is not None:
                stores = rows = np.flatnonzero(info[f"_{key}"])
            else:
                continue
            names = tuple(value)
            cols = [np.asarray(value[k], np.float64)[rows].tolist() for k in names]
            dicts = map(dict, map(zip, repeat(names), zip(*cols, strict=True)))
            for b, row in zip(stores, dicts, strict=True):
                outs[b][key] = row
        for key in ("action_mask", "oracle_action"):
            if key in info:
                for out, row in zip(outs, info[key], strict=True):
                    out[key] = row
        return outs


def make_sb3_vec_env(env_id: str, num_envs: int, seed: int = 0, **env_kwargs: Any) -> VecEnv:
    """An SB3 VecEnv stepping ``num_envs`` stores of ``env_id`` as one native batch.

    Store ``i`` is seeded ``seed + i`` at the first ``reset()`` (SB3's convention), as
    ``gym.make(env_id).reset(seed=seed + i)`` would be.
    """
    venv = gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **env_kwargs
    )
    return NativeVecEnv(venv.unwrapped, seed=seed)
