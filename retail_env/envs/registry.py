"""Every environment id, as data. ``register_all()`` runs on ``import retail_env``.

Each entry is ``(id, entry_point, kwargs)``; several ids share one class and
differ only in kwargs (MiniGrid style). Tests are generated from this list.
``VECTOR_ENTRY_POINTS`` maps each class to its native batched vector env, registered
as ``vector_entry_point`` so ``gym.make_vec(id, num_envs=B)`` steps B stores at once.

Promotion rewards: the ``-v1`` ids reward profit in thousands of dollars
(``reward_scale=0.001``, the scale the leaderboard's PPO trains on: a minimal PPO on Mini
reached $5.3k of profit with it and $3.2k on dollar rewards); ``info["kpis"]`` and the
leaderboard's ``profit`` are in dollars. The ``-v0`` ids (the old economics, rewards in
dollars) are gone: their results cannot be reproduced. A ``config=`` passed to ``gym.make``
on a ``-v1`` id keeps the scale unless it sets ``reward_scale`` itself. Promotion ids set
``max_episode_steps`` to their fixed horizon (``HORIZONS``, checked against the presets by
tests/test_registry_envs.py); a config that changes ``episode_days`` or ``period_h`` needs
``gym.make(..., max_episode_steps=N)`` as well.

Promotion ``-v2`` (the current version; issue 20): ``-v1`` plus ``inventory.expedite``: a
promotion that starts short of stock gets its opening stock at once, at a premium
(docs/promotion_economics.md). Same spaces and reward scale; ``-v1`` stays registered as it
was. A ``config=`` on a ``-v2`` id is applied over that default (nested keys merge).

Attribution ids take the same shape: ``{"preset": ..., "version": ...}``, the version's
config (``ATTRIBUTION_VERSIONS``: ``-v1``'s reward weights) under the user's ``config=``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from retail_env.envs.base import versioned

ATTRIBUTION = "retail_env.envs.registry:attribution_env"
PROMOTION = "retail_env.envs.registry:promotion_env"
VECTOR_ENTRY_POINTS = {
    # num_workers=W > 1 splits the stores over W processes (retail_env/envs/sharded.py)
    ATTRIBUTION: "retail_env.envs.registry:attribution_vector_env",
    # every promotion preset, the spatial (walking-store) one included, batches natively
    PROMOTION: "retail_env.envs.registry:promotion_vector_env",
}
REWARD_SCALE = 0.001  # Promotion -v1: reward = profit in thousands of dollars
# Steps per episode of each Promotion preset: episode_days x 24 / period_h.
HORIZONS = {
    "default": 336,
    "continuous": 336,
    "category": 336,
    "fresh": 336,
    "mini": 28,
    "spatial": 240,
}

# --- Attribution task (one step = one detected shelf event) -----------------
# (name, preset): the presets are retail_env.envs.attribution.core.PRESETS.
ATTRIBUTION_PRESETS = [
    ("Attribution", "medium"),
    ("Attribution-Easy", "easy"),
    ("Attribution-Hard", "hard"),
    ("Attribution-Crowded", "crowded"),
    ("Attribution-Produce", "produce"),
    ("Attribution-Raw", "raw"),
    ("Attribution-Promo", "promo"),
]
# v1: reward weights that order policies as their receipts do (issue 16). On v0's weights
# (correct 1, overcharge -2, undercharge -1) charging no one out-rewards charging the
# nearest track on Hard while its receipts are far worse; with these, the pairs of the six
# baselines whose return and exact_match disagree fall from 20 to 6 of 141 on Hard, 11 to 6
# on the default scenario and 30 to 8 on Crowded (10 frozen seeds each:
# experiments/results/reward_ranking.md, python -m retail_env.experiments.reward_ranking). The world,
# the observations and the receipts are v0's; v0 stays registered, unchanged.
ATTRIBUTION_REWARD_V1 = {"correct": 2.0, "overcharge": -1.0, "undercharge": -0.5}
ATTRIBUTION_VERSIONS = {0: {}, 1: {"reward": ATTRIBUTION_REWARD_V1}}
ATTRIBUTION_SPECS: list[tuple[str, str, dict]] = [
    (f"RetailStore/{name}-v{v}", ATTRIBUTION, {"preset": preset, "version": v})
    for v in ATTRIBUTION_VERSIONS
    for name, preset in ATTRIBUTION_PRESETS
]

# --- Promotion task (one step = one trading period) -------------------------
PROMOTION_PRESETS = [
    ("Promotion", "default"),
    ("Promotion-Continuous", "continuous"),
    ("Promotion-Category", "category"),
    ("Promotion-Fresh", "fresh"),
    ("Promotion-Mini", "mini"),
    ("Promotion-Spatial", "spatial"),
]
# v1: end-caps need a real shelf discount, replenishment forecasts at the prices in force
# (issue 20), and rewards are profit in thousands of dollars (issue 22). v0 results are not
# reproducible by v1, so v0 is not registered: gym.make of a v0 id names the latest id.
# v2: a promotion's missing stock is expedited, and orders leave out stock that expires
# before they arrive (issue 20's stock must-show).
PROMOTION_VERSIONS = {
    1: {"reward_scale": REWARD_SCALE},
    2: {"reward_scale": REWARD_SCALE, "inventory": {"expedite": True, "net_outdating": True}},
}
PROMOTION_VERSION = 2  # what the experiments and tables use
PROMOTION_SPECS: list[tuple[str, str, dict]] = [
    (f"RetailStore/{name}-v{v}", PROMOTION, {"preset": preset, "version": v})
    for v in PROMOTION_VERSIONS
    for name, preset in PROMOTION_PRESETS
]
PROMOTION_IDS = [
    env_id for env_id, _, kw in PROMOTION_SPECS if kw["version"] == PROMOTION_VERSION
]  # the current version's ids

ENV_SPECS = ATTRIBUTION_SPECS + PROMOTION_SPECS
ENV_IDS = [env_id for env_id, _, _ in ENV_SPECS]


def attribution_env(
    preset: str = "medium",
    config: dict | None = None,
    render_mode: str | None = None,
    bank: Any = None,
    version: int = 0,
    **old: Any,
):
    """``AttributionEnv`` of a registered version: its config under ``config``."""
    from retail_env.envs.attribution.env import AttributionEnv

    return AttributionEnv(
        preset, versioned(ATTRIBUTION_VERSIONS, config, version), render_mode, bank, **old
    )


def attribution_config(env_id: str, kwargs: dict | None = None):
    """``(AttributionConfig, store overrides)`` of ``gym.make(env_id, **kwargs)``, without
    building the env (the batched evaluations and the episode bank start from them)."""
    from retail_env.envs.attribution.env import parse_config

    kw = {**gym.spec(env_id).kwargs, **(kwargs or {})}
    return parse_config(
        kw.get("preset", "medium"),
        versioned(ATTRIBUTION_VERSIONS, kw.get("config"), kw.get("version", 0)),
    )


def attribution_vector_env(
    num_envs: int = 1,
    preset: str = "medium",
    config: dict | None = None,
    version: int = 0,
    **kwargs: Any,
):
    """The Attribution vector env of a registered version (config as ``attribution_env``);
    ``num_workers=W > 1`` shards it over W processes (retail_env/envs/sharded.py)."""
    from retail_env.envs.sharded import make_attribution_vector

    return make_attribution_vector(
        num_envs, preset=preset, config=versioned(ATTRIBUTION_VERSIONS, config, version), **kwargs
    )


def promotion_env(
    preset: str = "default",
    config: dict | None = None,
    render_mode: str | None = None,
    version: int = 1,
):
    """``PromotionEnv`` of a registered version: its config (the reward scale included)
    under ``config``."""
    from retail_env.envs.promotion.env import PromotionEnv

    return PromotionEnv(preset, versioned(PROMOTION_VERSIONS, config, version), render_mode)


def promotion_vector_env(
    num_envs: int = 1,
    preset: str = "default",
    config: dict | None = None,
    render_mode: str | None = None,
    max_episode_steps: int | None = None,
    version: int = 1,
):
    """``PromotionVectorEnv`` of a registered version (config as ``promotion_env``).

    ``gym.make_vec`` passes the registered ``max_episode_steps``; episodes end at the
    config's horizon, so a smaller value (that would cut them) is refused."""
    from retail_env.envs.promotion.vector import PromotionVectorEnv

    venv = PromotionVectorEnv(
        num_envs, preset, versioned(PROMOTION_VERSIONS, config, version), render_mode
    )
    horizon = venv.params.n_periods
    if max_episode_steps is not None and int(max_episode_steps) < horizon:
        raise ValueError(
            f"max_episode_steps={max_episode_steps} is not allowed for the "
            f"vector env: its episodes end at the config's horizon ({horizon} "
            "periods); shorten episode_days or period_h in config instead"
        )
    return venv


def register_all() -> None:
    """Register every id once (idempotent, so re-imports are harmless)."""
    for env_id, entry_point, kwargs in ENV_SPECS:
        if env_id not in gym.registry:
            gym.register(
                id=env_id,
                entry_point=entry_point,
                kwargs=kwargs,
                vector_entry_point=VECTOR_ENTRY_POINTS[entry_point],
                max_episode_steps=HORIZONS[kwargs["preset"]] if entry_point == PROMOTION else None,
            )
