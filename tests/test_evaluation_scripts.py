"""The scripts that produce the README's tables: what they write, and that it is sound."""

from __future__ import annotations

import json

import pytest
from retail_env.experiments import bench_render, evaluate_attribution, evaluate_promotion


def test_evaluate_attribution_writes_tables(tmp_path):
    out = tmp_path / "attr"
    summary = evaluate_attribution.main(
        ["--agents", "random,oracle", "--scenarios", "easy", "--episodes", "3", "--out", str(out)]
    )
    assert summary["easy"]["oracle"]["exact_match"]["mean"] == 1.0
    assert summary["easy"]["random"]["exact_match"]["mean"] < 1.0
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["seeds"] == [10_000, 10_001, 10_002]
    assert len(data["episodes"]["easy"]["oracle"]["exact_match"]) == 3
    md = out.with_suffix(".md").read_text()
    assert "| easy | oracle | 1.000" in md
    assert not list(tmp_path.glob(".*"))  # no temp files left behind


def test_evaluation_seeds_out_of_range_are_refused():
    with pytest.raises(ValueError, match="episodes=0"):
        evaluate_attribution.eval_seeds(0)


def test_evaluate_promotion_writes_tables(tmp_path):
    out = tmp_path / "promo"
    evaluate_promotion.main(
        [
            "--ids",
            "RetailStore/Promotion-Mini-v1",
            "--baselines",
            "list_price",
            "random",
            "--seeds",
            "2",
            "--out",
            str(out),
        ]
    )
    rows = {r["policy"]: r for r in json.loads(out.with_suffix(".json").read_text())}
    assert rows["list_price"]["mean"] > rows["random"]["mean"]  # random pricing loses money
    assert rows["list_price"]["mean"] > 5000  # dollars, not reward units
    assert out.with_suffix(".csv").read_text().startswith("env_id,policy,")
    md = out.with_suffix(".md").read_text()
    assert "| list_price |" in md and "| random |" in md and "Promotion-Mini-v1" in md
    with pytest.raises(ValueError, match="--seeds=0"):
        evaluate_promotion.main(["--seeds", "0", "--out", str(out)])


def test_bench_render_writes_table(tmp_path):
    out = tmp_path / "render"
    r = bench_render.main(
        ["--preset", "easy", "--minutes", "0.2", "--frames", "10", "--out", str(out)]
    )
    assert r["recording"]["every_1"]["frames"] == 120  # 12 s at 10 ticks/s
    assert r["rgb_array_fps_800x600"] > 0
    md = out.with_suffix(".md").read_text()
    assert f"{r['rgb_array_fps_800x600']:,.0f}" in md and "<= 10 MB" in md
