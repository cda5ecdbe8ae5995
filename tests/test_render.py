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
from retail_env.render.draw import surface_to_array
from retail_env.render.synthetic import demo_frame, demo_header


@pytest.fixture(scope="module")
def header():
    return demo_header()


@pytest.fixture(scope="module")
def drawer(header):
    return FrameDrawer(header)


def _frame(header, **kw):
    s = 3
    base = dict(shopper_pos=np.full((s, 2), np.nan), shopper_kind=np.full(s, -1),
                plate_stock_frac=np.ones(header.n_plates))
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
    pos = np.array([[2.75, 0.75], [5.25, 0.75], [np.nan, np.nan]])   # row 1 cells
    frame = _frame(header, shopper_pos=pos, shopper_kind=[SHOPPER, STAFF, -1],
                   shopper_account=[4, -1, -1], track_pos=[[7.25, 2.75]], track_account=[4])
    img = _draw(drawer, frame)
    shopper, staff = drawer.to_px(pos[:2])
    assert _at(img, shopper) == pal.account(4)
    assert _at(img, staff) == pal.STAFF
    track = drawer.to_px(np.array([[7.25, 2.75]]))[0]
    r = max(5, int(drawer.cell * 0.5))
    assert _at(img, (track[0] + r - 1, track[1])) == pal.account(4)      # ring edge
    assert _at(img, track) == pal.FLOOR                                  # hollow ring
    no_people = _draw(drawer, frame, ALL_LAYERS & ~Layer.SHOPPERS)
    assert _at(no_people, shopper) == pal.FLOOR


def test_decision_marks_are_green_and_red(header, drawer):
    frame = _frame(header, decisions=[[3, WRONG, 0], [5, CORRECT, 0]])
    img = _draw(drawer, frame)
    width = max(2, drawer.cell // 6)
    for plate, colour in ((3, pal.WRONG), (5, pal.CORRECT)):
        rect = drawer.plate_rects[plate]
        assert _at(img, (rect.centerx, rect.bottom + width // 2)) == colour
    old = _draw(drawer, _frame(header, decisions=[[3, WRONG, 10_000]]))
    rect = drawer.plate_rects[3]
    assert _at(old, (rect.centerx, rect.bottom + width // 2)) != pal.WRONG   # faded
    off = _draw(drawer, frame, ALL_LAYERS & ~Layer.DECISIONS)
    assert _at(off, (rect.centerx, rect.bottom + width // 2)) != pal.WRONG


def test_event_flash_and_promo_tag(header, drawer):
    flash = np.zeros(header.n_plates)
    flash[7] = 1.0
    promo = np.zeros(header.n_plates)
    promo[9] = DISCOUNT
    img = _draw(drawer, _frame(header, plate_event=flash, promo=promo,
                               price_mult=np.where(promo > 0, 0.7, 1.0)))
    width = max(2, drawer.cell // 5)
    rect = drawer.plate_rects[7]
    assert _at(img, (rect.centerx, rect.top - width // 2 - 1)) == pal.EVENT
    tag = drawer.plate_rects[9]
    assert _at(img, (tag.left + 2, tag.top + 2)) == pal.DISCOUNT


def test_status_bar_changes_with_status(header, drawer):
    a = _draw(drawer, _frame(header, status={"n_in_store": 3}))
    b = _draw(drawer, _frame(header, status={"n_in_store": 3, "receipts_right": 4,
                                              "receipts_total": 5}))
    assert not np.array_equal(a[:30], b[:30])
    assert np.array_equal(a[40:], b[40:])


def test_make_frame_quantises_and_checks(header):
    f = _frame(header, plate_stock_frac=np.full(header.n_plates, 0.5),
               shopper_pos=[[1.0, 1.0]] * 3, shopper_kind=[0, -1, 0])
    assert f.plate_stock.dtype == np.uint8 and f.plate_stock[0] == 128
    assert f.shopper_pos.dtype == np.float16
    assert np.isnan(f.shopper_pos[1]).all()                 # absent slots are NaN
    with pytest.raises(TypeError, match="status"):
        _frame(header, status={"task": "attribution"})
    with pytest.raises(ValueError, match="plate arrays disagree"):
        FrameHeader(grid=header.grid, cell_m=0.5, plate_cell=[[2, 2]], plate_category=[0, 1],
                    plate_product=[0], category_names=("a", "b"), product_names=("x",))


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
