"""The ``features_context`` observation: its context columns are read from the event records
(never live state), so the single env, the vector env (which runs stores ahead and shows
each ``as_of`` its decision tick) and an episode bank give the same numbers; the set policy
takes the extra columns per slot."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import retail_env  # noqa: F401
from retail_env.bank import build_bank
from retail_env.envs.attribution.context_features import CONTEXT_FEATURES, context_rows
from retail_env.envs.attribution.env import AttributionEnv
from retail_env.envs.attribution.observations import FAR_M, LIM
from retail_env.envs.attribution.vector import AttributionVectorEnv

TASK = {"scenario": "hard", "episode_s": 150.0, "close_grace_s": 60.0}
OBS = "features_context"
C = {name: i for i, name in enumerate(CONTEXT_FEATURES)}


def _episode(env, seed: int, actions: list[int] | None = None):
    """Observations of a whole episode; actions mixed (oracle, review, any), or replayed."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    seen, taken, t = [obs], [], 0
    K = env.action_space.n - 2
    while True:
        if actions is None:
            u = rng.random()
            a = (
                int(info["oracle_action"])
                if u < 0.5
                else K + 1
                if u < 0.6
                else int(rng.integers(0, K + 2))
            )
        else:
            a = actions[t]
        taken.append(a)
        t += 1
        obs, _, term, _, info = env.step(a)
        if term:
            return seen, taken
        seen.append(obs)


@pytest.fixture(scope="module")
def single():
    """Seeds 3 and 4 played by the single live env (observations, actions)."""
    return {s: _episode(AttributionEnv(config={"observation": OBS, **TASK}), s) for s in (3, 4)}


def test_context_has_concurrent_events(single):
    ctx = np.concatenate([np.stack([o["context"] for o in obs]) for obs, _ in single.values()])
    assert ctx.shape[1:] == (6, len(CONTEXT_FEATURES))
    assert (ctx[..., C["other_events"]] > 0).any()  # Hard: events overlap
    assert (ctx[..., C["other_nearest"]] > 0).any()
    assert ctx[..., C["other_d_min_m"]].min() < FAR_M
    # a slot is the nearest exactly when its lead is positive; rank 0 for the nearest
    valid = np.concatenate([np.stack([o["mask"] for o in obs]) for obs, _ in single.values()])
    lead, rank = ctx[..., C["d_min_lead_m"]], ctx[..., C["d_min_rank"]]
    assert np.all(rank[(lead > 0) & (valid > 0)] == 0)
    assert np.all(ctx[valid == 0] == 0)


def test_vector_env_shows_the_same_context(single):
    """Stores of a vector env run ahead of their decisions: features read from live state
    would see later events here and differ."""
    venv = AttributionVectorEnv(2, config={"observation": OBS, **TASK})
    obs, _ = venv.reset(seed=3)
    steps = [0, 0]
    done = [False, False]
    while not all(done):
        acts = np.zeros(2, np.int64)
        for i, s in enumerate((3, 4)):
            seen, taken = single[s]
            if not done[i]:
                for k in obs:
                    np.testing.assert_array_equal(
                        obs[k][i], seen[steps[i]][k], err_msg=f"seed {s} step {steps[i]} {k}"
                    )
                acts[i] = taken[steps[i]]
        obs, _, term, _, _ = venv.step(acts)
        for i in range(2):
            if not done[i]:
                steps[i] += 1
                done[i] = bool(term[i])


def test_bank_replays_the_same_context(single, tmp_path):
    bank = build_bank(
        tmp_path / "bank", seeds="3:5", shard_size=1, workers=1, progress=False, **TASK
    )
    for s in (3, 4):
        seen, taken = single[s]
        replay, _ = _episode(
            gym.make(
                "RetailStore/Attribution-Hard-v0",
                config={
                    "observation": OBS,
                    "episode_s": TASK["episode_s"],
                    "close_grace_s": TASK["close_grace_s"],
                },
                bank=bank,
            ),
            s,
            taken,
        )
        assert len(replay) == len(seen)
        for t, (a, b) in enumerate(zip(seen, replay, strict=True)):
            for k in a:
                np.testing.assert_array_equal(a[k], b[k], err_msg=f"seed {s} step {t} {k}")


