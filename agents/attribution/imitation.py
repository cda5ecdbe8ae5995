"""Imitation of the privileged oracle (learning by cheating): behaviour cloning and DAgger.

The learner never sees the truth, only the label ``info["oracle_action"]`` of each
observation it is trained on (the SB3 VecEnv of retail_env/envs/sb3_vec.py built with
``oracle_info=True``; anything with that API works, the episode bank included). One
loop does both:

- round r rolls the vector env for ``total_timesteps / rounds`` decisions, each store's
  action being the oracle's with probability ``beta_r`` and the learner's greedy action
  otherwise (``beta_r = beta0 * beta_decay ** r``), and labels every observation with the
  oracle's action;
- the labelled observations join the data set (aggregation), and the policy is trained
  on all of it for ``epochs`` passes of cross-entropy on its action logits, plus
  ``value_coef`` times the squared error of its value head against the discounted
  returns seen (``gamma`` of the model, bootstrapped at the round's end), so an RL
  warm start from these weights has a critic as well as an actor.

**BC** is one round with ``beta0 = 1`` (the oracle's own state distribution); **DAgger**
is several rounds with beta decaying, so later rounds label the states the learner
itself reaches. The `imitation` library would do this, but its release (1.0.1) pins
gymnasium 0.29 and SB3 2.2 (this project: gymnasium 1.x, SB3 2.9).

The policy lives in an SB3 model (agents/sb3_agents.py ``build_model("bc" | "dagger",
...)``, a PPO whose ``learn`` is never called), so checkpoints, evaluation and RL warm
starts are those of any SB3 agent. The log (SB3 logger: ``progress.csv``) gets one row
per round: decisions so far, wall time, beta, the learner's agreement with the oracle on the round's
fresh states (measured before training on them: the on-policy learning curve), the
training loss and the receipts of the episodes finished during the round.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch

from retail_env.sim.validation import ConfigError


@dataclass(frozen=True)
class ImitationConfig:
    """``agent.imitation`` of conf/agent/bc.yaml and dagger.yaml."""

    rounds: int = 1  # data collection / training rounds (BC: 1)
    beta0: float = 1.0  # oracle share of the actions in round 0
    beta_decay: float = 1.0  # beta_r = beta0 * beta_decay ** r
    epochs: int = 4  # passes over the aggregated data set per round
    batch_size: int = 256
    value_coef: float = 0.0  # weight of the value head's loss (0: actor only)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> ImitationConfig:
        data = dict(data or {})
        names = {f.name for f in fields(cls)}
        if unknown := sorted(set(data) - names):
            raise ConfigError(
                f"agent.imitation.{unknown[0]} is not allowed: keys are {sorted(names)}"
            )
        cfg = cls(**data)
        if cfg.rounds < 1 or cfg.epochs < 1 or cfg.batch_size < 1:
            raise ConfigError("agent.imitation.rounds, epochs and batch_size must be >= 1")
        if not (0.0 <= cfg.beta0 <= 1.0 and 0.0 <= cfg.beta_decay <= 1.0):
            raise ConfigError("agent.imitation.beta0 and beta_decay must be in [0, 1]")
        if cfg.value_coef < 0:
            raise ConfigError("agent.imitation.value_coef must be >= 0")
        return cfg

    def beta(self, r: int) -> float:
        return self.beta0 * self.beta_decay**r


def _labels(infos: list[dict]) -> np.ndarray:
    try:
        return np.array([int(i["oracle_action"]) for i in infos], np.int64)
    except KeyError:
        raise ConfigError(
            "imitation needs info['oracle_action']: build the vector env with oracle_info=True"
        ) from None


class Imitation:
    """Rolls ``venv`` and trains ``model.policy`` on oracle labels (see the module doc)."""

    def __init__(self, model, venv, cfg: ImitationConfig, seed: int = 0):
        self.model, self.venv, self.cfg = model, venv, cfg
        self.rng = np.random.default_rng(seed)
        self.data: dict[str, list[np.ndarray]] = {}
        self.obs = venv.reset()
        self.labels = _labels(venv.unwrapped.reset_infos)  # wrappers keep their own, empty

    def greedy(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        return self.model.policy.predict(obs, deterministic=True)[0]

    def collect(self, n_steps: int, beta: float) -> dict[str, float]:
        """Roll ``n_steps`` batch steps with the beta-mixture; store the labelled states."""
        agree, finished, rewards, dones = [], [], [], []
        for _ in range(n_steps):
            for k, v in self.obs.items():
                self.data.setdefault(k, []).append(v)
            self.data.setdefault("label", []).append(self.labels)
            mine = self.greedy(self.obs)
            agree.append(mine == self.labels)
            expert = self.rng.random(len(mine)) < beta
            self.obs, reward, done, infos = self.venv.step(np.where(expert, self.labels, mine))
            rewards.append(reward)
            dones.append(done)
            finished += [i["receipts"] for i in infos if "receipts" in i]
            self.labels = _labels(infos)
        self.data.setdefault("return", []).extend(self.returns(rewards, dones))
        stats = {
            "imitation/agreement": float(np.mean(agree)),
            "rollout/reward_per_decision": float(np.mean(rewards)),
        }
        if finished:
            for key in ("exact_match", "f1", "review_rate"):
                stats[f"rollout/{key}"] = float(np.mean([r[key] for r in finished]))
            stats["rollout/episodes"] = len(finished)
        return stats

    def returns(self, rewards: list[np.ndarray], dones: list[np.ndarray]) -> list[np.ndarray]:
        """Discounted returns of the round's steps (one (n_envs,) array per step), cut at
        episode ends and bootstrapped with the value of the observation reached."""
        policy = self.model.policy
        with torch.no_grad():
            ret = policy.predict_values(policy.obs_to_tensor(self.obs)[0]).numpy()[:, 0]
        out = []
        for r, d in zip(reversed(rewards), reversed(dones), strict=True):
            ret = r + self.model.gamma * ret * (1.0 - d)
            out.append(ret.astype(np.float32))
        return out[::-1]

    def fit(self) -> tuple[float, float]:
        """``epochs`` passes over the aggregated data; the last pass's mean cross-entropy
        and value loss."""
        policy, cfg = self.model.policy, self.cfg
        data = {k: np.concatenate(v) for k, v in self.data.items()}
        labels = torch.as_tensor(data.pop("label"))
        returns = torch.as_tensor(data.pop("return"))
        obs = {k: torch.as_tensor(v) for k, v in data.items()}
        n = len(labels)
        policy.set_training_mode(True)
        for _ in range(cfg.epochs):
            total = np.zeros(2)
            for idx in np.array_split(self.rng.permutation(n), max(1, n // cfg.batch_size)):
                i = torch.as_tensor(idx)
                values, log_prob, _ = policy.evaluate_actions(
                    {k: v[i] for k, v in obs.items()}, labels[i]
                )
                ce = -log_prob.mean()
                value_loss = torch.nn.functional.mse_loss(values.flatten(), returns[i])
                policy.optimizer.zero_grad()
                (ce + cfg.value_coef * value_loss).backward()
                torch.nn.utils.clip_grad_norm_(policy.parameters(), self.model.max_grad_norm)
                policy.optimizer.step()
                total += np.array([ce.item(), value_loss.item()]) * len(idx)
        return tuple(total / n)  # pyright: ignore[reportArgumentType]  (numpy stubs: may be a float)

    def run(self, total_timesteps: int, on_round: Callable[[int], object] | None = None) -> None:
        """All rounds, ``total_timesteps`` decisions in all; ``on_round(decisions)`` after each."""
        model, n_envs = self.model, self.venv.num_envs
        per_round = max(1, total_timesteps // (self.cfg.rounds * n_envs))
        t0 = time.perf_counter()
        for r in range(self.cfg.rounds):
            beta = self.cfg.beta(r)
            stats = self.collect(per_round, beta)
            stats["imitation/loss"], stats["imitation/value_loss"] = self.fit()
            model.num_timesteps += per_round * n_envs
            for key, value in {
                "imitation/round": r,
                "imitation/beta": beta,
                "imitation/dataset": sum(len(x) for x in self.data["label"]),
                "time/total_timesteps": model.num_timesteps,
                "time/wall_s": time.perf_counter() - t0,
                **stats,
            }.items():
                model.logger.record(key, value)
            model.logger.dump(step=model.num_timesteps)
            if on_round is not None:
                on_round(model.num_timesteps)


def imitate(
    model,
    venv,
    imitation: Mapping[str, Any] | None,
    total_timesteps: int,
    seed: int = 0,
    on_round: Callable[[int], object] | None = None,
) -> None:
    """Train ``model``'s policy by BC / DAgger (``imitation``: ImitationConfig's keys)."""
    Imitation(model, venv, ImitationConfig.from_mapping(imitation), seed).run(
        total_timesteps, on_round
    )
