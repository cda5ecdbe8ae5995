"""Issue 21: map files within documented limits, refused otherwise with a MapError."""

from __future__ import annotations

import numpy as np
import pytest
from retail_env.experiments.bench_limits import largest_map_text

from retail_env.errors import ConfigError, MapError
from retail_env.sim import layout
from retail_env.sim.layout import MAX_CELLS, MAX_MAP_BYTES, MAX_PLATES, load_layout, parse_layout


def test_the_largest_allowed_map_builds():
    lay = parse_layout(largest_map_text(), "largest")
    assert lay.n_cells == MAX_CELLS and lay.n_plates == MAX_PLATES
    # every plate's access cell is one step from its own table's target row
    t = lay.plate_target
    assert np.all(lay.dist[t, lay.plate_access] == 0)


def test_one_cell_too_many_is_refused():
    text = largest_map_text()
    rows = text.splitlines()
    rows[5] += "#"  # widens the grid to 128 x 129
    with pytest.raises(
        MapError,
        match=r"map of 128 x 129 = 16,512 cells is too large: at most "
        r"16,384 cells",
    ):
        parse_layout("\n".join(rows), "wide")


def test_too_many_plates_is_refused():
    text = largest_map_text(plates=MAX_PLATES + 1)
    with pytest.raises(MapError, match=r"map has 1,025 plates: at most 1,024"):
        parse_layout(text, "plates")


def test_a_binary_file_is_refused(tmp_path):
    path = tmp_path / "map.bin"
    path.write_bytes(b"#####\n#E=X#\n\xff\xfe\x00\n")
    with pytest.raises(MapError, match=r"is not a text map \(not UTF-8: byte 12 is b'\\xff'\)"):
        load_layout(str(path))
    assert issubclass(MapError, ConfigError)


def test_an_oversized_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("; comment\n" * (MAX_MAP_BYTES // 10 + 1))
    with pytest.raises(MapError, match=r"map file of [\d,]+ bytes is too large"):
        load_layout(str(path))


def test_a_walk_longer_than_the_tables_hold_is_named(monkeypatch):
    """A serpentine corridor of > 32,767 steps (allowed only with a raised cell limit):
    reported as too long, not as unreachable."""
    monkeypatch.setattr(layout, "MAX_CELLS", 200_000)
    w, lanes = 300, 120
    rows = ["#" * w]
    for i in range(lanes):
        rows.append("#" + "." * (w - 2) + "#")
        gap = w - 2 if i % 2 == 0 else 1
        rows.append("".join("." if c == gap else "#" for c in range(w)))
    rows[1] = "#=E" + rows[1][3:]
    rows[-2] = "#=X" + rows[-2][3:]
    with pytest.raises(
        MapError,
        match=r"a walk of [\d,]+ steps from the entry is longer than "
        r"the 32,767 steps",
    ):
        parse_layout("\n".join(rows), "snake")
