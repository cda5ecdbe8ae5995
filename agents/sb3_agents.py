"""stable-baselines3 algorithms built from the YAML in ``conf/agent/`` (one file per algorithm).

``resolved_hyperparams`` gives the algorithm's ``hyperparams`` with its ``by_task[task]``
entries (rl-zoo style; the YAML reads them, so overrides win); ``build_model`` turns ``"lin_<x>"`` strings into linear
schedules and activation names into torch modules, picks ``MultiInputPolicy`` for Dict
observations (or, with ``policy: set``, the set policy of agents/attribution/set_policy.py), and checks the action space fits the algorithm. ``SB3Agent`` wraps a trained
model as a factory :class:`~retail_env.agents.factory.Agent`, so it is evaluated like any baseline.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
from gymnasium import spaces

from retail_env.sim.validation import ConfigError

from .factory import Agent

ACTIVATIONS = ("tanh", "relu", "elu", "leaky_relu")


def _algos() -> dict[str, tuple[type, tuple[type, ...]]]:
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import A2C, DQN, PPO, SAC

    every = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)
    # The imitation learners (agents/attribution/imitation.py) keep their policy in a PPO model, so
    # their checkpoints, evaluation and RL warm starts are those of PPO.
    return {
        "ppo": (PPO, every),
        "a2c": (A2C, every),
        "dqn": (DQN, (spaces.Discrete,)),
        "sac": (SAC, (spaces.Box,)),
        "maskable_ppo": (MaskablePPO, (spaces.Discrete,)),
        "bc": (PPO, (spaces.Discrete,)),
        "dagger": (PPO, (spaces.Discrete,)),
    }


def algo_names() -> list[str]:
    return sorted(_algos())


def linear_schedule(start: float):
    """Decays from ``start`` to 0 over training (SB3 passes progress_remaining 1 -> 0)."""

    def schedule(progress_remaining: float) -> float:
        return progress_remaining * start

    return schedule


def _plain(x: Any) -> Any:
    """OmegaConf nodes -> plain dicts/lists (SB3 checks ``isinstance(net_arch, list)``)."""
    from omegaconf import OmegaConf

    return OmegaConf.to_container(x, resolve=True) if OmegaConf.is_config(x) else x


def resolved_hyperparams(agent_cfg: Mapping[str, Any], task: str) -> dict[str, Any]:
    """The hyperparameters used on ``task``, as plain data (as stored in checkpoints).

    In conf/agent/*.yaml a hyperparameter with a ``by_task`` entry reads it through
    ``${oc.select:agent.by_task.${env.task}.<key>,<default>}``, so composition order gives
    the precedence (command line > experiment > by_task > default) and a composed agent
    node already holds the values used. A raw agent YAML (a plain dict) is resolved here
    against ``task``.
    """
    from omegaconf import OmegaConf

    if OmegaConf.is_config(agent_cfg):
        return copy.deepcopy(_plain(agent_cfg.get("hyperparams")) or {})
    root = OmegaConf.create({"agent": dict(agent_cfg), "env": {"task": task}})
    return cast(
        "dict[str, Any]", OmegaConf.to_container(root.agent.get("hyperparams") or {}, resolve=True)
    )


def _materialise(hp: dict[str, Any], algo: str) -> dict[str, Any]:
    import torch

    out = dict(hp)
    for key, val in hp.items():
        if isinstance(val, str) and val.startswith("lin_"):
            try:
                out[key] = linear_schedule(float(val[4:]))
            except ValueError:
                raise ConfigError(
                    f"agent.hyperparams.{key}={val!r} is not allowed: a schedule "
                    "is 'lin_<number>', e.g. 'lin_3e-4'"
                ) from None
    pk = dict(out.get("policy_kwargs") or {})
    act = pk.get("activation_fn")
    if act is not None:
        if act not in ACTIVATIONS:
            raise ConfigError(
                f"agent.hyperparams.policy_kwargs.activation_fn={act!r} is not "
                f"allowed: must be one of {ACTIVATIONS}"
            )
        pk["activation_fn"] = {
            "tanh": torch.nn.Tanh,
            "relu": torch.nn.ReLU,
            "elu": torch.nn.ELU,
            "leaky_relu": torch.nn.LeakyReLU,
        }[act]
    if "net_arch" in pk and not isinstance(pk["net_arch"], (list, dict)):
        raise ConfigError(
            f"agent.hyperparams.policy_kwargs.net_arch={pk['net_arch']!r} is not "
            "allowed: must be a list of layer sizes (or a dict pi/qf/vf of lists)"
        )
    if pk:
        out["policy_kwargs"] = pk
    return out


POLICIES = (
    "default",
    "set",
)  # hyperparams.policy: SB3's MLP/MultiInput, or agents/attribution/set_policy.py


def policy_name(observation_space: spaces.Space) -> str:
    return "MultiInputPolicy" if isinstance(observation_space, spaces.Dict) else "MlpPolicy"


def _policy(kind: str, algo: str, observation_space: spaces.Space):
    """The policy class (or SB3 name) for ``hyperparams.policy``."""
    if kind not in POLICIES:
        raise ConfigError(
            f"agent.hyperparams.policy={kind!r} is not allowed: must be one of {POLICIES}"
        )
    if kind == "default":
        return policy_name(observation_space)
    from .attribution.set_policy import MaskableSetPolicy, SetPolicy

    if algo not in ("ppo", "a2c", "maskable_ppo", "bc", "dagger"):
        raise ConfigError(
            f"agent.hyperparams.policy='set' is an actor-critic policy: not for agent.algo={algo!r}"
        )
    return MaskableSetPolicy if algo == "maskable_ppo" else SetPolicy


def build_model(
    algo: str,
    hyperparams: Mapping[str, Any],
    env,
    seed: int = 0,
    tensorboard_log: str | None = None,
    inference: bool = False,
):
    """A fresh SB3 model on ``env`` (a VecEnv or gym.Env); ConfigError on a bad combination.

    ``inference=True`` shrinks replay buffers (a model built only to load weights into).
    """
    algos = _algos()
    if algo not in algos:
        raise ConfigError(f"agent.algo={algo!r} is not allowed: must be one of {sorted(algos)}")
    cls, allowed = algos[algo]
    if not isinstance(env.action_space, allowed):
        raise ConfigError(
            f"agent.algo={algo!r} needs a {'/'.join(a.__name__ for a in allowed)} "
            f"action space; this env has {env.action_space}"
        )
    hp = _materialise(dict(_plain(hyperparams)), algo)
    policy = _policy(hp.pop("policy", "default"), algo, env.observation_space)
    prior = hp.pop("prior_logit", 0.0)
    if inference and "buffer_size" in hp:
        hp.update(buffer_size=1, learning_starts=0)
    try:
        with warnings.catch_warnings():
            if inference:  # rollout-size advice is about training, not about loading weights
                warnings.simplefilter("ignore", UserWarning)
            model = cls(
                policy,
                env,
                seed=seed,
                device="cpu",
                verbose=0,
                tensorboard_log=tensorboard_log,
                **hp,
            )
    except (TypeError, ValueError) as err:
        raise ConfigError(f"agent.hyperparams is not allowed for {cls.__name__}: {err}") from err
    if prior:
        start_at_action_zero(model, prior)
    return model


def start_at_action_zero(model, logit: Any) -> None:
    """Add ``logit`` to the initial logit of action 0 of every (sub-)action.

    ``hyperparams.prior_logit``: with 3 on Promotion's 6 discount levels the first policy
    keeps list price with probability e^3 / (e^3 + 5) = 0.8 per product, so PPO explores
    around the safe policy instead of around random discounts, which lose money
    (experiments/results/leaderboard.md, Promotion-v2). Discrete/MultiDiscrete actor-critics only.
    """
    import torch

    space, net = model.action_space, getattr(model.policy, "action_net", None)
    if not isinstance(logit, (int, float)) or isinstance(logit, bool):
        raise ConfigError(
            f"agent.hyperparams.prior_logit={logit!r} is not allowed: must be a number"
        )
    if isinstance(space, spaces.Discrete):
        sizes = [int(space.n)]
    elif isinstance(space, spaces.MultiDiscrete) and space.nvec.ndim == 1:
        sizes = [int(n) for n in space.nvec]
    else:
        raise ConfigError(
            f"agent.hyperparams.prior_logit needs a Discrete or 1-D MultiDiscrete action "
            f"space; this env has {space}"
        )
    if not isinstance(net, torch.nn.Linear) or net.out_features != sum(sizes):
        raise ConfigError(
            "agent.hyperparams.prior_logit needs an actor-critic whose action layer outputs "
            f"the logits (PPO/A2C with the default policy); agent.algo's policy has {net!r}"
        )
    first = np.cumsum([0, *sizes[:-1]])
    with torch.no_grad():
        net.bias[torch.as_tensor(first)] += float(logit)


class SB3Agent(Agent):
    """A trained SB3 model as a factory Agent: ``act(obs, info)`` -> its (greedy) action."""

    def __init__(self, env, model, deterministic: bool = True, seed: int | None = None):
        super().__init__(env, seed)
        self.model, self.deterministic = model, deterministic

    def act(self, obs, info):
        action, _ = self.model.predict(obs, deterministic=self.deterministic)
        return action
