"""The Attribution task: charge every detected shelf event to the right shopper.

``env`` (one store), ``vector`` (B stores in one batch), ``core`` (the task logic both
share), ``observations`` and the feature modules it builds on, ``receipts`` (the score),
``promotion_plan`` (the prices in force in the store).
"""

from retail_env.envs.attribution.env import AttributionEnv
from retail_env.envs.attribution.vector import AttributionVectorEnv

__all__ = ["AttributionEnv", "AttributionVectorEnv"]
