"""Risk commands: ``pymargin risk var|calibrate|backtest|dynamic|scenario|benchmark|margin-call|mining``.

Markets are ``btc``, ``eth``, ``btc-1h`` (files of the data folder: --data DIR, $PYMARGIN_DATA or
/work/shared/data), ``NAME=FILE.csv`` or a CSV path. Charts go to --out DIR as PNG; every file is
written atomically. numpy/scipy/matplotlib are imported inside the commands.
"""

from __future__ import annotations

import functools
import inspect
import json
from pathlib import Path

import click

from pymargin.cli.output import emit
from pymargin.errors import UserError
from pymargin.fsutil import check_out_dir, check_out_file

METHOD_CHOICE = click.Choice(["historical", "normal", "student-t", "fhs-ewma", "fhs-garch"])


def _data_option(f):
    """--data DIR and --gaps POLICY, handed to the command as one ``risk.data.Source`` (``data``)."""

    @functools.wraps(f)
    def with_source(*args, data: Path | None = None, gaps: str = "refuse", **kwargs):
        from pymargin.risk.data import Source

        return f(*args, data=Source(data, gaps, lambda message: click.echo(f"pymargin: note: {message}", err=True)), **kwargs)

    with_source = click.option("--gaps", type=click.Choice(["refuse", "ffill", "interpolate"]), default="refuse", show_default=True,
                               help="Missing days in a daily series: refuse, carry the last close (ffill), or interpolate log-linearly; fills are reported.")(with_source)
    return click.option("--data", "data", type=click.Path(path_type=Path), default=None, help="Data folder [default: $PYMARGIN_DATA or /work/shared/data].")(with_source)


def _out_option(f):
    """--out DIR and --force; the folder is checked (fsutil.check_out_dir) before the command runs."""
    takes_force = "force" in inspect.signature(f).parameters

    @functools.wraps(f)
    def checked(*args, out: Path | None = None, force: bool = False, **kwargs):
        if out is not None:
            out = check_out_dir(out, force=force)
        return f(*args, out=out, **({"force": force} if takes_force else {}), **kwargs)

    checked = click.option("--force", is_flag=True, help="Write into a non-empty --out folder (and replace existing output files).")(checked)
    return click.option("--out", "out", type=click.Path(path_type=Path), default=None, help="Write PNG charts (and reports) into this folder (new or empty).")(checked)


def _confidence_option(default: float):
    return click.option("--confidence", "-c", type=float, default=default, show_default=True, help="Confidence level, e.g. 0.99.")


def _horizon_option(default: int):
    return click.option("--horizon", "-H", "horizon", type=int, default=default, show_default=True, help="Margin period of risk in days.")


def _pct(x: float) -> str:
    return f"{100.0 * x:.2f}%"


def _write_json(path: Path, data) -> None:
    """Write a report or a market config under the output convention (docs/output.md: integers as decimal strings)."""
    from pymargin.fsutil import atomic_write_text
    from pymargin.jsonvalues import dumps

    atomic_write_text(path, dumps(data) + "\n")


def _parse_holding(spec: str):
    """MARKET:SIZE for a perp, MARKET:SIZE:call|put:MONEYNESS:DAYS for a rolled option."""
    from pymargin.risk.benchmark import Holding

    parts = spec.split(":")
    market = parts[0] if "=" in parts[0] or parts[0].lower().endswith(".csv") else parts[0].lower()
    try:
        if len(parts) == 2:
            return Holding(market, float(parts[1]))
        if len(parts) == 5 and parts[2] in ("call", "put"):
            return Holding(market, float(parts[1]), parts[2], float(parts[3]), float(parts[4]))
    except ValueError:
        pass
    raise UserError(f"bad position {spec!r}: use MARKET:SIZE (perp) or MARKET:SIZE:call|put:MONEYNESS:DAYS, e.g. btc:-1:call:1.1:30")


def _market_params(config: Path) -> dict:
    """{market name: MarketParams} from a market config file (one-line UserError if missing or malformed)."""
    from pymargin.fsutil import read_json
    from pymargin.risk import calibration

    return {p.name: p for p in calibration.load_market_params(read_json(config, "market config"))}


def _load_markets(names, data):
    from pymargin.risk import data as rdata

    return [rdata.load_market(name, data) for name in names]


