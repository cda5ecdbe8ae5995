"""The repository cites only files it has (no DESIGN.md or other outside notes)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLACEHOLDERS = ("FILE.md", "NAME.md", "STEM.md")  # names in usage lines, not files


def tracked(*patterns: str) -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", *patterns], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    return [REPO / p for p in out if not p.startswith("experiments/results/")]


def test_readme_and_scripts_cite_only_files_in_the_repository():
    have = {p.name for p in REPO.rglob("*.md")} | {"LEADERBOARD.md"}  # written by the apps
    for path in tracked("README.md", "experiments/*.py", "conf/*.yaml", "conf/**/*.yaml"):
        for name in re.findall(r"\b([A-Z][A-Z_-]*\.md)\b", path.read_text()):
            assert name in have or name in PLACEHOLDERS, f"{path.name} cites {name}"
    for path in tracked("*.py", "*.md", "*.yaml", "*.toml"):
        assert path.name == Path(__file__).name or "DESIGN.md" not in path.read_text(), path


def test_no_absolute_paths_to_other_checkouts():
    for path in tracked("*.py", "*.md", "*.yaml", "*.toml"):
        assert path.name == Path(__file__).name or "/work/" not in path.read_text(), path


def test_docs_note_the_main_guard_for_worker_processes():
    page = (REPO / "docs" / "experiments.md").read_text()
    at = page.index("`train.env_workers` > 1")
    assert 'if __name__ == "__main__":' in page[at : at + 400]
    assert "num_workers=2" in page[at : at + 400]
