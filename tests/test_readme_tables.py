"""The README's generated tables: blocks are replaced from results files, others are kept."""

from experiments.readme_tables import ROOT, fill


def test_fill_replaces_marked_blocks(tmp_path):
    (tmp_path / "speed.md").write_text("| a |\n|---|\n| 1 |\n")
    text = ("intro\n<!-- table:speed -->\nold\n<!-- /table:speed -->\n"
            "<!-- table:later -->\nkeep\n<!-- /table:later -->\n")
    out, filled, missing = fill(text, tmp_path)
    assert filled == ["speed"] and missing == ["later"]
    assert "| 1 |" in out and "old" not in out and "keep" in out


def test_readme_tables_are_up_to_date():
    """Every generated table in the README equals its results file."""
    readme = (ROOT / "README.md").read_text()
    out, filled, _ = fill(readme, ROOT / "experiments" / "results")
    assert filled, "the README has no generated tables"
    assert out == readme, "README tables are stale: run python -m experiments.readme_tables"


def test_docs_tables_are_up_to_date():
    """Generated tables in docs/*.md too (python -m experiments.readme_tables --readme FILE)."""
    for doc in sorted((ROOT / "docs").glob("*.md")):
        text = doc.read_text()
        out, _, missing = fill(text, ROOT / "experiments" / "results")
        assert not missing, f"{doc.name}: no results file for {missing}"
        assert out == text, f"{doc.name}: tables are stale: run python -m " \
                            f"experiments.readme_tables --readme docs/{doc.name}"
