"""The generated tables in the README and the docs: blocks are replaced from results files,
others are kept, every block is up to date, and each table is shown in one place."""

from collections import Counter

from retail_env.experiments.readme_tables import BLOCK, ROOT, fill, targets


def test_fill_replaces_marked_blocks(tmp_path):
    (tmp_path / "speed.md").write_text("| a |\n|---|\n| 1 |\n")
    text = (
        "intro\n<!-- table:speed -->\nold\n<!-- /table:speed -->\n"
        "<!-- table:later -->\nkeep\n<!-- /table:later -->\n"
    )
    out, filled, missing = fill(text, tmp_path)
    assert filled == ["speed"] and missing == ["later"]
    assert "| 1 |" in out and "old" not in out and "keep" in out


def test_tables_are_up_to_date_and_shown_once():
    """Every generated table in the README and the docs equals its results file, and no
    table is copied into two places."""
    shown = Counter()
    for path in targets():
        text = path.read_text()
        out, filled, missing = fill(text, ROOT / "experiments" / "results")
        assert not missing, f"{path.name}: no results file for {missing}"
        assert out == text, (
            f"{path.relative_to(ROOT)} tables are stale: "
            "run python -m retail_env.experiments.readme_tables"
        )
        shown.update(m["name"] for m in BLOCK.finditer(text))
    assert shown["leaderboard"] == 1 and shown["leaderboard_headline"] == 1
    assert [name for name, n in shown.items() if n > 1] == []
    results = {p.stem for p in (ROOT / "experiments" / "results").glob("*.md")}
    assert set(shown) == results, "a results table is shown nowhere, or a block has no file"
