"""Environment throughput in one run: simulator, both tasks' envs, and PPO's env-time share.

Usage: ``python -m retail_env.experiments.bench_envs [--json OUT] [--quick] [--profile]``

Reports (writes OUT as JSON, atomically, default ``experiments/results/bench_envs.json``,
and a Markdown table beside it with ``.md``, for docs/performance.md):

- simulator store-ticks/s and shopper-ticks/s at B = 1, 64, 1024
  (``retail_env.experiments.bench_sim.measure``, medium preset);
- Attribution decisions/s and Promotion steps/s for the single env, Gymnasium's
  ``SyncVectorEnv`` of 64 and the native vector env of 64 and 1024 (random
  actions; Attribution over whole episodes, Promotion for a fixed time after a
  warm-up; see ``rate``);
- the share of ``PPO.learn()`` wall time spent inside the environment
  (``VecEnv.reset`` + ``step_wait``) for a short run through the native VecEnv with
  the project's PPO settings (``conf/agent/ppo.yaml``, its ``by_task`` overrides;
  default episodes; 64 envs).

Attribution is also measured with its 64 stores split over two worker processes
(``num_workers=2``, ``retail_env/envs/sharded.py``): per CPU-second then counts the
workers' CPU time too.

This virtual machine's speed drifts by 20-30 % within minutes, so every figure but
Attribution's native 1024 (minutes per run) is measured ``--repeats`` times (default 3,
``--quick`` 1),
the variants interleaved round by round: a figure is the median of its runs, shown
with their range, and a ratio is the median of the ratios within each round, which
were measured minutes apart at most.

Simulator stores are warmed to their steady crowd (``bench_sim.WARM_TICKS``) in
``--quick`` runs too, so shopper-ticks/s are comparable.

Where an Attribution decision's time goes (single env and native 64, the same
whole episodes again, timed apart so the clock does not touch the figures above):
the simulator's ticks against the rest of the env, and how many store-ticks a
decision took (see ``SimClock``).

``--profile`` adds cProfile's top functions of the native vector envs (64 and 1024).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import numpy as np

import retail_env  # noqa: F401  (registers the ids)
from retail_env.atomic import write_json, write_text
from retail_env.bank import Bank, cached_bank
from retail_env.sim import store as sim_store
from retail_env.sim.store import make_params

from .bench_sim import RESULTS, TARGETS, load_note, measure
from .tasks import TASKS

ATTRIBUTION = "RetailStore/Attribution-v0"
PROMOTION = "RetailStore/Promotion-v1"
PPO_CONF = Path(__file__).resolve().parents[1] / "conf" / "agent" / "ppo.yaml"
VARIANTS = (
    ("single", "single", 1),
    ("sync 64", "sync", 64),
    ("native 64", "native", 64),
    ("native 1024", "native", 1024),
)
# Attribution replayed from an episode bank (targets: 10k single, 100k native 64).
BANKED = (("single", "single", 1), ("native 64", "native", 64), ("native 1024", "native", 1024))
BANK_CACHE = Path("outputs") / "banks"
BANK_TARGETS = {"banked single": ">= 10,000", "banked native 64": ">= 100,000"}
# Attribution only: the same 64 stores split over two worker processes, one per core.
SHARDED = ("native 64, 2 workers", "native", 64)
WORKERS = {"num_workers": 2}


def _make(env_id: str, kind: str, n: int, **kwargs):
    if kind == "single":
        return gym.make(env_id, **kwargs).unwrapped
    mode = "sync" if kind == "sync" else "vector_entry_point"
    return gym.make_vec(env_id, num_envs=n, vectorization_mode=mode, **kwargs)


class SimClock:
    """Time inside the simulator's tick, and the ticks it ran, for a ``with`` block.

    Wraps ``retail_env.sim.store.step`` (every env ticks through it) and restores it
    on exit. ``store_ticks`` counts the stores whose sensors ran (a vector env stops
    them once a store's episode is over), ``batch_ticks`` the calls.
    """

    def __enter__(self) -> SimClock:
        self.seconds, self.batch_ticks, self.store_ticks = 0.0, 0, 0
        self._step = step = sim_store.step

        def timed(state, params, rng):
            t = time.perf_counter()
            out = step(state, params, rng)
            self.seconds += time.perf_counter() - t
            self.batch_ticks += 1
            self.store_ticks += state.batch_size - int(np.count_nonzero(state.sensors_idle))
            return out

        sim_store.step = timed
        return self

    def __exit__(self, *exc) -> None:
        sim_store.step = self._step


def breakdown(env_id: str, kind: str, n: int, **env_kwargs) -> dict:
    """Milliseconds per decision in the simulator and in the rest of the env, store-ticks
    per decision and batch ticks per step, over the episodes ``rate`` plays."""
    with SimClock() as clock:
        r = rate(env_id, kind, n, None, **env_kwargs)
    if not clock.batch_ticks:
        raise RuntimeError(f"{env_id} did not tick through retail_env.sim.store.step")
    d = r["decisions"]
    return {
        "ms_per_decision": 1e3 * r["seconds"] / d,
        "sim_ms": 1e3 * clock.seconds / d,
        "rest_ms": 1e3 * (r["seconds"] - clock.seconds) / d,
        "store_ticks_per_decision": clock.store_ticks / d,
        "batch_ticks_per_step": clock.batch_ticks / r["batch_steps"],
    }


def _cpu(env) -> float:
    """CPU seconds of this process and of the env's worker processes, if it has any."""
    workers = getattr(env, "worker_cpu_seconds", None)
    return time.process_time() + (workers() if workers else 0.0)


def rate(
    env_id: str,
    kind: str,
    n: int,
    seconds: float | None,
    min_steps: int = 3,
    warm_steps: int = 2,
    profile: bool = False,
    **env_kwargs,
) -> dict:
    """Decisions (or periods) per second summed over all stores.

    ``seconds``: timed for that long after reset and ``warm_steps`` steps (Promotion,
    whose steps all cost alike). ``seconds=None``: timed from reset until every
    store has finished its first episode (the single env: ``n`` episodes, seeds
    0..n-1), so every variant plays the same seeded episodes from start to end
    (Attribution: a decision costs few ticks mid-episode and many as a store fills
    up, closes and restarts, so a time window would compare different phases).
    Autoreset steps are not decisions.
    """
    env = _make(env_id, kind, n, **env_kwargs)
    whole = seconds is None
    prof = cProfile.Profile() if profile else None
    if prof:
        prof.enable()
    t0, c0 = time.perf_counter(), _cpu(env)
    env.reset(seed=0)
    reset_s = time.perf_counter() - t0
    env.action_space.seed(0)
    if not whole:
        for _ in range(warm_steps):
            out = env.step(env.action_space.sample())
            if kind == "single" and (out[2] or out[3]):
                env.reset()
        t0, c0 = time.perf_counter(), _cpu(env)
    steps = decisions = episodes = 0
    prev_done = np.zeros(n if kind != "single" else 1, bool)
    finished = np.zeros_like(prev_done)
    while True:
        out = env.step(env.action_space.sample())
        steps += 1
        decisions += int(np.count_nonzero(~prev_done))
        done = np.atleast_1d(out[2] | out[3])
        if kind == "single":
            if done[0]:
                episodes += 1
                env.reset(seed=episodes if whole else None)
            finished[0] = episodes >= n
        else:
            prev_done = done
            finished |= done
        elapsed = time.perf_counter() - t0
        if finished.all() if whole else (elapsed >= seconds and steps >= min_steps):
            break
    cpu = _cpu(env) - c0
    if prof:
        prof.disable()
    env.close()
    res = {
        "per_s": decisions / elapsed,
        "per_cpu_s": decisions / cpu,
        "batch_steps": steps,
        "decisions": decisions,
        "seconds": elapsed,
        "reset_s": reset_s,
    }
    if prof:
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(12)
        res["profile"] = s.getvalue()
    return res


def interleaved(measures: dict, repeats: int) -> dict:
    """Each measure run ``repeats`` times, round by round (every measure once a round), so
    a drift of the machine's speed hits every variant alike. A measure's summary is its
    first run's fields with ``per_s`` and ``per_cpu_s`` the medians over its runs, which
    are kept in ``runs`` (``profile`` only in the first)."""
    runs: dict = {name: [] for name in measures}
    for _ in range(repeats):
        for name, run in measures.items():
            runs[name].append(run())
    out = {}
    for name, rs in runs.items():
        out[name] = {**rs[0], "runs": [{k: r[k] for k in ("per_s", "per_cpu_s")} for r in rs]}
        for key in ("per_s", "per_cpu_s"):
            out[name][key] = float(np.median([r[key] for r in rs]))
    return out


def paired_ratio(a: dict, b: dict, key: str) -> dict:
    """``a[key] / b[key]`` as the median of the ratios within each round (with its runs),
    or of the two figures where either was measured once."""
    ra, rb = a.get("runs", []), b.get("runs", [])
    if len(ra) < 2 or len(ra) != len(rb):
        return {"value": a[key] / b[key]}
    rounds = [x[key] / y[key] for x, y in zip(ra, rb, strict=True)]
    return {"value": float(np.median(rounds)), "runs": [{"value": r} for r in rounds]}


def _spread(r: dict, key: str, fmt: str, unit: str = "") -> str:
    """A figure, with the range of its runs in brackets when it has several."""
    text = f"{r[key]:{fmt}}{unit}"
    runs = [x[key] for x in r.get("runs", [])]
    if len(runs) > 1:
        text += f" ({min(runs):{fmt}}-{max(runs):{fmt}}{unit})"
    return text


def ppo_env_share(env_id: str, task: str, n_envs: int, total: int, **env_kwargs) -> dict:
    """Wall time of ``PPO.learn`` and the part spent in the env (reset + step_wait), and
    the same in CPU time of the learning thread (steadier on a busy machine; not for
    sharded envs, whose work is in other processes).

    PPO is built as training builds it: ``conf/agent/ppo.yaml`` with ``by_task[task]``.
    """
    import torch
    from omegaconf import OmegaConf
    from stable_baselines3.common.vec_env import VecEnvWrapper

    from retail_env.envs.sb3_vec import make_sb3_vec_env

    from ..agents.sb3_agents import build_model, resolved_hyperparams

    class Timed(VecEnvWrapper):
        spent = cpu = 0.0

        def _timed(self, call):
            t, c = time.perf_counter(), time.thread_time()
            out = call()
            Timed.spent += time.perf_counter() - t
            Timed.cpu += time.thread_time() - c
            return out

        def reset(self):
            return self._timed(self.venv.reset)

        def step_wait(self):
            return self._timed(self.venv.step_wait)

    torch.set_num_threads(1)
    venv = Timed(make_sb3_vec_env(env_id, n_envs, seed=0, **env_kwargs))
    hp = resolved_hyperparams(
        cast("dict[str, Any]", OmegaConf.to_container(OmegaConf.load(PPO_CONF))), task
    )
    model = build_model("ppo", hp, venv, seed=0)
    t0, c0 = time.perf_counter(), time.thread_time()
    model.learn(total)
    wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
    in_process = env_kwargs.get("num_workers", 1) in (None, 1)
    return {
        "env_s": Timed.spent,
        "learn_s": wall,
        "env_share": Timed.spent / wall,
        "env_cpu_share": Timed.cpu / cpu if in_process else None,
        "timesteps": int(model.num_timesteps),
        "sps": model.num_timesteps / wall,
        "n_envs": n_envs,
        "hyperparams": hp,
    }


def median_run(runs: list[dict], key: str) -> dict:
    """The run with the median ``key`` (the lower middle of an even count), with every
    run's ``key`` in its ``runs`` (``_spread`` shows their range)."""
    pick = sorted(runs, key=lambda r: r[key])[(len(runs) - 1) // 2]
    return {**pick, "runs": [{key: r[key]} for r in runs]} if len(runs) > 1 else pick


def table(res: dict) -> str:
    """The docs table (docs/performance.md): every figure beside its target (the project's performance budget)."""
    lines = ["| measure | per wall-clock s | per CPU-s | target |", "|---|---:|---:|---|"]
    for b, r in res["simulator"].items():
        lines.append(
            f"| simulator store-ticks, B = {b} | {r['store_ticks_per_s']:,.0f} | "
            f"{r['store_ticks_per_cpu_s']:,.0f} | {TARGETS.get(b, '')} |"
        )
        lines.append(
            f"| simulator shopper-ticks, B = {b} ({r['mean_shoppers']:.0f} shoppers/store) "
            f"| {r['shopper_ticks_per_s']:,.0f} | | |"
        )
    for task, unit in ((t.name, t.unit) for t in TASKS.values()):
        for name, r in res[task].items():
            target = BANK_TARGETS.get(name) if TASKS[task].banks else None
            lines.append(
                f"| {task} {unit}, {name} | {_spread(r, 'per_s', ',.0f')} | "
                f"{_spread(r, 'per_cpu_s', ',.0f')} |{f' {target}' if target else ''} |"
            )
        t = res[task]
        for name in ("native 64", SHARDED[0], "banked native 64"):
            if name in t:
                wall, cpu = (
                    _spread(paired_ratio(t[name], t["sync 64"], key), "value", ".1f", "x")
                    for key in ("per_s", "per_cpu_s")
                )
                lines.append(f"| {task}: {name} / SyncVectorEnv 64 | {wall} | {cpu} | >= 10x |")
    for name, r in res.get("breakdown", {}).items():
        lines.append(
            f"| attribution, {name}: ms per decision = simulator + rest of env | "
            f"{r['ms_per_decision']:.2f} = {r['sim_ms']:.2f} + {r['rest_ms']:.2f} | | |"
        )
        lines.append(
            f"| attribution, {name}: store-ticks per decision (batch ticks per step) | "
            f"{r['store_ticks_per_decision']:.1f} ({r['batch_ticks_per_step']:.0f}) | | |"
        )
    for name, r in res["ppo"].items():
        cpu = "" if r.get("env_cpu_share") is None else f"{100 * r['env_cpu_share']:.1f} %"
        pct = {
            **r,
            "env_share": 100 * r["env_share"],
            "runs": [{"env_share": 100 * x["env_share"]} for x in r.get("runs", [])],
        }
        cells = [
            f"PPO: env share of learn() time, {name} ({r['timesteps']} steps, "
            f"{r['sps']:,.0f} steps/s)",
            _spread(pct, "env_share", ".1f", " %"),
            cpu,
            "< 10 %",
        ]
        lines.append(("| " + " | ".join(cells) + " |").replace("|  |", "| |"))
    lines.append("")
    reps = res.get("repeats", 1)
    lines.append(
        f"`python -m retail_env.experiments.bench_envs`{' --quick' if res['quick'] else ''}: "
        f"Attribution timed over whole episodes (every store's first, the same seeded "
        f"episodes in every variant; the single env: 4), banked replay and the rest "
        f"{res['seconds']:g} s per figure after warm-up steps; "
        + (
            f"env figures are medians of {reps} interleaved runs (their range in "
            f"brackets; Attribution's native 1024: one run), ratios the median of "
            f"each round's ratio; "
            if reps > 1
            else ""
        )
        + f"{res['load']}."
    )
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument(
        "--json",
        default=str(RESULTS / "bench_envs.json"),
        help="output JSON (Markdown table beside it, .md)",
    )
    ap.add_argument("--quick", action="store_true", help="short timings (about a minute)")
    ap.add_argument("--profile", action="store_true", help="cProfile the native vector envs")
    ap.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="interleaved runs of each env figure (default 3; --quick: 1)",
    )
    args = ap.parse_args(argv)
    reps = args.repeats if args.repeats is not None else 1 if args.quick else 3
    if reps < 1:
        ap.error(f"--repeats {args.repeats} must be >= 1")
    sec = 2.0 if args.quick else 5.0
    # Attribution is timed over whole episodes (see ``rate``); --quick shortens them.
    short: dict[str, Any] = {"episode_s": 120.0, "close_grace_s": 60.0} if args.quick else {}
    res: dict = {"quick": args.quick, "seconds": sec, "attribution_env": short}
    env_short: dict[str, Any] = {"config": short} if short else {}  # the envs take it as config=
    params = make_params("medium")
    res["simulator"] = {str(b): measure(params, b, sec) for b in (1, 64, 1024)}
    res["repeats"] = reps

    def attribution(kind, n, **kw):
        return lambda: rate(
            ATTRIBUTION,
            kind,
            n if kind != "single" else 4,
            None,
            profile=args.profile and kind == "native",
            **env_short,
            **kw,
        )

    def promotion(kind, n):
        return lambda: rate(
            PROMOTION,
            kind,
            n,
            sec,
            min_steps=5 if n < 1024 else 3,
            warm_steps=2 if n > 1 else 4,
            profile=args.profile and kind == "native",
        )

    # The same episodes replayed from a bank (retail_env/bank), built once into the cache.
    t0 = time.perf_counter()
    bank = str(cached_bank(BANK_CACHE, "0:1024", "medium", progress=False, **short))
    res["bank_build_s"] = time.perf_counter() - t0
    att = {name: attribution(kind, n) for name, kind, n in VARIANTS if name != "native 1024"}
    att[SHARDED[0]] = attribution(*SHARDED[1:], **WORKERS)

    def banked(kind, n):
        # A replay's cost is the same at every decision (no ticks), so it is timed over a
        # window (autoresets included) after warm-up steps, like Promotion.
        return lambda: rate(
            ATTRIBUTION, kind, n, sec, warm_steps=50 if n == 1 else 5, bank=bank, **env_short
        )

    banked("native", 2)()  # the replay's compiled kernels load before any timing
    shards = Bank(bank)  # and every shard is checksummed (once per process)
    for s in shards.seeds()[:: shards.size]:
        shards.episode(int(s))
    att.update({f"banked {name}": banked(kind, n) for name, kind, n in BANKED if n < 1024})
    res["attribution"] = interleaved(att, reps)
    # Minutes a run: measured once, and put in its place in the table.
    once = {
        "native 1024": attribution("native", 1024)(),
        "banked native 1024": banked("native", 1024)(),
    }
    res["attribution"] = {
        name: res["attribution"].get(name) or once[name]
        for name in [v[0] for v in VARIANTS] + [SHARDED[0]] + [f"banked {v[0]}" for v in BANKED]
    }
    res["promotion"] = interleaved({name: promotion(kind, n) for name, kind, n in VARIANTS}, reps)
    res["breakdown"] = {
        name: breakdown(ATTRIBUTION, kind, n if kind != "single" else 4, **env_short)
        for name, kind, n in VARIANTS
        if name in ("single", "native 64")
    }
    for task in ("attribution", "promotion"):
        print(task, {k: round(v["per_s"]) for k, v in res[task].items()}, flush=True)
    # At least two rollouts of n_envs x n_steps (128) each, so the updates are timed too;
    # each figure is the median run of ``reps`` (the range of the env shares beside it).
    n = 16384 if args.quick else 32768
    ppo = {
        "promotion, 64 envs": (PROMOTION, "promotion", 64, 16384 if args.quick else 65536, {}),
        "attribution, 64 envs": (ATTRIBUTION, "attribution", 64, n, {}),
        "attribution, 64 envs, 2 workers": (ATTRIBUTION, "attribution", 64, n, WORKERS),
        "attribution, 64 envs, banked": (
            ATTRIBUTION,
            "attribution",
            64,
            n,
            {"bank": bank, **env_short},
        ),
    }
    res["ppo"] = {
        name: median_run([ppo_env_share(*a[:4], **a[4]) for _ in range(reps)], "env_share")
        for name, a in ppo.items()
    }
    res["load"] = load_note()
    md = table(res)
    print(md)
    if args.profile:
        for task in ("attribution", "promotion"):
            for k in ("native 64", "native 1024"):
                print(f"--- {task} {k} ---\n{res[task][k]['profile']}")
    write_json(args.json, res)
    write_text(Path(args.json).with_suffix(".md"), md)
    return res


if __name__ == "__main__":
    main()
