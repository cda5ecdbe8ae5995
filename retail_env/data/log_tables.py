"""Recorders that turn a playing episode into the transaction log's rows, one per task.

``AttributionLog`` taps the store simulator under an Attribution env (entries and exits at
every tick, each decided event with the lines it wrote and its truth, the receipts at the
end); ``PromotionLog`` reads the Promotion state around every period (prices in force,
reference prices before the period, units sold by segment, inventory flows). Rows are kept
as column lists; ``columns()`` gives them as typed NumPy arrays. The schema (every column,
its meaning and which columns are truth) is ``SCHEMAS`` here and ``docs/data.md``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from retail_env.envs.promotion import core as pcore
from retail_env.sim import demand as dm

# table -> column -> (dtype, description); "dict" = dictionary-encoded string (pandas
# category). Descriptions starting "TRUTH" are simulator truth no real store records.
SCHEMAS: dict[str, dict[str, tuple[str, str]]] = {
    "visits": {
        "account": ("int64", "the party's account (a party of one or two pays on one account)"),
        "member": ("bool", "loyalty member"),
        "party_size": ("int32", "shoppers in the party"),
        "entry_s": (
            "float64",
            "seconds from the episode start at the entry gate (0: inside at start)",
        ),
        "exit_s": (
            "float64",
            "seconds when the party's last shopper left; NaN: still inside at the close (flushed)",
        ),
    },
    "receipt_lines": {
        "account": ("int64", "account the line is on"),
        "product": ("int32", "product index"),
        "product_name": ("dict", "product name"),
        "qty_charged": ("int64", "items the checkout charged (printed receipt, never negative)"),
        "qty_true": ("int64", "TRUTH items the shopper really left with"),
        "list_price": ("float64", "shelf price, $"),
        "price_paid": ("float64", "price charged per item, $ (Attribution: the list price)"),
        "discount": ("float64", "share off the list price (Attribution: 0)"),
        "member_offer": ("bool", "a members-only price applied (Attribution: never)"),
    },
    "shelf_events": {
        "event_index": ("int64", "detected event number in the episode (decision order)"),
        "plate": ("int32", "weight plate the detector fired on"),
        "product": ("int32", "product the planogram says is on the plate"),
        "t_start_s": ("float64", "detector: event start, seconds"),
        "t_end_s": ("float64", "detector: event end, seconds"),
        "t_detect_s": ("float64", "detector: when the event was closed, seconds"),
        "dw_kg": ("float64", "detector: weight change, kg (negative = taken)"),
        "n_candidates": ("int32", "candidate tracks offered to the policy"),
        "action": ("int32", "the policy's action (K = no one, K + 1 = review)"),
        "review": ("bool", "a human review was granted (the truth was charged)"),
        "reward": ("float64", "the decision's reward"),
        "correct": ("bool", "TRUTH the receipts changed exactly as the shoppers' baskets did"),
        "oracle_action": ("int32", "TRUTH the best action given the truth (imitation label)"),
    },
    "event_lines": {
        "event_index": ("int64", "the shelf event"),
        "kind": ("dict", "'charged' (what the decision wrote) or 'true' (TRUTH: what happened)"),
        "account": ("int64", "account of the line"),
        "product": ("int32", "product of the line"),
        "qty": ("int64", "signed items (+ taken, - put back)"),
    },
    "prices": {
        "period": ("int32", "trading period"),
        "product": ("int32", "product index"),
        "product_name": ("dict", "product name"),
        "category": ("int32", "category index (the logit's choice set)"),
        "list_price": ("float64", "list price, $"),
        "unit_cost": ("float64", "unit cost, $"),
        "price_nonmember": ("float64", "shelf price non-members pay, $"),
        "price_member": ("float64", "price members pay, $"),
        "discount": ("float64", "discount depth off list (negative: a markup)"),
        "member_offer": ("bool", "the discount is for members only"),
        "endcap": ("float64", "share of shoppers passing it on an end-cap display (0: none)"),
    },
    "sales": {
        "period": ("int32", "trading period"),
        "product": ("int32", "product index"),
        "member": ("bool", "segment: loyalty members (else non-members)"),
        "units": ("int64", "units sold (stock-outs cut demand; see inventory.lost)"),
        "price_paid": ("float64", "price the segment paid, $"),
        "revenue": ("float64", "units x price_paid, $"),
        "visits": ("float64", "expected store visits of the segment in the period (market size)"),
        "ref_price": ("float64", "TRUTH the segment's reference price during the period, $"),
    },
    "inventory": {
        "period": ("int32", "trading period"),
        "product": ("int32", "product index"),
        "sold": ("int64", "units sold"),
        "lost": ("int64", "units demanded while out of stock (lost sales)"),
        "spoiled": ("int64", "units written off at expiry"),
        "received": ("int64", "units delivered at the period's end"),
        "on_hand": ("int64", "units in stock at the period's end"),
        "on_order": ("int64", "units ordered and not yet delivered"),
    },
    "periods": {
        "period": ("int32", "trading period"),
        "hour": ("float64", "hour of day the period starts"),
        "revenue": ("float64", "revenue, $"),
        "cogs": ("float64", "cost of goods sold, $"),
        "spoilage_cost": ("float64", "cost of the units spoiled, $"),
        "holding": ("float64", "holding cost, $"),
        "profit": ("float64", "profit, $"),
        "reward": ("float64", "the env's reward (profit x reward_scale)"),
    },
}
TASK_TABLES = {
    "attribution": ("visits", "receipt_lines", "shelf_events", "event_lines"),
    "promotion": ("prices", "sales", "inventory", "periods"),
}
KEYS = {
    "episode": ("int32", "episode number in the export (0, 1, ...)"),
    "seed": ("int64", "the episode's reset seed"),
}


class _Rows:
    """Column lists of several tables, each row stamped with the episode and its seed."""

    def __init__(self, tables: tuple[str, ...]):
        self.cols = {t: defaultdict(list) for t in tables}
        self.episode, self.seed = 0, 0

    def add(self, table: str, **row: Any) -> None:
        c = self.cols[table]
        c["episode"].append(self.episode)
        c["seed"].append(self.seed)
        for k, v in row.items():
            c[k].append(v)

    def extend(self, table: str, n: int, **cols: Any) -> None:
        """``n`` rows at once; ``cols`` are arrays of length n or scalars."""
        c = self.cols[table]
        c["episode"].append(np.full(n, self.episode))
        c["seed"].append(np.full(n, self.seed))
        for k, v in cols.items():
            v = np.asarray(v)
            c[k].append(v if v.ndim else np.full(n, v))

    def columns(self, table: str) -> dict[str, np.ndarray]:
        schema = {**KEYS, **SCHEMAS[table]}
        out = {}
        for name, (dtype, _) in schema.items():
            parts = self.cols[table].get(name, [])
            if parts and isinstance(parts[0], np.ndarray):
                arr = np.concatenate(parts)
            else:
                arr = np.asarray(parts)
            out[name] = arr if dtype == "dict" else arr.astype(dtype)
        return out


class AttributionLog:
    """Rows of Attribution episodes: install on the env before ``reset``."""

    tables = TASK_TABLES["attribution"]

    def __init__(self, env):
        self.core = env.unwrapped.core
        if getattr(self.core, "bank", None) is not None:
            raise ValueError(
                "a banked Attribution env replays decisions without its store; "
                "export the log from a live env"
            )
        self.rows = _Rows(self.tables)
        self.names = list(self.core.catalog.name)
        sim = self.core.sim
        self.hz = sim.tick_hz
        self.open: dict[int, list] = {}
        step, reset = sim.step, sim.reset

        def tapped_step():
            out = step()
            self._tick(out)
            return out

        def tapped_reset(seeds):
            reset(seeds)
            self._start()

        sim.step, sim.reset = tapped_step, tapped_reset

    def begin(self, episode: int, seed: int) -> None:
        self.rows.episode, self.rows.seed = episode, seed

    def _inside(self) -> np.ndarray:
        st = self.core.sim.state
        return st.account[0][st.present[0] & ~st.staff[0]]

    def _start(self) -> None:
        """A (re)started store: shoppers already inside entered at time 0."""
        st = self.core.sim.state
        self.open, self.n_shoppers = {}, 0
        for s in np.flatnonzero(st.present[0] & ~st.staff[0] & (st.account[0] >= 0)):
            self._enter(int(s), int(st.account[0, s]), bool(st.member[0, s]), 0.0)

    def _enter(self, slot: int, account: int, member: bool, t: float) -> None:
        self.n_shoppers += 1
        if account in self.open:  # the party's second shopper
            self.open[account][2] += 1
        else:
            self.open[account] = [t, member, 1]

    def _tick(self, out) -> None:
        ent = out.entries
        t = float(self.core.sim.state.tick[0]) / self.hz
        for s, a, m, staff in zip(
            ent.shopper.tolist(),
            ent.account.tolist(),
            ent.member.tolist(),
            ent.staff.tolist(),
            strict=True,
        ):
            if not staff and a >= 0:
                self._enter(s, a, m, t)
        if self.open and not self.core.shut[0]:
            inside = self._inside()
            if len(inside) < self.n_shoppers:  # someone left: whose party is gone?
                left = set(self.open) - set(inside.tolist())
                for a in sorted(left):
                    self._visit(a, t)
            self.n_shoppers = len(inside)

    def _visit(self, account: int, exit_s: float) -> None:
        entry, member, size = self.open.pop(account)
        self.rows.add(
            "visits", account=account, member=member, party_size=size, entry_s=entry, exit_s=exit_s
        )

    def before(self, action: Any, info: dict) -> tuple[Any, dict]:
        """What the decision about to be taken will write; call before ``env.step``."""
        core, action = self.core, int(action)
        rec = core.head(0)
        review = action == core.K + 1 and core.credit[0] >= 1.0
        lines, counts, _ = core.outcome(0, rec, action, review)
        return rec, {
            "action": action,
            "review": review,
            "lines": lines,
            "correct": counts[1] == 0 and counts[2] == 0,
            "oracle_action": int(info["oracle_action"]),
        }

    def after(self, pending: tuple[Any, dict], info: dict, reward: float) -> None:
        rec, d = pending
        hz = self.hz
        self.rows.add(
            "shelf_events",
            event_index=rec.index,
            plate=rec.plate,
            product=rec.product,
            t_start_s=rec.t_start / hz,
            t_end_s=rec.t_end / hz,
            t_detect_s=rec.t_detect / hz,
            dw_kg=rec.dw,
            n_candidates=rec.n_cand,
            action=d["action"],
            review=d["review"],
            reward=reward,
            correct=d["correct"],
            oracle_action=d["oracle_action"],
        )
        for kind, lines in (("charged", d["lines"]), ("true", rec.truth)):
            for a, p, q in lines:
                self.rows.add(
                    "event_lines", event_index=rec.index, kind=kind, account=a, product=p, qty=q
                )

    def end(self, info: dict) -> dict:
        """Close the episode (its visits and receipt lines); returns the receipts to check."""
        for a in list(self.open):  # flushed at the close: still inside
            self._visit(a, float("nan"))
        led = self.core.ledgers[0]
        price = np.asarray(self.core.catalog.price, np.float64)
        seen = np.flatnonzero(led.seen)
        true, charged = led.true[seen], np.maximum(led.charged[seen], 0)
        r, p = np.nonzero((true > 0) | (charged > 0))
        n = len(r)
        self.rows.extend(
            "receipt_lines",
            n,
            account=seen[r],
            product=p,
            product_name=np.asarray(self.names, dtype=object)[p],
            qty_charged=charged[r, p],
            qty_true=true[r, p],
            list_price=price[p],
            price_paid=price[p],
            discount=0.0,
            member_offer=False,
        )
        return info["receipts"]


class PromotionLog:
    """Rows of Promotion episodes: ``before`` and ``after`` around each step."""

    tables = TASK_TABLES["promotion"]

    def __init__(self, env):
        self.env = env.unwrapped
        self.rows = _Rows(self.tables)
        p = self.env.params
        self.n = p.catalog.n_products
        self.names = np.asarray(p.catalog.name, dtype=object)

    def begin(self, episode: int, seed: int) -> None:
        self.rows.episode, self.rows.seed = episode, seed

    def _cumulative(self) -> dict[str, np.ndarray]:
        st = self.env.state.inv
        return {"spoiled": st.spoiled[0].copy(), "received": st.received[0].copy()}

    def before(self, action: Any, info: dict) -> None:
        """The reference prices, period hour and stock books before the period is played."""
        env = self.env
        self.cum = self._cumulative()
        self.ref = env.state.demand.ref[0].copy()  # (S, N)
        self.hour = pcore.period_hour(env.params, env.state.period)

    def after(self, pending: None, info: dict, reward: float) -> None:
        env, p, n = self.env, self.env.params, self.n
        st, cat = env.state, env.params.catalog
        period = st.period - 1
        price = st.price[0]  # (S, N)
        lst = np.asarray(cat.price, np.float64)
        rows = self.rows
        rows.extend(
            "prices",
            n,
            period=period,
            product=np.arange(n),
            product_name=self.names,
            category=np.asarray(cat.category),
            list_price=lst,
            unit_cost=np.asarray(cat.cost, np.float64),
            price_nonmember=price[0],
            price_member=price[1],
            discount=st.depth[0],
            member_offer=st.member_only[0],
            endcap=pcore.endcap_exposure(p, st.price)[0],
        )
        visits = dm.expected_visits(p.model, np.array([self.hour]), p.config.period_h)[0]
        for s in range(dm.N_SEGMENTS):
            units = st.units[0, s]
            rows.extend(
                "sales",
                n,
                period=period,
                product=np.arange(n),
                member=bool(s),
                units=units,
                price_paid=price[s],
                revenue=units * price[s],
                visits=visits[s],
                ref_price=self.ref[s],
            )
        cum = self._cumulative()
        rows.extend(
            "inventory",
            n,
            period=period,
            product=np.arange(n),
            sold=st.units[0].sum(axis=0),
            lost=st.lost[0],
            spoiled=cum["spoiled"] - self.cum["spoiled"],
            received=cum["received"] - self.cum["received"],
            on_hand=st.inv.on_hand[0],
            on_order=st.inv.on_order[0],
        )
        rw = info["rewards"]
        rows.add(
            "periods",
            period=period,
            hour=self.hour,
            revenue=rw["revenue"],
            cogs=-rw["cogs"],
            spoilage_cost=-rw["spoilage"],
            holding=-rw["holding"],
            profit=info["kpis"]["profit"],
            reward=reward,
        )

    def end(self, info: dict) -> dict:
        return info["episode_kpis"]


def schema_markdown() -> str:
    """Every table's columns as Markdown (docs/data.md shows it; a test keeps them equal)."""
    out = []
    for task, tables in TASK_TABLES.items():
        for table in tables:
            out += [
                f"**{task.title()}: `{table}.parquet`**",
                "",
                "| column | type | meaning |",
                "|---|---|---|",
            ]
            for col, (dtype, doc) in {**KEYS, **SCHEMAS[table]}.items():
                kind = "string (dictionary: pandas category)" if dtype == "dict" else dtype
                out.append(f"| `{col}` | {kind} | {doc.replace('TRUTH ', '**truth:** ')} |")
            out.append("")
    return "\n".join(out).rstrip()
