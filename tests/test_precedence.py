"""Override precedence and run identity, on composed configs (no training; seconds).

Precedence, highest first: command line > ``experiment=`` file > agent ``by_task`` > agent
defaults. A run's identity hashes every key that can change its results.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("hydra")  # the train extra (Hydra); skip with only the dev extra

from hydra import compose, initialize_config_dir  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from retail_env.experiments import identity, runs  # noqa: E402

import retail_env  # noqa: E402,F401

CONF = Path(__file__).resolve().parents[1] / "conf"
TASK_ENV = {"attribution": "attribution", "promotion": "promotion_mini"}


@pytest.fixture(autouse=True)
def hydra_ctx():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield


@pytest.fixture
def my_experiments(tmp_path):
    """An extra config folder with an experiment file that sets a hyperparameter."""
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "my_lr.yaml").write_text(
        "# @package _global_\nagent:\n  hyperparams:\n    learning_rate: 5.0e-4\n"
        "  total_timesteps: 4096\n"
    )
    return f"hydra.searchpath=[file://{tmp_path}]"


def hp(*overrides: str) -> dict:
    return OmegaConf.to_container(
        compose("train", overrides=list(overrides)).agent.hyperparams, resolve=True
    )


@pytest.mark.parametrize("agent", ["ppo", "a2c", "dqn", "sac"])
def test_every_by_task_entry_reaches_the_composed_hyperparams(agent):
    raw = OmegaConf.load(CONF / "agent" / f"{agent}.yaml")
    for task in raw.tasks:
        used = hp(f"agent={agent}", f"env={TASK_ENV[task]}")
        for key, value in (raw.by_task.get(task) or {}).items():
            assert used[key] == value, (agent, task, key)


def test_by_task_beats_the_default_and_the_command_line_beats_by_task():
    assert hp("env=promotion_mini")["learning_rate"] == 1e-3  # by_task
    assert (
        hp("env=promotion_mini", "agent.hyperparams.learning_rate=3e-4")["learning_rate"] == 3e-4
    )  # the case
    assert hp("env=attribution")["gamma"] == 0.9
    assert hp("env=attribution", "agent.hyperparams.gamma=0.99")["gamma"] == 0.99
    assert hp("env=promotion_mini")["gamma"] == 0.99  # no by_task: default


def test_experiment_file_beats_by_task_and_the_command_line_beats_both(my_experiments):
    cfg = compose("train", overrides=[my_experiments, "experiment=my_lr", "env=promotion_mini"])
    assert cfg.agent.hyperparams.learning_rate == 5e-4 and cfg.train.total_timesteps == 4096
    cfg = compose(
        "train",
        overrides=[
            my_experiments,
            "experiment=my_lr",
            "env=promotion_mini",
            "agent.hyperparams.learning_rate=2e-4",
            "train.total_timesteps=512",
        ],
    )
    assert cfg.agent.hyperparams.learning_rate == 2e-4 and cfg.train.total_timesteps == 512


@pytest.mark.parametrize("app", ["train", "benchmark"])
@pytest.mark.parametrize("exp,n", [("bench_promotion", 30), ("bench_attribution", 10)])
def test_command_line_eval_beats_a_bench_experiment(app, exp, n):
    assert compose(app, overrides=[f"experiment={exp}"]).eval.n_episodes == n
    for order in ([f"experiment={exp}", "eval=smoke"], ["eval=smoke", f"experiment={exp}"]):
        assert compose(app, overrides=order).eval.n_episodes == 2
    assert compose(app, overrides=[f"experiment={exp}", "eval.n_episodes=3"]).eval.n_episodes == 3


def test_command_line_budget_beats_a_pinned_experiment():
    cfg = compose("train", overrides=["experiment=promotion_mini_ppo", "agent.total_timesteps=64"])
    assert cfg.train.total_timesteps == 64


# --- run identity ---------------------------------------------------------------------
def rid(*overrides: str, app: str = "train") -> str:
    return runs.run_id(compose(app, overrides=["env=promotion_mini", *overrides]))


def test_every_result_changing_key_changes_the_run_id():
    base = rid()
    changed = [
        "agent.hyperparams.learning_rate=3e-4",
        "agent.hyperparams.n_steps=64",
        "train.total_timesteps=2048",
        "train.n_envs=4",
        "eval=smoke",
        "eval.deterministic=false",
        "+env.kwargs.config={reward_scale:1.0}",
        "agent=a2c",
        "env=promotion_fresh",
        "seed=1",
    ]
    ids = [rid(o) for o in changed]
    assert base not in ids and len(set(ids)) == len(ids)


def test_keys_that_cannot_change_results_keep_the_run_id():
    base = rid()
    for o in (
        "out_root=/elsewhere",
        "resume=false",
        "threads=2",
        "train.progress_bar=true",
        "train.tensorboard=false",
        "train.checkpoint_every=1000",
        "train.log_interval=5",
    ):
        assert rid(o) == base, o


def test_run_id_is_stable_and_version_dependent():
    cfg = compose("train", overrides=["env=promotion_mini"])
    a = identity.identity(cfg, "0.1.0")
    assert identity.run_id(a) == identity.run_id(identity.identity(cfg, "0.1.0"))
    assert identity.run_id(a) != identity.run_id(identity.identity(cfg, "0.2.0"))
    assert identity.group_id(a) == identity.group_id({**a, "seed": 7})


def test_baselines_ignore_the_training_budget_and_checkpoints_key_by_content(tmp_path):
    assert rid("agent=list_price") == rid("agent=list_price", "train.total_timesteps=5")
    assert rid("agent=list_price", app="evaluate") == rid("agent=list_price")
    a, b = tmp_path / "a", tmp_path / "b"
    for d, w in ((a, b"weights-a"), (b, b"weights-b")):
        d.mkdir()
        (d / "checkpoint.json").write_text("{}")
        (d / "policy.pt").write_bytes(w)
    ra = rid("agent=ppo", f"checkpoint={a}", app="evaluate")
    assert ra != rid("agent=ppo", f"checkpoint={b}", app="evaluate")
    (b / "policy.pt").write_bytes(b"weights-a")  # same content, other folder: same run
    assert ra == rid("agent=ppo", f"checkpoint={b}", app="evaluate")
    # the checkpoint's own hyperparameters are what it plays with, not the agent file's
    assert ra == rid("agent=ppo", f"checkpoint={a}", "agent.hyperparams.gamma=0.5", app="evaluate")


def test_differences_name_the_keys():
    a = identity.identity(compose("train", overrides=["env=promotion_mini"]), "0.1.0")
    b = identity.identity(
        compose("train", overrides=["env=promotion_mini", "seed=3", "train.total_timesteps=64"]),
        "0.1.0",
    )
    assert identity.differences([a, b]) == ["train.total_timesteps"]


def test_an_experiment_file_beats_the_train_defaults():
    """train.* keys of an experiment file take effect (they are not reset by train.yaml)."""
    smoke = compose("train", overrides=["experiment=smoke"])
    bank = compose("train", overrides=["experiment=bench_learners"])
    cli = compose("train", overrides=["experiment=bench_learners", "train.bank_episodes=64"])
    assert smoke.train.tensorboard is False
    assert bank.train.bank_episodes == 512 and bank.env.bank == "auto"
    assert cli.train.bank_episodes == 64
