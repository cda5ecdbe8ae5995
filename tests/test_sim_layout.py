"""Layouts: built-in maps, plates and shelves, walking tables, and clear errors for bad maps."""

from __future__ import annotations

import numpy as np
import pytest

from retail_env.sim.layout import BUILTIN, ENDCAP, SHELF, WALKABLE, load_layout, parse_layout
from retail_env.sim.validation import ConfigError


@pytest.mark.parametrize("name", BUILTIN)
def test_builtins_load_with_reachable_plates(name):
    lay = load_layout(name)
    assert lay.n_plates == len(lay.plate_cell) == len(lay.plate_access)
    r, c = lay.plate_cell.T
    assert np.isin(lay.grid[r, c], (SHELF, ENDCAP)).all()
    assert np.isin(lay.grid.ravel()[lay.plate_access], WALKABLE).all()
    # every access cell is next to its plate
    ar, ac = np.divmod(lay.plate_access, lay.shape[1])
    assert (np.abs(ar - r) + np.abs(ac - c) == 1).all()
    # every plate's target is reachable from the entry
    entry = lay.entry_cells[0]
    assert (lay.dist[lay.plate_target, entry] < 10_000).all()
    assert lay.dist[lay.exit_target, entry] < 10_000


def test_sizes_match_the_brief():
    assert 10 <= load_layout("small").n_plates <= 16
    assert 40 <= load_layout("medium").n_plates <= 60
    assert load_layout("large").n_plates > 100


def test_neighbours_share_a_shelf_and_are_symmetric():
    lay = load_layout("medium")
    for j in (0, 1):
        has = lay.plate_neighbors[:, j] >= 0
        other = lay.plate_neighbors[has, j]
        assert (lay.plate_shelf[other] == lay.plate_shelf[has]).all()
        assert (lay.plate_neighbors[other, 1 - j] == np.flatnonzero(has)).all()
        assert (np.abs(lay.plate_cell[other] - lay.plate_cell[has]).sum(axis=1) == 1).all()
    assert (lay.plate_neighbors[lay.plate_endcap] == -1).all()


def test_next_step_is_one_cell_closer_everywhere():
    lay = load_layout("medium")
    walk = np.isin(lay.grid.ravel(), WALKABLE)
    cells = np.flatnonzero(walk)
    for t in range(len(lay.targets)):
        d = lay.dist[t, cells]
        nxt = lay.next_cell[t, cells]
        at = d == 0
        assert (nxt[at] == cells[at]).all()
        assert (lay.dist[t, nxt[~at]] == d[~at] - 1).all()
        assert walk[nxt].all()


def test_map_file_path_loads(tmp_path):
    f = tmp_path / "tiny.txt"
    f.write_text("#####\n#.=.#\n#E.X#\n#####\n")
    lay = load_layout(str(f))
    assert lay.n_plates == 1 and lay.shape == (4, 5)


@pytest.mark.parametrize(
    "text, match",
    [
        ("#####\n#.=.#\n#..X#\n#####\n", "no entry gate"),
        ("#####\n#.=.#\n#E..#\n#####\n", "no exit gate"),
        ("#####\n#.=?#\n#E.X#\n#####\n", r"bad\.txt:2:4: unknown map character '\?'"),
        ("#######\n#.#=#.#\n#.###.#\n#E...X#\n#######\n", "bad.txt:2:4"),
        (
            "#######\n#.=#..#\n####..#\n#E...X#\n#######\n",
            r"bad\.txt:2:3: plate .* cannot be reached",
        ),
    ],
)
def test_bad_maps_name_file_line_and_char(tmp_path, text, match):
    f = tmp_path / "bad.txt"
    f.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_layout(str(f))


def test_unknown_layout_name():
    with pytest.raises(ConfigError, match="neither a built-in"):
        load_layout("nope")


def test_parse_skips_comments():
    lay = parse_layout("# a comment\n#####\n#.=.#\n#E.X#\n#####\n")
    assert lay.shape == (4, 5)
