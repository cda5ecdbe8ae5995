"""The set policy: equivariant to permuting real candidates, never picks a masked action;
the SB3 VecEnv's masks and oracle labels describe the observations it returns."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import retail_env  # noqa: F401  (registers the ids)

torch = pytest.importorskip("torch")
pytest.importorskip("sb3_contrib")

from retail_env.agents.attribution.set_policy import (  # noqa: E402
    MASKED,
    REVIEW_AVAILABLE,
    MaskableSetPolicy,
    SetPolicy,
)

SHORT = {"episode_s": 120.0, "close_grace_s": 60.0}
ID = "RetailStore/Attribution-Crowded-v0"


def _policy(cls=SetPolicy, seed=0):
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    env = gym.make(ID, config=SHORT)
    return cls(env.observation_space, env.action_space, lambda _: 1e-3), env


def _obs(space, n_real, rng, B=64):
    """A batch of random observations with ``n_real[i]`` real candidates each."""
    K = space["candidates"].shape[0]
    obs = {k: rng.normal(size=(B, *s.shape)).astype(np.float32) for k, s in space.spaces.items()}
    obs["mask"] = (np.arange(K) < n_real[:, None]).astype(np.float32)
    obs["candidates"] *= obs["mask"][..., None]
    obs["event"][:, REVIEW_AVAILABLE] = rng.integers(0, 2, B)
    return obs


def _logits_value(policy, obs):
    with torch.no_grad():
        t = policy.obs_to_tensor(obs)[0]
        return policy.get_distribution(t).distribution.logits.numpy(), policy.predict_values(
            t
        ).numpy()


def test_logits_permute_with_the_real_candidate_slots():
    policy, env = _policy()
    rng = np.random.default_rng(0)
    K = env.unwrapped.K
    n_real = rng.integers(1, K + 1, 64)
    obs = _obs(env.observation_space, n_real, rng)
    logits, value = _logits_value(policy, obs)
    perm_obs = {k: v.copy() for k, v in obs.items()}
    perms = []
    for i, n in enumerate(n_real):
        p = np.concatenate([rng.permutation(n), np.arange(n, K)])  # real slots only
        perm_obs["candidates"][i] = obs["candidates"][i][p]
        perms.append(p)
    plogits, pvalue = _logits_value(policy, perm_obs)
    for i, p in enumerate(perms):
        np.testing.assert_allclose(plogits[i, :K], logits[i, p], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(plogits[i, K:], logits[i, K:], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(pvalue, value, rtol=1e-4, atol=1e-4)
    assert np.ptp(logits[:, :K][obs["mask"] > 0]) > 0  # not trivially constant


def test_masked_actions_get_zero_probability_and_are_never_sampled():
    policy, env = _policy()
    rng = np.random.default_rng(1)
    K = env.unwrapped.K
    n_real = rng.integers(0, K + 1, 512)
    obs = _obs(env.observation_space, n_real, rng, B=512)
    logits, _ = _logits_value(policy, obs)
    valid = np.concatenate(
        [obs["mask"] > 0, np.ones((512, 1), bool), obs["event"][:, [REVIEW_AVAILABLE]] > 0], axis=1
    )
    assert (logits[~valid] == MASKED).all() and (logits[valid] > MASKED / 2).all()
    for _ in range(20):
        actions, _ = policy.predict(obs, deterministic=False)
        assert valid[np.arange(512), actions].all()


def test_untrained_set_policy_plays_only_valid_actions_in_the_env():
    policy, env = _policy(MaskableSetPolicy)
    obs, info = env.reset(seed=5)
    done, n = False, 0
    while not done:
        a, _ = policy.predict(obs, deterministic=False)
        assert info["action_mask"][int(a)]
        obs, _, done, _, info = env.step(int(a))
        n += 1
    assert n > 10


def test_vec_env_masks_and_labels_describe_the_returned_observations():
    """Also after a store's episode ends (its row is then the next episode's first)."""
    from retail_env.envs.sb3_vec import make_sb3_vec_env

    venv = make_sb3_vec_env(
        ID, 3, seed=0, oracle_info=True, config={"episode_s": 30.0, "close_grace_s": 20.0}
    )
    obs = venv.reset()
    K = obs["mask"].shape[1]
    rng = np.random.default_rng(0)
    dones = 0
    labels = np.array([i["oracle_action"] for i in venv.reset_infos])
    for _ in range(120):
        masks = venv.action_masks()
        assert masks.dtype == bool and masks.shape == (3, K + 2)
        np.testing.assert_array_equal(masks[:, :K], obs["mask"] > 0)
        np.testing.assert_array_equal(np.stack(venv.env_method("action_masks")), masks)
        assert masks[np.arange(3), labels].all()  # the oracle's label is a valid action
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
        obs, _, done, infos = venv.step(actions)
        dones += done.sum()
        labels = np.array([i["oracle_action"] for i in infos])
        np.testing.assert_array_equal(
            np.stack([i["action_mask"] for i in infos]), venv.action_masks()
        )
    assert dones >= 2
    venv.close()
