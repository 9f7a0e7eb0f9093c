"""The demo's report: one self-contained ``report.html`` (figures embedded as data URIs) plus the
PNG figures beside it — what an auditor needs to check the epoch: the contracts and the transactions
that deployed them, the checkpoint (block, time, transaction) and the post, the circuit and the
verifying key's hash, the market snapshot, Σ IM, Σ MM, L, deficit and shortfall, and every account
(the table and each chart say how many accounts they show and why any are left out).

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

from pymargin.fixedpoint import INT256_MAX
from pymargin.fsutil import atomic_write_bytes, atomic_write_text
from pymargin.model import WAD

ACCOUNTS_SHOWN = 20  # rows of the account table: the lowest margin ratios
RATIO_CLIP = 10.0  # the margin-ratio histogram's last bin holds every ratio at or above this


@dataclass(frozen=True)
class AccountRow:
    """One account at the end of the run (WAD quote amounts)."""

    account_id: str
    equity: int
    initial_margin: int
    maintenance_margin: int
    liquidatable: bool
    margin_ratio_wad: int  # the engine's marginRatio: floor(equity · WAD / MM), INT256_MAX when MM = 0


@dataclass(frozen=True)
class ContractRow:
    """A deployed contract: what it is, its address, the transaction that deployed it (0x hex)."""

    name: str
    address: str
    deploy_tx_hash: str


@dataclass(frozen=True)
class MarketRow:
    """A market as the checkpoint recorded it (WAD)."""

    name: str
    price_wad: int
    funding_index_wad: int
    imf_wad: int
    mmf_wad: int


@dataclass(frozen=True)
class EpochInfo:
    """The engine checkpoint the epoch is taken at, and the transaction that posted it."""

    checkpoint_id: int
    block: int
    time_s: int  # the block's timestamp, unix seconds
    checkpoint_tx_hash: str
    post_tx_hash: str
    note: str = ""  # e.g. "3 fills and a price step after it"


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
    verifiers: dict[str, bool]  # e.g. {"snarkjs": True, "py_ecc": True, "on_chain": True}
    circuit: str = ""  # e.g. "solvency_k6_m4_t0"
    vk_hash: str = ""  # keccak256 of verification_key.json
    verifier_code_hash: str = ""  # keccak256 of the on-chain verifier's runtime code


@dataclass(frozen=True)
class OptionSeriesRow:
    """An option series of the run (WAD quote per base unit)."""

    name: str
    strike_wad: int
    expiry_s: int  # unix seconds
    premium_wad: int  # what it traded at
    payoff_wad: int  # per long unit at settlement
    settled: bool


@dataclass(frozen=True)
class PortfolioMarginRow:
    """An option-holding cross account after its trades: its portfolio maintenance margin and the sum of
    its positions' maintenance margins each alone (WAD quote, Ceil), read on chain."""

    account_id: str
    role: str  # e.g. "hedged", "naked"
    positions: str  # e.g. "+2.7183 ETH-PERP, −2.7183 call OTM 2,100.00"
    portfolio_mm: int
    standalone_mm: int
    mirror_equal: bool  # the Python mirror computes the same integers

    @property
    def saving(self) -> int:
        return self.standalone_mm - self.portfolio_mm


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
    total_im: int = 0  # Σ initial margin
    total_mm: int = 0  # Σ maintenance margin
    epoch: EpochInfo | None = None
    contracts: list[ContractRow] = field(default_factory=list)
    market_snapshot: list[MarketRow] = field(default_factory=list)
    option_series: list[OptionSeriesRow] = field(default_factory=list)
    portfolio_margin: list[PortfolioMarginRow] = field(default_factory=list)


def _q(amount_wad: int) -> str:
    """A WAD amount in quote units with thousands separators and 2 decimals (display only)."""
    return f"{amount_wad / WAD:,.2f}"


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def _ratio(row: AccountRow) -> float | None:
    """The margin ratio as a number (1.0 = at maintenance); None for ∞ (no maintenance margin)."""
    return None if row.margin_ratio_wad == INT256_MAX else row.margin_ratio_wad / WAD


def figure_notes(data: ReportData) -> dict[str, str]:
    """What each figure shows, by file name: how many accounts, and why any are not plotted."""
    n = len(data.accounts)
    infinite = sum(1 for a in data.accounts if _ratio(a) is None)
    clipped = sum(1 for a in data.accounts if (_ratio(a) or 0.0) >= RATIO_CLIP)
    ratio_note = f"{n - infinite:,} of {n:,} accounts"
    if infinite:
        ratio_note += f"; {infinite:,} left out: no maintenance margin (no open position), ratio ∞"
    if clipped:
        ratio_note += f"; {clipped:,} at {RATIO_CLIP:g} or above counted in the last bin"
    return {
        "margin_ratios.png": ratio_note,
        "equity_vs_mm.png": f"all {n:,} accounts (maintenance margin 0 at the left edge)",
        "liabilities_vs_reserves.png": "totals over all accounts at the checkpoint",
        "price_path.png": f"{len(data.liquidations):,} liquidation(s) marked",
    }


