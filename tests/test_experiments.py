"""Tiny end-to-end runs of the experiment apps: train -> evaluate -> leaderboard, resume, errors."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("hydra")  # the train extra (Hydra); skip with only the dev extra

from hydra import compose, initialize_config_dir  # noqa: E402
from retail_env.experiments import runs  # noqa: E402

import retail_env  # noqa: E402,F401

CONF = Path(__file__).resolve().parents[1] / "conf"


@pytest.fixture(autouse=True)
def hydra_ctx():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield


def cfg_for(app: str, out: Path, *overrides: str):
    return compose(app, overrides=["experiment=smoke", f"out_root={out}", *overrides])


def run_dir(out: Path, env: str, agent: str, seed: int = 0) -> Path:
    return out / "runs" / env / agent / f"seed{seed}"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny PPO run on the mini promotion preset (seconds) and one attribution run."""
    from retail_env.experiments.train import train

    out = tmp_path_factory.mktemp("exp")
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        recs = {
            env: train(cfg_for("train", out, f"env={env}", "agent=ppo"), run_dir(out, env, "ppo"))
            for env in ("promotion_mini", "attribution")
        }
    return out, recs


def test_train_writes_a_complete_run_record(trained):
    out, recs = trained
    d = run_dir(out, "promotion_mini", "ppo")
    rec = json.loads((d / "results.json").read_text())
    assert rec == json.loads(json.dumps(recs["promotion_mini"]))
    assert rec["seed"] == 0 and rec["env_id"] == "RetailStore/Promotion-Mini-v2"
    assert rec["config"]["agent"]["algo"] == "ppo" and "commit" in rec["git"]
    assert rec["train"]["steps_done"] >= 256
    ev = rec["evaluation"]
    assert ev["eval_seeds"] == [20240601, 20240602] and len(ev["scores"]) == 2
    assert ev["score"]["mean"] == pytest.approx(np.mean(ev["scores"]))
    assert (d / "config.yaml").is_file()
    assert (d / "logs" / "progress.csv").read_text().count("\n") >= 2
    assert {p.name for p in (d / "checkpoints" / "final").iterdir()} == {
        "policy.pt",
        "checkpoint.json",
    }


@pytest.mark.parametrize("env", ["promotion_mini", "attribution"])
def test_checkpoint_evaluation_reproduces_the_training_evaluation(trained, env):
    """Safe reload of the weights gives the same greedy policy: identical frozen-seed scores."""
    from retail_env.experiments.evaluate import evaluate

    out, recs = trained
    ckpt = recs[env]["checkpoint"]
    cfg = cfg_for("evaluate", out, f"env={env}", "agent=ppo", f"checkpoint={ckpt}")
    rec = evaluate(cfg, out / "evals" / env)
    assert rec["evaluation"]["scores"] == recs[env]["evaluation"]["scores"]
    assert rec["evaluation"]["eval_seeds"] == recs[env]["evaluation"]["eval_seeds"]


