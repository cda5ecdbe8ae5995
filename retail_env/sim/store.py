"""The batched store: static params, reset, and the 0.1 s tick.

``params = make_params(config)`` builds everything static (layout, catalog,
planogram, demand model, derived tables). ``state, rng = reset(params, seeds)``
starts one store per seed; ``out = step(state, params, rng)`` advances every
store by one tick, **updating ``state`` in place**, and returns a ``TickOutput``.
``reset_stores`` restarts a subset of stores (vector-env autoreset) so that they
match stores freshly reset with the same seeds.

Randomness per store and tick is a fixed count (see rng.py for why): one block of uniforms
(arrival, shopping lists, up to ``events_per_tick`` decisions) and one block of
normals, then the sensors' own draws, whatever happens in the store.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numba
import numpy as np

from retail_env.sim import shelf, shoppers
from retail_env.sim.catalog import Catalog, build_catalog
from retail_env.sim.config import SimConfig, make_config
from retail_env.sim.demand import (
    HOURLY_PROFILE,
    DemandModel,
    build_demand_model,
    demand_table,
    init_demand_state,
)
from retail_env.sim.layout import Layout, load_layout
from retail_env.sim.planogram import Planogram, build_planogram
from retail_env.sim.rng import BatchRNG
from retail_env.sim.sensors import SensorParams, sensor_reset, sensor_step
from retail_env.sim.shoppers import EV_DOUBLES, SPLIT
from retail_env.sim.state import (
    IDLE,
    REACH,
    REST,
    Entries,
    Exits,
    StoreState,
    TickOutput,
    Truth,
    concat_rows,
    scatter_stores,
)

K_ARRIVE = 2  # shoppers per arriving party at most (a pair)
REACH_TOUCH_S = 0.3  # [A] hand on the plate at the end of a reach (see step)
_RESET_SALT = 0x5EED_0000_0000  # reset-time draws use a stream apart from the tick stream


@dataclasses.dataclass(frozen=True, eq=False)
class StoreParams:
    """Static description shared by every store of a batch."""

    config: SimConfig
    layout: Layout
    catalog: Catalog
    planogram: Planogram
    demand: DemandModel
    sensors: SensorParams
    n_slots: int  # S: shopper slots incl. the staff slot
    n_staff: int  # 1 if staff restock is on (slot 0), else 0
    next_flat: np.ndarray  # (T*HW,) int32 next cell toward target
    dist_flat: np.ndarray  # (T*HW,) int16 steps to target
    plate_target: np.ndarray  # (P,) int32 table row of each plate
    unit_w: np.ndarray  # (N,) mean unit weight kg
    w_sd: np.ndarray  # (N,) unit weight sd kg
    on_shelf: np.ndarray  # (N,) bool product has a plate
    arrive_p: np.ndarray  # (24,) P(a party arrives in a tick) by hour of day
    browse_cdf: np.ndarray  # Poisson CDF of browsing stops
    force: np.ndarray  # (8,) float32 hand force by phase
    buy_prob: np.ndarray  # (2, N) list-price demand table
    buy_extra: np.ndarray  # (2, N)
    t: dict  # durations in ticks and other derived scalars
    n_u: int  # doubles per store per tick (see ``step``)

    @property
    def planogram_truth(self) -> np.ndarray:
        return self.planogram.truth

    @property
    def planogram_believed(self) -> np.ndarray:
        return self.planogram.believed

    @property
    def n_plates(self) -> int:
        return self.layout.n_plates

    @property
    def n_products(self) -> int:
        return self.catalog.n_products


def make_params(config: SimConfig | str | None = None) -> StoreParams:
    """Static params for a config (or a preset name)."""
    cfg = make_config(config) if isinstance(config, str) else (config or SimConfig())
    sh, hz = cfg.shoppers, cfg.tick_hz
    layout = load_layout(cfg.layout)
    catalog = build_catalog(cfg.catalog)
    plano = build_planogram(
        layout,
        catalog,
        cfg.plate_capacity,
        cfg.plate_max_kg,
        cfg.wrong_planogram_share if cfg.hard.wrong_planogram else 0.0,
    )
    model = build_demand_model(cfg.demand, catalog)
    table = demand_table(
        model, init_demand_state(model, 1), model.list_price[None, None, :].repeat(2, axis=1)
    )
    n_staff = int(cfg.hard.staff_restock)
    cells_per_tick = 1.0 / (layout.cell_m * hz)
    visits_per_tick = cfg.demand.daily_visits * HOURLY_PROFILE / 3600.0 / hz
    # A party of (1 + group_share) shoppers on average; Bernoulli per tick keeps the mean.
    arrive_p = visits_per_tick / (1.0 + sh.group_share)
    if arrive_p.max() > 1.0:
        raise ValueError(
            f"demand.daily_visits={cfg.demand.daily_visits} is too high for "
            f"tick_hz={hz}: more than one party per tick at the peak hour"
        )
    lam = sh.browse_mean
    k = np.arange(int(lam + 10 * math.sqrt(lam) + 10))
    pmf = np.exp(k * math.log(max(lam, 1e-300)) - lam - np.array([math.lgamma(i + 1) for i in k]))
    force = np.zeros(8, np.float32)
    force[REST], force[REACH] = sh.rest_force_kg, sh.reach_force_kg
    n_cat = catalog.n_categories
    T = len(layout.targets)
    t = dict(
        dwell_mu=math.log(sh.dwell_median_s * hz),
        dwell_sd=sh.dwell_log_sd,
        reach=(sh.reach_s[0] * hz, sh.reach_s[1] * hz),
        look=(sh.look_s[0] * hz, sh.look_s[1] * hz),
        rest=(sh.rest_s[0] * hz, sh.rest_s[1] * hz),
        restock=(cfg.staff.restock_s[0] * hz, cfg.staff.restock_s[1] * hz),
        gap=int(round(sh.plate_gap_s * hz)),
        patience=sh.patience_ticks,
        touch=max(1, int(round(REACH_TOUCH_S * hz))),
        check=max(1, int(round(cfg.staff.check_s * hz))),
        start_s=cfg.start_hour * 3600.0,
        hz=hz,
        speed=(
            sh.speed_mean * cells_per_tick,
            sh.speed_sd * cells_per_tick,
            sh.speed_lo * cells_per_tick,
            sh.speed_hi * cells_per_tick,
        ),
        staff_speed=cfg.staff.speed * cells_per_tick,
        exit_target=T - 1,
        hw=layout.n_cells,
        width=layout.shape[1],
        events=cfg.events_per_tick,
        n_cat=n_cat,
        n_list=2 * K_ARRIVE * n_cat,
        u_ev=2 + -(-2 * K_ARRIVE * n_cat // SPLIT),
    )
    n_u = t["u_ev"] + cfg.events_per_tick * EV_DOUBLES
    return StoreParams(
        config=cfg,
        layout=layout,
        catalog=catalog,
        planogram=plano,
        demand=model,
        sensors=cfg.sensors,
        n_slots=sh.max_shoppers + n_staff,
        n_staff=n_staff,
        next_flat=layout.next_cell.ravel().copy(),
        dist_flat=layout.dist.ravel().copy(),
        plate_target=layout.plate_target.astype(np.int32),
        unit_w=np.asarray(catalog.unit_weight, np.float64),
        w_sd=np.asarray(catalog.weight_sd, np.float64),
        on_shelf=plano.n_plates_of > 0,
        arrive_p=arrive_p,
        browse_cdf=np.cumsum(pmf),
        force=force,
        buy_prob=table.prob[0],
        buy_extra=table.extra[0],
        t=t,
        n_u=n_u,
    )


def _fresh_state(params: StoreParams, B: int, reset_rng: BatchRNG) -> StoreState:
    """B empty stores with full shelves; only the sensors draw (from ``reset_rng``)."""
    S, P, N = params.n_slots, params.n_plates, params.n_products
    plano = params.planogram
    stock = np.zeros((B, P, N), np.int32)
    stock[:, np.arange(P), plano.truth] = plano.capacity
    count = stock.sum(axis=2, dtype=np.int32)
    weight = np.broadcast_to(plano.capacity * params.unit_w[plano.truth], (B, P)).copy()
    i32 = lambda v: np.full((B, S), v, np.int32)  # noqa: E731
    st = StoreState(
        tick=np.zeros(B, np.int64),
        phase=np.zeros((B, S), np.int8),
        timer=i32(IDLE),
        cell=i32(0),
        tgt=i32(0),
        plate=i32(-1),
        act=np.zeros((B, S), np.int8),
        act_prod=i32(-1),
        unwanted=i32(-1),
        acc=np.zeros((B, S), np.float32),
        speed=np.zeros((B, S), np.float32),
        wait=np.zeros((B, S), np.int16),
        browse=np.zeros((B, S), np.int16),
        account=np.full((B, S), -1, np.int64),
        member=np.zeros((B, S), bool),
        partner=i32(-1),
        leader=np.zeros((B, S), bool),
        staff=np.zeros((B, S), bool),
        entered=np.zeros((B, S), np.int64),
        present=np.zeros((B, S), bool),
        pos=np.full((B, S, 2), np.nan, np.float32),
        want=np.zeros((B, S, N), np.int16),
        basket=np.zeros((B, S, N), np.int32),
        stock=stock,
        plate_count=count,
        weight=weight,
        plate_last=np.full((B, P), -(10**9), np.int64),
        occ=np.zeros((B, params.layout.n_cells), np.int16),
        initial=stock.sum(axis=1, dtype=np.int64),
        restocked=np.zeros((B, N), np.int64),
        exited=np.zeros((B, N), np.int64),
        next_account=np.zeros(B, np.int64),
        n_entered=np.zeros(B, np.int64),
        n_exited=np.zeros(B, np.int64),
        n_balked=np.zeros(B, np.int64),
        buy_prob=np.broadcast_to(params.buy_prob, (B, 2, N)).copy(),
        buy_extra=np.broadcast_to(params.buy_extra, (B, 2, N)).copy(),
    )
    st.sensors = sensor_reset(params.sensors, params.layout, weight, reset_rng, B, S)
    st.gate_open = np.ones(B, bool)
    st.sensors_idle = np.zeros(B, bool)
    return st


def _reset_rng(seeds: Sequence[int]) -> BatchRNG:
    return BatchRNG([int(s) ^ _RESET_SALT for s in seeds])


def reset(params: StoreParams, seeds: Sequence[int] | BatchRNG) -> tuple[StoreState, BatchRNG]:
    """Fresh stores, one per seed (or per store of an existing ``BatchRNG``)."""
    rng = seeds if isinstance(seeds, BatchRNG) else BatchRNG(seeds)
    return _fresh_state(params, rng.batch_size, _reset_rng(rng.seeds)), rng


def reset_stores(
    state: StoreState,
    params: StoreParams,
    rng: BatchRNG,
    which: np.ndarray | Sequence[int] | int,
    seeds: Sequence[int],
) -> None:
    """Restart stores ``which`` (bool mask or indices) with ``seeds``, in place.

    Afterwards store ``which[j]`` evolves exactly like a store freshly reset with
    ``seeds[j]``.
    """
    idx = np.asarray(which)
    idx = np.flatnonzero(idx) if idx.dtype == bool else np.atleast_1d(idx).astype(np.int64)
    seeds = [int(s) for s in np.atleast_1d(seeds)]
    if len(seeds) != len(idx):
        raise ValueError(f"reset_stores got {len(idx)} stores but {len(seeds)} seeds")
    if not len(idx):
        return
    if len(np.unique(idx)) == state.batch_size:  # every store: take the fresh state whole
        order = np.argsort(idx)
        fresh = _fresh_state(params, len(idx), _reset_rng([seeds[j] for j in order]))
        for f in dataclasses.fields(state):
            setattr(state, f.name, getattr(fresh, f.name))
    else:
        scatter_stores(state, _fresh_state(params, len(idx), _reset_rng(seeds)), idx)
    for i, s in zip(idx, seeds, strict=True):
        rng.reseed(int(i), s)


def set_demand(state: StoreState, prob: np.ndarray, extra: np.ndarray) -> None:
    """Install a demand table (B, 2, N) (``demand.demand_table``) for future shopping lists."""
    state.buy_prob[:] = prob
    state.buy_extra[:] = extra


def step(state: StoreState, params: StoreParams, rng: BatchRNG) -> TickOutput:
    """Advance every store by one tick (in place); return what happened.

    Draws per store: ``n_u`` doubles (column 0 arrival, 1 party, then shopping
    lists, then ``events_per_tick`` decision slots of ``EV_DOUBLES``), each
    split into 13-bit uniforms where used; then the sensors' own draws.
    """
    st, pr = state, params
    ctx = shoppers.Ctx(st, pr, rng.uniform(pr.n_u, copy=False))
    due, x = shoppers.advance(ctx)  # walkers step, leavers leave; the others due decide
    if len(x):
        shelf.decide(ctx, due, x)
    touch = np.zeros(st.weight.shape, np.float32)
    _hand_forces(st.phase, st.timer, st.plate, pr.force, pr.t["touch"], touch)
    events = sensor_step(
        st.sensors,
        pr.sensors,
        pr.layout,
        st.weight,
        touch,
        st.pos,
        st.present,
        rng,
        st.tick,
        account=st.account,
        born=ctx.born,
        idle=st.sensors_idle,
    )
    return TickOutput(
        events=events,
        truth=concat_rows(Truth, ctx.truth),
        exits=concat_rows(Exits, ctx.exits),
        entries=concat_rows(Entries, ctx.entries),
        n_active=ctx.n_active,
    )


@numba.njit(cache=True, nogil=True)
def _hand_forces(phase, timer, plate, force, touch_ticks, touch):
    """Add each hand's force to the plate it is on (float32, shoppers in slot order).

    A reaching hand presses on the plate only while it takes or leaves the item: the
    last REACH_TOUCH_S of the reach (sensors.py's pick model, 3 ticks at 10 Hz) [A].
    Pressing for the whole 2-4 s reach would leave a steady plateau the detector
    closes as a false '+force' event, splitting every pick in two.
    """
    for b in range(phase.shape[0]):
        for s in range(phase.shape[1]):
            f = force[phase[b, s]]
            if phase[b, s] == REACH and timer[b, s] > touch_ticks:
                f = np.float32(0.0)
            if f > 0:
                touch[b, plate[b, s]] += f


def run(params: StoreParams, seeds: Sequence[int], n_ticks: int):
    """Convenience: reset and step ``n_ticks``; yields ``(state, output)`` each tick."""
    st, rng = reset(params, seeds)
    for _ in range(n_ticks):
        yield st, step(st, params, rng)
