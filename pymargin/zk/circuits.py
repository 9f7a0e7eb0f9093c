"""The project's circuits, by parameters: the main component of each, compiled on demand (cached).

* ``solvency(k, m, t)``: SolvencyBatch with 2^k accounts per batch, m markets, t tree levels above
  the batch (tree depth k + t); ``solvency_options(k, m, t, u, r, p)``: the same over books with
  options (u underlyings × r option-table rows each, p option slots per account).
* ``account_margin(m)``: AccountMargin of one account (equity and requirement as public outputs).
* ``private_margin(m)``: PrivateMargin of one account against its leaf hash.
* ``portfolio_account(u, k, p)``, ``portfolio_batch(b, u, k, p)``: portfolio (risk-array) margin, circuits/portfolio.circom.
"""

from __future__ import annotations

import re

from pymargin.zk.circom import Circuit, compile_circuit
from pymargin.zk.statement import Shape

HEADER = 'pragma circom 2.1.6;\ninclude "{file}";\n'


def solvency(k: int, m: int, t: int) -> Circuit:
    """SolvencyBatch(k, m, t) (= SolvencyBatch(k, m, t, 0, 0, 0): no options), compiled (cached)."""
    return compile_circuit(f"solvency_k{k}_m{m}_t{t}", HEADER.format(file="solvency.circom") + f"component main = SolvencyBatch({k}, {m}, {t}, 0, 0, 0);\n")


def solvency_options(k: int, m: int, t: int, u: int, r: int, p: int) -> Circuit:
    """SolvencyBatch(k, m, t, u, r, p): books with options (docs/spec.md §7.9), compiled (cached)."""
    return compile_circuit(f"solvency_k{k}_m{m}_t{t}_u{u}_r{r}_p{p}",
                           HEADER.format(file="solvency.circom") + f"component main = SolvencyBatch({k}, {m}, {t}, {u}, {r}, {p});\n")


def solvency_shape(name: str) -> Shape | None:
    """The shape (K, T, M) of a SolvencyBatch circuit from its name ``solvency_k{k}_m{m}_t{t}``, also of one with
    options ``…_u{u}_r{r}_p{p}`` (its U, R, P are bound by the statement's optionsHash); None for any other name."""
    found = re.fullmatch(r"solvency_k(\d+)_m(\d+)_t(\d+)(?:_u\d+_r\d+_p\d+)?", name)
    return Shape(int(found[1]), int(found[3]), int(found[2])) if found else None


def account_margin(m: int) -> Circuit:
    """AccountMargin(m) with equity and requirement as public outputs, compiled (cached)."""
    return compile_circuit(f"account_margin_m{m}", HEADER.format(file="margin.circom") + f"component main = AccountMargin({m});\n")


def private_margin(m: int) -> Circuit:
    """PrivateMargin(m), compiled (cached)."""
    return compile_circuit(f"private_margin_m{m}", HEADER.format(file="private_margin.circom") + f"component main = PrivateMargin({m});\n")


def portfolio_account(u: int, k: int, p: int) -> Circuit:
    """PortfolioMarginAccount(u, k, p): one account's portfolio MM and IM as public outputs, compiled (cached)."""
    return compile_circuit(f"portfolio_account_u{u}_k{k}_p{p}", HEADER.format(file="portfolio.circom") + f"component main = PortfolioMarginAccount({u}, {k}, {p});\n")


def portfolio_batch(b: int, u: int, k: int, p: int) -> Circuit:
    """PortfolioMarginBatch(b, u, k, p): b accounts against public risk tables, compiled (cached)."""
    return compile_circuit(f"portfolio_batch_b{b}_u{u}_k{k}_p{p}", HEADER.format(file="portfolio.circom") + f"component main = PortfolioMarginBatch({b}, {u}, {k}, {p});\n")
