"""One documentation page per registered environment id, generated from the registry.

    python -m retail_env.experiments.env_pages [--out docs/envs] [--frames]

Each page (``docs/envs/<slug>.md``) is built by making the id with ``gym.make``: its
spaces, reward terms, info keys, metrics, task parameters and preset are read from the
env, not typed, so a page cannot drift from the code. What cannot be read from the code
(what each part means, what makes the id hard, its version history) is in the tables
below, one entry per id; an id without one fails here, so a new id cannot ship without
its page. ``--frames`` also renders one frame per id into ``experiments/screenshots/envs/``
(pixels depend on fonts, so ``tests/test_docs.py`` checks the pages, not the pictures).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from gymnasium import spaces  # noqa: E402

import retail_env  # noqa: E402
from retail_env.envs.registry import ENV_SPECS, VECTOR_ENTRY_POINTS  # noqa: E402
from retail_env.sim.validation import _allowed  # noqa: E402

from .env_page_tasks import PAGE_SECTIONS  # noqa: E402
from .tasks import task_of  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "envs"
FRAMES = ROOT / "experiments" / "screenshots" / "envs"  # served as img/envs/ (docs hook)
FRAME_STEPS = 40  # steps of a seeded run before the picture

# What each env is for and what makes it hard (not in the code), by id without its version:
# every version of an env shares the world.
HARD = {
    "Attribution": "the default scenario (`medium`): four gondolas (50 plates), "
    "24 products, a busy noon (~28 shoppers inside). Shoppers queue at the same shelf, pick at "
    "the same time, put items back at the wrong place, take equal-weight look-alikes, hand "
    "items to their group, rest a hand on the plate, pick several items at once; produce and "
    "staff restocking add events no shopper pays for.",
    "Attribution-Easy": "little: one gondola (13 plates), 8 products, a quiet "
    "fuel-station hour (at most 4 shoppers inside) and no hard cases, so shoppers rarely "
    "share a shelf. A sanity check for a new agent.",
    "Attribution-Hard": "every hard case at once: 20 % put-backs (30 % of them at "
    "a wrong place), 30 % resting hands, 25 % multi-item picks and a planogram wrong on 10 % "
    "of plates. The wrong items that only a review fixes far exceed the 5 % review budget.",
    "Attribution-Crowded": "a lunch rush of up to 64 shoppers with crossed "
    "reaches: camera tracks drop out and swap identities, several shoppers stand at every "
    "shelf.",
    "Attribution-Produce": "a fresh format (Amazon Go style) with variable-weight "
    "produce on many plates: the quantity a weight change stands for is uncertain.",
    "Attribution-Raw": "the default store seen through the raw sensor streams "
    "(plate readings and track positions over the last 5 s) instead of engineered features: "
    "the agent must learn the sensor fusion itself.",
    "Attribution-Promo": "the default store on a hi-lo day: a quarter of the "
    "products at half price at a time, four of them on end-caps. The deals draw crowds to their "
    "shelves, so there are more events and more of them overlap (see the "
    "[whole store](../whole_store.md)).",
    "Promotion": "a c-store of 24 products in 8 categories, hourly prices over "
    "14 days, one discount level and member flag per product: shoppers remember prices, "
    "stockpile after deep cuts, and stock arrives a day after it is ordered.",
    "Promotion-Continuous": "the same store with a continuous price multiplier "
    "per product (`Box`): the planners' discrete levels are gone and small cuts cost margin "
    "without buying a display.",
    "Promotion-Category": "the same store with one decision per category (8 "
    "units): coarser control, so cuts move every product of a category together.",
    "Promotion-Fresh": "a fresh format (18 of 24 products perishable) with "
    "generous ordering: spoilage is the cost to fight, and markdowns beat list price here.",
    "Promotion-Mini": "8 products, daily periods, 28 days: quick to train. List "
    "price is hard to beat: the true-model planners are level with it.",
    "Promotion-Spatial": "the walking store plays each 6-minute period (from 11:00, "
    "one day, the mini assortment): demand comes from simulated shoppers, slow (minutes an "
    "episode) and noisier than the aggregate model.",
}

# Version history of each id (not in the code).
ATTRIBUTION_V0 = "`-v0`: the first release of the Attribution task."
ATTRIBUTION_V1 = (
    "`-v1`: the same world, observations and receipts as `-v0`, reward weights correct 2, "
    "overcharge -1, undercharge -0.5 (`-v0`: 1, -2, -1), so that returns rank the baselines "
    "as their receipts do (`experiments/results/reward_ranking.md`). " + ATTRIBUTION_V0
)
PROMOTION_V1 = (
    "`-v1`: end-caps need a shelf discount of at least `endcap_min_depth` (20 %) "
    "offered to everyone; replenishment forecasts demand at the prices in force; "
    "rewards are profit x 0.001; `max_episode_steps` is set. `-v0` (the old "
    "economics, rewards in dollars) is retired: its results cannot be reproduced "
    "on v1, and `gym.make` of a `-v0` id names this id. See the "
    "[changelog](../changelog.md)."
)
PROMOTION_V2 = (
    "`-v2`: a promotion short of stock gets its opening stock expedited at 25 % of unit cost "
    "extra (reward term `expedite`), and perishable orders leave out stock expected to expire "
    "unsold before they arrive, so promotions stay in stock "
    "([promotion economics](../promotion_economics.md)); `-v1` stays registered. " + PROMOTION_V1
)
VERSION_TEXT = {
    ("Attribution", "0"): ATTRIBUTION_V0,
    ("Attribution", "1"): ATTRIBUTION_V1,
    ("Promotion", "1"): PROMOTION_V1,
    ("Promotion", "2"): PROMOTION_V2,
}


def base_name(env_id: str) -> str:
    """``RetailStore/Attribution-Hard-v1`` -> ``Attribution-Hard`` (the key of HARD)."""
    return env_id.split("/")[-1].rsplit("-v", 1)[0]


def version_text(env_id: str) -> str:
    """The version history of ``env_id`` (KeyError if VERSION_TEXT lacks its version)."""
    version = env_id.rsplit("-v", 1)[1]
    return VERSION_TEXT[(base_name(env_id).split("-")[0], version)]


INFO = {  # every info key an env returns, and what it holds
    "action_mask": "1 for the actions allowed now: real candidates, no one, review while "
    "the budget allows",
    "oracle_action": "the best action given the truth (the oracle baseline's view; privileged)",
    "event_index": "index of the event being decided in this episode",
    "time_s": "store time of the decision (s)",
    "review_credit": "reviews the budget allows now",
    "store": "the store's index in its batch (0 for a single env)",
    "rewards": "the named reward terms of the last step (already weighted)",
    "receipts": "at the end of the episode: the receipt metrics (below)",
    "period": "the trading period about to be played",
    "kpis": "the last period's KPIs (below)",
    "episode_kpis": "the KPIs of the episode so far",
}


def slug(env_id: str) -> str:
    """``RetailStore/Attribution-Hard-v0`` -> ``attribution-hard-v0``."""
    return env_id.split("/")[-1].lower()


def _task(env_id: str) -> str:
    return task_of(env_id).name


def _space_rows(space: spaces.Space) -> list[str]:
    """Markdown rows ``| key | type | shape | dtype | bounds |`` of a (Dict) space."""
    items = space.spaces.items() if isinstance(space, spaces.Dict) else [("(vector)", space)]
    rows = []
    for key, sub in items:
        if isinstance(sub, spaces.Box):
            lo, hi = float(np.min(sub.low)), float(np.max(sub.high))
            bounds = f"[{lo:g}, {hi:g}]"
        else:
            bounds = ""
        rows.append(
            f"| `{key}` | `{type(sub).__name__}` | {tuple(sub.shape or ())} | {sub.dtype} | {bounds} |"
        )
    return rows


def _action(space: spaces.Space) -> str:
    if isinstance(space, spaces.MultiDiscrete):
        nvec = space.nvec.tolist()
        runs, i = [], 0
        while i < len(nvec):
            j = i
            while j < len(nvec) and nvec[j] == nvec[i]:
                j += 1
            runs.append(f"[{nvec[i]}] x {j - i}")
            i = j
        return f"`MultiDiscrete({' + '.join(runs)})`"
    if isinstance(space, spaces.Box):
        return (
            f"`Box({float(np.min(space.low)):g}, {float(np.max(space.high)):g}, "
            f"{tuple(space.shape)}, {space.dtype})`"
        )
    return f"`{space}`"


def _field_rows(cfg) -> list[str]:
    """``| field | value | allowed |`` for the config's top-level scalar fields."""
    rows = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            continue
        doc = f.metadata.get("doc", "")
        rows.append(f"| `{f.name}` | `{value!r}` | {_allowed(f.metadata)} | {doc} |")
    return rows


