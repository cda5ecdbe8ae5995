"""The README's sweep commands, for real: joblib runs jobs in parallel; Submitit and Ray launch too.

Each test runs ``python -m experiments.train -m agent=ppo,a2c seed=0,1`` with a launcher on
tiny budgets (the smoke experiment, the mini promotion preset) and reads the four
results.json files the jobs wrote. Optional launchers are skipped when not installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SWEEP = ["agent=ppo,a2c", "seed=0,1", "experiment=smoke", "env=promotion_mini"]


def sweep(out: Path, launcher: str, *extra: str, timeout: int = 420) -> list[dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HYDRA_FULL_ERROR": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "experiments.train", "-m", *SWEEP, f"out_root={out}",
           f"hydra/launcher={launcher}", *extra]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    recs = [json.loads(p.read_text()) for p in sorted(out.rglob("results.json"))]
    assert sorted((r["agent"], r["seed"]) for r in recs) == [("a2c", 0), ("a2c", 1),
                                                              ("ppo", 0), ("ppo", 1)]
    return recs


def test_local_joblib_runs_jobs_in_parallel(tmp_path):
    recs = sweep(tmp_path, "local")
    assert len({r["pid"] for r in recs}) == 2          # n_jobs=2 worker processes
    assert os.getpid() not in {r["pid"] for r in recs}
    spans = sorted((r["started"], r["finished"]) for r in recs)
    overlap = any(b[0] < a[1] for a, b in zip(spans, spans[1:], strict=False))
    assert overlap, spans                               # two jobs were running at once


def test_submitit_local_executor(tmp_path):
    if importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is None:
        pytest.skip("hydra-submitit-launcher not installed")
    recs = sweep(tmp_path, "slurm_local", f"hydra.launcher.submitit_folder={tmp_path}/submitit")
    assert all(r["pid"] != os.getpid() for r in recs)


def test_ray_local_instance(tmp_path):
    if importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is None:
        pytest.skip("hydra-ray-launcher not installed")
    recs = sweep(tmp_path, "ray", timeout=600)
    assert all(r["pid"] != os.getpid() for r in recs)
