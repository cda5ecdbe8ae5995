"""The episode bank on disk: a manifest, shards of Arrow IPC files, checksums and locks.

Layout of a bank directory::

    manifest.json            schema, project version, the world config and its hash,
                             seed range, shard size, column groups, evaluation flag
    shard-00000/             one finished shard (renamed into place when complete)
        events.arrow         one row per decision (what the ``features`` observation,
                             the baselines and the decision code read)
        episodes.arrow       one row per episode (seed, books the receipts need)
        raw.arrow            optional: the ``raw`` observation's windows
        shard.json           seeds, rows, bytes and SHA-256 of every file above
    shard-00001.lock         a shard being built (pid and host inside)

Arrow IPC files, uncompressed, one record batch each: opened with ``pa.memory_map``
they are read without a copy or a decode (numeric and fixed-size-list columns are
NumPy views of the mapped file), and pyarrow, polars or DuckDB read them as they
are. No pickle anywhere. A shard is written under a temporary name and renamed, so
a half-written shard never counts; its checksums are checked the first time a
process opens it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from retail_env.atomic import write_json
from retail_env.errors import RetailEnvError

SCHEMA = 2  # 2: the context column (observation features_context)
MANIFEST = "manifest.json"
FILES = ("events.arrow", "episodes.arrow")
RAW_FILE = "raw.arrow"


class BankError(RetailEnvError, ValueError):
    """A bank that cannot be used as asked: missing, corrupted, built otherwise, locked."""


def _pa():
    try:
        import pyarrow as pa
        import pyarrow.ipc  # noqa: F401  (registers pa.ipc)
    except ImportError as err:  # a core dependency; only a broken install lacks it
        raise BankError("the episode bank needs pyarrow: pip install pyarrow") from err
    return pa


def config_hash(world: Mapping[str, Any]) -> str:
    """A stable hash of a world config (sorted-key JSON)."""
    text = json.dumps(world, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def shard_name(i: int) -> str:
    return f"shard-{i:05d}"


def read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise BankError(f"{path}: missing ({what})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BankError(f"{path}: not a readable {what} ({err})") from None
    if not isinstance(data, dict):
        raise BankError(f"{path}: not a {what} (a JSON object is expected)")
    return data


# --- writing ------------------------------------------------------------------------


def write_table(path: Path, columns: Mapping[str, Any]) -> None:
    """Write ``columns`` (name -> pyarrow array) as one Arrow IPC record batch."""
    pa = _pa()
    batch = pa.record_batch(list(columns.values()), names=list(columns))
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, batch.schema) as writer:
        writer.write_batch(batch)


def fixed(values: np.ndarray, dtype) -> Any:
    """A (rows, ...) array as a fixed-size-list column of its flattened rows."""
    pa = _pa()
    flat = np.ascontiguousarray(values, dtype).reshape(len(values), -1)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat.ravel()), flat.shape[1])


def ragged(rows: list[list[int]], dtype) -> Any:
    """Rows of different lengths as a list column."""
    pa = _pa()
    offsets = np.zeros(len(rows) + 1, np.int32)
    offsets[1:] = np.cumsum([len(r) for r in rows])
    values = np.array([x for r in rows for x in r], dtype)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))


def finish_shard(tmp: Path, final: Path, meta: dict) -> None:
    """Checksum the files in ``tmp``, write shard.json last, rename ``tmp`` to ``final``."""
    files = {}
    for f in sorted(tmp.glob("*.arrow")):
        files[f.name] = {"bytes": f.stat().st_size, "sha256": sha256(f)}
    write_json(tmp / "shard.json", {**meta, "files": files})
    os.rename(tmp, final)


@contextlib.contextmanager
def shard_lock(root: Path, i: int) -> Iterator[None]:
    """Hold ``shard-i.lock`` while building shard ``i``; another live builder's lock is
    an error (two builders never write one shard), a dead one's is taken over."""
    lock = root / f"{shard_name(i)}.lock"
    me = {"pid": os.getpid(), "host": socket.gethostname()}
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _lock_owner(lock)
            if owner is not None:
                raise BankError(
                    f"{lock}: shard {i} is being built by another builder "
                    f"(pid {owner['pid']} on {owner['host']}); wait for it, or "
                    "delete the lock if that process is gone"
                ) from None
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()  # its builder died: take the shard over
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        break
    else:
        raise BankError(f"{lock}: could not take the lock of shard {i}")
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()


