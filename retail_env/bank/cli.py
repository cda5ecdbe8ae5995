"""``retail-env bank build|info|verify``: the episode bank from the command line."""

from __future__ import annotations

import json
import time
from pathlib import Path

from retail_env.bank.store import BankError, check_shard, read_json, shard_name


def add_commands(sub) -> None:
    """Add the ``bank`` command (and its sub-commands) to the ``retail-env`` parser."""
    p = sub.add_parser("bank", help="build, describe or verify an Attribution episode bank")
    bank = p.add_subparsers(dest="bank_command", required=True, help="build, info or verify")
    b = bank.add_parser("build", help="simulate episodes once into a bank (resumable)")
    b.add_argument("--out", required=True, help="bank directory (created if missing)")
    b.add_argument(
        "--scenario", default="medium", help="sim preset: easy, medium, hard, crowded, produce"
    )
    b.add_argument("--seeds", default="0:512", help="episode seeds START:STOP")
    b.add_argument("--shard-size", type=int, default=64, help="episodes per shard")
    b.add_argument(
        "--workers", type=int, default=None, help="build processes (default: one per core)"
    )
    b.add_argument(
        "--raw",
        action="store_true",
        help="also keep the raw observation's windows (about 4 KB a decision)",
    )
    b.add_argument(
        "--evaluation",
        action="store_true",
        help="an evaluation bank: may hold the frozen evaluation seeds, never used for training",
    )
    b.add_argument(
        "--store",
        default=None,
        help='store config overrides as JSON, e.g. \'{"shoppers": {"p_putback": 0.3}}\'',
    )
    b.add_argument(
        "--task", default=None, help="task config overrides as JSON, e.g. '{\"n_candidates\": 4}'"
    )
    b.set_defaults(run=_build)
    i = bank.add_parser("info", help="print a bank's manifest and size")
    i.add_argument("dir", help="the bank directory")
    i.set_defaults(run=_info)
    v = bank.add_parser("verify", help="check every shard's files against their checksums")
    v.add_argument("dir", help="the bank directory")
    v.set_defaults(run=_verify)


def _json_arg(text: str | None, name: str) -> dict:
    if text is None:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise BankError(f"--{name}: not JSON ({err})") from None
    if not isinstance(data, dict):
        raise BankError(f"--{name}: a JSON object is expected, got {text!r}")
    return data


def _build(args) -> None:
    from retail_env.bank.build import build_bank

    t0 = time.time()
    out = build_bank(
        args.out,
        scenario=args.scenario,
        seeds=args.seeds,
        store=_json_arg(args.store, "store"),
        raw=args.raw,
        shard_size=args.shard_size,
        workers=args.workers,
        evaluation=args.evaluation,
        **_json_arg(args.task, "task"),
    )
    print(json.dumps({**summary(out), "build_s": round(time.time() - t0, 1)}, indent=2))


def summary(root: str | Path) -> dict:
    """The manifest's headline and the built shards' totals."""
    root = Path(root)
    m = read_json(root / "manifest.json", "bank manifest")
    shards = [
        read_json(root / shard_name(i) / "shard.json", "shard description")
        for i in range(m["n_shards"])
        if (root / shard_name(i) / "shard.json").exists()
    ]
    nbytes = sum(f["bytes"] for s in shards for f in s["files"].values())
    feat = sum(f["bytes"] for s in shards for n, f in s["files"].items() if n != "raw.arrow")
    episodes = sum(s["episodes"] for s in shards)
    decisions = sum(s["decisions"] for s in shards)
    return {
        "path": str(root),
        "scenario": m["config"]["scenario"],
        "seeds": m["seeds"],
        "world_hash": m["world_hash"],
        "schema": m["schema"],
        "project_version": m["project_version"],
        "groups": m["groups"],
        "evaluation": m["evaluation"],
        "shards_built": len(shards),
        "shards_planned": m["n_shards"],
        "episodes": episodes,
        "decisions": decisions,
        "bytes": nbytes,
        "bytes_per_decision_features": round(feat / max(decisions, 1), 1),
        "bytes_per_episode": round(nbytes / max(episodes, 1)),
    }


def _info(args) -> None:
    print(json.dumps(summary(args.dir), indent=2))


def _verify(args) -> None:
    root = Path(args.dir)
    m = read_json(root / "manifest.json", "bank manifest")
    raw = "raw" in m["groups"]
    ok = 0
    for i in range(m["n_shards"]):
        if (root / shard_name(i) / "shard.json").exists():
            check_shard(root / shard_name(i), raw, verify=True)
            ok += 1
    print(f"{root}: {ok} of {m['n_shards']} shards built, every checksum matches")
