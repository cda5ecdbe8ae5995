"""The ``features_raw`` observation: ``features_context`` with the raw windows beside it. The
live env and a replay of a bank built with its raw group give the same numbers; a raw bank
also replays the observations that do not read the windows. (The set policy's use of the
tracks: tests/test_context_features.py.)"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import retail_env  # noqa: F401
from retail_env.bank import build_bank
from retail_env.envs.attribution.env import AttributionEnv
from tests.test_context_features import TASK, _episode

ID = "RetailStore/Attribution-Hard-v0"


@pytest.fixture(scope="module")
def raw_bank(tmp_path_factory):
    return build_bank(
        tmp_path_factory.mktemp("bank") / "hard",
        seeds="3:5",
        shard_size=1,
        workers=1,
        progress=False,
        raw=True,
        **TASK,
    )


def _banked(obs_type: str, bank):
    short = {k: TASK[k] for k in ("episode_s", "close_grace_s")}
    return gym.make(ID, config={"observation": obs_type, **short}, bank=bank)


@pytest.mark.parametrize("obs_type", ["features_raw", "features"])
def test_raw_bank_replays_the_live_observations(raw_bank, obs_type):
    for seed in (3, 4):
        seen, taken = _episode(AttributionEnv(config={"observation": obs_type, **TASK}), seed)
        replay, _ = _episode(_banked(obs_type, raw_bank), seed, taken)
        assert len(replay) == len(seen) > 10
        for t, (a, b) in enumerate(zip(seen, replay, strict=True)):
            assert a.keys() == b.keys()
            for k in a:
                np.testing.assert_array_equal(a[k], b[k], err_msg=f"seed {seed} step {t} {k}")


def test_features_raw_holds_both_groups():
    """Its keys are features_context's and raw's (raw's ``event`` as ``window``), same values."""
    obs, _ = AttributionEnv(config={"observation": "features_raw", **TASK}).reset(seed=3)
    ctx, _ = AttributionEnv(config={"observation": "features_context", **TASK}).reset(seed=3)
    raw, _ = AttributionEnv(config={"observation": "raw", **TASK}).reset(seed=3)
    raw["window"] = raw.pop("event")
    assert obs.keys() == ctx.keys() | raw.keys()
    for k, v in {**raw, **ctx}.items():
        np.testing.assert_array_equal(v, obs[k], err_msg=k)
    assert obs["track_seen"][obs["mask"] > 0].any()
