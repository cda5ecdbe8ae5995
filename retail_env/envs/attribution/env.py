"""Gymnasium env for the Attribution task: charge every detected shelf event to the right shopper.

A thin shell over :mod:`retail_env.envs.attribution.core` with one store (B = 1).
One step = one detected event to decide. See docs/tasks/attribution.md (the env card) for the
observation (every feature named), actions, reward terms, termination and presets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from retail_env.envs.attribution.core import (
    PRESETS,
    REWARD_TERMS,
    AttributionConfig,
    AttributionCore,
)
from retail_env.envs.attribution.observations import observation_factory
from retail_env.envs.base import TaskEnv, preset_config, refuse_old_kwargs
from retail_env.envs.seeds import check_seed, draw_seed
from retail_env.errors import ConfigError, EpisodeStateError, InvalidActionError
from retail_env.render.frame import ABSENT, SHOPPER, STAFF, WRONG, Frame, FrameHeader, make_frame
from retail_env.sim.validation import check_mapping, to_dict

MAX_EMPTY_RESETS = 10
TRAIL_TICKS = (20, 15, 10, 5)  # track trail drawn behind each track (ticks ago)


class AttributionEnv(TaskEnv):
    """Decide who took what, one detected shelf event at a time.

    Actions (``Discrete(K + 2)``): ``k < K`` charge candidate track ``k`` (sorted by
    distance to the plate); ``K`` = no one (noise, staff, touch); ``K + 1`` = review
    (a human checks the video: the truth is applied, at a cost; refused beyond the budget).

    ``preset``: a row of ``PRESETS`` (a simulator scenario, ``raw`` or ``promo``);
    ``config``: a nested mapping over it: any :class:`AttributionConfig` field
    (``observation`` may be ``"features"``, ``"features_context"``, ``"raw"``,
    ``"features_raw"`` or ``{"type": ..., "raw_ticks": ...}``; ``reward`` the term weights) and ``store``
    (simulator-config overrides); ``bank``: replay an episode bank instead of simulating.
    """

    task = "attribution"
    render_title = "retail-env attribution"
    frame_sink = None  # RecordEpisode sets a callable: handed a Frame every simulated tick

    def __init__(
        self,
        preset: str = "medium",
        config: Mapping[str, Any] | None = None,
        render_mode: str | None = None,
        bank: Any = None,
        **old: Any,
    ):
        refuse_old_kwargs("AttributionEnv", old)
        super().__init__(render_mode)
        self.preset = preset
        self.config, store = parse_config(preset, config)
        self.core = make_core(self.config, store, 1, bank)
        self._store = store
        self._shadow: _Shadow | None = None  # a banked episode re-simulated for drawing
        self._seed, self._actions = 0, []  # the banked episode and its actions so far
        self.K = self.config.n_candidates
        self.no_one, self.review = self.K, self.K + 1
        self._obs = observation_factory(self.core)
        self.observation_space = self._obs.space()
        self.action_space = spaces.Discrete(self.K + 2)
        self._header: FrameHeader | None = None
        self._right = 0  # decisions that left the receipts right (status bar)

    # --- Gymnasium API ------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        seed = check_seed(seed)
        super().reset(seed=seed)
        sim_seed = seed if seed is not None else self._draw_seed()
        self._right = 0
        for _ in range(MAX_EMPTY_RESETS):
            self.core.reset([sim_seed])
            self._seed, self._actions = sim_seed, []
            self._advance()
            if not self.core.finished(0):
                break
            sim_seed = self._draw_seed()  # a store that saw no event at all: run another
        else:
            raise ConfigError(
                f"{MAX_EMPTY_RESETS} stores in a row produced no event; "
                "the scenario is too quiet for episode_s="
                f"{self.config.episode_s}"
            )
        if self.render_mode == "human":
            self.render()
        return self._obs.observe(0), self._info()

    def step(self, action):
        a = self._check_action(action)
        if self.core.finished(0):
            raise EpisodeStateError("the episode is over: call reset() before step()")
        terms = self.core.decide(0, a)
        self._right += self.core.recent[0][-1][1] != WRONG
        self._actions.append(a)
        self._advance()
        terminated = self.core.finished(0)
        obs = self._obs.blank() if terminated else self._obs.observe(0)
        info = self._info()
        info["rewards"] = terms
        if terminated:
            info["receipts"] = self.core.receipts(0)
        if self.render_mode == "human":
            self.render()  # Gymnasium's convention: human mode draws at every step
        return obs, float(sum(terms.values())), bool(terminated), False, info

    # --- recording (retail_env.render.RecordEpisode: one frame per decision) ---
    def frame_header(self) -> FrameHeader:
        if self._header is None:  # static for the env's life (one store config)
            self._header = frame_header(self.core)
        return self._header

    def current_frame(self) -> Frame:
        return frame(self._view_core(), self.frame_header(), 0, right=self._right)

    def _advance(self) -> None:
        """Run the store to its next decision; with a ``frame_sink``, draw every tick (a
        banked episode: its re-simulation does, in step with the actions)."""
        core, sink = self.core, self.frame_sink
        if getattr(core, "bank", None) is not None:
            if sink is not None:
                self._view_core()
            return
        if sink is None:
            core.advance()
            return
        while not core.ready(0) and not core.shut[0]:  # core.advance, a tick at a time
            core.tick()
            sink(self.current_frame())

    def _view_core(self) -> AttributionCore:
        """The core to draw: the live one, or for a banked episode its re-simulation (the
        simulator is deterministic, so it is the episode the bank holds)."""
        if getattr(self.core, "bank", None) is None:
            return self.core
        if (
            self._shadow is None
            or self._shadow.seed != self._seed
            or self._shadow.env.frame_sink is not self.frame_sink
        ):
            self._shadow = _Shadow(self.config, self._store, self._seed, self.frame_sink)
        return self._shadow.catch_up(self._actions)

    # --- helpers ------------------------------------------------------------
    def _draw_seed(self) -> int:
        if getattr(self.core, "bank", None) is not None:
            return int(self.core.draw_seeds(self.np_random, 1)[0])
        return draw_seed(self.np_random)

    def _check_action(self, action) -> int:
        a = np.asarray(action)
        if a.size != 1 or not (np.issubdtype(a.dtype, np.integer) and a.dtype != np.bool_):
            raise InvalidActionError(
                f"action must be one integer in [0, {self.K + 1}] "
                f"(charge candidate 0..{self.K - 1}, {self.no_one} = no one, "
                f"{self.review} = review), got {action!r}"
            )
        a = int(a.reshape(()))
        if not 0 <= a <= self.K + 1:
            raise InvalidActionError(
                f"action={a} is out of range: must be in [0, {self.K + 1}] "
                f"(charge candidate 0..{self.K - 1}, {self.no_one} = no one, "
                f"{self.review} = review)"
            )
        return a

    def action_mask(self) -> np.ndarray:
        """(K + 2,) int8: 1 for real candidates, no one, and review while the budget allows."""
        return self.core.action_mask(0)

    def _info(self) -> dict[str, Any]:
        return self.core.decision_info(0)


def episode_record(receipts: dict, rewards: dict[str, float]) -> dict[str, float]:
    """One episode's metrics: its receipts, its ``return`` and each reward term's sum
    (``reward_<term>``, weighted as the env's reward)."""
    return {
        **{k: float(v) for k, v in receipts.items()},
        "return": float(sum(rewards.values())),
        **{f"reward_{k}": float(rewards.get(k, 0.0)) for k in REWARD_TERMS},
    }


def episode_metrics(info: dict, total: float, terms: dict[str, float]) -> dict[str, float]:
    """The task table's episode metrics: ``episode_record`` of the last step's receipts."""
    return episode_record(info["receipts"], terms)


def parse_config(preset: str, config: Mapping[str, Any] | None) -> tuple[AttributionConfig, dict]:
    """The task config and the checked ``store`` overrides of ``preset`` + ``config`` (a
    bad preset, key, type or value raises ConfigError naming it)."""
    data = check_mapping("config", config)
    store = check_mapping("config['store']", data.pop("store", None))
    observation = data.get("observation")
    if isinstance(observation, str):
        data["observation"] = {"type": observation}
    elif observation is not None and not isinstance(observation, Mapping):
        raise ConfigError(
            f"config['observation']={observation!r} has the wrong type "
            f"({type(observation).__name__}): must be 'features', "
            "'features_context', 'raw' or a mapping like "
            "{'type': 'raw', 'raw_ticks': 50}"
        )
    return preset_config(AttributionConfig, PRESETS, preset, data), store


def make_core(
    cfg: AttributionConfig, store: Mapping[str, Any] | None, batch: int, bank: Any = None
) -> AttributionCore:
    """The task core: live (``BatchAttributionCore`` for a batch), or replaying ``bank``
    (a bank directory or ``retail_env.bank.Bank``)."""
    if bank is not None:
        from retail_env.bank.core import BankCore

        return BankCore(cfg, store, batch, bank)
    if batch == 1:
        return AttributionCore(cfg, store)
    from retail_env.envs.attribution.vector import BatchAttributionCore

    return BatchAttributionCore(cfg, store, batch)


class _Shadow:
    """A banked episode re-simulated by a live env, for drawing: reset with the episode's
    seed (empty-store redraws included), then the actions taken so far, applied when a
    frame is asked for."""

    def __init__(
        self, cfg: AttributionConfig, store: Mapping[str, Any] | None, seed: int, sink=None
    ):
        self.env = AttributionEnv(cfg.scenario, {**to_dict(cfg), "store": store})
        self.env.frame_sink = sink
        self.env.reset(seed=seed)
        self.seed, self.done = seed, 0

    def catch_up(self, actions: list[int]) -> AttributionCore:
        for a in actions[self.done :]:
            self.env.step(a)
        self.done = len(actions)
        return self.env.core


def frame_header(core: AttributionCore) -> FrameHeader:
    """The static part of a drawing of the store."""
    p = core.sim.params
    truth = np.asarray(p.planogram_truth)
    return FrameHeader(
        grid=p.layout.grid,
        cell_m=p.layout.cell_m,
        plate_cell=p.layout.plate_cell,
        plate_category=np.asarray(p.catalog.category)[truth],
        plate_product=truth,
        category_names=p.catalog.category_names,
        product_names=p.catalog.name,
        task="attribution",
        tick_hz=core.hz,
    )


def frame(core: AttributionCore, header: FrameHeader, b: int, right: int = 0) -> Frame:
    """Store ``b`` now: shoppers and tracks, the event being decided, recent decisions;
    ``right`` = decisions so far that left the receipts right (reviews included)."""
    st, sens, p = core.sim.state, core.sim.state.sensors, core.sim.params
    kind = np.where(~st.present[b], ABSENT, np.where(st.staff[b], STAFF, SHOPPER))
    tracks, _ = core.sim.track_window(b)
    H = tracks.shape[1]
    flash = np.zeros(p.n_plates)
    rec = core.head(b)
    if rec is not None:
        flash[rec.plate] = 1.0
    now = core.now(b)
    # a decision is taken decision_delay_s after its event's detection (or at the close)
    dec = [
        (r.plate, outcome, max(0, now - r.t_detect - core.delay_ticks))
        for r, outcome in core.recent[b]
    ]
    return make_frame(
        header,
        now / core.hz,
        shopper_pos=st.pos[b],
        shopper_kind=kind,
        shopper_account=st.account[b],
        track_pos=sens.track_pos[b],
        track_account=sens.track_account[b],
        track_trail=tracks[:, [H - 1 - t for t in TRAIL_TICKS]],
        plate_stock_frac=st.plate_count[b] / p.planogram.capacity,
        plate_event=flash,
        decisions=np.array(dec, np.int64).reshape(-1, 3),
        status={
            "n_in_store": core.sim.n_inside(b),
            "decisions_right": right,
            "decisions": core.stats[b]["decisions"],
            "reviews": core.stats[b]["reviews"],
        },
    )
