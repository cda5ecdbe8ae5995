"""Receipt metrics on hand-made episodes (put-backs, hand-offs, no one, reviews)."""

from __future__ import annotations

import numpy as np
import pytest

from retail_env.envs.attribution.receipts import RECEIPT_KEYS, ledger_add, receipt_metrics

PRICE = np.array([2.0, 5.0, 1.5])  # water, sandwich, candy


def _ledger(charges, n_accounts=2, n_products=3):
    """Signed ledger from hand-written (account, product, qty) charges."""
    ledger = np.zeros((n_accounts, n_products), dtype=np.int64)
    if charges:
        a, p, q = (np.array(c) for c in zip(*charges, strict=True))
        ledger_add(ledger, a, p, q)
    return ledger


def _score(true, charges, n_events=None, n_reviews=0):
    true = np.asarray(true)
    n_events = len(charges) if n_events is None else n_events
    return receipt_metrics(true, _ledger(charges, *true.shape), PRICE, n_events, n_reviews)


def test_all_keys_present_and_perfect_receipts_score_one():
    true = [[2, 0, 1], [0, 1, 0]]
    m = _score(true, [(0, 0, 1), (0, 0, 1), (0, 2, 1), (1, 1, 1)])
    assert set(RECEIPT_KEYS) <= set(m)
    assert m["exact_match"] == m["precision"] == m["recall"] == m["f1"] == 1.0
    assert m["overcharge_value"] == m["undercharge_value"] == 0.0


def test_put_back_to_the_same_plate_cancels_the_pick():
    # Shopper 0 takes two waters and puts one back: leaves with one.
    m = _score([[1, 0, 0], [0, 0, 0]], [(0, 0, 2), (0, 0, -1)])
    assert m["exact_match"] == 1.0 and m["f1"] == 1.0


def test_ignoring_a_put_back_overcharges():
    # The put-back was decided "no one": shopper 0 pays for a water they returned.
    m = _score([[1, 0, 0], [0, 0, 0]], [(0, 0, 2)], n_events=2)
    assert m["exact_match"] == 0.5  # shopper 1 (empty basket, empty receipt) is right
    assert m["precision"] == pytest.approx(1 / 2)
    assert m["recall"] == 1.0
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["overcharge_value"] == pytest.approx(2.0)
    assert m["undercharge_value"] == 0.0


def test_put_back_charged_to_the_wrong_shopper():
    # 0 takes a water and returns it; 1 takes a sandwich. The return is charged to 1.
    true = [[0, 0, 0], [0, 1, 0]]
    m = _score(true, [(0, 0, 1), (1, 1, 1), (1, 0, -1)])
    # 0's receipt: 1 water (over); 1's receipt: water line clipped at 0, sandwich right.
    assert m["exact_match"] == 0.5
    assert m["precision"] == pytest.approx(1 / 2)
    assert m["recall"] == 1.0
    assert m["overcharge_value"] == pytest.approx(2.0)


def test_negative_lines_are_clipped_not_refunded():
    # A put-back charged to someone who never had the item does not pay them.
    m = _score([[0, 0, 0], [0, 0, 1]], [(0, 0, -3), (1, 2, 1)])
    assert m["exact_match"] == 1.0 and m["undercharge_value"] == 0.0


def test_hand_off_between_accounts_is_scored_on_the_receiver():
    # 0 picks a sandwich and hands it to 1 (a friend on another account), who walks out with it.
    true = [[0, 0, 0], [0, 1, 0]]
    m = _score(true, [(0, 1, 1)])  # charged to the picker
    assert m["exact_match"] == 0.0
    assert m["precision"] == 0.0 and m["recall"] == 0.0 and m["f1"] == 0.0
    assert m["overcharge_value"] == pytest.approx(5.0)
    assert m["undercharge_value"] == pytest.approx(5.0)


def test_hand_off_inside_a_group_is_harmless():
    # A family pays on one account: the hand-off moves nothing between receipts.
    m = _score([[0, 1, 0], [0, 0, 0]], [(0, 1, 1)])
    assert m["exact_match"] == 1.0


def test_charges_to_no_one_are_dropped():
    ledger = _ledger([(-1, 0, 1), (1, 2, 0), (1, 2, 2)])
    np.testing.assert_array_equal(ledger, [[0, 0, 0], [0, 0, 2]])


def test_missed_item_is_undercharged_at_its_price():
    m = _score([[3, 0, 0], [0, 0, 0]], [(0, 0, 1)])
    assert m["recall"] == pytest.approx(1 / 3)
    assert m["precision"] == 1.0
    assert m["undercharge_value"] == pytest.approx(4.0)


def test_nothing_charged_and_nothing_taken():
    m = _score([[0, 0, 0], [0, 0, 0]], [], n_events=4)
    assert m["exact_match"] == m["f1"] == 1.0
    m = _score([[1, 0, 0], [0, 0, 0]], [], n_events=4)
    assert m["precision"] == 1.0 and m["recall"] == 0.0 and m["f1"] == 0.0
    empty = receipt_metrics(np.zeros((0, 3), int), np.zeros((0, 3), int), PRICE, 0, 0)
    assert empty["exact_match"] == 1.0 and empty["review_rate"] == 0.0


def test_review_rate_counts_reviews_per_decision():
    m = _score([[1, 0, 0], [0, 0, 0]], [(0, 0, 1)], n_events=40, n_reviews=2)
    assert m["review_rate"] == pytest.approx(0.05)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="shape"):
        receipt_metrics(np.zeros((2, 3), int), np.zeros((3, 3), int), PRICE, 1, 0)
    with pytest.raises(ValueError, match="negative"):
        receipt_metrics(-np.ones((2, 3), int), np.zeros((2, 3), int), PRICE, 1, 0)


def test_exact_match_nonempty_ignores_empty_receipts_for_empty_baskets():
    # Three accounts: 0 took a water (charged right), 1 took nothing (empty, right),
    # 2 took a sandwich that was never charged (wrong).
    true = [[1, 0, 0], [0, 0, 0], [0, 1, 0]]
    m = _score(true, [(0, 0, 1)], n_events=2)
    assert m["exact_match"] == pytest.approx(2 / 3)
    assert m["exact_match_nonempty"] == pytest.approx(1 / 2)  # accounts 0 and 2
    # Charging no one at all: exact on empty baskets only, 0 on the rest.
    assert _score(true, [], n_events=2)["exact_match_nonempty"] == 0.0
    # A charge to an empty basket makes that receipt count (and wrong).
    m = _score([[0, 0, 0], [0, 0, 0]], [(1, 2, 1)])
    assert m["exact_match"] == 0.5 and m["exact_match_nonempty"] == 0.0
    assert _score([[0, 0, 0]], [], n_events=0)["exact_match_nonempty"] == 1.0
