"""The two-role store: PettingZoo's API test, seeded runs, role errors, balanced books,
either seat played by a baseline, one role as a Gymnasium env."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pettingzoo")
from gymnasium.utils.env_checker import check_env  # noqa: E402
from pettingzoo.test import api_test  # noqa: E402

from retail_env.multi import CHECKOUT, MANAGER, RoleActionError, WholeStoreEnv, env  # noqa: E402
from retail_env.multi.roles import Checkout, Manager, SingleRoleEnv, play  # noqa: E402
from retail_env.sim.validation import ConfigError  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
SHORT = {"episode_s": 120.0, "close_grace_s": 60.0}
DEEP = {"depth": 0.5, "cycle_days": 1, "promo_h": 6}


def test_pettingzoo_api_test():
    api_test(env(**SHORT), num_cycles=300)


def test_seeded_runs_reproduce():
    a = play(WholeStoreEnv(**SHORT), Manager("hi_lo", **DEEP), Checkout("hungarian"), seed=3)
    b = play(WholeStoreEnv(**SHORT), Manager("hi_lo", **DEEP), Checkout("hungarian"), seed=3)
    c = play(WholeStoreEnv(**SHORT), Manager("hi_lo", **DEEP), Checkout("hungarian"), seed=4)
    assert a == b
    assert a != c


def test_books_balance():
    e = WholeStoreEnv(**SHORT)
    r = play(e, Manager("hi_lo", **DEEP), Checkout("nearest"), seed=5)
    st, led = e.core.sim.state, e.core.ledgers[0]
    inside = st.basket[0][st.present[0] & ~st.staff[0]].sum()
    # every unit that left (or was still carried at the close) was booked once
    assert r["units"] == led.true.sum() == st.exited[0].sum() + inside > 0
    # goods: on shelves + gone out + still carried = at the start + restocked
    assert (
        st.stock[0].sum() + st.exited[0].sum() + st.basket[0].sum()
        == st.initial[0].sum() + st.restocked[0].sum()
    )
    # the manager's return is the profit less the checkout errors' cost
    assert r["manager_return"] == pytest.approx(r["profit"] - r["error_cost"])
    assert r["error_cost"] == pytest.approx(
        5.0 * e.books["overcharged"] + 2.5 * e.books["undercharged"]
    )
    assert r["checkout_return"] == pytest.approx(e.books["checkout_reward"])


def test_promotions_sell_more_and_cost_checkout_errors():
    base = play(WholeStoreEnv(**SHORT), Manager("list_price"), Checkout("hungarian"), seed=6)
    deep = play(WholeStoreEnv(**SHORT), Manager("hi_lo", **DEEP), Checkout("hungarian"), seed=6)
    assert deep["units"] > base["units"]
    assert deep["checkout_errors"] > base["checkout_errors"]


def test_bad_actions_name_the_role():
    e = WholeStoreEnv(**SHORT)
    e.reset(seed=0)
    assert e.agent_selection == MANAGER
    n = e.action_space(MANAGER).shape[0]
    with pytest.raises(RoleActionError, match="manager: action has shape"):
        e.step(np.zeros(n + 1, np.int64))
    with pytest.raises(RoleActionError, match="manager: action.*out of range"):
        e.step(np.full(n, 99, np.int64))
    e.step(np.zeros(n, np.int64))
    while e.agent_selection != CHECKOUT:
        e.step(np.zeros(n, np.int64))
    with pytest.raises(RoleActionError, match="checkout: action must be one integer"):
        e.step(99)
    with pytest.raises(RoleActionError, match="checkout"):
        e.step(1.5)


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"promotion": {"policy": "hi_lo"}}, "manager sets the prices"),
        ({"overcharge_cost": -1.0}, "overcharge_cost"),
        ({"promotion": {"period_h": 0.3}}, "period_h"),
    ],
)
def test_bad_config_named(kw, words):
    with pytest.raises(ConfigError, match=words):
        WholeStoreEnv(**kw)


@pytest.mark.parametrize("role", [CHECKOUT, MANAGER])
def test_one_role_as_gymnasium_env(role):
    other = Manager("hi_lo", **DEEP) if role == CHECKOUT else Checkout("hungarian")
    one = SingleRoleEnv(role, other=other, **SHORT)
    check_env(one, skip_render_check=True)
    obs, info = one.reset(seed=2)
    one.action_space.seed(2)
    total, done = 0.0, False
    while not done:
        a = int(info["oracle_action"]) if role == CHECKOUT else one.action_space.sample()
        obs, r, done, _, info = one.step(a)
        total += r
    assert one.observation_space.contains(obs)
    b = one.env.books  # every reward of the role reached the learner, once
    expected = (
        b["checkout_reward"] if role == CHECKOUT else b["revenue"] - b["cogs"] - b["error_cost"]
    )
    assert total == pytest.approx(expected)


def test_render_shows_prices_and_decisions(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    e = WholeStoreEnv(render_mode="rgb_array", **SHORT)
    e.reset(seed=1)
    n = e.action_space(MANAGER).shape[0]
    a = np.zeros(n, np.int64)
    a[:3] = 5  # half price on three products
    e.step(a)
    img = e.render()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.std() > 0
    f = e.current_frame()
    assert f.status["on_deal"] == 3 and f.status["deepest_deal_%"] == 50
    e.close()


def test_recording_plays_back(tmp_path, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    from retail_env.render.playback import Player
    from retail_env.render.recording import load_recording

    path = tmp_path / "store.npz"
    r = play(
        WholeStoreEnv(**SHORT), Manager("hi_lo", **DEEP), Checkout("hungarian"), seed=7, record=path
    )
    rec = load_recording(path)
    assert rec.meta["manager"] == "hi_lo" and rec.meta["seed"] == 7
    assert len(rec) > 10
    last = rec.frame(len(rec) - 1)
    assert last.status["on_deal"] > 0
    assert last.status["checkout_errors"] == r["checkout_errors"]
    assert sum(len(rec.frame(i).decisions) > 0 for i in range(len(rec))) > 0
    player = Player(rec)
    player.advance(1.0)
    assert player.compose().get_width() > 0
    player.close()


def test_a_trained_model_takes_a_seat():
    sb3 = pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_checker import check_env as sb3_check

    one = SingleRoleEnv(MANAGER, other=Checkout("hungarian"), episode_s=60.0, close_grace_s=30.0)
    sb3_check(one)
    model = sb3.PPO("MlpPolicy", one, n_steps=16, batch_size=16, seed=0).learn(16)
    a = play(
        WholeStoreEnv(episode_s=60.0, close_grace_s=30.0),
        Manager(model),
        Checkout("hungarian"),
        seed=9,
    )
    b = play(
        WholeStoreEnv(episode_s=60.0, close_grace_s=30.0),
        Manager(model),
        Checkout("hungarian"),
        seed=9,
    )
    assert a == b and a["units"] > 0
