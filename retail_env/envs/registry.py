"""Every environment id, as data. ``register_all()`` runs on ``import retail_env``.

Each entry is ``(id, entry_point, kwargs)``; several ids share one class and
differ only in kwargs (MiniGrid style). Tests are generated from this list.
``VECTOR_ENTRY_POINTS`` maps each class to its native batched vector env, registered
as ``vector_entry_point`` so ``gym.make_vec(id, num_envs=B)`` steps B stores at once.
"""

from __future__ import annotations

import gymnasium as gym

ATTRIBUTION = "retail_env.envs.attribution:AttributionEnv"
PROMOTION = "retail_env.envs.promotion:PromotionEnv"
VECTOR_ENTRY_POINTS = {
    # num_workers=W > 1 splits the stores over W processes (retail_env/envs/sharded.py)
    ATTRIBUTION: "retail_env.envs.sharded:make_attribution_vector",
    # every promotion preset, the spatial (walking-store) one included, batches natively
    PROMOTION: "retail_env.envs.promotion_vector:PromotionVectorEnv",
}

# --- Attribution task (one step = one detected shelf event) -----------------
ATTRIBUTION_SPECS: list[tuple[str, str, dict]] = [
    ("RetailStore/Attribution-v0", ATTRIBUTION, {"scenario": "medium"}),
    ("RetailStore/Attribution-Easy-v0", ATTRIBUTION, {"scenario": "easy"}),
    ("RetailStore/Attribution-Hard-v0", ATTRIBUTION, {"scenario": "hard"}),
    ("RetailStore/Attribution-Crowded-v0", ATTRIBUTION, {"scenario": "crowded"}),
    ("RetailStore/Attribution-Produce-v0", ATTRIBUTION, {"scenario": "produce"}),
    # The same medium store seen through the raw sensor streams (sensor-fusion research).
    ("RetailStore/Attribution-Raw-v0", ATTRIBUTION, {"scenario": "medium", "observation": "raw"}),
]

# --- Promotion task (one step = one trading period) -------------------------
# v1 (issue 20): end-caps need a real shelf discount, replenishment forecasts at the prices
# in force. v0 results are not reproducible by v1; gym.make of a v0 id names the v1 id.
PROMOTION_SPECS: list[tuple[str, str, dict]] = [
    ("RetailStore/Promotion-v1", PROMOTION, {"preset": "default"}),
    ("RetailStore/Promotion-Continuous-v1", PROMOTION, {"preset": "continuous"}),
    ("RetailStore/Promotion-Category-v1", PROMOTION, {"preset": "category"}),
    ("RetailStore/Promotion-Fresh-v1", PROMOTION, {"preset": "fresh"}),
    ("RetailStore/Promotion-Mini-v1", PROMOTION, {"preset": "mini"}),
    ("RetailStore/Promotion-Spatial-v1", PROMOTION, {"preset": "spatial"}),
]

ENV_SPECS = ATTRIBUTION_SPECS + PROMOTION_SPECS
ENV_IDS = [env_id for env_id, _, _ in ENV_SPECS]


def register_all() -> None:
    """Register every id once (idempotent, so re-imports are harmless)."""
    for env_id, entry_point, kwargs in ENV_SPECS:
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, kwargs=kwargs,
                         vector_entry_point=VECTOR_ENTRY_POINTS[entry_point])
