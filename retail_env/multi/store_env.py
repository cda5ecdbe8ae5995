"""The whole store as a two-role game: a manager sets prices, a checkout charges the crowds.

A PettingZoo AEC env over one walking store (the Attribution task's store and core),
because the roles act on different clocks:

- ``manager`` acts at the start of every pricing period (``promotion.period_h`` of store
  time, while the gate is open) with the Promotion task's discrete action (a discount
  level per product, then a members-only flag per product: ``action_space_for``). The
  period's demand table (prices, end-caps, display lift: ``attribution.promotion_plan``) sets the
  shopping lists of every party that arrives in it.
- ``checkout`` acts at each detected shelf event, exactly as in the Attribution task
  (``Discrete(K + 2)``: a candidate, no one, review; ``info["action_mask"]``).

Rewards. The checkout's is the Attribution reward of its decision. The manager's is
the period's profit (units that left the store times the price the shopper's segment
paid, less unit cost, booked when the period closes or the store shuts) minus
``overcharge_cost`` per item overcharged and ``undercharge_cost`` per item
undercharged (booked at each checkout decision): what the store's checkout errors cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv

from retail_env.envs.attribution.core import AttributionConfig, AttributionCore
from retail_env.envs.attribution.env import frame, frame_header
from retail_env.envs.attribution.observations import observation_factory
from retail_env.envs.attribution.promotion_plan import (
    PromotionDesk,
    PromotionPlanConfig,
    period_table,
    promotion_params,
)
from retail_env.envs.base import FrameRendering, check_render_mode
from retail_env.envs.promotion import core as pcore
from retail_env.envs.promotion.env import action_space_for, check_action
from retail_env.envs.seeds import draw_seed
from retail_env.errors import InvalidActionError
from retail_env.sim import store as sim_store
from retail_env.sim.validation import ConfigError, from_dict

MANAGER, CHECKOUT = "manager", "checkout"
# [A] an overcharged item costs the store a refund and goodwill; a missed one its price
# (about $2 in the c-store catalog): the Attribution reward's 2:1 weighting, in dollars.
OVERCHARGE_COST, UNDERCHARGE_COST = 5.0, 2.5


class RoleActionError(InvalidActionError):
    """An action a role cannot take (names the role and what is allowed)."""


class WholeStoreEnv(FrameRendering, AECEnv):
    """Two roles over one walking store (see the module docstring).

    Keyword arguments: ``scenario`` (sim preset), ``store`` (sim-config overrides),
    ``promotion`` (``period_h`` and the end-cap rule of :class:`PromotionPlanConfig`;
    the manager sets the prices, so ``policy`` must stay ``"none"``), ``overcharge_cost``
    and ``undercharge_cost`` ($ per item), and any :class:`AttributionConfig` field.
    """

    metadata = {
        "render_modes": ["rgb_array", "human"],
        "name": "retail_whole_store_v0",
        "is_parallelizable": False,
        "render_fps": FrameRendering.render_fps,
    }
    render_title = "retail-env whole store"

    def __init__(
        self,
        render_mode: str | None = None,
        scenario: str = "medium",
        store: Mapping[str, Any] | None = None,
        promotion: Mapping[str, Any] | None = None,
        overcharge_cost: float = OVERCHARGE_COST,
        undercharge_cost: float = UNDERCHARGE_COST,
        **kwargs: Any,
    ):
        super().__init__()
        check_render_mode(render_mode, self.metadata["render_modes"])
        for name, v in (
            ("overcharge_cost", overcharge_cost),
            ("undercharge_cost", undercharge_cost),
        ):
            if not (isinstance(v, (int, float)) and 0.0 <= v <= 1e4):
                raise ConfigError(f"{name}={v!r} is out of range: must be in [0, 10000]")
        plan = from_dict(PromotionPlanConfig, promotion or {}, prefix="promotion.")
        if plan.policy != "none":
            raise ConfigError(
                f"promotion.policy={plan.policy!r}: in the two-role store the "
                "manager sets the prices, so policy must be 'none'"
            )
        self.config = from_dict(AttributionConfig, dict(kwargs, scenario=scenario, promotion={}))
        self.plan = plan
        self.costs = (float(overcharge_cost), float(undercharge_cost))
        self.core = AttributionCore(self.config, store)
        sim = self.core.sim.params
        self.promo = promotion_params(plan, sim, self.config.episode_s)
        self.desk = PromotionDesk(self.promo, plan.period_h)
        self.period_ticks = max(1, int(round(plan.period_h * 3600 * self.core.hz)))
        self.N = self.promo.catalog.n_products
        self._obs = observation_factory(self.core)
        self.possible_agents = [MANAGER, CHECKOUT]
        self.action_spaces = {
            MANAGER: action_space_for(self.promo),
            CHECKOUT: spaces.Discrete(self.core.K + 2),
        }
        # manager: hour of day (sin, cos), share of the episode gone, shoppers inside /
        # slots, then per product last period's units (per 10) and the discount in force
        self.observation_spaces = {
            MANAGER: spaces.Box(-1.0, np.inf, (4 + 2 * self.N,), np.float32),
            CHECKOUT: self._obs.space(),
        }
        self.render_mode = render_mode
        self._renderer = None
        self._header = None
        self.np_random = np.random.default_rng()

    # --- PettingZoo API -----------------------------------------------------
    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        if seed is not None:
            self.np_random = np.random.default_rng(seed)
        # a draw for training never lands on a frozen evaluation seed (envs/seeds.py)
        store_seed = int(seed) if seed is not None else draw_seed(self.np_random)
        self.agents = list(self.possible_agents)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: {} for a in self.agents}
        self.core.reset([store_seed])
        st = self.core.sim.state
        self.period = -1
        self.price = np.broadcast_to(self.promo.catalog.price, (2, self.N)).copy()
        self.depth = np.zeros(self.N)
        self.member_of = np.zeros(256, bool)
        self._booked = np.zeros((0, self.N), np.int64)  # ledger "true" at the last booking
        self.last_units = np.zeros(self.N, np.int64)
        self.books = dict.fromkeys(
            (
                "revenue",
                "cogs",
                "units",
                "overcharged",
                "undercharged",
                "error_cost",
                "checkout_reward",
            ),
            0.0,
        )
        self._right = 0
        self._remember(st)
        self.agent_selection = MANAGER
        self._set_infos()

    def observe(self, agent: str):
        if agent == MANAGER:
            return self._manager_obs()
        if self.core.head(0) is None:
            return self._obs.blank()
        return self._obs.observe(0)

    def step(self, action) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        self.rewards = dict.fromkeys(self.agents, 0.0)
        if agent == MANAGER:
            self._set_prices(self._check_manager(action))
        else:
            self._decide(self._check_checkout(action))
        self._run()
        self._accumulate_rewards()
        if self.render_mode == "human":
            self.render()

    # --- roles --------------------------------------------------------------
    def _check_manager(self, action) -> np.ndarray:
        try:
            return check_action(self.action_spaces[MANAGER], action)
        except InvalidActionError as e:
            raise RoleActionError(f"manager: {e}") from None

    def _check_checkout(self, action) -> int:
        K = self.core.K
        a = np.asarray(action)
        if (
            a.size != 1
            or not np.issubdtype(a.dtype, np.integer)
            or a.dtype == np.bool_
            or not 0 <= int(a.reshape(())) <= K + 1
        ):
            raise RoleActionError(
                f"checkout: action must be one integer in [0, {K + 1}] "
                f"(charge candidate 0..{K - 1}, {K} = no one, {K + 1} = "
                f"review), got {action!r}"
            )
        return int(a.reshape(()))

    def _set_prices(self, a: np.ndarray) -> None:
        """The manager's prices for the period starting now, installed in the store."""
        seg_price, depth, _ = pcore.prices_from_discrete(self.promo, a)
        table = period_table(self.promo, seg_price, pcore.endcap_exposure(self.promo, seg_price))
        sim_store.set_demand(self.core.sim.state, table.prob, table.extra)
        self.price, self.depth = seg_price[0], depth[0]
        self.period += 1

    def _decide(self, a: int) -> None:
        rec = self.core.head(0)
        assert rec is not None  # a decision is pending
        counts, _ = self.core.action_counts(0, rec)
        _, over, under = counts[a]
        terms = self.core.decide(0, a)
        self._right += over == 0 and under == 0
        r = float(sum(terms.values()))
        cost = self.costs[0] * over + self.costs[1] * under
        self.rewards[CHECKOUT] += r
        self.rewards[MANAGER] -= cost
        b = self.books
        b["overcharged"] += over
        b["undercharged"] += under
        b["error_cost"] += cost
        b["checkout_reward"] += r

    # --- the store ----------------------------------------------------------
    def _run(self) -> None:
        """Run the store to the next turn: a decision ready (checkout), a new period while
        the gate is open (manager), or the end (both done, the last sales booked)."""
        core = self.core
        while True:
            if core.ready(0):
                self.agent_selection = CHECKOUT
                break
            if core.finished(0):
                self._book_sales()
                for a in self.agents:
                    self.terminations[a] = True
                break
            if not core.closed[0] and core.now(0) >= (self.period + 1) * self.period_ticks:
                self._book_sales()
                self.agent_selection = MANAGER
                break
            core.tick()
            self._remember(core.sim.state)
        self._set_infos()

    def _remember(self, st) -> None:
        """Member flags of the accounts inside (the segment whose price they pay)."""
        acc = st.account[0]
        inside = acc >= 0
        if inside.any():
            top = int(acc.max())
            if top >= len(self.member_of):
                self.member_of = np.pad(self.member_of, (0, 2 * top))
            self.member_of[acc[inside]] = st.member[0][inside]

    def _book_sales(self) -> None:
        """Profit of what left the store since the last booking, at the prices in force."""
        true = self.core.ledgers[0].true
        seen = np.zeros(true.shape, np.int64)
        seen[: len(self._booked)] = self._booked
        units = true - seen  # (accounts, N)
        self._booked = true.copy()
        if len(units) > len(self.member_of):
            self.member_of = np.pad(self.member_of, (0, len(units) - len(self.member_of)))
        seg = self.member_of[: len(units)].astype(np.int64)
        revenue = float((units * self.price[seg]).sum())
        cogs = float((units.sum(axis=0) * self.promo.catalog.cost).sum())
        self.last_units = units.sum(axis=0)
        b = self.books
        b["revenue"] += revenue
        b["cogs"] += cogs
        b["units"] += float(self.last_units.sum())
        self.rewards[MANAGER] += revenue - cogs

    def _manager_obs(self) -> np.ndarray:
        hour = (
            self.core.sim.params.config.start_hour + self.core.now(0) / self.core.hz / 3600.0
        ) % 24.0
        t = 2 * np.pi * hour / 24.0
        gone = min(1.0, self.core.now(0) / max(1, self.core.end_tick))
        inside = self.core.sim.n_inside(0) / self.core.sim.params.config.shoppers.max_shoppers
        head = np.array([np.sin(t), np.cos(t), gone, inside])
        return np.concatenate([head, self.last_units / 10.0, self.depth]).astype(np.float32)

    def _set_infos(self) -> None:
        core = self.core
        prices = {"period": self.period, "price": self.price.copy(), "depth": self.depth.copy()}
        self.infos = {
            MANAGER: {**prices, "books": dict(self.books)},
            CHECKOUT: (
                {**core.decision_info(0), **prices}
                if core.head(0) is not None
                else {"action_mask": np.zeros(core.K + 2, np.int8), **prices}
            ),
        }
        if core.finished(0):
            self.infos[CHECKOUT]["receipts"] = core.receipts(0)

    def manager_desk(self) -> PromotionDesk:
        """The view a Promotion baseline plays the manager through, at this period."""
        return self.desk.at(max(self.period + 1, 0))

    # --- rendering (FrameRendering: render() draws current_frame()) -------------
    def frame_header(self):
        """The static part of a drawing of the store (a recording's header)."""
        if self._header is None:
            self._header = frame_header(self.core)
        return self._header

    def current_frame(self):
        """Store, tracks and the checkout's decisions, with the manager's prices in the bar."""
        f = frame(self.core, self.frame_header(), 0, right=self._right)
        on = self.depth > 1e-9
        f.status.update(
            {
                "profit": self.books["revenue"] - self.books["cogs"] - self.books["error_cost"],
                "on_deal": float(on.sum()),
                "deepest_deal_%": float(100 * self.depth.max()),
                "checkout_errors": self.books["overcharged"] + self.books["undercharged"],
            }
        )
        return f
