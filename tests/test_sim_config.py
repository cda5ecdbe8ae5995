"""SimConfig and presets: validation names key, value and what is allowed."""

from __future__ import annotations

import pytest

from retail_env.sim.config import PRESETS, SimConfig, config_from_dict, make_config
from retail_env.sim.validation import ConfigError, to_dict

SWITCHES = (
    "simultaneous_picks",
    "wrong_put_back",
    "look_alikes",
    "handoffs",
    "crowd_crossed_reaches",
    "wrong_planogram",
    "hand_rest",
    "multi_item",
    "produce",
    "staff_restock",
)


def test_presets_exist_and_differ():
    assert set(PRESETS) == {"easy", "medium", "hard", "crowded", "produce"}
    easy, hard = make_config("easy"), make_config("hard")
    assert not any(getattr(easy.hard, k) for k in SWITCHES)
    assert sum(getattr(hard.hard, k) for k in SWITCHES) >= 8
    assert make_config("crowded").demand.daily_visits > make_config("medium").demand.daily_visits
    assert make_config("medium") == SimConfig()
    assert make_config("produce").catalog.produce


def test_hard_switches_drive_catalog_and_tick_drives_sensors():
    cfg = make_config("medium", hard={"produce": False, "look_alikes": False}, tick_hz=20)
    assert not cfg.catalog.produce and not cfg.catalog.look_alikes
    assert cfg.sensors.tick_hz == 20


def test_nested_overrides():
    cfg = make_config("easy", shoppers={"p_putback": 0.3}, hard={"handoffs": True})
    assert cfg.shoppers.p_putback == 0.3 and cfg.hard.handoffs and cfg.layout == "small"


def test_unknown_preset_names_allowed():
    with pytest.raises(ConfigError, match=r"preset='nope'.*\['crowded', 'easy', 'hard'"):
        make_config("nope")


@pytest.mark.parametrize(
    "over, match",
    [
        ({"shoppers": {"p_putback": 1.5}}, r"shoppers\.p_putback=1\.5 .*\[0\.0, 1\.0\]"),
        ({"tick_hz": 7}, r"tick_hz=7 .*one of \[5, 10, 20\]"),
        ({"hard": {"handoffs": "yes"}}, r"hard\.handoffs='yes' .*one of \[True, False\]"),
        ({"shoppers": {"speed": 1.0}}, r"unknown config key\(s\) \['shoppers\.speed'\]"),
        ({"bogus": 1}, r"unknown config key\(s\) \['bogus'\]"),
        ({"shoppers": {"reach_s": (4.0, 2.0)}}, r"reach_s=\(4\.0, 2\.0\)"),
        ({"staff": {"restock_below": -0.1}}, r"staff\.restock_below=-0\.1"),
    ],
)
def test_bad_values_raise_config_error(over, match):
    with pytest.raises(ConfigError, match=match):
        make_config("medium", **over)


def test_round_trip_through_a_dict():
    cfg = make_config("hard")
    again = config_from_dict({"preset": "medium", **to_dict(cfg)})
    assert again == cfg
