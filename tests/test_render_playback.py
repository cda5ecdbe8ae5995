"""Playback logic without a window: pause, step, seek, speed, overlay toggles, help strip."""

from __future__ import annotations

import numpy as np
import pygame
import pytest

from retail_env.render import ALL_LAYERS, Layer, Recording, draw_frame
from retail_env.render.draw import surface_to_array
from retail_env.render.playback import HELP_H, SEEK_S, Player
from retail_env.render.synthetic import demo_frames, demo_header


@pytest.fixture()
def player():
    header = demo_header()
    return Player(Recording.from_frames(header, demo_frames(header, 250)))


def test_play_pause_and_step(player):
    assert player.index == 0 and not player.paused
    player.advance(1.0)  # 1 s at 1x and 10 frames/s
    assert player.index == 10
    player.handle_key(pygame.K_SPACE)
    player.advance(5.0)
    assert player.paused and player.index == 10
    player.handle_key(pygame.K_RIGHT)
    player.handle_key(pygame.K_RIGHT)
    player.handle_key(pygame.K_LEFT)
    assert player.index == 11


def test_seek_speed_and_ends(player):
    player.handle_key(pygame.K_RIGHTBRACKET)
    assert player.index == int(SEEK_S * 10)
    player.handle_key(pygame.K_LEFTBRACKET)
    player.handle_key(pygame.K_LEFTBRACKET)
    assert player.index == 0  # clamped at the start
    player.handle_key(pygame.K_EQUALS, "+")
    assert player.speed == 2.0
    player.handle_key(pygame.K_MINUS, "-")
    player.handle_key(pygame.K_MINUS, "-")
    assert player.speed == 0.5
    player.handle_key(pygame.K_END)
    assert player.index == 249
    player.advance(1.0)
    assert player.index == 249 and player.paused  # stops at the last frame
    player.handle_key(pygame.K_HOME)
    assert player.index == 0
    player.handle_key(pygame.K_q)
    assert not player.running


def test_overlay_toggles_change_the_picture(player):
    player.handle_key(pygame.K_SPACE)
    player.handle_key(pygame.K_RIGHTBRACKET)
    before = surface_to_array(player.compose()).copy()
    player.handle_key(pygame.K_2)  # tracks off
    assert player.layers == ALL_LAYERS & ~Layer.TRACKS
    after = surface_to_array(player.compose())
    h = player.drawer.size[1]
    expected = draw_frame(player.rec.header, player.rec.frame(player.index), layers=player.layers)
    np.testing.assert_array_equal(after[:h], expected)
    assert not np.array_equal(before[:h], after[:h])
    assert not np.array_equal(before[h:], after[h:])  # the help strip shows the toggle
    assert after.shape == (h + HELP_H, 800, 3)
