"""Native Gymnasium vector env of the Promotion task: B stores stepped as one batch.

``promotion_core.step`` (and the spatial fidelity's walking store) already serve
B stores, so one ``step`` is one batched period for every store, with no Python
loop over stores. The spatial preset batches too: its B walking stores tick as one
``retail_env.sim.store`` batch (``SpatialFidelity`` over the batch's ``BatchRNG``). Create it with ``gym.make_vec(id, num_envs=B,
vectorization_mode="vector_entry_point")`` or directly.

Seeding: ``reset(seed=s)`` starts store ``i`` exactly as ``PromotionEnv.reset(seed=s + i)``
(store seed = the first draw of ``np_random(s + i)``), so store ``i`` of the batch
equals that single env step for step. ``reset(seed=None)`` and autoresets draw each
store's seed from the vector env's own ``np_random`` (seeded by the last
``reset(seed=...)``), so a seeded run is reproducible; ``episode_seeds`` holds the
seed each store's current episode started from (``PromotionEnv.reset(seed=...)``
with it replays the episode).

Autoreset (``metadata["autoreset_mode"] = NEXT_STEP``, like ``CartPoleVectorEnv``):
Promotion episodes end by truncation after ``n_periods`` periods, the same for
every store, so all stores finish together; the step after that resets them all,
ignores the action and returns the first observation with reward 0 and both flags
False. ``reset_done()`` does that reset at once (the SB3 adapter's same-step mode).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from retail_env.envs.base import refuse_vector_render
from retail_env.envs.promotion import core as core
from retail_env.envs.promotion.env import action_space_for, check_action, play_period
from retail_env.envs.promotion.obs import build_observation, observation_space
from retail_env.envs.seeds import MAX_NUM_ENVS, check_seed
from retail_env.errors import EpisodeStateError
from retail_env.sim.rng import BatchRNG
from retail_env.sim.validation import check_count

SEED_HI = 2**31 - 1  # autoreset seeds are drawn from [0, SEED_HI)


def store_seed(gym_seed: int) -> int:
    """The simulator seed ``PromotionEnv.reset(seed=gym_seed)`` uses (its first np_random draw)."""
    return int(seeding.np_random(int(gym_seed))[0].integers(0, 2**63 - 1))


class PromotionVectorEnv(VectorEnv):
    """B Promotion stores as one batch; observations (B, D) float32, actions (B, A)."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int = 1,
        preset: str = "default",
        config: dict | None = None,
        render_mode: str | None = None,
    ):
        refuse_vector_render(render_mode, "PromotionEnv")
        self.num_envs = check_count("num_envs", num_envs, hi=MAX_NUM_ENVS)
        self.render_mode = None
        self.preset = preset
        self.cfg = core.make_config(preset, config)
        self.params = core.build_params(self.cfg)
        self.single_action_space = action_space_for(self.params)
        self.single_observation_space = observation_space(self.params)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._fidelity = None
        if self.cfg.fidelity == "spatial":
            from retail_env.envs.promotion.spatial import SpatialFidelity

            self._fidelity = SpatialFidelity(self.params)
        self.state: core.PromoState | None = None
        self.rng: BatchRNG | None = None
        self.episode_seeds = np.zeros(self.num_envs, np.int64)
        self.prev_done = np.zeros(self.num_envs, bool)

    # --- Gymnasium VectorEnv API ----------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        seed = check_seed(seed)
        super().reset(seed=seed)
        if seed is None:
            seeds = self.np_random.integers(0, SEED_HI, self.num_envs)
        else:
            seeds = seed + np.arange(self.num_envs)
        self._start(seeds)
        return self._obs(), self._info(None, None)

    def step(self, actions):
        if self.state is None or self.rng is None:  # (set together by reset)
            raise EpisodeStateError("call reset() before step()")
        a = check_action(self.single_action_space, actions, batch=self.num_envs)
        B = self.num_envs
        if self.prev_done.any():  # NEXT_STEP: every store finished together; restart
            obs, info = self.reset_done()
            return obs, np.zeros(B), np.zeros(B, bool), np.zeros(B, bool), info
        rewards, kpis = play_period(self.params, self._fidelity, self.state, a, self.rng)
        # Summed in the single env's order, so each store's reward is bit-identical.
        reward = sum(rewards.values()) * self.cfg.reward_scale
        truncated = np.full(B, self.state.period >= self.params.n_periods)
        self.prev_done = truncated.copy()
        return (
            self._obs(),
            np.asarray(reward, np.float64),
            np.zeros(B, bool),
            truncated,
            self._info(rewards, kpis),
        )

    def reset_done(self):
        """Restart the stores that finished (all of them: they end together) now.

        Returns the batch's ``(obs, info)``. ``step`` calls it for NEXT_STEP autoreset;
        the SB3 adapter calls it right after a done step (same-step autoreset).
        """
        if self.prev_done.any():
            self._start(self.np_random.integers(0, SEED_HI, self.num_envs))
        return self._obs(), self._info(None, None)

    # --- helpers -------------------------------------------------------------
    def _start(self, seeds: np.ndarray) -> None:
        self.episode_seeds = np.asarray(seeds, np.int64)
        self.rng = BatchRNG([store_seed(s) for s in self.episode_seeds])
        self.state = core.init_state(self.params, self.num_envs)
        if self._fidelity is not None:
            self._fidelity.reset(self.rng)
        self.prev_done[:] = False

    def _obs(self) -> np.ndarray:
        assert self.state is not None
        return build_observation(self.params, self.state)

    def _info(self, rewards: dict | None, kpis: dict | None) -> dict[str, Any]:
        """Per-store arrays under the single env's keys (every store has every key)."""
        assert self.state is not None
        B = self.num_envs
        zero = {k: np.zeros(B) for k in core.REWARD_KEYS}
        episode = core.kpis_from(self.state.totals)
        return {
            "rewards": zero
            if rewards is None
            else {k: np.asarray(v, np.float64) for k, v in rewards.items()},
            "kpis": (
                {k: np.zeros(B) for k in episode}
                if kpis is None
                else {k: np.asarray(v, np.float64) for k, v in kpis.items()}
            ),
            "episode_kpis": {k: np.asarray(v, np.float64) for k, v in episode.items()},
            "period": np.full(B, self.state.period, np.int64),
        }
