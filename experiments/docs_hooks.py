"""MkDocs hook: serve the repository's generated pictures as ``img/`` in the docs site.

The screenshots (``experiments/screenshots``, made by ``retail_env.experiments.screenshots`` and
``retail_env.experiments.env_pages --frames``) and the leaderboard plots
(``experiments/results/leaderboard``, made by ``retail_env.experiments.leaderboard``) stay where
their scripts write them; this hook adds them to the site, so no picture is copied into
``docs/`` and the README and the docs show the same files.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVED = {  # site folder -> repository folder of .png files
    "img": ROOT / "experiments" / "screenshots",
    "img/leaderboard": ROOT / "experiments" / "results" / "leaderboard",
}


def on_files(files, config):
    """Add every served picture as a docs file (a missing one fails the links check)."""
    from mkdocs.structure.files import File  # only the docs extra has mkdocs

    for site, folder in SERVED.items():
        for png in sorted(folder.glob("*.png")) + sorted(folder.glob("*/*.png")):
            uri = f"{site}/{png.relative_to(folder).as_posix()}"
            if files.get_file_from_path(uri) is None:
                files.append(File.generated(config, uri, abs_src_path=str(png)))
    return files
