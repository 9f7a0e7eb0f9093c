"""Market data files: the shipped data, resampling, alignment, and one-line errors on bad files."""

from __future__ import annotations

import numpy as np
import pytest

from pymargin.errors import UserError
from pymargin.risk import data


def test_shipped_daily_files():
    btc = data.load_market("btc")
    assert len(btc) == 4298 and str(btc.dates[0]) == "2014-09-17" and str(btc.dates[-1]) == "2026-06-23"
    assert np.all(np.diff(btc.dates) == np.timedelta64(1, "D"))
    # README: largest |log-return| 0.465 on 2020-03-12
    i = int(np.argmax(np.abs(np.log1p(btc.returns()))))
    assert str(btc.dates[i + 1]) == "2020-03-12" and abs(np.log1p(btc.returns()[i])) == pytest.approx(0.465, abs=1e-3)


def test_hourly_file_resamples_to_yahoo_daily_closes():
    hourly, daily = data.load_market("btc-1h"), data.load_market("btc")
    assert len(hourly) == 364  # 365 calendar days touched, the first and last partial
    idx = np.searchsorted(daily.dates, hourly.dates)
    rel = np.abs(hourly.close / daily.close[idx] - 1)
    assert np.median(rel) < 0.001 and rel.max() < 0.005  # README: 0.04 % median, 0.37 % max


def test_funding_daily_totals():
    days, rate = data.load_funding_daily("eth")
    assert len(days) == 1461 and str(days[0]) == "2020-01-01"
    assert rate[0] == pytest.approx(0.0001 + 0.00007354 + float(np.genfromtxt(data.data_dir() / "ethusdt_funding_8h.csv", delimiter=",", skip_header=3, max_rows=1, usecols=1)))
    days, rate = data.load_funding_daily("btc")
    assert str(days[0]) == "2019-09-10" and rate[1] == pytest.approx(3e-4)


def test_align():
    dates, prices = data.align([data.load_market("btc"), data.load_market("eth")])
    assert str(dates[0]) == "2017-11-09" and prices.shape == (3149, 2)


def test_data_dir_from_environment(tmp_path, monkeypatch):
    (tmp_path / "btc_usd_daily.csv").write_text("date,close\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n")
    monkeypatch.setenv("PYMARGIN_DATA", str(tmp_path))
    assert data.load_market("btc").close.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(UserError, match="not found"):
        data.load_market("eth")


@pytest.mark.parametrize(
    "text, match",
    [
        ("date,close\n2024-01-01,1\n2024-01-02,abc\n2024-01-03,3\n", "line 3: close 'abc' is not a number"),
        ("date,close\n2024-01-01,1\n2024-01-02,-2\n2024-01-03,3\n", "not positive"),
        ("date,close\n2024-01-02,1\n2024-01-01,2\n2024-01-03,3\n", "strictly ascending"),
        ("date,open\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n", "no price column"),
        ("date,close\n2024-13-01,1\n2024-01-02,2\n2024-01-03,3\n", "not an ISO date"),
        ("date,close\n2024-01-01,1,5\n2024-01-02,2\n2024-01-03,3\n", "3 fields"),
        ("date,close\n", "at least two data rows"),
    ],
)
def test_malformed_files(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(UserError, match=match):
        data.load_prices(path)


def test_missing_file_and_unknown_market(tmp_path):
    with pytest.raises(UserError, match="not found"):
        data.load_market(str(tmp_path / "none.csv"))
    with pytest.raises(UserError, match="unknown market"):
        data.load_market("doge")
    with pytest.raises(UserError, match="data folder"):
        data.data_dir(tmp_path / "nowhere")
