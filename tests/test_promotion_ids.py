"""Promotion ids: -v1 rewards profit x 0.001 (the Hydra configs' scale), dollars when a
config sets reward_scale 1; -v2 is -v1 with expedited promotion stock and orders net of
outdating (same spaces and scale), -v1 staying as it was; -v0 is gone (gym.make names the
latest); every id sets max_episode_steps to the preset's fixed horizon."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import retail_env  # noqa: F401
from retail_env.envs.registry import PROMOTION_IDS as CURRENT_IDS
from retail_env.envs.registry import PROMOTION_SPECS, PROMOTION_VERSION, REWARD_SCALE, promotion_env
from retail_env.sim.validation import ConfigError

PROMOTION_IDS = [i for i, _, _ in PROMOTION_SPECS]
DOLLARS = {"reward_scale": 1.0}


def rollout(env_id: str, n: int = 5, action=None, **kw):
    env = gym.make(env_id, **kw)
    env.reset(seed=4)
    env.action_space.seed(1)
    fixed = (
        None if action is None else np.full(env.action_space.shape, action, env.action_space.dtype)
    )
    out = [env.step(env.action_space.sample() if fixed is None else fixed) for _ in range(n)]
    env.close()
    return np.array([o[1] for o in out]), [o[4]["kpis"] for o in out]


def test_v1_rewards_thousands_of_dollars():
    r1, k1 = rollout("RetailStore/Promotion-Mini-v1")
    r0, k0 = rollout("RetailStore/Promotion-Mini-v1", config=DOLLARS)
    assert k1 == k0 and np.abs(r0).max() > 1  # same store, same profit
    np.testing.assert_allclose(r1, r0 * REWARD_SCALE, rtol=1e-9)
    assert REWARD_SCALE == 0.001
    with pytest.raises(gym.error.DeprecatedEnv, match="Promotion-Mini-v2"):
        gym.make("RetailStore/Promotion-Mini-v0")


def test_a_config_keeps_the_v1_scale_unless_it_sets_one():
    other = {"episode_days": 7}
    r_cfg, _ = rollout("RetailStore/Promotion-Mini-v1", config=other, max_episode_steps=7)
    r0_cfg, _ = rollout(
        "RetailStore/Promotion-Mini-v1", config={**other, **DOLLARS}, max_episode_steps=7
    )
    np.testing.assert_allclose(r_cfg, r0_cfg * REWARD_SCALE, rtol=1e-9)


def test_v1_vector_env_rewards_on_the_same_scale():
    pytest.importorskip("stable_baselines3")  # the train extra
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


def test_v2_is_v1_with_expedited_promotion_stock():
    v1, v2 = gym.make("RetailStore/Promotion-Mini-v1"), gym.make("RetailStore/Promotion-Mini-v2")
    c1, c2 = v1.unwrapped.config_dict(), v2.unwrapped.config_dict()
    assert not c1["inventory"]["expedite"] and not c1["inventory"]["net_outdating"]
    c1["inventory"].update(expedite=True, net_outdating=True)
    assert c1 == c2
    assert v1.observation_space == v2.observation_space and v1.action_space == v2.action_space
    # a nested config merges with the version's, it does not replace it
    env = gym.make("RetailStore/Promotion-Mini-v2", config={"inventory": {"cover": 2.0}})
    inv_cfg = env.unwrapped.config_dict()["inventory"]
    assert inv_cfg["cover"] == 2.0 and inv_cfg["expedite"] and inv_cfg["net_outdating"]
    assert env.unwrapped.cfg.reward_scale == REWARD_SCALE
    # the current version is what the experiments use
    assert PROMOTION_VERSION == 2 and all(i.endswith("-v2") for i in CURRENT_IDS)
    assert len(CURRENT_IDS) == len(PROMOTION_SPECS) // 2


def test_v1_and_v2_play_alike_at_list_price():
    """List price never starts a promotion or strands stock on Mini: same episode on both."""
    _, k1 = rollout("RetailStore/Promotion-Mini-v1", n=28, action=0)
    _, k2 = rollout("RetailStore/Promotion-Mini-v2", n=28, action=0)
    assert k1 == k2 and all(k["expedited"] == 0 for k in k2)


def test_bad_version_and_expedite_without_forecast_raise():
    with pytest.raises(ValueError, match="version=3 is not allowed"):
        promotion_env("mini", version=3)
    with pytest.raises(ConfigError, match="inventory.expedite=True needs inventory.policy"):
        gym.make("RetailStore/Promotion-Mini-v2", config={"inventory": {"policy": "fixed"}})
    env = gym.make(
        "RetailStore/Promotion-Mini-v2",
        config={"inventory": {"policy": "fixed", "expedite": False}},
    )
    assert env.unwrapped.cfg.inventory.policy == "fixed"
