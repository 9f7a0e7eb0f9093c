"""The demo's report: one self-contained ``report.html`` (figures embedded as data URIs) plus the
PNG figures beside it.

The input is a :class:`ReportData` the demo fills from the chain, the Python mirror and the proof;
everything in it is already computed, so the report only formats. Amounts are WAD integers and are
shown in quote units. Output is deterministic for the same data (no timestamps, no PNG metadata).
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

from pymargin.fsutil import atomic_write_bytes, atomic_write_text
from pymargin.model import WAD


@dataclass(frozen=True)
class AccountRow:
    """One account at the end of the run (WAD quote amounts)."""

    account_id: str
    equity: int
    initial_margin: int
    maintenance_margin: int
    liquidatable: bool


@dataclass(frozen=True)
class Liquidation:
    """A liquidation during the simulated price path."""

    step: int
    market: str
    account_id: str
    size: int  # WAD base units taken over by the liquidator


@dataclass(frozen=True)
class ProofSummary:
    """The solvency proof of the epoch and what each verifier said."""

    epoch: int
    root: str
    proof_hash: str
    constraints: int
    proving_s: float
    verification_gas: int
    setup: str  # e.g. "development setup (single-party, NOT for production)"
    verifiers: dict[str, bool]  # e.g. {"snarkjs": True, "py-ecc": True, "on-chain": True}


@dataclass
class ReportData:
    """Everything the report shows."""

    title: str
    chain: str  # e.g. "embedded devnet (chain id 131277322940537)"
    markets: list[str]
    open_interest: dict[str, int]  # market -> total long size, WAD base units
    total_collateral: int
    total_liabilities: int  # L = Σ max(equity, 0): what users can claim
    reserves: int  # the vault's holdings that belong to users and the insurance fund: balance − owner fees, WAD
    insurance_fund: int
    bad_debt: int
    accounts: list[AccountRow]
    price_paths: dict[str, list[int]]  # market -> oracle price per step, WAD
    liquidations: list[Liquidation] = field(default_factory=list)
    crosscheck: dict[str, int] = field(default_factory=dict)  # e.g. {"accounts": 32, "values": 256, "mismatches": 0}
    proof: ProofSummary | None = None
    deficit: int = 0  # Σ max(−equity, 0): unsettled bad debt in the book
    below_mm_count: int = 0  # accounts with equity < maintenance margin
    shortfall: int = 0  # Σ max(mm − equity, 0)
    checkpoint: str = ""  # the engine checkpoint the figures are taken at, e.g. "checkpoint 1 (block 812)"


def _q(amount_wad: int) -> str:
    """A WAD amount in quote units with thousands separators and 2 decimals (display only)."""
    return f"{amount_wad / WAD:,.2f}"


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def figures(data: ReportData) -> dict[str, bytes]:
    """The report's figures as PNG bytes, by file name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, bytes] = {}
    with plt.style.context("default"):
        ratios = [a.equity / a.maintenance_margin for a in data.accounts if a.maintenance_margin > 0]
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        if ratios:
            clipped = [min(r, 10.0) for r in ratios]
            ax.hist(clipped, bins=30, color="#3b7dd8", edgecolor="white")
        ax.axvline(1.0, color="#c0392b", linestyle="--", label="maintenance (equity = MM)")
        ax.set_xlabel("equity / maintenance margin (clipped at 10)")
        ax.set_ylabel("accounts")
        ax.set_title("Distribution of margin ratios")
        ax.legend()
        out["margin_ratios.png"] = _png(fig)
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        healthy = [a for a in data.accounts if not a.liquidatable]
        flagged = [a for a in data.accounts if a.liquidatable]
        for rows, colour, label in ((healthy, "#3b7dd8", "above maintenance"), (flagged, "#c0392b", "liquidatable")):
            if rows:
                ax.scatter([a.maintenance_margin / WAD for a in rows], [a.equity / WAD for a in rows], s=14, color=colour, label=label)
        positive = [v for a in data.accounts for v in (a.maintenance_margin / WAD, a.equity / WAD) if v > 0]
        low, top = (min(positive), max(positive)) if positive else (1.0, 10.0)
        ax.plot([low, top], [low, top], color="#555", linewidth=1, label="equity = MM")
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=max(low, 1e-6))
        ax.set_xlabel("maintenance margin (quote, log scale)")
        ax.set_ylabel("equity (quote, log scale)")
        ax.set_title("Equity vs maintenance margin")
        ax.legend()
        out["equity_vs_mm.png"] = _png(fig)
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        labels = ["liabilities L (Σ max(equity, 0))", "reserves (vault − owner fees)", "insurance fund", "bad debt"]
        values = [data.total_liabilities / WAD, data.reserves / WAD, data.insurance_fund / WAD, data.bad_debt / WAD]
        ax.barh(labels, values, color=["#e67e22", "#27ae60", "#8e44ad", "#c0392b"])
        ax.invert_yaxis()
        ax.set_xlabel("quote units")
        ax.set_title("Liabilities vs reserves")
        out["liabilities_vs_reserves.png"] = _png(fig)
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        for market, path in data.price_paths.items():
            base = path[0] if path and path[0] else 1
            ax.plot(range(len(path)), [p / base for p in path], label=market)
        for i, liq in enumerate(data.liquidations):
            path = data.price_paths.get(liq.market, [])
            if 0 <= liq.step < len(path) and path[0]:
                ax.scatter([liq.step], [path[liq.step] / path[0]], marker="x", color="#c0392b", zorder=3, label="liquidation" if i == 0 else None)
        ax.set_xlabel("step")
        ax.set_ylabel("price / initial price")
        ax.set_title("Simulated price path and liquidations")
        ax.legend()
        out["price_path.png"] = _png(fig)
        plt.close(fig)
    return out


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:980px;color:#222;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.25rem .7rem;border-bottom:1px solid #eee;text-align:right}
th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}.ok{color:#1e8449;font-weight:600}.bad{color:#c0392b;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:1rem}img{max-width:100%;border:1px solid #eee}
code{font-size:.85em;word-break:break-all}.muted{color:#777}
"""

_ON_LOAD = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images-loaded', ok + '/' + imgs.length);
});
</script>"""


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(data: ReportData, pngs: dict[str, bytes]) -> str:
    """The report as one HTML document with the figures embedded as base64 data URIs."""
    e = html.escape
    covered = data.reserves >= data.total_liabilities
    summary = _table(
        ["book", "value"],
        [
            ["accounts", f"{len(data.accounts):,}"],
            ["total collateral", _q(data.total_collateral)],
            ["taken at", e(data.checkpoint or "the end of the run")],
            ["liabilities L (Σ max(equity, 0))", _q(data.total_liabilities)],
            ["reserves (vault − owner fees)", _q(data.reserves)],
            ["reserves cover liabilities", f"<span class='{'ok' if covered else 'bad'}'>{'yes' if covered else 'NO'}</span>"],
            ["deficit (Σ max(−equity, 0))", _q(data.deficit)],
            ["accounts below maintenance", f"{data.below_mm_count:,}"],
            ["shortfall (Σ max(mm − equity, 0))", _q(data.shortfall)],
            ["insurance fund", _q(data.insurance_fund)],
            ["bad debt (recorded)", _q(data.bad_debt)],
            ["liquidations", f"{len(data.liquidations):,}"],
        ],
    )
    oi = _table(["market", "open interest (base units)"], [[e(m), f"{data.open_interest.get(m, 0) / WAD:,.4f}"] for m in data.markets])
    cross = ""
    if data.crosscheck:
        mismatches = data.crosscheck.get("mismatches", 0)
        verdict = f"<span class='{'ok' if mismatches == 0 else 'bad'}'>{'all equal' if mismatches == 0 else f'{mismatches} MISMATCHES'}</span>"
        cross = "<h2>Python mirror vs contract</h2>" + _table(
            ["cross-check", "value"], [[e(k), f"{v:,}"] for k, v in sorted(data.crosscheck.items())] + [["verdict", verdict]]
        )
    proof = ""
    if data.proof is not None:
        p = data.proof
        verdicts = [[e(name), f"<span class='{'ok' if ok else 'bad'}'>{'accepted' if ok else 'REJECTED'}</span>"] for name, ok in p.verifiers.items()]
        proof = "<h2>Solvency proof</h2>" + _table(
            ["proof", "value"],
            [
                ["epoch", str(p.epoch)],
                ["root", f"<code>{e(p.root)}</code>"],
                ["proof hash", f"<code>{e(p.proof_hash)}</code>"],
                ["constraints", f"{p.constraints:,}"],
                ["proving time", f"{p.proving_s:.2f} s"],
                ["verification gas (verifyBatch, all batches)", f"{p.verification_gas:,}"],
                ["trusted setup", e(p.setup)],
            ],
        ) + _table(["verifier", "result"], verdicts)
    worst = sorted(data.accounts, key=lambda a: a.equity / a.maintenance_margin if a.maintenance_margin else float("inf"))[:10]
    accounts = _table(
        ["account (lowest margin ratio first)", "equity", "IM", "MM", "liquidatable"],
        [[f"<code>{e(a.account_id)}</code>", _q(a.equity), _q(a.initial_margin), _q(a.maintenance_margin), "yes" if a.liquidatable else "no"] for a in worst],
    )
    imgs = "".join(
        f"<figure><img alt='{e(name)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'></figure>" for name, png in pngs.items()
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{e(data.title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{e(data.title)}</h1><p class='muted'>{e(data.chain)} · markets: {e(', '.join(data.markets))}</p>"
        f"<h2>Book</h2><div class='grid'><div>{summary}</div><div>{oi}</div></div>"
        f"{cross}{proof}<h2>Charts</h2><div class='grid'>{imgs}</div>"
        f"<h2>Accounts closest to liquidation</h2>{accounts}{_ON_LOAD}</body></html>"
    )


def write_report(data: ReportData, out_dir: Path) -> Path:
    """Write ``report.html`` and its PNG figures into ``out_dir`` (each file atomically); return the HTML path."""
    out_dir = Path(out_dir)
    pngs = figures(data)
    for name, png in pngs.items():
        atomic_write_bytes(out_dir / name, png)
    path = out_dir / "report.html"
    atomic_write_text(path, render_html(data, pngs))
    return path
