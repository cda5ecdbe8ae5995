"""The whole store: a manager sets prices, a checkout charges the crowds they draw
(a PettingZoo AEC env; needs the ``multi`` extra)."""

from retail_env.multi.store_env import CHECKOUT, MANAGER, RoleActionError, WholeStoreEnv

__all__ = ["CHECKOUT", "MANAGER", "RoleActionError", "WholeStoreEnv", "env"]


def env(**kwargs) -> WholeStoreEnv:
    """PettingZoo's conventional constructor."""
    return WholeStoreEnv(**kwargs)
