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
        raise DataExportError(f"{path} already exists ({what}): choose another name or "
                              "delete it first (an export never overwrites)")
    return path


@contextlib.contextmanager
def staged_dir(path: str | os.PathLike, what: str) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; rename it to ``path`` on success.

    DataExportError (nothing left behind) when the parent cannot be written, the disk fills
    up, or ``path`` exists (checked first and again at the rename).
    """
    path = refuse_existing(path, what)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        os.chmod(tmp, 0o777 & ~_umask())      # mkdtemp makes 0700; give the usual mode
    except OSError as err:
        raise DataExportError(f"cannot write {what} to {path.parent}: {err.strerror or err}"
                              ) from err
    try:
        yield tmp
        refuse_existing(path, what)
        os.rename(tmp, path)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        full = err.errno in (errno.ENOSPC, errno.EDQUOT)
        raise DataExportError(f"{what} not written to {path}: "
                              f"{'the disk is full' if full else err.strerror or err} "
                              "(nothing was left behind)") from err
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
