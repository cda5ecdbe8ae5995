"""Promotion ids: -v1 rewards profit x 0.001 (the Hydra configs' scale), dollars when a
config sets reward_scale 1; -v0 is gone (gym.make names v1); every id sets
max_episode_steps to the preset's fixed horizon."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import retail_env  # noqa: F401
from retail_env.envs.registry import PROMOTION_SPECS, REWARD_SCALE

PROMOTION_IDS = [i for i, _, _ in PROMOTION_SPECS]
DOLLARS = {"reward_scale": 1.0}


def rollout(env_id: str, n: int = 5, **kw):
    env = gym.make(env_id, **kw)
    env.reset(seed=4)
    env.action_space.seed(1)
    out = [env.step(env.action_space.sample()) for _ in range(n)]
    env.close()
    return np.array([o[1] for o in out]), [o[4]["kpis"] for o in out]


def test_v1_rewards_thousands_of_dollars():
    r1, k1 = rollout("RetailStore/Promotion-Mini-v1")
    r0, k0 = rollout("RetailStore/Promotion-Mini-v1", config=DOLLARS)
    assert k1 == k0 and np.abs(r0).max() > 1                   # same store, same profit
    np.testing.assert_allclose(r1, r0 * REWARD_SCALE, rtol=1e-9)
    assert REWARD_SCALE == 0.001
    with pytest.raises(gym.error.DeprecatedEnv, match="Promotion-Mini-v1"):
        gym.make("RetailStore/Promotion-Mini-v0")


def test_a_config_keeps_the_v1_scale_unless_it_sets_one():
    other = {"episode_days": 7}
    r_cfg, _ = rollout("RetailStore/Promotion-Mini-v1", config=other, max_episode_steps=7)
    r0_cfg, _ = rollout("RetailStore/Promotion-Mini-v1", config={**other, **DOLLARS},
                        max_episode_steps=7)
    np.testing.assert_allclose(r_cfg, r0_cfg * REWARD_SCALE, rtol=1e-9)


def test_v1_vector_env_rewards_on_the_same_scale():
    pytest.importorskip("stable_baselines3")   # the train extra
    from retail_env.envs.sb3_vec import make_sb3_vec_env

    rewards = {}
    for name, kw in (("v1", {}), ("dollars", {"config": DOLLARS})):
        venv = make_sb3_vec_env("RetailStore/Promotion-Mini-v1", 2, seed=3, **kw)
        venv.reset()
        acts = np.zeros((2, *venv.action_space.shape), dtype=venv.action_space.dtype)
        rewards[name] = venv.step(acts)[1]
        venv.close()
    np.testing.assert_allclose(rewards["v1"], rewards["dollars"] * REWARD_SCALE, rtol=1e-6)


@pytest.mark.parametrize("env_id", PROMOTION_IDS)
def test_max_episode_steps_is_the_horizon(env_id):
    env = gym.make(env_id)
    assert env.spec.max_episode_steps == env.unwrapped.params.n_periods, env_id
    env.close()


def test_episode_truncates_at_max_episode_steps():
    env = gym.make("RetailStore/Promotion-Mini-v1")
    env.reset(seed=0)
    steps, done = 0, False
    while not done:
        *_, term, trunc, _ = env.step(env.action_space.sample())
        steps, done = steps + 1, term or trunc
    assert trunc and steps == env.spec.max_episode_steps == 28
