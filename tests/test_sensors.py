"""Sensor models driven by synthetic truth: plate noise, event detector, camera tracks."""

from types import SimpleNamespace

import numpy as np
import pytest

from retail_env.sim.rng import BatchRNG
from retail_env.sim.sensors import (
    DetectedEvents,
    SensorParams,
    plate_window,
    sensor_reset,
    sensor_step,
    track_window,
)
from retail_env.sim.validation import ConfigError, replace


def shelf_layout(P: int, neighbours: bool = True):
    """P plates on one shelf, in a row (or isolated when ``neighbours`` is False)."""
    nb = np.stack([np.arange(P) - 1, np.arange(P) + 1], 1)
    nb[nb >= P] = -1
    if not neighbours:
        nb[:] = -1
    return SimpleNamespace(n_plates=P, plate_shelf=np.zeros(P, np.intp), plate_neighbors=nb)


class Rig:
    """A sensor set over synthetic truth; ``tick()`` advances one tick and collects events."""

    def __init__(self, P=4, S=4, seeds=(0,), weight=2.0, neighbours=True, **params):
        self.sp = SensorParams(**params)
        self.layout = shelf_layout(P, neighbours)
        self.B, self.P, self.S = len(seeds), P, S
        self.rng = BatchRNG(list(seeds))
        self.w = np.full((self.B, P), weight, np.float32)
        self.s = sensor_reset(self.sp, self.layout, self.w, self.rng, self.B, S)
        self.pos = np.zeros((self.B, S, 2), np.float32)
        self.pos[..., 0] = 5.0 * np.arange(S)  # far apart by default
        self.present = np.ones((self.B, S), bool)
        self.account = np.tile(100 + np.arange(S), (self.B, 1))
        self.born = np.zeros((self.B, S), bool)
        self.t = 0
        self.events: list[DetectedEvents] = []

    def tick(self, touch=None, n=1):
        for _ in range(n):
            touch = np.zeros((self.B, self.P), np.float32) if touch is None else touch
            ev = sensor_step(
                self.s,
                self.sp,
                self.layout,
                self.w,
                touch,
                self.pos,
                self.present,
                self.rng,
                self.t,
                account=self.account,
                born=self.born,
            )
            self.events.append(ev)
            self.born[:] = False
            self.t += 1

    def pick(self, plate, dw, force=0.3, ticks=3, store=0):
        """A reach: hand force on ``plate`` for ``ticks``; the weight changes in the last one."""
        touch = np.zeros((self.B, self.P), np.float32)
        touch[store, plate] = force
        self.tick(touch, ticks - 1)
        self.w[store, plate] += dw
        self.tick(touch)

    @property
    def all_events(self) -> DetectedEvents:
        return DetectedEvents.concat(self.events)


# ---------------------------------------------------------------- plates


def test_idle_plate_noise_sd_and_quantisation():
    r = Rig(P=8, neighbours=False, noise_shelf_cv=0.0, spike_rate=0.0, drift_kg_per_sqrt_h=0.0)
    samples = []
    for _ in range(300):
        r.tick()
        samples.append(r.s.samples[0])
    x = np.stack(samples)  # (T, P, k)
    sd = x.std(axis=(0, 2))
    # 1.5 g white noise plus the variance of a 1 g quantiser (q^2 / 12)
    expect = np.hypot(r.sp.noise_sd_kg, r.sp.quant_kg / np.sqrt(12))
    np.testing.assert_allclose(sd, expect, rtol=0.06)
    steps = (x - r.s.baseline[0][None, :, None]) / r.sp.quant_kg
    assert np.abs(steps - np.rint(steps)).max() < 1e-3  # on the 1 g grid
    # absolute readings are not zeroed: the offset is far bigger than the noise
    assert np.abs(x.mean(axis=(0, 2)) - 2.0).max() > 0.05
    assert len(r.all_events) == 0


def test_noise_sd_varies_between_shelves():
    r = Rig(P=6, neighbours=False, seeds=(4,))
    r.layout.plate_shelf[:] = [0, 0, 0, 1, 1, 1]
    r.s = sensor_reset(r.sp, r.layout, r.w, r.rng, 1, r.S)
    sd = r.s.noise_sd_q[0]
    assert sd[0] == sd[2] and sd[3] == sd[5] and sd[0] != sd[3]


def test_drift_is_a_random_walk_at_the_configured_rate():
    rate = 0.2  # kg / sqrt(h), inflated to measure fast
    r = Rig(P=300, neighbours=False, drift_kg_per_sqrt_h=rate, spike_rate=0.0)
    start = r.s.samples[0].mean(-1)
    r.tick(n=3600)  # 0.1 h
    moved = r.s.samples[0].mean(-1) - start
    np.testing.assert_allclose(moved.std(), rate * np.sqrt(0.1), rtol=0.15)