def _probe(env_id: str):
    """The env after ``reset(seed=0)`` and one step: (env, reset info, step info)."""
    env = gym.make(env_id)
    _, info0 = env.reset(seed=0)
    env.action_space.seed(0)
    action = info0.get("oracle_action", None)
    _, _, _, _, info1 = env.step(env.action_space.sample() if action is None else action)
    return env, info0, info1


def page(env_id: str, kwargs: dict, entry_point: str) -> str:
    """The Markdown page of one id."""
    try:
        hard, versions = HARD[base_name(env_id)], version_text(env_id)
    except KeyError:
        raise KeyError(
            f"{env_id} has no entry in experiments/env_pages.py HARD/VERSION_TEXT: "
            "say what makes it hard and its version history"
        ) from None
    task = _task(env_id)
    env, info0, info1 = _probe(env_id)
    base: Any = env.unwrapped  # the task's env class (its config, params)
    spec = gym.spec(env_id)
    sections = PAGE_SECTIONS[task](base, spec, kwargs)
    name = env_id.split("/")[-1]
    keys = list(dict.fromkeys([*info0, *info1]))
    unknown = [k for k in keys if k not in INFO]
    if unknown:
        raise KeyError(
            f"{env_id} returns info keys {unknown} that experiments/env_pages.py "
            "INFO does not describe"
        )
    out = [
        f"# {name}",
        "",
        "<!-- Generated by `python -m retail_env.experiments.env_pages` from the registry: do not edit. -->",
        "",
        f'![{name}](../img/envs/{slug(env_id)}.png){{ width="480" }}',
        "",
        f"**What makes it hard.** {hard[0].upper()}{hard[1:]}",
        "",
        "```python",
        "import gymnasium as gym",
        "import retail_env  # registers the ids",
        "",
        f'env = gym.make("{env_id}")',
        "envs = gym.make_vec(",
        f'    "{env_id}", num_envs=64, vectorization_mode="vector_entry_point"',
        ")",
        "```",
        "",
        f"The task's full card (what every feature, action and term means): "
        f"[{task.capitalize()} task]({sections.card}).",
        "",
        "## Registration",
        "",
        "| | |",
        "|---|---|",
        f"| id | `{env_id}` |",
        f"| entry point | `{entry_point}` |",
        f"| kwargs | `{json.dumps(kwargs)}` |",
        f"| vector entry point | `{VECTOR_ENTRY_POINTS[entry_point]}` |",
        f"| `max_episode_steps` | {spec.max_episode_steps} |",
        f"| render modes | {', '.join(f'`{m}`' for m in base.metadata['render_modes'])} "
        f"({base.metadata['render_fps']} fps) |",
        "",
        "## Action space",
        "",
        _action(env.action_space),
        "",
    ]
    out += sections.action()
    out += [
        "## Observation space",
        "",
        "| key | space | shape | dtype | bounds |",
        "|---|---|---|---|---|",
        *_space_rows(env.observation_space),
        "",
    ]
    out += sections.observation()
    out += ["## Reward", ""]
    out += sections.reward(list(info1["rewards"]))
    out += ["", "## Termination", ""]
    out += sections.termination()
    out += ["## Info keys", "", "| key | when | meaning |", "|---|---|---|"]
    for key in keys:
        when = (
            "reset and step"
            if key in info0 and key in info1
            else ("reset" if key in info0 else "step")
        )
        out.append(f"| `{key}` | {when} | {INFO[key]} |")
    out += sections.info_rows(INFO)
    what, names = sections.metrics, sections.metric_names(list(info1.get("kpis", ())))
    out += [
        "",
        "## Metrics",
        "",
        f"{what}: " + ", ".join(f"`{n}`" for n in names) + ".",
        "",
        "## Preset",
        "",
    ]
    preset_lines, cfg = sections.preset()
    out += preset_lines
    out += [
        "| field | value | allowed | meaning |",
        "|---|---|---|---|",
        *_field_rows(cfg),
        "",
        "## Baselines and scores",
        "",
        "See [Baselines and leaderboard](../baselines.md).",
        "",
        "## Version history",
        "",
        versions,
        "",
    ]
    env.close()
    return "\n".join(out)