def _lock_owner(lock: Path) -> dict | None:
    """The live builder holding ``lock`` (None when it is gone)."""
    try:
        owner = json.loads(lock.read_text())
        pid, host = int(owner["pid"]), str(owner["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return {"pid": "?", "host": "?"}  # being written right now: treat as live
    if host != socket.gethostname():
        return owner  # another machine's: cannot tell, so live
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return owner


def clear_partial(root: Path, i: int) -> None:
    """Remove what a killed builder of shard ``i`` left (its temporary folders)."""
    for tmp in root.glob(f".{shard_name(i)}.tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)


# --- reading ------------------------------------------------------------------------


class Table:
    """One memory-mapped Arrow IPC file: columns as NumPy views, list columns as
    (offsets, values)."""

    def __init__(self, path: Path):
        pa = _pa()
        try:
            self._src = pa.memory_map(str(path), "r")
            reader = pa.ipc.open_file(self._src)
            if reader.num_record_batches != 1:
                raise BankError(
                    f"{path}: {reader.num_record_batches} record batches (one is expected)"
                )
            self._batch = reader.get_batch(0)
        except (OSError, pa.ArrowInvalid) as err:
            raise BankError(
                f"{path}: not a readable Arrow file ({err}); rebuild this shard "
                "(delete its folder and run `retail-env bank build` again)"
            ) from None
        self.path = path
        self.rows = self._batch.num_rows

    def col(self, name: str) -> np.ndarray:
        """A numeric column, or a fixed-size-list column as (rows, width)."""
        pa = _pa()
        try:
            arr = self._batch.column(name)
        except KeyError:
            raise BankError(f"{self.path}: column {name!r} is missing") from None
        if isinstance(arr, pa.FixedSizeListArray):
            return arr.values.to_numpy(zero_copy_only=True).reshape(len(arr), -1)
        return arr.to_numpy(zero_copy_only=True)

    def lists(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A list column as (offsets (rows + 1,), values)."""
        try:
            arr = self._batch.column(name)
        except KeyError:
            raise BankError(f"{self.path}: column {name!r} is missing") from None
        return arr.offsets.to_numpy(zero_copy_only=True), arr.values.to_numpy(zero_copy_only=True)


def check_shard(folder: Path, raw: bool, verify: bool = True) -> dict:
    """Read ``folder/shard.json`` and check each file's size and (``verify``) checksum."""
    meta = read_json(folder / "shard.json", "shard description")
    files = meta.get("files")
    if not isinstance(files, dict):
        raise BankError(f"{folder / 'shard.json'}: no file list")
    for name in FILES + ((RAW_FILE,) if raw else ()):
        path = folder / name
        want = files.get(name)
        if want is None:
            raise BankError(f"{path}: not listed in shard.json")
        if not path.exists():
            raise BankError(f"{path}: missing")
        size = path.stat().st_size
        if size != want["bytes"]:
            raise BankError(
                f"{path}: {size} bytes, shard.json says {want['bytes']} "
                "(truncated or replaced); rebuild this shard"
            )
        key = (str(path.resolve()), path.stat().st_mtime_ns, size)
        if verify and key not in _VERIFIED:
            if sha256(path) != want["sha256"]:
                raise BankError(
                    f"{path}: checksum mismatch (the file changed after it was "
                    "written); rebuild this shard"
                )
            _VERIFIED.add(key)
    return meta


# Files whose checksum this process has verified (path, mtime, size): hashed once, not at
# every env a process makes; a file rewritten since has another mtime and is hashed again.
_VERIFIED: set[tuple[str, int, int]] = set()
