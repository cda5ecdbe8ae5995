"""Who plays the exported episodes: a baseline by name, the oracle, or a trained checkpoint.

Both tasks' policies are put behind one interface, ``reset(seed)`` and ``act(obs, info)``:
the Attribution agents (``retail_env.agents.make_agent``), the Promotion baselines
(``retail_env.agents.promotion_baselines``) and checkpoints (``retail_env.experiments.checkpoints``: a folder with
``checkpoint.json`` and ``policy.pt``; needs the ``train`` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

from retail_env.data.staging import DataExportError


def task_of(env_id: str) -> str:
    """``"attribution"`` or ``"promotion"`` for a registered id; DataExportError otherwise."""
    import retail_env  # noqa: F401  (registers the ids)

    if env_id not in gym.registry:
        known = [e for e in gym.registry if e.startswith("RetailStore/")]
        raise DataExportError(f"env={env_id!r} is unknown: must be one of {sorted(known)}")
    return "attribution" if "Attribution" in env_id else "promotion"


def policy_names(task: str) -> list[str]:
    """The baseline names a task accepts."""
    if task == "attribution":
        from retail_env.agents.attribution_baselines import BASELINES  # pyright: ignore[reportMissingImports]  (installed from agents/)
    else:
        from retail_env.agents.promotion_baselines import BASELINES  # pyright: ignore[reportMissingImports]  (installed from agents/)
    return sorted(BASELINES)


class Policy:
    """One policy for one env: ``reset(seed)`` at every episode start, ``act(obs, info)``."""

    def __init__(self, env: gym.Env, spec: str, env_id: str):
        self.env, self.spec, self.task = env, spec, task_of(env_id)
        self.is_checkpoint = Path(spec).is_dir()
        if self.is_checkpoint:
            self._agent = _checkpoint_agent(env, spec, env_id)
        elif spec in policy_names(self.task):
            self._agent = _baseline(env, spec, self.task)
        else:
            raise DataExportError(
                f"policy={spec!r} is unknown for {env_id}: must be a checkpoint folder or one "
                f"of {policy_names(self.task)}")

    @property
    def name(self) -> str:
        return f"checkpoint:{Path(self.spec).name}" if self.is_checkpoint else self.spec

    def reset(self, seed: int) -> None:
        if self.task == "promotion" and not self.is_checkpoint:
            self._agent.reset(self.env, seed)
        else:
            self._agent.reset(seed)

    def act(self, obs: Any, info: dict) -> Any:
        if self.task == "promotion" and not self.is_checkpoint:
            return self._agent.act(obs)
        return self._agent.act(obs, info)


def _baseline(env: gym.Env, name: str, task: str):
    if task == "attribution":
        from retail_env.agents import make_agent  # pyright: ignore[reportMissingImports]  (installed from agents/)

        return make_agent(name, env)
    from retail_env.agents.promotion_baselines import make_baseline  # pyright: ignore[reportMissingImports]  (installed from agents/)

    return make_baseline(name)


def _checkpoint_agent(env: gym.Env, folder: str, env_id: str):
    try:
        from retail_env.agents.sb3_agents import SB3Agent  # pyright: ignore[reportMissingImports]  (installed from agents/)
        from retail_env.experiments.checkpoints import CheckpointError, load_checkpoint  # pyright: ignore[reportMissingImports]  (installed from experiments/)
    except ImportError as err:
        raise DataExportError(f"policy={folder!r} is a checkpoint, which needs the train extra "
                              f"(pip install 'retail-env[train]'): {err}") from err
    try:
        return SB3Agent(env, load_checkpoint(folder, env, env_id))
    except CheckpointError as err:
        raise DataExportError(f"policy={folder!r}: {err}") from err
