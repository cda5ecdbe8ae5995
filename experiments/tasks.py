"""The task table: what the experiments, the data export and the agent factory need to know
about a task, looked up by name (``TASKS``) or by env id (``task_of``) instead of
branching on the task's name.

Adding a task adds one ``Task`` here, its packages (``retail_env/envs/<task>/``,
``agents/<task>/``) and its ids in ``retail_env/envs/registry.py`` (docs/extending.md).
References are ``"module:attribute"`` strings, imported on first use, so reading the table
imports no task.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from retail_env.envs import registry
from retail_env.errors import ConfigError


@dataclass(frozen=True)
class Task:
    """One task's entry (see the module docstring)."""

    name: str
    entry_point: str  # the registry entry point of its ids (gym.spec(id).entry_point)
    baselines: str  # module that registers its baseline agents (make_agent)
    # (last info, summed reward, summed reward terms) -> the episode's metrics
    episode_metrics: str
    log: str  # its transaction log (retail_env.data)
    unit: str  # what a step is, in the benchmark tables
    # (env id, gym.make kwargs, agent name, seeds) -> a baseline's episode metrics, every
    # seed in one batched core; None: episode by episode through gym.make
    batched_baselines: str | None = None
    banks: bool = False  # replays episode banks (retail_env.bank)
    workers: bool = False  # its vector env shards over worker processes (num_workers)

    def load(self, field: str) -> Any:
        """The object a ``"module:attribute"`` field names."""
        module, _, attr = getattr(self, field).partition(":")
        return getattr(importlib.import_module(module), attr)


TASKS = {
    t.name: t
    for t in (
        Task(
            "attribution",
            registry.ATTRIBUTION,
            "retail_env.agents.attribution.baselines",
            "retail_env.envs.attribution.env:episode_metrics",
            "retail_env.data.log_tables:AttributionLog",
            "decisions",
            batched_baselines="retail_env.experiments.evaluate_attribution:registered_baseline",
            banks=True,
            workers=True,
        ),
        Task(
            "promotion",
            registry.PROMOTION,
            "retail_env.agents.promotion.baselines",
            "retail_env.envs.promotion.env:episode_metrics",
            "retail_env.data.log_tables:PromotionLog",
            "steps",
        ),
    )
}


def task_of(env_id: str) -> Task:
    """The task of registered id ``env_id``; a ConfigError naming the ids otherwise."""
    import gymnasium as gym

    if env_id not in gym.registry:
        raise ConfigError(f"env={env_id!r} is unknown: must be one of {registry.ENV_IDS}")
    entry = gym.spec(env_id).entry_point
    for task in TASKS.values():
        if task.entry_point == entry:
            return task
    raise ConfigError(f"env={env_id!r} has no entry in the task table (experiments/tasks.py)")
