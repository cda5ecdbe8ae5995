"""The task envs draw what they should: status-bar tallies, live == recorded, price tags."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import retail_env  # noqa: F401  (registers the ids)
from retail_env.render import Layer, RecordEpisode, Renderer, load_recording, save_recording
from retail_env.render import palette as pal


@pytest.fixture(scope="module")
def attribution_run(tmp_path_factory):
    """A short recorded Attribution episode, rendered live each step: the nearest track is
    charged, except every third event is waved through as "no one" (some wrong on purpose)."""
    folder = tmp_path_factory.mktemp("rec")
    env = RecordEpisode(
        gym.make(
            "RetailStore/Attribution-v0", render_mode="rgb_array", config={"episode_s": 180.0}
        ),
        folder,
    )
    obs, info = env.reset(seed=3)
    live, frames, right = [env.render()], [env.unwrapped.current_frame()], 0
    done = False
    while not done:
        action = 0 if len(frames) % 3 else env.unwrapped.no_one
        obs, _, term, trunc, info = env.step(action)
        right += info["rewards"]["overcharge"] == 0 and info["rewards"]["undercharge"] == 0
        live.append(env.render())
        frames.append(env.unwrapped.current_frame())
        done = term or trunc
    env.close()
    return env.saved[0], live, frames, right


def test_attribution_status_counts_decisions_right(attribution_run):
    _, _, frames, right = attribution_run
    last = frames[-1].status
    assert last["decisions"] == len(frames) - 1
    assert last["decisions_right"] == right
    assert 0 < right < last["decisions"]  # the run has both kinds
    assert frames[0].status["decisions"] == 0


def test_attribution_record_load_render_equals_live(attribution_run):
    """The recording holds every simulated tick (10 Hz, from the episode's start); at each
    decision whose tick then passed, its frame is the live one, drawn alike."""
    path, live, frames, _ = attribution_run
    rec = load_recording(path)
    assert len(rec) > 10 * len(live)
    np.testing.assert_allclose(np.diff(rec.times), 0.1, atol=1e-9)
    assert rec.times[0] == pytest.approx(0.1)
    last_at = {round(t, 6): i for i, t in enumerate(rec.times)}  # last frame of each tick
    replay = Renderer(rec.header, "rgb_array")
    checked = 0
    for i in range(len(frames)):
        if i and frames[i].time_s == frames[i - 1].time_s:
            continue  # decided at the same tick: drawn from the next tick
        j = last_at[round(frames[i].time_s, 6)]
        assert rec.frame(j).same_as(frames[i])
        if i in (0, len(frames) // 2, len(frames) - 1):
            np.testing.assert_array_equal(replay.render(rec.frame(j)), live[i])
        checked += 1
    assert checked > len(frames) // 2
    assert rec.meta["env_id"] == "RetailStore/Attribution-v0" and rec.meta["seed"] == 3


def _discount_pixels(img: np.ndarray) -> int:
    return int((img == np.array(pal.DISCOUNT, np.uint8)).all(-1).sum())


def test_promotion_render_shows_price_tags_only_on_offers(tmp_path):
    env = gym.make("RetailStore/Promotion-v1", render_mode="rgb_array")
    env.reset(seed=0)
    none = np.zeros(env.action_space.shape, np.int64)
    env.step(none)
    plain = env.render()
    offer = none.copy()
    offer[0] = 3  # first unit at level 3 (-30 %)
    env.step(offer)
    tagged = env.render()
    renderer = env.unwrapped._renderer
    assert not renderer.layers & Layer.TRACKS  # tracks are attribution's
    path = save_recording(
        tmp_path / "promo.npz", env.unwrapped.frame_header(), [env.unwrapped.current_frame()]
    )
    replay = Renderer(load_recording(path).header, "rgb_array", layers=renderer.layers)
    np.testing.assert_array_equal(replay.render(load_recording(path).frame(0)), tagged)
    env.close()
    assert plain.shape == tagged.shape == (600, 800, 3)
    legend_icon = _discount_pixels(plain)  # the legend's sample tag
    assert 0 < legend_icon < 100
    assert _discount_pixels(tagged) - legend_icon > 100  # tags and a "-30%" label


def test_promotion_episode_records_without_a_render_mode(tmp_path):
    env = RecordEpisode(gym.make("RetailStore/Promotion-Mini-v1"), tmp_path)
    env.reset(seed=1)
    steps, done = 0, False
    while not done:
        _, _, term, trunc, info = env.step(env.action_space.sample())
        steps, done = steps + 1, term or trunc
    env.close()
    rec = load_recording(env.saved[0])
    assert len(rec) == steps + 1  # the reset frame + one a period
    assert rec.meta["env_id"] == "RetailStore/Promotion-Mini-v1" and rec.meta["seed"] == 1
    last = rec.frame(len(rec) - 1)
    assert last.same_as(env.unwrapped.current_frame())
    assert last.status["profit"] == pytest.approx(info["episode_kpis"]["profit"], rel=1e-6)