class _Rec:
    """A stand-in event record (what context_rows reads)."""

    def __init__(self, plate, tracks, d_min, K=3, H=4):
        self.plate, self.n_cand = plate, len(tracks)
        self.cand_track = np.array(tracks + [-1] * (K - len(tracks)))
        self.lo, self.hi = 0, H - 1
        self.cand_rel = np.full((K, H, 2), np.nan, np.float32)  # constant distance d_min
        for k, d in enumerate(d_min):
            self.cand_rel[k, :, 0] = d
            self.cand_rel[k, :, 1] = 0.0


def test_context_rows_by_hand():
    """Track 7 is nearest here by 0.5 m but nearer still (by 1 m) to another plate's event."""
    K = 3
    rec = _Rec(0, [7, 8], [0.5, 1.0])
    other = _Rec(1, [9, 7], [1.3, 0.3])
    own = np.zeros((1, K, 16), np.float32)
    own[0, :2, 0] = [0.5, 1.0]
    out = context_rows(own, [rec], [[other]], hz=10, reach=1.0, lim=LIM, far=FAR_M)[0]
    np.testing.assert_allclose(out[:2, C["d_min_lead_m"]], [0.5, -0.5], atol=1e-6)
    np.testing.assert_allclose(out[:2, C["d_min_rank"]], [0, 1 / K], rtol=1e-6)
    np.testing.assert_array_equal(out[:2, C["other_events"]], [1, 0])
    np.testing.assert_array_equal(out[:2, C["other_nearest"]], [1, 0])
    assert out[0, C["other_same_plate"]] == 0
    np.testing.assert_allclose(out[0, C["other_d_min_m"]], 0.3, atol=1e-6)
    np.testing.assert_allclose(out[0, C["other_lead_m"]], 1.0, atol=1e-6)
    np.testing.assert_allclose(out[0, C["d_min_vs_other_m"]], 0.2, atol=1e-6)
    assert out[1, C["other_d_min_m"]] == FAR_M and out[1, C["other_lead_m"]] == -FAR_M
    assert np.all(out[2] == 0)  # padded slot


@pytest.mark.parametrize("obs_type", [OBS, "features_raw"])
def test_set_policy_reads_the_context_per_slot(obs_type):
    """Permuting the real slots (candidates, context and, with features_raw, tracks
    together) permutes the logits; changing a slot's context, or its track, changes its
    logit."""
    torch = pytest.importorskip("torch")  # the train extra
    from retail_env.agents.attribution.set_policy import SetPolicy

    env = AttributionEnv(config={"observation": obs_type, **TASK})
    obs, _ = env.reset(seed=3)
    pol = SetPolicy(env.observation_space, env.action_space, lambda _: 1e-3)
    n = int(obs["mask"].sum())
    assert n >= 2
    perm = np.arange(6)
    perm[:n] = np.roll(np.arange(n), 1)
    slots = ("candidates", "context", "mask", "tracks", "track_seen")
    swapped = {k: (v[perm] if k in slots else v) for k, v in obs.items()}

    def logits(o):
        with torch.no_grad():
            return pol.mlp_extractor.forward_actor(pol.extract_features(pol.obs_to_tensor(o)[0]))[0]

    a, b = logits(obs), logits(swapped)
    assert torch.allclose(a[perm], b[:6], atol=1e-5) and torch.allclose(a[6:], b[6:], atol=1e-6)
    eye = np.eye(6, len(CONTEXT_FEATURES))[:, ::-1].astype(np.float32)
    assert not torch.allclose(a[:n], logits(dict(obs, context=obs["context"] + eye))[:n])
    if obs_type == "features_raw":
        moved = dict(obs, tracks=obs["tracks"].copy())
        moved["tracks"][0] += 0.5
        assert not torch.allclose(a[0], logits(moved)[0])
