"""The banked Attribution core: B stores replaying banked episodes as array operations.

``BankCore`` is an ``AttributionCore`` whose stores read their events from a bank
instead of ticking the simulator. Each store's current episode is copied into slot
buffers ``(B, L, ...)`` when it starts, so a step gathers every store's decision with
one index per column. The receipts ledger of all stores is one ``(B, A, N)`` array.

Every action's outcome (its receipt line, item counts, need for review) comes from
one compiled kernel over the batch (``outcomes.py``: the live ``charge_line`` and
scoring repeated exactly); ``decide_batch``, ``oracle_actions`` and the observation
then work on all stores at once as array operations, in the order of the live code's
float sums. What one store is asked (the single env, a baseline) goes through the
task's own per-store code (inherited) on views of the same arrays (``_Ledger``,
``_Stats``). tests/test_bank.py checks banked == live, bit for bit.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from retail_env.bank import outcomes as kernels
from retail_env.bank.build import OTHERS_S, world_config
from retail_env.bank.heads import masks_into
from retail_env.bank.outcomes import best_action, decide_all, outcomes
from retail_env.bank.replay import Bank, BankRecord, Episode, make_record
from retail_env.bank.store import BankError
from retail_env.envs.attribution.core import (
    RAW_TYPES,
    REWARD_TERMS,
    STAT_KEYS,
    AttributionConfig,
    AttributionCore,
)

_S = {k: i for i, k in enumerate(STAT_KEYS)}
assert [_S[k] for k in ("decisions", "reviews", "refused", "empty_slot", "need_review")] == [
    kernels.DECISIONS,
    kernels.REVIEWS,
    kernels.REFUSED,
    kernels.EMPTY,
    kernels.NEED,
]
SLOTS = (
    "event",
    "candidates",
    "context",
    "n_cand",
    "cand_account",
    "product",
    "dw",
    "t_decide",
    "index",
)
RAW_SLOTS = ("weights", "tracks", "track_seen", "event")


class _Stats:
    """Store ``b``'s counters as the per-store code reads them (a row of ``core.stat``)."""

    __slots__ = ("stat", "b")

    def __init__(self, stat: np.ndarray, b: int):
        self.stat, self.b = stat, b

    def __getitem__(self, k: str) -> int:
        return int(self.stat[self.b, _S[k]])

    def __setitem__(self, k: str, v: int) -> None:
        self.stat[self.b, _S[k]] = v

    def __iter__(self):
        return iter(STAT_KEYS)

    def items(self):
        return [(k, self[k]) for k in STAT_KEYS]


class _Ledger:
    """Store ``b``'s books: ``charged`` is its slice of the core's (B, A, N) array."""

    def __init__(self, core: BankCore, b: int, ep: Episode):
        self.core, self.b, self.n = core, b, ep.n
        A, N = core.charged.shape[1:]
        self.seen = np.zeros(A, bool)
        self.true = np.zeros((A, N), np.int64)
        self.seen[ep.seen] = True
        np.add.at(self.true, (ep.true[0], ep.true[1]), ep.true[2])

    @property
    def charged(self) -> np.ndarray:
        return self.core.charged[self.b]

    @property
    def ceiling(self) -> np.ndarray:
        """The receipts had every event been reviewed, from the episode's truth lines (still
        in the slot buffer when its metrics are computed, at its end)."""
        c = np.zeros_like(self.true)
        t = self.core.buf["truth"][self.b, : self.n].reshape(-1, 3)
        t = t[(t[:, 0] >= 0) & (t[:, 2] != 0)]
        np.add.at(c, (t[:, 0], t[:, 1]), t[:, 2])
        return c

    def fit(self, account: Sequence[int]) -> None:
        if len(account) and max(account) >= len(self.seen):
            raise BankError(f"account {max(account)} is beyond the episode's books")

    def grow(self, A: int) -> None:
        for name in ("seen", "true"):
            old = getattr(self, name)
            setattr(self, name, _grown(old, (A, *old.shape[1:]), old.dtype))