def test_end_to_end_leaderboard(trained, tmp_path):
    from retail_env.experiments.evaluate import evaluate
    from retail_env.experiments.leaderboard import write_leaderboard

    out, recs = trained
    for agent in ("random", "list_price", "lookahead"):
        evaluate(
            cfg_for("evaluate", out, "env=promotion_mini", f"agent={agent}"),
            run_dir(out, "promotion_mini", agent),
        )
    board = write_leaderboard(out / "runs", tmp_path / "lb", table=tmp_path / "leaderboard.md")
    rows = {(r["env_id"], r["agent"]): r for r in board["rows"]}
    mini = "RetailStore/Promotion-Mini-v2"
    assert rows[(mini, "random")]["norm_mean"] == pytest.approx(0.0, abs=1e-9)
    # best known: on v2 (as on v1) list price and lookahead are level on Mini, either may lead
    assert max(rows[(mini, a)]["norm_mean"] for a in ("list_price", "lookahead")) == pytest.approx(
        1.0
    )
    assert rows[(mini, "ppo")]["vs_best_heuristic"] == "unranked (< 3 seeds)"
    # beside Attribution's exact_match: exact_match over the non-empty receipts
    episodes = recs["attribution"]["evaluation"]["episodes"]
    attr = rows[("RetailStore/Attribution-v0", "ppo")]
    assert attr["nonempty"] == pytest.approx(np.mean([e["exact_match_nonempty"] for e in episodes]))
    assert rows[(mini, "ppo")]["nonempty"] is None
    for name in ("LEADERBOARD.md", "leaderboard.csv", "leaderboard.png", "learning_curves.png"):
        assert (tmp_path / "lb" / name).stat().st_size > 0
    md = (tmp_path / "lb" / "LEADERBOARD.md").read_text()
    assert "| list_price | baseline | 2 |" in md and "| privileged labels |" in md
    attr_md, mini_md = md.split(f"### {mini}")
    assert "exact_match, non-empty receipts" in attr_md
    assert "non-empty" not in mini_md
    ppo_row = next(line for line in md.splitlines() if line.startswith("| ppo |"))
    assert "| no | 256 steps x 1 seed" in ppo_row and "live)" in ppo_row  # no labels, live
    head = (tmp_path / "leaderboard_headline.md").read_text()  # the README's short table
    mini_row = next(line for line in head.splitlines() if line.startswith("| Promotion-Mini-v2 |"))
    assert "| ppo: " in mini_row and "| list_price: " in mini_row and "| lookahead: " in mini_row
    # the table file is what retail_env.experiments.readme_tables puts between the README's markers
    from retail_env.experiments.readme_tables import fill

    readme = "x\n<!-- table:leaderboard -->\nold\n<!-- /table:leaderboard -->\ny\n"
    text, filled, _ = fill(readme, tmp_path)
    assert filled == ["leaderboard"] and board["table"] in text and "old" not in text


def test_resume_skips_done_runs_and_redoes_crashed_ones(tmp_path, monkeypatch):
    from retail_env.experiments import evaluate as ev
    from retail_env.experiments.benchmark import run_job

    cfg = cfg_for("benchmark", tmp_path, "env=promotion_mini", "agent=list_price")
    d = run_dir(tmp_path, "promotion_mini", "list_price")
    first = run_job(cfg, d)
    stamp = (d / "results.json").stat().st_mtime_ns

    def boom(*a, **k):
        raise AssertionError("a finished run must not be redone")

    monkeypatch.setattr(ev, "evaluate_baseline", boom)
    assert (
        run_job(cfg, d)
        == json.loads((d / "results.json").read_text())
        == json.loads(json.dumps(first))
    )
    assert (d / "results.json").stat().st_mtime_ns == stamp
    # a run that crashes leaves no results.json and does not touch the finished one ...
    d2 = run_dir(tmp_path, "promotion_mini", "random")
    cfg2 = cfg_for("benchmark", tmp_path, "env=promotion_mini", "agent=random")
    with pytest.raises(AssertionError):
        run_job(cfg2, d2)
    assert (d2 / "config.yaml").is_file() and not (d2 / "results.json").exists()
    assert (d / "results.json").stat().st_mtime_ns == stamp
    # ... and the rerun completes it
    monkeypatch.undo()
    assert run_job(cfg2, d2)["agent"] == "random" and runs.read_done(d2) is not None
    # resume=false redoes a finished run
    run_job(
        cfg_for("benchmark", tmp_path, "env=promotion_mini", "agent=list_price", "resume=false"), d
    )
    assert (d / "results.json").stat().st_mtime_ns != stamp


def test_benchmark_skips_pairs_that_cannot_play(tmp_path):
    from retail_env.experiments.benchmark import run_job

    d = tmp_path / "x"
    assert run_job(cfg_for("benchmark", tmp_path, "env=promotion_mini", "agent=oracle"), d) is None
    assert run_job(cfg_for("benchmark", tmp_path, "env=promotion", "agent=dqn"), d) is None
    assert not d.exists()


def test_training_over_two_env_workers_learns_the_same_policy(trained, tmp_path):
    import torch
    from retail_env.experiments.train import train

    from retail_env.sim.validation import ConfigError

    out, recs = trained
    rec = train(
        cfg_for("train", tmp_path, "env=attribution", "agent=ppo", "train.env_workers=2"),
        run_dir(tmp_path, "attribution", "ppo"),
    )
    assert rec["evaluation"]["scores"] == recs["attribution"]["evaluation"]["scores"]
    one = torch.load(Path(recs["attribution"]["checkpoint"]) / "policy.pt", weights_only=True)
    two = torch.load(Path(rec["checkpoint"]) / "policy.pt", weights_only=True)
    assert all(torch.equal(one[k], two[k]) for k in one)  # the same weights, bit for bit
    with pytest.raises(ConfigError, match="train.env_workers=2"):
        train(
            cfg_for("train", tmp_path, "env=promotion_mini", "agent=ppo", "train.env_workers=2"),
            run_dir(tmp_path, "promotion_mini", "ppo"),
        )
    assert not run_dir(tmp_path, "promotion_mini", "ppo").exists()  # refused before starting


