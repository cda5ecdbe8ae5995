"""Put generated tables into the README and the docs pages, so no figure there is typed by hand.

Every benchmark and evaluation script writes a Markdown table into
``experiments/results/NAME.md``. The README and the pages under ``docs/`` mark where
each goes::

    <!-- table:NAME -->
    ...replaced...
    <!-- /table:NAME -->

``python -m retail_env.experiments.readme_tables`` replaces every marked block whose file exists in
every target file (and says which markers have no file yet). Each file is rewritten
atomically, and only when it changed.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from retail_env.atomic import write_text

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "results"  # where every table script writes by default
BLOCK = re.compile(
    r"(<!-- table:(?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- /table:(?P=name) -->)", re.DOTALL
)


def targets(root: Path = ROOT) -> list[Path]:
    """The files that may hold table blocks: the README and every docs page."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def fill(readme: str, results: Path) -> tuple[str, list[str], list[str]]:
    """The text with every block filled; names filled and names missing a file."""
    filled, missing = [], []

    def repl(m: re.Match) -> str:
        path = results / f"{m['name']}.md"
        if not path.exists():
            missing.append(m["name"])
            return m.group(0)
        filled.append(m["name"])
        return m.group(1) + path.read_text().strip() + "\n" + m.group(4)

    return BLOCK.sub(repl, readme), filled, missing


def write_results(out: str | Path, res: dict, table: str) -> None:
    """Print a script's ``table`` and write ``<out>.json`` (``res``) and ``<out>.md`` atomically."""
    from retail_env.atomic import write_json

    print(table)
    out = Path(out)
    write_json(out.with_suffix(".json"), res)
    write_text(out.with_suffix(".md"), table + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument(
        "files",
        type=Path,
        nargs="*",
        help="files to fill (default: README.md and every docs/**/*.md)",
    )
    ap.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help="folder of the generated .md tables (default experiments/results)",
    )
    args = ap.parse_args(argv)
    for path in args.files or targets():
        old = path.read_text()
        text, filled, missing = fill(old, args.results)
        if text != old:
            write_text(path, text)
        if filled or missing:
            name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            print(
                f"{name}: filled {', '.join(filled) or '-'}"
                + (f"; no results file yet for {', '.join(missing)}" if missing else "")
            )


if __name__ == "__main__":
    main()
