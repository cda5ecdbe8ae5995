"""The repository cites only files it has (no DESIGN.md or other outside notes)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLACEHOLDERS = ("FILE.md", "NAME.md", "STEM.md")   # names in usage lines, not files


def tracked(*patterns: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", *patterns], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.split()
    return [REPO / p for p in out if not p.startswith("experiments/results/")]


def test_readme_and_scripts_cite_only_files_in_the_repository():
    have = {p.name for p in REPO.rglob("*.md")} | {"LEADERBOARD.md"}   # written by the apps
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
    assert 'if __name__ == "__main__":' in page[at:at + 400]
    assert "num_workers=2" in page[at:at + 400]


def _anchors(page: Path) -> set[str]:
    """Heading ids as MkDocs' toc makes them (lower case, punctuation dropped, spaces -> -)."""
    heads = re.findall(r"^#+ (.+)$", page.read_text(), flags=re.M)
    return {re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", h).strip().lower()) for h in heads}


def test_code_cites_docs_pages_that_exist():
    """``docs/<page>.md`` (and ``#section``) cited in code, configs and docs exist, so a
    moved or renamed page leaves no stale citation (as docs_attribution_card.md did)."""
    cited = 0
    for path in tracked("*.py", "*.yaml", "*.md", "*.toml"):
        for page, anchor in re.findall(r"\bdocs/([\w/.-]+?\.md)(?:#([\w-]+))?", path.read_text()):
            cited += 1
            assert (REPO / "docs" / page).exists(), f"{path.name} cites missing docs/{page}"
            if anchor:
                assert anchor in _anchors(REPO / "docs" / page), (
                    f"{path.name} cites docs/{page}#{anchor}: no such section")
    assert cited
