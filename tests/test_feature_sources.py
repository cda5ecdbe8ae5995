"""Features read event records, never the live simulator (CONTRIBUTING.md, "two rules").

The vector env runs its stores ahead of their decisions and hides what came later by
showing each store's queue as of its decision tick; a feature read from the live state
(positions, plate readings, the random streams) would see the future there, and only
there. So every observation is rebuilt with the live state replaced by a tripwire: any
read of it fails the test, and the rebuilt rows must equal the env's.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import retail_env  # noqa: F401  (registers the ids)

OBSERVATIONS = ["features", "features_context", "raw", "features_raw"]


class _Tripwire:
    """Stands in for live simulator state: reading any attribute fails."""

    def __init__(self, what: str):
        self._what = what

    def __getattr__(self, name: str):
        raise AssertionError(
            f"a feature read live simulator state: {self._what}.{name} "
            "(read it from the event record instead)"
        )


class _LiveStateHidden:
    """Within the block the simulator's dynamic state and random streams are tripwires."""

    def __init__(self, core):
        self.sim = core.sim

    def __enter__(self):
        self.saved = self.sim.state, self.sim.rng
        self.sim.state, self.sim.rng = _Tripwire("sim.state"), _Tripwire("sim.rng")

    def __exit__(self, *exc):
        self.sim.state, self.sim.rng = self.saved


def _equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_the_tripwire_catches_a_live_read():
    env = gym.make("RetailStore/Attribution-v0")
    env.reset(seed=0)
    core = env.unwrapped.core
    with _LiveStateHidden(core), pytest.raises(AssertionError, match="sim.state.cell"):
        core.sim.state.cell  # noqa: B018  (the read the tripwire must catch)
    env.close()


@pytest.mark.parametrize("observation", OBSERVATIONS)
def test_single_env_features_come_from_event_records(observation):
    env = gym.make("RetailStore/Attribution-Hard-v0", config={"observation": observation})
    obs, info = env.reset(seed=3)
    base = env.unwrapped
    for step in range(60):
        if step % 10 == 0:
            with _LiveStateHidden(base.core):
                again = base._obs.observe(0)
            _equal(again, obs)
        obs, _, terminated, truncated, info = env.step(info["oracle_action"])
        assert not (terminated or truncated)
    env.close()


@pytest.mark.parametrize("observation", OBSERVATIONS)
def test_vector_env_features_come_from_event_records(observation):
    venv = gym.make_vec(
        "RetailStore/Attribution-Hard-v0",
        num_envs=4,
        vectorization_mode="vector_entry_point",
        config={"observation": observation},
        oracle_info=True,
    )
    obs, info = venv.reset(seed=5)
    core = venv.unwrapped.core
    for step in range(40):
        if step % 8 == 0:
            with _LiveStateHidden(core):
                again = venv._observe(np.ones(venv.num_envs, bool))
            _equal(again, obs)
        obs, _, _, _, info = venv.step(info["oracle_action"])
    venv.close()
