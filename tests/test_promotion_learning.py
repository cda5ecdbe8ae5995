"""A short PPO run on the mini Promotion preset learns: its reward rises (CPU, < 2 min)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import retail_env  # noqa: F401

pytest.importorskip("stable_baselines3")
torch = pytest.importorskip("torch")

from stable_baselines3 import PPO  # noqa: E402

ENV_ID = "RetailStore/Promotion-Mini-v1"
CONFIG = {"reward_scale": 1e-3}  # profit in k$ per day keeps PPO's value loss tame


def _evaluate(model, seeds) -> float:
    env = gym.make(ENV_ID, config=CONFIG)
    out = []
    for s in seeds:
        obs, _ = env.reset(seed=s)
        done, total = False, 0.0
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, r, term, trunc, _ = env.step(action)
            total += r
            done = term or trunc
        out.append(total)
    return float(np.mean(out))


def test_ppo_reward_rises():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    env = gym.make(ENV_ID, config=CONFIG)
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=224,
        batch_size=56,
        n_epochs=5,
        learning_rate=1e-3,
        ent_coef=0.0,
        seed=0,
        verbose=0,
        device="cpu",
    )
    seeds = [900, 901, 902]
    before = _evaluate(model, seeds)
    model.learn(total_timesteps=12_000)
    after = _evaluate(model, seeds)
    print(f"PPO mini preset: return before {before:.2f}, after {after:.2f} (k$ per episode)")
    assert after > before + 0.5, (before, after)  # + $500 profit per 28-day episode
