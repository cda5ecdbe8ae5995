"""The episode bank: banked episodes equal live ones bit for bit, for every Attribution id
(generated from the registry), every baseline acts alike on both, and bad banks fail
clearly."""

from __future__ import annotations

import json
import os
import shutil

import gymnasium as gym
import numpy as np
import pytest
from retail_env.agents.factory import make_agent

import retail_env  # noqa: F401
from retail_env.bank import Bank, BankError, build_bank, build_shard, plan
from retail_env.bank.store import shard_lock
from retail_env.envs.attribution.core import RAW_TYPES
from retail_env.envs.attribution.vector import AttributionVectorEnv
from retail_env.envs.registry import ATTRIBUTION_SPECS, attribution_config
from retail_env.envs.seeds import EVAL_SEEDS, draw_seed, draw_seeds, is_eval_seed
from retail_env.sim.validation import to_dict

IDS = [env_id for env_id, _, _ in ATTRIBUTION_SPECS]
SEEDS = "3:5"  # two episodes per bank


@pytest.fixture(scope="module")
def banks(tmp_path_factory):
    """One small bank per registered Attribution id (raw group where the id observes raw)."""
    root = tmp_path_factory.mktemp("banks")
    out = {}
    for env_id in IDS:
        task, store = attribution_config(env_id)
        task = to_dict(task)
        raw = task["observation"]["type"] in RAW_TYPES
        out[env_id] = build_bank(
            root / env_id.split("/")[1],
            task.pop("scenario"),
            seeds=SEEDS,
            store=store,
            shard_size=1,
            workers=1,
            progress=False,
            raw=raw,
            **task,
        )
    return out


