"""Risk commands a user can trust at a glance: plain date,price files, explicit gap handling, an
uncapped scanning range unless capped (and then said), NAME=FILE positions, static backtests from
the first day, -h as help everywhere, and Black-76 greeks against finite differences and closed forms."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from cli_support import run_cli
from output_rules import check_output
from pymargin.cli import cli
from pymargin.errors import UserError
from pymargin.risk import data as rdata
from pymargin.risk import options, scenario


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _ok(*args: str) -> str:
    result = _invoke(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def _prices(n: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 27_182.818284590452 * np.exp(np.cumsum(rng.normal(0, 0.031415926535, n)))


def _write(path, header: str, dates, closes) -> None:
    path.write_text(header + "\n" + "".join(f"{d},{float(c)!r}\n" for d, c in zip(dates, closes)))


# ------------------------------------------------------------------ files

@pytest.mark.parametrize("header", ["date,price", "Date,Close", "DATE,PRICE", "date,close"])
def test_date_price_files_in_any_case(tmp_path, header):
    dates = np.arange(np.datetime64("2021-01-01"), np.datetime64("2021-04-01"))
    closes = _prices(len(dates))
    _write(tmp_path / "m.csv", header, dates, closes)
    series = rdata.load_prices(tmp_path / "m.csv")
    assert np.array_equal(series.dates, dates) and np.array_equal(series.close, closes)


def _gappy(tmp_path):
    dates = np.arange(np.datetime64("2021-01-01"), np.datetime64("2021-03-01"))
    closes = _prices(len(dates), 11)
    keep = np.ones(len(dates), bool)
    keep[[20, 21, 22, 40]] = False  # a three-day hole and a one-day hole
    _write(tmp_path / "gappy.csv", "date,close", dates[keep], closes[keep])
    return tmp_path / "gappy.csv", dates, closes, keep


def test_gaps_are_refused_by_default(tmp_path):
    path, dates, _, _ = _gappy(tmp_path)
    with pytest.raises(UserError, match=r"4 missing day\(s\).*first after 2021-01-20.*--gaps"):
        rdata.load_prices(path)


def test_gaps_filled_by_ffill_carry_the_last_close(tmp_path):
    path, dates, closes, keep = _gappy(tmp_path)
    series = rdata.load_prices(path, gaps="ffill")
    assert np.array_equal(series.dates, dates)
    assert np.array_equal(series.close[keep], closes[keep])
    assert series.close[20] == series.close[21] == series.close[22] == closes[19] and series.close[40] == closes[39]
    assert [str(d) for d in series.filled] == ["2021-01-21", "2021-01-22", "2021-01-23", "2021-02-10"]


def test_gaps_filled_by_interpolation_spread_the_move(tmp_path):
    path, dates, closes, keep = _gappy(tmp_path)
    series = rdata.load_prices(path, gaps="interpolate")
    assert np.array_equal(series.close[keep], closes[keep])
    log_steps = np.diff(np.log(series.close[19:24]))  # 4 equal daily log-returns across the hole
    assert np.allclose(log_steps, math.log(closes[23] / closes[19]) / 4, rtol=1e-12)


def test_gap_handling_through_the_cli_is_one_line_or_reported(capsys, tmp_path):
    path, *_ = _gappy(tmp_path)
    code, _, err = run_cli(capsys, "risk", "var", f"gappy={path}")
    assert code == 2 and err.startswith("pymargin: error: ") and err.count("\n") == 1 and "missing day(s)" in err
    code, out, err = run_cli(capsys, "--json", "risk", "var", f"gappy={path}", "-m", "normal", "--gaps", "ffill")
    assert code == 0, err
    assert "gappy: 4 missing day(s) filled by ffill (2021-01-21 .. 2021-02-10)" in err
    json.loads(out)


# ------------------------------------------------------------------ scenario

def _config_with_imf(tmp_path, imf: float):
    _ok("--json", "risk", "calibrate", "btc", "--config-out", str(tmp_path / "markets.json"))
    config = json.loads((tmp_path / "markets.json").read_text())
    config["markets"][0]["imf_wad"] = int(imf * 10**18)
    (tmp_path / "wide.json").write_text(json.dumps(config))
    return tmp_path / "wide.json"


def test_scenario_range_is_the_calibrated_imf_even_above_a_third(tmp_path):
    config = _config_with_imf(tmp_path, 0.4142135623)
    out = json.loads(_ok("--json", "risk", "scenario", "-p", "btc:1", "--config", str(config)))
    state = out["states"]["btc"]
    assert state["price_range"] == pytest.approx(0.4142135623) and state["price_range_uncapped"] == state["price_range"]
    # long perp: worst of a full -1 range move and 35 % of the extreme move to a price of ~0
    assert out["requirement"] == pytest.approx(max(0.4142135623, 0.35 * (1 - 1e-9)) * state["price"], rel=1e-12)


def test_scenario_range_cap_is_applied_and_printed(tmp_path):
    config = _config_with_imf(tmp_path, 0.4142135623)
    result = _invoke("--json", "risk", "scenario", "-p", "btc:-1", "--config", str(config), "--range-cap", "0.25")
    assert result.exit_code == 0, result.output
    state = json.loads(result.stdout)["states"]["btc"]
    assert state["price_range"] == 0.25 and state["price_range_uncapped"] == pytest.approx(0.4142135623)
    assert "btc: price scanning range capped at 25.00% by --range-cap (uncapped 41.42%)" in result.stderr


def test_extreme_down_move_stops_at_a_zero_price():
    state = scenario.Underlying(31_415.92653589793, 0.6180339887, 0.5, 0.25)
    losses = scenario.scenario_losses([scenario.Instrument("btc", 2.718281828459045)], state)
    assert losses[-1] == pytest.approx(0.35 * 2.718281828459045 * 31_415.92653589793 * (1 - 1e-9), rel=1e-12)
    put = scenario.Instrument("btc", 1.0, "put", 30_000.0, 30)
    assert np.all(np.isfinite(scenario.scenario_losses([put], state)))


def test_scenario_accepts_name_equals_file_positions(tmp_path):
    dates = np.arange(np.datetime64("2019-01-01"), np.datetime64("2020-06-01"))
    _write(tmp_path / "Mixed-Case.CSV", "Date,Price", dates, _prices(len(dates), 3))
    spec = f"mine={tmp_path / 'Mixed-Case.CSV'}"
    out = json.loads(_ok("--json", "risk", "scenario", "-p", f"{spec}:1.5", "-p", f"{spec}:-1:call:1.1:30"))
    assert list(out["states"]) == ["mine"] and out["requirement"] > 0
    bench = json.loads(_ok("--json", "risk", "benchmark", "-p", f"{spec}:2", "--window", "200"))
    assert bench["positions"][0]["market"] == "mine"


# ------------------------------------------------------------------ backtest, help

def test_static_fraction_backtest_starts_at_the_first_day():
    series = rdata.load_market("btc")
    out = json.loads(_ok("--json", "risk", "backtest", "btc", "--fraction", "0.1", "-H", "1"))
    assert [s["day_count"] for s in out] == [str(len(series) - 1)] * 2


def _commands(group, path=()):
    for name, command in group.commands.items():
        yield (*path, name)
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))


@pytest.mark.parametrize("path", list(_commands(cli)), ids=" ".join)
def test_dash_h_is_help_everywhere(path):
    result = _invoke(*path, "-h")
    assert result.exit_code == 0 and result.output.startswith("Usage: ") and "--help" in result.output


# ------------------------------------------------------------------ greeks

def _n(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _closed_form(kind, f, k, t, v, r):
    """Textbook Black-76 greeks, written independently with math.erf."""
    d1 = (math.log(f / k) + 0.5 * v * v * t) / (v * math.sqrt(t))
    d2 = d1 - v * math.sqrt(t)
    df = math.exp(-r * t)
    pdf = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    if kind == "call":
        price, delta = df * (f * _n(d1) - k * _n(d2)), df * _n(d1)
    else:
        price, delta = df * (k * _n(-d2) - f * _n(-d1)), -df * _n(-d1)
    gamma = df * pdf / (f * v * math.sqrt(t))
    vega = df * f * pdf * math.sqrt(t)
    theta = -df * f * pdf * v / (2 * math.sqrt(t)) + r * price
    return price, delta, gamma, vega, theta


def _random_inputs(seed: int, n: int = 40):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        f = float(rng.uniform(500.0, 90_000.0)) + 0.718281828459045
        yield (rng.choice(["call", "put"]), f, f * float(rng.uniform(0.6, 1.6)), float(rng.uniform(0.02, 2.0)),
               float(rng.uniform(0.1, 1.5)), float(rng.uniform(-0.02, 0.12)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_greeks_match_the_closed_forms(seed):
    for kind, f, k, t, v, r in _random_inputs(seed):
        g = options.black76_greeks(kind, f, k, t, v, r)
        want = _closed_form(kind, f, k, t, v, r)
        assert (g.price, g.delta, g.gamma, g.vega, g.theta) == pytest.approx(want, rel=1e-9, abs=1e-9 * f)


@pytest.mark.parametrize("seed", [4, 5])
def test_greeks_match_finite_differences(seed):
    for kind, f, k, t, v, r in _random_inputs(seed):
        g = options.black76_greeks(kind, f, k, t, v, r)
        price = lambda f=f, t=t, v=v: options.black76(kind, f, k, t, v, r)  # noqa: E731
        hf, hv, ht = f * 1e-4, 1e-5, min(t, 1.0) * 1e-5
        assert g.delta == pytest.approx((price(f=f + hf) - price(f=f - hf)) / (2 * hf), rel=1e-6, abs=1e-7)
        assert g.gamma == pytest.approx((price(f=f + hf) - 2 * price() + price(f=f - hf)) / hf**2, rel=1e-3, abs=1e-12)
        assert g.vega == pytest.approx((price(v=v + hv) - price(v=v - hv)) / (2 * hv), rel=1e-6, abs=1e-6)
        assert g.theta == pytest.approx(-(price(t=t + ht) - price(t=t - ht)) / (2 * ht), rel=1e-5, abs=1e-6)


def test_greeks_identities_and_expiry():
    for kind, f, k, t, v, r in _random_inputs(6, 10):
        call, put = (options.black76_greeks(x, f, k, t, v, r) for x in ("call", "put"))
        df = math.exp(-r * t)
        assert call.delta - put.delta == pytest.approx(df, rel=1e-12)  # parity: C - P = D(F - K)
        assert call.gamma == pytest.approx(put.gamma, rel=1e-12) and call.vega == pytest.approx(put.vega, rel=1e-12)
        assert call.vega == pytest.approx(v * t * f * f * call.gamma, rel=1e-9)  # vega = σ t F² Γ
        assert call.theta == pytest.approx(r * call.price - 0.5 * v * v * f * f * call.gamma, rel=1e-9, abs=1e-9 * f)  # Black's PDE
    expired = options.black76_greeks("call", np.array([90.0, 100.0, 110.0]), 100.0, 0.0, 0.5, 0.05)
    assert expired.delta.tolist() == [0.0, 0.5, 1.0] and not expired.gamma.any() and not expired.vega.any()
    assert expired.theta.tolist() == pytest.approx([0.0, 0.0, 0.05 * 10.0])


# ------------------------------------------------------------------ charts

@pytest.fixture
def figures(monkeypatch):
    """Every figure a chart function draws, captured before it is written."""
    from pymargin.risk import charts

    drawn = []
    real_save = charts._save

    def capture(plt, fig, path):
        drawn.append(fig)
        return real_save(plt, fig, path)

    monkeypatch.setattr(charts, "_save", capture)
    return drawn


def _labelled(fig) -> None:
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert all(ax.get_ylabel() for ax in axes), [ax.get_title() for ax in axes if not ax.get_ylabel()]
    assert any(ax.get_xlabel() for ax in axes)


@pytest.mark.parametrize("args", [
    ["risk", "calibrate", "btc"],
    ["risk", "backtest", "btc", "--window", "300", "-m", "historical"],
    ["risk", "dynamic", "btc"],
    ["risk", "scenario", "-p", "btc:1", "-p", "btc:-1:call:1.1:30"],
    ["risk", "benchmark", "-p", "btc:1", "--window", "300"],
    ["risk", "margin-call", "btc", "--size", "1", "--start", "2020-02-20", "--days", "30"],
    ["risk", "mining", "--lookback", "400"],
])
def test_every_chart_labels_its_axes_with_units(tmp_path, figures, args):
    check_output(f"risk-{args[1]}", _ok("--json", *args, "--out", str(tmp_path / "o")))  # docs/schemas/risk-<command>.schema.json
    assert figures and list((tmp_path / "o").glob("*.png"))
    for fig in figures:
        _labelled(fig)


def test_calibration_chart_shows_im_and_mm(tmp_path, figures):
    _ok("--json", "risk", "calibrate", "btc", "--out", str(tmp_path / "o"))
    titles = [ax.get_title() for ax in figures[0].axes]
    assert sum("imf" in t for t in titles) == 2 and sum("mmf" in t for t in titles) == 2


def test_dynamic_chart_shows_maintenance_under_initial(tmp_path, figures):
    _ok("--json", "risk", "dynamic", "btc", "--out", str(tmp_path / "o"))
    for ax in figures[0].axes:
        lines = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
        assert np.all(lines["maintenance margin"] < lines["margin held"])


def test_margin_call_chart_shows_negative_equity_and_bad_debt(tmp_path, figures):
    from pymargin.fixedpoint import WAD
    from pymargin.risk import charts, margin_call
    from test_risk_margin_call import DATES, PARAMS

    prices = np.array([100.0, 95.0, 94.0, 80.0, 80.0, 80.0, 80.0, 80.0])
    run = margin_call.simulate(DATES, prices, 10.0, 101.0, PARAMS, topup_budget=0.0, grace_days=1)
    assert run.rows[-1]["equity_before_liquidation_wad"] == -995 * WAD // 10
    charts.margin_call_chart(run.rows, tmp_path / "mc.png", "t", run.bad_debt_wad)
    ax = figures[0].axes[0]
    _labelled(figures[0])
    equity = next(line for line in ax.get_lines() if line.get_label() == "equity")
    assert min(equity.get_ydata()) == pytest.approx(-99.5)
    assert {line.get_label() for line in ax.get_lines()} >= {"maintenance margin (MM)", "initial margin (IM)"}
    bars = [p for p in ax.patches if p.get_height() < 0]
    assert len(bars) == 1 and bars[0].get_height() == pytest.approx(-99.5)  # the shortfall; no penalty on a negative equity
    assert ax.get_ylim()[0] < -99.5
