"""Who plays the exported episodes: a baseline by name, the oracle, or a trained checkpoint.

Every policy has the agents' one interface, ``reset(seed)`` and ``act(obs, info)``: the
baselines of the env's task (``retail_env.agents.make_agent``) and checkpoints
(``retail_env.experiments.checkpoints``: a folder with ``checkpoint.json`` and
``policy.pt``; needs the ``train`` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

from retail_env.data.staging import DataExportError


def task_of(env_id: str) -> str:
    """The task (its name in the task table) of a registered id; DataExportError otherwise."""
    import retail_env  # noqa: F401  (registers the ids)
    from retail_env.experiments.tasks import task_of as table_entry  # pyright: ignore[reportMissingImports]  (installed from experiments/)

    if env_id not in gym.registry:
        known = [e for e in gym.registry if e.startswith("RetailStore/")]
        raise DataExportError(f"env={env_id!r} is unknown: must be one of {sorted(known)}")
    return table_entry(env_id).name


def policy_names(task: str) -> list[str]:
    """The baseline names a task accepts."""
    from retail_env.agents.factory import agent_names  # pyright: ignore[reportMissingImports]  (installed from agents/)

    return agent_names(task)


class Policy:
    """One policy for one env: ``reset(seed)`` at every episode start, ``act(obs, info)``."""

    def __init__(self, env: gym.Env, spec: str, env_id: str):
        self.env, self.spec, self.task = env, spec, task_of(env_id)
        self.is_checkpoint = Path(spec).is_dir()
        if self.is_checkpoint:
            self._agent = _checkpoint_agent(env, spec, env_id)
        elif spec in policy_names(self.task):
            from retail_env.agents.factory import make_agent  # pyright: ignore[reportMissingImports]  (installed from agents/)

            self._agent = make_agent(spec, env)
        else:
            raise DataExportError(
                f"policy={spec!r} is unknown for {env_id}: must be a checkpoint folder or one "
                f"of {policy_names(self.task)}"
            )

    @property
    def name(self) -> str:
        return f"checkpoint:{Path(self.spec).name}" if self.is_checkpoint else self.spec

    def reset(self, seed: int) -> None:
        self._agent.reset(seed)

    def act(self, obs: Any, info: dict) -> Any:
        return self._agent.act(obs, info)


def _checkpoint_agent(env: gym.Env, folder: str, env_id: str):
    try:
        from retail_env.agents.sb3_agents import SB3Agent  # pyright: ignore[reportMissingImports]  (installed from agents/)
        from retail_env.experiments.checkpoints import CheckpointError, load_checkpoint  # pyright: ignore[reportMissingImports]  (installed from experiments/)
    except ImportError as err:
        raise DataExportError(
            f"policy={folder!r} is a checkpoint, which needs the train extra "
            f"(pip install 'retail-env[train]'): {err}"
        ) from err
    try:
        return SB3Agent(env, load_checkpoint(folder, env, env_id))
    except CheckpointError as err:
        raise DataExportError(f"policy={folder!r}: {err}") from err
