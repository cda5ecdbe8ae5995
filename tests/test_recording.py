"""Recording: round trip to identical pixels, the wrapper, clear errors, export and heatmap."""

from __future__ import annotations

import json
import zipfile

import gymnasium as gym
import numpy as np
import pytest

from retail_env.cli import main as cli_main
from retail_env.render import (
    FrameDrawer,
    RecordEpisode,
    RecordingError,
    Renderer,
    load_recording,
    save_recording,
)
from retail_env.render.export import dwell_maps, export_gif, export_heatmap, export_mp4
from retail_env.render.recording import VERSION
from retail_env.render.synthetic import demo_frame, demo_frames, demo_header

N = 40


@pytest.fixture(scope="module")
def header():
    return demo_header()


@pytest.fixture(scope="module")
def frames(header):
    return demo_frames(header, N)


@pytest.fixture()
def saved(tmp_path, header, frames):
    return save_recording(tmp_path / "ep.npz", header, frames, {"seed": 7, "config": {"a": 1}})


def test_round_trip_gives_identical_frames_and_pixels(saved, header, frames):
    rec = load_recording(saved)
    assert len(rec) == N and rec.header.same_as(header)
    assert rec.meta["seed"] == 7 and rec.meta["config"] == {"a": 1}
    assert rec.meta["version"] == VERSION
    live, replay = Renderer(header), Renderer(rec.header)
    for i in (0, 17, N - 1):
        assert rec.frame(i).same_as(frames[i])
        np.testing.assert_array_equal(live.render(frames[i]), replay.render(rec.frame(i)))


def test_file_is_plain_npz_without_pickle(saved):
    with np.load(saved, allow_pickle=False) as npz:
        meta = json.loads(npz["header_json"].tobytes())
        assert all(npz[k].dtype != object for k in npz.files)
    assert meta["format"] == "retail-env-recording" and meta["n_frames"] == N


