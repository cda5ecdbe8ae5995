"""``retail-env export log|minari``: the data exports from the command line.

``retail-env export FILE --mp4 ...`` (a recording to video) keeps its meaning: ``main`` in
``retail_env/cli.py`` hands ``export log ...`` and ``export minari ...`` to this parser.
"""

from __future__ import annotations

import argparse

from retail_env.bank.cli import _json_arg

COMMANDS = ("log", "minari")


def _seeds(text: str) -> range:
    from retail_env.bank.build import parse_seeds

    return parse_seeds(text)


def _log(args) -> None:
    from retail_env.data.log import export_log

    m = export_log(
        args.env,
        args.policy,
        _seeds(args.seeds),
        args.out,
        env_kwargs=_json_arg(args.config, "config"),
        show_progress=not args.quiet,
    )
    size = sum(t["bytes"] for t in m["tables"].values())
    rows = ", ".join(f"{k} {v['rows']:,}" for k, v in m["tables"].items())
    print(
        f"wrote {args.out}: {m['episodes']} episodes of {m['policy']} on {m['env_id']} "
        f"({size:,} bytes; rows: {rows})"
    )


def _minari(args) -> None:
    from retail_env.data.minari_export import datasets_root, export_minari

    name = args.name or default_name(args.env, args.policy)
    seeds = range(args.seed_start, args.seed_start + args.episodes)
    ds = export_minari(
        args.env,
        args.policy,
        args.episodes,
        name,
        seeds=seeds,
        root=args.root,
        env_kwargs=_json_arg(args.config, "config"),
        show_progress=not args.quiet,
    )
    print(
        f"wrote Minari dataset {name} ({ds.total_episodes} episodes, {ds.total_steps} "
        f"steps) under {datasets_root(args.root)}; load it with "
        f"minari.load_dataset({name!r})"
    )


def default_name(env_id: str, policy: str) -> str:
    """``retail/<env>-<policy>-v0`` from an env id and a policy name or folder."""
    from pathlib import Path

    env = env_id.split("/")[-1].rsplit("-v", 1)[0].lower()
    pol = Path(policy).name.lower().replace("_", "-")
    return f"retail/{env}-{pol}-v0"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="retail-env export",
        description="Export seeded episodes as data: the "
        "transaction log (Parquet) or a Minari dataset. (retail-env export FILE --mp4 ... "
        "writes a recording as video.)",
    )
    sub = parser.add_subparsers(dest="data_command", required=True, help="log or minari")
    for name, helptext in (
        ("log", "the store's transaction log as Parquet tables"),
        ("minari", "a Minari dataset for offline RL / imitation"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--env", required=True, help="env id, e.g. RetailStore/Promotion-v1")
        p.add_argument(
            "--policy",
            required=True,
            help="a baseline name (Attribution: oracle, hungarian, ...; Promotion: "
            "list_price, hi_lo, myopic, ...) or a checkpoint folder",
        )
        p.add_argument(
            "--config",
            default=None,
            help='env kwargs as JSON, e.g. \'{"config": {"episode_days": 7}}\'',
        )
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        if name == "log":
            p.add_argument(
                "--out", required=True, help="folder to create (one Parquet file per table)"
            )
            p.add_argument("--seeds", default="0:8", help="episode seeds START:STOP")
            p.set_defaults(run=_log)
        else:
            p.add_argument("--episodes", type=int, required=True, help="episodes to collect")
            p.add_argument(
                "--seed-start",
                type=int,
                default=0,
                help="reset seed of the first episode (then +1 each)",
            )
            p.add_argument(
                "--name",
                default=None,
                help="dataset id (namespace/)name-vN (default retail/<env>-<policy>-v0)",
            )
            p.add_argument(
                "--root",
                default=None,
                help="datasets folder (default $MINARI_DATASETS_PATH, else ~/.minari/datasets)",
            )
            p.set_defaults(run=_minari)
    return parser
