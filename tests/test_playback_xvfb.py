"""A real window: start Xvfb, open the playback viewer, drive it with key events, check pixels.

Skipped only when the Xvfb binary is missing (CI installs it: apt-get install xvfb).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from retail_env.render import save_recording
from retail_env.render.synthetic import demo_frames, demo_header

XVFB = shutil.which("Xvfb")

DRIVER = textwrap.dedent("""
    import json, sys
    import numpy as np
    import pygame
    from retail_env.render import Layer, draw_frame, load_recording
    from retail_env.render.playback import Player

    rec = load_recording(sys.argv[1])
    player = Player(rec)
    player.open()
    assert pygame.display.get_driver() == "x11", pygame.display.get_driver()

    def press(key, text=""):
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, unicode=text, mod=0,
                                             scancode=0))
        assert player.tick(0.0)

    log = {}
    assert player.tick(0.35)                 # plays: 0.35 s at 10 frames/s
    log["played"] = player.index
    press(pygame.K_SPACE)                    # pause
    assert player.tick(2.0)
    log["paused"] = [player.paused, player.index]
    press(pygame.K_RIGHT); press(pygame.K_RIGHT)
    log["stepped"] = player.index
    press(pygame.K_RIGHTBRACKET)             # seek +10 s
    log["seeked"] = player.index
    press(pygame.K_LEFT)
    press(pygame.K_1)                        # shoppers overlay off
    shown = pygame.surfarray.array3d(pygame.display.get_surface()).swapaxes(0, 1)
    expected = draw_frame(rec.header, rec.frame(player.index),
                          layers=player.layers)
    h = expected.shape[0]
    log["index"] = player.index
    log["layers_without_shoppers"] = not (player.layers & Layer.SHOPPERS)
    log["window"] = list(shown.shape)
    log["same_pixels"] = bool(np.array_equal(shown[:h], expected))
    log["help_strip_dark"] = bool(shown[h:].mean() < 80)
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    log["quit"] = not player.tick(0.0)
    player.close()
    print(json.dumps(log))
""")


def _free_display() -> int:
    for n in range(99, 140):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    pytest.skip("no free X display number")


@pytest.mark.skipif(XVFB is None, reason="Xvfb is not installed (apt-get install xvfb)")
def test_playback_window_under_xvfb(tmp_path):
    header = demo_header()
    rec = save_recording(tmp_path / "ep.npz", header, demo_frames(header, 200))
    display = _free_display()
    xvfb = subprocess.Popen(
        [XVFB, f":{display}", "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 10
        while not Path(f"/tmp/.X11-unix/X{display}").exists():
            assert xvfb.poll() is None, "Xvfb exited at start"
            assert time.time() < deadline, "Xvfb did not start"
            time.sleep(0.05)
        env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
        env["DISPLAY"] = f":{display}"
        out = subprocess.run(
            [sys.executable, "-c", DRIVER, str(rec)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        log = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
    assert log["played"] == 3
    assert log["paused"] == [True, 3]
    assert log["stepped"] == 5
    assert log["seeked"] == 105
    assert log["index"] == 104
    assert log["layers_without_shoppers"]
    assert log["window"] == [600 + 44, 800, 3]
    assert log["same_pixels"]
    assert log["help_strip_dark"]
    assert log["quit"]
