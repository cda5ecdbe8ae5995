"""Read a bank: its manifest, shards, episodes and event records.

``Bank`` opens a bank directory (manifest checked, each shard memory-mapped and its
checksums verified the first time it is touched); ``Episode`` is one banked
episode's rows, ``make_record`` one decision's event as the task's code reads it.
The banked core that replays them is ``retail_env.bank.core.BankCore``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

import retail_env
from retail_env.bank.build import STATIC_STATS
from retail_env.bank.heads import ragged_into
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
from retail_env.envs.seeds import is_eval_seed


class Bank:
    """A bank directory, read-only. Pickles as its path (reopened on unpickling)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_dir():
            raise BankError(
                f"{self.path}: no bank there (build one with `retail-env bank build --out DIR ...`)"
            )
        m = read_json(self.path / MANIFEST, "bank manifest")
        if m.get("schema") != SCHEMA:
            raise BankError(
                f"{self.path / MANIFEST}: schema {m.get('schema')!r}, this "
                f"retail-env reads schema {SCHEMA}; rebuild the bank"
            )
        if m.get("project_version") != retail_env.__version__:
            raise BankError(
                f"{self.path / MANIFEST}: built by retail-env "
                f"{m.get('project_version')!r}, this is {retail_env.__version__}; "
                "rebuild the bank"
            )
        self.manifest = m
        self.raw = "raw" in m["groups"]
        lo, hi = m["seeds"]
        self.lo, self.hi, self.size = lo, hi, m["shard_size"]
        self._shards: dict[int, _Shard] = {}
        self._seeds: np.ndarray | None = None
        self._built = sorted(
            i for i in range(m["n_shards"]) if (self.path / shard_name(i) / "shard.json").exists()
        )
        if not self._built:
            raise BankError(f"{self.path}: no shard is built yet (run `retail-env bank build`)")

    def __getstate__(self):
        return {"path": str(self.path)}

    def __setstate__(self, state):
        self.__init__(state["path"])

    # --- seeds --------------------------------------------------------------
    def seeds(self) -> np.ndarray:
        """Every episode seed the bank holds (finished shards only; read-only)."""
        if self._seeds is None:
            self._seeds = np.concatenate(
                [
                    np.arange(self.lo + i * self.size, min(self.hi, self.lo + (i + 1) * self.size))
                    for i in self._built
                ]
            )
            self._seeds.flags.writeable = False
        return self._seeds

    def draw_seeds(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` of the bank's seeds, uniformly (a training draw: the live env's
        ``seeds.draw_seeds`` for a bank)."""
        seeds = self.seeds()
        return seeds[rng.integers(0, len(seeds), n)]

    def check_world(self, world: Mapping[str, Any], raw: bool) -> None:
        """Refuse an env whose world differs from the bank's (naming what differs)."""
        have = self.manifest["world"]
        want = {k: v for k, v in world.items() if k != "raw_ticks"}
        if self.raw:  # an env without the raw observation ignores the window's length
            want["raw_ticks"] = world["raw_ticks"] if raw else have["raw_ticks"]
        if config_hash(want) != self.manifest["world_hash"]:
            diff = _diff(have, want)
            raise BankError(
                f"{self.path}: the bank was built for another world: "
                + "; ".join(diff[:6])
                + " (build a bank for this config)"
            )
        if raw and not self.raw:
            raise BankError(
                f"{self.path}: built without the raw group; the raw observation "
                "needs a bank built with raw=True (--raw)"
            )

    def check_training(self) -> None:
        """Refuse to train on an evaluation bank."""
        if self.manifest.get("evaluation") or any(is_eval_seed(s) for s in (self.lo, self.hi - 1)):
            raise BankError(
                f"{self.path}: an evaluation bank (seeds {self.lo}:{self.hi}) is "
                "never used for training; build a training bank below 10000"
            )

    # --- episodes -----------------------------------------------------------
    def episode(self, seed: int) -> Episode:
        seed = int(seed)
        if not self.lo <= seed < self.hi:
            raise BankError(f"seed {seed}: the bank at {self.path} holds seeds {self.lo}:{self.hi}")
        i = (seed - self.lo) // self.size
        if i not in self._shards:
            if (self.path / shard_name(i) / "shard.json").exists() is False:
                raise BankError(
                    f"seed {seed}: shard {i} of the bank at {self.path} is not "
                    "built (run `retail-env bank build` again to finish it)"
                )
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
        self.cols = {
            k: c(k)
            for k in (
                "index",
                "plate",
                "product",
                "dw",
                "t_start",
                "t_end",
                "t_detect",
                "t_decide",
                "n_cand",
                "cand_track",
                "cand_account",
                "event",
                "candidates",
                "context",
            )
        }
        K = manifest["n_candidates"]
        for k in ("candidates", "context"):
            self.cols[k] = self.cols[k].reshape(self.ev.rows, K, -1)
        self.truth = [self.ev.lists(k) for k in ("truth_account", "truth_product", "truth_qty")]
        self.others = self.ev.lists("others")
        self.others_busy = self.ev.lists("others_busy")
        self.raw_cols = None
        if self.raw is not None:
            self.raw_cols = {
                k: self.raw.col(k) for k in ("weights", "tracks", "track_seen", "event")
            }
        e = self.ep.col
        self.first, self.n = e("first"), e("n_decisions")
        self.t_finish = e("t_finish")
        self.seen = self.ep.lists("seen")
        self.true = [self.ep.lists(k) for k in ("true_account", "true_product", "true_qty")]
        self.stats = {k: e(k) for k in STATIC_STATS}
        self.max_account = e("max_account")
        if len(self.first) != manifest["shard_size"] and not len(self.first):
            raise BankError(f"{folder}: no episodes")

    def episode(self, j: int) -> Episode:
        if not 0 <= j < len(self.first):
            raise BankError(f"episode {j} is not in shard {self.ev.path.parent}")
        return Episode(self, j)


class Episode:
    """One banked episode: row views of its shard's columns; the scalars and truth lines
    a per-event record reads, as Python lists when first asked for."""

    SCALARS = (
        "index",
        "plate",
        "product",
        "t_start",
        "t_end",
        "t_detect",
        "t_decide",
        "dw",
        "n_cand",
    )

    def __init__(self, shard: _Shard, j: int):
        f, n = int(shard.first[j]), int(shard.n[j])
        self.shard, self.first, self.n = shard, f, n
        self.cols = {k: v[f : f + n] for k, v in shard.cols.items()}
        self.t_finish = int(shard.t_finish[j])
        off, seen = shard.seen
        self.seen = seen[off[j] : off[j + 1]]
        (off, acc), (_, prod), (_, qty) = shard.true
        self.true = tuple(v[off[j] : off[j + 1]] for v in (acc, prod, qty))  # what left the store
        self.stats = {k: int(v[j]) for k, v in shard.stats.items()}
        self.max_account = int(shard.max_account[j])
        self._lists: dict | None = None
        self._truths: list | None = None

    @property
    def lists(self) -> dict[str, list]:
        if self._lists is None:
            self._lists = {k: self.cols[k].tolist() for k in self.SCALARS}
        return self._lists

    @property
    def truths(self) -> list[list[tuple[int, int, int]]]:
        if self._truths is None:
            self._truths = _ragged_rows(self.shard.truth, self.first, self.n)
        return self._truths

    def truth_into(self, out: np.ndarray) -> None:
        """Write every decision's truth lines (account, product, signed qty) into ``out``
        (n, width, 3), padded with qty 0 (``heads.ragged_into``)."""
        (off, acc), (_, prod), (_, qty) = self.shard.truth
        ragged_into(off, self.first, self.n, acc, prod, qty, out)

    def truth_width(self) -> int:
        off = self.shard.truth[0][0]
        return int(np.diff(off[self.first : self.first + self.n + 1]).max(initial=0))

    def others(self, d: int) -> list[tuple[int, int]]:
        """(event index, busy bits) of the events concurrent with decision ``d``."""
        (off, idx), (_, bits) = self.shard.others, self.shard.others_busy
        lo, hi = int(off[self.first + d]), int(off[self.first + d + 1])
        return list(zip(idx[lo:hi].tolist(), bits[lo:hi].tolist(), strict=True))


def _ragged_rows(
    cols: list[tuple[np.ndarray, np.ndarray]], first: int, n: int
) -> list[list[tuple[int, int, int]]]:
    """Rows ``first .. first + n`` of (offsets, values) list columns zipped as lines."""
    off = cols[0][0][first : first + n + 1].tolist()
    vals = list(zip(*(v[off[0] : off[-1]].tolist() for _, v in cols), strict=True))
    base = off[0]
    return [vals[a - base : b - base] for a, b in zip(off[:-1], off[1:], strict=True)]


class BankRecord:
    """A banked event as the decision code and the baselines read it (``EventRecord``'s
    fields, without the sensor windows) plus its row ``d`` in the episode."""

    __slots__ = (
        "plate",
        "product",
        "t_start",
        "t_end",
        "t_detect",
        "dw",
        "n_cand",
        "cand_track",
        "cand_account",
        "truth",
        "index",
        "d",
    )


def make_record(ep: Episode, d: int) -> BankRecord:
    x = ep.lists
    r = BankRecord()
    r.d, r.index = d, x["index"][d]
    r.plate, r.product = x["plate"][d], x["product"][d]
    r.t_start, r.t_end, r.t_detect = x["t_start"][d], x["t_end"][d], x["t_detect"][d]
    r.dw, r.n_cand = x["dw"][d], x["n_cand"][d]
    r.cand_track, r.cand_account = ep.cols["cand_track"][d], ep.cols["cand_account"][d]
    r.truth = ep.truths[d]
    return r


def _diff(have: Any, want: Any, path: str = "") -> list[str]:
    """Readable differences between two nested configs."""
    if isinstance(have, dict) and isinstance(want, dict):
        out = []
        for k in sorted(set(have) | set(want)):
            out += _diff(have.get(k), want.get(k), f"{path}.{k}" if path else k)
        return out
    return [] if have == want else [f"{path}: bank {have!r}, env {want!r}"]
