"""Playing the two-role store: baselines in either seat, whole episodes, and one role as
a Gymnasium env (train one role against a fixed other).

A seat is filled by a *role policy* with ``reset(env, seed)`` and ``act(env, obs, info)``:

- :class:`Manager` plays any Promotion baseline (``agents/promotion/baselines.py``) by
  name, through the env's :meth:`~WholeStoreEnv.manager_desk` (the params and clock a
  baseline reads), or a trained model (anything with ``predict(obs)``, as SB3's).
- :class:`Checkout` plays any Attribution agent (``retail_env.agents.factory.make_agent``) by name,
  reading the store's core as in the single-role task, or a trained model.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np

from retail_env.envs.seeds import draw_seed
from retail_env.errors import ConfigError
from retail_env.multi.store_env import CHECKOUT, MANAGER, WholeStoreEnv
from retail_env.render.recording import save_recording


class Manager:
    """The manager's seat: a Promotion baseline by name (``hi_lo`` takes its calendar
    keywords), built for the env's manager desk at each reset, or a trained model with
    ``predict(obs)``."""

    def __init__(self, policy: str | Any = "list_price", **kwargs: Any):
        from retail_env.agents.factory import agent_names  # pyright: ignore[reportMissingImports]  (installed from agents/)

        if isinstance(policy, str) and policy not in agent_names("promotion"):
            raise ConfigError(
                f"manager policy={policy!r} is unknown: must be one of "
                f"{agent_names('promotion')} or a model with predict(obs)"
            )
        self.name = policy if isinstance(policy, str) else type(policy).__name__
        self.policy, self.kwargs = policy, kwargs
        self.agent = None

    def reset(self, env: WholeStoreEnv, seed: int = 0) -> None:
        if isinstance(self.policy, str):
            from retail_env.agents.factory import make_agent  # pyright: ignore[reportMissingImports]  (installed from agents/)

            self.agent = make_agent(self.policy, env.manager_desk(), **self.kwargs)
            self.agent.reset(seed)

    def act(self, env: WholeStoreEnv, obs, info: dict):
        if self.agent is None:
            model: Any = self.policy  # a trained model (checked when built)
            return model.predict(obs, deterministic=True)[0]
        env.manager_desk()
        return self.agent.act(obs, info)


class Checkout:
    """The checkout's seat: an Attribution agent by name or a trained model."""

    def __init__(self, policy: str | Any = "hungarian"):
        self.name = policy if isinstance(policy, str) else type(policy).__name__
        self.policy: Any = policy
        self.agent = None

    def reset(self, env: WholeStoreEnv, seed: int = 0) -> None:
        if isinstance(self.policy, str):
            from retail_env.agents.factory import make_agent  # pyright: ignore[reportMissingImports]  (installed from agents/)

            self.agent = make_agent(self.policy, env.core, task="attribution", seed=seed)
            self.agent.reset(seed)

    def act(self, env: WholeStoreEnv, obs, info: dict) -> int:
        if self.agent is not None:
            return int(self.agent.act(obs, info))
        return int(np.asarray(self.policy.predict(obs, deterministic=True)[0]).reshape(()))


def play(
    env: WholeStoreEnv,
    manager: Manager,
    checkout: Checkout,
    seed: int,
    record: str | os.PathLike | None = None,
) -> dict[str, float]:
    """One episode with both seats filled: the books, each role's return and their sum.
    ``record``: also save a recording there (a frame per turn, prices and decisions in
    each; ``retail-env play`` / ``retail_env.render.playback`` shows it)."""
    env.reset(seed=seed)
    seats = {MANAGER: manager, CHECKOUT: checkout}
    for seat in seats.values():
        seat.reset(env, seed)
    returns = dict.fromkeys(seats, 0.0)
    frames = []
    for agent in env.agent_iter():
        obs, reward, term, trunc, info = env.last()
        returns[agent] += reward
        env.step(None if term or trunc else seats[agent].act(env, obs, info))
        if record is not None and env.agents:
            frames.append(env.current_frame())
    if record is not None:
        save_recording(
            record,
            env.frame_header(),
            frames,
            {
                "env": env.metadata["name"],
                "seed": seed,
                "manager": manager.name,
                "checkout": checkout.name,
            },
        )
    b = env.books
    receipts = env.core.receipts(0)
    return {
        "profit": b["revenue"] - b["cogs"],
        "revenue": b["revenue"],
        "units": b["units"],
        "checkout_errors": b["overcharged"] + b["undercharged"],
        "error_cost": b["error_cost"],
        "manager_return": returns[MANAGER],
        "checkout_return": returns[CHECKOUT],
        "combined": returns[MANAGER] + returns[CHECKOUT],
        "exact_match": float(receipts["exact_match"]),
    }


class SingleRoleEnv(gym.Env):
    """One role of the two-role store as a Gymnasium env; the other seat is played by
    ``other`` (a :class:`Manager` or :class:`Checkout`). Reward: the role's rewards
    since its last action (the other's turns included)."""

    metadata = {"render_modes": []}

    def __init__(
        self, role: str = CHECKOUT, other: Manager | Checkout | None = None, **env_kwargs: Any
    ):
        if role not in (MANAGER, CHECKOUT):
            raise ValueError(f"role={role!r} is not allowed: must be {MANAGER!r} or {CHECKOUT!r}")
        self.role = role
        self.other_role = CHECKOUT if role == MANAGER else MANAGER
        self.other = other or (Checkout() if role == MANAGER else Manager())
        self.env = WholeStoreEnv(**env_kwargs)
        self.observation_space = self.env.observation_space(role)
        self.action_space = self.env.action_space(role)
        self._seed = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._seed = int(seed) if seed is not None else draw_seed(self.np_random)
        self.env.reset(seed=self._seed)
        self.other.reset(self.env, self._seed)
        obs, _, _, info = self._until_mine()
        return obs, info

    def step(self, action):
        self.env.step(action)
        r0 = float(self.env.rewards.get(self.role, 0.0))
        obs, reward, done, info = self._until_mine()
        return obs, r0 + reward, done, False, info

    def _until_mine(self):
        """Let the other seat play until this role's turn (or the end)."""
        env, reward = self.env, 0.0
        while (
            env.agents
            and env.agent_selection == self.other_role
            and not env.terminations[self.other_role]
        ):
            obs, _, _, _, info = env.last()
            env.step(self.other.act(env, obs, info))
            reward += float(env.rewards.get(self.role, 0.0))
        done = env.terminations.get(self.role, True)
        obs = env.observe(self.role)
        return obs, reward, bool(done), dict(env.infos.get(self.role, {}))