class BankCore(AttributionCore):
    """``AttributionCore`` over banked episodes (the core of both banked envs)."""

    def __init__(
        self,
        cfg: AttributionConfig,
        store: Mapping[str, Any] | None,
        batch: int,
        bank: Bank | str | os.PathLike,
    ):
        super().__init__(cfg, store, batch)
        self.bank = bank if isinstance(bank, Bank) else Bank(bank)
        self.raw = cfg.observation.type in RAW_TYPES
        self.bank.check_world(world_config(cfg, self, self.raw), self.raw)
        w = cfg.reward
        self._weights = np.array([getattr(w, k) for k in REWARD_TERMS], np.float64)

    def draw_seeds(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.bank.draw_seeds(rng, n)

    # --- episodes -----------------------------------------------------------
    def reset(self, seeds: Sequence[int]) -> None:
        B = self.B
        self.seeds = [0] * B
        self.episodes: list[Episode | None] = [None] * B
        self.pos = np.zeros(B, np.int64)
        self.n = np.zeros(B, np.int64)
        self.t_finish = np.zeros(B, np.int64)
        self.dec_tick = np.zeros(B, np.int64)
        self.charged = np.zeros((B, 1, self.N), np.int64)
        self.stat = np.zeros((B, len(STAT_KEYS)), np.int64)
        self.stats = [_Stats(self.stat, b) for b in range(B)]
        self.ledgers: list[_Ledger | None] = [None] * B
        self.credit = np.full(B, self.cfg.review_credit_start)
        self.closed = np.zeros(B, bool)
        self.shut = np.ones(B, bool)  # nothing is simulated
        self.recent = [deque(maxlen=64) for _ in range(B)]
        self._heads: list[BankRecord | None] = [None] * B
        self._last_outcome: tuple = (None, None)
        self.buf: dict[str, np.ndarray] = {}
        self.raw_buf: dict[str, np.ndarray] = {}
        self.reset_stores(np.arange(B), seeds)

    def reset_stores(self, idx: np.ndarray, seeds: Sequence[int]) -> None:
        """Start stores ``idx`` on the banked episodes ``seeds``."""
        for b, s in zip(np.asarray(idx).tolist(), seeds, strict=True):
            ep = self.bank.episode(int(s))
            self._fit(ep)
            self.seeds[b], self.episodes[b] = int(s), ep
            self.pos[b], self.n[b], self.t_finish[b] = 0, ep.n, ep.t_finish
            for k in SLOTS:
                self.buf[k][b, : ep.n] = ep.cols[k]
            ep.truth_into(self.buf["truth"][b])
            for k in RAW_SLOTS if self.raw else ():
                self.raw_buf[k][b, : ep.n] = ep.shard.raw_cols[k][ep.first : ep.first + ep.n]  # pyright: ignore[reportOptionalSubscript]  (a raw bank has raw_cols)
            self.charged[b] = 0
            self.ledgers[b] = _Ledger(self, b, ep)
            self.stat[b] = 0
            for k, v in ep.stats.items():
                self.stat[b, _S[k]] = v
            self.credit[b] = self.cfg.review_credit_start
            self.recent[b] = deque(maxlen=64)
            self._heads[b] = None
            self._last_outcome = (None, None)
        self._set_ticks(np.asarray(idx))

    def _fit(self, ep: Episode) -> None:
        """Grow the slot buffers and the ledger to hold ``ep``."""
        B, L = self.B, max(ep.n, 1)
        if not self.buf or self.buf["index"].shape[1] < L:
            L = max(L, 2 * (self.buf["index"].shape[1] if self.buf else 0))
            for bufs, cols, keys in (
                (self.buf, ep.cols, SLOTS),
                (self.raw_buf, ep.shard.raw_cols, RAW_SLOTS if self.raw else ()),
            ):
                for k in keys:
                    bufs[k] = _grown(bufs.get(k), (B, L, *cols[k].shape[1:]), cols[k].dtype)  # pyright: ignore[reportOptionalSubscript]  (a raw bank has raw_cols)
        L = self.buf["index"].shape[1]
        old = self.buf.get("truth")
        T = max(ep.truth_width(), 1 if old is None else old.shape[2])
        if old is None or old.shape[1:3] != (L, T):
            self.buf["truth"] = _grown(old, (B, L, T, 3), np.int64)
        A = ep.max_account + 1
        if A > self.charged.shape[1]:
            A = max(A, 2 * self.charged.shape[1])
            self.charged = _grown(self.charged, (B, A, self.N), np.int64)
            for led in self.ledgers:
                if led is not None:
                    led.grow(A)

    def _set_ticks(self, stores: np.ndarray) -> None:
        """Each store's decision tick: its head event's, or for a finished one its end."""
        d = self.pos[stores]
        live = d < self.n[stores]
        at = self.buf["t_decide"][stores, np.minimum(d, self.buf["t_decide"].shape[1] - 1)]
        self.dec_tick[stores] = np.where(
            live, at, np.maximum(self.dec_tick[stores], self.t_finish[stores])
        )

    # --- the per-store interface (put-backs, baselines, the single env's info) -----
    def head(self, b: int) -> BankRecord | None:
        d = int(self.pos[b])
        if d >= self.n[b]:
            return None
        rec = self._heads[b]
        if rec is None or rec.d != d:
            ep = self.episodes[b]
            assert ep is not None  # d < n: the store holds an episode
            rec = self._heads[b] = make_record(ep, d)
        return rec

    def pop(self, b: int) -> BankRecord:
        rec = self.head(b)
        assert rec is not None  # popped only when an event is ready
        self.pos[b] += 1
        return rec

    def decide(self, b: int, action: int) -> dict[str, float]:
        terms = super().decide(b, action)
        d = int(self.pos[b])
        self.dec_tick[b] = (
            int(self.buf["t_decide"][b, d])
            if d < self.n[b]
            else max(int(self.dec_tick[b]), int(self.t_finish[b]))
        )
        return terms

    def action_mask(self, b: int) -> np.ndarray:
        rec = self.head(b)
        m = np.zeros(self.K + 2, np.int8)
        m[: 0 if rec is None else rec.n_cand] = 1
        m[self.K] = 1
        m[self.K + 1] = self.credit[b] >= 1.0
        return m

    def _outcomes(self, stores: np.ndarray, d: np.ndarray):
        """Every action's (correct, over, under) counts, each charge's receipt line and the
        need for review of decision ``d`` of each of ``stores`` (``outcomes.py``)."""
        R, K = len(stores), self.K
        counts = np.zeros((R, K + 2, 3), np.int64)
        lines = np.zeros((R, K, 3), np.int64)
        need = np.zeros(R, np.bool_)
        buf = self.buf
        outcomes(
            self.charged,
            stores,
            d,
            buf["cand_account"],
            buf["n_cand"],
            buf["product"],
            buf["dw"],
            buf["truth"],
            self.unit_w,
            counts,
            lines,
            need,
        )
        return counts, lines, need

    def _outcome_of(self, b: int, d: int):
        """``_outcomes`` of one store's decision ``d``, kept until its ledger changes (the
        single env asks for the oracle's counts, then decides the same event)."""
        key = (b, d, self.stat[b, _S["decisions"]])
        if self._last_outcome[0] != key:
            self._last_outcome = (key, self._outcomes(np.array([b]), np.array([d])))
        return self._last_outcome[1]

    def outcome(self, b: int, rec: BankRecord, action: int, review: bool):
        counts, lines, need = self._outcome_of(b, rec.d)
        K = self.K
        if review:
            out = rec.truth
        elif action < K:
            a, p, q = lines[0, action].tolist()
            out = [(a, p, q)] if a >= 0 and q else []
        else:
            out = []
        return out, tuple(counts[0, K + 1 if review else min(action, K)].tolist()), bool(need[0])

    def oracle_action(self, b: int) -> int:
        """The task's ``oracle_action`` of store ``b``, compiled (``outcomes.best_action``)."""
        rec = self.head(b)
        if rec is None:
            return self.K
        counts = self._outcome_of(b, rec.d)[0][0]
        return int(best_action(counts, rec.n_cand, bool(self.credit[b] >= 1.0), self._weights))

    def action_counts(self, b: int, rec: BankRecord):
        counts = [tuple(c) for c in self._outcome_of(b, rec.d)[0][0].tolist()]
        can_review = bool(self.credit[b] >= 1.0)
        if not can_review:
            counts[self.K + 1] = counts[self.K]
        return counts, can_review

    def advance(self) -> None:
        """Every store has its next decision ready: nothing to simulate."""

    def tick(self) -> None:
        raise RuntimeError("a banked core does not simulate")

    def run_ahead(self, lead: int) -> bool:
        """Nothing to run ahead of the agent (the sharded env's workers ask)."""
        return False

    def ready(self, b: int) -> bool:
        return self.pos[b] < self.n[b]

    def finished(self, b: int) -> bool:
        return self.pos[b] >= self.n[b]

    def finished_mask(self) -> np.ndarray:
        return self.pos >= self.n

    def now(self, b: int) -> int:
        return int(self.dec_tick[b])

    def set_decision_ticks(self, which: np.ndarray) -> None:
        """Decision ticks are banked (set as each event becomes current)."""

    # --- the batch interface (the envs' steps) ---------------------------------
    def decide_batch(self, stores: np.ndarray, actions: np.ndarray) -> dict[str, np.ndarray]:
        """``decide`` for every store at once, compiled (``outcomes.decide_all``); one store
        (the single env) goes through the per-store code. Decisions taken here are not
        kept in ``recent`` (the vector env does not draw)."""
        if len(stores) == 1:
            return {
                k: np.array([v]) for k, v in self.decide(int(stores[0]), int(actions[0])).items()
            }
        s = np.asarray(stores, np.int64)
        R, buf = len(s), self.buf
        terms = np.zeros((R, len(REWARD_TERMS)))
        outcome = np.zeros(R, np.int64)
        decide_all(
            self.charged,
            s,
            self.pos[s],
            np.asarray(actions, np.int64),
            buf["cand_account"],
            buf["n_cand"],
            buf["product"],
            buf["dw"],
            buf["truth"],
            self.unit_w,
            self.credit,
            self.stat,
            self._weights,
            float(self.cfg.review_budget),
            terms,
            outcome,
        )
        self.pos[s] += 1
        self._set_ticks(s)
        return dict(zip(REWARD_TERMS, terms.T, strict=True))

    def event_indices(self, stores) -> np.ndarray:
        return self.heads(stores)[1]

    def action_masks(self, stores) -> np.ndarray:
        return self.heads(stores)[0]

    def heads(self, stores) -> tuple[np.ndarray, np.ndarray]:
        """(action masks, event indices) of ``stores``' head events (``heads.masks_into``)."""
        s = np.asarray(stores, np.int64)
        mask, index = np.empty((len(s), self.K + 2), np.int8), np.empty(len(s), np.int64)
        masks_into(
            s, self.pos, self.n, self.buf["n_cand"], self.buf["index"], self.credit, mask, index
        )
        return mask, index

    def oracle_actions(self, stores) -> np.ndarray:
        """``oracle_action`` of every store at once (the live loop's float sums, in its
        order and with its tie rule); K for a finished store."""
        stores = np.asarray(stores)
        K, w = self.K, self.cfg.reward
        live = self.pos[stores] < self.n[stores]
        out = np.full(len(stores), K, np.int64)
        if not live.any():
            return out
        s = stores[live]
        counts = self._outcomes(s, self.pos[s])[0]
        n_cand = self.buf["n_cand"][s, self.pos[s]]
        can = self.credit[s] >= 1.0
        best, best_r = np.full(len(s), K), np.full(len(s), -np.inf)
        no = np.zeros(len(s), bool)
        for a in range(K + 2):
            c = counts[:, a] if a <= K else np.where(can[:, None], counts[:, K + 1], counts[:, K])
            review, refused = (can, ~can) if a == K + 1 else (no, no)
            empty = np.full(len(s), a < K) & (a >= n_cand)
            r = (
                w.correct * c[:, 0]
                + w.overcharge * c[:, 1]
                + w.undercharge * c[:, 2]
                + w.review * review
                + w.refused * refused
                + w.empty_slot * empty
            )
            better = r > best_r + 1e-9
            best, best_r = np.where(better, a, best), np.where(better, r, best_r)
        out[live] = best
        return out

    # --- what the observation and the baselines read ---------------------------
    def neighbours(self, b: int, rec: BankRecord, within_s: float) -> list[tuple]:
        """``observations.neighbour_views`` of a banked event: the concurrent events
        (queued or decided, as the live core holds them at the decision) within
        ``within_s`` (at most ``OTHERS_S``), each with its candidate rows as of now."""
        if within_s > OTHERS_S:
            raise BankError(
                f"within_s={within_s}: a bank keeps concurrent events within {OTHERS_S} s"
            )
        from retail_env.envs.attribution.observations import CF_BUSY, CF_RECEIPT, receipt_columns

        ep = self.episodes[b]
        assert ep is not None
        pad = int(within_s * self.hz)
        lo, hi = rec.t_start - pad, rec.t_end + pad
        out = []
        for i, bits in ep.others(rec.d):
            r = make_record(ep, i)
            if not (r.t_start <= hi and r.t_end >= lo):
                continue
            cf = ep.cols["candidates"][i].copy()
            cf[:, CF_BUSY] = [(bits >> k) & 1 if k < r.n_cand else 0 for k in range(self.K)]
            out.append((r, cf))
        if out:
            live = receipt_columns(self, [b] * len(out), [r for r, _ in out])
            for (_, cf), rc in zip(out, live, strict=True):
                cf[:, CF_RECEIPT] = rc
        return out


def _grown(old: np.ndarray | None, shape: tuple, dtype) -> np.ndarray:
    """A zero array of ``shape`` holding ``old`` (None: nothing) in its leading corner."""
    new = np.zeros(shape, dtype)
    if old is not None:
        new[tuple(slice(0, n) for n in old.shape)] = old
    return new
