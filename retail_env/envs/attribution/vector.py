"""Native Gymnasium vector env of the Attribution task: B stores stepped as one batch.

How a step works. Every store has its own event queue and waits at its own
decision. ``step(actions)`` applies store ``i``'s action to the event at the head
of store ``i``'s queue, then ticks the batched simulator (all B stores in one
NumPy call per tick) until EVERY store has a decision ready or is finished. A
store whose decision is ready keeps running while others catch up (its events
queue up), but its observation is taken *as of its own decision tick*: the tick
at which a single env would be deciding, ``max(previous decision tick, min(head
detected + decision delay, shut tick))``. Events detected or read out after that
tick are hidden from it, so store ``i`` of a batch equals ``AttributionEnv`` with
the same seed, observation for observation (the simulator never depends on the
actions, so running ahead changes nothing else).

Seeding: ``reset(seed=s)`` starts store ``i`` like ``AttributionEnv.reset(seed=s + i)``
(including the re-draws of a store that saw no event, taken from ``np_random(s + i)``).
``reset(seed=None)`` and autoresets draw each store's seed from the vector env's own
``np_random`` (seeded by the last ``reset(seed=...)``), so seeded runs reproduce;
``episode_seeds`` holds each store's current seed (``AttributionEnv.reset(seed=...)``
with it replays that episode). A store restarted mid-batch goes through
``retail_env.sim.store.reset_stores``; its closing gate is its own
(``StoreState.gate_open``), so batch-mates on other clocks do not affect it.

Autoreset (``metadata["autoreset_mode"] = NEXT_STEP``, like ``CartPoleVectorEnv``): a
store that terminates returns a blank observation and ``info["receipts"]`` (masked by
``info["_receipts"]``); on the next step its action is ignored and it returns the
first observation of a new episode with reward 0 and both flags False.
``reset_done()`` does those restarts at once (the SB3 adapter's same-step mode).

Info (arrays over stores): ``rewards`` (named terms), ``action_mask``,
``event_index``, ``time_s``, ``review_credit``; ``oracle_action`` only with
``oracle_info=True`` (it scores every action, about as costly as the observation).
"""

from __future__ import annotations

import contextlib
import itertools
from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numba
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from retail_env.envs.attribution.core import REWARD_TERMS, AttributionCore
from retail_env.envs.attribution.env import MAX_EMPTY_RESETS, make_core, parse_config
from retail_env.envs.attribution.observations import observation_factory
from retail_env.envs.base import refuse_old_kwargs, refuse_vector_render
from retail_env.envs.seeds import MAX_NUM_ENVS, SEED_HI, check_seed, draw_seed  # noqa: F401  (SEED_HI: re-exported)

if TYPE_CHECKING:
    from retail_env.bank.core import BankCore
from retail_env.errors import ConfigError, EpisodeStateError, InvalidActionError
from retail_env.sim.validation import check_count

NEVER = np.iinfo(np.int64).max // 4  # "no such tick" (empty queue, not shut, ...)


