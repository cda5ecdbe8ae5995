"""The ``retail-env`` command: play, export and summarise recorded episodes.

retail-env play FILE [--speed 2] [--start 60] [--frames N]
retail-env --version
retail-env export FILE [--mp4 OUT.mp4] [--gif OUT.gif] [--every N] [--start S] [--end S]
retail-env export log --env ID --policy NAME|CHECKPOINT --seeds 0:8 --out DIR
retail-env export minari --env ID --policy NAME|CHECKPOINT --episodes N [--name ID]
retail-env heatmap FILE OUT.png
retail-env info FILE
retail-env bank build --out DIR --scenario hard --seeds 0:5000 [--workers N] [--raw]
retail-env bank info DIR | retail-env bank verify DIR
retail-env main|train|evaluate|benchmark|leaderboard [Hydra overrides ...]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from retail_env.errors import RetailEnvError
from retail_env.render.recording import load_recording


class OutputError(RetailEnvError, ValueError):
    """An output path the CLI will not write (the input itself, or a missing folder)."""


def _check_out(src: str, out: str | None) -> None:
    """Refuse to overwrite the input, and to create missing folders silently."""
    if out is None:
        return
    dst = Path(out)
    if not dst.parent.is_dir():
        raise OutputError(f"{dst}: folder {str(dst.parent)!r} does not exist (create it first)")
    if dst.exists() and Path(src).exists() and dst.resolve() == Path(src).resolve():
        raise OutputError(f"{dst} is the input recording: refusing to overwrite it")


def _number(lo: float, hi: float = math.inf, kind=float, closed: bool = False):
    """An argparse type: a finite ``kind`` in (lo, hi] (or [lo, hi] when ``closed``)."""

    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'an integer' if kind is int else 'a number'}"
            ) from None
        if not math.isfinite(v) or not ((lo <= v) if closed else (lo < v)) or v > hi:
            raise argparse.ArgumentTypeError(
                f"{text} must be in {'[' if closed else '('}{lo}, {hi}]"
            )
        return v

    return parse


def _play(args) -> None:
    from retail_env.render.playback import play

    drawn = play(
        load_recording(args.file),
        speed=args.speed,
        start_s=args.start,
        frames=args.frames,
        exit_at_end=True if args.exit_at_end else None,
    )
    print(f"played {drawn} frames")


def _export(args) -> None:
    from retail_env.render.export import export_gif, export_mp4

    if not (args.mp4 or args.gif):
        raise SystemExit("export: give --mp4 OUT and/or --gif OUT")
    for out in (args.mp4, args.gif):
        _check_out(args.file, out)
    rec = load_recording(args.file)
    if args.mp4:
        path, n = export_mp4(
            rec, args.mp4, fps=args.fps, every=args.every or 1, start_s=args.start, end_s=args.end
        )
        print(f"wrote {path} ({n} frames)")
    if args.gif:
        path, n = export_gif(
            rec,
            args.gif,
            every=args.every,
            scale=args.gif_scale,
            start_s=args.start,
            end_s=args.end,
        )
        print(f"wrote {path} ({n} frames)")


def _heatmap(args) -> None:
    from retail_env.render.export import export_heatmap

    _check_out(args.file, args.out)
    print(f"wrote {export_heatmap(load_recording(args.file), args.out)}")


def _info(args) -> None:
    rec = load_recording(args.file)
    h = rec.header
    summary = {
        **{k: v for k, v in rec.meta.items() if k != "config"},
        "frames": len(rec),
        "minutes": round(float(rec.times[-1] - rec.times[0]) / 60, 2),
        "grid": list(h.grid.shape),
        "plates": h.n_plates,
        "shopper_slots": int(rec.arrays["shopper_pos"].shape[1]),
    }
    print(json.dumps(summary, indent=2))


def build_parser() -> argparse.ArgumentParser:
    from retail_env import __version__

    parser = argparse.ArgumentParser(
        prog="retail-env", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"retail-env {__version__}",
        help="print the version and exit",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rec = "a recording (.npz written by RecordEpisode)"
    p = sub.add_parser("play", help="watch a recording in a window")
    p.add_argument("file", help=rec)
    p.add_argument(
        "--speed", type=_number(0, 1000), default=1.0, help="playback speed (x real time)"
    )
    p.add_argument(
        "--start", type=_number(0, closed=True), default=0.0, help="start at this many seconds"
    )
    p.add_argument(
        "--frames",
        type=int,
        default=None,
        help="stop after drawing this many frames (default: until quit)",
    )
    p.add_argument(
        "--exit-at-end",
        action="store_true",
        help="stop at the recording's last frame (always so under a headless "
        "video driver such as SDL_VIDEODRIVER=dummy)",
    )
    p.set_defaults(run=_play)
    p = sub.add_parser(
        "export",
        help="write a recording as MP4 and/or GIF (and: export log "
        "/ export minari, the data exports; see retail-env export log --help)",
    )
    p.add_argument("file", help=rec)
    p.add_argument("--mp4", help="write an H.264 MP4 here")
    p.add_argument("--gif", help="write an animated GIF here")
    p.add_argument(
        "--every",
        type=_number(0, kind=int),
        default=None,
        help="keep one frame in N (GIF default: at most 300 frames)",
    )
    p.add_argument(
        "--fps",
        type=_number(0, 240),
        default=None,
        help="MP4 frame rate (default real time, at least 4 frames/s)",
    )
    p.add_argument(
        "--gif-scale",
        type=_number(0, 2),
        default=0.5,
        help="GIF size as a share of the frame size (default 0.5)",
    )
    p.add_argument(
        "--start", type=_number(0, closed=True), default=None, help="seconds from the episode start"
    )
    p.add_argument(
        "--end", type=_number(0, closed=True), default=None, help="seconds from the episode start"
    )
    p.set_defaults(run=_export)
    p = sub.add_parser("heatmap", help="PNG of where shoppers walk and dwell")
    p.add_argument("file", help=rec)
    p.add_argument("out", help="the PNG to write")
    p.set_defaults(run=_heatmap)
    p = sub.add_parser("info", help="print a recording's header")
    p.add_argument("file", help=rec)
    p.set_defaults(run=_info)
    from retail_env.bank.cli import add_commands

    add_commands(sub)
    for name, text in APPS.items():
        p = sub.add_parser(name, help=f"{text} (python -m retail_env.experiments.{name})")
        p.add_argument(
            "overrides",
            nargs="*",
            help="the app's Hydra arguments: key=value "
            "overrides, -m for a sweep, --cfg job, --help",
        )
    return parser


# The Hydra apps of retail_env.experiments, run with their own command lines.
APPS = {
    "main": "the README's main job: baselines, a quick agent, the table, a recorded episode",
    "train": "train an agent, then evaluate it on the frozen seeds",
    "evaluate": "evaluate an agent or a checkpoint on the frozen seeds",
    "benchmark": "train and evaluate a grid of envs x agents x seeds",
    "leaderboard": "the leaderboard table from the runs' results.json files",
}


def run_app(name: str, overrides: list[str]) -> int:
    """Run the Hydra app ``name`` exactly as ``python -m retail_env.experiments.NAME
    OVERRIDES`` does (Hydra reads ``sys.argv`` and exits non-zero when the app fails)."""
    import runpy

    sys.argv = [f"retail-env {name}", *overrides]
    runpy.run_module(f"retail_env.experiments.{name}", run_name="__main__", alter_sys=True)
    return 0


def parse_args(argv: list[str] | None):
    """``export log|minari ...`` go to the data exports' parser (``retail_env/data/cli.py``);
    everything else, ``export FILE`` included, to ``build_parser()``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    from retail_env.data.cli import COMMANDS
    from retail_env.data.cli import build_parser as data_parser

    if len(argv) >= 2 and argv[0] == "export" and argv[1] in COMMANDS:
        return data_parser().parse_args(argv[1:])
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in APPS:  # the app parses the rest (--help included)
        return run_app(argv[0], argv[1:])
    args = parse_args(argv)
    try:
        args.run(args)
    except (RetailEnvError, ValueError, OSError) as err:  # one line, no traceback
        print(f"retail-env: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
