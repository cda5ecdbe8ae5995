"""Drawing: shape, dtype and the colour of known pixels (headless, SDL_VIDEODRIVER=dummy)."""

from __future__ import annotations

import numpy as np
import pytest

from retail_env.render import (
    ALL_LAYERS,
    CORRECT,
    DISCOUNT,
    SHOPPER,
    STAFF,
    WRONG,
    FrameDrawer,
    FrameHeader,
    Layer,
    Renderer,
    draw_frame,
    make_frame,
)
from retail_env.render import palette as pal
from retail_env.render.draw import TRACK_R, surface_to_array
from retail_env.render.synthetic import demo_frame, demo_header


@pytest.fixture(scope="module")
def header():
    return demo_header()


@pytest.fixture(scope="module")
def drawer(header):
    return FrameDrawer(header)


def _frame(header, **kw):
    s = 3
    base = dict(
        shopper_pos=np.full((s, 2), np.nan),
        shopper_kind=np.full(s, -1),
        plate_stock_frac=np.ones(header.n_plates),
    )
    base.update(kw)
    return make_frame(header, 12.3, **base)


def _draw(drawer, frame, layers=ALL_LAYERS):
    import pygame

    return surface_to_array(drawer.draw(pygame.Surface(drawer.size), frame, layers))


def _at(img, xy):
    return tuple(int(v) for v in img[int(xy[1]), int(xy[0])])


def test_rgb_array_shape_and_dtype(header):
    img = draw_frame(header, demo_frame(header, 5))
    assert img.shape == (600, 800, 3) and img.dtype == np.uint8
    assert img.flags.writeable
    small = draw_frame(header, demo_frame(header, 5), size=(400, 300))
    assert small.shape == (300, 400, 3)


def test_shelf_pixels_show_category_and_stock(header, drawer):
    stock = np.ones(header.n_plates)
    stock[1], stock[2] = 0.0, 0.5
    img = _draw(drawer, _frame(header, plate_stock_frac=stock))
    full, empty, half = drawer.plate_rects[0], drawer.plate_rects[1], drawer.plate_rects[2]
    assert _at(img, full.center) == pal.category(header.plate_category[0])
    assert _at(img, empty.center) == pal.empty(pal.category(header.plate_category[1]))
    colour2 = pal.category(header.plate_category[2])
    assert _at(img, (half.centerx, half.top + 1)) == pal.empty(colour2)
    assert _at(img, (half.centerx, half.bottom - 2)) == colour2
    # The stock layer off shows every shelf full.
    img = _draw(drawer, _frame(header, plate_stock_frac=stock), ALL_LAYERS & ~Layer.STOCK)
    assert _at(img, empty.center) == pal.category(header.plate_category[1])


def test_shopper_staff_and_track_pixels(header, drawer):
    pos = np.array([[2.75, 0.75], [5.25, 0.75], [np.nan, np.nan]])  # row 1 cells
    frame = _frame(
        header,
        shopper_pos=pos,
        shopper_kind=[SHOPPER, STAFF, -1],
        shopper_account=[4, -1, -1],
        track_pos=[[7.25, 2.75]],
        track_account=[4],
    )
    img = _draw(drawer, frame)
    shopper, staff = drawer.to_px(pos[:2])
    assert _at(img, shopper) == pal.account(4)
    assert _at(img, staff) == pal.STAFF
    track = drawer.to_px(np.array([[7.25, 2.75]]))[0]
    r = max(5, int(drawer.cell * TRACK_R))
    assert _at(img, (track[0] + r - 1, track[1])) == pal.account(4)  # ring edge
    assert _at(img, track) == pal.FLOOR  # hollow ring
    no_people = _draw(drawer, frame, ALL_LAYERS & ~Layer.SHOPPERS)
    assert _at(no_people, shopper) == pal.FLOOR