class BatchAttributionCore(AttributionCore):
    """``AttributionCore`` for a vector env: per-store restarts and a batched tick.

    The base core checks every store in Python each tick; here one compiled scan of
    the batch per tick finds whose event is due to be read out, who is due to close or
    shut and whether anyone is still waiting, and Python runs only for the stores where
    something happened.
    """

    def reset(self, seeds: Sequence[int]) -> None:
        super().reset(seeds)
        B = self.B
        self.head_t = np.full(B, NEVER, np.int64)  # head event's detection tick
        self.next_snap = np.full(B, NEVER, np.int64)  # when the next queued event is read out
        self.shut_tick = np.full(B, NEVER, np.int64)
        self.dec_tick = np.zeros(B, np.int64)  # tick the current decision is taken at
        self._scan_out = np.empty((2, B), np.int64)  # _scan's store lists

    def reset_stores(self, idx: np.ndarray, seeds: Sequence[int]) -> None:
        """Restart stores ``idx`` with ``seeds``, as ``reset`` would (others keep running)."""
        sim = self.sim
        sim.reset_stores(idx, seeds)
        for b, s in zip(idx, seeds, strict=True):
            self.seeds[b] = int(s)
            self.queues[b] = deque()
            self.ledgers[b] = type(self.ledgers[b])(self.N)
            self.stats[b] = dict.fromkeys(self.stats[b], 0)
            self.pending[b] = []
            self.recent[b] = deque(maxlen=self.recent[b].maxlen)
            st = sim.state
            self._register(int(b), st.account[b][st.present[b] & ~st.staff[b]].tolist())
        self.credit[idx] = self.cfg.review_credit_start
        self.closed[idx] = self.shut[idx] = False
        self.head_t[idx] = self.next_snap[idx] = self.shut_tick[idx] = NEVER
        self.dec_tick[idx] = 0

    # --- simulation ---------------------------------------------------------
    def finished_mask(self) -> np.ndarray:
        return self.shut & (self.head_t == NEVER)

    def advance(self) -> None:
        """Tick the batch until every store has a decision ready or is finished."""
        st = self.sim.state
        waiting = _any_waiting(self.head_t, st.tick, self.delay_ticks, self.shut)
        while waiting:
            waiting = self.tick()

    def tick(self) -> bool:
        """One batch tick; returns whether some store is still waiting (see ``advance``)."""
        sim = self.sim
        st = sim.state
        out = sim.step()
        now = st.tick
        for b in self._book(out, ~self.shut):
            self.head_t[b] = self.queues[b][0].t_detect
            if self.next_snap[b] == NEVER:
                self.next_snap[b] = now[b] + self.delay_ticks
        n_close, n_read, waiting = _scan(
            now,
            self.shut,
            self.closed,
            self.next_snap,
            self.head_t,
            self.delay_ticks,
            st.present,
            st.staff,
            self.end_tick,
            self.grace_ticks,
            self._scan_out,
        )
        due = self._scan_out[1, :n_read].tolist()
        if n_close:
            due = self._close_due(self._scan_out[0, :n_close].tolist(), now, due)
            waiting = _any_waiting(self.head_t, now, self.delay_ticks, self.shut)
        self._snapshot([rec for b in due for rec in self._due(b)])
        for b in due:
            self.next_snap[b] = self._first_unread(b)
        return waiting

    def _close_due(self, stores: list[int], now: np.ndarray, read: list[int]) -> list[int]:
        """Close or shut ``stores`` (as ``AttributionCore._close_if_due``); returns the
        stores to read out: ``read`` and those that shut."""
        for b in stores:
            self._close_if_due(b)
        shut = [b for b in stores if self.shut[b]]
        self.shut_tick[shut] = now[shut]
        st = self.sim.state
        st.gate_open &= ~self.closed
        st.sensors_idle |= self.shut  # an ended episode's sensors are never read again
        return sorted({*read, *shut})

    def _first_unread(self, b: int) -> int:
        """When the oldest not-yet-read event of store ``b`` is due (unread ones are a suffix)."""
        due = NEVER
        for rec in reversed(self.queues[b]):
            if rec.n_cand >= 0:
                break
            due = rec.t_detect + self.delay_ticks
        return due

    def run_ahead(self, lead: int) -> bool:
        """Tick once if an open store has fewer than ``lead`` events queued; False if none has.

        The simulator never depends on the actions, so ticks taken while the agent thinks
        are ticks a later ``advance`` need not take (``as_of`` hides what they add).
        """
        queues, shut = self.queues, self.shut.tolist()
        if all(shut[b] or len(queues[b]) >= lead for b in range(self.B)):
            return False
        self.tick()
        return True

    def decide(self, b: int, action: int) -> dict[str, float]:
        terms = super().decide(b, action)
        q = self.queues[b]
        self.head_t[b] = q[0].t_detect if q else NEVER
        return terms

    def set_decision_ticks(self, which: np.ndarray) -> None:
        """Fix the decision tick of stores ``which`` (mask) whose head became current (the
        tick a single env would decide at; for a finished store, the tick it finished)."""
        t = np.minimum(self.head_t + self.delay_ticks, self.shut_tick)
        self.dec_tick[which] = np.maximum(self.dec_tick, t)[which]

    def as_of(self, b: int, tick: int) -> _AsOf:
        """Show store ``b`` as it was at ``tick`` (a context manager): later events hidden,
        later read-outs unread.

        The queue is in detection order, so what was detected by ``tick`` is a prefix;
        while the store runs ahead, most of its queue is later, so the prefix is shown
        as a short copy of its own rather than by taking the later events off.
        """
        return _AsOf(self, b, tick)