def test_truncated_file_is_a_clear_error(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(RecordingError, match="truncated"):
        load_recording(saved)


def test_corrupted_member_is_a_clear_error(saved):
    data = bytearray(saved.read_bytes())
    info = zipfile.ZipFile(saved).getinfo("shopper_pos.npy")
    mid = info.header_offset + 100 + info.compress_size // 2
    data[mid : mid + 64] = bytes(64)
    saved.write_bytes(bytes(data))
    with pytest.raises(RecordingError, match="truncated or corrupted"):
        load_recording(saved)


def test_foreign_files_are_clear_errors(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(RecordingError, match="not a retail-env recording"):
        load_recording(text)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.arange(3))
    with pytest.raises(RecordingError, match="not a retail-env recording"):
        load_recording(other)
    with pytest.raises(RecordingError, match="no such recording"):
        load_recording(tmp_path / "missing.npz")


def test_other_version_is_a_clear_error(saved, tmp_path):
    with np.load(saved) as npz:
        data = {k: npz[k] for k in npz.files}
    meta = json.loads(data["header_json"].tobytes())
    meta["version"] = VERSION + 1
    data["header_json"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    future = tmp_path / "future.npz"
    np.savez_compressed(future, **data)
    with pytest.raises(RecordingError, match=f"version {VERSION + 1} recording.*reads version"):
        load_recording(future)


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path, header, frames):
    path = tmp_path / "ep.npz"
    save_recording(path, header, frames[:5])
    save_recording(path, header, frames[:9])  # replaces the old file
    assert len(load_recording(path)) == 9
    assert [p.name for p in tmp_path.iterdir()] == ["ep.npz"]
    with pytest.raises(ValueError, match="at least one frame"):
        save_recording(tmp_path / "empty.npz", header, [])
    assert not (tmp_path / "empty.npz").exists()


class _TickEnv(gym.Env):
    """A stand-in env: each step runs 3 ticks and hands every tick's frame to frame_sink."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, sink: bool, length: int = 5):
        self.observation_space = gym.spaces.Box(0, 1, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.header = demo_header()
        self.length = length
        self.tick = 0
        self.steps = 0
        self.config = {"layout": "demo"}
        if sink:
            self.frame_sink = None

    def frame_header(self):
        return self.header

    def current_frame(self):
        return demo_frame(self.header, self.tick)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.tick = self.steps = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        for _ in range(3):
            self.tick += 1
            if getattr(self, "frame_sink", None) is not None:
                self.frame_sink(self.current_frame())
        self.steps += 1
        return np.zeros(1, np.float32), 0.0, self.steps >= self.length, False, {}


@pytest.mark.parametrize("sink,every,expected", [(True, 1, 16), (True, 4, 5), (False, 1, 6)])
def test_record_episode_wrapper(tmp_path, sink, every, expected):
    env = RecordEpisode(_TickEnv(sink), tmp_path, every=every)
    for seed in (3, 4):
        env.reset(seed=seed)
        done = False
        while not done:
            _, _, term, trunc, _ = env.step(0)
            done = term or trunc
    env.close()
    env.close()
    assert [p.name for p in env.saved] == ["episode-0000.npz", "episode-0001.npz"]
    rec = load_recording(env.saved[1])
    assert len(rec) == expected
    assert rec.meta["seed"] == 4 and rec.meta["config"] == {"layout": "demo"}
    assert rec.times[-1] == pytest.approx(1.5)  # the last tick is always kept
    assert np.all(np.diff(rec.times) > 0)


def test_export_mp4_and_gif_read_back(saved, tmp_path):
    iio = pytest.importorskip("imageio.v3")  # the video extra
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")

    rec = load_recording(saved)
    mp4, n = export_mp4(rec, tmp_path / "ep.mp4", every=2)
    reader = imageio_ffmpeg.read_frames(str(mp4))
    meta = next(reader)
    assert tuple(meta["size"]) == (800, 600)
    assert sum(1 for _ in reader) == n == N // 2
    gif, n = export_gif(rec, tmp_path / "ep.gif", every=4, scale=0.5)
    frames = iio.imread(gif, index=None)
    assert frames.shape[0] == n == N // 4 and frames.shape[1:3] == (300, 400)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ep.gif", "ep.mp4", "ep.npz"]


def test_heatmap_counts_time_where_shoppers_stand(saved, tmp_path, header):
    rec = load_recording(saved)
    walk, dwell = dwell_maps(rec)
    shoppers = (rec.arrays["shopper_kind"] == 0).sum()  # staff excluded
    assert walk.sum() == pytest.approx(shoppers * 0.1, rel=1e-6)
    assert (dwell <= walk + 1e-9).all()
    assert (walk[header.grid == 1] == 0).all()
    out = export_heatmap(rec, tmp_path / "heat.png", width=800)
    iio = pytest.importorskip("imageio.v3")  # the video extra
    img = iio.imread(out)
    assert img.ndim == 3 and 700 < img.shape[1] <= 800


def test_cli_info_heatmap_and_errors(saved, tmp_path, capsys):
    assert cli_main(["info", str(saved)]) == 0
    assert json.loads(capsys.readouterr().out)["frames"] == N
    assert cli_main(["heatmap", str(saved), str(tmp_path / "h.png")]) == 0
    assert (tmp_path / "h.png").stat().st_size > 1000
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 broken")
    assert cli_main(["info", str(bad)]) == 2
    assert "retail-env:" in capsys.readouterr().err


def test_drawer_reused_across_frames_matches_fresh_drawer(header, frames):
    import pygame

    drawer = FrameDrawer(header)
    surf = pygame.Surface(drawer.size)
    for f in frames[:5]:
        drawer.draw(surf, f)
    from retail_env.render import draw_frame
    from retail_env.render.draw import surface_to_array

    np.testing.assert_array_equal(surface_to_array(surf), draw_frame(header, frames[4]))
