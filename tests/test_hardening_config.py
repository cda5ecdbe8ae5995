"""Issue 21: typed config validation, seeds, actions and lifecycle end in the project's errors.

Every example the issue lists has a case here, each asserting the error class and a
message naming the key, the value and what is allowed.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import retail_env  # noqa: F401  (registers the ids)
from retail_env.envs.promotion import core as promotion_core
from retail_env.envs.seeds import MAX_SEED
from retail_env.errors import (
    ConfigError,
    EpisodeStateError,
    InvalidActionError,
    RetailEnvError,
    WorkerError,
)
from retail_env.sim import config as sim_config

MINI = "RetailStore/Promotion-Mini-v1"
CONT = "RetailStore/Promotion-Continuous-v1"
EASY = "RetailStore/Attribution-Easy-v0"
SHORT = {"episode_s": 40.0, "close_grace_s": 20.0}


@pytest.mark.parametrize(
    "make, match",
    [
        # the examples
        (
            lambda: gym.make(MINI, config={"endcap_reach": []}),
            r"endcap_reach=\[\] has the wrong type \(list\): must be a number, in \[0.0, 1.0\]",
        ),
        (
            lambda: gym.make(EASY, config={"store": {"shoppers": {"max_shoppers": 2.5}}}),
            r"shoppers.max_shoppers=2.5 has the wrong type \(float\): must be an integer, in \[1, 512\]",
        ),
        (
            lambda: gym.make(EASY, config={"n_candidates": 2.5}),
            r"n_candidates=2.5 .*must be an integer, in \[1, 32\]",
        ),
        (
            lambda: gym.make(MINI, config={"episode_days": 1.5}),
            r"episode_days=1.5 .*integer, in \[1, 365\]",
        ),
        (
            lambda: gym.make(EASY, config={"store": {"hard": {"handoffs": 1}}}),
            r"hard.handoffs=1 .*must be a bool",
        ),
        (
            lambda: gym.make(EASY, config={"store": 5}),
            r"config\['store'\]=5 has the wrong type \(int\): must be a mapping",
        ),
        (
            lambda: gym.make(EASY, config={"store": []}),
            r"config\['store'\]=\[\] has the wrong type \(list\)",
        ),
        (
            lambda: gym.make(MINI, config=5),
            r"config=5 has the wrong type \(int\): must be a mapping",
        ),
        (
            lambda: gym.make(EASY, config={"store": {"layout": 5}}),
            r"layout=5 has the wrong type \(int\): must be a string",
        ),
        (
            lambda: gym.make(EASY, config={"store": {"layout": None}}),
            r"layout=None has the wrong type",
        ),
        (
            lambda: gym.make(EASY, config={"observation": 5}),
            r"config\['observation'\]=5 has the wrong type \(int\)",
        ),
        (lambda: gym.make_vec(MINI, num_envs=2.5), r"num_envs=2.5 has the wrong type \(float\)"),
        (lambda: gym.make_vec(EASY, num_envs=2.5), r"num_envs=2.5 has the wrong type \(float\)"),
        (
            lambda: gym.make_vec(MINI, num_envs=0),
            r"num_envs=0 is out of range: must be in \[1, 65536\]",
        ),
        # the same faults, one level deeper or in sequences
        (
            lambda: gym.make(MINI, config={"discount_levels": []}),
            r"discount_levels=\[\] has the wrong type: must be a non-empty list of numbers",
        ),
        (lambda: gym.make(MINI, config={"discount_levels": [0.0, "0.1"]}), r"discount_levels="),
        (lambda: gym.make(MINI, config={"demand": 3}), r"demand must be a mapping of DemandParams"),
        (
            lambda: gym.make(EASY, config={"store": {"shoppers": {"reach_s": 3.0}}}),
            r"shoppers.reach_s=3.0 has the wrong type: must be a list of 2 numbers",
        ),
        (
            lambda: gym.make(EASY, config={"store": {"shoppers": {"reach_s": [1.0, 2.0, 3.0]}}}),
            r"reach_s=",
        ),
        (
            lambda: gym.make(EASY, config={"store": {"shoppers": {"p_putback": True}}}),
            r"p_putback=True .*number",
        ),
        (
            lambda: gym.make(EASY, config={"store": {"shoppers": {"p_putback": float("nan")}}}),
            r"p_putback=nan",
        ),
        (
            lambda: gym.make(EASY, config={"reward": {"correct": "1"}}),
            r"reward.correct='1' .*must be a number",
        ),
        (lambda: gym.make(EASY, config={"reward": 2}), r"reward must be a mapping of RewardConfig"),
        (
            lambda: gym.make(EASY, config={"reward": {"correct": 10**400}}),
            r"reward.correct=1000.* is out of range",
        ),
        (lambda: gym.make(EASY, config={"scenario": ["easy"]}), r"scenario=\['easy'\]"),
        (lambda: gym.make(MINI, config={1: 2}), r"unknown config key\(s\) \['1'\]"),
        (lambda: gym.make("RetailStore/Promotion-v1", preset=[]), r"preset=\[\] is not allowed"),
        (lambda: sim_config.make_config(5), r"preset=5 is not allowed"),
        (lambda: sim_config.config_from_dict("hard"), r"config='hard' has the wrong type"),
        (
            lambda: promotion_core.make_config("mini", {"spatial": {"tick_hz": 5.0}}),
            r"spatial.tick_hz=5.0 has the wrong type",
        ),
    ],
)
def test_bad_config_types_raise_config_error(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def test_hydra_configs_are_validated_the_same_way():
    """Env kwargs from a Hydra config, as plain containers (experiments) or as nodes."""
    OmegaConf = pytest.importorskip("omegaconf").OmegaConf  # the train extra
    from retail_env.experiments.evaluate import env_kwargs

    cfg = OmegaConf.create({"env": {"id": MINI, "kwargs": {"config": {"episode_days": 1.5}}}})
    with pytest.raises(ConfigError, match="episode_days=1.5 has the wrong type"):
        gym.make(cfg.env.id, **env_kwargs(cfg))
    node = OmegaConf.create({"discount_levels": [0.0, 0.3], "inventory": {"cover": 2}})
    cfg = promotion_core.make_config("mini", node)
    assert cfg.discount_levels == (0.0, 0.3) and cfg.inventory.cover == 2.0
    with pytest.raises(ConfigError, match=r"hard.handoffs='yes'"):
        sim_config.config_from_dict(OmegaConf.create({"hard": {"handoffs": "yes"}}))


def test_good_types_are_accepted_and_normalised():
    """Ints in float fields, lists in tuple fields and NumPy scalars pass, as Python values."""
    cfg = promotion_core.make_config(
        "mini", {"endcap_reach": 1, "discount_levels": [0, 0.25], "episode_days": np.int64(3)}
    )
    assert cfg.endcap_reach == 1.0 and type(cfg.episode_days) is int
    assert cfg.discount_levels == (0, 0.25)
    for preset in sim_config.PRESETS:
        sim_config.make_config(preset)
    for preset in promotion_core.PRESETS:
        promotion_core.make_config(preset)


@pytest.mark.parametrize("seed", [2**70, 2**63 - 2, MAX_SEED + 1, -1, 1.5, True, "3"])
@pytest.mark.parametrize("env_id", [MINI, EASY])
def test_seed_range_is_the_same_for_single_and_vector_envs(env_id, seed):
    kw = {} if env_id == MINI else {"config": SHORT}
    single = gym.make(env_id, **kw)
    vector = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", **kw)
    for env in (single, vector):
        with pytest.raises(ConfigError, match=rf"seed={seed!r} .*\[0, {MAX_SEED}\]"):
            env.reset(seed=seed)


def test_largest_seed_is_accepted_by_both():
    gym.make(MINI).reset(seed=MAX_SEED)
    venv = gym.make_vec(MINI, num_envs=3, vectorization_mode="vector_entry_point")
    venv.reset(seed=MAX_SEED)
    assert venv.unwrapped.episode_seeds.tolist() == [MAX_SEED, MAX_SEED + 1, MAX_SEED + 2]


@pytest.mark.parametrize(
    "action, match",
    [
        (np.array(["0.5"] * 8), "real numbers, got dtype <U3"),
        (np.array([True] * 8), "real numbers, got dtype bool"),
        (np.array([0.5j] * 8), "real numbers, got dtype complex128"),
        (np.array([None] * 8), "real numbers, got dtype object"),
        (np.array([np.nan] * 8), "finite and in"),
    ],
)
def test_continuous_actions_must_be_real_numbers(action, match):
    env = gym.make(CONT, config={"catalog": {"assortment": "mini"}}).unwrapped
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match=match):
        env.step(action)


@pytest.mark.parametrize(
    "value, match",
    [
        (np.inf, r"integers, got \[inf, 0"),
        (1e30, r"action\[0\]=1e\+30 is out of range"),
        (-(2**70), r"got dtype object: \[-1180591620717411303424, 0"),
    ],
)
def test_discrete_action_errors_show_the_value_as_given(value, match):
    env = gym.make(MINI).unwrapped
    env.reset(seed=0)
    action = [value] + [0] * (env.action_space.shape[0] - 1)  # a list, as a user writes it
    with pytest.raises(InvalidActionError, match=match):
        env.step(action)


def test_promotion_raises_after_truncation_until_reset():
    env = gym.make(MINI).unwrapped
    env.reset(seed=0)
    a = np.zeros(env.action_space.shape, np.int64)
    truncated = False
    while not truncated:
        *_, truncated, _ = env.step(a)
    with pytest.raises(EpisodeStateError, match="truncated after 28 periods"):
        env.step(a)
    env.reset(seed=1)
    env.step(a)


def test_dead_shard_worker_is_named_with_its_exit_code():
    env = gym.make_vec(
        "RetailStore/Attribution-v0",
        num_envs=2,
        vectorization_mode="vector_entry_point",
        num_workers=2,
        config=SHORT,
    )
    try:
        env.reset(seed=0)
        proc = env.unwrapped._procs[1]
        proc.kill()
        proc.join(5)
        with pytest.raises(WorkerError, match=r"shard worker 1 \(pid \d+\) died: exit code -9"):
            env.step(np.zeros(2, np.int64))
        assert issubclass(WorkerError, RetailEnvError)
    finally:
        env.close()
