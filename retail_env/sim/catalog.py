"""The product catalog: what the store sells, as frozen arrays over products.

Deterministic (no randomness): a named assortment picks categories and products
from a sourced table below, and the switches drop look-alikes or produce. The
simulator builds the planogram (plate -> product) from the ``Catalog``; the
demand model reads ``price``, ``category`` and the list-price calibration
(``category_penetration``, ``popularity``).

Sources:
- Gross margins by category: NACS State of the Industry (c-store), National
  Grocers Association 2020 (produce), CSNews 2020 (candy, salty snacks).
- Unit weight = label net contents + package tare ([A] can 14 g, PET 20 g).
- Packaged-goods weight spread: sd = TNE / 2 ([A]), TNE from Directive
  76/211/EEC Annex I (:func:`tolerable_negative_error_kg`).
- Produce: USDA SR weights (banana 118 g, apple 182 g, orange 131 g); banana sd
  18 g [A]; graded retail fruit CV 10 % [A] (Zhang & Robson).
- Shelf lives: milk 5-7 d, ripe banana 3-4 d, apple 7-21 d, bread 5-7 d
  (refrigerated storage-life chart); sandwiches 2-3 d [A].
- Shelf prices: [A] US c-store shelf prices, 2023 (basket $7.52, NACS 2023).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from retail_env.sim.validation import ConfigError, config, spec

INF = math.inf

# --- categories ---------------------------------------------------------------
# key: (display name, gross margin, penetration)
# margin: share of the shelf price that is gross margin (sources above).
# penetration: probability that a non-member visit buys from the category at list
#   prices. [A] chosen so the c-store assortment covers ~1.3 of the 2.6-3.0 items
#   per c-store basket (NACS / MSA via CSP); the rest is tobacco, fuel, etc.
CATEGORIES: dict[str, tuple[str, float, float]] = {
    "soft_drinks": ("Soft drinks", 0.425, 0.30),  # packaged beverages, NACS SOI 2020
    "water": ("Water", 0.425, 0.18),  # packaged beverages, NACS SOI 2020
    "salty_snacks": ("Salty snacks", 0.38, 0.18),  # CSNews 2020
    "candy": ("Candy", 0.49, 0.16),  # CSNews 2020
    "dairy": ("Dairy", 0.30, 0.12),  # secondary blog (supermarkets)
    "bakery": ("Bakery", 0.55, 0.10),  # secondary blog (supermarkets)
    "produce": ("Produce", 0.308, 0.10),  # National Grocers Association 2020
    "prepared": ("Prepared food", 0.473, 0.20),  # NACS SOI 2024
    "juice": ("Chilled juice", 0.425, 0.10),  # packaged beverages, NACS SOI 2020
    "deli": ("Deli", 0.473, 0.10),  # prepared food, NACS SOI 2024
}

# --- products -----------------------------------------------------------------
# (name, category, price $, net kg, tare kg, shelf life h, look-alike key, popularity, produce sd kg)
# popularity: relative unit share within the category at list prices [A].
# produce sd kg: None for packaged goods (sd = TNE/2 of the net contents).
_H_DAY = 24.0
PRODUCTS: tuple[tuple, ...] = (
    ("Cola 355ml", "soft_drinks", 1.99, 0.355, 0.014, INF, "can355", 0.45, None),
    ("Diet cola 355ml", "soft_drinks", 2.19, 0.355, 0.014, INF, "can355", 0.30, None),
    ("Iced tea 500ml", "soft_drinks", 2.49, 0.500, 0.020, INF, None, 0.25, None),
    ("Spring water 500ml", "water", 1.49, 0.500, 0.020, INF, "pet500", 0.50, None),
    ("Mineral water 500ml", "water", 2.29, 0.500, 0.020, INF, "pet500", 0.25, None),
    ("Sparkling water 355ml", "water", 1.79, 0.355, 0.014, INF, None, 0.25, None),
    ("Potato chips 50g", "salty_snacks", 2.19, 0.050, 0.003, INF, "bag50", 0.45, None),
    ("Tortilla chips 50g", "salty_snacks", 2.49, 0.050, 0.003, INF, "bag50", 0.30, None),
    ("Pretzels 45g", "salty_snacks", 1.89, 0.045, 0.003, INF, None, 0.25, None),
    ("Chocolate bar 50g", "candy", 1.99, 0.050, 0.002, INF, None, 0.45, None),
    ("Peanut bar 52g", "candy", 2.09, 0.052, 0.002, INF, None, 0.30, None),
    ("Mints 40g", "candy", 2.49, 0.040, 0.002, INF, None, 0.25, None),
    # milk 5-7 d; yogurt [A] 14 d; flavoured milk like milk
    ("Milk 1L", "dairy", 2.79, 1.030, 0.030, 6 * _H_DAY, None, 0.50, None),
    ("Yogurt 150g", "dairy", 1.59, 0.150, 0.008, 14 * _H_DAY, None, 0.25, None),
    ("Chocolate milk 500ml", "dairy", 2.49, 0.515, 0.020, 6 * _H_DAY, None, 0.25, None),
    # bread 5-7 d; croissant, muffin [A] 3-4 d
    ("White bread 600g", "bakery", 3.49, 0.600, 0.010, 6 * _H_DAY, None, 0.45, None),
    ("Croissants 2-pack", "bakery", 3.29, 0.120, 0.010, 3 * _H_DAY, None, 0.30, None),
    ("Muffin", "bakery", 2.49, 0.110, 0.008, 4 * _H_DAY, None, 0.25, None),
    # banana 3-4 d ripe; apple 7-21 d; orange [A] 14 d
    ("Banana", "produce", 0.39, 0.118, 0.0, 3.5 * _H_DAY, None, 0.50, 0.018),
    ("Apple", "produce", 0.89, 0.182, 0.0, 14 * _H_DAY, None, 0.30, 0.0182),
    ("Orange", "produce", 0.99, 0.131, 0.0, 14 * _H_DAY, None, 0.20, 0.0131),
    # sandwiches 2-3 d [A]; salad, wrap [A] 2-2.5 d
    ("Sandwich", "prepared", 5.49, 0.180, 0.025, 2.5 * _H_DAY, None, 0.45, None),
    ("Salad bowl", "prepared", 6.49, 0.250, 0.030, 2 * _H_DAY, None, 0.25, None),
    ("Wrap", "prepared", 5.99, 0.200, 0.020, 2.5 * _H_DAY, None, 0.30, None),
    # chilled juice [A] 7 d (like milk)
    ("Orange juice 1L", "juice", 3.99, 1.040, 0.030, 7 * _H_DAY, "jug1l", 0.45, None),
    ("Apple juice 1L", "juice", 3.49, 1.040, 0.030, 7 * _H_DAY, "jug1l", 0.30, None),
    ("Smoothie 250ml", "juice", 3.79, 0.260, 0.020, 5 * _H_DAY, None, 0.25, None),
    # deli [A] 5-21 d once opened by the store
    ("Sliced ham 150g", "deli", 4.49, 0.150, 0.012, 5 * _H_DAY, "tray150", 0.45, None),
    ("Sliced turkey 150g", "deli", 4.99, 0.150, 0.012, 5 * _H_DAY, "tray150", 0.30, None),
    ("Cheese slices 200g", "deli", 3.99, 0.200, 0.012, 21 * _H_DAY, None, 0.25, None),
)

# Named assortments: (categories, products per category).
ASSORTMENTS: dict[str, tuple[tuple[str, ...], int]] = {
    # c-store: 8 categories x 3 = 24 products, 4 of them perishable categories
    "cstore": (
        ("soft_drinks", "water", "salty_snacks", "candy", "dairy", "bakery", "produce", "prepared"),
        3,
    ),
    # fresh-heavy format (Amazon Go style): 6 of 8 categories perishable
    "fresh": (
        ("soft_drinks", "salty_snacks", "dairy", "bakery", "produce", "prepared", "juice", "deli"),
        3,
    ),
    # small and fast, for tests and quick training: 4 categories x 2 products
    "mini": (("soft_drinks", "salty_snacks", "dairy", "produce"), 2),
}


def tolerable_negative_error_kg(net_kg: float) -> float:
    """TNE for a nominal quantity (Directive 76/211/EEC Annex I), in kg."""
    g = net_kg * 1000.0
    if g <= 50:
        t = 0.09 * g
    elif g <= 100:
        t = 4.5
    elif g <= 200:
        t = 0.045 * g
    elif g <= 300:
        t = 9.0
    elif g <= 500:
        t = 0.03 * g
    elif g <= 1000:
        t = 15.0
    else:
        t = 0.015 * g
    return t / 1000.0


@config
class CatalogConfig:
    """Which assortment the store carries."""

    assortment: str = spec("cstore", choices=tuple(ASSORTMENTS), doc="named assortment")
    look_alikes: bool = spec(
        True, choices=(True, False), doc="keep equal-weight look-alike pairs (else drop the second)"
    )
    produce: bool = spec(True, choices=(True, False), doc="carry variable-weight produce")
    shelf_life_scale: float = spec(1.0, lo=0.1, hi=10.0, doc="multiplies every finite shelf life")


@dataclasses.dataclass(frozen=True, eq=False)
class Catalog:
    """Frozen arrays over products (N) and categories (C); read-only."""

    name: tuple[str, ...]
    category: np.ndarray  # (N,) int category index
    category_names: tuple[str, ...]
    price: np.ndarray  # (N,) list price, $
    cost: np.ndarray  # (N,) unit cost, $
    unit_weight: np.ndarray  # (N,) mean gross unit weight, kg
    weight_sd: np.ndarray  # (N,) unit-to-unit weight sd, kg
    shelf_life_h: np.ndarray  # (N,) hours (inf if not perishable)
    lookalike: np.ndarray  # (N,) look-alike group id or -1
    perishable: np.ndarray  # (N,) bool
    variable_weight: np.ndarray  # (N,) bool (produce)
    popularity: np.ndarray  # (N,) unit share within its category at list price
    category_penetration: np.ndarray  # (C,) P(non-member visit buys in category) at list

    @property
    def n_products(self) -> int:
        return len(self.name)

    @property
    def n_categories(self) -> int:
        return len(self.category_names)

    @property
    def margin(self) -> np.ndarray:
        """Gross margin share at list price, (N,)."""
        return 1.0 - self.cost / self.price


def _frozen(a, dtype) -> np.ndarray:
    out = np.asarray(a, dtype=dtype)
    out.setflags(write=False)
    return out


def build_catalog(cfg: CatalogConfig | None = None) -> Catalog:
    """The catalog for ``cfg`` (default: 24-product c-store)."""
    cfg = cfg or CatalogConfig()
    cats, per_cat = ASSORTMENTS[cfg.assortment]
    if not cfg.produce:
        cats = tuple(c for c in cats if c != "produce")
    rows = []
    seen_groups: set[str] = set()
    for c in cats:
        in_cat = [p for p in PRODUCTS if p[1] == c][:per_cat]
        for p in in_cat:
            group = p[6]
            if group is not None and not cfg.look_alikes and group in seen_groups:
                continue
            if group is not None:
                seen_groups.add(group)
            rows.append(p)
    if not rows:
        raise ConfigError(f"assortment {cfg.assortment!r} with produce={cfg.produce} is empty")

    cat_index = {c: i for i, c in enumerate(cats)}
    groups = [p[6] for p in rows if p[6] is not None and cfg.look_alikes]
    paired = [g for g in dict.fromkeys(groups) if groups.count(g) > 1]  # first-seen order
    group_id = {g: i for i, g in enumerate(paired)}

    price = np.array([p[2] for p in rows])
    margin = np.array([CATEGORIES[p[1]][1] for p in rows])
    net = np.array([p[3] for p in rows])
    tare = np.array([p[4] for p in rows])
    sd = np.array(
        [p[8] if p[8] is not None else tolerable_negative_error_kg(p[3]) / 2.0 for p in rows]
    )
    life = np.array([p[5] for p in rows]) * cfg.shelf_life_scale
    pop = np.array([p[7] for p in rows])
    category = np.array([cat_index[p[1]] for p in rows])
    for ci in range(len(cats)):  # popularity sums to 1 within each category
        pop[category == ci] /= pop[category == ci].sum()

    return Catalog(
        name=tuple(p[0] for p in rows),
        category=_frozen(category, np.int64),
        category_names=tuple(CATEGORIES[c][0] for c in cats),
        price=_frozen(price, np.float64),
        cost=_frozen(np.round(price * (1.0 - margin), 4), np.float64),
        unit_weight=_frozen(net + tare, np.float64),
        weight_sd=_frozen(sd, np.float64),
        shelf_life_h=_frozen(life, np.float64),
        lookalike=_frozen([group_id.get(p[6], -1) for p in rows], np.int64),
        perishable=_frozen(np.isfinite(life), bool),
        variable_weight=_frozen([p[8] is not None for p in rows], bool),
        popularity=_frozen(pop, np.float64),
        category_penetration=_frozen([CATEGORIES[c][2] for c in cats], np.float64),
    )
