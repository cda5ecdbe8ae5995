"""The Promotion task: set discounts and member offers to maximise profit.

``env`` (one store), ``vector`` (B stores in one batch), ``core`` (config, presets and the
period dynamics both share), ``obs``, ``render``, ``spatial`` (periods played in the
walking store).
"""

from retail_env.envs.promotion.env import PromotionEnv
from retail_env.envs.promotion.vector import PromotionVectorEnv

__all__ = ["PromotionEnv", "PromotionVectorEnv"]
