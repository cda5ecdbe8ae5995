"""Screenshots for the README: one per task, plus a walk/dwell heatmap of a recorded episode.

    python -m retail_env.experiments.screenshots [--out experiments/screenshots]

Writes ``attribution.png`` and ``promotion.png`` (each env's own ``rgb_array`` render
after a seeded run of a sensible baseline, so the picture shows what a decent policy
does: mostly right decisions with a few wrong and a review; a staggered hi-lo calendar
in the walking store, so some shelves are on offer and shoppers are about), and
``heatmap.png`` (an hour of the medium store, recorded through the simulator and
summarised by ``retail-env heatmap``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import pygame  # noqa: E402

import retail_env  # noqa: E402,F401  (registers the env ids)
from retail_env.atomic import atomic_path  # noqa: E402
from retail_env.render import load_recording, save_recording  # noqa: E402
from retail_env.render.export import export_heatmap  # noqa: E402
from retail_env.render.snapshot import frame_from_state, header_from_params  # noqa: E402
from retail_env.sim import store  # noqa: E402

SHOTS = {  # file -> (env id, policy, steps before the picture)
    "attribution.png": ("RetailStore/Attribution-v0", "trajectory", 120),
    "promotion.png": ("RetailStore/Promotion-Spatial-v1", "hi_lo", 29),  # 13:54: 6 shoppers in
}
UNTIL_REVIEW = 200  # attribution: then up to this many more steps, until a review is marked


def save_png(img: np.ndarray, path: Path) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        pygame.image.save(pygame.surfarray.make_surface(img.swapaxes(0, 1)), str(tmp))


def _policy(env, name: str, seed: int):
    """``act(obs, info)`` of the named baseline of the env's task."""
    from ..agents.factory import make_agent

    agent = make_agent(name, env)
    agent.reset(seed)
    return agent.act


def env_shot(env_id: str, policy: str, steps: int, seed: int = 0) -> np.ndarray:
    env = gym.make(env_id, render_mode="rgb_array")
    obs, info = env.reset(seed=seed)
    act = _policy(env, policy, seed)
    extra = UNTIL_REVIEW if "Attribution" in env_id else 0
    for i in range(steps + extra):
        obs, _, term, trunc, info = env.step(act(obs, info))
        reviewed = info["rewards"].get("review", 0.0) != 0.0
        if term or trunc or (i >= steps - 1 and (reviewed or not extra)):
            break
    img = env.render()
    env.close()
    assert isinstance(img, np.ndarray)  # rgb_array
    return img


def heatmap(path: Path, minutes: float = 60.0, seed: int = 0) -> None:
    params = store.make_params("medium")
    header = header_from_params(params)
    state, rng = store.reset(params, [seed])
    frames = []
    for tick in range(int(minutes * 60 * params.config.tick_hz)):
        store.step(state, params, rng)
        if tick % 5 == 0:  # 2 frames/s is plenty for a heatmap
            frames.append(frame_from_state(state, params, 0, header=header, trail_points=0))
    with tempfile.TemporaryDirectory() as tmp:
        rec = save_recording(Path(tmp) / "ep.npz", header, frames, {"seed": seed})
        export_heatmap(load_recording(rec), path)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument(
        "--out",
        default=str(Path(__file__).with_name("screenshots")),
        help="folder of the PNGs (default experiments/screenshots)",
    )
    args = ap.parse_args(argv)
    out = Path(args.out)
    for name, (env_id, policy, steps) in SHOTS.items():
        save_png(env_shot(env_id, policy, steps), out / name)
        print(f"wrote {out / name}")
    heatmap(out / "heatmap.png")
    print(f"wrote {out / 'heatmap.png'}")


if __name__ == "__main__":
    main()
