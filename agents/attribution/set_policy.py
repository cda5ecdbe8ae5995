"""A set-structured actor-critic policy for the Attribution task (SB3 PPO, A2C, MaskablePPO).

Candidates are a set, so every candidate slot is scored by the same weights: each slot's
features are embedded with the event context, then one self-attention layer lets every
candidate see the others (padded slots are masked out as keys) and an always-present
*context token* (the event) see them all. A slot's logit comes from its own token; the
"no one" and "review" logits from the context token. Padded slots and a review the budget
refuses get logit ``MASKED`` (probability exactly 0), read from the observation itself
(``mask`` and the event feature ``review_available``), so plain PPO and A2C never choose
them either; MaskablePPO applies ``info["action_mask"]`` on top (the same mask).

With ``features_context`` a slot also holds its candidate's context columns; with
``features_raw`` also its track, tick by tick (x, y, distance to the plate, seen), and the
event token the plate's weight streams.

Permuting the real candidate slots permutes their logits and leaves the rest unchanged
(tests/test_set_policy.py). ``SetPolicy`` and ``MaskableSetPolicy`` share parameter
names, so weights trained by one (or by imitation, agents/attribution/imitation.py) load into the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np
import torch
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from retail_env.envs.attribution.observations import EVENT_FEATURES

MASKED = -1e8  # logit of an action that must never be chosen (exp underflows to 0)
REVIEW_AVAILABLE = EVENT_FEATURES.index("review_available")


TRACK_SERIES = 4  # per tick of a candidate's track: x, y, distance to the plate, seen


def _width(space: gym.spaces.Dict, key: str) -> int:
    shape = space[key].shape if key in space.spaces else None
    return int(np.prod(shape)) if shape is not None else 0


def slot_features(space: gym.spaces.Dict) -> int:
    """Features per candidate slot: ``candidates``, with ``features_context`` its ``context``
    columns, with ``features_raw`` also its track series (TRACK_SERIES per tick)."""
    K = space["candidates"].shape[0]  # pyright: ignore[reportOptionalSubscript]  (Box: shape is set)
    per_tick = TRACK_SERIES * _width(space, "track_seen") // K
    return (_width(space, "candidates") + _width(space, "context")) // K + per_tick


def event_features(space: gym.spaces.Dict) -> int:
    """Event width: ``event``, with ``features_raw`` also the weight streams and ``window``."""
    return sum(_width(space, k) for k in ("event", "weights", "window"))


class SetObsExtractor(BaseFeaturesExtractor):
    """The ``features`` (or ``features_context``) observation as one vector ``[event,
    slots (K*F), mask]``, a slot being its candidate's features (and context columns): the
    order :class:`CandidateSetNet` splits it in (SB3 sorts Dict keys, so it is fixed here)."""

    def __init__(self, observation_space: gym.spaces.Dict):
        missing = {"event", "candidates", "mask"} - set(observation_space.spaces)
        if missing:
            raise ValueError(
                f"the set policy needs the 'features' observation (keys event, "
                f"candidates, mask); this one lacks {sorted(missing)}"
            )
        K, F = observation_space["candidates"].shape[0], slot_features(observation_space)  # pyright: ignore[reportOptionalSubscript]  (Box: shape is set)
        super().__init__(observation_space, event_features(observation_space) + K * F + K)
        self.keys = set(observation_space.spaces)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        slots, event = [obs["candidates"]], [obs["event"]]
        if "context" in self.keys:
            slots.append(obs["context"])
        if "tracks" in self.keys:  # features_raw: each candidate's track, tick by tick
            seen, xy = obs["track_seen"], obs["tracks"]
            slots += [xy[..., 0], xy[..., 1], torch.linalg.vector_norm(xy, dim=-1), seen]
            event += [obs["weights"].flatten(1), obs["window"]]
        return torch.cat([*event, torch.cat(slots, dim=2).flatten(1), obs["mask"]], dim=1)


def _mlp(n_in: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())


class CandidateSetNet(nn.Module):
    """Features ``[event, candidates, mask]`` -> (K + 2 action logits, value latent).

    Stands in SB3's ``mlp_extractor`` slot: ``latent_dim_pi`` is K + 2 (the logits, with an
    identity ``action_net``), ``latent_dim_vf`` the hidden size (SB3's ``value_net`` on top).
    """

    def __init__(
        self, n_event: int, n_slots: int, n_cand_features: int, hidden: int = 64, heads: int = 4
    ):
        super().__init__()
        self.E, self.K, self.F = n_event, n_slots, n_cand_features
        self.latent_dim_pi, self.latent_dim_vf = n_slots + 2, hidden
        self.event_net = _mlp(n_event, hidden)
        self.cand_net = _mlp(n_cand_features + hidden, hidden)
        self.attn = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.norm = nn.LayerNorm(hidden)
        self.slot_head = nn.Sequential(
            nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1)
        )
        self.ctx_head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2))
        self.value_net = _mlp(2 * hidden, hidden)

    def _split(self, x: torch.Tensor):
        E, K, F = self.E, self.K, self.F
        return x[:, :E], x[:, E : E + K * F].reshape(-1, K, F), x[:, E + K * F :] > 0.5

    def _tokens(self, x: torch.Tensor):
        """Context and candidate tokens after attention, the slot mask and the event."""
        event, cand, mask = self._split(x)
        ctx = self.event_net(event)  # (B, H)
        c = self.cand_net(torch.cat([cand, ctx[:, None].expand(-1, self.K, -1)], dim=2))
        tokens = torch.cat([ctx[:, None], c], dim=1)  # (B, 1 + K, H)
        pad = torch.cat([torch.zeros_like(mask[:, :1]), ~mask], dim=1)  # context always valid
        seen, _ = self.attn(tokens, tokens, tokens, key_padding_mask=pad, need_weights=False)
        out = self.norm(tokens + seen)
        return out[:, 0], out[:, 1:], mask, event

    def forward_actor(self, x: torch.Tensor) -> torch.Tensor:
        ctx, cand, mask, event = self._tokens(x)
        return self._logits(ctx, cand, mask, event)

    def _logits(self, ctx, cand, mask, event) -> torch.Tensor:
        slot = self.slot_head(torch.cat([cand, ctx[:, None].expand_as(cand)], dim=2))[..., 0]
        slot = slot.masked_fill(~mask, MASKED)
        no_one, review = self.ctx_head(ctx).unbind(1)
        review = review.masked_fill(event[:, REVIEW_AVAILABLE] < 0.5, MASKED)
        return torch.cat([slot, no_one[:, None], review[:, None]], dim=1)

    def _value(self, ctx, cand, mask) -> torch.Tensor:
        m = mask[..., None].float()
        pooled = (cand * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.value_net(torch.cat([ctx, pooled], dim=1))

    def forward_critic(self, x: torch.Tensor) -> torch.Tensor:
        ctx, cand, mask, _ = self._tokens(x)
        return self._value(ctx, cand, mask)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ctx, cand, mask, event = self._tokens(x)
        return self._logits(ctx, cand, mask, event), self._value(ctx, cand, mask)


if TYPE_CHECKING:  # what the mixin extends (object at run time: SB3 needs the policy last)
    _PolicyBase = ActorCriticPolicy
else:
    _PolicyBase = object


class _SetMixin(_PolicyBase):
    """Swaps SB3's MLP extractor for :class:`CandidateSetNet` and its action layer for the
    identity (the net outputs the logits). ``set_kwargs``: ``hidden``, ``heads``."""

    def __init__(
        self,
        observation_space,
        action_space,
        lr_schedule,
        *args,
        set_kwargs: dict | None = None,
        **kwargs,
    ):
        n = action_space.n if isinstance(action_space, gym.spaces.Discrete) else None
        K = (
            observation_space["candidates"].shape[0]
            if "candidates" in observation_space.spaces
            else None
        )
        if n is None or K is None or n != K + 2:
            raise ValueError(
                f"the set policy plays Discrete(K + 2) with a 'features' observation; "
                f"got {action_space} and observation keys "
                f"{sorted(observation_space.spaces)}"
            )
        self.set_kwargs = dict(set_kwargs or {})
        kwargs.setdefault("features_extractor_class", SetObsExtractor)
        super().__init__(observation_space, action_space, lr_schedule, *args, **kwargs)

    def _build_mlp_extractor(self) -> None:
        space = self.observation_space
        assert isinstance(space, gym.spaces.Dict)
        K, F = space["candidates"].shape[0], slot_features(space)  # pyright: ignore[reportOptionalSubscript]  (Box: shape is set)
        self.mlp_extractor = CandidateSetNet(event_features(space), K, F, **self.set_kwargs)

    def _build(self, lr_schedule) -> None:
        super()._build(lr_schedule)
        self.action_net = nn.Identity()
        for head in (self.mlp_extractor.slot_head[-1], self.mlp_extractor.ctx_head[-1]):
            assert isinstance(head, nn.Linear)
            nn.init.orthogonal_(head.weight, gain=0.01)  # near-uniform first policy
            nn.init.zeros_(head.bias)
        self.optimizer = self.optimizer_class(
            self.parameters(),
            lr=lr_schedule(1),  # pyright: ignore[reportCallIssue]  (as SB3's own _build)
            **self.optimizer_kwargs,
        )

    def _get_constructor_parameters(self) -> dict:
        return {**super()._get_constructor_parameters(), "set_kwargs": self.set_kwargs}


class SetPolicy(_SetMixin, ActorCriticPolicy):
    """The set policy for PPO and A2C (and the imitation learners)."""


class MaskableSetPolicy(_SetMixin, MaskableActorCriticPolicy):
    """The set policy for sb3-contrib's MaskablePPO."""
