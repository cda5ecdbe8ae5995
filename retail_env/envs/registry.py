"""Every environment id, as data. ``register_all()`` runs on ``import retail_env``.

Each entry is ``(id, entry_point, kwargs)``; several ids share one class and
differ only in kwargs (MiniGrid style). Tests are generated from this list.
"""

from __future__ import annotations

import gymnasium as gym

ATTRIBUTION = "retail_env.envs.attribution:AttributionEnv"
PROMOTION = "retail_env.envs.promotion:PromotionEnv"

# --- Attribution task (one step = one detected shelf event) -----------------
ATTRIBUTION_SPECS: list[tuple[str, str, dict]] = [
]

# --- Promotion task (one step = one trading period) -------------------------
PROMOTION_SPECS: list[tuple[str, str, dict]] = [
]

ENV_SPECS = ATTRIBUTION_SPECS + PROMOTION_SPECS
ENV_IDS = [env_id for env_id, _, _ in ENV_SPECS]


def register_all() -> None:
    """Register every id once (idempotent, so re-imports are harmless)."""
    for env_id, entry_point, kwargs in ENV_SPECS:
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, kwargs=kwargs)
