"""Native vector envs: spaces, seeding, NEXT_STEP autoreset, equivalence with single envs, SB3."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import retail_env  # noqa: F401
from retail_env.envs.attribution.env import AttributionEnv
from retail_env.envs.attribution.vector import AttributionVectorEnv
from retail_env.envs.promotion.env import PromotionEnv
from retail_env.envs.promotion.vector import PromotionVectorEnv
from retail_env.envs.registry import ENV_IDS
from retail_env.errors import InvalidActionError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SHORT_ATTR = {"episode_s": 30.0, "close_grace_s": 20.0}  # medium: ~1-5 decisions an episode
SHORT_PROMO = {"episode_days": 2}  # mini: 2 daily periods


def _rows(obs, i):
    return {k: v[i] for k, v in obs.items()} if isinstance(obs, dict) else obs[i]


def _assert_obs_equal(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_make_vec_gives_the_native_env_with_batched_spaces(env_id):
    # the spatial id batches the walking store too (one step = 6 min of store time)
    kw = {"config": {"period_h": 0.1}} if "Spatial" in env_id else {}
    envs = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", **kw)
    assert isinstance(envs, (AttributionVectorEnv, PromotionVectorEnv))
    assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    single = gym.make(env_id, **kw)
    assert envs.single_observation_space == single.observation_space
    assert envs.single_action_space == single.action_space
    obs, _ = envs.reset(seed=3)
    envs.action_space.seed(3)
    for _ in range(2):
        assert envs.observation_space.contains(obs)
        for v in obs.values() if isinstance(obs, dict) else [obs]:
            assert v.dtype == np.float32 and v.shape[0] == 2
        obs, rew, term, trunc, _ = envs.step(envs.action_space.sample())
        assert rew.shape == term.shape == trunc.shape == (2,)
        assert term.dtype == trunc.dtype == np.bool_


def test_attribution_batch_equals_single_envs_across_autoresets():
    B, seed = 3, 11
    venv = AttributionVectorEnv(B, preset="medium", oracle_info=True, config=SHORT_ATTR)
    singles = [AttributionEnv(preset="medium", config=SHORT_ATTR) for _ in range(B)]
    obs, _ = venv.reset(seed=seed)
    for i, env in enumerate(singles):
        _assert_obs_equal(_rows(obs, i), env.reset(seed=seed + i)[0])
    rng = np.random.default_rng(0)
    prev_done = np.zeros(B, bool)
    restarted = np.zeros(B, int)
    for _ in range(40):
        a = rng.integers(0, venv.K + 2, B)
        obs, rew, term, trunc, info = venv.step(a)
        for i, env in enumerate(singles):
            if prev_done[i]:  # NEXT_STEP: action ignored, new episode from episode_seeds
                o, r, t = *env.reset(seed=int(venv.episode_seeds[i]))[:1], 0.0, False
                restarted[i] += 1
            else:
                o, r, t, _, inf = env.step(int(a[i]))
                assert {k: v[i] for k, v in info["rewards"].items()} == inf["rewards"]
                assert info["oracle_action"][i] == inf["oracle_action"]
                if t:
                    assert info["_receipts"][i]
                    assert {k: v[i] for k, v in info["receipts"].items()} == inf["receipts"]
            _assert_obs_equal(_rows(obs, i), o)
            assert (rew[i], term[i], trunc[i]) == (r, t, False)
        prev_done = term
    assert (restarted >= 1).all(), "every store should have crossed an autoreset"


def test_promotion_batch_equals_single_envs_across_autoresets():
    B, seed = 3, 5
    venv = PromotionVectorEnv(B, preset="mini", config=SHORT_PROMO)
    singles = [PromotionEnv("mini", SHORT_PROMO) for _ in range(B)]
    obs, _ = venv.reset(seed=seed)
    for i, env in enumerate(singles):
        _assert_obs_equal(obs[i], env.reset(seed=seed + i)[0])
    venv.action_space.seed(1)
    prev_done = np.zeros(B, bool)
    for _ in range(3 * (venv.params.n_periods + 1)):
        a = venv.action_space.sample()
        obs, rew, term, trunc, info = venv.step(a)
        for i, env in enumerate(singles):
            if prev_done[i]:
                o, r, tr = env.reset(seed=int(venv.episode_seeds[i]))[0], 0.0, False
            else:
                o, r, _, tr, inf = env.step(a[i])
                assert {k: v[i] for k, v in info["rewards"].items()} == inf["rewards"]
            _assert_obs_equal(obs[i], o)
            assert (rew[i], term[i], trunc[i]) == (r, False, tr)
        prev_done = trunc


def _rollout(venv, seed, n, rng_seed=0):
    obs, _ = venv.reset(seed=seed)
    venv.action_space.seed(rng_seed)
    trace = [obs]
    for _ in range(n):
        out = venv.step(venv.action_space.sample())
        trace.append(out[:4])
    return trace, venv.episode_seeds.copy()


@pytest.mark.parametrize(
    "make",
    [
        lambda: AttributionVectorEnv(2, preset="medium", config=SHORT_ATTR),
        lambda: PromotionVectorEnv(2, preset="mini", config=SHORT_PROMO),
    ],
)
def test_seeding_is_reproducible_and_seeds_differ(make):
    a, b = make(), make()
    ta, sa = _rollout(a, 7, 40)
    tb, sb = _rollout(b, 7, 40)
    assert (sa == sb).all() and (sa != [7, 8]).any()  # autoresets drew the same new seeds
    for x, y in zip(ta, tb, strict=True):
        for u, v in zip(
            x if isinstance(x, tuple) else (x,), y if isinstance(y, tuple) else (y,), strict=True
        ):
            _assert_obs_equal(u, v)
    other, _ = _rollout(make(), 8, 1)
    after_one = [t[1][0] for t in (ta, other)]  # observations after the first step
    assert not np.array_equal(*[o["event"] if isinstance(o, dict) else o for o in after_one])


def test_attribution_autoreset_ignores_the_action_and_starts_fresh():
    venv = AttributionVectorEnv(2, preset="medium", config=SHORT_ATTR)
    venv.reset(seed=1)
    for _ in range(200):
        obs, rew, term, _, info = venv.step(np.full(2, venv.K))
        if term.any():
            break
    i = int(np.flatnonzero(term)[0])
    assert np.all(obs["mask"][i] == 0) and info["_receipts"][i]
    obs, rew, term, trunc, info = venv.step(np.array([venv.K + 1, 0]))
    assert rew[i] == 0.0 and not term[i] and not trunc[i]
    fresh, _ = AttributionEnv(preset="medium", config=SHORT_ATTR).reset(
        seed=int(venv.episode_seeds[i])
    )
    _assert_obs_equal(_rows(obs, i), fresh)


def test_bad_actions_are_refused_with_the_value():
    venv = AttributionVectorEnv(2, preset="medium", config=SHORT_ATTR)
    venv.reset(seed=0)
    with pytest.raises(InvalidActionError, match=r"actions\[1\]=99"):
        venv.step(np.array([0, 99]))
    with pytest.raises(InvalidActionError, match="integers"):
        venv.step(np.array([0.5, 1.0]))
    penv = PromotionVectorEnv(2, preset="mini")
    penv.reset(seed=0)
    bad = np.zeros(penv.action_space.shape, np.int64)
    bad[1, 0] = 17
    with pytest.raises(InvalidActionError, match="=17 is out of range"):
        penv.step(bad)
    with pytest.raises(InvalidActionError, match="shape"):
        penv.step(bad[:1])


def test_sb3_vecenv_same_step_infos_and_ppo_trains():
    pytest.importorskip("stable_baselines3")  # the train extra
    from stable_baselines3 import PPO

    from retail_env.envs.sb3_vec import make_sb3_vec_env

    venv = make_sb3_vec_env("RetailStore/Promotion-Mini-v1", 4, seed=2, config=SHORT_PROMO)
    obs = venv.reset()
    assert obs.shape == (4, *venv.observation_space.shape) and obs.dtype == np.float32
    for _ in range(venv.venv.params.n_periods):
        obs, rew, done, infos = venv.step(np.zeros((4, venv.action_space.shape[0]), np.int64))
    assert done.all()
    assert all(inf["TimeLimit.truncated"] for inf in infos)
    assert np.allclose(obs[:, 4], 0.0)  # episode progress restarted
    assert all(inf["terminal_observation"][4] == 1.0 for inf in infos)
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0)
    model.learn(128)
    assert model.num_timesteps >= 128

    avenv = make_sb3_vec_env("RetailStore/Attribution-v0", 2, seed=0, config=SHORT_ATTR)
    avenv.reset()
    for _ in range(300):
        obs, rew, done, infos = avenv.step(np.full(2, avenv.action_space.n - 2))
        if done.any():
            break
    i = int(np.flatnonzero(done)[0])
    assert infos[i]["TimeLimit.truncated"] is False and "receipts" in infos[i]
    assert np.all(infos[i]["terminal_observation"]["mask"] == 0)  # blank terminal obs
    assert obs["mask"][i].sum() > 0  # already the next episode
    PPO("MultiInputPolicy", avenv, n_steps=16, batch_size=32, n_epochs=1, seed=0).learn(32)