def test_training_on_a_bank_learns_what_live_training_learns(trained, tmp_path):
    """env.bank=auto builds a bank of the training seeds; within one episode per store
    (the smoke budget) PPO sees the same decisions, so learns the same weights."""
    import torch
    from retail_env.experiments.train import train

    from retail_env.bank import BankError

    out, recs = trained
    rec = train(
        cfg_for(
            "train",
            tmp_path,
            "env=attribution",
            "agent=ppo",
            "env.bank=auto",
            "train.bank_episodes=8",
        ),
        run_dir(tmp_path, "attribution", "ppo"),
    )
    assert rec["train"]["bank"]["episodes"] == 8 and rec["train"]["bank"]["seeds"] == [0, 8]
    assert "/" not in json.dumps(rec["train"]["bank"])  # no paths recorded
    one = torch.load(Path(recs["attribution"]["checkpoint"]) / "policy.pt", weights_only=True)
    two = torch.load(Path(rec["checkpoint"]) / "policy.pt", weights_only=True)
    assert all(torch.equal(one[k], two[k]) for k in one)
    assert rec["evaluation"]["scores"] == recs["attribution"]["evaluation"]["scores"]
    from retail_env.bank import build_bank

    ev = build_bank(
        tmp_path / "evalbank",
        scenario="easy",
        seeds="10000:10001",
        evaluation=True,
        workers=1,
        progress=False,
    )
    with pytest.raises(BankError, match="never used for training"):
        train(
            cfg_for("train", tmp_path / "b", "env=attribution", "agent=ppo", f"env.bank={ev}"),
            run_dir(tmp_path / "b", "attribution", "ppo"),
        )


