"""Human rendering at every step, recordings that never overwrite, and the retail-env CLI
(--version, help for every argument, play that ends headless, export rates)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import retail_env
from retail_env.cli import build_parser
from retail_env.render import RecordEpisode, load_recording
from retail_env.render.export import MIN_FPS, native_fps, playback_fps

REPO = Path(__file__).resolve().parents[1]


def record_mini(folder: Path, **kw) -> RecordEpisode:
    env = RecordEpisode(gym.make("RetailStore/Promotion-Mini-v1"), folder, **kw)
    env.reset(seed=3)
    done = False
    while not done:
        *_, term, trunc, _ = env.step(env.action_space.sample())
        done = term or trunc
    return env


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    env = record_mini(tmp_path_factory.mktemp("rec"))
    env.close()
    return env.saved[0]


@pytest.mark.parametrize(
    "env_id", ["RetailStore/Attribution-Easy-v0", "RetailStore/Promotion-Mini-v2"]
)
def test_human_mode_draws_at_reset_and_every_step(env_id):
    env = gym.make(env_id, render_mode="human")
    base, calls = env.unwrapped, []
    draw = base.render
    base.render = lambda: calls.append(1) or draw()
    env.reset(seed=0)
    assert len(calls) == 1
    for n in range(2, 5):
        env.step(np.zeros(env.action_space.shape, env.action_space.dtype))
        assert len(calls) == n
    env.close()


def test_record_episode_refuses_to_overwrite_unless_asked(tmp_path):
    first = record_mini(tmp_path)
    first.close()
    before = first.saved[0].read_bytes()
    with pytest.raises(FileExistsError, match="episode-0000.npz exists.*overwrite=True"):
        record_mini(tmp_path)
    assert first.saved[0].read_bytes() == before  # untouched
    again = record_mini(tmp_path, overwrite=True)
    again.close()
    assert again.saved == first.saved and load_recording(again.saved[0]).meta["seed"] == 3


def test_version_and_help_for_every_argument(capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"retail-env {retail_env.__version__}"
    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    todo = [(name, sub) for name, sub in subs.choices.items()]
    while todo:  # nested commands too (retail-env bank build)
        name, sub = todo.pop()
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo += [(f"{name} {n}", s) for n, s in action.choices.items()]
            if not isinstance(action, argparse._HelpAction):
                assert action.help, f"retail-env {name} {action.dest} has no help text"


def test_play_ends_headless_at_the_end_or_after_frames(recording):
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYTHONPATH": str(REPO)}
    run = [sys.executable, "-m", "retail_env.cli", "play", str(recording)]
    for extra, expect in (([], None), (["--frames", "5"], "played 5 frames")):
        proc = subprocess.run(run + extra, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert (expect or "played") in proc.stdout
    proc = subprocess.run(
        run + ["--frames", "0"], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2 and "frames=0" in proc.stderr


def test_export_and_playback_rates_fit_the_recording(recording):
    rec = load_recording(recording)
    assert playback_fps(rec) == max(native_fps(rec), MIN_FPS)

    class Times:  # the rate depends on the frame times only
        def __init__(self, gap):
            self.times = np.arange(50) * gap

    assert playback_fps(Times(0.1)) == pytest.approx(10.0)  # tick rate: real time
    assert playback_fps(Times(2.5)) == MIN_FPS  # one frame per decision


def test_every_command_line_argument_of_every_script_has_help():
    """Static check over the argparse scripts (experiments/*.py and the retail-env CLI)."""
    import ast

    for path in [*sorted((REPO / "experiments").glob("*.py")), REPO / "retail_env" / "cli.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
                assert any(k.arg == "help" for k in node.keywords), (
                    f"{path.name}:{node.lineno} add_argument without help"
                )