def index() -> str:
    """``docs/envs/index.md``: every id with its spaces, one click from each page."""
    out = [
        "# Environments",
        "",
        "<!-- Generated by `python -m retail_env.experiments.env_pages` from the registry: do not edit. -->",
        "",
        "Every registered id (`import retail_env` registers them). Each page gives the "
        "id's spaces, reward terms, termination, info keys, metrics, preset and version "
        "history.",
        "",
        "| id | task | action space | observation |",
        "|---|---|---|---|",
    ]
    for env_id, _, _ in ENV_SPECS:
        env = gym.make(env_id)
        obs = env.observation_space
        obs_s = (
            ", ".join(f"`{k}` {tuple(s.shape or ())}" for k, s in obs.spaces.items())
            if isinstance(obs, spaces.Dict)
            else f"`Box{tuple(obs.shape or ())}`"
        )
        out.append(
            f"| [{env_id}]({slug(env_id)}.md) | {_task(env_id)} | "
            f"{_action(env.action_space)} | {obs_s} |"
        )
        env.close()
    return "\n".join(out) + "\n"


def pages() -> dict[str, str]:
    """Every page by file name (``index.md`` and one per id)."""
    out = {"index.md": index()}
    for env_id, entry_point, kwargs in ENV_SPECS:
        out[f"{slug(env_id)}.md"] = page(env_id, kwargs, entry_point)
    return out


