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


def test_prior_logit_starts_ppo_at_list_price():
    """``hyperparams.prior_logit`` lifts action 0 of every sub-action (list price, no
    end-cap): the untrained greedy policy is list price, the sampled one mostly so."""
    from retail_env.agents.sb3_agents import build_model

    from retail_env.sim.validation import ConfigError

    env = gym.make("RetailStore/Promotion-Category-v2")
    obs, _ = env.reset(seed=0)
    plain = build_model("ppo", {}, env, seed=0)
    model = build_model("ppo", {"prior_logit": 3.0}, env, seed=0)
    assert not model.predict(obs, deterministic=True)[0].any()
    sampled = np.stack([model.predict(obs)[0] for _ in range(200)])
    uniform = np.stack([plain.predict(obs)[0] for _ in range(200)])
    nvec = env.action_space.nvec
    expect = np.exp(3.0) / (np.exp(3.0) + nvec - 1)  # ~0.80 of 6 levels, ~0.95 of 2
    np.testing.assert_allclose((sampled == 0).mean(0), expect, atol=0.12)
    assert (uniform == 0).mean() < 0.6
    with pytest.raises(ConfigError, match="prior_logit"):
        build_model("ppo", {"prior_logit": "high"}, env)
    with pytest.raises(ConfigError, match="prior_logit needs a Discrete"):
        build_model("ppo", {"prior_logit": 3.0}, gym.make("RetailStore/Promotion-Continuous-v2"))
