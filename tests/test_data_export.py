"""Data out (issue 19): the transaction log's tables round-trip to the episodes' own totals,
Minari datasets load, sample and recover a working env, and bad requests fail cleanly."""

from __future__ import annotations

import errno
import json

import gymnasium as gym
import numpy as np
import pytest

import retail_env
from retail_env.cli import main
from retail_env.data import DataExportError
from retail_env.data.log import export_log, read_manifest
from retail_env.data.log_tables import SCHEMAS, TASK_TABLES

pd = pytest.importorskip("pandas")
PROMO, ATTR = "RetailStore/Promotion-Mini-v1", "RetailStore/Attribution-v0"


@pytest.fixture(scope="module")
def promo_log(tmp_path_factory):
    out = tmp_path_factory.mktemp("logs") / "promo"
    return out, export_log(PROMO, "hi_lo", [3, 4], out, show_progress=False)


@pytest.fixture(scope="module")
def attr_log(tmp_path_factory):
    out = tmp_path_factory.mktemp("logs") / "attr"
    return out, export_log(ATTR, "nearest", [5], out, show_progress=False)


def _read(out, task):
    return {t: pd.read_parquet(out / f"{t}.parquet") for t in TASK_TABLES[task]}


@pytest.mark.parametrize("which", ["promo_log", "attr_log"])
def test_every_table_typed_and_documented(which, request):
    out, manifest = request.getfixturevalue(which)
    for name, df in _read(out, manifest["task"]).items():
        assert len(df) == manifest["tables"][name]["rows"] > 0
        assert not [c for c in df.columns if df[c].dtype == object], name
        assert list(df.columns) == ["episode", "seed", *SCHEMAS[name]]
    assert read_manifest(out)["version"] == retail_env.__version__
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no leftovers


def test_promotion_tables_total_the_episode_kpis(promo_log):
    out, manifest = promo_log
    t = _read(out, "promotion")
    for ep, kpis in enumerate(manifest["episode_totals"]):
        sales = t["sales"][t["sales"].episode == ep]
        inv = t["inventory"][t["inventory"].episode == ep]
        per = t["periods"][t["periods"].episode == ep]
        assert sales.revenue.sum() == pytest.approx(kpis["revenue"], rel=1e-12)
        assert sales.units.sum() == kpis["units"] == inv.sold.sum()
        assert sales[sales.member].units.sum() / sales.units.sum() == pytest.approx(
            kpis["member_share"], rel=1e-12
        )
        assert inv.lost.sum() == kpis["stockouts"]
        assert inv.spoiled.sum() == kpis["spoilage"]
        assert per.profit.sum() == pytest.approx(kpis["profit"], rel=1e-9)
        prices = t["prices"][t["prices"].episode == ep]
        lst = (prices.list_price.to_numpy()[:, None] * np.ones(2)).ravel()
        listed = (sales.sort_values(["period", "product", "member"]).units.to_numpy() * lst).sum()
        assert 1 - sales.revenue.sum() / listed == pytest.approx(kpis["mean_discount"], rel=1e-9)
    assert manifest["episode_totals"][0] != manifest["episode_totals"][1]  # two seeds differ


def test_same_seeds_same_bytes(tmp_path, promo_log):
    """A seeded export is reproducible bit for bit (every file, the manifest included)."""
    again = tmp_path / "again"
    export_log(PROMO, "hi_lo", [3, 4], again, show_progress=False)
    for path in promo_log[0].iterdir():
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name


def test_promotion_export_matches_a_plain_run(promo_log):
    """Recording changes nothing: the same seed played without the recorder ends the same."""
    from retail_env.agents.factory import make_agent, run_episode

    env = gym.make(PROMO)
    plain = run_episode(env, make_agent("hi_lo", env), 3)
    assert {k: plain[k] for k in promo_log[1]["episode_totals"][0]} == promo_log[1][
        "episode_totals"
    ][0]


def test_attribution_tables_total_the_receipts(attr_log):
    out, manifest = attr_log
    t = _read(out, "attribution")
    r = manifest["episode_totals"][0]
    lines, events, visits = t["receipt_lines"], t["shelf_events"], t["visits"]
    assert lines.qty_true.sum() == r["n_items_true"]
    assert lines.qty_charged.sum() == r["n_items_charged"]
    over = (np.maximum(lines.qty_charged - lines.qty_true, 0) * lines.price_paid).sum()
    under = (np.maximum(lines.qty_true - lines.qty_charged, 0) * lines.price_paid).sum()
    assert over == pytest.approx(r["overcharge_value"]) and under == pytest.approx(
        r["undercharge_value"]
    )
    assert len(events) == r["n_events"] and events.review.sum() == r["n_reviews"]
    assert len(visits) == r["n_receipts"] == visits.account.nunique()
    assert (visits.exit_s.fillna(np.inf) >= visits.entry_s).all()
    # the charged event lines, summed per account and product and clipped, are the receipts
    ch = t["event_lines"][t["event_lines"].kind == "charged"]
    net = ch.groupby(["account", "product"]).qty.sum().clip(lower=0)
    printed = lines.set_index(["account", "product"]).qty_charged
    assert net[net > 0].sort_index().equals(printed[printed > 0].sort_index())


