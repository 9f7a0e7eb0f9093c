"""Benchmark: calibrate and backtest 10 years of daily data for 10 markets.

Markets (3,651 daily closes = 10 years of returns each):
- ``btc``: the real BTC-USD closes, last 3,651 days of /work/shared/data/btc_usd_daily.csv;
- 9 synthetic markets, each a stationary block bootstrap (Politis & Romano 1994, mean block
  length 20 days, seeded) of real daily returns: 3 of BTC-USD, 4 of ETH-USD (the real ETH series
  has only 8.6 years), 2 of the BTCUSDT hourly series resampled to UTC days (364 days of source).
  Bootstrapped blocks keep volatility clusters and fat tails but not the exact history.

Timed per method: the calibration of every market (ES, both sides, MM and IM settings), and the
rolling out-of-sample backtest of each method (window 500 days, 1-day horizon, 99 %, long and
short; Student-t and GARCH refitted every 21 days). Ratios are against historical simulation,
timed in the same process.

Run: .venv/bin/python benchmarks/risk_bench.py [--out benchmarks/risk_results.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from pymargin.fsutil import atomic_write_text
from pymargin.risk import backtest, calibration, data, measures

DAYS = 3651
WINDOW = 500


def stationary_bootstrap(returns: np.ndarray, n: int, mean_block: float, seed: int) -> np.ndarray:
    """n returns drawn in blocks of geometric length (mean ``mean_block``) from ``returns``, wrapping around."""
    rng = np.random.default_rng(seed)
    out = np.empty(n)
    i = int(rng.integers(len(returns)))
    for k in range(n):
        out[k] = returns[i]
        i = int(rng.integers(len(returns))) if rng.random() < 1.0 / mean_block else (i + 1) % len(returns)
    return out


def markets() -> list[data.PriceSeries]:
    btc, eth, hourly = data.load_market("btc"), data.load_market("eth"), data.load_market("btc-1h")
    real = btc.last(DAYS)
    out = [real]
    sources = [("btc", btc)] * 3 + [("eth", eth)] * 4 + [("btc1h", hourly)] * 2
    for k, (name, src) in enumerate(sources):
        r = stationary_bootstrap(np.log(src.close[1:] / src.close[:-1]), DAYS - 1, 20.0, seed=100 + k)
        close = 100.0 * np.exp(np.concatenate(([0.0], np.cumsum(r))))
        volume = np.full(DAYS, float(np.median(src.volume_quote[-90:])))
        out.append(data.PriceSeries(f"boot-{name}-{k}", real.dates, close, volume))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write the results as markdown here")
    args = parser.parse_args()

    book = markets()
    results = {}
    for method in measures.METHODS:
        settings = calibration.Settings(method=method)
        started = time.perf_counter()
        cals = [calibration.calibrate_market(s, i, settings) for i, s in enumerate(book)]
        t_cal = time.perf_counter() - started
        started = time.perf_counter()
        hits = days = 0
        for s in book:
            for sign in (1.0, -1.0):
                r = backtest.rolling_measure(s.close, method, 0.99, 1, WINDOW, [sign], refit_every=21)
                bt = backtest.backtest(method, s.dates, s.close, r.var, r.t, 1, 0.99, [sign])
                hits += int(bt.hits.sum())
                days += len(bt.hits)
        results[method] = (t_cal, time.perf_counter() - started, hits / days, days, cals)
    base = results["historical"]

    lines = [
        "# Risk analytics benchmark: calibrate and backtest 10 markets x 10 years of daily data",
        "",
        "Command: `.venv/bin/python benchmarks/risk_bench.py --out benchmarks/risk_results.md`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs, Python {sys.version.split()[0]}, numpy {np.__version__}; one process.",
        "",
        "Markets: real BTC-USD (last 3,651 days) + 9 stationary-block-bootstrap series of real daily returns",
        "(3 BTC-USD, 4 ETH-USD, 2 BTCUSDT hourly resampled to days), 3,651 closes each; see the script's docstring.",
        "Calibrate = MM and IM fractions of all 10 markets (both sides, ES 99 %, 1 and 3 days). Backtest = rolling",
        f"out-of-sample VaR 99 %, 1 day, window {WINDOW}, long and short of all 10 markets ({base[3]:,} market-days);",
        "Student-t and GARCH refitted every 21 days. Ratios are against historical simulation in the same run.",
        "",
        "| method | calibrate s | backtest s | backtest x historical | VaR99 breach rate |",
        "|---|---:|---:|---:|---:|",
    ]
    for method, (t_cal, t_bt, rate, _, _) in results.items():
        lines.append(f"| {method} | {t_cal:.3f} | {t_bt:.2f} | {t_bt / base[1]:.1f} | {100 * rate:.2f} % |")
    total = sum(v[0] + v[1] for v in results.values())
    lines += [
        "",
        f"Everything above: {total:.1f} s wall time. The normal row's calibrate time includes the first import of",
        "scipy.stats; the Student-t rows are scipy.stats.t.fit (Nelder-Mead) calls, about 3,000 in the backtest.",
        "",
        "Calibrated fractions (historical ES, 99 %, MM 1 day / IM 3 days, with add-ons, Ceil to a basis point):",
        "",
        "| market | mmf | imf | liquidity tier |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {c.params.name} | {c.params.mmf_wad / 1e16:.2f} % | {c.params.imf_wad / 1e16:.2f} % | {c.tier.tier} |" for c in base[4]]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        atomic_write_text(args.out, text)


if __name__ == "__main__":
    main()
