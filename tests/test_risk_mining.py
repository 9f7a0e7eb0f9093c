"""Mining margin: the proof-of-work identity, break-even, and the hedge's variance reduction."""

from __future__ import annotations

import numpy as np
import pytest

from pymargin.errors import UserError
from pymargin.risk import data, mining


def test_whole_network_finds_144_blocks_a_day():
    d = 1.2e14
    network_ths = d * 2**32 / 600 / 1e12  # a block every 600 s on average
    miner = mining.Miner(difficulty=d, hashrate_ths=network_ths, pool_fee=0.0, subsidy_btc=3.125, fees_per_block_btc=0.05)
    assert miner.btc_per_day == pytest.approx(144 * 3.175, rel=1e-12)


def test_break_even_and_hashprice():
    miner = mining.Miner()
    assert miner.margin_per_day(miner.break_even_price) == pytest.approx(0.0, abs=1e-9)
    assert miner.cost_per_day == pytest.approx(200 * 17.5 / 1000 * 24 * 0.05 + 4000 / 1095)
    # hashprice of 1 PH/s is 5000 x the pre-fee BTC of a 200 TH/s machine, times the price
    assert mining.hashprice(60_000, 1.2e14, 3.125, 0.03) == pytest.approx(5 * miner.btc_per_day / 0.98 * 60_000)


def test_one_day_full_hedge_removes_all_variance():
    btc = data.load_market("btc")
    report = mining.hedge_analysis(btc.close[-800:], mining.Miner(), horizon_days=1, ratios=(0.0, 1.0))
    assert report["min_variance_ratio"] == pytest.approx(1.0)
    assert report["hedges"][1]["std_margin"] == pytest.approx(0.0, abs=1e-9)
    assert report["variance_reduction_pct"] == pytest.approx(100.0)


def test_thirty_day_hedge_reduces_variance_and_needs_collateral():
    btc = data.load_market("btc")
    report = mining.hedge_analysis(btc.close[-1460:], mining.Miner(), 30, imf=0.2, mmf=0.12)
    stds = [h["std_margin"] for h in report["hedges"]]
    assert min(stds) < stds[0] and 0.2 < report["min_variance_ratio"] < 0.9
    col = report["collateral"]
    assert col["initial_margin"] == pytest.approx(0.2 * col["notional"])
    assert col["to_survive_var_move"] > col["initial_margin"]


def test_bad_inputs():
    with pytest.raises(UserError):
        mining.Miner(difficulty=0).checked()
    with pytest.raises(UserError, match="mmf < imf"):
        mining.hedge_analysis(np.linspace(1, 2, 100), mining.Miner(), 10, imf=0.1, mmf=0.2)