def test_attribution_export_matches_a_plain_run(attr_log):
    from retail_env.agents import make_agent

    env = gym.make(ATTR)
    obs, info = env.reset(seed=5)
    agent = make_agent("nearest", env)
    done = False
    while not done:
        obs, _, term, trunc, info = env.step(agent.act(obs, info))
        done = term or trunc
    assert {k: float(v) for k, v in info["receipts"].items()} == attr_log[1]["episode_totals"][0]


def test_other_readers(promo_log):
    out, manifest = promo_log
    polars = pytest.importorskip("polars", reason="polars not installed (optional reader)")
    assert polars.read_parquet(out / "sales.parquet")["units"].sum() == sum(
        e["units"] for e in manifest["episode_totals"]
    )


def test_duckdb_reader(promo_log):
    out, manifest = promo_log
    duckdb = pytest.importorskip("duckdb", reason="duckdb not installed (optional reader)")
    total = duckdb.sql(f"select sum(units) from '{out / 'sales.parquet'}'").fetchall()[0][0]
    assert total == sum(e["units"] for e in manifest["episode_totals"])


def test_log_refuses_existing_unknown_and_unwritable(tmp_path, promo_log):
    with pytest.raises(DataExportError, match="already exists"):
        export_log(PROMO, "hi_lo", [0], promo_log[0], show_progress=False)
    with pytest.raises(DataExportError, match="policy='nope' is unknown"):
        export_log(PROMO, "nope", [0], tmp_path / "a", show_progress=False)
    with pytest.raises(DataExportError, match="env='RetailStore/Nope-v0' is unknown"):
        export_log("RetailStore/Nope-v0", "hi_lo", [0], tmp_path / "b", show_progress=False)
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a file where a folder should be (root ignores chmod)
    with pytest.raises(DataExportError, match="cannot write"):
        export_log(PROMO, "hi_lo", [0], blocker / "log", show_progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_full_disk_leaves_nothing(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    real, calls = pq.write_table, []

    def fill_up(table, path, **kw):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(table, path, **kw)

    monkeypatch.setattr(pq, "write_table", fill_up)
    with pytest.raises(DataExportError, match="disk is full"):
        export_log(PROMO, "list_price", [0], tmp_path / "log", show_progress=False)
    assert list(tmp_path.iterdir()) == []


def test_cli_export_log_and_recording_export_coexist(tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["export", "log", "--env", PROMO, "--policy", "list_price", "--seeds", "0:1"]
    args += ["--out", str(out), "--quiet"]
    assert main(args) == 0
    assert "1 episodes of list_price" in capsys.readouterr().out
    assert main(args) == 2  # the same export again is refused
    assert "already exists" in capsys.readouterr().err
    # ``export FILE`` still means a recording to video
    assert main(["export", str(tmp_path / "missing.npz"), "--gif", str(tmp_path / "x.gif")]) == 2
    assert "missing.npz" in capsys.readouterr().err


def test_data_cli_arguments_have_help():
    from retail_env.data.cli import build_parser

    for sub in build_parser()._subparsers._group_actions[0].choices.values():
        for action in sub._actions:
            assert action.help, f"export {sub.prog} {action.dest} has no help text"


# --- Minari -----------------------------------------------------------------------------


@pytest.fixture()
def minari_root(tmp_path, monkeypatch):
    pytest.importorskip("minari", reason="the data extra (minari) is not installed")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("env_id,policy", [(PROMO, "hi_lo"), (ATTR, "oracle")])
def test_minari_dataset_loads_samples_and_recovers_env(minari_root, env_id, policy):
    import minari

    from retail_env.data.minari_export import export_minari

    name = "retail/test-v0"
    export_minari(env_id, policy, 2, name, seeds=[7, 8], show_progress=False)
    ds = minari.load_dataset(name)
    assert ds.total_episodes == 2
    meta = ds.storage.metadata
    assert json.loads(meta["env_spec"])["id"] == env_id
    ours = meta["retail_env"]
    assert ours["version"] == retail_env.__version__ and ours["policy"] == policy
    assert ours["seeds"] == [7, 8]
    episodes = list(ds.iterate_episodes())
    assert [int(e.id) for e in episodes] == [0, 1]
    ep = ds.sample_episodes(1)[0]
    n = len(ep.actions)
    assert len(ep.rewards) == n and (ep.terminations[-1] or ep.truncations[-1])
    env = ds.recover_environment()
    obs, info = env.reset(seed=7)
    assert env.observation_space.contains(obs)
    assert (
        env.step(env.action_space.sample() if "Promotion" in env_id else env.unwrapped.K)[0]
        is not None
    )
    if policy == "oracle":  # the actions are the imitation labels the infos carry
        assert ours["truth_info_keys"] == ["oracle_action"]
        assert np.array_equal(ep.actions, ep.infos["oracle_action"][:-1])
        replay = gym.make(env_id)
        obs, info = replay.reset(seed=7)
        assert np.allclose(obs["event"], episodes[0].observations["event"][0])
    else:
        assert ours["truth_info_keys"] == []
        # rewards are profit in thousands of dollars; the infos hold each period's profit
        assert np.isclose(ep.rewards.sum() * 1000, np.sum(ep.infos["kpis_profit"][1:]))


def test_minari_refuses_existing_bad_name_unknown_policy(minari_root):
    import minari

    from retail_env.data.minari_export import export_minari

    export_minari(PROMO, "list_price", 1, "retail/once-v0", show_progress=False)
    before = sorted(p.name for p in minari_root.rglob("*"))
    with pytest.raises(DataExportError, match="already exists"):
        export_minari(PROMO, "hi_lo", 1, "retail/once-v0", show_progress=False)
    with pytest.raises(DataExportError, match="not valid"):
        export_minari(PROMO, "hi_lo", 1, "no version", show_progress=False)
    with pytest.raises(DataExportError, match="policy='nope' is unknown"):
        export_minari(PROMO, "nope", 1, "retail/other-v0", show_progress=False)
    with pytest.raises(DataExportError, match="env='RetailStore/Nope-v0' is unknown"):
        export_minari("RetailStore/Nope-v0", "hi_lo", 1, "retail/other-v0", show_progress=False)
    assert sorted(p.name for p in minari_root.rglob("*")) == before
    assert (
        minari.load_dataset("retail/once-v0").storage.metadata["retail_env"]["policy"]
        == "list_price"
    )


def test_minari_failure_midway_leaves_nothing(minari_root, monkeypatch):
    from retail_env.data import minari_export

    def boom(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(minari_export, "_add_metadata", boom)
    with pytest.raises(DataExportError, match="disk is full"):
        minari_export.export_minari(PROMO, "list_price", 1, "retail/x-v0", show_progress=False)
    assert list(minari_root.iterdir()) == []


def test_docs_show_the_current_schema():
    from pathlib import Path

    from retail_env.data.log_tables import schema_markdown

    docs = (Path(__file__).resolve().parent.parent / "docs" / "data.md").read_text()
    assert schema_markdown() in docs, (
        "run python -m retail_env.experiments.data_schema and readme_tables"
    )


def test_checkpoint_policy_plays_the_export(tmp_path):
    """A trained-checkpoint folder is a policy: its greedy actions are what the log holds."""
    pytest.importorskip("stable_baselines3", reason="checkpoints need the train extra")
    from retail_env.agents.sb3_agents import SB3Agent, build_model
    from retail_env.experiments.checkpoints import load_checkpoint, save_checkpoint

    env = gym.make(PROMO)
    folder = save_checkpoint(
        build_model("ppo", {}, env, seed=3),
        tmp_path / "ckpt",
        {"algo": "ppo", "env_id": PROMO, "hyperparams": {}},
    )
    m = export_log(PROMO, str(folder), [2], tmp_path / "log", show_progress=False)
    assert m["policy"] == "checkpoint:ckpt"
    prices = pd.read_parquet(tmp_path / "log" / "prices.parquet")
    agent = SB3Agent(env, load_checkpoint(folder, env, PROMO))
    obs, info = env.reset(seed=2)
    action = agent.act(obs, info)
    levels = np.asarray(env.unwrapped.cfg.discount_levels)
    first = prices[prices.period == 0].sort_values("product")
    assert np.allclose(first.discount, levels[action[: env.unwrapped.params.n_units]])
    with pytest.raises(DataExportError, match="no checkpoint.json"):
        (tmp_path / "empty").mkdir()
        export_log(PROMO, str(tmp_path / "empty"), [0], tmp_path / "log2", show_progress=False)
