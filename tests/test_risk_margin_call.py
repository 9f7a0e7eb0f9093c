"""Variation margin and margin calls with the engine's formulas, checked against exact integer identities."""

from __future__ import annotations

import numpy as np
import pytest

from pymargin import margin
from pymargin.fixedpoint import WAD, Rounding, div_rounded, sdiv_rounded
from pymargin.model import MarketParams, MarketView, Position
from pymargin.risk import margin_call

PARAMS = MarketParams(1, "x", imf_wad=10**17, mmf_wad=5 * 10**16, taker_fee_wad=0, maker_fee_wad=0, liquidation_penalty_wad=2 * 10**16,
                      insurance_share_wad=WAD // 2, max_open_interest=10**30, max_price_age_s=3600, price_band_wad=10**17, max_funding_rate_wad=10**12)
DATES = np.datetime64("2024-01-01") + np.arange(8)


def test_variation_margin_telescopes_exactly():
    prices = np.array([100.0, 101.5, 99.25, 103.0, 104.75, 110.0, 108.5, 111.0])
    run = margin_call.simulate(DATES, prices, 3.5, 100.0, PARAMS)
    size = margin_call.to_wad(3.5)
    opened = sdiv_rounded(size * margin_call.to_wad(100.0), WAD, Rounding.Ceil)
    final = sdiv_rounded(size * margin_call.to_wad(111.0), WAD, Rounding.Floor)
    assert run.calls == 0 and run.liquidated_on is None
    assert sum(r["variation_margin_wad"] for r in run.rows) == final - opened
    assert run.rows[-1]["collateral_wad"] == margin_call.to_wad(100.0) + final - opened


def test_call_amount_restores_initial_margin_and_payment_is_booked():
    prices = np.array([100.0, 97.0, 94.0, 95.0, 96.0, 98.0, 99.0, 100.0])  # at 94: equity 40 < MM 47
    run = margin_call.simulate(DATES, prices, 10.0, 100.0, PARAMS, topup_budget=1000.0)
    call = next(r for r in run.rows if r["event"] == "call")
    # recompute equity, IM and MM independently from the row's collateral at that price
    p = call["price_wad"]
    pos = Position(1, margin_call.to_wad(10.0), sdiv_rounded(margin_call.to_wad(10.0) * p, WAD, Rounding.Floor), 0)
    view = {1: MarketView(p, 0, PARAMS.imf_wad, PARAMS.mmf_wad)}
    eq = margin.equity(call["collateral_wad"], [pos], view)
    assert eq == call["equity_wad"] < margin.maintenance_margin([pos], view) == call["maintenance_margin_wad"]
    assert call["call_wad"] == margin.initial_margin([pos], view) - eq
    paid = next(r for r in run.rows if r["event"] == "paid")
    assert paid["paid_wad"] == call["call_wad"] == run.paid_wad and run.liquidated_on is None


def test_unmet_call_is_liquidated_with_penalty_and_bad_debt():
    prices = np.array([100.0, 95.0, 94.0, 80.0, 80.0, 80.0, 80.0, 80.0])
    run = margin_call.simulate(DATES, prices, 10.0, 100.0, PARAMS, topup_budget=0.0, grace_days=1)
    assert run.calls == 1 and run.liquidated_on == "2024-01-04"
    p = margin_call.to_wad(80.0)
    assert run.penalty_wad == div_rounded(margin_call.to_wad(10.0) * p * PARAMS.liquidation_penalty_wad, WAD * WAD, Rounding.Ceil)
    # collateral before: 100 + 10 * (80 - 100) = -100; minus the 16 penalty -> bad debt 116
    assert run.bad_debt_wad == 116 * WAD and run.rows[-1]["collateral_wad"] == 0


def test_funding_is_paid_by_longs_rounded_up():
    prices = np.full(5, 100.0)
    rate = np.full(5, 0.001)
    run = margin_call.simulate(DATES[:5], prices, 1.0, 100.0, PARAMS, daily_funding=rate)
    assert [r["funding_paid_wad"] for r in run.rows] == [10**17] * 4
    short = margin_call.simulate(DATES[:5], prices, -1.0, 100.0, PARAMS, daily_funding=rate)
    assert [r["funding_paid_wad"] for r in short.rows] == [-(10**17)] * 4
    assert run.rows[-1]["collateral_wad"] == 100 * WAD - 4 * 10**17


def test_bad_inputs():
    from pymargin.errors import UserError

    with pytest.raises(UserError):
        margin_call.simulate(DATES, np.ones(8), 0.0, 1.0, PARAMS)
