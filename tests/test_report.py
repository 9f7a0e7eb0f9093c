"""The report: figures, one self-contained HTML file, and a real browser that opens it."""

from __future__ import annotations

import random
import re

import pytest

from pymargin import browser, margin
from pymargin.model import WAD, MarketView, Position
from pymargin.fixedpoint import INT256_MAX
from pymargin.report import (ACCOUNTS_SHOWN, AccountRow, Liquidation, OptionSeriesRow, PortfolioMarginRow, ProofSummary, ReportData,
                             figure_notes, margin_ratio_figure, write_report)


def _data(n_accounts: int = 40, seed: int = 7) -> ReportData:
    rng = random.Random(seed)
    markets = {0: MarketView(60_000 * WAD, 0, WAD // 10, WAD // 20), 1: MarketView(3_000 * WAD, 5 * WAD, WAD // 8, WAD // 16)}
    rows = []
    for i in range(n_accounts):
        positions = [Position(m, rng.choice([-1, 1]) * rng.randint(1, 5) * WAD // 10, 0, 0) for m in markets]
        positions = [Position(p.market_id, p.size, p.size * markets[p.market_id].price_wad // WAD, 0) for p in positions]
        collateral = rng.randint(200, 20_000) * WAD
        rows.append(AccountRow(
            f"0x{i:040x}:0",
            margin.equity(collateral, positions, markets),
            margin.initial_margin(positions, markets),
            margin.maintenance_margin(positions, markets),
            margin.is_liquidatable(collateral, positions, markets),
            margin.margin_ratio(collateral, positions, markets),
        ))
    total = sum(r.equity for r in rows)
    return ReportData(
        title="pymargin demo report",
        chain="embedded devnet (chain id 131277322940537)",
        markets=["BTC-PERP", "ETH-PERP"],
        open_interest={"BTC-PERP": 12 * WAD, "ETH-PERP": 40 * WAD},
        total_collateral=total,
        total_liabilities=total,
        reserves=total + 1_000 * WAD,
        insurance_fund=1_000 * WAD,
        bad_debt=0,
        accounts=rows,
        price_paths={"BTC-PERP": [60_000 * WAD + i * 50 * WAD for i in range(20)], "ETH-PERP": [3_000 * WAD - i * 9 * WAD for i in range(20)]},
        liquidations=[Liquidation(7, "ETH-PERP", rows[0].account_id, WAD)],
        crosscheck={"accounts": n_accounts, "values": 8 * n_accounts, "mismatches": 0},
        proof=ProofSummary(1, "0x1234", "0xabcd", 123_456, 12.5, 232_000, "development setup (single-party, NOT for production)",
                           {"snarkjs": True, "py_ecc": True, "on_chain": True}),
    )


def test_report_files_and_contents(tmp_path):
    data = _data()
    path = write_report(data, tmp_path)
    assert path == tmp_path / "report.html"
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == ["equity_vs_mm.png", "liabilities_vs_reserves.png", "margin_ratios.png", "price_path.png"]
    for name in pngs:
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    text = path.read_text()
    assert text.count("data:image/png;base64,") == 4, "figures are embedded: the HTML opens as a single file"
    assert f"{len(data.accounts):,}" in text and "123,456" in text and "232,000" in text
    assert "NOT for production" in text and "all equal" in text
    assert not list(tmp_path.glob(".*.tmp")), "no temporary files left behind"


def _flat_accounts(data: ReportData, n: int) -> ReportData:
    """``data`` with ``n`` more accounts holding collateral and no position: MM = 0, margin ratio ∞."""
    flat = [AccountRow(f"0x{0xf000 + i:040x}:1", (i + 1) * 3_718_281_828_459_045_235, 0, 0, False, INT256_MAX) for i in range(n)]
    data.accounts = data.accounts + flat
    return data


def test_the_account_table_has_a_margin_ratio_column_and_says_how_many_it_shows(tmp_path):
    data = _flat_accounts(_data(40), 3)
    text = write_report(data, tmp_path).read_text()
    assert "margin ratio (equity / MM)" in text
    lowest = min((a for a in data.accounts if a.margin_ratio_wad != INT256_MAX), key=lambda a: a.margin_ratio_wad)
    assert f"{lowest.margin_ratio_wad / WAD:,.4f}" in text  # the engine's ratio, shown for the riskiest account
    assert f"{ACCOUNTS_SHOWN} of {len(data.accounts):,} accounts shown: the {len(data.accounts) - ACCOUNTS_SHOWN} with higher" in text
    few = write_report(_data(5), tmp_path / "few").read_text()
    assert "5 of 5 accounts shown: all of them" in few


def test_charts_count_whole_accounts_and_name_those_left_out(tmp_path):
    import matplotlib.pyplot as plt

    data = _flat_accounts(_data(40), 3)
    fig = margin_ratio_figure(data)
    (ax,) = fig.axes
    assert all(float(t).is_integer() for t in ax.get_yticks()), "a count axis has whole-number ticks"
    heights = [patch.get_height() for patch in ax.patches]
    assert sum(heights) == 40, "every account with a finite ratio is in the histogram, clipped ones in the last bin"
    plt.close(fig)
    notes = figure_notes(data)
    assert notes["margin_ratios.png"].startswith("40 of 43 accounts; 3 left out: no maintenance margin")
    assert notes["equity_vs_mm.png"].startswith("all 43 accounts")
    text = write_report(data, tmp_path).read_text()
    assert "3 left out: no maintenance margin (no open position), ratio ∞" in text


def test_report_is_deterministic(tmp_path):
    a = write_report(_data(), tmp_path / "a").read_bytes()
    b = write_report(_data(), tmp_path / "b").read_bytes()
    assert a == b


def test_the_options_section_shows_portfolio_against_per_position_margin(tmp_path):
    data = _data()
    assert "Options: portfolio margin" not in write_report(data, tmp_path / "none").read_text(), "no section without options"
    data.option_series = [OptionSeriesRow("call OTM 2,100.54", 2_100_543_210_987_654_321_012, 1_800_000_000, 12_345_678_901_234_567_890,
                                          0, True)]
    data.portfolio_margin = [
        PortfolioMarginRow("0x" + "ab" * 20 + ":0", "hedged", "+2.7183 ETH-PERP, −2.7183 call OTM 2,100.54",
                           1_320_883_577_123_456_789_012, 2_462_704_014_987_654_321_098, True),
        PortfolioMarginRow("0x" + "cd" * 20 + ":0", "naked", "−1.6180 call NTM 1,960.12", 617_283_950_617_283_950_617, 617_283_950_617_283_950_617, False),
    ]
    text = write_report(data, tmp_path / "with").read_text()
    hedged = "<td>hedged</td><td>+2.7183 ETH-PERP, −2.7183 call OTM 2,100.54</td><td>1,320.88</td><td>2,462.70</td><td>1,141.82</td><td>46.4%</td>"
    assert hedged in text  # 2,462.704… − 1,320.883… = 1,141.820…; 1,141.82 / 2,462.70 = 46.36 %
    assert "<td>naked</td><td>−1.6180 call NTM 1,960.12</td><td>617.28</td><td>617.28</td><td>0.00</td><td>0.0%</td>" in text
    assert "<span class='bad'>MISMATCH</span>" in text and "<span class='ok'>equal</span>" in text
    assert "<td>call OTM 2,100.54</td><td>2,100.54</td><td>2027-01-15 08:00:00 UTC</td><td>12.35</td><td>0.00</td>" in text


def test_report_flags_uncovered_liabilities_and_mismatches(tmp_path):
    data = _data()
    data.reserves = data.total_liabilities - 1
    data.crosscheck["mismatches"] = 3
    text = write_report(data, tmp_path).read_text()
    assert "<span class='bad'>NO</span>" in text and "3 MISMATCHES" in text


@pytest.mark.skipif(browser.find_chromium() is None, reason="Chromium is not installed (apt-get install chromium): the browser check of the report is skipped")
def test_report_opens_in_headless_chromium(tmp_path):
    path = write_report(_data(), tmp_path)
    shot = browser.screenshot(path, tmp_path / "screenshot.png")
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1000
    assert pixels.std() > 0.05, "the screenshot is not blank"
    dom = browser.dump_dom(path)
    match = re.search(r'data-images-loaded="(\d+)/(\d+)"', dom)
    assert match is not None, "the page's load script ran"
    assert match.group(1) == match.group(2) == "4", "all four embedded figures decoded in the browser"
