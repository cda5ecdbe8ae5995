"""The Attribution vector env split over worker processes: same numbers, clear errors, SB3."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest

import retail_env  # noqa: F401
from retail_env.envs.attribution.vector import AttributionVectorEnv
from retail_env.envs.sharded import ShardedAttributionEnv
from retail_env.errors import InvalidActionError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SHORT = {"episode_s": 40.0, "close_grace_s": 20.0}  # medium: a few decisions an episode
ID = "RetailStore/Attribution-v0"


def _assert_same(a, b, path="") -> None:
    """Equal bit for bit: same keys in the same order, dtypes, shapes and values."""
    if isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            _assert_same(a[k], b[k], f"{path}/{k}")
        return
    if isinstance(a, tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{path}[{i}]")
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, path
    np.testing.assert_array_equal(a, b, err_msg=path)


@pytest.mark.parametrize("workers, run_ahead", [(2, 4), (3, 0)])
def test_sharded_env_equals_the_in_process_env_across_autoresets(workers, run_ahead):
    B = 5  # uneven shards (2 + 3, or 2 + 1 + 2)
    ref = AttributionVectorEnv(B, oracle_info=True, config=SHORT)
    env = ShardedAttributionEnv(
        B, num_workers=workers, run_ahead=run_ahead, oracle_info=True, config=SHORT
    )
    try:
        _assert_same(ref.reset(seed=7), env.reset(seed=7))
        rng = np.random.default_rng(0)
        ended = 0
        for t in range(120):
            a = rng.integers(0, ref.K + 2, B)
            want = ref.step(a)
            _assert_same(want, env.step(a), f"step {t}")
            ended += int(want[2].sum())
            if want[2].any() and t % 2:  # SB3's same-step restart, now and then
                _assert_same(ref.reset_done(), env.reset_done(), f"reset_done {t}")
        assert ended >= 10  # autoresets were exercised
        np.testing.assert_array_equal(env.episode_seeds, ref.episode_seeds)
        _assert_same(ref.reset(), env.reset())  # unseeded: seeds from np_random
    finally:
        env.close()


def test_make_vec_with_workers_gives_the_sharded_env():
    env = gym.make_vec(
        ID, num_envs=3, vectorization_mode="vector_entry_point", num_workers=2, config=SHORT
    )
    try:
        assert isinstance(env, ShardedAttributionEnv)
        single = gym.make(ID)
        assert env.single_observation_space == single.observation_space
        assert env.single_action_space == single.action_space
        obs, _ = env.reset(seed=1)
        assert env.observation_space.contains(obs)
        assert env.worker_cpu_seconds() > 0
    finally:
        env.close()
    env.close()  # twice is fine
    assert all(not p.is_alive() for p in env._procs)
    with pytest.raises(RuntimeError, match="closed"):
        env.step(np.zeros(3, np.int64))
    one = gym.make_vec(ID, num_envs=2, vectorization_mode="vector_entry_point", num_workers=1)
    assert isinstance(one, AttributionVectorEnv)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"num_workers": 0}, ValueError, "num_workers=0"),
        ({"num_workers": "two"}, ValueError, "num_workers='two'"),
        ({"num_workers": 4}, ValueError, r"num_workers=4 is out of range: must be in \[1, 3\]"),
        ({"num_workers": 2, "run_ahead": -1}, ValueError, "run_ahead=-1"),
        ({"num_workers": 2, "context": "threads"}, ValueError, "context='threads'"),
    ],
)
def test_bad_settings_are_refused_by_name(kwargs, error, match):
    with pytest.raises(error, match=match):
        gym.make_vec(ID, num_envs=3, vectorization_mode="vector_entry_point", **kwargs)


def test_worker_errors_reach_the_caller_and_bad_actions_are_refused():
    with pytest.raises(ValueError, match="preset='nope' is not allowed") as info:
        ShardedAttributionEnv(2, num_workers=2, preset="nope")
    assert "shard worker" in "".join(info.value.__notes__)
    env = ShardedAttributionEnv(2, num_workers=2, config=SHORT)
    try:
        with pytest.raises(RuntimeError, match="reset"):
            env.step(np.zeros(2, np.int64))
        env.reset(seed=0)
        with pytest.raises(InvalidActionError, match=r"actions\[1\]=99"):
            env.step(np.array([0, 99]))
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(env)
        env.step(np.zeros(2, np.int64))  # still usable after the refusals
    finally:
        env.close()


def test_ppo_trains_through_the_sharded_env():
    pytest.importorskip("stable_baselines3")  # the train extra
    from stable_baselines3 import PPO

    from retail_env.envs.sb3_vec import make_sb3_vec_env

    venv = make_sb3_vec_env(ID, 4, seed=0, num_workers=2, config=SHORT)
    try:
        model = PPO("MultiInputPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0)
        model.learn(64)
        assert model.num_timesteps >= 64
    finally:
        venv.close()
