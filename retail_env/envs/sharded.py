"""The Attribution vector env split over worker processes: one shard of stores per core.

Why: a process uses one core, so ``SyncVectorEnv`` and the in-process native env both
leave the machine's other cores idle. Here the B stores are cut into ``num_workers``
contiguous shards, each an ``AttributionVectorEnv`` in its own process; ``step`` sends
every shard its actions at once and stacks what they return. Between steps (while
the agent thinks, and while a shard waits for a slower one) each worker keeps its
simulator running ahead, up to ``run_ahead`` queued events per store: an Attribution
store's simulator never depends on the actions, so those ticks are ones a later step
need not take, and ``as_of`` keeps what they add out of sight.

Same numbers as the in-process env: the main process draws every episode seed from
its own ``np_random`` exactly as ``AttributionVectorEnv`` does and gives each worker
its stores' seeds, and a store's episode depends on its seed alone, so store ``i``
returns the same observations, rewards and infos whatever ``num_workers`` is (tested).

Make it with ``gym.make_vec(id, num_envs=B, vectorization_mode="vector_entry_point",
num_workers=W)`` (``make_attribution_vector``). It does not pickle (its workers are
processes), and baselines that read the env's core need the in-process env.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
import traceback
from typing import Any

import numpy as np
from gymnasium.vector import VectorEnv
from gymnasium.vector.utils import batch_space

from retail_env.envs.attribution.vector import AttributionVectorEnv, check_actions
from retail_env.envs.seeds import MAX_NUM_ENVS, check_seed, draw_seeds
from retail_env.errors import EpisodeStateError, WorkerError
from retail_env.sim.validation import check_choice, check_count

CONTEXTS = ("forkserver", "spawn", "fork")


def make_attribution_vector(num_envs: int = 1, num_workers: int = 1, **kwargs: Any) -> VectorEnv:
    """The Attribution vector entry point: in-process for one worker, sharded above."""
    num_workers = check_count("num_workers", num_workers)
    if num_workers == 1:
        return AttributionVectorEnv(num_envs, **kwargs)
    return ShardedAttributionEnv(num_envs, num_workers=int(num_workers), **kwargs)


def _worker(conn, n: int, kwargs: dict, lead: int) -> None:
    """One shard's loop: answer commands; run the simulator ahead while none is waiting."""
    try:
        env = AttributionVectorEnv(n, **kwargs)
        conn.send(("ok", (env.single_observation_space, env.single_action_space)))
    except Exception as exc:  # noqa: BLE001  (any failure is reported to the main process)
        conn.send(("error", (exc, traceback.format_exc())))
        return
    calls = {
        "start": env.start,
        "step": lambda a: env.step_seeded(*a),
        "reset_done": env.reset_done_seeded,
        "cpu": lambda _: time.process_time(),
    }
    while True:
        if lead and env._started:
            while not conn.poll() and env.core.run_ahead(lead):
                pass
        try:
            cmd, arg = conn.recv()
        except EOFError:  # the main process is gone
            return
        if cmd == "close":
            conn.send(("ok", None))
            return
        try:
            conn.send(("ok", calls[cmd](arg)))
        except Exception as exc:  # noqa: BLE001
            conn.send(("error", (exc, traceback.format_exc())))


def _stack(parts: list, sizes: list[int]) -> Any:
    """Concatenate the shards' results (arrays, or dicts of them). A key some shards lack
    (``receipts`` where no store of theirs ended) is zeros (masks False) there."""
    first = next(p for p in parts if p is not None)
    if isinstance(first, dict):
        keys = list(dict.fromkeys(k for p in parts if p is not None for k in p))
        return {k: _stack([None if p is None else p.get(k) for p in parts], sizes) for k in keys}
    return np.concatenate(
        [
            np.zeros((n, *first.shape[1:]), first.dtype) if p is None else p
            for p, n in zip(parts, sizes, strict=True)
        ]
    )