def test_decision_marks_are_green_and_red(header, drawer):
    frame = _frame(header, decisions=[[3, WRONG, 0], [5, CORRECT, 0]])
    img = _draw(drawer, frame)
    width = drawer.decision_ring_width
    for plate, colour in ((3, pal.WRONG), (5, pal.CORRECT)):
        rect = drawer.plate_rects[plate]
        assert _at(img, (rect.centerx, rect.bottom + width // 2)) == colour
    old = _draw(drawer, _frame(header, decisions=[[3, WRONG, 10_000]]))
    rect = drawer.plate_rects[3]
    assert _at(old, (rect.centerx, rect.bottom + width // 2)) != pal.WRONG  # faded
    off = _draw(drawer, frame, ALL_LAYERS & ~Layer.DECISIONS)
    assert _at(off, (rect.centerx, rect.bottom + width // 2)) != pal.WRONG


def test_event_flash_and_promo_tag(header, drawer):
    flash = np.zeros(header.n_plates)
    flash[7] = 1.0
    promo = np.zeros(header.n_plates)
    promo[9] = DISCOUNT
    img = _draw(
        drawer,
        _frame(header, plate_event=flash, promo=promo, price_mult=np.where(promo > 0, 0.7, 1.0)),
    )
    width = max(2, drawer.cell // 5)
    rect = drawer.plate_rects[7]
    assert _at(img, (rect.centerx, rect.top - width // 2 - 1)) == pal.EVENT
    tag = drawer.plate_rects[9]
    assert _at(img, (tag.left + 2, tag.top + 2)) == pal.DISCOUNT


def test_price_label_reads_the_discount_once_per_run(header, drawer):
    """Three neighbouring plates on one shelf row at -30 %: one label spans the three."""
    run = next(r for r in drawer.plate_runs if len(r) >= 4)
    mult = np.ones(header.n_plates)
    mult[run[:3]] = 0.7
    promo = np.where(mult < 1, DISCOUNT, 0)
    img = _draw(drawer, _frame(header, price_mult=mult, promo=promo))
    box = drawer.plate_rects[run[0]].union(drawer.plate_rects[run[2]])
    y = box.bottom - 8  # a line through the label text
    line = [_at(img, (x, y)) for x in range(box.left, box.right)]
    label = [i for i, c in enumerate(line) if c in (pal.DISCOUNT, (255, 255, 255))]
    assert line.count((255, 255, 255)) >= 3  # white text on the label
    middle = (label[0] + label[-1]) / 2 + box.left
    assert abs(middle - box.centerx) <= 3  # centred on the run, once
    assert label[-1] - label[0] < box.w  # one label, not three
    rest = drawer.plate_rects[run[3]]  # full price: no tag, no label
    assert _at(img, (rest.left + 2, rest.top + 2)) == pal.category(header.plate_category[run[3]])
    off = _draw(drawer, _frame(header, price_mult=mult, promo=promo), ALL_LAYERS & ~Layer.PRICES)
    assert (255, 255, 255) not in [_at(off, (x, y)) for x in range(box.left, box.right)]


def test_decision_marks_fade_and_only_the_newest_per_plate_shows(header, drawer):
    from retail_env.render.draw import DECISION_SHOW_TICKS

    rect = drawer.plate_rects[3]
    r = max(4, int(drawer.cell * 0.2))
    rim = (rect.right - r // 2, rect.top + r // 2 - r)  # top of the badge disc
    fresh = _draw(drawer, _frame(header, decisions=[[3, WRONG, 0]]))
    later = _draw(drawer, _frame(header, decisions=[[3, WRONG, DECISION_SHOW_TICKS // 2]]))
    gone = _draw(drawer, _frame(header, decisions=[[3, WRONG, DECISION_SHOW_TICKS]]))
    plain = _draw(drawer, _frame(header))
    edge = (rect.centerx, rect.bottom + drawer.decision_ring_width // 2)
    assert _at(fresh, edge) == pal.WRONG and _at(later, edge) != pal.WRONG  # ring only fresh
    assert _at(fresh, (rim[0], rim[1] + 2)) == pal.WRONG
    assert _at(later, (rim[0], rim[1] + 2)) not in (pal.WRONG, _at(plain, (rim[0], rim[1] + 2)))
    assert np.array_equal(gone, plain)
    both = _draw(drawer, _frame(header, decisions=[[3, WRONG, 200], [3, CORRECT, 0]]))
    assert _at(both, edge) == pal.CORRECT
    assert _at(both, (rim[0], rim[1] + 2)) == pal.CORRECT


@pytest.mark.parametrize("rows,cols,where", [(10, 30, "below"), (28, 12, "beside")])
def test_legend_goes_where_the_map_gets_bigger_cells(rows, cols, where):
    grid = np.ones((rows, cols), np.uint8)
    grid[1:-1, 1:-1] = 0
    grid[3, 3:6] = 2
    h = FrameHeader(
        grid=grid,
        cell_m=0.5,
        plate_cell=[[3, 3], [3, 4], [3, 5]],
        plate_category=[0, 1, 2],
        plate_product=[0, 1, 2],
        category_names=("a", "b", "c"),
        product_names=("x", "y", "z"),
    )
    d = FrameDrawer(h)
    map_rect = d.cell_rect(0, 0).union(d.cell_rect(rows - 1, cols - 1))
    legend = d.legend_rect
    assert not map_rect.colliderect(legend)
    assert pygame_rect_inside(map_rect, d.size) and pygame_rect_inside(legend, d.size)
    assert (legend.top >= map_rect.bottom) == (where == "below")
    assert (legend.left >= map_rect.right) == (where == "beside")
    side_cell = int(min((800 - 176 - 8) / cols, (600 - 38) / rows))
    assert d.cell >= side_cell


def pygame_rect_inside(rect, size):
    return rect.left >= 0 and rect.top >= 0 and rect.right <= size[0] and rect.bottom <= size[1]


def test_status_bar_changes_with_status(header, drawer):
    a = _draw(drawer, _frame(header, status={"n_in_store": 3}))
    b = _draw(
        drawer, _frame(header, status={"n_in_store": 3, "decisions_right": 4, "decisions": 5})
    )
    assert not np.array_equal(a[:30], b[:30])
    assert np.array_equal(a[40:], b[40:])


def test_make_frame_quantises_and_checks(header):
    f = _frame(
        header,
        plate_stock_frac=np.full(header.n_plates, 0.5),
        shopper_pos=[[1.0, 1.0]] * 3,
        shopper_kind=[0, -1, 0],
    )
    assert f.plate_stock.dtype == np.uint8 and f.plate_stock[0] == 128
    assert f.shopper_pos.dtype == np.float16
    assert np.isnan(f.shopper_pos[1]).all()  # absent slots are NaN
    with pytest.raises(TypeError, match="status"):
        _frame(header, status={"task": "attribution"})
    with pytest.raises(ValueError, match="plate arrays disagree"):
        FrameHeader(
            grid=header.grid,
            cell_m=0.5,
            plate_cell=[[2, 2]],
            plate_category=[0, 1],
            plate_product=[0],
            category_names=("a", "b"),
            product_names=("x",),
        )


def test_renderer_modes_and_double_close(header):
    with pytest.raises(ValueError, match="render_mode"):
        Renderer(header, "ascii")
    r = Renderer(header, "rgb_array", fps=10)
    img = r.render(demo_frame(header, 1))
    assert img.shape == (600, 800, 3) and img.dtype == np.uint8
    r.close()
    r.close()
    human = Renderer(header, "human", fps=1000)
    assert human.render(demo_frame(header, 1)) is None
    human.close()
    human.close()
