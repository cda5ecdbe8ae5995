"""The package installs under its own name: agents/ and experiments/ ship as
``retail_env.agents`` / ``retail_env.experiments`` (issue 22), so a user's own
``agents`` or ``experiments`` never shadows them, nor they a user's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_lists_every_package_under_its_installed_name():
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs = {name: Path(folder) for name, folder in tool["package-dir"].items()}
    found = set()
    for name, folder in dirs.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([name, *rel.parts]))
    assert found == set(tool["packages"]), "pyproject's packages list is out of date"


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": "", "OMP_NUM_THREADS": "1"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("app", ["train", "evaluate"])
def test_an_app_runs_from_a_folder_with_its_own_agents_and_experiments(tmp_path, app):
    pytest.importorskip("hydra")
    for own in ("agents", "experiments"):
        (tmp_path / own).mkdir()
        (tmp_path / own / "__init__.py").write_text(f"raise ImportError('the user own {own}')\n")
    proc = _run([sys.executable, "-m", f"retail_env.experiments.{app}", "--cfg", "job"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "agent:" in proc.stdout
    proc = _run([sys.executable, "-m", "retail_env.cli", app, "--cfg", "job", "seed=3"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "seed: 3" in proc.stdout


def test_the_cli_app_passes_failures_on_as_a_non_zero_exit(tmp_path):
    pytest.importorskip("hydra")
    proc = _run([sys.executable, "-m", "retail_env.cli", "train", "seed=abc"], tmp_path)
    assert proc.returncode != 0
    assert "seed='abc' is not allowed" in proc.stderr + proc.stdout
