"""The store's transaction log as Parquet: ``export_log(env_id, policy, seeds, out)``.

One folder per export (an episode batch): one Parquet file per table, every row stamped
with ``episode`` and ``seed``, columns typed (integers, floats, booleans and
dictionary-encoded strings: pandas reads no ``object`` column), and ``manifest.json``
(env id and kwargs, policy, seeds, project version, row counts, the schema, and each
episode's own totals, ``info["receipts"]`` or ``info["episode_kpis"]``, to check a reader
against). The folder is written under a temporary name and renamed (``staging.py``).

Attribution tables: visits, receipt_lines, shelf_events, event_lines. Promotion tables
(aggregate fidelity: no individual shoppers, so sales by segment stand for receipts):
prices, sales, inventory, periods. ``docs/data.md`` lists every column.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from retail_env.atomic import write_json
from retail_env.data.log_tables import KEYS, SCHEMAS, TASK_TABLES
from retail_env.data.policies import Policy, task_of
from retail_env.data.staging import DataExportError, staged_dir
from retail_env.experiments.tasks import TASKS  # pyright: ignore[reportMissingImports]  (installed from experiments/)

FORMAT, SCHEMA_VERSION = "retail-env-log", 1
MANIFEST = "manifest.json"


def progress(items: Iterable, total: int, desc: str, show: bool) -> Iterator:
    """``items`` with a tqdm bar on stderr when tqdm is installed and ``show``."""
    if not show:
        yield from items
        return
    try:
        from tqdm import tqdm
    except ImportError:
        t0 = time.time()
        for i, x in enumerate(items):
            yield x
            print(f"{desc}: {i + 1}/{total} ({time.time() - t0:.0f} s)", file=sys.stderr)
        return
    yield from tqdm(items, total=total, desc=desc, unit="episode")


def arrow_table(columns: dict[str, np.ndarray], table: str):
    """A pyarrow Table with the schema's types (strings dictionary-encoded)."""
    import pyarrow as pa

    arrays, names = [], []
    for name, (dtype, _) in {**KEYS, **SCHEMAS[table]}.items():
        col = columns[name]
        if dtype == "dict":
            arrays.append(
                pa.array(col.tolist() if col.size else [], pa.string()).dictionary_encode()
            )
        else:
            arrays.append(pa.array(col, type=pa.from_numpy_dtype(np.dtype(dtype))))
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


def export_log(
    env_id: str,
    policy: str,
    seeds: Iterable[int],
    out: str | os.PathLike,
    env_kwargs: dict | None = None,
    show_progress: bool = True,
    compression: str = "zstd",
) -> dict:
    """Play ``policy`` on ``env_id`` for each seed and write the log folder ``out`` (which
    must not exist); returns the manifest. DataExportError for an unknown env or policy,
    an existing ``out``, an unwritable folder or a full disk (nothing left at ``out``)."""
    import pyarrow.parquet as pq

    from retail_env import __version__

    task = task_of(env_id)
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise DataExportError("no seeds: export at least one episode")
    out = Path(out)
    with staged_dir(out, "transaction log") as tmp:
        env = gym.make(env_id, **(env_kwargs or {}))
        try:
            pol = Policy(env, policy, env_id)
            rec = TASKS[task].load("log")(env)
            totals = []
            for i, seed in enumerate(progress(seeds, len(seeds), f"log {out.name}", show_progress)):
                totals.append(play(env, pol, rec, i, seed))
        finally:
            env.close()
        tables = {}
        for name in TASK_TABLES[task]:
            table = arrow_table(rec.rows.columns(name), name)
            path = tmp / f"{name}.parquet"
            pq.write_table(table, path, compression=compression)
            tables[name] = {
                "rows": table.num_rows,
                "bytes": path.stat().st_size,
                "columns": {
                    c: {"type": t, "doc": d} for c, (t, d) in {**KEYS, **SCHEMAS[name]}.items()
                },
            }
        manifest = {
            "format": FORMAT,
            "schema": SCHEMA_VERSION,
            "version": __version__,
            "env_id": env_id,
            "env_kwargs": env_kwargs or {},
            "task": task,
            "policy": pol.name,
            "seeds": seeds,
            "episodes": len(seeds),
            "tables": tables,
            "episode_totals": totals,
        }
        write_json(tmp / MANIFEST, manifest)
    return manifest


def play(env: gym.Env, pol: Policy, rec, episode: int, seed: int) -> dict:
    """One episode, recorded; returns the env's own totals (receipts or episode KPIs)."""
    rec.begin(episode, seed)
    obs, info = env.reset(seed=seed)
    pol.reset(seed)
    done = False
    while not done:
        action = pol.act(obs, info)
        pending = rec.before(action, info)
        obs, reward, term, trunc, info = env.step(action)
        rec.after(pending, info, float(reward))
        done = term or trunc
    return {k: float(v) for k, v in rec.end(info).items()}


def read_manifest(folder: str | os.PathLike) -> dict[str, Any]:
    """The manifest of an exported log folder (DataExportError if it is not one)."""
    import json

    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataExportError(f"{folder}: not an exported transaction log ({err})") from err
    if data.get("format") != FORMAT:
        raise DataExportError(f"{folder}: format {data.get('format')!r}, expected {FORMAT!r}")
    return data