def test_pick_during_touch_gives_one_event_with_the_true_weight_change():
    r = Rig(P=4, seeds=(1,), spike_rate=0.0)
    r.tick(n=20)
    r.pick(plate=2, dw=-0.355)
    r.tick(n=30)
    ev = r.all_events
    assert len(ev) == 1
    assert ev.plate[0] == 2 and ev.store[0] == 0
    assert abs(ev.dw[0] - (-0.355)) < 0.003
    assert ev.t_start[0] <= 22 <= ev.t_end[0]
    assert ev.peak_var[0] > r.sp.var_threshold_kg2


def test_two_picks_close_in_time_merge_and_far_apart_do_not():
    r = Rig(P=3, seeds=(2,), spike_rate=0.0)
    r.tick(n=20)
    r.pick(plate=1, dw=-0.2)
    r.tick(n=1)  # 0.1 s later: inside the window
    r.pick(plate=1, dw=-0.3)
    r.tick(n=30)
    merged = r.all_events
    assert len(merged) == 1 and abs(merged.dw[0] + 0.5) < 0.004
    r.events.clear()
    r.pick(plate=1, dw=-0.2)
    r.tick(n=20)
    r.pick(plate=1, dw=-0.3)
    r.tick(n=30)
    apart = r.all_events
    assert len(apart) == 2
    np.testing.assert_allclose(apart.dw, [-0.2, -0.3], atol=0.004)


def test_light_item_with_weak_touch_is_missed():
    # 20 isolated plates, each loses a 30 g item; seeded, deterministic.
    weak = Rig(P=20, neighbours=False, seeds=(7,), spike_rate=0.0)
    weak.tick(n=20)
    touch = np.full((1, 20), 0.05, np.float32)  # a light-fingered reach
    weak.tick(touch)
    weak.w -= 0.03
    weak.tick(touch)
    weak.tick(n=30)
    strong = Rig(P=20, neighbours=False, seeds=(7,), spike_rate=0.0)
    strong.tick(n=20)
    touch = np.full((1, 20), 0.4, np.float32)
    strong.tick(touch)
    strong.w -= 0.03
    strong.tick(touch)
    strong.tick(n=30)
    assert len(weak.all_events) <= 2  # most weak reaches go unseen
    assert len(strong.all_events) >= 18
    np.testing.assert_allclose(strong.all_events.dw, -0.03, atol=0.004)


def test_resting_hand_then_pick_splits_into_two_events():
    r = Rig(P=3, seeds=(3,), spike_rate=0.0)
    r.tick(n=20)
    rest = np.zeros((1, 3), np.float32)
    rest[0, 1] = 0.6  # a hand resting on the plate, 2 s
    r.tick(rest, n=20)
    r.w[0, 1] -= 0.4
    r.tick(n=30)
    ev = r.all_events
    assert len(ev) == 2
    # the hand "puts" its weight on, then the pick takes item + hand off; a resting
    # hand's tremor (0.15 x 0.6 kg sd) blurs the stable mean between them by ~16 g
    assert abs(ev.dw[0] - 0.6) < 0.05 and abs(ev.dw[1] + 1.0) < 0.05
    assert abs(ev.dw.sum() + 0.4) < 0.05


def test_crosstalk_disturbs_neighbours_only():
    def peak_var(crosstalk):
        r = Rig(P=5, seeds=(5,), crosstalk=crosstalk, spike_rate=0.0, noise_shelf_cv=0.0)
        r.tick(n=10)
        touch = np.zeros((1, 5), np.float32)
        touch[0, 2] = 1.0
        peak = np.zeros(5)
        for _ in range(4):
            r.tick(touch)
            peak = np.maximum(peak, r.s.var[0])
        r.tick(n=10)
        return peak, r.all_events

    peak, ev = peak_var(0.1)
    idle = peak[[0, 4]].max()
    assert peak[1] > 100 * idle and peak[3] > 100 * idle  # neighbours feel the hand
    assert set(ev.plate.tolist()) <= {2}  # their false events fail min |dw|
    peak0, _ = peak_var(0.0)
    assert peak0[1] < 10 * idle


def test_batch_invariance_and_determinism():
    def run(seeds, store):
        r = Rig(P=6, S=5, seeds=seeds)
        r.pos[store, :, 0] = [0.0, 0.3, 1.0, 8.0, 9.0]  # a crowd in the chosen store
        r.tick(n=5)
        r.pick(plate=3, dw=-0.5, store=store)
        r.tick(n=40)
        return r

    single = run((6,), 0)
    batch = run((5, 6, 7), 1)
    ev = batch.all_events
    one = single.all_events
    m = ev.store == 1
    for f in ("plate", "t_start", "t_end", "dw", "peak_var"):
        np.testing.assert_array_equal(getattr(ev, f)[m], getattr(one, f))
    np.testing.assert_array_equal(batch.s.samples[1], single.s.samples[0])
    np.testing.assert_array_equal(batch.s.track_hist[1], single.s.track_hist[0])
    again = run((6,), 0)
    np.testing.assert_array_equal(again.s.samples, single.s.samples)
    np.testing.assert_array_equal(again.s.track_pos, single.s.track_pos)


