"""Build an Attribution episode bank with Hydra (one shard per job in a multirun).

    python -m retail_env.experiments.build_bank bank.out=banks/hard bank.scenario=hard bank.seeds=0:5000
    python -m retail_env.experiments.build_bank -m bank.out=banks/hard bank.seeds=0:5000 'shard=range(0,79)'

The same as ``retail-env bank build`` (retail_env/bank/build.py); planning is idempotent
and each shard is locked while built, so concurrent jobs of one sweep never collide.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import hydra
from omegaconf import DictConfig, OmegaConf

from retail_env.bank.build import build_bank, build_shard, plan

log = logging.getLogger(__name__)


@hydra.main(config_path="../conf", config_name="bank", version_base="1.3")
def main(cfg: DictConfig) -> None:
    b = cast("dict[str, Any]", OmegaConf.to_container(cfg.bank, resolve=True))
    kwargs = dict(
        scenario=b["scenario"],
        seeds=b["seeds"],
        store=b["store"],
        raw=b["raw"],
        shard_size=b["shard_size"],
        evaluation=b["evaluation"],
        **b["task"],
    )
    if cfg.shard is None:
        build_bank(b["out"], workers=cfg.workers, **kwargs)
        log.info("bank %s: every shard built", b["out"])
        return
    plan(b["out"], **kwargs)
    built = build_shard(b["out"], int(cfg.shard))
    log.info("bank %s shard %d: %s", b["out"], cfg.shard, "built" if built else "already built")


if __name__ == "__main__":
    main()
