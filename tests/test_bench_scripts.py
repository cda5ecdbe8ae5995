"""Benchmark scripts: output formats and the warm-up (speed itself is never asserted)."""

import json

import numpy as np
import pytest
from retail_env.experiments import bench_envs, bench_sim

from retail_env.sim.store import make_params


def test_bench_sim_writes_the_issue_json_format_and_a_table(tmp_path):
    out, md = tmp_path / "b.json", tmp_path / "b.md"
    bench_sim.main(
        [
            "--json",
            str(out),
            "--md",
            str(md),
            "--seconds",
            "0.01",
            "--batches",
            "1",
            "2",
            "--warm-ticks",
            "3",
        ]
    )
    data = json.loads(out.read_text())
    assert list(data) == ["medium"] and list(data["medium"]) == ["1", "2"]
    for r in data["medium"].values():
        assert r["store_ticks_per_s"] > 0 and r["shopper_ticks_per_s"] >= 0
    rows = [line for line in md.read_text().splitlines() if line.startswith("| ")]
    assert len(rows) == 3 and rows[1].startswith("| 1 |") and ">= 10,000" in rows[1]


def test_warm_state_fills_every_copy_to_the_steady_crowd():
    params = make_params("medium")
    cold, _ = bench_sim.warm_state(params, 32, 0)
    state, _ = bench_sim.warm_state(params, 32, bench_sim.WARM_TICKS)
    inside = (state.present & ~state.staff).sum(axis=1)
    assert not cold.present.any()
    assert inside.mean() > 20, inside  # medium holds ~29 shoppers once warm
    np.testing.assert_array_equal(inside[:16], inside[16:])  # tiled copies of 16 warm stores


def test_bench_envs_table_reports_ratios_against_targets():
    sim = {
        "store_ticks_per_s": 10.0,
        "store_ticks_per_cpu_s": 20.0,
        "shopper_ticks_per_s": 5.0,
        "mean_shoppers": 29.0,
    }
    task = {
        "single": {"per_s": 1.0, "per_cpu_s": 1.0},
        "sync 64": {"per_s": 2.0, "per_cpu_s": 4.0},
        "native 64": {"per_s": 30.0, "per_cpu_s": 40.0},
        "native 1024": {"per_s": 50.0, "per_cpu_s": 60.0},
    }
    ppo = {"env_share": 0.25, "timesteps": 64, "sps": 100.0}
    res = {
        "quick": True,
        "seconds": 2.0,
        "load": "load average 1.00",
        "simulator": {"1": sim},
        "attribution": task,
        "promotion": task,
        "ppo": {
            "promotion, 64 envs": ppo,
            "attribution, 64 envs, banked": bench_envs.median_run(
                [{**ppo, "env_share": x, "env_cpu_share": x / 2} for x in (0.3, 0.1, 0.2)],
                "env_share",
            ),
        },
        "breakdown": {
            "native 64": {
                "ms_per_decision": 1.25,
                "sim_ms": 0.75,
                "rest_ms": 0.5,
                "store_ticks_per_decision": 54.04,
                "batch_ticks_per_step": 106.2,
            }
        },
    }
    res["attribution"] = {**task, "native 64, 2 workers": {"per_s": 50.0, "per_cpu_s": 30.0}}
    md = bench_envs.table(res)
    assert "| attribution: native 64 / SyncVectorEnv 64 | 15.0x | 10.0x | >= 10x |" in md
    assert "| attribution: native 64, 2 workers / SyncVectorEnv 64 | 25.0x | 7.5x | >= 10x |" in md
    assert "| promotion: native 64, 2 workers" not in md
    assert "| 25.0 % | | < 10 % |" in md and "--quick" in md and "load average 1.00" in md
    assert "banked (64 steps, 100 steps/s) | 20.0 % (10.0-30.0 %) | 10.0 % | < 10 % |" in md
    assert "Attribution timed over whole episodes" in md and "the rest 2 s per figure" in md
    assert (
        "| attribution, native 64: ms per decision = simulator + rest of env | 1.25 = 0.75 + 0.50 |"
        in md
    )
    assert (
        "| attribution, native 64: store-ticks per decision (batch ticks per step) | 54.0 (106) |"
        in md
    )


def test_sim_clock_times_the_ticks_of_an_env_and_restores_the_simulator():
    import gymnasium as gym

    from retail_env.sim import store as sim_store

    step = sim_store.step
    env = gym.make_vec(
        bench_envs.ATTRIBUTION,
        num_envs=3,
        vectorization_mode="vector_entry_point",
        config={"scenario": "easy", "episode_s": 60.0, "close_grace_s": 30.0},
    )
    with bench_envs.SimClock() as clock:
        env.reset(seed=0)
        env.step(np.zeros(3, np.int64))
    assert sim_store.step is step
    assert clock.batch_ticks > 0 and clock.seconds > 0
    assert 0 < clock.store_ticks <= 3 * clock.batch_ticks


def test_interleaved_runs_round_by_round_and_reports_medians_and_paired_ratios():
    order, speed = [], iter([100.0, 10.0, 50.0, 5.0, 200.0, 40.0])  # a machine that drifts

    def run(name):
        def measure():
            order.append(name)
            v = next(speed)
            return {"per_s": v, "per_cpu_s": v / 2, "decisions": 7}

        return measure

    res = bench_envs.interleaved({"native 64": run("native"), "sync 64": run("sync")}, 3)
    assert order == ["native", "sync"] * 3
    assert res["native 64"]["per_s"] == 100.0 and res["sync 64"]["per_s"] == 10.0
    assert res["native 64"]["decisions"] == 7 and len(res["native 64"]["runs"]) == 3
    # rounds gave 10x, 10x and 5x: the median of the paired ratios, not 100/10 by chance
    ratio = bench_envs.paired_ratio(res["native 64"], res["sync 64"], "per_s")
    assert ratio["value"] == 10.0 and [r["value"] for r in ratio["runs"]] == [10.0, 10.0, 5.0]
    res["native 1024"] = {"per_s": 300.0, "per_cpu_s": 150.0}
    res["single"] = {"per_s": 1.0, "per_cpu_s": 1.0}
    md = bench_envs.table(
        {
            "quick": False,
            "seconds": 5.0,
            "load": "load",
            "simulator": {},
            "attribution": res,
            "promotion": res,
            "ppo": {},
            "repeats": 3,
        }
    )
    assert "| attribution decisions, native 64 | 100 (50-200) | 50 (25-100) | |" in md
    assert "| attribution decisions, native 1024 | 300 | 150 | |" in md
    assert "| attribution: native 64 / SyncVectorEnv 64 | 10.0x (5.0-10.0x) |" in md
    assert "medians of 3 interleaved runs" in md


def test_bench_envs_rejects_a_repeat_count_below_one(capsys):
    with pytest.raises(SystemExit):
        bench_envs.main(["--repeats", "0"])
    assert "--repeats 0 must be >= 1" in capsys.readouterr().err