def _holdings(positions, data):
    """(holdings named by their series' names, {name: PriceSeries}) of the -p MARKET:... options."""
    import dataclasses

    holdings = [_parse_holding(p) for p in positions]
    specs = sorted({h.market for h in holdings})
    series = dict(zip(specs, _load_markets(specs, data)))
    named = [dataclasses.replace(h, market=series[h.market].name) for h in holdings]
    return named, {s.name: s for s in series.values()}


@click.group("risk")
def risk() -> None:
    """Risk analytics: VaR/ES, margin calibration, backtests, dynamic and portfolio margin.

    Every command ends in numbers the contract can take (WAD integers, requirements rounded up)
    and a report of the evidence (--json for machine-readable output, --out DIR for PNG charts).

    \b
    Example:
      pymargin risk calibrate btc eth --out risk-out
      pymargin risk backtest btc --method fhs-ewma --out risk-out
    """


@risk.command("var")
@click.argument("markets", nargs=-1, required=True)
@click.option("--method", "-m", "methods", type=METHOD_CHOICE, multiple=True, help="Method(s) [default: all].")
@click.option("--weight", "-w", "weights", type=float, multiple=True, help="Portfolio weight per market (signed notional); default: each market alone, long and short.")
@_confidence_option(0.99)
@_horizon_option(1)
@_data_option
@click.pass_obj
def var_cmd(ctx, markets, methods, weights, confidence, horizon, data) -> None:
    """VaR and expected shortfall of each market (long and short) or of a weighted portfolio.

    Losses are fractions of notional over the horizon (positive = loss).

    \b
    Example:
      pymargin risk var btc eth -c 0.975 -H 2
      pymargin risk var btc eth -w 1 -w -1 --method historical   # long BTC, short ETH
    """
    from pymargin.risk import data as rdata
    from pymargin.risk import measures

    series = _load_markets(markets, data)
    methods = methods or measures.METHODS
    books = []
    if weights:
        if len(weights) != len(series):
            raise UserError(f"{len(weights)} --weight values for {len(series)} markets")
        dates, prices = rdata.align(series)
        books.append(("portfolio " + " ".join(f"{w:+g}·{s.name}" for w, s in zip(weights, series)), prices, list(weights)))
    else:
        for s in series:
            books += [(f"{s.name} long", s.close, [1.0]), (f"{s.name} short", s.close, [-1.0])]
    results = []
    for label, prices, w in books:
        for method in methods:
            results.append({"position": label, **measures.measure(prices, method, confidence, horizon, weights=w).as_dict()})
    rows = [(r["position"], r["method"], _pct(r["var"]), _pct(r["es"])) for r in results]
    emit(ctx, results, (["position", "method", f"VaR {confidence:g} {horizon}d", f"ES {confidence:g} {horizon}d"], rows))


