"""Issue 21: a malformed, partial or non-finite results.json never reaches the leaderboard
silently, and resume reruns it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("omegaconf")  # the train extra; skip with only the dev extra
from retail_env.experiments import runs
from retail_env.experiments.leaderboard import build_rows, latest_records, write_leaderboard

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "experiments" / "results" / "leaderboard" / "runs" / "attribution"


@pytest.fixture
def tree(tmp_path):
    """A copy of the committed attribution runs (random, nearest, oracle, ... seeds)."""
    root = tmp_path / "runs"
    shutil.copytree(RUNS, root)
    return root


def _first(root: Path, agent: str) -> Path:
    return sorted((root / agent).rglob("results.json"))[0]


def _nan_score(path: Path) -> None:
    rec = json.loads(path.read_text())
    rec["evaluation"]["scores"][0] = float("nan")
    path.write_text(json.dumps(rec))  # json writes NaN, as a buggy run would


@pytest.mark.parametrize(
    "corrupt, problem",
    [
        (lambda p: p.write_text(p.read_text()[:200]), "unreadable (JSONDecodeError"),
        (lambda p: p.write_text(""), "unreadable (JSONDecodeError"),
        (lambda p: p.write_text("[1, 2]"), "is a JSON list, not an object"),
        (_nan_score, "evaluation.scores must be a non-empty list of finite numbers (bad: [nan])"),
        (
            lambda p: p.write_text(
                json.dumps({k: v for k, v in json.loads(p.read_text()).items() if k != "agent"})
            ),
            "has no 'agent'",
        ),
        (
            lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "evaluation": 3})),
            "'evaluation' is int, not an object",
        ),
        (
            lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "config": []})),
            "'config' has no 'agent' mapping",
        ),
    ],
)
def test_bad_results_fail_the_leaderboard_naming_file_and_problem(tree, tmp_path, corrupt, problem):
    bad = _first(tree, "random")
    corrupt(bad)
    with pytest.raises(runs.ResultsError) as info:
        write_leaderboard(tree, tmp_path / "lb")
    msg = str(info.value)
    assert f"{bad}: " in msg and problem in msg and "skip_bad=true" in msg
    assert not (tmp_path / "lb" / "LEADERBOARD.md").exists()
    assert runs.read_done(bad.parent) is None  # resume reruns it


def test_every_bad_file_is_named(tree, tmp_path):
    a, b = _first(tree, "random"), _first(tree, "nearest")
    a.write_text("{")
    _nan_score(b)
    with pytest.raises(runs.ResultsError, match="2 bad results.json") as info:
        latest_records(tree)
    assert str(a) in str(info.value) and str(b) in str(info.value)


def test_skip_bad_marks_the_table_partial_and_names_the_files(tree, tmp_path):
    whole = write_leaderboard(tree, tmp_path / "whole")
    bad = _first(tree, "nearest")
    _nan_score(bad)
    out = write_leaderboard(tree, tmp_path / "lb", skip_bad=True)
    rel = str(bad.relative_to(tree))
    assert out["table"].startswith("**PARTIAL: 1 results.json file(s) were left out")
    assert f"- {rel}: evaluation.scores" in out["table"] and str(tree) not in out["table"]
    assert "PARTIAL" in (tmp_path / "lb" / "LEADERBOARD.md").read_text()
    assert out["n_records"] == whole["n_records"] - 1
    for row in out["rows"]:
        assert all(np.isfinite(row[k]) for k in ("mean", "norm_mean") if k in row)


def test_nan_never_reaches_the_normalisation(tree):
    """The check is on read, so one NaN score cannot turn the env's normalised column NaN."""
    _nan_score(_first(tree, "nearest"))
    bad: list[str] = []
    rows = build_rows(latest_records(tree, bad))
    assert len(bad) == 1 and "nearest" not in {r["agent"] for r in rows}
    assert all(np.isfinite(r["norm_mean"]) for r in rows)


def test_resume_keeps_whole_records(tree):
    path = _first(tree, "oracle")
    assert runs.read_done(path.parent)["agent"] == "oracle"


def test_the_leaderboard_command_exits_2_naming_the_file_or_marks_partial(tree, tmp_path):
    import subprocess
    import sys

    bad = _first(tree, "nearest")
    bad.write_text("[]")
    cmd = [
        sys.executable,
        "-m",
        "retail_env.experiments.leaderboard",
        f"results_root={tree}",
        f"out_root={tmp_path / 'out'}",
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and f"{bad}: is a JSON list" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess.run(
        [*cmd, "skip_bad=true"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "PARTIAL: 1 results.json" in proc.stdout
