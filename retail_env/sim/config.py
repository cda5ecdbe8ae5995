"""Simulator configuration: one frozen ``SimConfig`` and named scenario presets.

``make_config("hard", shoppers={"p_putback": 0.3})`` starts from a preset and
applies nested overrides; every value is validated (unknown keys, out-of-range
values and unknown presets raise ``ConfigError`` naming key, value and what is
allowed). Defaults equal the ``medium`` preset. Sources are cited beside each value;
[A] marks an assumption.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from retail_env.sim.catalog import CatalogConfig
from retail_env.sim.demand import DemandParams
from retail_env.sim.sensors import SensorParams
from retail_env.sim.validation import (
    ConfigError,
    check_choice,
    check_mapping,
    config,
    replace,
    spec,
    to_dict,
)

ONOFF = (True, False)


def _check_ranges(cfg: Any, *names: str) -> None:
    for name in names:
        v = getattr(cfg, name)
        if len(v) != 2 or v[0] > v[1]:
            raise ConfigError(f"{name}={v!r} must be a (low, high) pair with low <= high")


@config
class ShopperConfig:
    """How shoppers arrive, walk and handle items."""

    max_shoppers: int = spec(
        48, lo=1, hi=512, doc="shopper slots per store (arrivals beyond are turned away)"
    )
    # 15 % of c-store visits in groups, mostly pairs [A] (17 % of grocery shoppers
    # bring children: Page, Sharp & Lockshin, JRCS 2018).
    group_share: float = spec(0.15, lo=0.0, hi=1.0)
    # [A] browsing stops (look, no pick), Poisson mean: brings a trip to ~2.7 min
    # (c-store time inside 2 min 52 s, VideoMining CSI 2014; 71 s choosing, NACS).
    browse_mean: float = spec(6.0, lo=0.0, hi=30.0)
    # Walking speed 0.8 m/s, sd 0.2, clip 0.4-1.3 [A] (bounds: IES VE docs).
    speed_mean: float = spec(0.8, lo=0.1, hi=3.0)
    speed_sd: float = spec(0.2, lo=0.0, hi=1.0)
    speed_lo: float = spec(0.4, lo=0.1, hi=3.0)
    speed_hi: float = spec(1.3, lo=0.1, hi=3.0)
    # Dwell at a stop: lognormal, median 9 s, mean 10.8 s [A] (purchase decision
    # mean 13 s, most under 10 s: Ehrenberg-Bass report 67).
    dwell_median_s: float = spec(9.0, lo=0.1, hi=300.0)
    dwell_log_sd: float = spec(0.6, lo=0.0, hi=2.0)
    # Time to pick 2-4 s [A].
    reach_s: tuple = spec((2.0, 4.0), lo=0.1, hi=30.0, length=2)
    # [A] looking at an item in hand before putting it back.
    look_s: tuple = spec((1.0, 3.0), lo=0.1, hi=30.0, length=2)
    # c-store: 10 % of picks returned [A] (30 % of handled products bought, eye-tracking,
    # Retail Design World 2017).
    p_putback: float = spec(0.10, lo=0.0, hi=1.0)
    # 10-15 % of put-backs at a wrong place [A] (AutoCheckout evaluation.md scenarios).
    p_wrong_place: float = spec(0.15, lo=0.0, hi=1.0)
    # [A] a hand rests on the plate before the pick; force of a resting hand vs a reach.
    p_hand_rest: float = spec(0.2, lo=0.0, hi=1.0)
    rest_s: tuple = spec((0.5, 2.0), lo=0.1, hi=30.0, length=2)
    # (sensors.py: a reach ~0.2-0.5 kg, a resting hand ~0.5-1 kg [A])
    rest_force_kg: float = spec(0.8, lo=0.0, hi=20.0)
    reach_force_kg: float = spec(0.3, lo=0.0, hi=20.0)
    # [A] a pick takes 2-3 units at once (for several people); 4 % of c-store
    # transactions have 5+ items (MSA/NACS via CSP).
    p_multi: float = spec(0.15, lo=0.0, hi=1.0)
    # [A] share of a group member's picks handed to the partner when within reach.
    p_handoff: float = spec(0.3, lo=0.0, hi=1.0)
    handoff_cells: int = spec(3, lo=1, hi=20, doc="max Manhattan distance for a hand-off, cells")
    # [A] a foreign (wrongly put back) item lies in front and is taken instead.
    p_take_foreign: float = spec(0.5, lo=0.0, hi=1.0)
    # Soft collisions: wait while the next cell is taken, step in after this many ticks.
    patience_ticks: int = spec(10, lo=0, hi=1000)
    # Without simultaneous picks, a reach waits until this long after the last one at
    # the plate ended (so two shoppers' events never overlap at one plate).
    plate_gap_s: float = spec(3.0, lo=0.0, hi=60.0)

    def __post_init__(self):
        _check_ranges(self, "reach_s", "look_s", "rest_s")
        if self.speed_lo > self.speed_hi:
            raise ConfigError(f"speed_lo={self.speed_lo} must be <= speed_hi={self.speed_hi}")


@config
class StaffConfig:
    """Staff who refill plates (their events are RESTOCK and never chargeable)."""

    # [A] refill a plate when it is below this share of its capacity.
    restock_below: float = spec(0.34, lo=0.0, hi=1.0)
    check_s: float = spec(30.0, lo=0.1, hi=3600.0, doc="how often a store looks for low plates")
    restock_s: tuple = spec((4.0, 8.0), lo=0.1, hi=120.0, length=2)  # [A]
    speed: float = spec(1.0, lo=0.1, hi=3.0)  # [A] staff walk a bit faster, m/s

    def __post_init__(self):
        _check_ranges(self, "restock_s")


@config
class HardCases:
    """AutoCheckout's hard cases plus produce and staff, each a switch."""

    simultaneous_picks: bool = spec(True, choices=ONOFF)
    wrong_put_back: bool = spec(True, choices=ONOFF)
    look_alikes: bool = spec(True, choices=ONOFF)
    handoffs: bool = spec(True, choices=ONOFF)
    crowd_crossed_reaches: bool = spec(False, choices=ONOFF)
    wrong_planogram: bool = spec(False, choices=ONOFF)
    hand_rest: bool = spec(True, choices=ONOFF)
    multi_item: bool = spec(True, choices=ONOFF)
    produce: bool = spec(True, choices=ONOFF)
    staff_restock: bool = spec(True, choices=ONOFF)