@risk.command("calibrate")
@click.argument("markets", nargs=-1, required=True)
@click.option("--method", "-m", type=METHOD_CHOICE, default="historical", show_default=True)
@click.option("--statistic", type=click.Choice(["var", "es"]), default="es", show_default=True)
@click.option("--mm-confidence", type=float, default=None, help="Maintenance confidence [0.99].")
@click.option("--mm-horizon", type=int, default=None, help="Maintenance horizon, days [1].")
@click.option("--im-confidence", type=float, default=None, help="Initial confidence [0.99].")
@click.option("--im-horizon", type=int, default=None, help="Initial horizon, days [3].")
@click.option("--lookback", type=int, default=None, help="Use only the last N days (0 = all) [0].")
@click.option("--config-out", type=click.Path(path_type=Path), default=None, help="Write the market config JSON here [default: OUT/markets.json when --out is given].")
@click.option("--deploy-out", type=click.Path(path_type=Path), default=None, help="Write a `pymargin deploy` config (pymargin-deploy/1: test token, engine, DevOracles at the last close, the calibrated parameters) here.")
@click.option("--chain-id", type=int, default=31337, show_default=True, help="Chain id written into the deploy config.")
@_data_option
@_out_option
@click.pass_obj
def calibrate_cmd(ctx, markets, method, statistic, mm_confidence, mm_horizon, im_confidence, im_horizon, lookback, config_out, deploy_out, chain_id, data, out, force) -> None:
    """Initial and maintenance margin fractions per market, as the market config (WAD) to deploy.

    Rule: mmf = max(floor, ES/VaR at (mm confidence, mm horizon) + funding + liquidity add-ons),
    imf = max(floor, the same at the IM settings, 1.5·mmf), both Ceil to a basis point; market ids
    are 0, 1, ... in the order given (the engine's addMarket order). With --out, also a chart of
    each fraction's in-sample breaches; with --deploy-out, a config `pymargin deploy` runs.

    \b
    Example:
      pymargin risk calibrate btc eth --out risk-out           # risk-out/markets.json + calibration.png
      pymargin risk calibrate btc eth --deploy-out deploy.json && pymargin deploy --config deploy.json
      pymargin --json risk calibrate btc --statistic var --im-confidence 0.995
    """
    import numpy as np

    from pymargin.fixedpoint import WAD, Rounding
    from pymargin.risk import backtest, calibration, charts
    from pymargin.risk import data as rdata
    from pymargin.risk.wad import fraction_to_wad

    config_out = check_out_file(config_out, force=force, option="--config-out") if config_out else None
    deploy_out = check_out_file(deploy_out, force=force, option="--deploy-out") if deploy_out else None
    settings = calibration.with_overrides(
        calibration.Settings(), method=method, statistic=statistic, mm_confidence=mm_confidence, mm_horizon_days=mm_horizon,
        im_confidence=im_confidence, im_horizon_days=im_horizon, lookback_days=lookback,
    )
    results, last_prices, loaded = [], {}, []
    for market_id, name in enumerate(markets):
        series = rdata.load_market(name, data)
        loaded.append(series)
        funding = rdata.load_funding_daily(name, data)
        results.append(calibration.calibrate_market(series, market_id, settings, funding[1] if funding else None))
        last_prices[series.name] = fraction_to_wad(float(series.close[-1]), Rounding.Floor, tick=1)
    config = calibration.market_config(results, settings)
    if deploy_out:  # the input format of `pymargin deploy` (its chain_id a JSON number)
        from pymargin.fsutil import atomic_write_text

        atomic_write_text(deploy_out, json.dumps(calibration.deploy_config(results, last_prices, chain_id), indent=2, sort_keys=True) + "\n")
        ctx.info(f"deploy config written to {deploy_out}")
    target = config_out or (out / "markets.json" if out else None)
    if target:
        _write_json(target, config)
        ctx.info(f"market config written to {target}")
    if out:
        tests = []
        for series, cal in zip(loaded, results):
            for side, sign in (("long", 1.0), ("short", -1.0)):
                for kind, fraction, h, c in (("imf", cal.params.imf_wad, settings.im_horizon_days, settings.im_confidence),
                                             ("mmf", cal.params.mmf_wad, settings.mm_horizon_days, settings.mm_confidence)):
                    label = f"{cal.params.name} {side}: {kind} {_pct(fraction / WAD)} vs {h}-day loss (in-sample)"
                    tests.append(backtest.backtest(label, series.dates, series.close, fraction / WAD, np.arange(len(series) - h), h, c, [sign]))
        charts.backtest_chart(tests, out / "calibration.png", "calibrated initial (imf) and maintenance (mmf) margin fractions against realised losses")
    rows = [(c.params.market_id, c.params.name, c.days, _pct(c.params.mmf_wad / WAD), _pct(c.params.imf_wad / WAD), c.params.mmf_wad, c.params.imf_wad, c.tier.tier) for c in results]
    emit(ctx, config, (["id", "market", "days", "mmf", "imf", "mmf_wad", "imf_wad", "liquidity tier"], rows), title=f"{method} {statistic}")


