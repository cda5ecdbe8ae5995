"""Atomic writes: all or nothing, with the file mode any other write would give."""

from __future__ import annotations

import os
import stat

import pytest

from retail_env.atomic import atomic_path, write_json, write_text


def test_written_file_has_the_umask_mode(tmp_path):
    path = tmp_path / "a.txt"
    write_text(path, "hello")
    plain = tmp_path / "b.txt"
    plain.write_text("hello")
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    assert path.read_text() == "hello"


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "r.json"
    write_json(path, {"x": 1})
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert path.read_text().strip().startswith("{") and '"x": 1' in path.read_text()
    assert os.listdir(tmp_path) == ["r.json"]
