"""Backtests of margin levels: roll through history, count breaches, test their rate and clustering.

Day t has prices P[0..t]. A margin m[t] set on day t (from data up to day t only) is *breached*
when the loss over the next h days exceeds it: -Σ_i w_i·(P_i[t+h]/P_i[t] - 1) > m[t].
Rolling models use the trailing ``window`` daily returns (r[t-window .. t-1]); their parameters
that need an optimiser (Student-t ν and scale, GARCH α and β) are refitted every ``refit_every``
days and held in between. For h > 1 the breach indicators of overlapping windows are dependent,
so the Kupiec and Christoffersen tests use every h-th day (non-overlapping windows); breach counts
and dates are reported on every day.

Tests (χ² likelihood ratios):
- Kupiec (1995) proportion of failures, n days, x breaches, expected rate p:
  LR_pof = -2 ln[(1-p)^(n-x) p^x] + 2 ln[(1-x/n)^(n-x) (x/n)^x]  ~ χ²(1)
- Christoffersen (1998) independence, from the counts n_ij of day pairs (state i then j):
  LR_ind = -2 ln[(1-π)^(n00+n10) π^(n01+n11)] + 2 ln[(1-π0)^n00 π0^n01 (1-π1)^n10 π1^n11] ~ χ²(1),
  π0 = n01/(n00+n01), π1 = n11/(n10+n11), π = (n01+n11)/Σn; conditional coverage
  LR_cc = LR_pof + LR_ind ~ χ²(2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pymargin.errors import UserError
from pymargin.risk import measures, volatility


@dataclass(frozen=True)
class TestResult:
    """A likelihood-ratio statistic, its χ² p-value, and whether it rejects at the 5 % level."""

    statistic: float
    p_value: float
    dof: int

    @property
    def rejected(self) -> bool:
        return self.p_value < 0.05

    def as_dict(self) -> dict:
        return {"statistic": self.statistic, "p_value": self.p_value, "dof": self.dof, "rejected_at_5pct": self.rejected}


def _chi2(statistic: float, dof: int) -> TestResult:
    from scipy.stats import chi2

    statistic = max(0.0, float(statistic))
    return TestResult(statistic, float(chi2.sf(statistic, dof)), dof)


def kupiec_pof(n: int, breaches: int, p: float) -> TestResult:
    """Kupiec's proportion-of-failures LR for ``breaches`` in ``n`` days at expected rate ``p`` (χ², 1 dof)."""
    from scipy.special import xlogy

    if n <= 0 or not 0 <= breaches <= n:
        raise UserError(f"Kupiec test needs 0 <= breaches <= n and n > 0 (n={n}, breaches={breaches})")
    if not 0.0 < p < 1.0:
        raise UserError(f"expected breach rate must be in (0, 1), got {p}")
    x = breaches
    null = xlogy(n - x, 1.0 - p) + xlogy(x, p)
    alt = xlogy(n - x, 1.0 - x / n) + xlogy(x, x / n)
    return _chi2(-2.0 * (null - alt), 1)


def transition_counts(hits: np.ndarray) -> tuple[int, int, int, int]:
    """(n00, n01, n10, n11): how often state i (1 = breach) on one day is followed by state j on the next."""
    h = np.asarray(hits, dtype=bool)
    prev, nxt = h[:-1], h[1:]
    return (int(np.sum(~prev & ~nxt)), int(np.sum(~prev & nxt)), int(np.sum(prev & ~nxt)), int(np.sum(prev & nxt)))


def christoffersen_independence(hits: np.ndarray) -> TestResult:
    """Christoffersen's independence LR of a breach sequence (χ², 1 dof)."""
    from scipy.special import xlogy

    if len(hits) < 2:
        raise UserError("the independence test needs at least 2 days")
    n00, n01, n10, n11 = transition_counts(hits)
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    pi0 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi1 = n11 / (n10 + n11) if n10 + n11 else 0.0
    null = xlogy(n00 + n10, 1.0 - pi) + xlogy(n01 + n11, pi)
    alt = xlogy(n00, 1.0 - pi0) + xlogy(n01, pi0) + xlogy(n10, 1.0 - pi1) + xlogy(n11, pi1)
    return _chi2(-2.0 * (null - alt), 1)


def conditional_coverage(hits: np.ndarray, p: float) -> TestResult:
    """Christoffersen's conditional coverage LR_cc = LR_pof + LR_ind (χ², 2 dof)."""
    h = np.asarray(hits, dtype=bool)
    pof = kupiec_pof(len(h), int(h.sum()), p)
    ind = christoffersen_independence(h)
    return _chi2(pof.statistic + ind.statistic, 2)


@dataclass(frozen=True)
class Rolling:
    """Margins m[k] set on days ``t[k]`` (indices into the price rows), with the VaR and ES behind them."""

    t: np.ndarray
    var: np.ndarray
    es: np.ndarray


