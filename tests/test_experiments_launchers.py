"""The README's sweep commands, for real: joblib runs jobs in parallel; Submitit and Ray launch too.

Each test runs ``python -m retail_env.experiments.train -m agent=ppo,a2c seed=0,1`` with a launcher on
tiny budgets (the smoke experiment, the mini promotion preset) and reads the four
results.json files the jobs wrote. The launchers are the ``launchers`` extra (in ``all``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("hydra")  # the train extra (Hydra, SB3)
pytest.importorskip("stable_baselines3")

REPO = Path(__file__).resolve().parents[1]
SWEEP = ["agent=ppo,a2c", "seed=0,1", "experiment=smoke", "env=promotion_mini"]


ENV = {
    **os.environ,
    "OMP_NUM_THREADS": "1",
    "HYDRA_FULL_ERROR": "1",
    "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
}


def sweep(out: Path, launcher: str, *extra: str, timeout: int = 420) -> list[dict]:
    cmd = [
        sys.executable,
        "-m",
        "retail_env.experiments.train",
        "-m",
        *SWEEP,
        f"out_root={out}",
        f"hydra/launcher={launcher}",
        *extra,
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    recs = [json.loads(p.read_text()) for p in sorted(out.rglob("results.json"))]
    assert sorted((r["agent"], r["seed"]) for r in recs) == [
        ("a2c", 0),
        ("a2c", 1),
        ("ppo", 0),
        ("ppo", 1),
    ]
    return recs


def test_local_joblib_runs_jobs_in_parallel(tmp_path):
    recs = sweep(tmp_path, "local")
    assert len({r["pid"] for r in recs}) == 2  # n_jobs=2 worker processes
    assert os.getpid() not in {r["pid"] for r in recs}
    spans = sorted((r["started"], r["finished"]) for r in recs)
    overlap = any(b[0] < a[1] for a, b in zip(spans, spans[1:], strict=False))
    assert overlap, spans  # two jobs were running at once


def test_submitit_local_executor(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")  # the launchers extra
    recs = sweep(tmp_path, "slurm_local", f"hydra.launcher.submitit_folder={tmp_path}/submitit")
    assert all(r["pid"] != os.getpid() for r in recs)


def test_ray_local_instance(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")  # the launchers extra
    recs = sweep(tmp_path, "ray", timeout=600)
    assert all(r["pid"] != os.getpid() for r in recs)


def test_killed_benchmark_loses_nothing_and_rerun_skips_done_runs(tmp_path):
    """SIGKILL a benchmark sweep while PPO trains; the baselines it finished stay, and the
    same command run again redoes only the killed run (same identity, same folder)."""
    grid = [
        "experiment=smoke",
        "env=promotion_mini",
        "agent=list_price,random,ppo",
        "seed=0",
        f"out_root={tmp_path}",
        "agent.total_timesteps=30000",
    ]

    def run_dir(agent: str) -> Path | None:  # <out_root>/runs/<env>/<agent>/seed0/<run_id>
        found = sorted((tmp_path / "runs" / "promotion_mini" / agent / "seed0").glob("*/"))
        assert len(found) <= 1, found
        return found[0] if found else None

    cmd = [sys.executable, "-m", "retail_env.experiments.benchmark", *grid]
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not (
            run_dir("ppo")
            and (run_dir("ppo") / "logs" / "progress.csv").is_file()
            and all(
                run_dir(a) and (run_dir(a) / "results.json").is_file()
                for a in ("list_price", "random")
            )
        ):
            assert proc.poll() is None and time.monotonic() < deadline, "sweep ended early"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher and its worker processes
        proc.wait()
    ppo = run_dir("ppo")
    assert (ppo / "config.yaml").is_file() and not (ppo / "results.json").exists()
    stamps = {a: (run_dir(a) / "results.json").stat().st_mtime_ns for a in ("list_price", "random")}
    rerun = subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert {a: (run_dir(a) / "results.json").stat().st_mtime_ns for a in stamps} == stamps
    assert run_dir("ppo") == ppo
    done = json.loads((ppo / "results.json").read_text())
    assert done["train"]["steps_done"] >= 30000 and done["evaluation"]["n_episodes"] == 2