@risk.command("backtest")
@click.argument("market")
@click.option("--method", "-m", "methods", type=METHOD_CHOICE, multiple=True, help="Rolling model(s) [default: historical, fhs-ewma].")
@click.option("--statistic", type=click.Choice(["var", "es"]), default="var", show_default=True, help="Margin = rolling VaR or ES (Kupiec expects 1 - c breaches for VaR).")
@click.option("--fraction", type=float, default=None, help="Backtest this static fraction instead of rolling models.")
@click.option("--window", type=int, default=500, show_default=True, help="Trailing window of the rolling models, days (a static --fraction is tested from the first day).")
@click.option("--refit-every", type=int, default=21, show_default=True, help="Refit Student-t / GARCH every N days.")
@_confidence_option(0.99)
@_horizon_option(1)
@_data_option
@_out_option
@click.pass_obj
def backtest_cmd(ctx, market, methods, statistic, fraction, window, refit_every, confidence, horizon, data, out) -> None:
    """Roll through history: breaches of the margin, Kupiec and Christoffersen tests, breach dates.

    Each day's margin uses data up to that day only; a breach is a loss over the next HORIZON days
    above it. Longs and shorts are tested separately.

    \b
    Example:
      pymargin risk backtest btc -m historical -m fhs-garch -c 0.99 -H 1 --out risk-out
      pymargin risk backtest eth --fraction 0.15 -H 3
    """
    import numpy as np

    from pymargin.risk import backtest, charts
    from pymargin.risk import data as rdata

    series = rdata.load_market(market, data)
    tests = []
    for side, sign in (("long", 1.0), ("short", -1.0)):
        if fraction is not None:
            if not 0 < fraction <= 1:
                raise UserError(f"--fraction must be in (0, 1], got {fraction}")
            t = np.arange(0, len(series) - horizon)  # a static fraction needs no history: from the first day
            tests.append(backtest.backtest(f"{series.name} {side} static {_pct(fraction)}", series.dates, series.close, fraction, t, horizon, confidence, [sign]))
            continue
        for method in methods or ("historical", "fhs-ewma"):
            r = backtest.rolling_measure(series.close, method, confidence, horizon, window, [sign], refit_every)
            tests.append(backtest.backtest(f"{series.name} {side} {method} {statistic}", series.dates, series.close, getattr(r, statistic), r.t, horizon, confidence, [sign]))
    summaries = [bt.summary() for bt in tests]
    if out:
        charts.backtest_chart(tests, out / f"backtest-{series.name}.png", f"{series.name}: {horizon}-day margin backtest at {confidence:g}")
        _write_json(out / f"backtest-{series.name}.json", summaries)
    rows = [(s["label"], s["day_count"], s["breach_count"], _pct(s["breach_rate"]), _pct(s["expected_rate"]), _pct(s["mean_margin"]), f"{s['kupiec']['p_value']:.3f}", f"{s['christoffersen_independence']['p_value']:.3f}") for s in summaries]
    emit(ctx, summaries, (["margin", "days", "breaches", "rate", "expected", "mean margin", "Kupiec p", "indep. p"], rows))


@risk.command("dynamic")
@click.argument("market")
@click.option("--calibration-days", type=int, default=1000, show_default=True, help="Days used to calibrate k and the static fraction; the rest is the backtest.")
@click.option("--floor", type=float, default=0.05, show_default=True)
@click.option("--cap", type=float, default=0.5, show_default=True)
@click.option("--max-step", type=float, default=0.01, show_default=True, help="Largest change per daily update.")
@click.option("--deadband", type=float, default=0.0025, show_default=True, help="No update while the target is this close.")
@click.option("--statistic", type=click.Choice(["var", "es"]), default="es", show_default=True)
@_confidence_option(0.99)
@_horizon_option(3)
@_data_option
@_out_option
@click.pass_obj
def dynamic_cmd(ctx, market, calibration_days, floor, cap, max_step, deadband, statistic, confidence, horizon, data, out) -> None:
    """EWMA-scaled initial margin with bounds and a rate limit, backtested against a static fraction.

    Reports capital held (mean fraction) against breaches for both, and the keeper's on-chain
    updates (imf_wad, mmf_wad per change; with --out, in OUT/keeper-updates-MARKET.json).

    \b
    Example:
      pymargin risk dynamic btc --floor 0.05 --max-step 0.01 --out risk-out
    """
    from pymargin.risk import charts, dynamic
    from pymargin.risk import data as rdata

    series = rdata.load_market(market, data)
    rule = dynamic.DynamicRule(1.0, horizon, floor, cap, max_step, deadband=deadband)
    comparison = dynamic.compare_with_static(series.dates, series.close, confidence, calibration_days, rule, statistic)
    summary = comparison.summary()
    if out:
        import numpy as np

        from pymargin.fixedpoint import WAD

        mm_of = np.vectorize(lambda imf_wad: dynamic.maintenance_wad(int(imf_wad), rule.mm_share) / WAD)
        mm = {"dynamic": mm_of(comparison.dynamic_wad), "static": mm_of(comparison.static_wad)}
        panels = [(label, bt) for label, sides in comparison.backtests.items() for bt in sides.values()]
        charts.backtest_chart([bt for _, bt in panels], out / f"dynamic-{series.name}.png",
                              f"{series.name}: dynamic (EWMA) vs static initial margin, with maintenance, {horizon}-day losses",
                              [mm[label] for label, _ in panels])
        _write_json(out / f"keeper-updates-{series.name}.json", comparison.updates)
    rows = [(label, side, d["day_count"], d["breach_count"], _pct(d["breach_rate"]), _pct(d["mean_margin"]), _pct(d["max_margin"]), f"{d['kupiec']['p_value']:.3f}") for label in ("dynamic", "static") for side, d in summary[label].items()]
    emit(ctx, summary, (["margin", "side", "days", "breaches", "rate", "mean held", "max held", "Kupiec p"], rows), title=f"k = {comparison.rule.multiplier:.3f}, {len(comparison.updates)} keeper updates")


