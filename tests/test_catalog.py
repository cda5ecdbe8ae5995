"""Catalog: sourced numbers land where they should, switches work, arrays are frozen."""

from __future__ import annotations

import numpy as np
import pytest

from retail_env.sim.catalog import (
    ASSORTMENTS,
    CatalogConfig,
    build_catalog,
    tolerable_negative_error_kg,
)
from retail_env.sim.validation import ConfigError, from_dict


def test_default_is_24_products_in_8_categories():
    cat = build_catalog()
    assert cat.n_products == 24 and cat.n_categories == 8
    assert len(cat.category_names) == 8
    assert set(np.unique(cat.category)) == set(range(8))
    for a in (cat.price, cat.cost, cat.unit_weight, cat.weight_sd, cat.popularity):
        assert a.shape == (24,)


@pytest.mark.parametrize("assortment", list(ASSORTMENTS))
def test_economics_are_sane(assortment):
    cat = build_catalog(CatalogConfig(assortment=assortment))
    assert np.all(cat.cost > 0) and np.all(cat.cost < cat.price)
    assert np.all((cat.margin > 0.1) & (cat.margin < 0.6))
    for c in range(cat.n_categories):
        assert cat.popularity[cat.category == c].sum() == pytest.approx(1.0)
    assert np.all((cat.category_penetration > 0) & (cat.category_penetration < 1))
    assert np.array_equal(cat.perishable, np.isfinite(cat.shelf_life_h))


def test_cited_weights_and_margins():
    cat = build_catalog()
    i = cat.name.index("Cola 355ml")
    assert cat.unit_weight[i] == pytest.approx(0.369)  # 355 g + 14 g can
    assert cat.weight_sd[i] == pytest.approx(0.03 * 0.355 / 2)  # TNE 3 % / 2
    assert cat.margin[i] == pytest.approx(0.425, abs=1e-3)  # NACS packaged beverages
    banana = cat.name.index("Banana")
    assert cat.variable_weight[banana] and cat.weight_sd[banana] == pytest.approx(0.018)
    assert cat.shelf_life_h[cat.name.index("Milk 1L")] == pytest.approx(144.0)


def test_tne_table():
    assert tolerable_negative_error_kg(0.030) == pytest.approx(0.0027)  # 9 %
    assert tolerable_negative_error_kg(0.080) == pytest.approx(0.0045)  # 4.5 g
    assert tolerable_negative_error_kg(0.250) == pytest.approx(0.009)  # 9 g
    assert tolerable_negative_error_kg(0.750) == pytest.approx(0.015)  # 15 g


def test_lookalikes_have_equal_weight_and_different_price():
    cat = build_catalog()
    groups = cat.lookalike[cat.lookalike >= 0]
    assert len(np.unique(groups)) >= 2
    for g in np.unique(groups):
        idx = np.flatnonzero(cat.lookalike == g)
        assert len(idx) >= 2
        assert np.ptp(cat.unit_weight[idx]) == 0
        assert np.ptp(cat.price[idx]) > 0


def test_switches():
    off = build_catalog(CatalogConfig(look_alikes=False, produce=False))
    assert np.all(off.lookalike == -1)
    assert not off.variable_weight.any() and "Produce" not in off.category_names
    assert off.n_products < 24
    fresh = build_catalog(CatalogConfig(assortment="fresh"))
    assert fresh.perishable.mean() > build_catalog().perishable.mean()
    short = build_catalog(CatalogConfig(shelf_life_scale=0.5))
    p = short.perishable
    assert np.allclose(short.shelf_life_h[p], build_catalog().shelf_life_h[p] * 0.5)


def test_deterministic_and_frozen():
    a, b = build_catalog(), build_catalog()
    assert a.name == b.name and np.array_equal(a.cost, b.cost)
    with pytest.raises(ValueError):
        a.price[0] = 0.0


def test_bad_config_names_key():
    with pytest.raises(ConfigError, match="assortment"):
        CatalogConfig(assortment="hypermarket")
    with pytest.raises(ConfigError, match="shelf_life_scale"):
        from_dict(CatalogConfig, {"shelf_life_scale": 0.0})