class _AsOf:
    """``BatchAttributionCore.as_of``: a plain class, as a vector env enters one per store
    per step and a generator-based context manager costs several times more."""

    __slots__ = ("core", "b", "tick", "queue", "unread", "closed")

    def __init__(self, core: BatchAttributionCore, b: int, tick: int):
        self.core, self.b, self.tick = core, b, tick

    def __enter__(self) -> None:
        core, b, tick = self.core, self.b, self.tick
        q = self.queue = core.queues[b]
        n = 0
        for rec in q:
            if rec.t_detect > tick:
                break
            n += 1
        shown = q if n == len(q) else deque(itertools.islice(q, n))
        self.unread = []
        for rec in reversed(shown):
            if rec.n_cand < 0:
                continue
            if rec.t_snap <= tick:
                break
            self.unread.append((rec, rec.n_cand))
            rec.n_cand = -1
        self.closed = core.closed[b]
        core.queues[b] = shown
        core.closed[b] = tick >= core.end_tick

    def __exit__(self, *exc) -> None:
        core, b = self.core, self.b
        core.queues[b] = self.queue
        for rec, n in self.unread:
            rec.n_cand = n
        core.closed[b] = self.closed


@numba.njit(cache=True, nogil=True)
def _any_waiting(head_t, tick, delay, shut) -> bool:
    """Some store is open and has no event yet or its head was detected less than
    ``delay`` ticks ago."""
    for b in range(head_t.size):
        if not shut[b] and head_t[b] > tick[b] - delay:
            return True
    return False


@numba.njit(cache=True, nogil=True)
def _scan(now, shut, closed, next_snap, head_t, delay, present, staff, end_tick, grace_ticks, out):
    """After a tick's booking: the open stores due to close or shut (where
    ``AttributionCore._close_if_due`` acts: open at closing time; closed with no customer
    inside or past the grace) in ``out[0]``, the open stores with a read-out due in
    ``out[1]``; returns their counts and ``_any_waiting`` (as things stand before any
    store closes)."""
    B, S = present.shape
    n_close = n_read = 0
    for b in range(B):
        if shut[b]:
            continue
        if next_snap[b] <= now[b]:
            out[1, n_read] = b
            n_read += 1
        due = now[b] >= end_tick
        if closed[b] and now[b] < end_tick + grace_ticks:
            for s in range(S):
                if present[b, s] and not staff[b, s]:
                    due = False  # a customer is still inside
                    break
        if due:
            out[0, n_close] = b
            n_close += 1
    return n_close, n_read, _any_waiting(head_t, now, delay, shut)