class ShardedAttributionEnv(VectorEnv):
    """B Attribution stores over ``num_workers`` processes (see the module docstring).

    Keyword arguments are ``AttributionVectorEnv``'s, plus ``num_workers`` (>= 2 here),
    ``run_ahead`` (events each store may queue ahead between steps; 0 = none) and
    ``context`` (multiprocessing start method).
    """

    metadata = AttributionVectorEnv.metadata

    def __init__(
        self,
        num_envs: int = 2,
        num_workers: int = 2,
        run_ahead: int = 32,
        context: str = "forkserver",
        **kwargs: Any,
    ):
        self.num_envs = check_count("num_envs", num_envs, hi=MAX_NUM_ENVS)
        check_count("num_workers", num_workers, hi=self.num_envs)
        run_ahead = check_count("run_ahead", run_ahead, lo=0)
        check_choice("context", context, CONTEXTS)
        self.render_mode = None
        if kwargs.get("bank") is not None:  # the workers replay it; seeds are drawn here
            from retail_env.bank.replay import Bank

            self._draw_seeds = Bank(kwargs["bank"]).draw_seeds
        else:
            self._draw_seeds = draw_seeds
        self._pipes: list = []
        self._procs: list = []
        bounds = np.linspace(0, self.num_envs, int(num_workers) + 1).round().astype(int)
        self._slices = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        self._sizes = [s.stop - s.start for s in self._slices]
        self._context = context
        ctx = mp.get_context(context)
        for n in self._sizes:
            here, there = ctx.Pipe()
            proc = ctx.Process(  # pyright: ignore[reportAttributeAccessIssue]  (every context has Process)
                target=_worker,
                args=(there, n, kwargs, int(run_ahead)),
                daemon=True,
                name="retail-env-shard",
            )
            proc.start()
            there.close()
            self._pipes.append(here)
            self._procs.append(proc)
        try:
            obs_space, act_space = self._gather()[0]
        except BaseException:
            self.close()
            raise
        self.single_observation_space = obs_space
        self.single_action_space = act_space
        self.observation_space = batch_space(obs_space, self.num_envs)
        self.action_space = batch_space(act_space, self.num_envs)
        self.K = int(act_space.n) - 2
        self.episode_seeds = np.zeros(self.num_envs, np.int64)
        self.prev_done: np.ndarray = np.zeros(self.num_envs, bool)
        self._started = False

    # --- Gymnasium VectorEnv API ----------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        seed = check_seed(seed)
        super().reset(seed=seed)
        B = self.num_envs
        seeds = self._draw_seeds(self.np_random, B) if seed is None else seed + np.arange(B)
        self.episode_seeds = np.asarray(seeds, np.int64)
        out = self._call("start", [seeds[s] for s in self._slices])
        self._started = True
        self.prev_done[:] = False
        return _stack([o[0] for o in out], self._sizes), _stack([o[1] for o in out], self._sizes)

    def step(self, actions):
        if not self._started:
            raise EpisodeStateError("call reset() before step()")
        a = check_actions(actions, self.num_envs, self.K)
        out = self._call(
            "step", list(zip((a[s] for s in self._slices), self._restart_seeds(), strict=True))
        )
        obs, reward, terminated, truncated, info = (
            _stack([o[i] for o in out], self._sizes) for i in range(5)
        )
        self.prev_done = terminated.copy()
        return obs, reward, terminated, truncated, info

    def reset_done(self):
        """Restart the stores that terminated at the last step now (``AttributionVectorEnv.reset_done``)."""
        out = self._call("reset_done", self._restart_seeds())
        self.prev_done[:] = False
        return _stack([o[0] for o in out], self._sizes), _stack([o[1] for o in out], self._sizes)

    def close_extras(self, **kwargs: Any) -> None:
        for pipe in self._pipes:
            try:
                pipe.send(("close", None))
            except OSError:
                pass
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
        for pipe in self._pipes:
            pipe.close()
        self._pipes, self._procs = [], []

    def worker_cpu_seconds(self) -> float:
        """CPU time the workers have used so far (for throughput per CPU-second)."""
        return float(sum(self._call("cpu", [None] * len(self._pipes))))

    def __getstate__(self):
        raise TypeError(
            "ShardedAttributionEnv runs worker processes and cannot be pickled; "
            "pickle an AttributionVectorEnv (num_workers=1) instead"
        )

    # --- helpers ---------------------------------------------------------------
    def _restart_seeds(self) -> list[np.ndarray]:
        """Each shard's seeds for its stores that restart now, drawn as
        ``AttributionVectorEnv.restart`` draws them for the whole batch."""
        idx = np.flatnonzero(self.prev_done)
        self.episode_seeds[idx] = self._draw_seeds(self.np_random, len(idx))
        return [self.episode_seeds[s][self.prev_done[s]] for s in self._slices]

    def _call(self, cmd: str, args: list) -> list:
        if not self._pipes:
            raise EpisodeStateError("the env is closed")
        for w, (pipe, arg) in enumerate(zip(self._pipes, args, strict=True)):
            try:
                pipe.send((cmd, arg))
            except OSError:  # BrokenPipeError, ConnectionResetError: it died
                raise self._dead(w) from None
        return self._gather()

    def _dead(self, w: int) -> WorkerError:
        """The error for shard worker ``w`` found dead, with its exit code."""
        proc = self._procs[w]
        proc.join(timeout=1.0)
        code = proc.exitcode
        how = (
            "is still running"
            if code is None
            else f"exit code {code}" + (f" (killed by signal {-code})" if code < 0 else "")
        )
        return WorkerError(
            f"shard worker {w} (pid {proc.pid}) died: {how}; its own traceback, "
            f"if any, is on stderr (the '{self._context}' start method needs a "
            "main module it can import)"
        )

    def _gather(self) -> list:
        """Every worker's answer; a worker's exception is raised here with its traceback."""
        out, error = [], None
        for w, pipe in enumerate(self._pipes):
            try:
                status, value = pipe.recv()
            except (EOFError, OSError):
                status, value = "error", (self._dead(w), "")
            if status == "error" and error is None:
                exc, tb = value
                if sys.version_info >= (3, 11):  # add_note is new in 3.11
                    exc.add_note(f"(in shard worker {w})\n{tb}")
                error = exc
            out.append(value)
        if error is not None:
            raise error
        return out
