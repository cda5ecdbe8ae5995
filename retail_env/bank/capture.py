"""Capture banked decisions from the live native vector env.

Each store of an ``AttributionVectorEnv`` plays one seed after another ("no one" at
every decision: the world is the same whatever is decided); at each decision the
store is seen ``as_of`` its decision tick, exactly as ``AttributionEnv`` shows it, and
the action-independent part of what the env, its observations and the baselines
read is kept. A store whose seeds are used up is left finished (it costs an idle slot).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import numpy as np

from retail_env.bank.build import OTHERS_S, STATIC_STATS, columns
from retail_env.envs.attribution.observations import (
    CF_RECEIPT,
    EV_REVIEW,
    RAW_REVIEW,
    FeaturesObservation,
    RawObservation,
    around,
    busy_elsewhere,
    concurrent_events,
    context_columns,
)
from retail_env.envs.attribution.vector import AttributionVectorEnv, BatchAttributionCore


class Recorder:
    """Runs seeds through a live vector env of ``batch`` stores and keeps their decisions."""

    def __init__(self, cfg: Mapping[str, Any], store: Mapping[str, Any], raw: bool, batch: int):
        self.env = AttributionVectorEnv(batch, cfg["scenario"], {**cfg, "store": store})
        core = self.env.core
        assert isinstance(core, BatchAttributionCore)  # live, never a bank
        self.core = core
        self.features = FeaturesObservation(core)
        self.raw = RawObservation(core) if raw else None

    def run(self, seeds: list[int]) -> dict:
        env, core = self.env, self.core
        B, K = env.num_envs, core.K
        todo = list(seeds)
        slot: list[int | None] = [todo.pop(0) for _ in range(B)]
        env.start(cast("list[int]", slot))  # no None yet
        rows: dict[int, list] = {s: [] for s in seeds}
        raw: dict[int, list] = {s: [] for s in seeds}
        eps: dict[int, dict] = {}
        while any(s is not None for s in slot):
            fin = core.finished_mask()
            restart, new = [], []
            for b, seed in enumerate(slot):
                if seed is None:
                    continue
                if fin[b]:
                    eps[seed] = self._episode(b, seed, len(rows[seed]))
                    slot[b] = todo.pop(0) if todo else None
                    if slot[b] is not None:
                        restart.append(b)
                        new.append(slot[b])
                    continue
                with core.as_of(b, int(core.dec_tick[b])):
                    rows[seed].append(self._decision(b))
                    if self.raw is not None:
                        raw[seed].append(self._raw(b))
            for b, seed in enumerate(slot):
                if seed is not None and not fin[b]:
                    core.decide(b, K)
            which = np.zeros(B, bool)
            which[restart] = True
            env.restart(which, new)
            core.advance()
            env.reroll_empty(which)
            core.set_decision_ticks(~which)
        first = np.cumsum([0] + [len(rows[s]) for s in seeds])
        for s, f in zip(seeds, first, strict=False):
            eps[s]["first"] = int(f)
        return columns(
            [r for s in seeds for r in rows[s]],
            [eps[s] for s in seeds],
            [r for s in seeds for r in raw[s]] if self.raw is not None else None,
        )

    def _decision(self, b: int) -> dict:
        """Store ``b``'s head event as the single env shows it (call inside ``as_of``)."""
        core = self.core
        rec = core.head(b)
        assert rec is not None  # a store with a decision ready
        obs = self.features.rows([b], [rec])
        ev, cand = obs["event"][0], obs["candidates"][0]
        context = context_columns(core, [b], [rec], obs["candidates"])[0]
        ev[EV_REVIEW] = 0.0  # computed live at replay
        cand[:, CF_RECEIPT] = 0.0
        others = concurrent_events(core, b, rec, OTHERS_S)
        busy = [_bits(busy_elsewhere(r, around(core, b, r).busy_tracks)) for r in others]
        return {
            "index": rec.index,
            "plate": rec.plate,
            "product": rec.product,
            "dw": rec.dw,
            "t_start": rec.t_start,
            "t_end": rec.t_end,
            "t_detect": rec.t_detect,
            "t_decide": int(core.dec_tick[b]),
            "n_cand": rec.n_cand,
            "cand_track": rec.cand_track,
            "cand_account": rec.cand_account,
            "event": ev,
            "candidates": cand,
            "context": context,
            "truth": rec.truth,
            "others": [r.index for r in others],
            "others_busy": busy,
        }

    def _raw(self, b: int) -> dict:
        rec = self.core.head(b)
        assert self.raw is not None and rec is not None
        obs = self.raw.rows([b], [rec])
        out = {k: v[0] for k, v in obs.items() if k != "mask"}
        out["event"][RAW_REVIEW] = 0.0
        return out

    def _episode(self, b: int, seed: int, n: int) -> dict:
        """Store ``b``'s finished episode: what its receipts need beyond the decisions."""
        core = self.core
        led = core.ledgers[b]
        acc, prod = np.nonzero(led.true)
        return {
            "seed": seed,
            "n_decisions": n,
            "t_finish": int(core.dec_tick[b]),
            "seen": np.flatnonzero(led.seen).tolist(),
            "true": list(
                zip(acc.tolist(), prod.tolist(), led.true[acc, prod].tolist(), strict=True)
            ),
            "stats": {k: core.stats[b][k] for k in STATIC_STATS},
        }


def _bits(flags: list[bool]) -> int:
    return sum(1 << k for k, f in enumerate(flags) if f)