def _same(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    else:
        assert type(a) is type(b) or np.asarray(a).dtype == np.asarray(b).dtype, where
        assert np.array_equal(np.asarray(a), np.asarray(b)), where


def _play(env, seed: int, rng: np.random.Generator) -> list:
    """A whole episode with mixed actions (valid, padded slots, reviews, the oracle's)."""
    obs, info = env.reset(seed=seed)
    out = [(obs, info)]
    K = env.action_space.n - 2
    while True:
        u = rng.random()
        a = (
            int(info["oracle_action"])
            if u < 0.4
            else K + 1
            if u < 0.5
            else int(rng.integers(0, K + 2))
        )
        obs, r, term, trunc, info = env.step(a)
        out.append((obs, r, term, trunc, info))
        if term:
            return out


@pytest.mark.parametrize("env_id", IDS)
def test_banked_episode_equals_live(banks, env_id):
    for seed in (3, 4):
        live = _play(gym.make(env_id), seed, np.random.default_rng(seed))
        banked = _play(gym.make(env_id, bank=banks[env_id]), seed, np.random.default_rng(seed))
        assert len(live) == len(banked)
        for i, (x, y) in enumerate(zip(live, banked, strict=True)):
            for j, (u, v) in enumerate(zip(x, y, strict=True)):
                _same(u, v, f"{env_id} seed {seed} step {i} item {j}")
        assert "receipts" in banked[-1][-1]


@pytest.mark.parametrize("agent", ["random", "nearest", "trajectory", "hungarian", "oracle"])
def test_baselines_act_alike_on_bank(banks, agent):
    env_id = "RetailStore/Attribution-Hard-v0"
    acts = []
    for env in (gym.make(env_id), gym.make(env_id, bank=banks[env_id])):
        pol = make_agent(agent, env, seed=0)
        obs, info = env.reset(seed=4)
        pol.reset(seed=0)
        seq, term = [], False
        while not term:
            a = pol.act(obs, info)
            seq.append(a)
            obs, _, term, _, info = env.step(a)
        acts.append((seq, info["receipts"]))
    assert acts[0] == acts[1]


def test_vector_env_replays_bank(banks):
    env_id = "RetailStore/Attribution-v0"
    live = AttributionVectorEnv(2, preset="medium", oracle_info=True)
    bank = AttributionVectorEnv(2, preset="medium", oracle_info=True, bank=banks[env_id])
    rng = np.random.default_rng(0)
    a_obs, a_info = live.reset(seed=3)
    b_obs, b_info = bank.reset(seed=3)
    _same(a_obs, b_obs, "reset obs")
    _same(a_info, b_info, "reset info")
    for t in range(60):
        acts = np.where(rng.random(2) < 0.5, a_info["oracle_action"], rng.integers(0, 8, 2))
        a = live.step(acts)
        b = bank.step(acts)
        for j, (u, v) in enumerate(zip(a, b, strict=True)):
            _same(u, v, f"step {t} item {j}")
        a_info = a[4]
    # autoresets draw from the bank's seeds, reproducibly
    bank.reset(seed=None)
    assert set(bank.episode_seeds.tolist()) <= {3, 4}


def test_bank_files_and_reuse(banks, tmp_path):
    root = banks["RetailStore/Attribution-v0"]
    m = json.loads((root / "manifest.json").read_text())
    assert m["seeds"] == [3, 5] and m["n_shards"] == 2 and not m["evaluation"]
    for f in ("events.arrow", "episodes.arrow", "shard.json"):
        assert (root / "shard-00000" / f).exists()
    import pyarrow as pa
    import pyarrow.ipc  # noqa: F401

    table = pa.ipc.open_file(str(root / "shard-00000" / "events.arrow")).read_all()
    assert table.num_rows > 50 and "candidates" in table.column_names  # standard readers
    size = sum(f.stat().st_size for f in root.glob("shard-*/*.arrow"))
    decisions = sum(json.loads(p.read_text())["decisions"] for p in root.glob("shard-*/shard.json"))
    assert size / decisions < 1024  # bytes per decision
    # a rebuild of a finished shard is skipped; another world in the same folder is refused
    assert build_shard(root, 0) is False
    with pytest.raises(BankError, match="another"):
        plan(root, scenario="hard", seeds=SEEDS, shard_size=1)
    with pytest.raises(BankError, match="another world"):
        gym.make("RetailStore/Attribution-Hard-v0", bank=root)
    with pytest.raises(BankError, match="holds seeds 3:5"):
        gym.make("RetailStore/Attribution-v0", bank=root).reset(seed=7)
    with pytest.raises(BankError, match="raw group"):
        gym.make("RetailStore/Attribution-Raw-v0", bank=root)


def test_corrupted_and_truncated_shards(banks, tmp_path):
    root = tmp_path / "bank"
    shutil.copytree(banks["RetailStore/Attribution-v0"], root)
    f = root / "shard-00001" / "events.arrow"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    env = gym.make("RetailStore/Attribution-v0", bank=root)
    env.reset(seed=3)  # shard 0 is intact
    with pytest.raises(BankError, match="events.arrow: checksum mismatch"):
        env.reset(seed=4)
    f.write_bytes(bytes(data[:100]))
    with pytest.raises(BankError, match="truncated"):
        Bank(root).episode(4)
    (root / "manifest.json").write_text("{not json")
    with pytest.raises(BankError, match="manifest.json: not a readable"):
        Bank(root)
    with pytest.raises(BankError, match="no bank there"):
        Bank(tmp_path / "nowhere")


def test_other_version_or_schema_refused(banks, tmp_path):
    root = tmp_path / "bank"
    shutil.copytree(banks["RetailStore/Attribution-v0"], root)
    m = json.loads((root / "manifest.json").read_text())
    for key, value, msg in (
        ("project_version", "0.0.1", "built by retail-env '0.0.1'"),
        ("schema", 99, "schema 99"),
    ):
        (root / "manifest.json").write_text(json.dumps({**m, key: value}))
        with pytest.raises(BankError, match=msg):
            Bank(root)


def test_two_builders_never_write_one_shard(banks, tmp_path):
    root = tmp_path / "bank"
    plan(root, seeds="0:2", shard_size=1)
    with shard_lock(root, 0):  # this process holds shard 0: a second builder fails
        with pytest.raises(BankError, match="being built by another builder"):
            with shard_lock(root, 0):
                pass
    lock = root / "shard-00001.lock"  # a dead builder's lock is taken over
    lock.write_text(json.dumps({"pid": 2**22 + 12345, "host": os.uname().nodename}))
    with shard_lock(root, 1):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()


def test_evaluation_seeds_never_in_a_training_bank(tmp_path):
    with pytest.raises(BankError, match="overlap the frozen evaluation seeds"):
        plan(tmp_path / "b", seeds=f"{EVAL_SEEDS.start - 5}:{EVAL_SEEDS.start + 5}")
    m = plan(tmp_path / "e", seeds=f"{EVAL_SEEDS.start}:{EVAL_SEEDS.start + 1}", evaluation=True)
    assert m["evaluation"] is True


def test_evaluation_unchanged_by_banking(tmp_path):
    """An evaluation bank scores a baseline exactly as the live env does."""
    s = EVAL_SEEDS.start
    root = build_bank(
        tmp_path / "eval",
        scenario="easy",
        seeds=f"{s}:{s + 1}",
        evaluation=True,
        workers=1,
        progress=False,
    )
    with pytest.raises(BankError, match="never used for training"):
        Bank(root).check_training()
    scores = []
    for kw in ({}, {"bank": root}):
        env = gym.make("RetailStore/Attribution-Easy-v0", **kw)
        pol = make_agent("hungarian", env)
        obs, info = env.reset(seed=s)
        term = False
        while not term:
            obs, _, term, _, info = env.step(pol.act(obs, info))
        scores.append(info["receipts"])
    assert scores[0] == scores[1]


def test_training_draws_skip_evaluation_seeds():
    class Fixed:  # a generator whose first draws land in the block
        def __init__(self):
            self.vals = [EVAL_SEEDS.start + 3, EVAL_SEEDS.stop - 1, 17]

        def integers(self, lo, hi, n=None):
            return np.array(self.vals[:n]) if n else self.vals.pop(0)

    assert draw_seed(Fixed()) == 17
    rng = np.random.default_rng(17)
    seeds = draw_seeds(rng, 50_000)
    assert not any(is_eval_seed(x) for x in seeds)
    raw = np.random.default_rng(0).integers(0, 2**31 - 1, 10)
    assert np.array_equal(draw_seeds(np.random.default_rng(0), 10), raw)  # others unchanged


def test_banked_env_renders_by_resimulating(banks):
    env_id = "RetailStore/Attribution-v0"
    frames = []
    for kw in ({}, {"bank": banks[env_id]}):
        env = gym.make(env_id, render_mode="rgb_array", **kw)
        env.reset(seed=3)
        for a in (0, 6, 1):
            env.step(a)
        frames.append(env.render())
    assert frames[0].shape == frames[1].shape and np.array_equal(frames[0], frames[1])


def test_cli_and_hydra_app_build_the_same_bank(tmp_path, capsys):
    pytest.importorskip(
        "hydra"
    )  # retail_env.experiments.build_bank is a Hydra app (the train extra)
    import subprocess
    import sys

    from retail_env.cli import main

    cli = tmp_path / "cli"
    assert (
        main(
            [
                "bank",
                "build",
                "--out",
                str(cli),
                "--scenario",
                "easy",
                "--seeds",
                "0:2",
                "--shard-size",
                "1",
                "--workers",
                "1",
            ]
        )
        == 0
    )
    info = json.loads(capsys.readouterr().out)
    assert info["episodes"] == 2 and info["shards_built"] == 2
    assert main(["bank", "verify", str(cli)]) == 0
    (cli / "shard-00001" / "episodes.arrow").write_bytes(b"x")
    assert main(["bank", "verify", str(cli)]) == 2  # our error, exit 2
    assert "shard-00001/episodes.arrow" in capsys.readouterr().err
    hy = tmp_path / "hydra"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "retail_env.experiments.build_bank",
            "-m",
            f"bank.out={hy}",
            "bank.scenario=easy",
            "bank.seeds=0:2",
            "bank.shard_size=1",
            "shard=0,1",
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    for i in (0, 1):  # the same bytes, whichever way a shard was built
        a = json.loads((hy / f"shard-0000{i}" / "shard.json").read_text())["files"]
        b = json.loads((tmp_path / "cli" / f"shard-0000{i}" / "shard.json").read_text())["files"]
        if i == 0:
            assert a == b


def test_banked_episode_records_at_tick_rate_as_live(tmp_path):
    """A banked episode's recording (re-simulated from its seed) is the live one, frame for
    frame, every 0.1 s tick."""
    from retail_env.render.recording import RecordEpisode, load_recording

    bank = build_bank(tmp_path / "b", seeds="2:3", episode_s=60.0, workers=1, progress=False)
    recs = []
    for name, kw in (("live", {}), ("bank", {"bank": bank})):
        env = RecordEpisode(
            gym.make("RetailStore/Attribution-v0", config={"episode_s": 60.0}, **kw),
            tmp_path / name,
        )
        obs, info = env.reset(seed=2)
        term = False
        while not term:
            obs, _, term, _, info = env.step(int(info["oracle_action"]))
        recs.append(load_recording(env.saved[-1]))
    live, banked = recs
    assert len(live) == len(banked) > 300
    np.testing.assert_allclose(np.diff(live.times), 0.1, atol=1e-9)
    for k in live.arrays:
        assert np.array_equal(live.arrays[k], banked.arrays[k], equal_nan=True), k
    assert all(np.array_equal(x, y) for x, y in zip(live.decisions, banked.decisions, strict=True))
    assert sum(len(d) > 0 for d in live.decisions) > 100  # decisions stay visible


def test_sharded_and_sb3_envs_replay_a_bank(banks):
    pytest.importorskip("stable_baselines3")  # the train extra
    from retail_env.envs.sb3_vec import make_sb3_vec_env

    bank = banks["RetailStore/Attribution-v0"]
    kw = {"vectorization_mode": "vector_entry_point", "bank": bank}
    one = gym.make_vec("RetailStore/Attribution-v0", num_envs=2, **kw)
    two = gym.make_vec(
        "RetailStore/Attribution-v0", num_envs=2, num_workers=2, context="fork", **kw
    )
    try:
        a, b = one.reset(seed=3), two.reset(seed=3)
        _same(a[0], b[0], "reset")
        for t in range(30):
            acts = np.array([t % 8, (3 * t) % 8])
            for j, (u, v) in enumerate(zip(one.step(acts)[:4], two.step(acts)[:4], strict=True)):
                _same(u, v, f"step {t} item {j}")
    finally:
        two.close()
    venv = make_sb3_vec_env("RetailStore/Attribution-v0", 2, seed=3, bank=bank)
    obs = venv.reset()
    assert obs["event"].shape == (2, one.single_observation_space["event"].shape[0])
    venv.step(np.array([6, 6]))


def test_cached_bank_waits_for_a_shard_another_job_builds(tmp_path, monkeypatch):
    """Jobs of one sweep share env.bank=auto's cache: a shard another live builder holds is
    waited for (then built or found built), instead of failing the job."""
    import threading
    import time

    from retail_env.bank import build as build_mod
    from retail_env.bank import cached_bank

    monkeypatch.setattr(build_mod, "LOCK_POLL_S", 0.05)
    first = cached_bank(tmp_path, "0:1", "easy", workers=1, progress=False)
    shutil.rmtree(first / "shard-00000")
    lock = first / "shard-00000.lock"  # held by a live builder (this process)
    lock.write_text(json.dumps({"pid": os.getpid(), "host": os.uname().nodename}))
    with pytest.raises(BankError, match="being built by another builder"):
        build_shard(first, 0)  # an explicit build says so at once
    threading.Timer(0.3, lock.unlink).start()  # the other job finishes
    t0 = time.perf_counter()
    assert cached_bank(tmp_path, "0:1", "easy", workers=1, progress=False) == first
    assert time.perf_counter() - t0 >= 0.25  # it waited
    assert (first / "shard-00000" / "shard.json").exists()
