"""The attribution env: spaces, actions, budget, reward terms, receipts, config, batching."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from retail_env.agents import make_agent, run_episode
from retail_env.experiments.evaluate_attribution import run_batch

import retail_env  # noqa: F401  (registers the ids)
from retail_env.envs.attribution.core import REWARD_TERMS
from retail_env.envs.attribution.observations import FlattenAttributionObs
from retail_env.envs.attribution.receipts import RECEIPT_KEYS
from retail_env.errors import InvalidActionError
from retail_env.sim.validation import ConfigError

SHORT = {"episode_s": 90.0, "close_grace_s": 60.0}  # quick episodes for tests
ID = "RetailStore/Attribution-v0"


def _episode(env, policy, seed):
    obs, info = env.reset(seed=seed)
    infos, obs_list = [info], [obs]
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy(obs, info))
        assert isinstance(reward, float) and np.isfinite(reward)
        assert truncated is False
        done = terminated
        infos.append(info)
        obs_list.append(obs)
    return obs_list, infos


@pytest.mark.parametrize("obs_type", ["features", "features_context", "raw", "features_raw"])
def test_observations_lie_in_their_space(obs_type):
    env = gym.make(ID, config={"observation": obs_type, **SHORT})
    rng = np.random.default_rng(0)
    obs_list, infos = _episode(
        env, lambda o, i: int(rng.choice(np.flatnonzero(i["action_mask"]))), seed=1
    )
    assert len(obs_list) > 5
    for obs in obs_list:
        assert env.observation_space.contains(obs)
        assert all(v.dtype == np.float32 for v in obs.values())
    assert any(o["mask"].sum() > 0 for o in obs_list)


def test_flatten_wrapper_passes_sb3_checker():
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    env = FlattenAttributionObs(gym.make(ID, config=SHORT))
    assert env.observation_space.dtype == np.float32 and env.observation_space.shape[0] > 50
    sb3_checker.check_env(env, warn=False)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_invalid_actions_raise_clear_errors():
    env = gym.make(ID, config=SHORT)
    env.reset(seed=0)
    K = env.unwrapped.K
    for bad in (K + 2, -1, 2.0, "0", np.array([0, 1]), True):
        with pytest.raises(InvalidActionError, match="action"):
            env.step(bad)
    env.step(np.int64(K))  # numpy integers and 0-d arrays are fine
    env.step(np.array(K))


def test_reward_terms_and_receipts_at_the_end():
    env = gym.make(ID, config=SHORT)
    _, infos = _episode(env, lambda o, i: i["oracle_action"], seed=2)
    for info in infos[1:]:
        assert tuple(info["rewards"]) == REWARD_TERMS
    assert "receipts" in infos[-1] and "receipts" not in infos[-2]
    rec = infos[-1]["receipts"]
    assert set(RECEIPT_KEYS) <= set(rec)
    assert 0.0 <= rec["exact_match"] <= 1.0 and rec["n_receipts"] > 0
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_review_beyond_budget_is_refused_and_penalised():
    env = gym.make(ID, config={"review_credit_start": 2.0, "review_budget": 0.0, **SHORT})
    _, info = env.reset(seed=3)
    review = env.unwrapped.review
    outcomes = []
    for _ in range(4):
        assert info["action_mask"][review] == (len(outcomes) < 2)
        _, _, done, _, info = env.step(review)
        outcomes.append(info["rewards"])
        if done:
            break
    assert [t["review"] < 0 for t in outcomes[:2]] == [True, True]
    assert all(t["refused"] < 0 and t["review"] == 0 for t in outcomes[2:])
    assert env.unwrapped.core.stats[0]["refused"] == len(outcomes) - 2


def test_charging_a_padded_candidate_is_penalised_as_no_one():
    env = gym.make(ID, config={"n_candidates": 16, **SHORT})
    _, info = env.reset(seed=4)
    while info["action_mask"][15]:
        _, _, _, _, info = env.step(env.unwrapped.no_one)
    charged_before = env.unwrapped.core.ledgers[0].charged.sum()
    _, _, _, _, info = env.step(15)
    assert info["rewards"]["empty_slot"] < 0
    assert env.unwrapped.core.ledgers[0].charged.sum() == charged_before


def test_overcharging_costs_more_than_undercharging():
    env = gym.make(ID, config=SHORT)
    _, info = env.reset(seed=5)
    core = env.unwrapped.core
    for _ in range(300):
        rec = core.head(0)
        acc, qty = [line[0] for line in rec.truth], [line[2] for line in rec.truth]
        wrong = [k for k in range(rec.n_cand) if rec.cand_account[k] not in (-1, *acc)]
        if len(acc) == 1 and qty[0] == 1 and wrong and rec.dw < 0:
            over = core.terms([core.charge_line(0, rec, wrong[0])], rec.truth)
            under = core.terms([], rec.truth)
            assert over["overcharge"] < under["undercharge"] < 0
            assert sum(over.values()) < sum(under.values())
            return
        _, _, done, _, info = env.step(info["oracle_action"])
        assert not done
    pytest.fail("no single-item pick with a wrong candidate found")


def test_config_by_kwargs_and_clear_config_errors():
    env = gym.make(
        ID, config={"n_candidates": 4, "store": {"shoppers": {"p_putback": 0.0}}, **SHORT}
    )
    assert env.action_space.n == 6
    assert env.observation_space["candidates"].shape[0] == 4
    assert env.unwrapped.core.sim.params.config.shoppers.p_putback == 0.0
    with pytest.raises(ConfigError, match="review_budget"):
        gym.make(ID, config={"review_budget": 2.0})
    with pytest.raises(ConfigError, match="bogus"):
        gym.make(ID, config={"bogus": 1})
    with pytest.raises(ConfigError, match="scenario"):
        gym.make(ID, config={"scenario": "nowhere"})
    with pytest.raises(ConfigError, match="preset='nowhere' is not allowed"):
        gym.make(ID, preset="nowhere")


def test_the_old_keyword_arguments_name_the_new_ones():
    with pytest.raises(ConfigError, match=r"scenario='hard' is now preset="):
        gym.make(ID, scenario="hard")
    with pytest.raises(ConfigError, match=r"episode_s= is not .*config=\{'episode_s': \.\.\.\}"):
        gym.make(ID, episode_s=60.0)
    with pytest.raises(ConfigError, match=r"observation=, store= are not .*config="):
        gym.make_vec(
            ID, num_envs=2, vectorization_mode="vector_entry_point", observation="raw", store={}
        )
    with pytest.raises(ValueError, match="render_mode"):
        gym.make(ID, render_mode="ascii")


def test_batched_core_matches_single_envs():
    """Store i of a batch decides exactly what the env seeded alike decides (receipts and
    rewards, term by term)."""
    seeds = [21, 22]
    batch = run_batch("medium", ["trajectory"], seeds, task=SHORT)["trajectory"]
    env = gym.make(ID, config=SHORT)
    agent = make_agent("trajectory", env)
    for seed, expected in zip(seeds, batch, strict=True):
        assert run_episode(env, agent, seed) == expected
        assert expected["return"] == pytest.approx(
            sum(v for k, v in expected.items() if k.startswith("reward_"))
        )


def test_oracle_beats_heuristics_beats_random():
    res = run_batch("medium", ["random", "nearest", "trajectory", "oracle"], [31, 32], task=SHORT)
    f1 = {a: np.mean([r["f1"] for r in rs]) for a, rs in res.items()}
    assert f1["oracle"] > f1["trajectory"] > f1["random"]
    assert f1["oracle"] > f1["nearest"] > f1["random"]


def test_oracle_is_perfect_on_easy():
    for r in run_batch("easy", ["oracle"], [41, 42, 43])["oracle"]:
        assert r["exact_match"] == 1.0 and r["f1"] == 1.0 and r["n_events"] > 0


def test_oracle_loses_only_what_no_decision_can_fix():
    """Below the ceiling (missed events) only when events needing review outran the budget."""
    for r in run_batch("hard", ["oracle"], [51, 52, 53], task=SHORT)["oracle"]:
        assert r["exact_match"] <= r["ceiling_exact_match"]
        assert r["n_reviews"] <= r["n_need_review"]
        if r["n_reviews"] == r["n_need_review"]:
            assert r["exact_match"] == r["ceiling_exact_match"]
            assert r["f1"] == r["ceiling_f1"]


def test_store_closes_then_every_visitor_is_scored():
    env = gym.make(ID, config=SHORT)
    _, infos = _episode(env, lambda o, i: env.unwrapped.no_one, seed=6)
    core = env.unwrapped.core
    assert not core.sim.state.gate_open[0]  # the gate closed
    assert core.now(0) >= core.end_tick
    rec = infos[-1]["receipts"]
    assert rec["n_receipts"] == core.ledgers[0].seen.sum() > 0
    assert rec["n_events"] == len(infos) - 1  # every event was decided
    assert rec["precision"] == 1.0 and rec["n_items_charged"] == 0  # no one charged
    late = [i["time_s"] for i in infos[1:-1]]
    assert late == sorted(late)  # decisions in time order
