"""Risk analytics that set and test the margin parameters (docs/spec.md §8, guide docs/risk.md).

One concept per module, read top to bottom:

- :mod:`~pymargin.risk.data` — price and funding files (``/work/shared/data`` layout), aligned series
- :mod:`~pymargin.risk.volatility` — EWMA and GARCH(1,1) conditional volatility
- :mod:`~pymargin.risk.measures` — VaR and expected shortfall (historical, normal, Student-t, filtered historical)
- :mod:`~pymargin.risk.wad` — float fractions to WAD integers with a named rounding
- :mod:`~pymargin.risk.calibration` — initial/maintenance fractions per market → MarketParams (WAD)
- :mod:`~pymargin.risk.backtest` — rolling margins, breaches, Kupiec and Christoffersen tests
- :mod:`~pymargin.risk.dynamic` — volatility-scaled fractions with bounds and a rate limit
- :mod:`~pymargin.risk.options` — Black–Scholes and Black-76 prices
- :mod:`~pymargin.risk.scenario` — SPAN-style scenario (portfolio) margin
- :mod:`~pymargin.risk.benchmark` — one portfolio under every initial-margin model, with breach rates
- :mod:`~pymargin.risk.margin_call` — variation margin, margin calls and liquidation over a price path
- :mod:`~pymargin.risk.mining` — a Bitcoin miner's margin, break-even price and perp hedge
- :mod:`~pymargin.risk.charts` — PNG charts (matplotlib, Agg), written atomically

Losses and margins are fractions of notional (floats) until they are handed to the contract, where
:mod:`~pymargin.risk.wad` turns them into WAD integers rounded up.
"""
