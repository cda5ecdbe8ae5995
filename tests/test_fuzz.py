"""Issue 21: a hypothesis fuzz suite. Every example ends in success or the project's own
error class (``RetailEnvError``); anything else (TypeError, IndexError, MemoryError, a
hang) fails the test.

Bounded for CI: examples are derandomised (the same inputs every run) and counted per
test in ``EXAMPLES`` (580 in all); the whole file runs in well under a minute on one
core. ``RETAIL_ENV_FUZZ_SCALE=10`` multiplies every count for a longer local hunt.
"""

from __future__ import annotations

import json
import os

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import retail_env  # noqa: F401  (registers the ids)
from retail_env.envs.attribution.core import AttributionConfig
from retail_env.envs.promotion import core as promotion_core
from retail_env.errors import RetailEnvError
from retail_env.render.export import export_heatmap, iter_images
from retail_env.render.recording import load_recording, save_recording
from retail_env.render.synthetic import demo_frames, demo_header
from retail_env.sim import config as sim_config
from retail_env.sim.layout import load_layout, parse_layout
from retail_env.sim.validation import from_dict, to_dict

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
SCALE = int(os.environ.get("RETAIL_ENV_FUZZ_SCALE", "1"))
EXAMPLES = {
    "sim_config": 80,
    "promotion_config": 100,
    "attribution_config": 60,
    "promotion_actions": 60,
    "attribution_actions": 20,
    "maps": 200,
    "recordings": 60,
}


def fuzz(name: str):
    return settings(
        max_examples=EXAMPLES[name] * SCALE,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def must_end_well(fn, *args, **kw):
    """Run ``fn``; success or a RetailEnvError pass, anything else fails the example."""
    try:
        return fn(*args, **kw)
    except RetailEnvError:
        return None


# --- config dicts ------------------------------------------------------------------------
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["easy", "mini", "medium", "small", "raw", "fresh"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def config_dicts(template: dict) -> st.SearchStrategy:
    """Dicts over the config's own keys (nested, so sections are hit) and stray keys, with
    values of the right type, of the wrong type, or the default nudged."""

    def leaf_values(default):
        near = st.just(default)
        if isinstance(default, float):
            near = st.floats(-2 * abs(default) - 1, 2 * abs(default) + 1)
        elif isinstance(default, int) and not isinstance(default, bool):
            near = st.integers(-2 * abs(default) - 1, 2 * abs(default) + 1)
        elif isinstance(default, list):
            near = st.lists(st.floats(-1, 2), max_size=4)
        return st.one_of(near, VALUES)

    def of(tmpl: dict):
        keys = {k: (of(v) if isinstance(v, dict) else leaf_values(v)) for k, v in tmpl.items()}
        fixed = st.fixed_dictionaries({}, optional=keys)
        return st.one_of(
            fixed,
            fixed.flatmap(
                lambda d: st.dictionaries(st.text(max_size=6), VALUES, max_size=1).map(
                    lambda extra: {**d, **extra}
                )
            ),
            VALUES,
        )

    return of(template)


@fuzz("sim_config")
@given(config_dicts(to_dict(sim_config.SimConfig())))
def test_fuzz_sim_config(data):
    must_end_well(sim_config.config_from_dict, data)


@fuzz("promotion_config")
@given(
    st.sampled_from(list(promotion_core.PRESETS)),
    config_dicts(to_dict(promotion_core.PromotionConfig())),
)
def test_fuzz_promotion_config(preset, data):
    must_end_well(promotion_core.make_config, preset, data)


@fuzz("attribution_config")
@given(config_dicts(to_dict(AttributionConfig())))
def test_fuzz_attribution_config(data):
    must_end_well(from_dict, AttributionConfig, data)


# --- action sequences ----------------------------------------------------------------------
ACTION_ITEMS = st.one_of(
    st.integers(-3, 8),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.complex_numbers(max_magnitude=2),
    st.text(max_size=3),
    st.none(),
)


def actions(n: int) -> st.SearchStrategy:
    """Mostly well-shaped arrays (so episodes advance), some of any shape or type."""
    good = st.lists(st.integers(0, 1), min_size=n, max_size=n)
    return st.one_of(
        good,
        good,
        good,
        st.lists(ACTION_ITEMS, min_size=n, max_size=n),
        st.lists(ACTION_ITEMS, max_size=n + 2),
        ACTION_ITEMS,
    )


@pytest.fixture(scope="module")
def promo_envs():
    return {
        kind: gym.make(
            "RetailStore/Promotion-Mini-v1", config={"action": kind, "episode_days": 4}
        ).unwrapped
        for kind in ("discrete", "continuous")
    }


@fuzz("promotion_actions")
@given(kind=st.sampled_from(["discrete", "continuous"]), seed=st.integers(0, 2**40), data=st.data())
def test_fuzz_promotion_actions(promo_envs, kind, seed, data):
    env = promo_envs[kind]
    env.reset(seed=seed)
    n = env.action_space.shape[0]
    for _ in range(data.draw(st.integers(1, 8))):
        out = must_end_well(env.step, data.draw(actions(n)))
        if out is not None:
            assert np.isfinite(out[1]) and env.observation_space.contains(out[0])


@pytest.fixture(scope="module")
def attribution_env():
    return gym.make(
        "RetailStore/Attribution-Easy-v0", config={"episode_s": 90.0, "close_grace_s": 20.0}
    )


@fuzz("attribution_actions")
@given(seed=st.integers(0, 2**40), data=st.data())
def test_fuzz_attribution_actions(attribution_env, seed, data):
    if must_end_well(attribution_env.reset, seed=seed) is None:
        return  # a store too quiet to see an event (a ConfigError)
    for _ in range(data.draw(st.integers(1, 6))):
        a = data.draw(
            st.one_of(
                st.integers(0, 7),
                st.integers(0, 7),
                ACTION_ITEMS,
                st.lists(ACTION_ITEMS, max_size=2),
            )
        )
        must_end_well(attribution_env.step, a)


# --- map texts -----------------------------------------------------------------------------
MAP_CHARS = st.sampled_from(list("#.=+EX") * 4 + [" ", ";", "\t", "\x00", "é", "?"])


@fuzz("maps")
@given(
    rows=st.lists(st.text(MAP_CHARS, max_size=24), max_size=16),
    raw=st.binary(max_size=64),
    as_file=st.booleans(),
)
def test_fuzz_map_texts(tmp_path_factory, rows, raw, as_file):
    text = "\n".join(["#" * 8, "#E.=.X.#", *rows, "#" * 8])
    if as_file:
        path = tmp_path_factory.mktemp("map") / "m.txt"
        path.write_bytes(text.encode() + raw)
        lay = must_end_well(load_layout, str(path))
    else:
        lay = must_end_well(parse_layout, text, "fuzz")
    if lay is not None:
        assert lay.dist.shape == (len(lay.targets), lay.n_cells)


# --- recording members ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_members(tmp_path_factory):
    header = demo_header()
    path = tmp_path_factory.mktemp("rec") / "good.npz"
    save_recording(path, header, demo_frames(header, 4), {"env_id": "demo"})
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


MEMBER_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32), st.integers(-(2**31), 2**31 - 1)
)
DTYPES = st.sampled_from(
    [np.float16, np.float32, np.float64, np.int8, np.uint8, np.int16, np.int32, np.int64, np.bool_]
)


