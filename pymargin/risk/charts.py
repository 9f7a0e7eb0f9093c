"""PNG charts of the risk reports (matplotlib, Agg backend), each written atomically.

Every function takes the report object and a path, draws one figure, and writes it with
:func:`pymargin.fsutil.atomic_write_bytes` (no half-written PNG is ever left behind). Every axis is
labelled with its unit; money is in the market's quote currency.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from pymargin.fsutil import atomic_write_bytes


def _figure(rows: int = 1, height: float = 4.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, 1, figsize=(10, height * rows), squeeze=False)
    return plt, fig, axes[:, 0]


def _save(plt, fig, path: Path) -> Path:
    buffer = io.BytesIO()
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)


def backtest_chart(backtests: list, path: Path, title: str, maintenance: list | None = None) -> Path:
    """Realised h-day loss and the margin held, one panel per backtest; breach days marked in red.
    ``maintenance`` (one fraction or array per panel, or None) adds the maintenance margin, dashed."""
    plt, fig, axes = _figure(len(backtests), 3.2)
    for i, (ax, bt) in enumerate(zip(axes, backtests)):
        dates = bt.dates.astype("datetime64[D]")
        loss, margin = 100.0 * np.asarray(bt.loss), 100.0 * np.broadcast_to(bt.margin, np.shape(bt.loss))
        ax.plot(dates, loss, lw=0.5, color="0.5", label=f"{bt.horizon_days}-day loss")
        ax.plot(dates, margin, lw=1.0, color="tab:blue", label="margin held")
        if maintenance is not None and maintenance[i] is not None:
            mm = 100.0 * np.broadcast_to(maintenance[i], np.shape(bt.loss))
            ax.plot(dates, mm, lw=1.0, ls="--", color="tab:orange", label="maintenance margin")
        ax.scatter(dates[bt.hits], loss[bt.hits], s=12, color="tab:red", zorder=3, label=f"breaches ({int(bt.hits.sum())})")
        ax.set_title(bt.label, fontsize=9)
        ax.set_ylabel("% of notional")
        ax.legend(fontsize=7, loc="upper left")
    axes[-1].set_xlabel("date (UTC)")
    axes[0].figure.suptitle(title, fontsize=10)
    return _save(plt, fig, path)


def benchmark_chart(table: list[dict], path: Path, title: str) -> Path:
    """Mean requirement (% of gross notional) against breach rate, one bar pair per model."""
    plt, fig, axes = _figure(1, 4.2)
    ax = axes[0]
    models = [row["model"] for row in table]
    x = np.arange(len(models))
    ax.bar(x - 0.2, [row["mean_requirement_pct_of_notional"] for row in table], 0.4, label="mean requirement, % of notional")
    ax.set_xticks(x, models)
    ax.set_xlabel("initial margin model")
    ax.set_ylabel("% of gross notional")
    twin = ax.twinx()
    twin.bar(x + 0.2, [100.0 * row["breach_rate"] for row in table], 0.4, color="tab:red", label="breach rate, %")
    twin.set_ylabel("breach rate, % of days")
    ax.legend(loc="upper left", fontsize=8)
    twin.legend(loc="upper right", fontsize=8)
    ax.set_title(title, fontsize=10)
    return _save(plt, fig, path)


def scenario_chart(result, path: Path, title: str) -> Path:
    """Weighted loss in each of the 16 SPAN scenarios, one panel per underlying."""
    from pymargin.risk.scenario import span_scenarios

    labels = [f"{m:+.2f}{'↑' if v > 0 else '↓' if v < 0 else 'x'}" for m, v, _ in span_scenarios()]
    plt, fig, axes = _figure(len(result.by_underlying), 3.0)
    for ax, (name, detail) in zip(axes, result.by_underlying.items()):
        ax.bar(range(len(labels)), detail["losses"], color=["tab:red" if x > 0 else "tab:green" for x in detail["losses"]])
        ax.set_xticks(range(len(labels)), labels, fontsize=6, rotation=60)
        ax.set_title(f"{name}: requirement {detail['requirement']:,.2f}", fontsize=9)
        ax.set_ylabel("weighted loss, quote units")
    axes[-1].set_xlabel("scenario: price move in scanning ranges, implied vol up (↑) / down (↓) / unchanged (x)")
    axes[0].figure.suptitle(title, fontsize=10)
    return _save(plt, fig, path)


def margin_call_chart(rows: list[dict], path: Path, title: str, bad_debt_wad: int = 0) -> Path:
    """Equity against maintenance and initial margin (quote units); calls, payments and the
    liquidation marked. Equity is drawn as it was before the liquidation, below zero if it fell
    there, and any bad debt left after it is drawn as a red bar below zero on that day."""
    plt, fig, axes = _figure(1, 4.0)
    ax = axes[0]
    dates = np.array([r["date"] for r in rows], dtype="datetime64[D]")
    scale = 1e18
    equity = [r.get("equity_before_liquidation_wad", r["equity_wad"]) / scale for r in rows]
    ax.plot(dates, equity, label="equity", color="tab:blue")
    ax.plot(dates, [r["maintenance_margin_wad"] / scale for r in rows], label="maintenance margin (MM)", color="tab:orange")
    ax.plot(dates, [r["initial_margin_wad"] / scale for r in rows], label="initial margin (IM)", color="tab:green")
    ax.axhline(0.0, color="0.3", lw=0.6)
    for event, color in (("call", "tab:orange"), ("paid", "tab:green"), ("liquidated", "tab:red")):
        hit = [i for i, r in enumerate(rows) if r["event"] == event]
        if hit:
            ax.scatter(dates[hit], [equity[i] for i in hit], color=color, zorder=3, label=event)
    if bad_debt_wad > 0:
        day = dates[-1]
        ax.bar([day], [-bad_debt_wad / scale], width=0.8, color="tab:red", alpha=0.5, label=f"bad debt {bad_debt_wad / scale:,.2f}")
    ax.set_xlabel("date (UTC)")
    ax.set_ylabel("quote units")
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return _save(plt, fig, path)


def mining_chart(report: dict, path: Path, title: str) -> Path:
    """Standard deviation and 1st percentile of the miner's margin against the hedge ratio."""
    plt, fig, axes = _figure(1, 4.0)
    ax = axes[0]
    ratios = [r["hedge_ratio"] for r in report["hedges"]]
    ax.plot(ratios, [r["std_margin"] for r in report["hedges"]], marker="o", label="std of margin")
    ax.plot(ratios, [r["p1_margin"] for r in report["hedges"]], marker="s", label="1st percentile of margin")
    ax.axvline(report["min_variance_ratio"], color="0.5", ls="--", label="minimum-variance ratio")
    ax.set_xlabel("hedge ratio (short BTC / expected production over the horizon)")
    ax.set_ylabel("USD over the horizon")
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return _save(plt, fig, path)
