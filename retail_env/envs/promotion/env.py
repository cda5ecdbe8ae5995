"""Gymnasium env for the Promotion task: set discounts and member offers to maximise profit.

A thin shell over ``promotion.core`` (one store, B = 1); ``promotion.spatial`` plays
periods in the walking store instead. docs/tasks/promotion.md (the env card) lists the
observation, action, reward terms, KPIs and presets.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from retail_env.envs.base import TaskEnv
from retail_env.envs.promotion import core as core
from retail_env.envs.promotion.obs import build_observation, observation_space
from retail_env.envs.promotion.render import PromotionView
from retail_env.envs.seeds import check_seed
from retail_env.errors import EpisodeStateError, InvalidActionError
from retail_env.render.draw import ALL_LAYERS, Layer
from retail_env.sim.rng import BatchRNG
from retail_env.sim.validation import to_dict


def action_space_for(params: core.PromoParams) -> spaces.Space:
    cfg, u = params.config, params.n_units
    if cfg.action == "continuous":
        return spaces.Box(-1.0, 1.0, shape=(u,), dtype=np.float32)
    nvec = [len(cfg.discount_levels)] * u + ([2] * u if cfg.member_offers else [])
    return spaces.MultiDiscrete(np.array(nvec, dtype=np.int64))


def check_action(space: spaces.Space, action: Any, batch: int | None = None) -> np.ndarray:
    """The action as an array (B, A), or InvalidActionError saying what is wrong."""
    a = np.asarray(action)
    shape = space.shape if batch is None else (batch, *space.shape)  # pyright: ignore[reportOptionalIterable]  (Box)
    if a.shape != shape:
        raise InvalidActionError(f"action has shape {a.shape}, expected {shape} ({space})")
    if a.dtype.kind not in "iuf":  # no strings, bools, complex or objects
        raise InvalidActionError(f"action must hold real numbers, got dtype {a.dtype}: {action!r}")
    if isinstance(space, spaces.MultiDiscrete):
        if a.dtype.kind == "f" and not np.all(np.isfinite(a) & (a == np.round(a))):
            raise InvalidActionError(f"action must hold integers, got {action!r}")
        bad = (a < 0) | (a >= space.nvec)  # compared as given, before any cast
        if bad.any():
            i = tuple(int(x) for x in np.argwhere(bad)[0])
            raise InvalidActionError(
                f"action{list(i)}={a[i].item()!r} is out of range: must be in "
                f"[0, {space.nvec[i[-1]] - 1}] ({space})"
            )
        a = a.astype(np.int64)
    else:
        a = a.astype(np.float64)
        if not np.all(np.isfinite(a)) or np.any(np.abs(a) > 1.0 + 1e-6):
            raise InvalidActionError(f"action must be finite and in [-1, 1], got {a!r}")
        a = np.clip(a, -1.0, 1.0)
    return a.reshape(batch or 1, -1)


def decode(params: core.PromoParams, a: np.ndarray):
    if params.config.action == "continuous":
        return core.prices_from_continuous(params, a)
    return core.prices_from_discrete(params, a)


def play_period(
    params: core.PromoParams, fidelity, state: core.PromoState, a: np.ndarray, rng: BatchRNG
):
    """Play one period of every store in ``state`` with checked actions ``a``, in the
    aggregate fidelity or the walking store (``fidelity``): ``(rewards, kpis)``."""
    seg_price, depth, member_only = decode(params, a)
    if fidelity is None:
        return core.step(state, seg_price, depth, member_only, params, rng)
    return fidelity.step(state, seg_price, depth, member_only, rng)


def episode_metrics(info: dict, total: float, terms: dict[str, float]) -> dict[str, float]:
    """The task table's episode metrics: the summed reward and the episode's KPIs."""
    return {"return": total, **{k: float(v) for k, v in info["episode_kpis"].items()}}


class PromotionEnv(TaskEnv):
    """One store, one step per trading period; reward = profit of the period.

    ``gym.make("RetailStore/Promotion-v1", config={"episode_days": 7})`` overrides the
    preset's config (nested dict, validated: bad keys raise ConfigError).
    """

    task = "promotion"
    render_title = "retail-env: promotion"
    # Camera tracks and event flashes matter to attribution only; here they would
    # just double the shoppers and blink over the price tags.
    render_layers = ALL_LAYERS & ~(Layer.TRACKS | Layer.EVENTS)

    def __init__(
        self, preset: str = "default", config: dict | None = None, render_mode: str | None = None
    ):
        super().__init__(render_mode)
        self.preset = preset
        self.cfg = core.make_config(preset, config)
        self.params = core.build_params(self.cfg)
        self.action_space = action_space_for(self.params)
        self.observation_space = observation_space(self.params)
        self._fidelity = None
        if self.cfg.fidelity == "spatial":
            from retail_env.envs.promotion.spatial import SpatialFidelity

            self._fidelity = SpatialFidelity(self.params)
        self._view: PromotionView | None = None
        self.state: core.PromoState | None = None
        self.rng: BatchRNG | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=check_seed(seed))
        store_seed = int(self.np_random.integers(0, 2**63 - 1))
        self.rng = BatchRNG([store_seed])
        self.state = core.init_state(self.params, 1)
        if self._fidelity is not None:
            self._fidelity.reset(self.rng)
        if self.render_mode == "human":
            self.render()  # Gymnasium's convention: human mode draws at reset and every step
        return self._obs(), self._info(None, None)

    def step(self, action):
        if self.state is None or self.rng is None:  # (set together by reset)
            raise EpisodeStateError("call reset() before step()")
        a = check_action(self.action_space, action)
        if self.state.period >= self.params.n_periods:
            raise EpisodeStateError(
                f"the episode is over (truncated after {self.params.n_periods} "
                "periods): call reset() before step()"
            )
        rewards, kpis = play_period(self.params, self._fidelity, self.state, a, self.rng)
        reward = float(sum(r[0] for r in rewards.values())) * self.cfg.reward_scale
        truncated = self.state.period >= self.params.n_periods
        if self.render_mode == "human":
            self.render()
        return self._obs(), reward, False, bool(truncated), self._info(rewards, kpis)

    def _obs(self) -> np.ndarray:
        assert self.state is not None
        return build_observation(self.params, self.state)[0]

    def _info(self, rewards, kpis) -> dict:
        assert self.state is not None
        zero = {k: 0.0 for k in core.REWARD_KEYS}
        return {
            "rewards": zero if rewards is None else {k: float(v[0]) for k, v in rewards.items()},
            "kpis": (
                {k: 0.0 for k in core.kpis_from(self.state.totals)}
                if kpis is None
                else {k: float(v[0]) for k, v in kpis.items()}
            ),
            "episode_kpis": {k: float(v[0]) for k, v in core.kpis_from(self.state.totals).items()},
            "period": self.state.period,
        }

    # --- recording (retail_env.render.RecordEpisode: one frame per period) ---
    def frame_header(self):
        return self._frames().header

    def current_frame(self):
        assert self.state is not None, "call reset() before drawing a frame"
        return self._frames().frame(self.state)

    def _frames(self) -> PromotionView:
        if self._view is None:
            self._view = PromotionView(self.params, spatial=self._fidelity)
        return self._view

    def config_dict(self) -> dict:
        """The full resolved config (JSON-able)."""
        return to_dict(self.cfg)
