"""Experiments a researcher can trust (issue 22), end to end on tiny budgets.

Sweeps give distinct runs with the hyperparameters they claim (checked against the trained
model), a changed budget trains again, the leaderboard never pools unlike runs, and every
app exits non-zero on a failure.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("hydra")  # the train extra (Hydra); skip with only the dev extra

from hydra import compose, initialize_config_dir  # noqa: E402
from retail_env.experiments import runs  # noqa: E402

import retail_env  # noqa: E402,F401

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"
ENV = {
    **os.environ,
    "OMP_NUM_THREADS": "1",
    "SDL_VIDEODRIVER": "dummy",
    "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
}
SMOKE = ["experiment=smoke", "env=promotion_mini", "agent=ppo", "eval=smoke"]


@pytest.fixture(autouse=True)
def hydra_ctx():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield


def app(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def two_budgets(tmp_path_factory):
    """PPO on Mini at 256 and 512 steps, the models kept to read their actual settings."""
    from retail_env.agents import sb3_agents
    from retail_env.experiments.train import train

    out = tmp_path_factory.mktemp("trust")
    models, build = [], sb3_agents.build_model

    def keep(*a, **k):
        models.append(build(*a, **k))
        return models[-1]

    sb3_agents.build_model = keep
    try:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            recs = []
            for steps, lr in ((256, "1e-3"), (512, "1e-3"), (256, "3e-4")):
                cfg = compose(
                    "train",
                    overrides=[
                        *SMOKE,
                        f"out_root={out}",
                        f"train.total_timesteps={steps}",
                        f"agent.hyperparams.learning_rate={lr}",
                    ],
                )
                recs.append(train(cfg, runs.run_dir(cfg)))
    finally:
        sb3_agents.build_model = build
    return out, recs, models


def test_recorded_hyperparameters_are_the_models(two_budgets):
    _, recs, models = two_budgets
    for rec, model in zip(recs, models, strict=True):
        hp = rec["hyperparams"]
        ckpt = json.loads((Path(rec["checkpoint"]) / "checkpoint.json").read_text())
        assert ckpt["hyperparams"] == hp == rec["identity"]["agent"]["hyperparams"]
        assert model.policy.optimizer.param_groups[0]["lr"] == pytest.approx(hp["learning_rate"])
        assert model.lr_schedule(1.0) == pytest.approx(hp["learning_rate"])
        assert (model.n_steps, model.gamma, model.ent_coef, model.batch_size) == (
            hp["n_steps"],
            hp["gamma"],
            hp["ent_coef"],
            hp["batch_size"],
        )
    # the command line's 3e-4 beat by_task's 1e-3 (Promotion), in the record and the model
    assert [r["hyperparams"]["learning_rate"] for r in recs] == [1e-3, 1e-3, 3e-4]


def test_changed_budget_trains_again_and_an_identical_run_is_skipped(two_budgets, caplog):
    from retail_env.experiments.train import train

    out, recs, _ = two_budgets
    dirs = {Path(r["checkpoint"]).parents[1] for r in recs}
    assert len(dirs) == 3  # three identities, three folders
    assert recs[0]["train"]["steps_done"] == 256 and recs[1]["train"]["steps_done"] == 512
    assert recs[0]["run_id"] != recs[1]["run_id"] and recs[0]["group_id"] != recs[1]["group_id"]
    cfg = compose(
        "train",
        overrides=[
            *SMOKE,
            f"out_root={out}",
            "train.total_timesteps=256",
            "agent.hyperparams.learning_rate=1e-3",
        ],
    )
    with caplog.at_level(logging.INFO, logger="retail_env.experiments.runs"):
        assert train(cfg, runs.run_dir(cfg)) == recs[0]
    assert (
        f"skipped ppo RetailStore/Promotion-Mini-v2 seed 0 (run {recs[0]['run_id']})" in caplog.text
    )


def test_a_folder_holding_another_identity_is_rerun(two_budgets, tmp_path, caplog):
    """A results.json of another identity is never taken for this run (e.g. a moved folder)."""
    from retail_env.experiments.evaluate import evaluate

    cfg = compose(
        "evaluate",
        overrides=["env=promotion_mini", "agent=list_price", "eval=smoke", f"out_root={tmp_path}"],
    )
    d = tmp_path / "run"
    first = evaluate(cfg, d)
    other = compose(
        "evaluate",
        overrides=[
            "env=promotion_mini",
            "agent=list_price",
            "eval.n_episodes=3",
            f"out_root={tmp_path}",
        ],
    )
    with caplog.at_level(logging.WARNING, logger="retail_env.experiments.runs"):
        second = evaluate(other, d)
    assert "differs in eval.n_episodes" in caplog.text
    assert second["run_id"] != first["run_id"] and len(second["evaluation"]["scores"]) == 3


def test_leaderboard_splits_or_refuses_unlike_runs(two_budgets, tmp_path):
    from retail_env.experiments.leaderboard import write_leaderboard

    out, recs, _ = two_budgets
    board = write_leaderboard(out / "runs", tmp_path / "lb")
    rows = {r["label"]: r for r in board["rows"]}
    assert set(rows) == {
        "ppo [agent.hyperparams.learning_rate=0.001, train.total_timesteps=256]",
        "ppo [agent.hyperparams.learning_rate=0.001, train.total_timesteps=512]",
        "ppo [agent.hyperparams.learning_rate=0.0003, train.total_timesteps=256]",
    }
    assert {r["n"] for r in rows.values()} == {1}
    assert rows["ppo [agent.hyperparams.learning_rate=0.001, train.total_timesteps=512]"][
        "budget"
    ].startswith("512 steps x 1 seed")
    with pytest.raises(
        ValueError,
        match="ppo on RetailStore/Promotion-Mini-v2 has 3 unlike run "
        "groups that differ in agent.hyperparams.learning_rate, "
        "train.total_timesteps",
    ):
        write_leaderboard(out / "runs", tmp_path / "lb2", unlike="refuse")


def test_groups_no_key_tells_apart_each_keep_a_row():
    """Run groups whose identities show no difference (e.g. a legacy record beside a
    current one) are told apart by their group id, never merged or hidden."""
    from retail_env.experiments.leaderboard import run_groups

    recs = [
        {"env_id": "E", "agent": "a", "group_id": g, "identity": {"seed": 0, "x": 1}}
        for g in ("g1", "g2")
    ]
    groups = run_groups(recs)
    assert sorted(groups) == [("E", "a [group g1]"), ("E", "a [group g2]")]
    assert [len(v) for v in groups.values()] == [1, 1]


def test_leaderboard_pools_seeds_of_one_config(two_budgets, tmp_path):
    """Alike runs (seed apart) share a row; the budget is read from every record."""
    from retail_env.experiments.leaderboard import build_rows, latest_records

    out, recs, _ = two_budgets
    rec = json.loads((Path(recs[0]["checkpoint"]).parents[1] / "results.json").read_text())
    for seed in (1, 2):  # the same config at other seeds (copies of the record, reseeded)
        twin = {**rec, "seed": seed, "identity": {**rec["identity"], "seed": seed}}
        twin["run_id"] = f"twin{seed}"
        twin["train"] = {**rec["train"], "wall_s": 10.0 * seed}
        d = tmp_path / f"s{seed}"
        d.mkdir()
        (d / "results.json").write_text(json.dumps(twin))
    d = Path(recs[0]["checkpoint"]).parents[1]
    (tmp_path / "s0").mkdir()
    (tmp_path / "s0" / "results.json").write_text((d / "results.json").read_text())
    (row,) = build_rows(latest_records(tmp_path), unlike="refuse")
    assert row["label"] == "ppo" and row["n"] == 3
    wall = (rec["train"]["wall_s"] + 10.0 + 20.0) / 3
    assert (
        row["budget"] == f"256 steps x 3 seeds, {wall:.0f} s/seed ({rec['train']['vec_env']}, live)"
    )


def test_a_two_value_sweep_gives_two_runs(tmp_path):
    """The issue's command: a Hydra multirun over the learning rate writes two runs."""
    proc = app(
        "retail_env.experiments.train",
        "-m",
        *SMOKE,
        "agent.hyperparams.learning_rate=1e-3,3e-4",
        "train.total_timesteps=256",
        f"out_root={tmp_path}",
        "hydra/launcher=basic",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    recs = [json.loads(p.read_text()) for p in sorted(tmp_path.rglob("results.json"))]
    assert sorted(r["hyperparams"]["learning_rate"] for r in recs) == [3e-4, 1e-3]
    assert len({r["run_id"] for r in recs}) == 2
    assert {r["evaluation"]["n_episodes"] for r in recs} == {2}


@pytest.mark.parametrize(
    "args,match",
    [
        (["retail_env.experiments.train", "agent=random", "env=promotion_mini"], "is a baseline"),
        (["retail_env.experiments.train", "seed=abc"], "seed='abc' is not allowed"),
        (
            ["retail_env.experiments.evaluate", "agent=ppo", "checkpoint=/no/such/ckpt"],
            "no such folder",
        ),
        (
            [
                "retail_env.experiments.benchmark",
                "env=promotion_mini",
                "agent=list_price",
                "eval.n_episodes=0",
                "hydra/launcher=basic",
            ],
            "eval.n_episodes=0",
        ),
        (
            ["retail_env.experiments.leaderboard", "results_root=/no/such/results"],
            "no results.json",
        ),
        (
            ["retail_env.experiments.main", "scenario=promotion_mini", "baselines=[no_such_agent]"],
            "no_such_agent",
        ),
        (["retail_env.cli", "info", "/no/such/recording.npz"], "recording"),
    ],
)
def test_every_app_exits_non_zero_on_failure(args, match, tmp_path):
    out = [] if args[0] == "retail_env.cli" else [f"out_root={tmp_path}"]
    proc = app(*args, *out)
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert match in proc.stderr + proc.stdout


def test_committed_schema_1_runs_still_give_the_readme_table():
    """The committed leaderboard (one folder per seed, no recorded identity) is read with a
    derived identity: the same rows as the committed table, none split."""
    from retail_env.experiments.leaderboard import build_rows, latest_records, markdown

    runs_dir = REPO / "experiments" / "results" / "leaderboard" / "runs"
    rows = build_rows(latest_records(runs_dir))
    table = (REPO / "experiments" / "results" / "leaderboard.md").read_text()
    assert markdown(rows) + "\n" == table
    # only the learners' two MaskablePPO budgets and bc's two set-ups on Hard are split
    # (schema-1 runs never are)
    split = {r["label"] for r in rows if "[" in r["label"]}
    assert {s.split(" [")[0] for s in split} == {"maskable_ppo", "bc"}
    assert {s for s in split if s.startswith("maskable_ppo")} == {
        f"maskable_ppo [train.total_timesteps={n}]" for n in (200000, 600000)
    }
    assert sum("env.kwargs.observation=features_context" in s for s in split) == 1