def _market_states(series, confidence, horizon, vol_range, config, range_cap):
    """Today's price, EWMA implied-vol proxy and price scanning range per market, and the caps applied.

    The range is the calibrated imf (--config), else the larger side's historical ES at (c, h); it is
    lowered to ``range_cap`` only when the user gives one, and each such cap is returned
    ({market: uncapped range}) so the command can print it.
    """
    import numpy as np

    from pymargin.fixedpoint import WAD
    from pymargin.risk import measures, scenario, volatility

    imf = {}
    if config is not None:
        imf = {p.name: p.imf_wad / WAD for p in _market_params(config).values()}
    states, capped = {}, {}
    for name, s in series.items():
        vol = float(np.sqrt(volatility.ewma_variance(s.returns())[-1] * 365.0))
        rng = min(imf.get(name) or max(measures.measure(s.close, "historical", confidence, horizon, weights=[w]).es for w in (1.0, -1.0)), 1.0)
        if range_cap is not None and rng > range_cap:
            capped[name] = rng
            rng = range_cap
        states[name] = scenario.Underlying(float(s.close[-1]), vol, rng, vol_range)
    return states, capped


@risk.command("scenario")
@click.option("--position", "-p", "positions", multiple=True, required=True, help="MARKET:SIZE (perp) or MARKET:SIZE:call|put:MONEYNESS:DAYS.")
@click.option("--vol-range", type=float, default=0.25, show_default=True, help="Relative implied-vol shift.")
@click.option("--config", type=click.Path(path_type=Path), default=None, help="Market config from `risk calibrate`: its imf is the price scanning range.")
@click.option("--range-cap", type=click.FloatRange(0, 1, min_open=True), default=None, help="Largest price scanning range (fraction); a market whose range is capped is reported [default: no cap].")
@_confidence_option(0.99)
@_horizon_option(3)
@_data_option
@_out_option
@click.pass_obj
def scenario_cmd(ctx, positions, vol_range, config, range_cap, confidence, horizon, data, out) -> None:
    """SPAN-style portfolio margin of perps and options, and the capital netting saves.

    Prices are each market's last close; implied vol is its annualised EWMA volatility (proxy);
    the price scanning range is the calibrated imf (--config) or the historical ES at (c, h),
    whatever its size (a range above 1/3 takes the extreme down move to a price of ~0), unless
    --range-cap lowers it; every cap is printed.

    \b
    Example:
      pymargin risk scenario -p btc:1 -p btc:-1:call:1.1:30 -p btc:1:put:0.9:30 --out risk-out
    """
    from pymargin.risk import charts, scenario

    holdings, series = _holdings(positions, data)
    states, capped = _market_states(series, confidence, horizon, vol_range, config, range_cap)
    for name, uncapped in capped.items():
        click.echo(f"pymargin: note: {name}: price scanning range capped at {_pct(range_cap)} by --range-cap (uncapped {_pct(uncapped)})", err=True)
    instruments = [h.instrument(states[h.market].price) for h in holdings]
    result = scenario.scenario_margin(instruments, states)
    report = {"states": {k: vars(v) | {"price_range_uncapped": capped.get(k, v.price_range)} for k, v in states.items()}, **result.as_dict()}
    if out:
        charts.scenario_chart(result, out / "scenario.png", "SPAN risk array: weighted loss per scenario")
    def worst(d):
        vol = {1: "vol up", -1: "vol down", 0: "vol unchanged"}[d["worst_scenario"]["vol_direction"]]
        return f"price {d['worst_scenario']['price_move_ranges']:+.2f} ranges, {vol}"

    rows = [(name, f"{states[name].price:,.2f}", _pct(states[name].price_range) + (" (capped)" if name in capped else ""), f"{d['requirement']:,.2f}", worst(d)) for name, d in result.by_underlying.items()]
    rows.append(("portfolio", "", "", f"{result.requirement:,.2f}", f"gross {result.standalone_sum:,.2f}, netting saves {result.netting_saving:,.2f}"))
    emit(ctx, report, (["underlying", "price", "scan range", "requirement", "worst scenario"], rows))