def test_plate_window_is_chronological():
    r = Rig(P=2, spike_rate=0.0)
    r.tick(n=60)
    r.w[0, 0] += 1.0
    r.tick(n=3)
    win = plate_window(r.s, 0, 0)
    assert win.shape == (50,)
    assert win[-1] - win[0] > 0.9 and win[-5] - win[0] < 0.01


# ---------------------------------------------------------------- cameras


def test_camera_noise_sd_matches_config_alone_and_crowded():
    def err_sd(spacing):
        r = Rig(
            P=1, S=32, pos_tau_s=0.0, dropout_base=0.0, dropout_per_neighbor=0.0, switch_rate_hz=0.0
        )
        r.pos[0, :, 0] = spacing * (np.arange(32) % 8)
        r.pos[0, :, 1] = spacing * (np.arange(32) // 8)
        errs = []
        for _ in range(200):
            r.tick()
            errs.append(r.s.track_pos[0] - r.pos[0])
        return np.stack(errs[10:]).std()

    np.testing.assert_allclose(err_sd(5.0), 0.10, rtol=0.08)
    np.testing.assert_allclose(err_sd(0.4), 0.25, rtol=0.08)


def test_dropouts_rise_with_crowding():
    def miss_share(spacing):
        r = Rig(P=1, S=16, switch_rate_hz=0.0)
        r.pos[0, :, 0] = spacing * (np.arange(16) % 4)
        r.pos[0, :, 1] = spacing * (np.arange(16) // 4)
        missed = 0
        for _ in range(1500):
            r.tick()
            missed += np.isnan(r.s.track_pos[0, :, 0]).sum()
        return missed / (1500 * 16), r.s.near[0]

    alone, near_alone = miss_share(5.0)
    crowd, near_crowd = miss_share(0.6)
    assert (near_alone == 0).all() and near_crowd.mean() > 4
    assert 0.01 < alone < 0.03
    expect = np.mean(0.02 + 0.03 * near_crowd)
    assert abs(crowd - expect) < 0.3 * expect and crowd > 4 * alone


def test_identity_switches_for_close_pairs_only():
    def run(gap):
        r = Rig(P=1, S=6, switch_rate_hz=1.0, seeds=(9,))
        r.pos[0, :, 0] = [0.0, gap, 10.0, 10.0 + gap, 20.0, 20.0 + gap]
        r.tick(n=300)
        return r

    close = run(0.3)
    assert close.s.n_switches[0] > 10
    assert sorted(close.s.track_body[0]) == list(range(6))  # still a permutation
    swapped = close.s.track_body[0] != np.arange(6)
    pairs = np.arange(6)[swapped] // 2
    assert (close.s.track_body[0][swapped] // 2 == pairs).all()  # only within a pair
    far = run(0.8)
    assert far.s.n_switches[0] == 0 and (far.s.track_body[0] == np.arange(6)).all()


def test_entry_gate_binds_account_and_switch_keeps_it_on_the_track():
    r = Rig(P=1, S=2, switch_rate_hz=0.0)
    assert (r.s.track_account == -1).all()
    r.present[0, 1] = False
    r.tick()
    assert np.isnan(r.s.track_pos[0, 1]).all()
    r.present[0, 1] = True
    r.born[0, 1] = True
    r.account[0, 1] = 4242
    r.tick()
    assert r.s.track_account[0, 1] == 4242
    assert np.isnan(track_window(r.s, 0, 1)[:-1]).all()  # fresh history
    r.s.track_body[0] = [1, 0]  # what a switch does
    r.tick()
    assert r.s.track_account[0, 1] == 4242
    assert abs(r.s.track_pos[0, 1, 0] - r.pos[0, 0, 0]) < 1.0  # now following shopper 0


# ---------------------------------------------------------------- config


@pytest.mark.parametrize(
    "key,value",
    [
        ("noise_sd_kg", -0.001),
        ("var_threshold_kg2", -1.0),
        ("crosstalk", 1.5),
        ("plate_hz", 55),
        ("dropout_base", 1.0),
        ("crowd_n", 0),
    ],
)
def test_bad_params_name_the_key(key, value):
    with pytest.raises(ConfigError, match=key):
        SensorParams(**{key: value})
    with pytest.raises(ConfigError, match=key):
        replace(SensorParams(), {key: value})
