"""Issue 21: a tampered checkpoint is a CheckpointError naming the file, before SB3 builds
anything large (bounded JSON values, weights checked against the JSON, finite weights)."""

from __future__ import annotations

import json
import shutil

import gymnasium as gym
import pytest

pytest.importorskip("torch")  # the train extra; skip with only the dev extra
import torch
from retail_env.agents.sb3_agents import build_model
from retail_env.experiments.checkpoints import (
    META,
    WEIGHTS,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)

import retail_env  # noqa: F401
from retail_env.errors import RetailEnvError

ENV_ID = "RetailStore/Promotion-Mini-v1"
HP = {"n_steps": 16, "batch_size": 16, "policy_kwargs": {"net_arch": [8, 8]}}


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    env = gym.make(ENV_ID)
    model = build_model("ppo", HP, env, seed=0)
    return save_checkpoint(
        model,
        tmp_path_factory.mktemp("ck") / "c",
        {"algo": "ppo", "hyperparams": HP, "env_id": ENV_ID},
    )


def _copy(ckpt, tmp_path):
    out = tmp_path / "t"
    shutil.copytree(ckpt, out)
    return out


def _edit_meta(folder, **hp):
    meta = json.loads((folder / META).read_text())
    meta["hyperparams"] = {**meta["hyperparams"], **hp}
    (folder / META).write_text(json.dumps(meta))


def test_a_whole_checkpoint_loads(ckpt):
    model = load_checkpoint(ckpt, gym.make(ENV_ID))
    assert model.policy.mlp_extractor.policy_net[0].out_features == 8


@pytest.mark.parametrize(
    "hp, match",
    [
        (
            {"policy_kwargs": {"net_arch": [60000, 60000]}},
            r"net_arch=\[60000, 60000\] is not allowed",
        ),
        ({"policy_kwargs": {"net_arch": [8] * 40}}, r"at most 16 layers of 1 to 4096 units"),
        ({"policy_kwargs": {"net_arch": {"pi": [8, "8"], "vf": [8]}}}, r"net_arch.pi=\[8, '8'\]"),
        (
            {"policy_kwargs": {"net_arch": [16, 16]}},
            r"net_arch=\[16, 16\] has layers of \[16\] units",
        ),
        ({"n_steps": 1_000_000_000}, r"hyperparams.n_steps=1000000000 is not allowed"),
        ({"n_steps": 16.5}, r"hyperparams.n_steps=16.5"),
        ({"buffer_size": 10**12}, r"hyperparams.buffer_size"),
        ({"learning_rate": float("nan")}, r"hyperparams.learning_rate=nan is not a finite number"),
        ({"policy_kwargs": 3}, r"policy_kwargs is 3, not an object"),
        ({"no_such_key": 1}, r"agent.hyperparams is not allowed for PPO"),
    ],
)
def test_tampered_json_is_refused_before_building(ckpt, tmp_path, hp, match):
    bad = _copy(ckpt, tmp_path)
    _edit_meta(bad, **hp)
    with pytest.raises(CheckpointError, match=match) as info:
        load_checkpoint(bad, gym.make(ENV_ID))
    assert str(bad) in str(info.value)


def test_truncated_weights_are_reported_as_truncated(ckpt, tmp_path):
    bad = _copy(ckpt, tmp_path)
    data = (bad / WEIGHTS).read_bytes()
    (bad / WEIGHTS).write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=rf"{WEIGHTS} is truncated or not a PyTorch"):
        load_checkpoint(bad, gym.make(ENV_ID))


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(ckpt, tmp_path, value):
    bad = _copy(ckpt, tmp_path)
    state = torch.load(bad / WEIGHTS, weights_only=True)
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name] = state[name].clone().fill_(value)
    torch.save(state, bad / WEIGHTS)
    with pytest.raises(CheckpointError, match=rf"tensor '{name}' holds non-finite values"):
        load_checkpoint(bad, gym.make(ENV_ID))
    assert issubclass(CheckpointError, RetailEnvError)


def test_weights_of_another_architecture_are_refused(ckpt, tmp_path):
    bad = _copy(ckpt, tmp_path)
    state = torch.load(bad / WEIGHTS, weights_only=True)
    state = {k: torch.zeros((4, *v.shape[1:])) if v.ndim == 2 else v for k, v in state.items()}
    torch.save(state, bad / WEIGHTS)
    with pytest.raises(CheckpointError, match=r"net_arch=\[8, 8\] has layers of \[8\] units"):
        load_checkpoint(bad, gym.make(ENV_ID))
