"""One way to build any agent by name: ``make_agent("hungarian", env)``.

``AGENTS`` is a plain registry dict (name -> builder taking ``(env, **kw)``); each
task's baselines module registers its agents on import, and other tasks add
theirs with :func:`register_agent`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

import gymnasium as gym


class Agent(abc.ABC):
    """A policy: ``act(obs, info) -> action``; ``reset(seed)`` at every episode start.

    Baselines may read the env they were built for (``env.unwrapped``), but only
    what a deployed system could see, except the oracle, which reads the truth.
    """

    def __init__(self, env: gym.Env, seed: int | None = None):
        self.env = env
        self.seed = seed

    def reset(self, seed: int | None = None) -> None:  # noqa: B027 (optional hook)
        """Start of an episode (stateless agents ignore it)."""

    @abc.abstractmethod
    def act(self, obs: Any, info: dict) -> Any:
        """The action for this observation (``info`` is the env's last info dict)."""


AGENTS: dict[str, Callable[..., Agent]] = {}


def register_agent(name: str, builder: Callable[..., Agent]) -> None:
    """Add (or replace) an agent builder under ``name``."""
    AGENTS[name] = builder


def _load_builtin() -> None:
    from . import attribution_baselines  # noqa: F401  (registers its agents)


def make_agent(name: str, env: Any, **kw: Any) -> Agent:
    """The agent registered as ``name``, built for ``env`` (a Gymnasium env, or what the
    agent reads instead: the Attribution baselines also take an ``AttributionCore``)."""
    _load_builtin()
    if name not in AGENTS:
        raise ValueError(f"agent={name!r} is unknown: must be one of {sorted(AGENTS)}")
    return AGENTS[name](env, **kw)
