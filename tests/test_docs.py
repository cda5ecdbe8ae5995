"""The docs site: a page per registered id, up to date; links that resolve; a strict build."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest
from retail_env.experiments import env_pages
from retail_env.experiments.docs_hooks import SERVED
from test_repo_refs import tracked  # tests/ is on sys.path (pytest's prepend import mode)

import retail_env  # noqa: F401  (registers the ids)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")  # [text](target), not images
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def registered_ids() -> list[str]:
    return sorted(i for i in gym.registry if i.startswith("RetailStore/"))


def test_every_registered_id_has_a_page_a_frame_and_a_nav_entry():
    nav = (ROOT / "mkdocs.yml").read_text().split("\nnav:\n")[1]
    in_nav = set(re.findall(r"^\s+- (?:[^:\n]+: )?(envs/\S+\.md)$", nav, flags=re.M))
    for env_id in registered_ids():
        slug = env_pages.slug(env_id)
        assert (DOCS / "envs" / f"{slug}.md").exists(), f"{env_id} has no page in docs/envs/"
        assert (env_pages.FRAMES / f"{slug}.png").exists(), f"{env_id} has no frame"
        assert f"envs/{slug}.md" in in_nav, f"{env_id}'s page is not in mkdocs.yml's nav"
    pages = {p.name for p in (DOCS / "envs").glob("*.md")} - {"index.md"}
    assert pages == {f"{env_pages.slug(i)}.md" for i in registered_ids()}, "a page of no id"


def test_env_pages_are_up_to_date():
    for name, text in env_pages.pages().items():
        assert (DOCS / "envs" / name).read_text() == text, (
            f"docs/envs/{name} is stale: run python -m retail_env.experiments.env_pages"
        )


def test_an_id_without_its_entries_gets_no_page(monkeypatch):
    env_id, entry_point, kwargs = env_pages.ENV_SPECS[0]
    monkeypatch.delitem(env_pages.HARD, env_pages.base_name(env_id))
    with pytest.raises(KeyError, match="what makes it hard"):
        env_pages.page(env_id, kwargs, entry_point)


def test_a_version_without_its_history_gets_no_page():
    with pytest.raises(KeyError, match="version history"):
        env_pages.page("RetailStore/Attribution-Hard-v9", {}, "")


def test_env_page_states_the_registered_spaces():
    env = gym.make("RetailStore/Promotion-Category-v2")
    text = (DOCS / "envs" / "promotion-category-v2.md").read_text()
    n = env.action_space.nvec.size // 2
    assert f"MultiDiscrete([6] x {n} + [2] x {n})" in text
    assert f"| `max_episode_steps` | {env.spec.max_episode_steps} |" in text


def _targets(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)  # not code blocks
    text = re.sub(r"`[^`\n]*`", "", text)  # nor inline code
    return [
        t
        for t in LINK.findall(text) + IMAGE.findall(text)
        if not re.match(r"[a-z]+:", t) and not t.startswith("#")
    ]


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
            assert (ROOT / "docs" / page).exists(), f"{path.name} cites missing docs/{page}"
            if anchor:
                assert anchor in _anchors(ROOT / "docs" / page), (
                    f"{path.name} cites docs/{page}#{anchor}: no such section"
                )
    assert cited


def test_relative_links_resolve():
    """README, CONTRIBUTING, CHANGELOG and every docs page link only to files that exist
    (the strict build checks docs pages and anchors too; this covers the root files)."""
    files = [
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
        ROOT / "CHANGELOG.md",
        *sorted(DOCS.rglob("*.md")),
    ]
    for path in files:
        for target in _targets(path):
            file = target.split("#")[0]
            dest = (path.parent / file).resolve()
            rel = dest.relative_to(DOCS).as_posix() if dest.is_relative_to(DOCS) else None
            for site, folder in SERVED.items():  # pictures served by experiments/docs_hooks.py
                if rel and rel.startswith(site + "/") and not dest.exists():
                    dest = folder / rel[len(site) + 1 :]
            assert dest.exists(), f"{path.relative_to(ROOT)} links to missing {target}"
            if "#" in target and dest.suffix == ".md" and not path.is_relative_to(DOCS):
                anchor = target.split("#")[1]  # (the strict build checks docs pages)
                assert anchor in _anchors(dest), f"{path.name} links to missing {target}"


def test_readme_reaches_every_action_space_in_two_clicks():
    readme = (ROOT / "README.md").read_text()
    for env_id in registered_ids():
        page = f"docs/envs/{env_pages.slug(env_id)}.md"
        assert f"]({page})" in readme, f"README does not link {env_id}'s page"
        assert "## Action space" in (ROOT / page).read_text()
    assert len(readme.splitlines()) <= 200


def test_readme_example_runs():
    code = re.search(
        r"## Example\n\n```python\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL
    )[1]
    assert len(code.strip().splitlines()) <= 10
    scope: dict = {}
    exec(compile(code.replace("print(", "result = ("), "README", "exec"), scope)
    assert 0.0 < scope["result"] <= 1.0  # the oracle gets some receipts exactly right


def test_ci_builds_the_docs_and_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    test_cmd = re.search(r"Run the tests:\n\n```bash\n(.*?)\n```", readme)[1]
    assert test_cmd.split("&& ")[-1] in ci.splitlines()
    assert "mkdocs build --strict" in ci


def test_strict_docs_build(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    pytest.importorskip("mkdocstrings")
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "site" / "envs" / "attribution-hard-v0" / "index.html").exists()