def margin_ratio_figure(data: ReportData):
    """The histogram of margin ratios (count axis in whole accounts); the caption says who is left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    ratios = [min(r, RATIO_CLIP) for r in (_ratio(a) for a in data.accounts) if r is not None]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    if ratios:
        ax.hist(ratios, bins=30, color="#3b7dd8", edgecolor="white")
    ax.axvline(1.0, color="#c0392b", linestyle="--", label="maintenance (equity = MM)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"margin ratio: equity / maintenance margin (≥ {RATIO_CLIP:g} in the last bin)")
    ax.set_ylabel("accounts (count)")
    ax.set_title(f"Margin ratios: {figure_notes(data)['margin_ratios.png'].split(';')[0]}")
    ax.legend()
    return fig


def figures(data: ReportData) -> dict[str, bytes]:
    """The report's figures as PNG bytes, by file name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, bytes] = {}
    with plt.style.context("default"):
        fig = margin_ratio_figure(data)
        out["margin_ratios.png"] = _png(fig)
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        healthy = [a for a in data.accounts if not a.liquidatable]
        flagged = [a for a in data.accounts if a.liquidatable]
        for rows, colour, label in ((healthy, "#3b7dd8", f"above maintenance ({len(healthy):,})"), (flagged, "#c0392b", f"liquidatable ({len(flagged):,})")):
            if rows:
                ax.scatter([a.maintenance_margin / WAD for a in rows], [a.equity / WAD for a in rows], s=14, color=colour, label=label)
        positive = [v for a in data.accounts for v in (a.maintenance_margin / WAD, a.equity / WAD) if v > 0]
        low, top = (min(positive), max(positive)) if positive else (1.0, 10.0)
        ax.plot([low, top], [low, top], color="#555", linewidth=1, label="equity = MM")
        ax.set_xscale("symlog", linthresh=max(low, 1e-6))  # symlog, not log: an account with MM = 0 stays on the chart
        ax.set_yscale("symlog", linthresh=max(low, 1e-6))
        ax.set_xlabel("maintenance margin (quote, log scale)")
        ax.set_ylabel("equity (quote, log scale)")
        ax.set_title(f"Equity vs maintenance margin: all {len(data.accounts):,} accounts")
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
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_xlabel("step (one hour each)")
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


def _ratio_text(row: AccountRow) -> str:
    r = _ratio(row)
    return "∞" if r is None else f"{r:,.4f}"