@config
class SimConfig:
    """The whole simulator.

    ``hard.look_alikes`` / ``hard.produce`` are copied into ``catalog`` and ``tick_hz``
    into ``sensors`` at construction, so each fact has one place to set it.
    """

    layout: str = spec("medium", doc="built-in layout name or a map file path")
    tick_hz: int = spec(10, choices=(5, 10, 20), doc="ticks per second of store time")
    episode_s: float = spec(1200.0, lo=1.0, hi=30 * 86400.0, doc="episode length, store seconds")
    start_hour: float = spec(12.0, lo=0.0, hi=23.999, doc="hour of day at reset")
    # [A] items per plate when full (plates are rated 20 kg: AutoCheckout README).
    plate_capacity: int = spec(12, lo=1, hi=200)
    plate_max_kg: float = spec(20.0, lo=0.1, hi=1000.0)
    # [A] share of plates whose believed product is wrong when wrong_planogram is on.
    wrong_planogram_share: float = spec(0.1, lo=0.0, hi=1.0)
    events_per_tick: int = spec(
        4, lo=1, hi=64, doc="max shopper decisions per store per tick (more wait a tick)"
    )
    shoppers: ShopperConfig = ShopperConfig()
    staff: StaffConfig = StaffConfig()
    hard: HardCases = HardCases()
    catalog: CatalogConfig = CatalogConfig()
    # Busy store: ~29 shoppers inside at noon (Little's law: 8 % of 7,000 visits/day
    # = 560/h x ~2.7 min); this is the benchmark load [A]. Amazon Go ~550/day (RBC).
    demand: DemandParams = DemandParams(daily_visits=7000.0)
    sensors: SensorParams = SensorParams()

    def __post_init__(self):
        cat = dataclasses.replace(
            self.catalog, look_alikes=self.hard.look_alikes, produce=self.hard.produce
        )
        object.__setattr__(self, "catalog", cat)
        object.__setattr__(self, "sensors", dataclasses.replace(self.sensors, tick_hz=self.tick_hz))


_ALL_ON = {k: True for k in to_dict(HardCases())}
_ALL_OFF = {k: False for k in _ALL_ON}

# Presets: nested overrides over the SimConfig defaults (= "medium").
PRESETS: dict[str, dict[str, Any]] = {
    # One gondola, a few shoppers (fuel c-store 1,100 visits/day, NACS), no hard cases.
    "easy": {
        "layout": "small",
        "catalog": {"assortment": "mini"},
        "demand": {"daily_visits": 1100.0},
        "shoppers": {"max_shoppers": 8},
        "hard": _ALL_OFF,
    },
    "medium": {},
    # Every hard case at once, with more put-backs and resting hands [A].
    "hard": {
        "hard": _ALL_ON,
        "shoppers": {"p_putback": 0.2, "p_wrong_place": 0.3, "p_hand_rest": 0.3, "p_multi": 0.25},
    },
    # A lunch rush: ~40 shoppers on the medium floor; crowds cross reaches.
    "crowded": {
        "demand": {"daily_visits": 10000.0},
        "shoppers": {"max_shoppers": 64},
        "hard": {"crowd_crossed_reaches": True},
    },
    # Fresh format (Amazon Go style): variable-weight produce on many plates.
    "produce": {"catalog": {"assortment": "fresh"}, "hard": {"produce": True}},
}


def make_config(preset: str = "medium", **overrides: Any) -> SimConfig:
    """A preset with nested ``overrides`` (e.g. ``hard={"handoffs": False}``)."""
    cfg = replace(SimConfig(), PRESETS[check_choice("preset", preset, PRESETS)])
    return replace(cfg, overrides) if overrides else cfg


def config_from_dict(data: Mapping[str, Any] | None) -> SimConfig:
    """A ``SimConfig`` from a plain nested dict (Hydra YAML); ``preset`` key optional."""
    data = check_mapping("config", data)
    preset = data.pop("preset", "medium")
    cfg = make_config(preset)
    return replace(cfg, data)
