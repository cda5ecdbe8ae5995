"""The store's books, reproducibility, batch == single store, walls, and everyone leaving."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from retail_env.sim.config import make_config
from retail_env.sim.layout import WALKABLE
from retail_env.sim.state import BATCH_FIELDS, HANDOFF, PICK, PUT, store_axis
from retail_env.sim.store import make_params, reset, reset_stores, step

HARD = make_params(make_config("hard"))


def _store_view(full, part, b: int, prefix: str = "") -> tuple[dict, dict]:
    """Arrays of store ``b`` of batch ``full`` and of single-store ``part``, field by field."""
    a, c = {}, {}
    for f in dataclasses.fields(full):
        if f.name in BATCH_FIELDS:
            continue
        x, y = getattr(full, f.name), getattr(part, f.name)
        if isinstance(x, np.ndarray):
            ax = store_axis(x, y)  # constants (same shape) compare whole
            a[prefix + f.name] = x if ax is None else np.take(x, [b], axis=ax)
            c[prefix + f.name] = y
        elif dataclasses.is_dataclass(x) and not isinstance(x, type):
            a2, c2 = _store_view(x, y, b, prefix + f.name + ".")
            a.update(a2)
            c.update(c2)
    return a, c


def _all_arrays(obj, prefix: str = "") -> dict:
    out = {}
    for f in dataclasses.fields(obj):
        x = getattr(obj, f.name)
        if isinstance(x, np.ndarray):
            out[prefix + f.name] = x
        elif dataclasses.is_dataclass(x) and not isinstance(x, type):
            out.update(_all_arrays(x, prefix + f.name + "."))
    return out


def _rows(rec, b: int) -> dict:
    keep = rec.store == b
    return {
        f.name: getattr(rec, f.name)[keep] for f in dataclasses.fields(rec) if f.name != "store"
    }


def _tick_rows(out, b: int) -> dict:
    rows = {}
    for part in ("truth", "exits", "entries", "events"):
        for k, v in _rows(getattr(out, part), b).items():
            rows[f"{part}.{k}"] = v
    return rows


def _assert_same(a: dict, b: dict, where: str) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=f"{where}: {k}")


def test_books_balance_every_tick_and_shoppers_stay_on_the_floor():
    pr = HARD
    st, rng = reset(pr, [3, 4])
    walkable = np.isin(pr.layout.grid.ravel(), WALKABLE)
    moved = 0
    for _ in range(2500):
        out = step(st, pr, rng)
        bal = st.books_balance()
        assert not bal.any(), f"books off at tick {st.tick[0]}: {bal}"
        assert walkable[st.cell[st.present]].all()
        assert (st.stock >= 0).all() and (st.basket >= 0).all()
        assert np.array_equal(st.plate_count, st.stock.sum(axis=2))
        assert (
            st.occ
            == np.stack(
                [
                    np.bincount(st.cell[i][st.present[i]], minlength=st.occ.shape[1])
                    for i in range(2)
                ]
            )
        ).all()
        moved += int((out.truth.kind == PICK).sum())
    assert moved > 50 and st.n_exited.sum() > 10
    assert (st.weight >= -1e-9).all()


def test_seeded_runs_are_identical_bit_for_bit():
    pr = HARD
    runs = []
    for _ in range(2):
        st, rng = reset(pr, [11, 12])
        outs = [step(st, pr, rng) for _ in range(800)]
        runs.append((st, outs))
    (s1, o1), (s2, o2) = runs
    _assert_same(_all_arrays(s1), _all_arrays(s2), "state")
    for b in range(2):
        for t in range(0, 800, 7):
            _assert_same(_tick_rows(o1[t], b), _tick_rows(o2[t], b), f"tick {t}")


def test_store_i_of_a_batch_equals_that_seed_alone():
    pr, seed, n = HARD, 40, 1500
    st, rng = reset(pr, [seed + i for i in range(4)])
    batch = [step(st, pr, rng) for _ in range(n)]
    assert st.n_entered.min() > 5
    for i in range(4):
        s1, r1 = reset(pr, [seed + i])
        single = [step(s1, pr, r1) for _ in range(n)]
        for t in range(n):
            _assert_same(_tick_rows(batch[t], i), _tick_rows(single[t], 0), f"store {i} tick {t}")
        _assert_same(*_store_view(st, s1, i), f"store {i} state")


def test_reset_stores_matches_a_fresh_store():
    pr = HARD
    st, rng = reset(pr, [1, 2, 3])
    for _ in range(700):
        step(st, pr, rng)
    reset_stores(st, pr, rng, np.array([False, True, False]), [99])
    assert st.tick[1] == 0 and st.tick[0] == 700 and not st.present[1].any()
    s1, r1 = reset(pr, [99])
    for t in range(900):
        o, o1 = step(st, pr, rng), step(s1, pr, r1)
        _assert_same(_tick_rows(o, 1), _tick_rows(o1, 0), f"tick {t}")
    _assert_same(*_store_view(st, s1, 1), "state")
    with pytest.raises(ValueError):
        reset_stores(st, pr, rng, [0, 1], [5])


def test_everyone_who_enters_leaves_with_their_receipt():
    """After the doors close everybody walks out; exits per account = picks - puts."""
    cfg = make_config("hard")
    pr = make_params(cfg)
    closed = make_params(make_config("hard", demand={"daily_visits": 1.0}))
    st, rng = reset(pr, [5, 6])
    truth, exits, entered = [], [], []
    for t in range(20_000):
        out = step(st, pr if t < 2500 else closed, rng)
        truth.append(out.truth)
        exits.append(out.exits)
        entered.append(out.entries)
        if t > 2500 and not st.present.any():
            break
    assert not st.present.any(), "someone never left"
    assert np.array_equal(st.n_entered, st.n_exited) and st.n_entered.sum() > 30
    assert st.basket.sum() == 0
    n = pr.n_products
    acc_max = int(st.next_account.max()) + 1
    ledger = np.zeros((2, acc_max, n), np.int64)
    for tr in truth:
        sign = np.select([tr.kind == PICK, tr.kind == PUT], [1, -1], 0)
        who = tr.account >= 0
        np.add.at(ledger, (tr.store[who], tr.account[who], tr.product[who]), (sign * tr.qty)[who])
        ho = tr.kind == HANDOFF
        assert st.account.shape and (tr.account[ho] >= 0).all()
    out_ledger = np.zeros_like(ledger)
    for ex in exits:
        np.add.at(out_ledger, (ex.store, ex.account, ex.product), ex.qty)
    assert np.array_equal(ledger, out_ledger)
    assert out_ledger.sum() > 0
    assert np.array_equal(out_ledger.sum(axis=1), st.exited)


def test_medium_preset_holds_about_thirty_shoppers():
    pr = make_params("medium")
    st, rng = reset(pr, list(range(8)))
    counts = []
    for t in range(4000):
        out = step(st, pr, rng)
        if t >= 2500:
            counts.append(out.n_active / 8)
    assert 24 <= np.mean(counts) <= 34
