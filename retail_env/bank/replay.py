"""Replay a bank: the Attribution task's decisions without the simulator.

``Bank`` opens a bank directory (manifest checked, each shard memory-mapped and its
checksums verified the first time it is touched). ``BankCore`` is an
``AttributionCore`` whose stores read their events from the bank instead of
ticking the simulator: decisions, rewards, the oracle, masks and receipts run
through the task's own code (inherited), and the observation columns that depend
on earlier decisions are computed live by the functions the live observation uses
(``observations.review_columns`` / ``receipt_columns``). So a banked episode is the
live episode, bit for bit (tests/test_bank.py).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import retail_env
from retail_env.bank.build import OTHERS_S, STATIC_STATS, world_config
from retail_env.bank.store import (
    FILES,
    MANIFEST,
    RAW_FILE,
    SCHEMA,
    BankError,
    Table,
    check_shard,
    config_hash,
    read_json,
    shard_name,
)
from retail_env.envs.attribution_core import AttributionConfig, AttributionCore, _Ledger
from retail_env.envs.seeds import is_eval_seed
from retail_env.envs.track_features import N_TRACK_FEATURES
from retail_env.sim.state import PICK  # noqa: F401  (truth kinds documented there)


class Bank:
    """A bank directory, read-only. Pickles as its path (reopened on unpickling)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_dir():
            raise BankError(f"{self.path}: no bank there (build one with "
                            "`retail-env bank build --out DIR ...`)")
        m = read_json(self.path / MANIFEST, "bank manifest")
        if m.get("schema") != SCHEMA:
            raise BankError(f"{self.path / MANIFEST}: schema {m.get('schema')!r}, this "
                            f"retail-env reads schema {SCHEMA}; rebuild the bank")
        if m.get("project_version") != retail_env.__version__:
            raise BankError(f"{self.path / MANIFEST}: built by retail-env "
                            f"{m.get('project_version')!r}, this is {retail_env.__version__}; "
                            "rebuild the bank")
        self.manifest = m
        self.raw = "raw" in m["groups"]
        lo, hi = m["seeds"]
        self.lo, self.hi, self.size = lo, hi, m["shard_size"]
        self._shards: dict[int, _Shard] = {}
        self._built = sorted(i for i in range(m["n_shards"])
                             if (self.path / shard_name(i) / "shard.json").exists())
        if not self._built:
            raise BankError(f"{self.path}: no shard is built yet (run `retail-env bank build`)")

    def __getstate__(self):
        return {"path": str(self.path)}

    def __setstate__(self, state):
        self.__init__(state["path"])

    # --- seeds --------------------------------------------------------------
    def seeds(self) -> np.ndarray:
        """Every episode seed the bank holds (finished shards only)."""
        return np.concatenate([np.arange(self.lo + i * self.size,
                                         min(self.hi, self.lo + (i + 1) * self.size))
                               for i in self._built])

    def draw_seeds(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` of the bank's seeds, uniformly (a training draw: the live env's
        ``seeds.draw_seeds`` for a bank)."""
        seeds = self.seeds()
        return seeds[rng.integers(0, len(seeds), n)]

    def check_world(self, world: Mapping[str, Any], raw: bool) -> None:
        """Refuse an env whose world differs from the bank's (naming what differs)."""
        want = {k: v for k, v in world.items() if k != "raw_ticks" or self.raw}
        have = self.manifest["world"]
        if config_hash(want) != self.manifest["world_hash"]:
            diff = _diff(have, want)
            raise BankError(f"{self.path}: the bank was built for another world: "
                            + "; ".join(diff[:6]) + " (build a bank for this config)")
        if raw and not self.raw:
            raise BankError(f"{self.path}: built without the raw group; the raw observation "
                            "needs a bank built with raw=True (--raw)")

    def check_training(self) -> None:
        """Refuse to train on an evaluation bank."""
        if self.manifest.get("evaluation") or any(is_eval_seed(s) for s in (self.lo, self.hi - 1)):
            raise BankError(f"{self.path}: an evaluation bank (seeds {self.lo}:{self.hi}) is "
                            "never used for training; build a training bank below 10000")

    # --- episodes -----------------------------------------------------------
    def episode(self, seed: int) -> Episode:
        seed = int(seed)
        if not self.lo <= seed < self.hi:
            raise BankError(f"seed {seed}: the bank at {self.path} holds seeds "
                            f"{self.lo}:{self.hi}")
        i = (seed - self.lo) // self.size
        if i not in self._shards:
            if (self.path / shard_name(i) / "shard.json").exists() is False:
                raise BankError(f"seed {seed}: shard {i} of the bank at {self.path} is not "
                                "built (run `retail-env bank build` again to finish it)")
            self._shards[i] = _Shard(self.path / shard_name(i), self.raw, self.manifest)
        return self._shards[i].episode(seed - (self.lo + i * self.size))


class _Shard:
    """One shard's tables, memory-mapped."""

    def __init__(self, folder: Path, raw: bool, manifest: dict):
        check_shard(folder, raw)
        self.ev = Table(folder / FILES[0])
        self.ep = Table(folder / FILES[1])
        self.raw = Table(folder / RAW_FILE) if raw else None
        c = self.ev.col
        self.cols = {k: c(k) for k in ("index", "plate", "product", "dw", "t_start", "t_end",
                                       "t_detect", "t_decide", "n_cand", "cand_track",
                                       "cand_account", "event", "candidates", "counts",
                                       "need_review", "qty")}
        K = manifest["n_candidates"]
        self.cols["candidates"] = self.cols["candidates"].reshape(self.ev.rows, K, -1)
        self.truth = [self.ev.lists(k) for k in ("truth_account", "truth_product", "truth_qty")]
        self.others = self.ev.lists("others")
        self.others_busy = self.ev.lists("others_busy")
        self.raw_cols = None
        if self.raw is not None:
            self.raw_cols = {k: self.raw.col(k) for k in ("weights", "tracks", "track_seen",
                                                         "event")}
        e = self.ep.col
        self.first, self.n = e("first"), e("n_decisions")
        self.t_finish = e("t_finish")
        self.seen = self.ep.lists("seen")
        self.true = [self.ep.lists(k) for k in ("true_account", "true_product", "true_qty")]
        self.stats = {k: e(k) for k in STATIC_STATS}
        if len(self.first) != manifest["shard_size"] and not len(self.first):
            raise BankError(f"{folder}: no episodes")

    def episode(self, j: int) -> Episode:
        if not 0 <= j < len(self.first):
            raise BankError(f"episode {j} is not in shard {self.ev.path.parent}")
        return Episode(self, j)


class Episode:
    """One banked episode: row views of its shard's columns, and the scalars a decision
    reads as Python lists (converted once per episode, not once per decision)."""

    SCALARS = ("index", "plate", "product", "t_start", "t_end", "t_detect", "t_decide", "dw",
               "n_cand", "need_review", "qty")

    def __init__(self, shard: _Shard, j: int):
        f, n = int(shard.first[j]), int(shard.n[j])
        self.shard, self.first, self.n = shard, f, n
        self.cols = {k: v[f:f + n] for k, v in shard.cols.items()}
        self.lists = {k: self.cols[k].tolist() for k in self.SCALARS}
        self.counts = self.cols["counts"].reshape(n, -1, 3).tolist()
        self.truths = _ragged_rows(shard.truth, f, n)
        self.t_finish = int(shard.t_finish[j])
        off, seen = shard.seen
        self.seen = seen[off[j]:off[j + 1]].tolist()
        self.true = _ragged_rows(shard.true, j, 1)[0]
        self.stats = {k: int(v[j]) for k, v in shard.stats.items()}

    def others(self, d: int) -> list[tuple[int, int]]:
        """(event index, busy bits) of the events concurrent with decision ``d``."""
        (off, idx), (_, bits) = self.shard.others, self.shard.others_busy
        lo, hi = int(off[self.first + d]), int(off[self.first + d + 1])
        return list(zip(idx[lo:hi].tolist(), bits[lo:hi].tolist(), strict=True))


def _ragged_rows(cols: list[tuple[np.ndarray, np.ndarray]], first: int, n: int
                 ) -> list[list[tuple[int, int, int]]]:
    """Rows ``first .. first + n`` of (offsets, values) list columns zipped as lines."""
    off = cols[0][0][first:first + n + 1].tolist()
    vals = list(zip(*(v[off[0]:off[-1]].tolist() for _, v in cols), strict=True))
    base = off[0]
    return [vals[a - base:b - base] for a, b in zip(off[:-1], off[1:], strict=True)]


class BankRecord:
    """A banked event as the decision code and the baselines read it (``EventRecord``'s
    fields, without the sensor windows) plus its row ``d`` in the episode, and the
    banked outcome of every action (``counts``; None for a put-back, whose product the
    task's own code infers from the receipt at replay)."""

    __slots__ = ("plate", "product", "t_start", "t_end", "t_detect", "dw", "n_cand",
                 "cand_track", "cand_account", "truth", "index", "d", "counts", "need", "qty")


def make_record(ep: Episode, d: int) -> BankRecord:
    x = ep.lists
    r = BankRecord()
    r.d, r.index = d, x["index"][d]
    r.plate, r.product = x["plate"][d], x["product"][d]
    r.t_start, r.t_end, r.t_detect = x["t_start"][d], x["t_end"][d], x["t_detect"][d]
    r.dw, r.n_cand = x["dw"][d], x["n_cand"][d]
    r.cand_track, r.cand_account = ep.cols["cand_track"][d], ep.cols["cand_account"][d]
    r.truth = ep.truths[d]
    r.need, r.qty = x["need_review"][d], x["qty"][d]
    r.counts = None if r.need < 0 else ep.counts[d]
    return r


class BankCore(AttributionCore):
    """``AttributionCore`` over banked episodes (the core of both banked envs)."""

    def __init__(self, cfg: AttributionConfig, store: Mapping[str, Any] | None, batch: int,
                 bank: Bank | str | os.PathLike):
        super().__init__(cfg, store, batch)
        self.bank = bank if isinstance(bank, Bank) else Bank(bank)
        raw = cfg.observation.type == "raw"
        self.bank.check_world(world_config(cfg, self, raw), raw)

    def draw_seeds(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.bank.draw_seeds(rng, n)

    # --- episodes -----------------------------------------------------------
    def reset(self, seeds: Sequence[int]) -> None:
        B = self.B
        self.seeds = [0] * B
        self.queues = [deque() for _ in range(B)]
        self.ledgers = [_Ledger(self.N) for _ in range(B)]
        self.credit = np.full(B, self.cfg.review_credit_start)
        self.closed = np.zeros(B, bool)
        self.shut = np.ones(B, bool)                 # no simulation runs
        self.stats = [{} for _ in range(B)]
        self.recent = [deque(maxlen=64) for _ in range(B)]
        self.pending = [[] for _ in range(B)]
        self.episodes: list[Episode | None] = [None] * B
        self.pos = np.zeros(B, np.int64)
        self.dec_tick = np.zeros(B, np.int64)
        self.reset_stores(np.arange(B), seeds)

    def reset_stores(self, idx: np.ndarray, seeds: Sequence[int]) -> None:
        """Start stores ``idx`` on the banked episodes ``seeds``."""
        for b, s in zip(np.asarray(idx).tolist(), seeds, strict=True):
            ep = self.bank.episode(int(s))
            self.seeds[b] = int(s)
            self.episodes[b] = ep
            self.pos[b] = 0
            led = self.ledgers[b] = _Ledger(self.N)
            led.fit([*ep.seen, *(t[0] for t in ep.true)])
            led.seen[ep.seen] = True
            for a, p, q in ep.true:
                led.true[a, p] += q
            self.stats[b] = {"decisions": 0, "reviews": 0, "refused": 0, "empty_slot": 0,
                             **ep.stats, "need_review": 0}
            self.credit[b] = self.cfg.review_credit_start
            self.recent[b] = deque(maxlen=64)
            self.queues[b] = deque()
            self._ceiling(b, ep)
            self._next(b)

    def _ceiling(self, b: int, ep: Episode) -> None:
        """The ledger of every detected event's truth (the receipts' ceiling metrics)."""
        (off, acc), (_, prod), (_, qty) = ep.shard.truth
        lo, hi = int(off[ep.first]), int(off[ep.first + ep.n])
        led = self.ledgers[b]
        a, p, q = acc[lo:hi], prod[lo:hi], qty[lo:hi]
        keep = (a >= 0) & (q != 0)
        if keep.any():
            led.fit([int(a[keep].max())])
            np.add.at(led.ceiling, (a[keep], p[keep]), q[keep])

    def _next(self, b: int) -> None:
        ep, d = self.episodes[b], int(self.pos[b])
        if d < ep.n:
            self.queues[b].append(make_record(ep, d))
            self.dec_tick[b] = ep.lists["t_decide"][d]
        else:
            self.dec_tick[b] = max(int(self.dec_tick[b]), ep.t_finish)

    def decide(self, b: int, action: int) -> dict[str, float]:
        terms = super().decide(b, action)
        self.pos[b] += 1
        self._next(b)
        return terms

    def outcome(self, b: int, rec: BankRecord, action: int, review: bool):
        if rec.counts is None:
            return super().outcome(b, rec, action, review)
        K = self.K
        if review:
            lines = rec.truth
        elif action < K:
            acc = int(rec.cand_account[action]) if action < rec.n_cand else -1
            lines = [(acc, rec.product, rec.qty)] if acc >= 0 and rec.qty else []
        else:
            lines = []
        return lines, rec.counts[K + 1 if review else min(action, K)], rec.need

    def action_counts(self, b: int, rec: BankRecord):
        if rec.counts is None:
            return super().action_counts(b, rec)
        can_review = bool(self.credit[b] >= 1.0)
        counts = list(rec.counts)
        if not can_review:
            counts[self.K + 1] = counts[self.K]
        return counts, can_review

    def advance(self) -> None:
        """Every store has its next decision ready: nothing to simulate."""

    def tick(self) -> None:
        raise RuntimeError("a banked core does not simulate")

    def ready(self, b: int) -> bool:
        return bool(self.queues[b])

    def finished(self, b: int) -> bool:
        return not self.queues[b]

    def finished_mask(self) -> np.ndarray:
        return np.array([not q for q in self.queues])

    def now(self, b: int) -> int:
        return int(self.dec_tick[b])

    def set_decision_ticks(self, which: np.ndarray) -> None:
        """Decision ticks are banked (set as each event becomes current)."""

    # --- what the observation and the baselines read ---------------------------
    def static_rows(self, stores: list[int], recs: list[BankRecord], key: str,
                    raw: bool = False) -> np.ndarray:
        """Banked observation rows ``key`` of events ``recs`` of ``stores``."""
        src = [(self.episodes[b], r.d) for b, r in zip(stores, recs, strict=True)]
        if raw:
            return np.stack([ep.shard.raw_cols[key][ep.first + d] for ep, d in src])
        return np.stack([ep.cols[key][d] for ep, d in src])

    def neighbours(self, b: int, rec: BankRecord, within_s: float) -> list[tuple]:
        """``observations.neighbour_views`` of a banked event: the concurrent events
        (queued or decided, as the live core holds them at the decision) within
        ``within_s`` (at most ``OTHERS_S``), each with its candidate rows as of now."""
        if within_s > OTHERS_S:
            raise BankError(f"within_s={within_s}: a bank keeps concurrent events within "
                            f"{OTHERS_S} s")
        from retail_env.envs.observations import CF_BUSY, receipt_columns

        ep = self.episodes[b]
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
                cf[:, N_TRACK_FEATURES + 1:N_TRACK_FEATURES + 3] = rc
        return out


def _diff(have: Any, want: Any, path: str = "") -> list[str]:
    """Readable differences between two nested configs."""
    if isinstance(have, dict) and isinstance(want, dict):
        out = []
        for k in sorted(set(have) | set(want)):
            out += _diff(have.get(k), want.get(k), f"{path}.{k}" if path else k)
        return out
    return [] if have == want else [f"{path}: bank {have!r}, env {want!r}"]
