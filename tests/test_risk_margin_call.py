"""Variation margin and margin calls run on the reference engine, checked against the spec's exact integer formulas."""

from __future__ import annotations

import numpy as np
import pytest

from pymargin.errors import UserError
from pymargin.fixedpoint import WAD, Rounding, div_rounded, sdiv_rounded
from pymargin.model import MarketParams
from pymargin.risk import margin_call

PARAMS = MarketParams(0, "x", imf_wad=10**17, mmf_wad=5 * 10**16, taker_fee_wad=5 * 10**14, maker_fee_wad=0, liquidation_penalty_wad=2 * 10**16,
                      insurance_share_wad=WAD // 2, max_open_interest=10**6 * WAD, max_price_age_s=3600, price_band_wad=10**17, max_funding_rate_wad=10**12)
DATES = np.datetime64("2024-01-01") + np.arange(8)
W = margin_call.to_wad


def _fee(size: float, price: float) -> int:
    return div_rounded(abs(W(size)) * W(price) * PARAMS.taker_fee_wad, WAD * WAD, Rounding.Ceil)


def _equity(deposit: float, size: float, p0: float, p: float) -> int:
    """Spec §4/§5.3: collateral − fee − ⌈size·p0/WAD⌉ + ⌊size·p/WAD⌋ (no funding)."""
    return W(deposit) - _fee(size, p0) - sdiv_rounded(W(size) * W(p0), WAD, Rounding.Ceil) + sdiv_rounded(W(size) * W(p), WAD, Rounding.Floor)


def test_variation_margin_telescopes_exactly():
    prices = np.array([100.0, 101.5, 99.25, 103.0, 104.75, 110.0, 108.5, 111.0])
    run = margin_call.simulate(DATES, prices, 3.5, 100.0, PARAMS)
    assert run.calls == 0 and run.liquidated_on is None
    for row, p in zip(run.rows, prices[1:]):
        assert row["equity_wad"] == _equity(100.0, 3.5, 100.0, p)
    floor = lambda p: sdiv_rounded(W(3.5) * W(p), WAD, Rounding.Floor)  # noqa: E731
    assert sum(r["variation_margin_wad"] for r in run.rows) == floor(111.0) - floor(100.0)


def test_call_amount_restores_initial_margin_and_payment_is_booked():
    prices = np.array([100.0, 97.0, 94.0, 95.0, 96.0, 98.0, 99.0, 100.0])  # at 94: equity ~39.5 < MM 47
    run = margin_call.simulate(DATES, prices, 10.0, 101.0, PARAMS, topup_budget=1000.0)
    call = next(r for r in run.rows if r["event"] == "call")
    assert call["date"] == "2024-01-03"
    eq = _equity(101.0, 10.0, 100.0, 94.0)
    im = div_rounded(W(10.0) * W(94.0) * PARAMS.imf_wad, WAD * WAD, Rounding.Ceil)
    mm = div_rounded(W(10.0) * W(94.0) * PARAMS.mmf_wad, WAD * WAD, Rounding.Ceil)
    assert (call["equity_wad"], call["maintenance_margin_wad"], call["call_wad"]) == (eq, mm, im - eq)
    paid = next(r for r in run.rows if r["event"] == "paid")
    tokens = div_rounded(im - eq, 10**12, Rounding.Ceil)  # 6-decimal token: deposit rounds up at the vault edge
    assert paid["paid_wad"] == run.paid_wad == tokens * 10**12 >= call["call_wad"]
    assert run.liquidated_on is None


def test_unmet_call_is_liquidated_with_penalty_insurance_and_bad_debt():
    prices = np.array([100.0, 95.0, 94.0, 80.0, 80.0, 80.0, 80.0, 80.0])
    run = margin_call.simulate(DATES, prices, 10.0, 101.0, PARAMS, topup_budget=0.0, grace_days=1)
    assert run.calls == 1 and run.liquidated_on == "2024-01-04"
    # equity at 80: 101 − 0.5 − 200 = −99.5; the penalty ⌈10·80·2 %⌉ = 16 is capped at the equity left
    # (none: spec §5.5), so the empty insurance fund covers nothing and the bad debt is the 99.5 shortfall
    assert run.penalty_wad == 0 and run.insurance_covered_wad == 0
    assert run.bad_debt_wad == 995 * WAD // 10 and run.rows[-1]["equity_wad"] == 0


def test_funding_is_paid_by_longs():
    prices = np.full(5, 100.0)
    rate = np.full(5, 0.001)
    r_wad = 10**15 // 86400  # ⌊0.001 / 86400 · WAD⌋ per second
    step = r_wad * 86400 * W(100.0) // WAD  # ΔF per day (spec §5.4, Floor)
    long = margin_call.simulate(DATES[:5], prices, 1.0, 20.0, PARAMS, daily_funding=rate)
    short = margin_call.simulate(DATES[:5], prices, -1.0, 20.0, PARAMS, daily_funding=rate)
    assert [r["variation_margin_wad"] for r in long.rows] == [-step] * 4
    assert [r["variation_margin_wad"] for r in short.rows] == [step] * 4


def test_default_collateral_opens_and_bad_inputs():
    run = margin_call.simulate(DATES, np.full(8, 100.0), 2.0, None, PARAMS)
    assert run.rows[0]["equity_wad"] >= run.rows[0]["initial_margin_wad"]
    with pytest.raises(UserError, match="InsufficientMargin"):
        margin_call.simulate(DATES, np.full(8, 100.0), 10.0, 100.0, PARAMS)  # IM 100 + fee 0.5 > 100
    with pytest.raises(UserError):
        margin_call.simulate(DATES, np.ones(8), 0.0, 1.0, PARAMS)