@risk.command("benchmark")
@click.option("--position", "-p", "positions", multiple=True, required=True, help="MARKET:SIZE (perp) or MARKET:SIZE:call|put:MONEYNESS:DAYS.")
@click.option("--fixed", "fixed_fraction", type=float, default=0.10, show_default=True, help="Fraction of the fixed model.")
@click.option("--window", type=int, default=500, show_default=True)
@click.option("--vol-range", type=float, default=0.25, show_default=True)
@_confidence_option(0.99)
@_horizon_option(3)
@_data_option
@_out_option
@click.pass_obj
def benchmark_cmd(ctx, positions, fixed_fraction, window, vol_range, confidence, horizon, data, out) -> None:
    """Initial margin of one portfolio under fixed, tiered, VaR, ES and scenario models, with breach rates.

    \b
    Example:
      pymargin risk benchmark -p btc:2 -p eth:-30 -p btc:-2:call:1.1:30 --out risk-out
    """
    from pymargin.risk import benchmark, charts
    from pymargin.risk import data as rdata

    holdings, series = _holdings(positions, data)
    names = sorted(series)
    dates, prices = rdata.align([series[name] for name in names])
    result = benchmark.run(dates, prices, names, holdings, confidence, horizon, window, fixed_fraction, vol_range)
    table = result.table()
    if out:
        charts.benchmark_chart(table, out / "benchmark.png", f"initial margin models: capital vs {horizon}-day breaches ({dates[window]} .. {dates[-1]})")
    rows = [(r["model"], f"{r['requirement_today']:,.2f}", f"{r['mean_requirement_pct_of_notional']:.2f}%", r["breach_count"], _pct(r["breach_rate"]), f"{r['kupiec_p_value']:.3f}") for r in table]
    emit(ctx, {"positions": [vars(h) for h in holdings], "confidence": confidence, "horizon_days": horizon, "models": table}, (["model", "requirement today", "mean % of notional", "breaches", "breach rate", "Kupiec p"], rows))


@risk.command("margin-call")
@click.argument("market")
@click.option("--size", type=float, required=True, help="Position size in base units (negative = short).")
@click.option("--collateral", type=float, default=None, help="Starting collateral, quote units [default: just enough to open: initial margin + fee].")
@click.option("--start", type=str, required=True, help="First day, YYYY-MM-DD.")
@click.option("--days", type=int, default=60, show_default=True)
@click.option("--topup", type=float, default=0.0, show_default=True, help="Total the trader will deposit to meet calls.")
@click.option("--grace-days", type=int, default=1, show_default=True)
@click.option("--config", type=click.Path(path_type=Path), default=None, help="Market config from `risk calibrate` [default: calibrate this market now].")
@_data_option
@_out_option
@click.pass_obj
def margin_call_cmd(ctx, market, size, collateral, start, days, topup, grace_days, config, data, out) -> None:
    """Variation margin, margin calls and liquidation of one position over the real price path.

    Runs on the reference engine (pymargin.engine.Engine: the contract's state machine, exact WAD
    integers) with the market's daily funding when its funding file exists.

    \b
    Example:
      pymargin risk margin-call btc --size 1 --start 2020-02-20 --days 40 --topup 2000 --out risk-out
    """
    import numpy as np

    from pymargin.fixedpoint import WAD
    from pymargin.risk import calibration, charts, margin_call
    from pymargin.risk import data as rdata

    series = rdata.load_market(market, data)
    funding = rdata.load_funding_daily(market, data)
    if config is not None:
        params = _market_params(config)
        if series.name not in params:
            raise UserError(f"market {series.name!r} is not in {config} (it has {', '.join(params)})")
        market_params = params[series.name]
    else:
        market_params = calibration.calibrate_market(series, 0, calibration.Settings(), funding[1] if funding else None).params
    try:
        first = int(np.searchsorted(series.dates, np.datetime64(start, "D")))
    except ValueError:
        raise UserError(f"--start {start!r} is not a date (YYYY-MM-DD)") from None
    if first >= len(series) - 1:
        raise UserError(f"--start {start} is after the data ends ({series.dates[-1]})")
    sl = slice(first, first + days + 1)
    dates, prices = series.dates[sl], series.close[sl]
    daily_funding = None
    if funding is not None:
        idx = np.clip(np.searchsorted(funding[0], dates), 0, len(funding[0]) - 1)
        daily_funding = np.where(funding[0][idx] == dates, funding[1][idx], 0.0)
    run = margin_call.simulate(dates, prices, size, collateral, market_params, topup, grace_days, daily_funding)
    if out:
        charts.margin_call_chart(run.rows, out / f"margin-call-{series.name}.png", f"{series.name}: {size:+g} from {dates[0]}, imf {_pct(market_params.imf_wad / WAD)}, mmf {_pct(market_params.mmf_wad / WAD)}", run.bad_debt_wad)
    report = {"params": vars(market_params), "summary": run.summary(), "rows": run.rows}
    rows = [(r["date"], f"{r['price_wad'] / WAD:,.2f}", f"{r['variation_margin_wad'] / WAD:,.2f}", f"{r['equity_wad'] / WAD:,.2f}", f"{r['maintenance_margin_wad'] / WAD:,.2f}", f"{r['call_wad'] / WAD:,.2f}", r["event"]) for r in run.rows if r["event"] or ctx.verbose]
    emit(ctx, report, (["date", "price", "variation margin", "equity", "maint. margin", "call", "event"], rows), title=json.dumps(run.summary(), default=str))


