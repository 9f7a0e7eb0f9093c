"""The project's circuits, by parameters: the main component of each, compiled on demand (cached).

* ``solvency(k, m, t)``: SolvencyBatch with 2^k accounts per batch, m markets, t tree levels above
  the batch (tree depth k + t).
* ``account_margin(m)``: AccountMargin of one account (equity and requirement as public outputs).
* ``private_margin(m)``: PrivateMargin of one account against its leaf hash.
"""

from __future__ import annotations

import re

from pymargin.zk.circom import Circuit, compile_circuit
from pymargin.zk.statement import Shape

HEADER = 'pragma circom 2.1.6;\ninclude "{file}";\n'


def solvency(k: int, m: int, t: int) -> Circuit:
    """SolvencyBatch(k, m, t), compiled (cached)."""
    return compile_circuit(f"solvency_k{k}_m{m}_t{t}", HEADER.format(file="solvency.circom") + f"component main = SolvencyBatch({k}, {m}, {t});\n")


def solvency_shape(name: str) -> Shape | None:
    """The shape of a SolvencyBatch circuit from its name ``solvency_k{k}_m{m}_t{t}``; None for any other name."""
    found = re.fullmatch(r"solvency_k(\d+)_m(\d+)_t(\d+)", name)
    return Shape(int(found[1]), int(found[3]), int(found[2])) if found else None


def account_margin(m: int) -> Circuit:
    """AccountMargin(m) with equity and requirement as public outputs, compiled (cached)."""
    return compile_circuit(f"account_margin_m{m}", HEADER.format(file="margin.circom") + f"component main = AccountMargin({m});\n")


def private_margin(m: int) -> Circuit:
    """PrivateMargin(m), compiled (cached)."""
    return compile_circuit(f"private_margin_m{m}", HEADER.format(file="private_margin.circom") + f"component main = PrivateMargin({m});\n")
