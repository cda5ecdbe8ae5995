"""Build an episode bank: simulate Attribution episodes once, keep what every decision shows.

The world of the Attribution task never depends on the agent's actions, so each
episode is run once by the live native vector env (``AttributionVectorEnv``,
"no one" at every decision) and every decision is captured as the single env would
show it (``as_of`` its decision tick): the event and its candidates, the
observation's columns that do not depend on earlier decisions, the truth, and the
concurrent events the Hungarian baseline weighs. What depends on decisions
(receipts, review credit, the features read from them) is stored nowhere: the
replay computes it live with the task's own code (``replay.py``).

Shards are built one process each (``workers``), skip when finished, and are
written under a temporary name and renamed, so a killed build resumes.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

import retail_env
from retail_env.atomic import write_json
from retail_env.bank.store import (
    FILES,
    MANIFEST,
    RAW_FILE,
    SCHEMA,
    BankError,
    clear_partial,
    config_hash,
    finish_shard,
    fixed,
    ragged,
    read_json,
    shard_lock,
    shard_name,
    write_table,
)
from retail_env.envs.attribution.core import AttributionConfig, AttributionCore
from retail_env.envs.seeds import EVAL_SEEDS
from retail_env.sim.validation import from_dict, to_dict

LOCK_POLL_S = 5.0  # cached_bank: how often to look again at a shard another job builds
OTHERS_S = 5.0  # concurrent events kept per decision (the widest window any code reads)
# Fields of AttributionConfig that change nothing the bank stores (applied at replay).
LIVE_FIELDS = ("reward", "review_budget", "review_credit_start", "observation")


def task_config(
    scenario: str = "medium", observation: Any = None, **kwargs: Any
) -> AttributionConfig:
    """The AttributionConfig an env with these keyword arguments would use."""
    data = dict(kwargs, scenario=scenario)
    if observation is not None:
        data["observation"] = (
            {"type": observation} if isinstance(observation, str) else dict(observation)
        )
    return from_dict(AttributionConfig, data)


def world_config(cfg: AttributionConfig, core: AttributionCore, raw: bool) -> dict:
    """What a bank's content depends on: the task's world fields, the resolved store
    config and, with the raw group, the raw window length."""
    task = {k: v for k, v in to_dict(cfg).items() if k not in LIVE_FIELDS}
    if cfg.promotion.policy == "none":  # list prices: the plan's fields change nothing
        del task["promotion"]  # (and banks built before plans keep their hash)
    world: dict[str, Any] = {"task": task, "store": to_dict(core.sim.params.config)}
    if raw:
        world["raw_ticks"] = cfg.observation.raw_ticks
    return world


def parse_seeds(text: str | Sequence[int]) -> range:
    """``"0:5000"`` (or a pair) as a range of episode seeds."""
    try:
        lo, hi = text.split(":") if isinstance(text, str) else text
        seeds = range(int(lo), int(hi))
    except (ValueError, TypeError):
        raise BankError(f"seeds={text!r}: expected START:STOP (e.g. 0:5000)") from None
    if seeds.start < 0 or len(seeds) == 0:
        raise BankError(f"seeds={text!r}: expected 0 <= START < STOP")
    return seeds


def plan(
    out: str | os.PathLike,
    scenario: str = "medium",
    seeds: Any = "0:64",
    store: Mapping[str, Any] | None = None,
    raw: bool = False,
    shard_size: int = 64,
    evaluation: bool = False,
    **kwargs: Any,
) -> dict:
    """Write (or check) the bank's manifest; returns it. A bank that exists must have been
    planned with the same world, seeds, shard size and groups."""
    seeds = parse_seeds(seeds)
    if not 1 <= int(shard_size) <= 100_000:
        raise BankError(f"shard_size={shard_size}: must be in [1, 100000]")
    overlap = range(max(seeds.start, EVAL_SEEDS.start), min(seeds.stop, EVAL_SEEDS.stop))
    if len(overlap) and not evaluation:
        raise BankError(
            f"seeds {seeds.start}:{seeds.stop} overlap the frozen evaluation seeds "
            f"{EVAL_SEEDS.start}:{EVAL_SEEDS.stop}: a training bank never holds "
            "them (build an evaluation bank with evaluation=True / --evaluation)"
        )
    cfg = task_config(scenario, **kwargs)
    core = AttributionCore(cfg, store)
    world = world_config(cfg, core, raw)
    manifest = {
        "kind": "retail-env attribution episode bank",
        "schema": SCHEMA,
        "project_version": retail_env.__version__,
        "world": world,
        "world_hash": config_hash(world),
        "config": to_dict(cfg),
        "store": dict(store or {}),
        "seeds": [seeds.start, seeds.stop],
        "shard_size": int(shard_size),
        "n_shards": -(-len(seeds) // int(shard_size)),
        "groups": ["features"] + ["raw"] * raw,
        "evaluation": bool(evaluation),
        "n_candidates": cfg.n_candidates,
    }
    root = Path(out)
    path = root / MANIFEST
    if path.exists():
        old = read_json(path, "bank manifest")
        diff = [
            k
            for k in (
                "schema",
                "project_version",
                "world_hash",
                "seeds",
                "shard_size",
                "groups",
                "evaluation",
            )
            if old.get(k) != manifest[k]
        ]
        if diff:
            raise BankError(
                f"{path}: the bank there was built with another "
                + ", ".join(f"{k} ({old.get(k)!r}, asked {manifest[k]!r})" for k in diff)
                + "; build into another folder"
            )
        return old
    root.mkdir(parents=True, exist_ok=True)
    write_json(path, manifest)
    return manifest


def shard_seeds(manifest: dict, i: int) -> range:
    lo, hi = manifest["seeds"]
    size = manifest["shard_size"]
    return range(lo + i * size, min(hi, lo + (i + 1) * size))


def build_shard(out: str | os.PathLike, i: int, batch: int = 16) -> bool:
    """Build shard ``i`` of the planned bank at ``out``; False if it was already there."""
    root = Path(out)
    manifest = read_json(root / MANIFEST, "bank manifest")
    if not 0 <= i < manifest["n_shards"]:
        raise BankError(f"shard {i}: the bank at {root} has shards 0..{manifest['n_shards'] - 1}")
    final = root / shard_name(i)
    if (final / "shard.json").exists():
        return False
    with shard_lock(root, i):
        if (final / "shard.json").exists():
            return False
        clear_partial(root, i)
        tmp = root / f".{shard_name(i)}.tmp-{os.getpid()}"
        tmp.mkdir()
        seeds = shard_seeds(manifest, i)
        raw = "raw" in manifest["groups"]
        tables = record(manifest, list(seeds), raw, batch)
        write_table(tmp / FILES[0], tables["events"])
        write_table(tmp / FILES[1], tables["episodes"])
        if raw:
            write_table(tmp / RAW_FILE, tables["raw"])
        finish_shard(
            tmp,
            final,
            {
                "shard": i,
                "seeds": [seeds.start, seeds.stop],
                "episodes": len(seeds),
                "decisions": int(tables["n_decisions"]),
            },
        )
    return True


def build_bank(
    out: str | os.PathLike,
    scenario: str = "medium",
    seeds: Any = "0:64",
    store: Mapping[str, Any] | None = None,
    raw: bool = False,
    shard_size: int = 64,
    workers: int | None = None,
    evaluation: bool = False,
    progress: bool = True,
    shards: Sequence[int] | None = None,
    **kwargs: Any,
) -> Path:
    """Plan the bank at ``out`` and build its missing shards (``shards``: only those), one
    process per shard on ``workers`` processes (default: every core); returns ``out``."""
    manifest = plan(out, scenario, seeds, store, raw, shard_size, evaluation, **kwargs)
    todo = [
        i
        for i in (range(manifest["n_shards"]) if shards is None else shards)
        if not (Path(out) / shard_name(i) / "shard.json").exists()
    ]
    workers = max(1, min(int(workers or os.cpu_count() or 1), len(todo) or 1))
    bar = _progress(len(todo), progress, Path(out))
    if workers == 1:
        for i in todo:
            build_shard(out, i)
            bar(i)
    else:
        with ProcessPoolExecutor(workers) as pool:
            jobs = {pool.submit(build_shard, str(out), i): i for i in todo}
            for job in as_completed(jobs):
                job.result()
                bar(jobs[job])
    return Path(out)


def cached_bank(
    cache: str | os.PathLike,
    seeds: Any,
    scenario: str = "medium",
    store: Mapping[str, Any] | None = None,
    raw: bool = False,
    workers: int | None = None,
    progress: bool = True,
    **kwargs: Any,
) -> Path:
    """The bank of this world and these seeds under ``cache`` (a folder named by the
    world's hash and the bank schema), built first where it is missing or unfinished."""
    seeds = parse_seeds(seeds)
    cfg = task_config(scenario, **kwargs)
    world = world_config(cfg, AttributionCore(cfg, store), raw)
    # the schema is in the name: a bank of an older schema is rebuilt, never refused
    out = Path(cache) / f"{scenario}-{config_hash(world)}-s{SCHEMA}-{seeds.start}-{seeds.stop}"
    while True:  # jobs of one sweep share the cache: wait for a shard another builds
        try:
            return build_bank(
                out,
                scenario,
                f"{seeds.start}:{seeds.stop}",
                store,
                raw,
                workers=workers,
                progress=progress,
                **kwargs,
            )
        except BankError as err:
            if "being built by another builder" not in str(err):
                raise
            time.sleep(LOCK_POLL_S)


def _progress(total: int, show: bool, root: Path):
    """A callback per finished shard: a tqdm bar when available, else a line each."""
    if not show or not total:
        return lambda i: None
    try:
        from tqdm import tqdm
    except ImportError:
        t0 = time.time()
        done = [0]

        def line(i: int) -> None:
            done[0] += 1
            print(
                f"bank {root}: shard {i} done ({done[0]}/{total}, {time.time() - t0:.0f} s)",
                file=sys.stderr,
            )

        return line
    bar = tqdm(total=total, desc=f"bank {root.name}", unit="shard")
    return lambda i: (bar.update(1), bar.close() if bar.n >= total else None)


# --- recording ----------------------------------------------------------------------


def record(manifest: dict, seeds: list[int], raw: bool, batch: int) -> dict:
    """Run ``seeds`` through the live vector env and capture every decision."""
    from retail_env.bank.capture import Recorder

    cfg = manifest["config"]
    rec = Recorder(cfg, manifest["store"], raw, min(batch, len(seeds)))
    return rec.run(seeds)


def columns(rows: list[dict], episodes: list[dict], raw_rows: list[dict] | None) -> dict:
    """The shard's tables as Arrow columns."""
    import pyarrow as pa

    def col(name, dtype):
        return pa.array(np.array([r[name] for r in rows], dtype))

    events = {
        "index": col("index", np.int32),
        "plate": col("plate", np.int16),
        "product": col("product", np.int16),
        "dw": col("dw", np.float64),
        "t_start": col("t_start", np.int64),
        "t_end": col("t_end", np.int64),
        "t_detect": col("t_detect", np.int64),
        "t_decide": col("t_decide", np.int64),
        "n_cand": col("n_cand", np.int8),
        "cand_track": fixed(np.array([r["cand_track"] for r in rows]), np.int32),
        "cand_account": fixed(np.array([r["cand_account"] for r in rows]), np.int32),
        "event": fixed(np.array([r["event"] for r in rows]), np.float32),
        "candidates": fixed(np.array([r["candidates"] for r in rows]), np.float32),
        "context": fixed(np.array([r["context"] for r in rows]), np.float32),
        "truth_account": ragged([[t[0] for t in r["truth"]] for r in rows], np.int32),
        "truth_product": ragged([[t[1] for t in r["truth"]] for r in rows], np.int32),
        "truth_qty": ragged([[t[2] for t in r["truth"]] for r in rows], np.int32),
        "others": ragged([r["others"] for r in rows], np.int32),
        "others_busy": ragged([r["others_busy"] for r in rows], np.uint32),
    }
    ep = {
        "seed": pa.array(np.array([e["seed"] for e in episodes], np.int64)),
        "first": pa.array(np.array([e["first"] for e in episodes], np.int64)),
        "n_decisions": pa.array(np.array([e["n_decisions"] for e in episodes], np.int32)),
        "t_finish": pa.array(np.array([e["t_finish"] for e in episodes], np.int64)),
        "seen": ragged([e["seen"] for e in episodes], np.int32),
        "max_account": pa.array(np.array([_max_account(e, rows) for e in episodes], np.int32)),
        "true_account": ragged([[t[0] for t in e["true"]] for e in episodes], np.int32),
        "true_product": ragged([[t[1] for t in e["true"]] for e in episodes], np.int32),
        "true_qty": ragged([[t[2] for t in e["true"]] for e in episodes], np.int32),
    }
    for k in STATIC_STATS:
        ep[k] = pa.array(np.array([e["stats"][k] for e in episodes], np.int64))
    out = {"events": events, "episodes": ep, "n_decisions": len(rows)}
    if raw_rows is not None:
        out["raw"] = (
            {k: fixed(np.array([r[k] for r in raw_rows]), np.float32) for k in raw_rows[0]}
            if raw_rows
            else {}
        )
    return out


def _max_account(ep: dict, rows: list[dict]) -> int:
    """The largest account id an episode's receipts touch (the replay's ledger size)."""
    mine = rows[ep["first"] : ep["first"] + ep["n_decisions"]]
    return max(
        [
            0,
            *ep["seen"],
            *(t[0] for t in ep["true"]),
            *(int(max(r["cand_account"])) for r in mine),
            *(t[0] for r in mine for t in r["truth"]),
        ]
    )


# Episode statistics fixed by the world (the others count decisions, computed live).
STATIC_STATS = ("events", "events_with_truth", "missed_items", "missed_rows")
