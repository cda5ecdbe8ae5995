"""The exported Promotion log is usable: a multinomial-logit fit recovers the simulator's
own-price elasticities (docs/data.md: tolerance and the biases of richer stores)."""

from __future__ import annotations

import pytest
from retail_env.experiments.data_elasticities import STORES, fitted_mean
from retail_env.experiments.elasticities import measure

from retail_env.data import demand_fit as df
from retail_env.data.log import export_log

pytest.importorskip("pandas")
LOGIT_ONLY, WITH_REFERENCE = list(STORES.values())[0], list(STORES.values())[3]


@pytest.fixture(scope="module")
def truth():
    return measure("default", days=200)["rows"]["own_long"]


def _log(tmp_path, config):
    out = tmp_path / "log"
    export_log(
        "RetailStore/Promotion-v1",
        "random",
        range(3),
        out,
        env_kwargs={"config": config},
        show_progress=False,
    )
    return out


def test_logit_fit_recovers_own_price_elasticities(tmp_path, truth):
    out = _log(tmp_path, LOGIT_ONLY)
    for seg, member in (("non-members", False), ("members", True)):
        fitted = fitted_mean(out, member, df.Spec("price only"))
        assert fitted == pytest.approx(truth[seg]["mean"], rel=0.10), seg


def test_reference_prices_bias_a_price_only_fit_and_the_truth_column_removes_it(tmp_path, truth):
    out = _log(tmp_path, WITH_REFERENCE)
    t = truth["non-members"]["mean"]
    naive = fitted_mean(out, False, df.Spec("price only"))
    full = fitted_mean(
        out, False, df.Spec("full", reference=True, endcap=True, drop_stockouts=True)
    )
    assert naive / t - 1 > 0.4  # much too elastic (docs/data.md: +86 %)
    assert abs(full / t - 1) < 0.15
