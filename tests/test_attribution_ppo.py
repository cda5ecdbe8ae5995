"""A short PPO run learns the attribution task: its reward rises over training (< 2 min)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import retail_env  # noqa: F401  (registers the ids)

N_STEPS, ROLLOUTS = 128, 16


def test_ppo_reward_rises():
    torch = pytest.importorskip("torch")
    sb3 = pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.callbacks import BaseCallback

    torch.set_num_threads(1)

    class RolloutRewards(BaseCallback):
        def __init__(self):
            super().__init__()
            self.means: list[float] = []

        def _on_rollout_end(self) -> None:
            self.means.append(float(np.mean(self.model.rollout_buffer.rewards)))

        def _on_step(self) -> bool:
            return True

    # the lunch rush: the most decisions per simulated second, so the run stays short
    env = gym.make(
        "RetailStore/Attribution-Crowded-v0", config={"episode_s": 120.0, "close_grace_s": 60.0}
    )
    model = sb3.PPO(
        "MultiInputPolicy",
        env,
        n_steps=N_STEPS,
        batch_size=64,
        n_epochs=5,
        learning_rate=1e-3,
        seed=0,
        device="cpu",
    )
    rewards = RolloutRewards()
    model.learn(N_STEPS * ROLLOUTS, callback=rewards)
    first, last = np.mean(rewards.means[:3]), np.mean(rewards.means[-3:])
    assert len(rewards.means) == ROLLOUTS
    assert last > first + 0.5, f"reward per decision went {first:.2f} -> {last:.2f}"
