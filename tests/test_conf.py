"""conf/ composes for every group option (Hydra compose API) and agrees with the code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import gymnasium as gym
import pytest

pytest.importorskip("hydra")  # the train extra (Hydra); skip with only the dev extra

from hydra import compose, initialize_config_dir  # noqa: E402
from hydra.errors import ConfigCompositionException, MissingConfigException  # noqa: E402
from retail_env.experiments import runs  # noqa: E402

import retail_env  # noqa: E402,F401
from retail_env.envs.registry import ENV_IDS, PROMOTION_IDS  # noqa: E402
from retail_env.sim.validation import ConfigError  # noqa: E402

CONF = Path(__file__).resolve().parents[1] / "conf"
APPS = ("train", "evaluate", "benchmark")


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


@pytest.fixture(autouse=True)
def hydra_ctx():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield


def test_env_group_covers_every_registered_id_and_action_space():
    ids = {}
    for name in options("env"):
        cfg = compose("train", overrides=[f"env={name}"])
        assert cfg.env.name == name
        ids[cfg.env.id] = cfg.env
    # every id of the current versions; an older Promotion version (-v1) stays reachable
    # with env.id=... but has no file of its own
    current = [i for i in ENV_IDS if "Promotion" not in i or i in PROMOTION_IDS]
    assert sorted(ids) == sorted(current)
    for env_id, ecfg in ids.items():
        env = gym.make(env_id, **dict(ecfg.kwargs))
        assert type(env.action_space).__name__ == ecfg.action_space, env_id
        env.close()


@pytest.mark.parametrize("app", APPS)
@pytest.mark.parametrize("agent", options("agent"))
def test_every_agent_composes_in_every_app(app, agent):
    cfg = compose(app, overrides=[f"agent={agent}"])
    assert cfg.agent.name == agent
    assert cfg.agent.kind in ("baseline", "sb3")
    assert set(cfg.agent.tasks) <= set(runs.TASKS)


def test_baseline_agents_exist_in_code():
    from retail_env.agents.factory import agent_names

    for name in options("agent"):
        a = compose("evaluate", overrides=[f"agent={name}"]).agent
        if a.kind != "baseline":
            continue
        for task in a.tasks:
            assert name in agent_names(task), (name, task)


@pytest.mark.parametrize(
    "agent,env",
    [
        ("ppo", "promotion_mini"),
        ("a2c", "attribution"),
        ("dqn", "attribution"),
        ("sac", "promotion_continuous"),
    ],
)
def test_sb3_hyperparams_build_a_model(agent, env):
    from retail_env.agents.sb3_agents import build_model, resolved_hyperparams

    cfg = compose("train", overrides=[f"agent={agent}", f"env={env}"])
    runs.check_config(cfg)
    e = gym.make(cfg.env.id, **dict(cfg.env.kwargs))
    model = build_model(
        cfg.agent.algo, resolved_hyperparams(cfg.agent, cfg.env.task), e, inference=True
    )
    assert model.policy is not None


def test_eval_seeds_are_the_frozen_ones_of_the_evaluators():
    from retail_env.experiments.evaluate_attribution import EVAL_SEED0
    from retail_env.experiments.evaluate_promotion import EVAL_SEED_BASE

    for name in options("eval"):
        cfg = compose("evaluate", overrides=[f"eval={name}"])
        assert cfg.eval.seed0.attribution == EVAL_SEED0
        assert cfg.eval.seed0.promotion == EVAL_SEED_BASE
    cfg = compose("evaluate", overrides=["env=attribution_hard", "eval=quick"])
    assert runs.eval_seeds(cfg) == [EVAL_SEED0 + i for i in range(cfg.eval.n_episodes)]


@pytest.mark.parametrize("exp", options("experiment"))
def test_every_experiment_composes(exp):
    cfg = compose("benchmark", overrides=[f"experiment={exp}"], return_hydra_config=True)
    assert cfg.hydra.mode.name == "MULTIRUN"
    compose("train", overrides=[f"experiment={exp}"])


def test_pinned_experiment_sets_env_and_agent():
    cfg = compose("train", overrides=["experiment=attribution_hard_ppo"])
    assert (cfg.env.id, cfg.agent.algo) == ("RetailStore/Attribution-Hard-v0", "ppo")
    assert cfg.train.total_timesteps == cfg.agent.total_timesteps == 200_000


def test_benchmark_grids_cover_agents_presets_and_three_seeds():
    for exp in ("bench_attribution", "bench_promotion"):
        p = compose(
            "benchmark", overrides=[f"experiment={exp}"], return_hydra_config=True
        ).hydra.sweeper.params
        assert len(p.seed.split(",")) >= 3
        assert "ppo" in p.agent.split(",") and "random" in p.agent.split(",")
        for agent in p.agent.split(","):
            assert agent in options("agent")


PLUGINS = {
    "local": "hydra_plugins.hydra_joblib_launcher",
    "slurm": "hydra_plugins.hydra_submitit_launcher",
    "slurm_local": "hydra_plugins.hydra_submitit_launcher",
    "ray": "hydra_plugins.hydra_ray_launcher",
}


@pytest.mark.parametrize("launcher", options("hydra/launcher"))
def test_launchers_compose(launcher):
    assert importlib.util.find_spec(PLUGINS[launcher]) is not None, (
        f"{PLUGINS[launcher]} missing: pip install -e '.[launchers]'"
    )
    cfg = compose("train", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)
    target = cfg.hydra.launcher._target_
    expect = {
        "local": "JoblibLauncher",
        "slurm": "SlurmLauncher",
        "slurm_local": "LocalLauncher",
        "ray": "RayLauncher",
    }[launcher]
    assert target.endswith(expect), target
    if launcher == "local":
        assert cfg.hydra.launcher.n_jobs == 2


def test_default_launcher_is_local_joblib():
    cfg = compose("train", return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher")


def test_run_dir_is_per_env_agent_seed_and_run_id():
    cfg = compose(
        "train", overrides=["env=attribution_hard", "agent=a2c", "seed=2"], return_hydra_config=True
    )
    rid = runs.run_id(cfg)
    assert len(rid) == 12
    assert cfg.hydra.run.dir == f"outputs/runs/attribution_hard/a2c/seed2/{rid}"
    assert cfg.hydra.sweep.subdir == f"attribution_hard/a2c/seed2/{rid}"
    assert str(runs.run_dir(cfg)) == cfg.hydra.run.dir


# --- bad configs fail at once, naming the key -------------------------------------------
def test_unknown_group_option_is_refused():
    with pytest.raises(MissingConfigException, match="no_such_env"):
        compose("train", overrides=["env=no_such_env"])


def test_unknown_key_is_refused():
    with pytest.raises(ConfigCompositionException, match="trian"):
        compose("train", overrides=["trian.total_timesteps=5"])


@pytest.mark.parametrize(
    "overrides,match",
    [
        (["agent=nearest", "env=promotion_mini"], "attribution"),
        (["agent=dqn", "env=promotion"], "dqn.*attribution"),
        (["agent=sac", "env=attribution"], "promotion"),
        (["agent=hi_lo", "env=promotion_continuous"], "MultiDiscrete"),
        (["seed=10000"], "seed=10000"),
        (["seed=-1"], "seed=-1"),
        (["eval.n_episodes=0"], "eval.n_episodes=0"),
        (["agent.kind=tabular"], "agent.kind='tabular'"),
        (["seed=abc"], "seed='abc' is not allowed: must be a whole number"),
        (["seed=1.5"], "seed=1.5 is not allowed"),
        (["eval.n_episodes=two"], "eval.n_episodes='two'"),
    ],
)
def test_bad_combinations_raise_config_error(overrides, match):
    cfg = compose("train", overrides=overrides)
    with pytest.raises(ConfigError, match=match):
        runs.check_config(cfg)


@pytest.mark.parametrize(
    "hp,match",
    [
        ({"learning_rate": "lin_fast"}, "lin_<number>"),
        ({"no_such_hyperparameter": 1}, "no_such_hyperparameter"),
        ({"policy_kwargs": {"activation_fn": "sigmoid"}}, "activation_fn='sigmoid'"),
    ],
)
def test_bad_hyperparams_raise_config_error(hp, match):
    from retail_env.agents.sb3_agents import build_model

    env = gym.make("RetailStore/Promotion-Mini-v1")
    with pytest.raises(ConfigError, match=match):
        build_model("ppo", hp, env)
    with pytest.raises(ConfigError, match="algo='ddpg'"):
        build_model("ddpg", {}, env)