def _utc(time_s: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(time_s, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _code(text: str) -> str:
    return f"<code>{html.escape(text)}</code>" if text else "<span class='muted'>—</span>"


def _epoch_section(data: ReportData) -> str:
    """The checkpoint and the post: block, time and transactions, then every contract with its deployment."""
    out = ""
    if data.epoch is not None:
        ep = data.epoch
        out += "<h2>Epoch</h2>" + _table(["epoch", "value"], [
            ["checkpoint (epoch)", str(ep.checkpoint_id)],
            ["checkpoint block", f"{ep.block:,}"],
            ["checkpoint time", f"{_utc(ep.time_s)} (unix {ep.time_s})"],
            ["checkpoint transaction", _code(ep.checkpoint_tx_hash)],
            ["post transaction (SolvencyRegistry.postEpoch)", _code(ep.post_tx_hash)],
        ] + ([["after the checkpoint", html.escape(ep.note)]] if ep.note else []))
    if data.contracts:
        out += "<h2>Contracts</h2>" + _table(["contract", "address", "deployed by transaction"],
                                             [[html.escape(c.name), _code(c.address), _code(c.deploy_tx_hash)] for c in data.contracts])
    return out


def _market_section(data: ReportData) -> str:
    """The market snapshot at the checkpoint with open interest; without a snapshot, open interest alone."""
    e = html.escape
    if not data.market_snapshot:
        return _table(["market", "open interest (base units)"], [[e(m), f"{data.open_interest.get(m, 0) / WAD:,.4f}"] for m in data.markets])
    return _table(
        ["market", "price", "funding index", "IMF", "MMF", "open interest (base units)"],
        [[e(m.name), _q(m.price_wad), f"{m.funding_index_wad / WAD:,.6f}", f"{m.imf_wad / WAD:.2%}", f"{m.mmf_wad / WAD:.2%}",
          f"{data.open_interest.get(m.name, 0) / WAD:,.4f}"] for m in data.market_snapshot],
    )


def _options_section(data: ReportData) -> str:
    """The option series, then each option holder's portfolio margin against its per-position margin."""
    if not data.portfolio_margin:
        return ""
    e = html.escape
    series = _table(["series", "strike", "expiry", "premium", "payoff at settlement"],
                    [[e(s.name), _q(s.strike_wad), e(_utc(s.expiry_s)), _q(s.premium_wad), _q(s.payoff_wad) if s.settled else "not settled"]
                     for s in data.option_series])
    rows = [[_code(r.account_id), e(r.role), e(r.positions), _q(r.portfolio_mm), _q(r.standalone_mm), _q(r.saving),
             f"{r.saving / r.standalone_mm:.1%}" if r.standalone_mm else "—",
             f"<span class='{'ok' if r.mirror_equal else 'bad'}'>{'equal' if r.mirror_equal else 'MISMATCH'}</span>"]
            for r in data.portfolio_margin]
    margins = _table(["account", "book", "positions", "portfolio MM", "per-position MM", "saving", "saving %", "chain vs mirror"], rows)
    return ("<h2>Options: portfolio margin</h2>" + series
            + "<p class='muted'>Right after the option trades: the maintenance margin of each account holding options, "
              "as the engine computes it from risk arrays (portfolio MM), against the sum of its positions' "
              "maintenance margins each alone (per-position MM).</p>" + margins)


def render_html(data: ReportData, pngs: dict[str, bytes]) -> str:
    """The report as one HTML document with the figures embedded as base64 data URIs."""
    e = html.escape
    covered = data.reserves >= data.total_liabilities
    taken_at = (f"checkpoint {data.epoch.checkpoint_id} (block {data.epoch.block:,})" if data.epoch else "the end of the run")
    summary = _table(
        ["book", "value"],
        [
            ["accounts", f"{len(data.accounts):,}"],
            ["total collateral", _q(data.total_collateral)],
            ["taken at", e(taken_at)],
            ["liabilities L (Σ max(equity, 0))", _q(data.total_liabilities)],
            ["reserves (vault − owner fees)", _q(data.reserves)],
            ["reserves cover liabilities", f"<span class='{'ok' if covered else 'bad'}'>{'yes' if covered else 'NO'}</span>"],
            ["Σ initial margin (IM)", _q(data.total_im)],
            ["Σ maintenance margin (MM)", _q(data.total_mm)],
            ["deficit (Σ max(−equity, 0))", _q(data.deficit)],
            ["accounts below maintenance", f"{data.below_mm_count:,}"],
            ["shortfall (Σ max(mm − equity, 0))", _q(data.shortfall)],
            ["insurance fund", _q(data.insurance_fund)],
            ["bad debt (recorded)", _q(data.bad_debt)],
            ["liquidations", f"{len(data.liquidations):,}"],
        ],
    )
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
                ["root", _code(p.root)],
                ["proof hash", _code(p.proof_hash)],
                ["circuit", _code(p.circuit)],
                ["verifying key keccak256 (verification_key.json)", _code(p.vk_hash)],
                ["verifier runtime code keccak256", _code(p.verifier_code_hash)],
                ["constraints", f"{p.constraints:,}"],
                ["proving time", f"{p.proving_s:.2f} s"],
                ["verification gas (verifyBatch, all batches)", f"{p.verification_gas:,}"],
                ["trusted setup", e(p.setup)],
            ],
        ) + _table(["verifier", "result"], verdicts)
    ranked = sorted(data.accounts, key=lambda a: (_ratio(a) is None, _ratio(a) or 0.0, a.account_id))
    shown = ranked[:ACCOUNTS_SHOWN]
    accounts = _table(
        ["account (lowest margin ratio first)", "equity", "IM", "MM", "margin ratio (equity / MM)", "liquidatable"],
        [[_code(a.account_id), _q(a.equity), _q(a.initial_margin), _q(a.maintenance_margin), _ratio_text(a), "yes" if a.liquidatable else "no"] for a in shown],
    )
    left_out = len(data.accounts) - len(shown)
    accounts_note = (f"{len(shown):,} of {len(data.accounts):,} accounts shown"
                     + (f": the {left_out:,} with higher margin ratios are left out of this table (all are in the charts)" if left_out else ": all of them"))
    notes = figure_notes(data)
    imgs = "".join(
        f"<figure><img alt='{e(name)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
        f"<figcaption class='muted'>{e(notes.get(name, ''))}</figcaption></figure>" for name, png in pngs.items()
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{e(data.title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{e(data.title)}</h1><p class='muted'>{e(data.chain)} · markets: {e(', '.join(data.markets))}</p>"
        f"<h2>Book</h2><div class='grid'><div>{summary}</div><div>{_market_section(data)}</div></div>"
        f"{_epoch_section(data)}{cross}{proof}{_options_section(data)}<h2>Charts</h2><div class='grid'>{imgs}</div>"
        f"<h2>Accounts closest to liquidation</h2><p class='muted' id='accounts-shown'>{e(accounts_note)}</p>{accounts}{_ON_LOAD}</body></html>"
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
