"""Write the transaction log's schema (every table and column) as Markdown for docs/data.md.

python -m retail_env.experiments.data_schema && python -m retail_env.experiments.readme_tables --readme docs/data.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

from retail_env.atomic import write_text
from retail_env.data.log_tables import schema_markdown

from .readme_tables import RESULTS


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument(
        "--out", default=str(RESULTS / "data_schema.md"), help="the Markdown file written"
    )
    args = ap.parse_args(argv)
    write_text(Path(args.out), schema_markdown() + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
