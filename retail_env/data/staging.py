"""A folder written whole or not at all: built under a hidden temporary name, then renamed.

Exports write several files (one per table, a manifest; Minari's data and metadata). Like
``retail_env.atomic`` for one file, the folder is assembled beside its final place and
renamed into it, so a crash, a full disk or an interrupted run leaves nothing at the final
name, and the temporary folder is removed. An existing destination is never overwritten.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from retail_env.atomic import _umask


class DataExportError(ValueError):
    """An export that cannot be done as asked: unknown env or policy, existing output,
    unwritable folder, full disk."""


def refuse_existing(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path; DataExportError if something is already there."""
    path = Path(path)
    if path.exists():
        raise DataExportError(
            f"{path} already exists ({what}): choose another name or "
            "delete it first (an export never overwrites)"
        )
    return path


@contextlib.contextmanager
def scratch_dir(parent: str | os.PathLike, what: str, name: str = "export") -> Iterator[Path]:
    """Yield an empty hidden folder in ``parent``, removed at the end whatever happens.

    OSError inside (unwritable folder, full disk) becomes a DataExportError saying so.
    """
    parent = Path(parent)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=parent))
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the usual mode
    except OSError as err:
        raise DataExportError(f"cannot write {what} to {parent}: {err.strerror or err}") from err
    try:
        yield tmp
    except OSError as err:
        full = err.errno in (errno.ENOSPC, errno.EDQUOT)
        raise DataExportError(
            f"{what} not written to {parent}: "
            f"{'the disk is full' if full else err.strerror or err} "
            "(nothing was left behind)"
        ) from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def publish(tmp: Path, path: Path, what: str) -> None:
    """Rename the finished folder ``tmp`` to ``path`` (refused if ``path`` appeared)."""
    refuse_existing(path, what)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.rename(tmp, path)


@contextlib.contextmanager
def staged_dir(path: str | os.PathLike, what: str) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; rename it to ``path`` on success.

    DataExportError (nothing left behind) when the parent cannot be written, the disk fills
    up, or ``path`` exists (checked first and again at the rename).
    """
    path = refuse_existing(path, what)
    with scratch_dir(path.parent, what, path.name) as tmp:
        yield tmp
        publish(tmp, path, what)