class AttributionVectorEnv(VectorEnv):
    """B Attribution stores as one batch (see the module docstring for the step semantics).

    ``preset``, ``config`` and ``bank`` are ``AttributionEnv``'s; ``oracle_info=True`` adds
    ``info["oracle_action"]``.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int = 1,
        preset: str = "medium",
        config: Mapping[str, Any] | None = None,
        oracle_info: bool = False,
        render_mode: str | None = None,
        bank: Any = None,
        **old: Any,
    ):
        refuse_old_kwargs("AttributionVectorEnv", old)
        refuse_vector_render(render_mode, "AttributionEnv")
        self.num_envs = check_count("num_envs", num_envs, hi=MAX_NUM_ENVS)
        self.preset = preset
        self.config, store = parse_config(preset, config)
        self.render_mode = None
        self.oracle_info = bool(oracle_info)
        self.core: BatchAttributionCore | BankCore = (
            BatchAttributionCore(self.config, store, self.num_envs)
            if bank is None
            else cast("BankCore", make_core(self.config, store, self.num_envs, bank))
        )
        self.K = self.config.n_candidates
        self._obs = observation_factory(self.core)
        self.single_observation_space = self._obs.space()
        self.single_action_space = spaces.Discrete(self.K + 2)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.episode_seeds = np.zeros(self.num_envs, np.int64)
        self.prev_done = np.zeros(self.num_envs, bool)
        self._obs_buf = {
            k: np.zeros((self.num_envs, *s.shape), np.float32)  # pyright: ignore[reportOptionalIterable]  (Box)
            for k, s in self.single_observation_space.spaces.items()
        }
        self._blank = self._obs.blank()
        self._started = False

    # --- Gymnasium VectorEnv API ----------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        seed = check_seed(seed)
        super().reset(seed=seed)
        B = self.num_envs
        if seed is None:
            seeds = self.core.draw_seeds(self.np_random, B)
        else:
            seeds = seed + np.arange(B)
        return self.start(seeds)

    def step(self, actions):
        return self.step_seeded(actions)

    def reset_done(self):
        """Restart the stores that terminated at the last step, now; returns ``(obs, info)``.

        Their observations become the first of the new episodes; the other stores'
        observations are those of the last step.
        """
        return self.reset_done_seeded()

    # --- the same, with the episode seeds given (``ShardedAttributionEnv``'s workers) -----

    def start(self, seeds: Sequence[int] | np.ndarray):
        """``reset`` with store ``i`` seeded ``seeds[i]``; returns ``(obs, info)``."""
        B = self.num_envs
        self.episode_seeds = np.asarray(seeds, np.int64)
        self.core.reset([int(s) for s in seeds])
        self._started = True
        everyone = np.ones(B, bool)
        self._start_episodes(everyone)
        self.prev_done[:] = False
        return self._observe(everyone), self._info(None, np.zeros(B, bool))

    def step_seeded(self, actions, seeds: Sequence[int] | None = None):
        """``step``, restarting the stores that terminated with ``seeds`` (in store order;
        None: drawn from ``np_random``)."""
        if not self._started:
            raise EpisodeStateError("call reset() before step()")
        a = check_actions(actions, self.num_envs, self.K)
        B, core = self.num_envs, self.core
        restart = self.prev_done.copy()
        reward = np.zeros(B)
        terms = {k: np.zeros(B) for k in REWARD_TERMS}
        idx = np.flatnonzero(~restart)
        if len(idx):
            t = core.decide_batch(idx, a[idx])
            total = 0  # the single env's sum, in its order
            for k in REWARD_TERMS:
                terms[k][idx] = t[k]
                total = total + t[k]
            reward[idx] = total
        self.restart(restart, seeds)
        core.advance()
        self.reroll_empty(restart)
        terminated = ~restart & core.finished_mask()
        core.set_decision_ticks(~restart)
        self.prev_done = terminated
        return (
            self._observe(np.ones(B, bool)),
            reward,
            terminated,
            np.zeros(B, bool),
            self._info(terms, terminated),
        )

    def reset_done_seeded(self, seeds: Sequence[int] | None = None):
        """``reset_done``, restarting with ``seeds`` (in store order; None: drawn)."""
        restart = self.prev_done.copy()
        if restart.any():
            self.restart(restart, seeds)
            self.core.advance()
            self.reroll_empty(restart)
            self.prev_done[:] = False
        return self._observe(restart), self._info(None, np.zeros(self.num_envs, bool))

    # --- episodes -----------------------------------------------------------
    def restart(self, which: np.ndarray, seeds: Sequence[int] | np.ndarray | None) -> None:
        idx = np.flatnonzero(which)
        if seeds is None:  # drawn after the actions were checked, as before
            if not len(idx):  # (drawing none would not move np_random either)
                return
            seeds = self.core.draw_seeds(self.np_random, len(idx))
        if len(idx) != len(seeds):
            raise ValueError(f"{len(idx)} stores restart but {len(seeds)} seeds were given")
        if len(idx):
            self.episode_seeds[idx] = seeds
            self.core.reset_stores(idx, [int(s) for s in seeds])

    def _start_episodes(self, which: np.ndarray) -> None:
        self.core.advance()
        self.reroll_empty(which)

    def reroll_empty(self, which: np.ndarray) -> None:
        """A fresh store that saw no event at all is run again with another seed, drawn
        (as ``AttributionEnv.reset`` does) from ``np_random(episode seed)``."""
        core = self.core
        gens: dict[int, np.random.Generator] = {}
        for _ in range(MAX_EMPTY_RESETS):
            empty = which & core.finished_mask()
            if not empty.any():
                core.set_decision_ticks(which)
                return
            idx = np.flatnonzero(empty)
            seeds = []
            for b in idx.tolist():
                if b not in gens:
                    gens[b] = seeding.np_random(int(self.episode_seeds[b]))[0]
                seeds.append(draw_seed(gens[b]))
            core.reset_stores(idx, seeds)
            core.advance()
        raise ConfigError(
            f"{MAX_EMPTY_RESETS} stores in a row produced no event; the "
            f"scenario is too quiet for episode_s={self.config.episode_s}"
        )

    # --- observations, infos, actions ----------------------------------------
    def _observe(self, which: np.ndarray) -> dict[str, np.ndarray]:
        """Refresh the observation of stores ``which`` (blank if finished) and return the batch's."""
        core, buf = self.core, self._obs_buf
        if hasattr(self._obs, "observe_into"):  # a bank replay, compiled
            self._obs.observe_into(np.flatnonzero(which), buf)  # pyright: ignore[reportAttributeAccessIssue]  (hasattr)
            return {k: v.copy() for k, v in buf.items()}
        finished = core.finished_mask()
        live = np.flatnonzero(which & ~finished).tolist()
        with contextlib.ExitStack() as stack:
            if isinstance(core, BatchAttributionCore):  # a banked core shows its decision
                for b in live:
                    stack.enter_context(core.as_of(b, int(core.dec_tick[b])))
            obs = self._obs.observe_many(live)
        for k, v in obs.items():
            buf[k][live] = v
            buf[k][which & finished] = self._blank[k]
        return {k: v.copy() for k, v in buf.items()}

    def _info(self, terms: dict | None, terminated: np.ndarray) -> dict[str, Any]:
        core, B = self.core, self.num_envs
        mask, index = core.heads(range(B))
        info: dict[str, Any] = {
            "rewards": terms or {k: np.zeros(B) for k in REWARD_TERMS},
            "action_mask": mask,
            "event_index": index,
            "time_s": core.dec_tick / core.hz,
            "review_credit": core.credit.copy(),
        }
        if self.oracle_info:
            info["oracle_action"] = core.oracle_actions(range(B))
        if terminated.any():
            receipts: dict[str, np.ndarray] = {}
            for b in np.flatnonzero(terminated).tolist():
                for k, v in core.receipts(b).items():
                    receipts.setdefault(k, np.zeros(B))[b] = v
            info["receipts"] = receipts
            info["_receipts"] = terminated.copy()
        return info


def check_actions(actions, n: int, K: int) -> np.ndarray:
    """``n`` store actions as int64, or ``InvalidActionError`` naming the first bad one."""
    a = np.asarray(actions)
    hi = K + 1
    if a.shape != (n,) or not np.issubdtype(a.dtype, np.integer):
        raise InvalidActionError(
            f"actions must be {n} integers in [0, {hi}] (one per store), got {actions!r}"
        )
    bad = (a < 0) | (a > hi)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidActionError(
            f"actions[{i}]={int(a[i])} is out of range: must be in "
            f"[0, {hi}] (charge candidate 0..{K - 1}, "
            f"{K} = no one, {hi} = review)"
        )
    return a.astype(np.int64)