@risk.command("mining")
@click.option("--difficulty", type=float, default=1.2e14, show_default=True, help="Network difficulty (example value; no history ships with the data).")
@click.option("--subsidy", type=float, default=3.125, show_default=True, help="Block subsidy, BTC.")
@click.option("--fees", type=float, default=0.03, show_default=True, help="Average fees per block, BTC.")
@click.option("--pool-fee", type=float, default=0.02, show_default=True)
@click.option("--hashrate", type=float, default=200.0, show_default=True, help="TH/s.")
@click.option("--efficiency", type=float, default=17.5, show_default=True, help="J/TH.")
@click.option("--power-price", type=float, default=0.05, show_default=True, help="USD per kWh.")
@click.option("--hardware-cost", type=float, default=4000.0, show_default=True, help="USD.")
@click.option("--hardware-life", type=float, default=1095.0, show_default=True, help="Days.")
@click.option("--horizon-days", type=int, default=30, show_default=True, help="Hedge horizon.")
@click.option("--lookback", type=int, default=1460, show_default=True, help="Days of BTC history for the hedge windows.")
@click.option("--config", type=click.Path(path_type=Path), default=None, help="Market config with a 'btc' market: its imf/mmf size the hedge collateral.")
@_confidence_option(0.99)
@_data_option
@_out_option
@click.pass_obj
def mining_cmd(ctx, difficulty, subsidy, fees, pool_fee, hashrate, efficiency, power_price, hardware_cost, hardware_life, horizon_days, lookback, config, confidence, data, out) -> None:
    """A miner's margin, break-even BTC price, and a short-perp hedge with the collateral it needs.

    Network inputs are explicit (defaults are stated example values, not measured history).

    \b
    Example:
      pymargin risk mining --difficulty 1.2e14 --fees 0.03 --power-price 0.06 --out risk-out
    """
    from pymargin.fixedpoint import WAD
    from pymargin.risk import calibration, charts, mining
    from pymargin.risk import data as rdata

    btc = rdata.load_market("btc", data)
    if config is not None:
        params = _market_params(config)
        if "btc" not in params:
            raise UserError(f"{config} has no 'btc' market")
        p = params["btc"]
    else:
        funding = rdata.load_funding_daily("btc", data)
        p = calibration.calibrate_market(btc, 0, calibration.Settings(), funding[1] if funding else None).params
    miner = mining.Miner(difficulty, subsidy, fees, pool_fee, hashrate, efficiency, power_price, hardware_cost, hardware_life)
    report = mining.hedge_analysis(btc.close[-lookback:], miner, horizon_days, p.imf_wad / WAD, p.mmf_wad / WAD, confidence)
    if out:
        charts.mining_chart(report, out / "mining.png", f"miner's {horizon_days}-day margin against hedge ratio")
    col = report["collateral"]
    rows = [
        ("BTC price (last close)", f"{report['price']:,.2f}"),
        ("BTC mined per day", f"{report['btc_per_day']:.8f}"),
        ("cost per day, USD", f"{report['cost_per_day']:,.2f}"),
        ("margin per day, USD", f"{report['margin_per_day']:,.2f}"),
        ("break-even BTC price", f"{report['break_even_price']:,.2f}"),
        ("hashprice, USD/PH/day", f"{report['hashprice_usd_per_ph_day']:,.2f}"),
        ("min-variance short, BTC", f"{report['min_variance_short_btc']:.8f} (ratio {report['min_variance_ratio']:.2f})"),
        ("variance reduction", f"{report['variance_reduction_pct']:.1f}%"),
        ("hedge initial margin, USD", f"{col['initial_margin']:,.2f}"),
        (f"collateral to survive a {confidence:g} move, USD", f"{col['to_survive_var_move']:,.2f}"),
    ]
    emit(ctx, report, (["quantity", "value"], rows))


