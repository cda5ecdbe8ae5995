"""Baselines: built by name, valid actions, and the Hungarian agent's one-track-one-event rule."""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
import pytest
from retail_env.agents import AGENTS, make_agent, register_agent
from retail_env.agents.attribution.baselines import BASELINES, RandomAgent

import retail_env  # noqa: F401  (registers the ids)
from retail_env.errors import ConfigError

SHORT = {"episode_s": 60.0, "close_grace_s": 60.0}


def test_every_baseline_is_built_by_name_and_acts_validly():
    env = gym.make("RetailStore/Attribution-Hard-v0", config=SHORT)
    for name in BASELINES:
        agent = make_agent(name, env, seed=0)
        obs, info = env.reset(seed=0)
        agent.reset(seed=0)
        done, n = False, 0
        while not done:
            a = agent.act(obs, info)
            assert env.action_space.contains(a)
            if name != "random":  # random may ask for anything the mask allows
                assert info["action_mask"][a] or a == env.unwrapped.review
            obs, _, done, _, info = env.step(a)
            n += 1
        assert n > 0 and "receipts" in info


def test_unknown_agent_names_the_choices():
    env = gym.make("RetailStore/Attribution-v0", config=SHORT)
    with pytest.raises(ValueError, match="hungarian"):
        make_agent("genius", env)


def test_registry_is_a_dict_others_can_extend():
    register_agent("attribution", "my-random", RandomAgent)
    assert isinstance(AGENTS, dict) and "my-random" in AGENTS["attribution"]
    env = gym.make("RetailStore/Attribution-v0", config=SHORT)
    assert isinstance(make_agent("my-random", env), RandomAgent)
    del AGENTS["attribution"]["my-random"]


def test_one_registry_builds_either_tasks_agents_by_the_env():
    """``random`` is a baseline of both tasks: the env's task picks which; an agent of the
    other task is refused naming the task's own."""
    from retail_env.agents.promotion.baselines import RandomPolicy

    attr = gym.make("RetailStore/Attribution-v0", config=SHORT)
    promo = gym.make("RetailStore/Promotion-Mini-v2")
    assert isinstance(make_agent("random", attr), RandomAgent)
    assert isinstance(make_agent("random", promo), RandomPolicy)
    with pytest.raises(ConfigError, match="agent='hi_lo' is unknown for the attribution task"):
        make_agent("hi_lo", attr)
    with pytest.raises(ConfigError, match="'list_price'"):
        make_agent("hungarian", promo)


def _place(rec, dists):
    """Put candidate k at a constant distance dists[k] from the plate all window long."""
    rec.cand_rel = np.full_like(rec.cand_rel, np.nan)
    for k, d in enumerate(dists):
        rec.cand_rel[k, :, 0] = d
        rec.cand_rel[k, :, 1] = 0.0
    rec.n_cand = len(dists)
    rec.cand_account[: len(dists)] = np.arange(len(dists)) + 100
    rec.cand_track[: len(dists)] = np.arange(len(dists))


def test_hungarian_gives_each_track_one_concurrent_event():
    env = gym.make("RetailStore/Attribution-Easy-v0", config=SHORT)
    obs, info = env.reset(seed=0)
    core = env.unwrapped.core
    head = core.head(0)
    head.dw = -core.unit_w[head.product]  # a clean one-item pick
    _place(head, [0.3, 0.5])
    other = copy.copy(head)
    other.plate = int(np.flatnonzero(np.arange(core.sim.params.n_plates) != head.plate)[0])
    other.cand_rel, other.cand_track = head.cand_rel.copy(), head.cand_track.copy()
    other.cand_account = head.cand_account.copy()
    _place(other, [0.2, 0.9])  # track 0 is far better placed for the other event
    core.queues[0].append(other)
    hungarian = make_agent("hungarian", env, sure=0.0)
    nearest = make_agent("nearest", env)
    assert nearest.act(obs, info) == 0
    assert hungarian.act(obs, info) == 1


def test_none_charges_nobody_and_scores_only_empty_baskets():
    env = gym.make("RetailStore/Attribution-Hard-v0", config=SHORT)
    agent = make_agent("none", env)
    obs, info = env.reset(seed=3)
    done = False
    while not done:
        a = agent.act(obs, info)
        assert a == env.unwrapped.no_one
        obs, _, done, _, info = env.step(a)
    rec = info["receipts"]
    assert rec["n_items_charged"] == 0 and rec["n_items_true"] > 0
    assert rec["exact_match_nonempty"] == 0.0
    assert 0.0 < rec["exact_match"] < 1.0  # the empty baskets' share