# --- checkpoints: safe loading and clear errors ---------------------------------------
def test_checkpoint_errors(trained, tmp_path):
    import shutil

    import torch
    from retail_env.experiments.checkpoints import CheckpointError, load_checkpoint

    out, recs = trained
    ckpt = Path(recs["promotion_mini"]["checkpoint"])
    mini = gym.make("RetailStore/Promotion-Mini-v2")
    with pytest.raises(CheckpointError, match="no such folder"):
        load_checkpoint(tmp_path / "nope", mini)
    with pytest.raises(
        CheckpointError,
        match="trained on 'RetailStore/Promotion-Mini-v2', "
        "loaded for 'RetailStore/Promotion-v1'.*"
        "observation_space",
    ):
        load_checkpoint(
            ckpt, gym.make("RetailStore/Promotion-v1"), env_id="RetailStore/Promotion-v1"
        )
    bad = tmp_path / "bad"
    shutil.copytree(ckpt, bad)
    (bad / "policy.pt").unlink()
    with pytest.raises(CheckpointError, match="has no policy.pt"):
        load_checkpoint(bad, mini)

    class Evil:
        def __reduce__(self):
            return (print, ("arbitrary code ran",))

    torch.save({"x": Evil()}, bad / "policy.pt")
    with pytest.raises(CheckpointError, match="refused by safe loading"):
        load_checkpoint(bad, mini)
    with open(bad / "policy.pt", "wb") as f:
        pickle.dump({"x": 1}, f)
    with pytest.raises(CheckpointError):
        load_checkpoint(bad, mini)
    state = torch.load(ckpt / "policy.pt", weights_only=True)
    torch.save({k: v[..., :1] for k, v in state.items()}, bad / "policy.pt")
    with pytest.raises(CheckpointError, match="does not fit a ppo policy"):
        load_checkpoint(bad, mini)
    (bad / "checkpoint.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(bad, mini)


def test_evaluate_refuses_mismatched_agent_and_checkpoint(trained):
    from retail_env.experiments.checkpoints import CheckpointError
    from retail_env.experiments.evaluate import evaluate

    from retail_env.sim.validation import ConfigError

    out, recs = trained
    ckpt = recs["promotion_mini"]["checkpoint"]
    with pytest.raises(ConfigError, match="pass checkpoint="):
        evaluate(cfg_for("evaluate", out, "env=promotion_mini", "agent=ppo"), out / "e1")
    with pytest.raises(ConfigError, match="baseline"):
        evaluate(
            cfg_for("evaluate", out, "env=promotion_mini", "agent=myopic", f"checkpoint={ckpt}"),
            out / "e2",
        )
    with pytest.raises(CheckpointError, match="holds a ppo policy"):
        evaluate(
            cfg_for("evaluate", out, "env=promotion_mini", "agent=a2c", f"checkpoint={ckpt}"),
            out / "e3",
        )


def test_main_job_runs_the_whole_loop_and_resumes(tmp_path):
    """The README's main job on tiny budgets: baselines, PPO, leaderboard, recording + MP4."""
    import imageio_ffmpeg
    from retail_env.experiments.main import main_job

    cfg = compose(
        "main",
        overrides=[
            f"out_root={tmp_path}",
            "scenario=promotion_mini",
            "baselines=[random,list_price]",
            "total_timesteps=256",
            "n_envs=2",
            "eval_set=smoke",
            "learned=ppo",
        ],
    )
    s = main_job(cfg)
    assert {
        "baseline random",
        "baseline list_price",
        "train+evaluate ppo",
        "leaderboard",
        "record + mp4",
        "total",
    } == set(s["timings_s"])
    assert "| list_price | baseline | 2 |" in s["table"] and "| ppo | learned | 1 |" in s["table"]
    assert json.loads((tmp_path / "main.json").read_text())["video"] == s["video"]
    reader = imageio_ffmpeg.read_frames(s["video"]["mp4"])
    next(reader)  # the header
    assert sum(1 for _ in reader) == s["video"]["frames"] > 1
    (ppo_results,) = (tmp_path / "runs" / "promotion_mini" / "ppo").rglob("results.json")
    stamp = ppo_results.stat().st_mtime_ns
    again = main_job(cfg)  # a rerun skips the finished runs and the recording
    assert ppo_results.stat().st_mtime_ns == stamp
    assert again["video"] == s["video"] and again["table"] == s["table"]
    assert sorted(p.name for p in (tmp_path / "recording").iterdir()) == [
        "episode-0000.mp4",
        "episode-0000.npz",
    ]


def test_main_job_on_attribution_clones_the_oracle_on_a_bank(tmp_path):
    """The default main job's learner: bc trained on a small bank of the scenario."""
    from retail_env.experiments.main import main_job

    cfg = compose(
        "main",
        overrides=[
            f"out_root={tmp_path}",
            "scenario=attribution_easy",
            "baselines=[random]",
            "total_timesteps=512",
            "n_envs=2",
            "eval_set=smoke",
            "bank_episodes=2",
            "record.every=50",
        ],
    )
    s = main_job(cfg)
    assert s["train"]["bank"]["episodes"] == 2 and s["train"]["bank"]["scenario"] == "easy"
    assert "| bc | learned | 1 |" in s["table"] and "bank of 2 episodes" in s["table"]
    assert (tmp_path / "banks").is_dir() and s["video"]["frames"] > 1


def test_checkpoint_plays_another_id_with_identical_spaces_with_a_warning(trained, tmp_path):
    """Transfer: trained on Attribution-v0, evaluated on Attribution-Hard-v0 (same spaces)."""
    from retail_env.experiments.checkpoints import OtherEnvWarning
    from retail_env.experiments.evaluate import evaluate

    out, recs = trained
    cfg = cfg_for(
        "evaluate",
        tmp_path,
        "env=attribution_hard",
        "agent=ppo",
        f"checkpoint={recs['attribution']['checkpoint']}",
    )
    with pytest.warns(
        OtherEnvWarning,
        match="trained on 'RetailStore/Attribution-v0' and is "
        "played on 'RetailStore/Attribution-Hard-v0'",
    ):
        rec = evaluate(cfg, runs.run_dir(cfg, "evals"))
    assert rec["env_id"] == "RetailStore/Attribution-Hard-v0"
    assert rec["trained_env_id"] == "RetailStore/Attribution-v0"
    assert len(rec["evaluation"]["scores"]) == 2