COMMANDS = [risk]


@risk.command("portfolio")
@click.option("--positions", "-p", "positions_file", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Portfolio file (JSON): marks, series and each account's positions; format in docs/portfolio.md.")
@click.pass_obj
def portfolio_cmd(ctx, positions_file: Path) -> None:
    """Portfolio margin of every account against its positions margined one by one, exact.

    Each series' risk array (16 SPAN scenarios, fixed-point Black-76 for options) is computed from
    its underlying's mark, exactly as RiskArrayBook stores it (spec §4.1-4.2). Per account:

    \b
      per position  Σ of each position's maintenance margin, margined alone
      portfolio MM  per underlying the largest scenario loss of the netted positions
                    (never below the short-option minimum), summed over underlyings
      saving        per position − portfolio MM: what a hedge saves
      portfolio IM  ⌈portfolio MM · im_multiple⌉

    The file (JSON, every integer a decimal string; docs/portfolio.md): underlyings (mark price,
    implied vol, price and vol scanning ranges, short-option minimum fraction, all WAD), series
    (perp, call or put on an underlying; options with strike_wad and tau_s, the seconds to
    expiry), the initial-margin multiple, and accounts (owner, sub) with positions (series_id,
    signed WAD size). Amounts are WAD quote units, exact: the table prints them as decimals,
    --json as WAD integers in decimal strings (keys ending _wad).

    \b
    Example:
      pymargin risk portfolio --positions book.json
      pymargin --json risk portfolio -p book.json
    """
    from pymargin.portfolio import account_margins, load_portfolio

    portfolio = load_portfolio(positions_file)
    _emit_portfolio(ctx, portfolio, account_margins(portfolio))


def _wad_decimal(value: int) -> str:
    """A WAD integer as its exact decimal (e.g. 1,234.5 for 1234500000000000000000)."""
    whole, frac = divmod(abs(value), 10**18)
    return ("-" if value < 0 else "") + f"{whole:,}" + (f".{frac:018d}".rstrip("0") if frac else "")


def _emit_portfolio(ctx, portfolio, margins) -> None:
    """The report: JSON (the shared convention: integers as decimal strings, WAD keys ending _wad) or
    an 80-column table of exact decimals."""
    fields = ("per_position_wad", "maintenance_wad", "saving_wad", "initial_wad")
    accounts = [
        {"owner": m.owner, "sub": m.sub, "position_count": m.position_count, "per_position_maintenance_wad": m.per_position_wad,
         "maintenance_wad": m.maintenance_wad, "saving_wad": m.saving_wad, "initial_wad": m.initial_wad}
        for m in margins
    ]
    totals = {f: sum(getattr(m, f) for m in margins) for f in fields}
    data = {
        "account_count": len(margins), "im_multiple_wad": portfolio.im_multiple_wad, "accounts": accounts,
        "total_per_position_maintenance_wad": totals["per_position_wad"], "total_maintenance_wad": totals["maintenance_wad"],
        "total_saving_wad": totals["saving_wad"], "total_initial_wad": totals["initial_wad"],
    }
    labels = ("per position", "portfolio MM", "saving", "portfolio IM")
    rows = []
    for m in margins:
        rows += [(f"{m.owner}:{m.sub}" if k == 0 else "", label, _wad_decimal(getattr(m, f))) for k, (label, f) in enumerate(zip(labels, fields))]
    rows += [("all accounts" if k == 0 else "", label, _wad_decimal(totals[f])) for k, (label, f) in enumerate(zip(labels, fields))]
    emit(ctx, data, (["account", "requirement", "quote units (exact)"], rows))
