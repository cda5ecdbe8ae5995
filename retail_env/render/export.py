"""Recordings out to files people can share: MP4, GIF and a heatmap PNG.

MP4 goes through imageio-ffmpeg (H.264, yuv420p, so every player opens it); GIF through
imageio's Pillow plugin, downscaled and subsampled to stay small. All files are written
to a temporary name and renamed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pygame

from retail_env.atomic import atomic_path
from retail_env.render import palette as pal
from retail_env.render.draw import ALL_LAYERS, DEFAULT_SIZE, FrameDrawer, surface_to_array
from retail_env.render.frame import ENDCAP, ENTRY, EXIT, SHELF, SHOPPER, WALL
from retail_env.render.marks import TextCache
from retail_env.render.recording import Recording

GIF_MAX_FRAMES = 300
HEAT_FLOOR = 48  # the least-visited cell is dark purple, not black (unvisited = floor)
DWELL_SPEED_MPS = 0.2  # slower than this counts as standing still [A] (walking ~1.2 m/s)


def frame_indices(
    rec: Recording, every: int = 1, start_s: float | None = None, end_s: float | None = None
) -> np.ndarray:
    t = rec.times
    lo = 0 if start_s is None else int(np.searchsorted(t, t[0] + start_s))
    hi = len(t) if end_s is None else int(np.searchsorted(t, t[0] + end_s, side="right"))
    return np.arange(lo, hi, max(1, int(every)))


def iter_images(
    rec: Recording,
    indices: np.ndarray,
    size: tuple[int, int] = DEFAULT_SIZE,
    layers: int = ALL_LAYERS,
    scale: float = 1.0,
) -> Iterator[np.ndarray]:
    """uint8 HxWx3 pictures of the chosen frames (optionally scaled down)."""
    drawer = FrameDrawer(rec.header, size)
    surf = pygame.Surface(drawer.size)
    out = (
        max(2, int(drawer.size[0] * scale)) // 2 * 2,
        max(2, int(drawer.size[1] * scale)) // 2 * 2,
    )
    for i in indices.tolist():
        drawer.draw(surf, rec.frame(i), layers)
        yield surface_to_array(
            surf if out == drawer.size else pygame.transform.smoothscale(surf, out)
        )


MIN_FPS = 4.0  # a floor for sparse recordings (one frame per decision: seconds apart)


def native_fps(rec: Recording) -> float:
    """Frames per second of store time (the median gap between frames)."""
    gaps = np.diff(rec.times)
    gaps = gaps[gaps > 0]
    return 1.0 / float(np.median(gaps)) if len(gaps) else 10.0


def playback_fps(rec: Recording) -> float:
    """The default rate of videos and playback: real time for tick-rate recordings, but at
    least MIN_FPS (an Attribution recording of one frame per decision would otherwise play
    at well under one frame a second)."""
    return max(native_fps(rec), MIN_FPS)


def export_mp4(
    rec: Recording,
    path: str | os.PathLike,
    fps: float | None = None,
    every: int = 1,
    start_s: float | None = None,
    end_s: float | None = None,
    layers: int = ALL_LAYERS,
) -> tuple[Path, int]:
    """Write an H.264 MP4; ``fps`` defaults to :func:`playback_fps` (real time, at least
    MIN_FPS). Returns (path, frames written)."""
    import imageio_ffmpeg

    idx = frame_indices(rec, every, start_s, end_s)
    if len(idx) == 0:
        raise ValueError("no frames in the chosen time range")
    fps = float(fps or max(native_fps(rec) / max(1, every), MIN_FPS))
    images = iter_images(rec, idx, layers=layers)
    first = next(images)
    with atomic_path(path, suffix=".mp4") as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp),
            (first.shape[1], first.shape[0]),
            fps=fps,  # pyright: ignore[reportArgumentType]  (takes a float fps)
            codec="libx264",
            pix_fmt_out="yuv420p",
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=["-crf", "23"],
        )
        writer.send(None)
        try:
            writer.send(first)
            for img in images:
                writer.send(img)
        finally:
            writer.close()
    return Path(path), len(idx)


def export_gif(
    rec: Recording,
    path: str | os.PathLike,
    fps: float = 10.0,
    every: int | None = None,
    scale: float = 0.5,
    start_s: float | None = None,
    end_s: float | None = None,
    layers: int = ALL_LAYERS,
) -> tuple[Path, int]:
    """Write a looping GIF; by default at most GIF_MAX_FRAMES frames at half size."""
    import imageio.v3 as iio

    if every is None:
        span = frame_indices(rec, 1, start_s, end_s)
        every = max(1, math.ceil(len(span) / GIF_MAX_FRAMES))
    idx = frame_indices(rec, every, start_s, end_s)
    if len(idx) == 0:
        raise ValueError("no frames in the chosen time range")
    images = np.stack(list(iter_images(rec, idx, layers=layers, scale=scale)))
    with atomic_path(path, suffix=".gif") as tmp:
        iio.imwrite(tmp, images, extension=".gif", duration=1000.0 / fps, loop=0)
    return Path(path), len(idx)


# --- heatmap -------------------------------------------------------------------------
def dwell_maps(rec: Recording) -> tuple[np.ndarray, np.ndarray]:
    """Seconds shoppers (not staff) spend in each cell: (all time, standing still); (H, W)."""
    h, w = rec.header.grid.shape
    pos = rec.arrays["shopper_pos"].astype(np.float32)  # (T, S, 2)
    kind = rec.arrays["shopper_kind"]
    dt = np.diff(rec.times, append=rec.times[-1] + (1.0 / native_fps(rec)))[:, None]
    step = np.linalg.norm(np.diff(pos, axis=0, append=pos[-1:]), axis=-1)
    speed = step / np.maximum(dt, 1e-9)
    cell = np.floor(np.nan_to_num(pos, nan=-1.0) / rec.header.cell_m).astype(np.int64)
    ok = (kind == SHOPPER) & np.isfinite(pos).all(-1)
    ok &= (cell[..., 0] >= 0) & (cell[..., 0] < w) & (cell[..., 1] >= 0) & (cell[..., 1] < h)
    flat = np.where(ok, cell[..., 1] * w + cell[..., 0], 0)
    weight = np.where(ok, np.broadcast_to(dt, ok.shape), 0.0)
    walk = np.bincount(flat.ravel(), weight.ravel(), minlength=h * w).reshape(h, w)
    still = np.where(np.isfinite(speed) & (speed < DWELL_SPEED_MPS), weight, 0.0)
    dwell = np.bincount(flat.ravel(), still.ravel(), minlength=h * w).reshape(h, w)
    return walk, dwell


def _heat_panel(rec: Recording, seconds: np.ndarray, vmax: float, cell: int) -> np.ndarray:
    grid = rec.header.grid
    lut = pal.heat_lut()
    level = np.log1p(seconds) / np.log1p(max(vmax, 1e-9))
    rgb = np.empty((*grid.shape, 3), np.uint8)
    rgb[:] = pal.FLOOR
    hot = seconds > 0
    rgb[hot] = lut[np.clip((HEAT_FLOOR + level[hot] * (255 - HEAT_FLOOR)).astype(int), 0, 255)]
    rgb[grid == WALL] = pal.WALL
    rgb[grid == SHELF] = (150, 150, 156)
    rgb[grid == ENTRY] = pal.ENTRY
    rgb[grid == EXIT] = pal.EXIT
    rgb[(grid == ENDCAP) & ~hot] = pal.mix(pal.FLOOR, pal.ENDCAP_EDGE, 0.5)
    return np.repeat(np.repeat(rgb, cell, axis=0), cell, axis=1)


def heatmap_image(rec: Recording, width: int = 1200) -> np.ndarray:
    """Two panels, time moving and time standing still per cell (log colour scale), as uint8
    HxWx3. Split, because standing (reaching, choosing) dominates and would hide the aisles."""
    walk, dwell = dwell_maps(rec)
    moving = np.maximum(walk - dwell, 0.0)
    gh, gw = rec.header.grid.shape
    pad, title_h, bar_h = 16, 34, 62
    cell = max(2, (width - 3 * pad) // (2 * gw))
    pw, ph = cell * gw, cell * gh
    surf = pygame.Surface((3 * pad + 2 * pw, title_h + ph + bar_h + pad))
    surf.fill(pal.PANEL_BG)
    text = TextCache()
    span = rec.times[-1] - rec.times[0]
    for k, (name, sec) in enumerate(
        (
            ("walking (moving): seconds per cell", moving),
            ("dwelling (standing still): seconds per cell", dwell),
        )
    ):
        x = pad + k * (pw + pad)
        panel = _heat_panel(rec, sec, float(sec.max()), cell)
        surf.blit(pygame.surfarray.make_surface(panel.swapaxes(0, 1)), (x, title_h))
        surf.blit(text.get(name, 20, pal.PANEL_FG, bold=True), (x, 9))
        lut = pal.heat_lut(256)[np.linspace(HEAT_FLOOR, 255, pw).astype(int)]
        bar = np.repeat(lut[None], 12, axis=0)
        surf.blit(pygame.surfarray.make_surface(bar.swapaxes(0, 1)), (x, title_h + ph + 8))
        y = title_h + ph + 22
        surf.blit(text.get("0 s", 16, pal.PANEL_FG), (x, y))
        hi = text.get(f"{sec.max():,.0f} s (log scale)", 16, pal.PANEL_FG)
        surf.blit(hi, (x + pw - hi.get_width(), y))
    foot = text.get(
        f"{len(rec)} frames, {span / 60:.1f} min of store time; staff excluded", 16, pal.STATUS_DIM
    )
    surf.blit(foot, ((surf.get_width() - foot.get_width()) // 2, title_h + ph + 42))
    return surface_to_array(surf)


def export_heatmap(rec: Recording, path: str | os.PathLike, width: int = 1200) -> Path:
    img = heatmap_image(rec, width)
    surf = pygame.surfarray.make_surface(img.swapaxes(0, 1))
    with atomic_path(path, suffix=".png") as tmp:
        pygame.image.save(surf, str(tmp))
    return Path(path)
