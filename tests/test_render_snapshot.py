"""frame_from_state: what it copies out of a StoreState-shaped object, and the real store."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from retail_env.render import STAFF, FrameDrawer, draw_frame
from retail_env.render import palette as pal
from retail_env.render.snapshot import FLASH_TICKS, frame_from_state
from retail_env.render.synthetic import demo_header

H = 50


def _fake(header):
    """Two stores, 3 shopper slots; store 1 is the one we snapshot."""
    B, S, P = 2, 3, header.n_plates
    pos = np.full((B, S, 2), np.nan, np.float32)
    pos[1, 0], pos[1, 1] = (2.75, 0.75), (5.25, 0.75)
    hist = np.full((B, S, H, 2), np.nan, np.float32)
    hist_pos = 7
    for k in range(H):  # track 0 walked east 0.01 m/tick
        ago = (hist_pos - 1 - k) % H
        hist[1, 0, ago] = (2.75 - 0.01 * k, 0.75)
    sensors = SimpleNamespace(
        track_pos=hist[:, :, (hist_pos - 1) % H],
        track_account=np.array([[-1, -1, -1], [12, -1, -1]]),
        track_hist=hist,
        hist_pos=hist_pos,
        active=np.zeros((B, P), bool),
    )
    sensors.active[1, 4] = True
    plate_last = np.full((B, P), -10_000, np.int64)
    plate_last[1, 6] = 100 - FLASH_TICKS // 2
    state = SimpleNamespace(
        tick=np.array([5, 100]),
        present=np.array([[0, 0, 0], [1, 1, 0]], bool),
        staff=np.array([[0, 0, 0], [0, 1, 0]], bool),
        pos=pos,
        account=np.array([[-1, -1, -1], [12, -1, -1]]),
        plate_count=np.tile(np.arange(P) % 5, (B, 1)),
        plate_last=plate_last,
        sensors=sensors,
    )
    params = SimpleNamespace(
        config=SimpleNamespace(tick_hz=10),
        t={"start_s": 3600.0},
        planogram=SimpleNamespace(capacity=np.full(P, 4)),
    )
    return state, params


def test_frame_from_state_copies_store_b():
    header = demo_header()
    state, params = _fake(header)
    f = frame_from_state(
        state, params, 1, header=header, status={"decisions": 3}, decisions=[[2, 2, 0]]
    )
    assert f.time_s == 3600.0 + 10.0
    assert f.shopper_kind.tolist() == [0, STAFF, -1]
    assert f.status == {"n_in_store": 1.0, "decisions": 3.0}
    np.testing.assert_allclose(
        f.plate_stock_frac, np.minimum(np.arange(header.n_plates) % 5 / 4, 1.0), atol=1 / 255
    )
    assert f.plate_event[4] == 255  # sensor active now
    assert 100 <= f.plate_event[6] <= 155  # half-way through the fade
    assert f.plate_event[0] == 0
    assert f.track_account[0] == 12
    # Trail: 3 points at 0.5 s steps, oldest first (0.15, 0.10, 0.05 m behind).
    np.testing.assert_allclose(
        f.track_trail[0, :, 0], 2.75 - np.array([0.15, 0.10, 0.05]), atol=2e-3
    )
    assert np.isnan(f.track_trail[1]).all()
    img = draw_frame(header, f)
    drawer = FrameDrawer(header)
    assert (
        tuple(img[tuple(drawer.to_px(np.array([[5.25, 0.75]]))[0, ::-1].astype(int))]) == pal.STAFF
    )


def test_real_store_frames_render():
    from retail_env.render.snapshot import header_from_params
    from retail_env.sim import store

    params = store.make_params("easy")
    header = header_from_params(params)
    state, rng = store.reset(params, [3])
    for _ in range(600):
        store.step(state, params, rng)
    f = frame_from_state(state, params, 0, header=header)
    assert len(f.shopper_pos) == params.n_slots and len(f.plate_stock) == header.n_plates
    img = draw_frame(header, f)
    assert img.shape == (600, 800, 3) and img.dtype == np.uint8