def rolling_measure(
    prices: np.ndarray,
    method: str,
    confidence: float,
    horizon_days: int,
    window: int = 500,
    weights=None,
    refit_every: int = 21,
) -> Rolling:
    """VaR and ES set on every day t = window .. n-1-h from the trailing ``window`` returns (see module doc)."""
    c, h = measures.check_confidence(confidence), measures.check_horizon(horizon_days)
    p, w = measures.as_matrix(prices, weights)
    n = len(p)
    if window < max(2 * h, volatility.SEED_DAYS) or refit_every < 1:
        raise UserError(f"window must be >= {max(2 * h, volatility.SEED_DAYS)} days and refit_every >= 1")
    if n - 1 - h < window:
        raise UserError(f"{n} days of prices are too few for a {window}-day window and a {h}-day horizon")
    t = np.arange(window, n - h)
    x = measures.daily_pnl(p, w)  # x[j]: return from day j to j+1
    if method == "historical":
        hp = measures.horizon_pnl(p, w, h)
        rows = np.lib.stride_tricks.sliding_window_view(hp, window - h + 1)[: len(t)]
        var, es = measures.historical_rows(rows, c)
        return Rolling(t, var, es)
    if method == "normal":
        csum = np.concatenate(([0.0], np.cumsum(x * x)))
        sigma = np.sqrt((csum[t] - csum[t - window]) / window)
        m = measures.normal(1.0, c, h)
        return Rolling(t, sigma * m.var, sigma * m.es)
    if method == "student-t":
        var, es = np.empty(len(t)), np.empty(len(t))
        for start in range(0, len(t), refit_every):
            day = t[start]
            nu, scale = measures.fit_student_t(x[day - window : day])
            m = measures.student_t(scale, nu, c, h)
            var[start : start + refit_every], es[start : start + refit_every] = m.var, m.es
        return Rolling(t, var, es)
    if method in ("fhs-ewma", "fhs-garch"):
        return _rolling_filtered(x, t, method, c, h, window, refit_every)
    raise UserError(f"unknown risk method {method!r}: use one of {', '.join(measures.METHODS)}")


def _rolling_filtered(x: np.ndarray, t: np.ndarray, method: str, c: float, h: int, window: int, refit_every: int) -> Rolling:
    """Filtered historical margins: per refit segment, one variance path over all returns with that segment's model."""
    var, es = np.empty(len(t)), np.empty(len(t))
    step = len(t) if method == "fhs-ewma" else refit_every
    for start in range(0, len(t), step):
        seg = slice(start, start + step)
        if method == "fhs-ewma":
            v = volatility.ewma_variance(x)
        else:
            day = t[start]
            v = volatility.garch_variance(x, volatility.fit_garch(x[day - window : day]))
        sigma = np.sqrt(v)
        sums = np.convolve(x / sigma[:-1], np.ones(h), mode="valid")  # sums[s] = Σ z[s..s+h-1]
        rows = np.lib.stride_tricks.sliding_window_view(sums, window - h + 1)[: len(t)][seg]
        q, tail = measures.historical_rows(rows, c)
        var[seg], es[seg] = sigma[t[seg]] * q, sigma[t[seg]] * tail
    return Rolling(t, var, es)


@dataclass
class Backtest:
    """Breaches of margins ``margin[k]`` set on days ``t[k]`` against the realised h-day losses."""

    label: str
    horizon_days: int
    confidence: float
    dates: np.ndarray  # the days margins were set
    margin: np.ndarray
    loss: np.ndarray
    hits: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.hits = self.loss > self.margin

    @property
    def expected_rate(self) -> float:
        return 1.0 - self.confidence

    def tested_hits(self) -> np.ndarray:
        """The breach indicators of non-overlapping windows (every h-th day)."""
        return self.hits[:: self.horizon_days]

    def summary(self) -> dict:
        """Counts, rates, mean margin held, Kupiec / Christoffersen results and breach dates."""
        tested = self.tested_hits()
        p = self.expected_rate
        return {
            "label": self.label,
            "day_count": int(len(self.hits)),
            "breach_count": int(self.hits.sum()),
            "breach_rate": float(self.hits.mean()),
            "expected_rate": p,
            "mean_margin": float(self.margin.mean()),
            "max_margin": float(self.margin.max()),
            "tested_day_count": int(len(tested)),
            "tested_breach_count": int(tested.sum()),
            "kupiec": kupiec_pof(len(tested), int(tested.sum()), p).as_dict(),
            "christoffersen_independence": christoffersen_independence(tested).as_dict(),
            "conditional_coverage": conditional_coverage(tested, p).as_dict(),
            "breach_dates": [str(d) for d in self.dates[self.hits]],
        }


def realised_loss(prices: np.ndarray, t: np.ndarray, horizon_days: int, weights=None) -> np.ndarray:
    """-Σ_i w_i·(P_i[t+h]/P_i[t] - 1) for each day in ``t``: the loss the margin set on day t must cover."""
    return -measures.horizon_pnl(prices, weights, horizon_days)[t]


def backtest(
    label: str,
    dates: np.ndarray,
    prices: np.ndarray,
    margin: np.ndarray | float,
    t: np.ndarray,
    horizon_days: int,
    confidence: float,
    weights=None,
) -> Backtest:
    """Compare ``margin`` (per day in ``t``, or one static fraction) with the realised h-day losses."""
    loss = realised_loss(prices, t, horizon_days, weights)
    m = np.broadcast_to(np.asarray(margin, dtype=float), loss.shape).copy()
    return Backtest(label, horizon_days, measures.check_confidence(confidence), np.asarray(dates)[t], m, loss)