@fuzz("recordings")
@given(data=st.data())
def test_fuzz_recording_members(tmp_path_factory, good_members, data):
    members = dict(good_members)
    for _ in range(data.draw(st.integers(1, 3))):
        name = data.draw(st.sampled_from(sorted(members)))
        a = members[name].copy()
        how = data.draw(st.sampled_from(["value", "dtype", "shape", "drop", "header"]))
        if how == "value" and a.size:
            flat = a.reshape(-1)
            i = data.draw(st.integers(0, flat.size - 1))
            with np.errstate(all="ignore"):
                flat[i] = np.asarray(data.draw(MEMBER_VALUES)).astype(a.dtype)
        elif how == "dtype":
            with np.errstate(all="ignore"):
                a = a.astype(data.draw(DTYPES))
        elif how == "shape":
            a = a.reshape(-1)[: data.draw(st.integers(0, a.size))]
        elif how == "drop":
            members.pop(name)
            continue
        elif how == "header":
            meta = json.loads(good_members["header_json"].tobytes())
            key = data.draw(st.sampled_from(["n_frames", "version", "header", "format"]))
            meta[key] = data.draw(VALUES)
            a = np.frombuffer(json.dumps(meta).encode(), np.uint8)
            name = "header_json"
        members[name] = a
    path = tmp_path_factory.mktemp("fz") / "r.npz"
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **members)
    rec = must_end_well(load_recording, path)
    if rec is not None:  # whatever loads also draws and heatmaps
        list(iter_images(rec, np.array([0, len(rec) - 1]), size=(160, 120)))
        export_heatmap(rec, path.with_suffix(".png"), width=200)
