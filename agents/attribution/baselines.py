"""Baselines for the Attribution task: none, random, nearest track, trajectory heuristic,
Hungarian, oracle.

Heuristics read the event being decided from the env's core through the same
feature functions the ``features`` observation uses, so they work whatever
observation type or wrapper the env has. Only the oracle reads the truth
(``info["oracle_action"]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from retail_env.envs.attribution.core import AttributionCore
from retail_env.envs.attribution.observations import (
    CANDIDATE_FEATURES,
    EVENT_FEATURES,
    event_view,
    neighbour_views,
)

from ..factory import Agent, register_agent

EV = {name: i for i, name in enumerate(EVENT_FEATURES)}
CF = {name: i for i, name in enumerate(CANDIDATE_FEATURES)}


class RandomAgent(Agent):
    """Uniform over the valid actions (real candidates, no one, review while budget lasts)."""

    def __init__(self, env, seed: int | None = None):
        super().__init__(env, seed)
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def act(self, obs, info) -> int:
        return int(self.rng.choice(np.flatnonzero(info["action_mask"])))


class NoOneAgent(Agent):
    """Always "no one": charges nobody (the do-nothing floor; empty baskets still match)."""

    def act(self, obs, info) -> int:
        return len(info["action_mask"]) - 2


class OracleAgent(Agent):
    """Sees the truth: the best action for every event (the ceiling)."""

    def act(self, obs, info) -> int:
        return int(info["oracle_action"])


class _CoreAgent(Agent):
    """Helpers for agents that read the decided event's features from the core.

    ``env`` is an attribution env (any wrappers) or an ``AttributionCore`` of B stores;
    ``info["store"]`` says which store's event is being decided.
    """

    def __init__(self, env: Any, seed: int | None = None):
        super().__init__(env, seed)
        self.core = env if isinstance(env, AttributionCore) else env.unwrapped.core
        self.K = self.core.K
        self.no_one, self.review = self.K, self.K + 1

    def view(self, b: int):
        rec = self.core.head(b)
        if rec is None:
            return None, None, None
        return (rec, *event_view(self.core, b, rec))


class NearestTrackAgent(_CoreAgent):
    """Charge the track that came closest to the plate during the event."""

    def act(self, obs, info) -> int:
        rec = self.core.head(info.get("store", 0))
        return 0 if rec is not None and rec.n_cand else self.no_one


class TrajectoryAgent(_CoreAgent):
    """Score candidates by their whole trajectory around the event; review when unsure.

    score = linear in the candidate features (``WEIGHTS``: a conditional-logit fit of
    the oracle's choices on training seeds 0-5 of easy/medium/hard/crowded, never on
    evaluation seeds). No one when nobody came within ``reach_m``, the weight change is
    under one item, it is a put-back and no candidate has anything on its receipt, or it
    is a "pick" that undoes a recent equal "put" on the plate (a resting hand lifting).
    Review (budget permitting) when the best candidate's softmax share is under ``sure``.
    """

    WEIGHTS = {
        "d_min_m": -0.75,
        "d_mean_m": 1.2,
        "leave_m": 1.0,
        "stay_s": 0.15,
        "dwell": 3.6,
        "visible": -3.5,
        "approach_mps": -0.85,
        "gap_to_best_m": -0.75,
        "busy_elsewhere": -0.65,
    }
    HOLDS_WEIGHT = 2.3  # put-backs: the candidate's receipt holds the plate's product

    def __init__(self, env, seed: int | None = None, reach_m: float = 1.5, sure: float = 0.6):
        super().__init__(env, seed)
        self.reach_m, self.sure = reach_m, sure
        self.w = np.zeros(len(CANDIDATE_FEATURES))
        for name, v in self.WEIGHTS.items():
            self.w[CF[name]] = v

    def scores(self, putback: bool, cf: np.ndarray, n: int) -> np.ndarray:
        c = cf[:n]
        s = c @ self.w
        if putback:
            s += self.HOLDS_WEIGHT * (c[:, CF["holds_product"]] > 0)
            s[c[:, CF["receipt_items"]] <= 0] = -np.inf  # nothing to put back
        return s

    def decide(
        self, ev: np.ndarray, cf: np.ndarray, score: np.ndarray, n: int, choice: int | None = None
    ) -> int:
        if n == 0 or ev[EV["qty_zero"]] > 0 or not np.isfinite(score).any():
            return self.no_one
        if ev[EV["is_putback"]] == 0 and ev[EV["undoes_recent"]] > 0:
            return self.no_one  # a hand that rested on the plate lifting off
        best = int(np.argmax(score)) if choice is None else choice
        if best == self.no_one or cf[best, CF["d_min_m"]] > self.reach_m:
            return self.no_one
        p = np.exp(score - score[np.isfinite(score)].max())
        share = p[best] / p.sum()
        if share < self.sure and ev[EV["review_available"]] > 0:
            return self.review
        return best

    def act(self, obs, info) -> int:
        rec, ev, cf = self.view(info.get("store", 0))
        if rec is None:
            return self.no_one
        assert ev is not None and cf is not None
        return self.decide(ev, cf, self.scores(rec.dw > 0, cf, rec.n_cand), rec.n_cand)


class HungarianAgent(TrajectoryAgent):
    """Assign the events of a time window to tracks jointly (one track, one event at a time).

    The window is the decided event plus every event (queued, or decided in the last
    moments) overlapping it within ``window_s``, on any plate: two events at once are
    two hands. Costs are minus the trajectory scores; "no one" costs ``no_one_cost``
    for each event, so a track is only given the event where it fits best.
    """

    def __init__(
        self, env, seed: int | None = None, window_s: float = 1.0, no_one_cost: float = 5.0, **kw
    ):
        super().__init__(env, seed, **kw)
        self.window_s = window_s
        self.no_one_cost = no_one_cost

    def act(self, obs, info) -> int:
        core, b = self.core, info.get("store", 0)
        rec, ev, cf = self.view(b)
        if rec is None:
            return self.no_one
        assert ev is not None and cf is not None
        n = rec.n_cand
        if n == 0:
            return self.no_one
        score0 = self.scores(rec.dw > 0, cf, n)
        others = [(r, c) for r, c in neighbour_views(core, b, rec, self.window_s) if r.n_cand > 0]
        if not others:
            return self.decide(ev, cf, score0, n)
        rows = [(rec, score0)]
        for r, c in others:
            rows.append((r, self.scores(r.dw > 0, c, r.n_cand)))
        tracks = sorted({int(t) for r, _ in rows for t in r.cand_track[: r.n_cand]})
        col = {t: j for j, t in enumerate(tracks)}
        big = 1e3
        m = np.full((len(rows), len(tracks) + len(rows)), big)
        for i, (r, sc) in enumerate(rows):
            for k in range(r.n_cand):
                if np.isfinite(sc[k]):
                    m[i, col[int(r.cand_track[k])]] = -sc[k]
            m[i, len(tracks) + i] = self.no_one_cost  # "no one" for this event
        ri, ci = linear_sum_assignment(m)
        j = int(ci[np.flatnonzero(ri == 0)[0]])
        if j >= len(tracks):
            choice = self.no_one
        else:
            choice = int(np.flatnonzero(rec.cand_track[:n] == tracks[j])[0])
        return self.decide(ev, cf, score0, n, choice=choice)


BASELINES = {
    "none": NoOneAgent,
    "random": RandomAgent,
    "nearest": NearestTrackAgent,
    "trajectory": TrajectoryAgent,
    "hungarian": HungarianAgent,
    "oracle": OracleAgent,
}
for _name, _cls in BASELINES.items():
    register_agent("attribution", _name, _cls)