def frame(env_id: str, path: Path, steps: int = FRAME_STEPS) -> None:
    """One ``rgb_array`` frame after a seeded run of ``steps`` steps, saved as PNG."""
    from .screenshots import save_png

    env = gym.make(env_id, render_mode="rgb_array")
    _, info = env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(steps):
        action = info.get("oracle_action", None)
        _, _, term, trunc, info = env.step(env.action_space.sample() if action is None else action)
        if term or trunc:
            break
    img = env.render()
    assert isinstance(img, np.ndarray)  # rgb_array
    save_png(img, path)
    env.close()


def main(argv: list[str] | None = None) -> None:
    from retail_env.atomic import write_text

    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument(
        "--out", type=Path, default=OUT, help="folder of the generated pages (default docs/envs)"
    )
    ap.add_argument(
        "--frames",
        action="store_true",
        help="also render one frame per id into experiments/screenshots/envs/",
    )
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in pages().items():
        write_text(args.out / name, text)
    print(f"wrote {len(ENV_SPECS) + 1} pages to {args.out}")
    if args.frames:
        FRAMES.mkdir(parents=True, exist_ok=True)
        for env_id in retail_env.ENV_IDS:
            frame(env_id, FRAMES / f"{slug(env_id)}.png")
        print(f"wrote {len(ENV_SPECS)} frames to {FRAMES}")


if __name__ == "__main__":
    main()
