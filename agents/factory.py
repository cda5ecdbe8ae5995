"""One agent protocol for every task, and one way to build any agent by name:
``make_agent("hungarian", env)``.

``AGENTS`` is a plain registry: task name -> agent name -> builder taking ``(env, **kw)``.
Each task's baselines module (named in the task table, experiments/tasks.py) registers its
agents on import; other code adds its own with :func:`register_agent`.
"""

from __future__ import annotations

import abc
import importlib
from collections import Counter
from collections.abc import Callable
from typing import Any

import gymnasium as gym

from retail_env.errors import ConfigError


class Agent(abc.ABC):
    """A policy: ``act(obs, info) -> action``; ``reset(seed)`` at every episode start.

    Baselines may read the env they were built for (``env.unwrapped``), but only
    what a deployed system could see, except the oracle, which reads the truth
    (and the Promotion baselines that plan with the true demand model, by design).
    """

    def __init__(self, env: gym.Env, seed: int | None = None):
        self.env = env
        self.seed = seed

    def reset(self, seed: int | None = None) -> None:  # noqa: B027 (optional hook)
        """Start of an episode (stateless agents ignore it)."""

    @abc.abstractmethod
    def act(self, obs: Any, info: dict) -> Any:
        """The action for this observation (``info`` is the env's last info dict)."""


AGENTS: dict[str, dict[str, Callable[..., Agent]]] = {}


def register_agent(task: str, name: str, builder: Callable[..., Agent]) -> None:
    """Add (or replace) an agent builder of ``task`` under ``name``."""
    AGENTS.setdefault(task, {})[name] = builder


def _load_builtin() -> None:
    from ..experiments.tasks import TASKS

    for task in TASKS.values():
        importlib.import_module(task.baselines)  # registers its agents


def agent_names(task: str) -> list[str]:
    """The agents registered for ``task`` (its baselines first loaded)."""
    _load_builtin()
    return sorted(AGENTS.get(task, {}))


def make_agent(name: str, env: Any, task: str | None = None, **kw: Any) -> Agent:
    """The agent registered as ``name`` for ``env``'s task, built for ``env``.

    The task is ``env.unwrapped.task`` (every task's env has it); pass ``task=`` for an
    object without it (a task core playing a batch of stores)."""
    _load_builtin()
    task = task or getattr(getattr(env, "unwrapped", env), "task", None)
    if task not in AGENTS:
        raise ConfigError(
            f"task={task!r} has no agents: must be one of {sorted(AGENTS)} "
            "(pass task= for an env without a task attribute)"
        )
    if name not in AGENTS[task]:
        raise ConfigError(
            f"agent={name!r} is unknown for the {task} task: must be one of {sorted(AGENTS[task])}"
        )
    return AGENTS[task][name](env, **kw)


def run_episode(env: gym.Env, agent: Agent, seed: int) -> dict[str, float]:
    """Play one episode of ``agent`` on ``env`` from ``seed``: the task's episode metrics."""
    from ..experiments.tasks import TASKS

    obs, info = env.reset(seed=seed)
    agent.reset(seed)
    total, done, terms = 0.0, False, Counter()
    while not done:
        obs, reward, term, trunc, info = env.step(agent.act(obs, info))
        total += float(reward)
        terms.update(info.get("rewards", {}))
        done = term or trunc
    task: str = env.unwrapped.task  # pyright: ignore[reportAttributeAccessIssue]  (TaskEnv)
    return TASKS[task].load("episode_metrics")(info, total, terms)
