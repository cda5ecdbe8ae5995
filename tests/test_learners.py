"""Tiny runs of the attribution learners through the train app: BC, DAgger, PPO and
MaskablePPO with the set policy, PPO warm-started from DAgger. Each trains, checkpoints
(safe format), reloads and evaluates; seeded runs are reproducible bit for bit."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

pytest.importorskip("hydra")  # the train extra (Hydra); skip with only the dev extra

from hydra import compose, initialize_config_dir  # noqa: E402
from retail_env.experiments import runs  # noqa: E402

import retail_env  # noqa: E402,F401

torch = pytest.importorskip("torch")
pytest.importorskip("sb3_contrib")

CONF = Path(__file__).resolve().parents[1] / "conf"
ENV = "attribution_crowded"
TINY = [
    "experiment=smoke",
    f"env={ENV}",
    "+env.kwargs.config={episode_s:90.0,close_grace_s:30.0}",
    "agent.total_timesteps=384",
    "agent.n_envs=4",
]
LEARNERS = (
    "bc",
    "dagger",
    "ppo_set",
    "a2c_set",
    "maskable_ppo",
    "ppo_dagger",
)  # ppo_dagger after dagger


def _cfg(app: str, out: Path, *overrides: str):
    return compose(app, overrides=[*TINY, f"out_root={out}", *overrides])


def _train(out: Path, agent: str, *overrides: str) -> dict:
    from retail_env.experiments.train import train

    extra = (
        ["agent.imitation.rounds=2", "agent.imitation.batch_size=64"]
        + (["agent.imitation.value_coef=0.5"] if agent == "dagger" else [])
        if agent in ("bc", "dagger")
        else ["agent.hyperparams.n_steps=32"]
        + ([] if agent == "a2c_set" else ["agent.hyperparams.batch_size=64"])
    )
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = _cfg("train", out, f"agent={agent}", *extra, *overrides)
        return train(cfg, runs.run_dir(cfg))


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("learners")
    return out, {a: _train(out, a) for a in LEARNERS}


def _weights(rec: dict) -> dict:
    return torch.load(Path(rec["checkpoint"]) / "policy.pt", weights_only=True)


@pytest.mark.parametrize("agent", LEARNERS)
def test_learner_trains_checkpoints_and_evaluates(learned, agent):
    out, recs = learned
    rec = recs[agent]
    assert rec["train"]["steps_done"] >= 256
    assert len(rec["evaluation"]["scores"]) == 2
    assert 0.0 <= rec["evaluation"]["score"]["mean"] <= 1.0
    assert {"return", "exact_match_nonempty"} <= set(rec["evaluation"]["metrics"])
    assert {p.name for p in Path(rec["checkpoint"]).iterdir()} == {"policy.pt", "checkpoint.json"}
    rows = list(csv.DictReader(open(rec["learning_curve"])))
    assert len(rows) >= 2 and "time/total_timesteps" in rows[0]
    if agent in ("bc", "dagger"):
        assert [float(r["imitation/round"]) for r in rows] == [0.0, 1.0]
        assert all(0.0 <= float(r["imitation/agreement"]) <= 1.0 for r in rows)
    meta = json.loads((Path(rec["checkpoint"]) / "checkpoint.json").read_text())
    assert meta["hyperparams"]["policy"] == "set"


@pytest.mark.parametrize("agent", ["dagger", "maskable_ppo"])
def test_safe_reload_reproduces_the_training_evaluation(learned, agent):
    from retail_env.experiments.evaluate import evaluate

    out, recs = learned
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = _cfg("evaluate", out, f"agent={agent}", f"checkpoint={recs[agent]['checkpoint']}")
        rec = evaluate(cfg, out / "evals" / agent)
    assert rec["evaluation"]["scores"] == recs[agent]["evaluation"]["scores"]


def test_dagger_learns_from_labels_and_ppo_starts_from_its_weights(learned):
    out, recs = learned
    rows = list(csv.DictReader(open(recs["dagger"]["learning_curve"])))
    assert [float(r["imitation/beta"]) for r in rows] == [1.0, 0.5]
    assert float(rows[-1]["imitation/loss"]) < float(rows[0]["imitation/loss"])
    assert all(0.0 < float(r["imitation/value_loss"]) < 1e4 for r in rows)  # the critic fitted
    meta = json.loads((Path(recs["ppo_dagger"]["checkpoint"]) / "checkpoint.json").read_text())
    assert meta["init_from"] == str(Path(recs["dagger"]["checkpoint"]))
    dagger, tuned = _weights(recs["dagger"]), _weights(recs["ppo_dagger"])
    assert dagger.keys() == tuned.keys()
    # fine-tuned a little, from the DAgger weights (not from a fresh initialisation)
    fresh = _weights(recs["ppo_set"])
    diff = sum(float((tuned[k] - dagger[k]).abs().sum()) for k in dagger)
    far = sum(float((fresh[k] - dagger[k]).abs().sum()) for k in dagger)
    assert 0 < diff < 0.2 * far


def test_warm_start_refuses_a_checkpoint_of_another_policy(tmp_path):
    from retail_env.experiments.checkpoints import CheckpointError

    flat = _train(tmp_path, "ppo", "train.evaluate=false")  # the flat-MLP reference
    with pytest.raises(CheckpointError, match="does not fit a ppo policy"):
        _train(tmp_path, "ppo_dagger", f"agent.init_from={flat['checkpoint']}")


@pytest.mark.parametrize("agent", ["dagger", "ppo_set"])
def test_seeded_learner_runs_are_reproducible(learned, agent, tmp_path):
    out, recs = learned
    again = _train(tmp_path, agent)
    first, second = _weights(recs[agent]), _weights(again)
    assert all(torch.equal(first[k], second[k]) for k in first)  # bit for bit
    assert again["evaluation"]["scores"] == recs[agent]["evaluation"]["scores"]


def test_imitation_refuses_an_env_without_oracle_labels():
    from retail_env.agents.attribution.imitation import imitate
    from retail_env.agents.sb3_agents import build_model

    from retail_env.envs.sb3_vec import make_sb3_vec_env
    from retail_env.sim.validation import ConfigError

    venv = make_sb3_vec_env(
        "RetailStore/Attribution-Crowded-v0", 2, seed=0, config={"episode_s": 30.0}
    )
    model = build_model("bc", {"policy": "set", "n_steps": 8}, venv)
    with pytest.raises(ConfigError, match="oracle_info=True"):
        imitate(model, venv, {"rounds": 1}, 16)
    with pytest.raises(ConfigError, match="agent.imitation.beta"):
        imitate(model, venv, {"beta0": 2.0}, 16)
    venv.close()
