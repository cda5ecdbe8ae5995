"""The attribution task without Gymnasium: per-store event queues, charges, rewards, receipts.

``AttributionCore`` runs B stores of the batched simulator. Every event the
detector closes is matched at once to the true interactions on its plate in its
time window and queued; ``decision_delay_s`` later the sensors are read for it
(the K candidate tracks nearest the plate with their positions around the event,
the plate's and its neighbours' weight streams) and it is ready to decide. A
decision pops the head of one store's queue, charges (or not) and is scored
against the event's truth. The Gymnasium env is the B = 1 shell; because queued
events carry their own sensor readings, a store can keep running while events
wait, so the same core serves a vector env.

Episode: ``episode_s`` of store time, then the entry gate closes; the shoppers
inside finish their trips (at most ``close_grace_s`` more; anyone still inside
then is flushed, scored on the basket they hold). The episode ends when the
store is shut and every detected event has been decided.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from retail_env.envs.attribution.promotion_plan import PromotionPlanConfig, StorePromotions
from retail_env.envs.attribution.readout import read_events
from retail_env.envs.attribution.receipts import ledger_add, ledger_add_lines, receipt_metrics
from retail_env.envs.seeds import draw_seeds
from retail_env.sim import config as sim_config
from retail_env.sim import store as sim_store
from retail_env.sim.sensors import track_window
from retail_env.sim.state import PICK, PUT, RESTOCK, TOUCH
from retail_env.sim.validation import config, replace, spec

CORRECT, WRONG, REVIEWED = 1, 2, 3  # decision outcomes (as drawn by retail_env.render)
# The task's tuning of each sim preset, applied under the user's ``store`` overrides.
# Every scenario keeps 12 s of camera history (the sensors' default ring is 5 s): who
# arrived at a plate first, and who walked away after the event, is the evidence
# that separates shoppers standing at the same shelf [A].
_HISTORY = {"sensors": {"hist_s": 12.0}}
TASK_TUNING: dict[str, dict[str, Any]] = {name: dict(_HISTORY) for name in sim_config.PRESETS}
# easy = a quiet fuel-station hour [A]: ~5 shoppers per 10 min, at most 4 inside, so
# two shoppers rarely stand at one shelf at once and the best heuristic is near perfect.
TASK_TUNING["easy"] = {
    **_HISTORY,
    "demand": {"daily_visits": 600.0},
    "shoppers": {"max_shoppers": 4},
}
ON_PLATE = [k in (PICK, PUT, RESTOCK, TOUCH) for k in range(TOUCH + 1)]  # truth kinds a plate shows
RECEIPT_SIGN = [0] * (TOUCH + 1)  # what a truth kind does to a receipt line
RECEIPT_SIGN[PICK], RECEIPT_SIGN[PUT] = 1, -1
# The counters of a store's episode (the bank's core keeps them as columns, in this
# order).
STAT_KEYS = (
    "decisions",
    "reviews",
    "refused",
    "empty_slot",
    "events",
    "events_with_truth",
    "missed_items",
    "missed_rows",
    "need_review",
)
REWARD_TERMS = ("correct", "overcharge", "undercharge", "review", "refused", "empty_slot")


# Observations that read the raw windows (a bank replaying them needs its raw group).
RAW_TYPES = ("raw", "features_raw")


@config
class ObservationConfig:
    """Which observation the agent gets (highway-env style ``{"type": ...}``)."""

    type: str = spec("features", choices=("features", "features_context", "raw", "features_raw"))
    # Raw windows: per-tick plate means and track positions ending at the decision.
    raw_ticks: int = spec(
        50, lo=2, hi=600, doc="ticks of weight and track history (<= sensor ring)"
    )


@config
class RewardConfig:
    """Weights of the named reward terms (per item, or per decision for the last three)."""

    correct: float = spec(1.0, lo=0.0, hi=100.0, doc="per item charged (or refunded) rightly")
    # Overcharging a shopper costs the store more (a complaint, a lost customer) than a
    # missed item (its price) [A]; the issue asks that it cost more.
    overcharge: float = spec(-2.0, lo=-100.0, hi=0.0, doc="per item charged that was not taken")
    undercharge: float = spec(-1.0, lo=-100.0, hi=0.0, doc="per item taken and not charged")
    review: float = spec(-0.3, lo=-100.0, hi=0.0, doc="per human review")
    refused: float = spec(-1.0, lo=-100.0, hi=0.0, doc="per review asked beyond the budget")
    empty_slot: float = spec(-1.0, lo=-100.0, hi=0.0, doc="per charge of a padded candidate")


@config
class AttributionConfig:
    """Task settings; the store itself is the named scenario plus ``store`` overrides."""

    scenario: str = spec("medium", choices=tuple(sim_config.PRESETS))
    # [A] 10 minutes of store time: ~190 decisions on medium, short enough for PPO.
    episode_s: float = spec(600.0, lo=1.0, hi=86400.0)
    close_grace_s: float = spec(300.0, lo=0.0, hi=3600.0)
    n_candidates: int = spec(6, lo=1, hi=32, doc="K candidate tracks per event")
    # Amazon's reported target: under 50 reviews per 1,000 transactions (The Information,
    # Apr 2024). Credit grows by this much per decided event; a review spends 1.
    review_budget: float = spec(0.05, lo=0.0, hi=1.0)
    review_credit_start: float = spec(1.0, lo=0.0, hi=1e6)
    # [A] receipts may wait a little: events detected within this delay are on the queue
    # together, so window policies (Hungarian) see their neighbours in time.
    decision_delay_s: float = spec(2.0, lo=0.0, hi=60.0)
    # [A] truth at a plate up to this long before the detector's start belongs to the event.
    match_slack_s: float = spec(1.0, lo=0.0, hi=10.0)
    reach_m: float = spec(1.0, lo=0.1, hi=10.0, doc="[A] arm's reach, for dwell features")
    observation: ObservationConfig = spec(ObservationConfig())
    reward: RewardConfig = spec(RewardConfig())
    # Prices in force: a promotion plan or a Promotion baseline (promotion_plan.py).
    promotion: PromotionPlanConfig = spec(PromotionPlanConfig())


# The task's presets (``AttributionEnv(preset=...)``): every simulator scenario as it is,
# the default store seen through the raw sensor streams (sensor-fusion research), and a
# hi-lo day with deep end-cap deals (promotion_plan.py): a quarter of the products at half
# price, rotating every 6 h, the four deepest on end-caps; the crowds they draw are the
# coupling docs/whole_store.md measures.
PRESETS: dict[str, dict[str, Any]] = {
    **{name: {"scenario": name} for name in sim_config.PRESETS},
    "raw": {"scenario": "medium", "observation": {"type": "raw"}},
    "promo": {
        "scenario": "medium",
        "promotion": {
            "policy": "hi_lo",
            "depth": 0.5,
            "cycle_days": 1,
            "promo_h": 6,
            "n_endcaps": 4,
        },
    },
}


class EventRecord:
    """One detected event: detector output, sensor readings at the decision, private truth
    (``truth``: the receipt lines the event really changed, kept from the matching; read
    only, as every decision and the oracle look at it)."""

    __slots__ = (
        "plate",
        "product",
        "t_start",
        "t_end",
        "t_detect",
        "t_snap",
        "dw",
        "lo",
        "hi",
        "cand_track",
        "cand_account",
        "cand_rel",
        "n_cand",
        "weights",
        "truth",
        "index",
    )


Line = tuple[int, int, int]  # (account, product, signed qty): a line of a receipt change


class _Ledger:
    """Growable (accounts, products) int ledgers of one store."""

    def __init__(self, n_products: int):
        self.charged = np.zeros((64, n_products), np.int64)  # what decisions charged
        self.ceiling = np.zeros((64, n_products), np.int64)  # truth of every detected event
        self.true = np.zeros((64, n_products), np.int64)  # what shoppers left with
        self.seen = np.zeros(64, bool)  # accounts that came in

    def fit(self, account: Sequence[int] | np.ndarray) -> None:
        """Grow to hold ``account`` (a few integers: Python's max beats a NumPy reduction)."""
        if not len(account):
            return
        need = int(max(account)) + 1
        if need > len(self.seen):
            size = max(need, 2 * len(self.seen))
            for name in ("charged", "ceiling", "true", "seen"):
                old = getattr(self, name)
                new = np.zeros((size, *old.shape[1:]), old.dtype)
                new[: len(old)] = old
                setattr(self, name, new)


def _by_store(live: np.ndarray, store: np.ndarray, *cols: np.ndarray) -> dict[int, list[tuple]]:
    """Rows of a tick's output grouped by store, open stores only, in order."""
    out: dict[int, list[tuple]] = {}
    for row in zip(store.tolist(), *(c.tolist() for c in cols), strict=True):
        if live[row[0]]:
            out.setdefault(row[0], []).append(row[1:])
    return out


def _net(lines: Iterable[Line]) -> dict[tuple[int, int], int]:
    """A receipt change as {(account, product): signed qty}."""
    out: dict[tuple[int, int], int] = {}
    for acc, prod, qty in lines:
        out[acc, prod] = out.get((acc, prod), 0) + qty
    return out


def _score(a: dict[tuple[int, int], int], t: dict[tuple[int, int], int]) -> tuple[int, int, int]:
    """(correct, over, under) item counts of an action's net receipt change against the
    truth's (``_net``)."""
    correct = over = under = 0
    for key in a.keys() | t.keys():
        x, y = a.get(key, 0), t.get(key, 0)
        if (x > 0) - (x < 0) == (y > 0) - (y < 0):
            correct += min(abs(x), abs(y))
        over += max(x - y, 0)
        under += max(y - x, 0)
    return correct, over, under


class _SimLink:
    """The few things the task needs from the batched simulator, in one place."""

    def __init__(
        self,
        scenario: str,
        overrides: Mapping[str, Any],
        batch: int,
        promotion: PromotionPlanConfig | None = None,
        episode_s: float = 600.0,
    ):
        cfg = replace(sim_config.make_config(scenario), TASK_TUNING.get(scenario, {}))
        self.params = sim_store.make_params(replace(cfg, overrides))
        self.promotions = (
            None
            if promotion is None or promotion.policy == "none"
            else StorePromotions(promotion, self.params, episode_s)
        )
        self.installed = np.full(batch, -1, np.int64)  # pricing period each store holds
        lay = self.params.layout
        self.B = batch
        self.catalog = self.params.catalog
        self.tick_hz = self.params.config.tick_hz
        self.plate_xy = np.asarray(lay.cell_xy[lay.plate_access], np.float32)  # where one stands
        self.believed = np.asarray(self.params.planogram_believed)
        self.nbr = np.asarray(lay.plate_neighbors)
        self.nbr_sets = [{int(x) for x in row if x >= 0} for row in self.nbr]  # plate -> neighbours
        self.plate_shelf = lay.plate_shelf.tolist()
        self.hist_ticks = self.params.sensors.ticks(self.params.sensors.hist_s)

    def reset(self, seeds: Sequence[int]) -> None:
        self.state, self.rng = sim_store.reset(self.params, seeds)
        self.installed[:] = -1

    def reset_stores(self, idx: np.ndarray, seeds: Sequence[int]) -> None:
        sim_store.reset_stores(self.state, self.params, self.rng, idx, seeds)
        self.installed[idx] = -1

    def step(self):
        if self.promotions is not None:
            self.promotions.install(self.state, self.installed)
        return sim_store.step(self.state, self.params, self.rng)

    def now(self, b: int) -> int:
        return int(self.state.tick[b])

    def close_gate(self, b: int) -> None:
        assert self.state.gate_open is not None  # set by reset
        self.state.gate_open[b] = False  # arrivals turned away; draws unchanged

    def _customers(self, b: int) -> np.ndarray:
        return self.state.present[b] & ~self.state.staff[b]

    def n_inside(self, b: int) -> int:
        return int(np.count_nonzero(self._customers(b)))

    def accounts_inside(self) -> list[np.ndarray]:
        return [self.state.account[b][self._customers(b)] for b in range(self.B)]

    def baskets_inside(self, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s, p = np.nonzero(self.state.basket[b] * self._customers(b)[:, None])
        return self.state.account[b, s], p, self.state.basket[b, s, p].astype(np.int64)

    def track_window(
        self, b, slots=slice(None), ticks: slice = slice(None)
    ) -> tuple[np.ndarray, np.ndarray]:
        """Track positions (..., slots, ticks, 2) oldest first and the tracks' accounts, of
        store ``b`` or stores ``b`` (an array)."""
        sens = self.state.sensors
        return track_window(sens, b, slots, ticks), sens.track_account[b]


class AttributionCore:
    """B stores, their event queues and the books of every decision."""

    def __init__(
        self, cfg: AttributionConfig, store: Mapping[str, Any] | None = None, batch: int = 1
    ):
        self.cfg = cfg
        self.B = int(batch)
        self.K = cfg.n_candidates
        self.sim = _SimLink(cfg.scenario, store or {}, self.B, cfg.promotion, cfg.episode_s)
        self.catalog = self.sim.catalog
        self.N = self.catalog.n_products
        self.unit_w = np.asarray(self.catalog.unit_weight, np.float64)
        self.unit_w_list = self.unit_w.tolist()
        self.plate_xy = self.sim.plate_xy
        self.believed = self.sim.believed
        self.hz = self.sim.tick_hz
        self.end_tick = int(round(cfg.episode_s * self.hz))
        self.grace_ticks = int(round(cfg.close_grace_s * self.hz))
        self.delay_ticks = int(round(cfg.decision_delay_s * self.hz))
        self.slack_ticks = int(round(cfg.match_slack_s * self.hz))
        self.seeds: list[int] = []

    # --- episode ------------------------------------------------------------
    def reset(self, seeds: Sequence[int]) -> None:
        """Start every store from its seed (call :meth:`advance` to reach a decision)."""
        self.seeds = [int(s) for s in seeds]
        self.sim.reset(self.seeds)
        B = self.B
        self.queues: list[deque[EventRecord]] = [deque() for _ in range(B)]
        self.ledgers = [_Ledger(self.N) for _ in range(B)]
        self.credit = np.full(B, self.cfg.review_credit_start)
        self.closed = np.zeros(B, bool)
        self.shut = np.zeros(B, bool)  # simulation over (store empty or grace spent)
        self.stats = [dict.fromkeys(STAT_KEYS, 0) for _ in range(B)]
        self.pending: list[list[tuple]] = [[] for _ in range(B)]  # unmatched truth rows
        self.recent = [deque(maxlen=64) for _ in range(B)]  # decided records
        for b, acc in enumerate(self.sim.accounts_inside()):
            self._register(b, acc.tolist())

    def draw_seeds(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` episode seeds for training draws (never a frozen evaluation seed)."""
        return draw_seeds(rng, n)

    def advance(self) -> None:
        """Tick the stores until every store has a decision ready or is finished."""
        while True:
            waiting = [b for b in range(self.B) if not self.ready(b) and not self.shut[b]]
            if not waiting:
                return
            self.tick()

    def ready(self, b: int) -> bool:
        q = self.queues[b]
        return bool(q) and (self.shut[b] or self.sim.now(b) - q[0].t_detect >= self.delay_ticks)

    def finished(self, b: int) -> bool:
        return bool(self.shut[b]) and not self.queues[b]

    def head(self, b: int) -> EventRecord | None:
        return self.queues[b][0] if self.queues[b] else None

    def now(self, b: int) -> int:
        return self.sim.now(b)

    # --- simulation ---------------------------------------------------------
    def _register(self, b: int, accounts: list[int]) -> None:
        accounts = [a for a in accounts if a >= 0]
        led = self.ledgers[b]
        led.fit(accounts)
        led.seen[accounts] = True

    def tick(self) -> None:
        """Advance every store one tick, capturing the events it closes."""
        out = self.sim.step()
        live = ~self.shut  # a shut store's books are closed; later ticks are ignored
        self._book(out, live)
        due = []
        for b in np.flatnonzero(live):
            self._close_if_due(int(b))
            due += self._due(int(b))
        self._snapshot(due)

    def _book(self, out, live: np.ndarray) -> list[int]:
        """A tick's entries, exits, true interactions and closed events, for the stores
        still open; returns the stores that queued events. (A tick has a few rows of each,
        touching a few stores: they are grouped in Python, each store's books being its own.)"""
        if len(ent := out.entries):
            for b, rows in _by_store(live, ent.store, ent.account, ent.staff).items():
                self._register(b, [a for a, staff in rows if not staff])
        if len(ex := out.exits):
            for b, rows in _by_store(live, ex.store, ex.account, ex.product, ex.qty).items():
                rows = [r for r in rows if r[0] >= 0]
                if rows:
                    led = self.ledgers[b]
                    led.fit([r[0] for r in rows])
                    ledger_add_lines(led.true, rows)
        if len(tr := out.truth):
            # Plate interactions wait for an event to claim them (or expire as missed).
            for b, rows in _by_store(
                live, tr.store, tr.tick, tr.plate, tr.account, tr.product, tr.qty, tr.kind
            ).items():
                self.pending[b] += [r for r in rows if ON_PLATE[r[5]] and r[1] >= 0]
        if not len(ev := out.events):
            return []
        closed = _by_store(live, ev.store, ev.plate, ev.t_start, ev.t_end, ev.dw)
        for b, rows in closed.items():
            rows.sort(key=lambda r: r[2])  # stable: by detector end, then as reported
            self._capture(b, rows)
        return list(closed)

    def _capture(self, b: int, rows: list[tuple]) -> None:
        """Queue the events store ``b`` just closed, each with the truth in its window."""
        now = self.sim.now(b)
        st = self.stats[b]
        led = self.ledgers[b]
        for p, t_start, t_end, dw in rows:
            rec = EventRecord()
            rec.plate = p
            rec.product = int(self.believed[p])
            rec.t_start, rec.t_end, rec.t_detect = t_start, t_end, now
            rec.dw = dw
            rec.n_cand = -1  # sensors not read yet: see _snapshot
            n_truth = self._match(b, rec)
            st["events"] += 1
            st["events_with_truth"] += int(n_truth > 0)
            rec.index = st["events"] - 1
            if rec.truth:
                led.fit([line[0] for line in rec.truth])
                ledger_add_lines(led.ceiling, rec.truth)
            self.queues[b].append(rec)
        self._expire_truth(b, now)

    def _due(self, b: int) -> list[tuple[int, EventRecord]]:
        """Store ``b``'s queued events whose decision delay is over (or the store shut), unread.

        A decision may wait ``decision_delay_s``; what the cameras saw in that time (who
        walked away, who stepped in) is part of the evidence, so tracks are read then.
        """
        now, shut = self.sim.now(b), self.shut[b]
        unread = []  # a suffix of the queue, oldest detection first
        for rec in reversed(self.queues[b]):
            if rec.n_cand >= 0:
                break
            unread.append(rec)
        return [
            (b, rec) for rec in reversed(unread) if shut or now - rec.t_detect >= self.delay_ticks
        ]

    def _snapshot(self, due: list[tuple[int, EventRecord]]) -> None:
        """Read the sensors for events ``due`` (store, event) in one pass (``readout.py``):
        the K tracks nearest the plate during each event with their whole history, and the
        plate's and its neighbours' weight streams."""
        if not due:
            return
        H, K = self.sim.hist_ticks, self.K
        stores = [b for b, _ in due]
        recs = [rec for _, rec in due]
        for b, rec in due:  # the events' windows in the ring, oldest tick 0
            rec.t_snap = now = int(self.sim.state.tick[b])
            rec.lo = min(H - 1, max(0, H - 1 - (now - rec.t_start)))
            rec.hi = min(H - 1, max(rec.lo, H - 1 - (now - rec.t_end)))
        first = [max(0, rec.lo - self.slack_ticks) for rec in recs]
        read = read_events(
            self.sim.state.sensors,
            stores,  # pyright: ignore[reportArgumentType]  (takes array-likes)
            [rec.plate for rec in recs],
            first,
            [rec.hi for rec in recs],
            self.plate_xy,
            self.sim.nbr,
            K,
        )
        for rec, track, account, rel, weights, n in zip(recs, *read, strict=True):
            rec.n_cand, rec.cand_track, rec.cand_account = int(n), track, account
            rec.cand_rel, rec.weights = rel, weights

    def _match(self, b: int, rec: EventRecord) -> int:
        """Give ``rec`` the pending truth on its plate in its window; returns how many rows."""
        lo, hi, p = rec.t_start - self.slack_ticks, rec.t_end, rec.plate
        rows = self.pending[b]
        got = [r for r in rows if r[1] == p and lo <= r[0] <= hi]
        if got:
            self.pending[b] = [r for r in rows if not (r[1] == p and lo <= r[0] <= hi)]
        rec.truth = [
            (a, prod, sign * q) for _, _, a, prod, q, k in got if (sign := RECEIPT_SIGN[k])
        ]
        return len(got)

    def _expire_truth(self, b: int, now: int, force: bool = False) -> None:
        """Truth no event claimed within the sensor history is a missed event."""
        rows = self.pending[b]
        cut = now - 2 * self.sim.hist_ticks
        old = rows if force else [r for r in rows if r[0] < cut]
        if not old:
            return
        lost = [r[4] for r in old if r[5] == PICK or r[5] == PUT]
        self.stats[b]["missed_rows"] += len(lost)
        self.stats[b]["missed_items"] += sum(lost)
        self.pending[b] = [] if force else [r for r in rows if r[0] >= cut]

    def _close_if_due(self, b: int) -> None:
        now = self.sim.now(b)
        if not self.closed[b] and now >= self.end_tick:
            self.closed[b] = True
            self.sim.close_gate(b)
        if self.closed[b] and not self.shut[b]:
            if self.sim.n_inside(b) == 0 or now >= self.end_tick + self.grace_ticks:
                self.shut[b] = True
                acc, prod, qty = self.sim.baskets_inside(b)  # flush: score what they hold
                led = self.ledgers[b]
                led.fit(acc)
                ledger_add(led.true, acc, prod, qty)
                self._expire_truth(b, now, force=True)

    # --- decisions ----------------------------------------------------------
    def charge_line(self, b: int, rec: EventRecord, k: int) -> Line | None:
        """The receipt line charging candidate ``k`` writes (None: nothing).

        Picks: the plate's believed product, qty = round(|dw| / unit weight). Put-backs:
        the believed product if the account's receipt holds it, else the held product
        whose unit weight best explains dw, else the believed product.
        """
        account = int(rec.cand_account[k]) if k < rec.n_cand else -1
        if account < 0:
            return None
        prod = rec.product
        if rec.dw > 0:
            led = self.ledgers[b]
            held = np.flatnonzero(led.charged[account] > 0) if account < len(led.seen) else []
            if len(held) and prod not in held:
                w = self.unit_w[held]
                q = np.maximum(1, np.rint(rec.dw / w))
                prod = int(held[np.argmin(np.abs(rec.dw - q * w))])
        qty = round(abs(rec.dw) / self.unit_w_list[prod])  # half to even, as np.rint
        if qty == 0:
            return None
        return account, prod, qty if rec.dw < 0 else -qty

    def _needs_review(self, b: int, rec: EventRecord, truth: dict[tuple[int, int], int]) -> bool:
        """True if no charge and not "no one" gets this event exactly right (only a review
        can); ``truth``: its net change (``_net``)."""
        if len(truth) != 1:
            return len(truth) > 1
        (acc, prod), net = next(iter(truth.items()))
        if net == 0:
            return False
        for k, a in enumerate(rec.cand_account[: rec.n_cand].tolist()):
            if a == acc and self.charge_line(b, rec, k) == (acc, prod, net):
                return False
        return True

    def action_lines(self, b: int, rec: EventRecord) -> tuple[list[list[Line]], bool]:
        """Receipt lines of every action (K charges, no one, review) and review availability."""
        deltas = [[line] if (line := self.charge_line(b, rec, k)) else [] for k in range(self.K)]
        deltas.append([])
        can_review = bool(self.credit[b] >= 1.0)
        deltas.append(rec.truth if can_review else [])
        return deltas, can_review

    def terms(
        self,
        lines: list[Line],
        truth: list[Line],
        *,
        review: bool = False,
        refused: bool = False,
        empty: bool = False,
    ) -> dict[str, float]:
        """Named reward terms (already weighted) of one decision writing receipt ``lines``
        where ``truth`` is what really changed."""
        return self._weigh(_score(_net(lines), _net(truth)), review, refused, empty)

    def _weigh(
        self, counts: tuple[int, int, int], review: bool, refused: bool, empty: bool
    ) -> dict[str, float]:
        """Named reward terms of (correct, over, under) item counts and the decision's kind."""
        w = self.cfg.reward
        c, over, under = counts
        return {
            "correct": w.correct * c,
            "overcharge": w.overcharge * over,
            "undercharge": w.undercharge * under,
            "review": w.review * review,
            "refused": w.refused * refused,
            "empty_slot": w.empty_slot * empty,
        }

    def action_counts(self, b: int, rec: EventRecord) -> tuple[list[tuple[int, int, int]], bool]:
        """(correct, over, under) item counts of every action on ``rec`` now (K charges, no
        one, review) and review availability."""
        deltas, can_review = self.action_lines(b, rec)
        truth = _net(rec.truth)
        return [_score(_net(d), truth) for d in deltas], can_review

    def oracle_action(self, b: int) -> int:
        """The action with the best reward given the truth (ties: lowest index)."""
        rec = self.head(b)
        if rec is None:
            return self.K
        counts, can_review = self.action_counts(b, rec)
        best, best_r = self.K, -np.inf
        for a, c in enumerate(counts):
            r = sum(
                self._weigh(
                    c,
                    a == self.K + 1 and can_review,
                    a == self.K + 1 and not can_review,
                    a < self.K and a >= rec.n_cand,
                ).values()
            )
            if r > best_r + 1e-9:
                best, best_r = a, r
        return best

    def action_mask(self, b: int) -> np.ndarray:
        """(K + 2,) int8: real candidates, no one, and review while the budget allows."""
        return self.action_masks([b])[0]

    def action_masks(self, stores: Sequence[int]) -> np.ndarray:
        """``action_mask`` of each of ``stores``, (len(stores), K + 2), built at once."""
        n = np.array([q[0].n_cand if (q := self.queues[b]) else 0 for b in stores])
        m = np.zeros((len(n), self.K + 2), np.int8)
        m[:, : self.K] = np.arange(self.K) < n[:, None]
        m[:, self.K] = 1
        m[:, self.K + 1] = self.credit[stores] >= 1.0
        return m

    def decision_info(self, b: int, oracle: bool = True) -> dict[str, Any]:
        """What the env's ``info`` carries at a decision (``oracle_action`` is the truth's view;
        ``oracle=False`` leaves it out, for speed, when no oracle is deciding)."""
        rec = self.head(b)
        return {
            "store": b,
            "oracle_action": self.oracle_action(b) if oracle else -1,
            "action_mask": self.action_mask(b),
            "event_index": -1 if rec is None else rec.index,
            "time_s": self.now(b) / self.hz,
            "review_credit": float(self.credit[b]),
        }

    def decide(self, b: int, action: int) -> dict[str, float]:
        """Apply ``action`` to store ``b``'s head event; return its reward terms."""
        rec = self.pop(b)
        st = self.stats[b]
        K = self.K
        review = refused = empty = False
        if action == K + 1:
            if self.credit[b] >= 1.0:
                review = True
                self.credit[b] -= 1.0
            else:
                refused = True
        elif action < K:
            empty = action >= rec.n_cand
        lines, counts, need = self.outcome(b, rec, action, review)
        st["need_review"] += need
        led = self.ledgers[b]
        led.fit([line[0] for line in lines])
        ledger_add_lines(led.charged, lines)
        terms = self._weigh(counts, review, refused, empty)
        st["decisions"] += 1
        st["reviews"] += review
        st["refused"] += refused
        st["empty_slot"] += empty
        self.credit[b] += self.cfg.review_budget
        right = terms["overcharge"] == 0 and terms["undercharge"] == 0
        self.recent[b].append((rec, REVIEWED if review else (CORRECT if right else WRONG)))
        return terms

    def pop(self, b: int) -> EventRecord:
        """Take store ``b``'s head event off its queue (it is being decided)."""
        return self.queues[b].popleft()

    def decide_batch(self, stores: np.ndarray, actions: np.ndarray) -> dict[str, np.ndarray]:
        """``decide`` for each of ``stores`` (distinct) with its action; the terms as arrays
        over ``stores`` (a banked core does it as array operations)."""
        terms = {k: np.zeros(len(stores)) for k in REWARD_TERMS}
        for i, (b, a) in enumerate(zip(stores.tolist(), actions.tolist(), strict=True)):
            for k, v in self.decide(b, a).items():
                terms[k][i] = v
        return terms

    def event_indices(self, stores) -> np.ndarray:
        """Each store's head event index (-1: finished)."""
        return np.array([-1 if (r := self.head(b)) is None else r.index for b in stores], np.int64)

    def heads(self, stores) -> tuple[np.ndarray, np.ndarray]:
        """``action_masks`` and ``event_indices`` of ``stores`` (the vector env's info)."""
        return self.action_masks(stores), self.event_indices(stores)

    def oracle_actions(self, stores) -> np.ndarray:
        return np.array([self.oracle_action(b) for b in stores], np.int64)

    def outcome(
        self, b: int, rec: EventRecord, action: int, review: bool
    ) -> tuple[list[Line], tuple[int, int, int], bool]:
        """What ``action`` writes on the receipts (``review``: granted), its (correct,
        over, under) item counts, and whether only a review gets ``rec`` exactly right."""
        truth = _net(rec.truth)
        if review:
            lines = rec.truth
        elif action < self.K:
            line = self.charge_line(b, rec, action)
            lines = [line] if line else []
        else:
            lines = []
        return lines, _score(_net(lines), truth), self._needs_review(b, rec, truth)

    def receipts(self, b: int) -> dict[str, float]:
        """Episode metrics of store ``b`` against the true baskets (call when finished)."""
        led = self.ledgers[b]
        seen = led.seen
        st = self.stats[b]
        price = np.asarray(self.catalog.price)
        out = receipt_metrics(
            led.true[seen], led.charged[seen], price, st["decisions"], st["reviews"]
        )
        ceiling = receipt_metrics(led.true[seen], led.ceiling[seen], price, 1, 0)
        out["ceiling_exact_match"] = ceiling["exact_match"]
        out["ceiling_f1"] = ceiling["f1"]
        out.update({f"n_{k}": float(v) for k, v in st.items() if k not in ("decisions", "reviews")})
        return out
