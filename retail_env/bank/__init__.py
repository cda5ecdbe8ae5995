"""The Attribution episode bank: simulate episodes once, replay them to any agent.

    from retail_env.bank import build_bank
    build_bank("banks/hard", scenario="hard", seeds="0:512")
    env = gym.make("RetailStore/Attribution-Hard-v0", bank="banks/hard")

``build.py`` plans and builds (shards in parallel, resumable), ``capture.py`` records
decisions from the live env, ``store.py`` is the on-disk format, ``replay.py`` the
banked core the envs run on.
"""

from retail_env.bank.build import build_bank, build_shard, cached_bank, plan
from retail_env.bank.core import BankCore
from retail_env.bank.replay import Bank
from retail_env.bank.store import BankError

__all__ = ["Bank", "BankCore", "BankError", "build_bank", "build_shard", "cached_bank", "plan"]
