"""Every hard-case switch: its situation really happens when on, and never when off."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from retail_env.sim.config import make_config
from retail_env.sim.state import HANDOFF, PICK, PUT, RESTOCK, TOUCH, Truth
from retail_env.sim.store import make_params, reset, step
from tests.test_sim_config import SWITCHES

N_TICKS = 3000


def _run(cfg):
    pr = make_params(cfg)
    st, rng = reset(pr, [7, 8, 9, 10, 11, 12])
    parts, crossed_blocked = [], 0
    for _ in range(N_TICKS):
        tr = step(st, pr, rng).truth
        if len(tr):
            parts.append(tr)
            hand = (tr.kind == PICK) | (tr.kind == PUT)
            acc = pr.layout.plate_access[np.maximum(tr.plate, 0)]
            off = hand & (tr.cell != acc)
            crossed_blocked += int((st.occ[tr.store[off], acc[off]] > 0).sum())
    truth = Truth(
        **{
            f.name: np.concatenate([getattr(p, f.name) for p in parts])
            for f in dataclasses.fields(Truth)
        }
    )
    return pr, st, truth, crossed_blocked


@pytest.fixture(scope="module")
def on():
    # more wrong-place put-backs than the preset so each situation shows up in 5 minutes
    return _run(
        make_config(
            "hard",
            demand={"daily_visits": 8000.0},
            plate_capacity=6,
            shoppers={"p_wrong_place": 0.6, "p_take_foreign": 0.9},
        )
    )


@pytest.fixture(scope="module")
def off():
    return _run(
        make_config("medium", hard={k: False for k in SWITCHES}, demand={"daily_visits": 8000.0})
    )


def _hand(t):
    return (t.kind == PICK) | (t.kind == PUT)


def test_simultaneous_picks(on, off):
    gap = on[0].t["gap"]

    def close_pairs(t, window):
        m = t.kind == PICK
        s, p, k, w, who = t.store[m], t.plate[m], t.product[m], t.tick[m], t.shopper[m]
        n = 0
        for i in range(len(s)):  # test-side check over a few hundred rows
            j = (
                (s == s[i])
                & (p == p[i])
                & (k == k[i])
                & (who != who[i])
                & (np.abs(w - w[i]) <= window)
            )
            n += int(j.sum())
        return n

    assert close_pairs(on[2], 20) > 0  # two shoppers, one product, one plate, within 2 s
    t = off[2]
    m = _hand(t)
    s, p, w, who = t.store[m], t.plate[m], t.tick[m], t.shopper[m]
    for i in range(len(s)):
        j = (s == s[i]) & (p == p[i]) & (who != who[i])
        assert (np.abs(w[j] - w[i]) >= gap).all()


def test_wrong_place_put_back_later_bought_by_someone_else(on, off):
    pr, _, t, _ = on
    truth_prod = pr.planogram.truth
    wrong = (t.kind == PUT) & (t.product != truth_prod[np.maximum(t.plate, 0)])
    assert wrong.sum() > 0
    bought = 0
    for i in np.flatnonzero(wrong):
        later = (
            (t.kind == PICK)
            & (t.store == t.store[i])
            & (t.plate == t.plate[i])
            & (t.product == t.product[i])
            & (t.tick > t.tick[i])
            & (t.shopper != t.shopper[i])
        )
        bought += int(later.any())
    assert bought > 0
    pr, _, t, _ = off
    h = _hand(t)
    assert (t.product[h] == pr.planogram.truth[t.plate[h]]).all()


def test_look_alikes_stand_side_by_side(on, off):
    def pairs(pr):
        cat, plano = pr.catalog, pr.planogram.truth
        nb = pr.layout.plate_neighbors[:, 1]
        a, b = np.flatnonzero(nb >= 0), nb[nb >= 0]
        pa, pb = plano[a], plano[b]
        same = (pa != pb) & (cat.lookalike[pa] >= 0) & (cat.lookalike[pa] == cat.lookalike[pb])
        return same, pa, pb

    same, pa, pb = pairs(on[0])
    assert same.any()
    cat = on[0].catalog
    assert np.allclose(cat.unit_weight[pa[same]], cat.unit_weight[pb[same]])
    assert (cat.price[pa[same]] != cat.price[pb[same]]).all()
    assert not pairs(off[0])[0].any() and (off[0].catalog.lookalike == -1).all()


def test_handoffs_between_group_members(on, off):
    t = on[2]
    h = t.kind == HANDOFF
    assert h.sum() > 0 and (t.other[h] >= 0).all() and (t.plate[h] == -1).all()
    assert (t.other[h] != t.shopper[h]).all()
    assert (off[2].kind != HANDOFF).all()


def test_crowd_crossed_reaches(on, off):
    pr, _, t, blocked = on
    h = _hand(t)
    beside = t.cell[h] != pr.layout.plate_access[t.plate[h]]
    assert beside.sum() > 0 and blocked > 0
    pr, _, t, _ = off
    h = _hand(t)
    assert (t.cell[h] == pr.layout.plate_access[t.plate[h]]).all()


def test_wrong_planogram(on, off):
    plano = on[0].planogram
    wrong = plano.believed != plano.truth
    assert 0 < wrong.mean() <= 0.2
    assert np.array_equal(off[0].planogram.believed, off[0].planogram.truth)


def test_hand_rest(on, off):
    t = on[2]
    touch = t.kind == TOUCH
    assert touch.sum() > 0 and (t.qty[touch] == 0).all() and (t.dw[touch] == 0).all()
    assert on[0].force.max() >= on[0].config.shoppers.rest_force_kg
    assert (off[2].kind != TOUCH).all()


def test_multi_item_picks(on, off):
    t = on[2]
    assert (t.qty[t.kind == PICK] >= 2).any()
    t = off[2]
    assert (t.qty[t.kind == PICK] == 1).all()


def test_produce_weights_spread(on, off):
    pr, _, t, _ = on
    var = pr.catalog.variable_weight
    assert var.any()
    m = (t.kind == PICK) & var[t.product] & (t.qty == 1)
    per_item = -t.dw[m]
    assert m.sum() >= 5
    k = t.product[m]
    cv = np.std(per_item / pr.unit_w[k])
    assert cv > 0.05  # USDA/[A] produce spread ~10-15 %
    assert not off[0].catalog.variable_weight.any()


def test_staff_restock(on, off):
    pr, st, t, _ = on
    r = t.kind == RESTOCK
    assert r.sum() > 0 and (t.account[r] == -1).all() and (t.shopper[r] == 0).all()
    assert st.restocked.sum() == t.qty[r].sum()
    assert (t.dw[r] > 0).all()
    assert (off[2].kind != RESTOCK).all() and off[1].restocked.sum() == 0
