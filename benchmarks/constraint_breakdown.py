"""Per-account constraints of SolvencyBatch(K, 4, 0) part by part, each part compiled on its own.

Each part is a small circuit over the real templates of circuits/ (a wrapper template whose inputs
are main inputs and whose parts' outputs are left unused, so circom --O2 folds linear constraints
away as it does inside SolvencyBatch), compiled with the project's circom and flags and counted in
its r1cs. The parts are checked against the batch: AccountFigures + LeafHash + PadStep + NodeHash (B - 1 nodes per batch: one more per account) against the slope of
SolvencyBatch(K, 4, 0) from K = 1 to 2. Rows marked "difference" are a measured whole minus its measured parts. Alternatives
(other leaf and node hashes, Σim) are measured as the gadget alone, without building a new format.

    nice -n 10 .venv/bin/python benchmarks/constraint_breakdown.py --out benchmarks/zk_results.json

``--out`` sets the key ``constraint_breakdown_per_account`` of that JSON file and keeps every other key.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

from pymargin.fsutil import atomic_write_text
from pymargin.zk import circuits
from pymargin.zk.circom import compile_circuit

M = 4  # markets
N_COUNT = M.bit_length() + 1  # bits of marketCount, as SolvencyBatch
WAD = 10**18
KEY = "constraint_breakdown_per_account"

ACCOUNT_INPUTS = f"""    signal input collateral;
    signal input slots[4][4];
    signal input priceLessIndex[{M}];
    signal input priceFraction[2][{M}];
"""


def count(name: str, body: str) -> int:
    """Constraints of a circuit whose main template has ``body`` (inputs and components, no outputs)."""
    source = (f'pragma circom 2.1.6;\ninclude "solvency.circom";\n'
              f"template Part() {{\n{body}}}\ncomponent main = Part();\n")
    return compile_circuit(f"breakdown_{name}", source).info["constraints"]


def gadget(name: str, template: str, inputs: dict[str, str]) -> int:
    """Constraints of one ``template`` fed from main inputs (input name -> circom dimensions, e.g. "[4][4]")."""
    lines = [f"    signal input {field}{dims};" for field, dims in inputs.items()]
    lines.append(f"    component g = {template};")
    lines += [f"    g.{field} <== {field};" for field in inputs]
    return count(name, "\n".join(lines) + "\n")


def poseidon(n: int) -> int:
    """Constraints of circomlib's Poseidon over n inputs."""
    return gadget(f"poseidon{n}", f"Poseidon({n})", {"inputs": f"[{n}]"})


def account_parts() -> dict:
    """The parts of AccountFigures(4, 4) (one account's range checks, margins, standing and sums) and the whole."""
    p = {}
    p["slot_range_checks"] = count("slot_ranges", "    signal input slots[4][4];\n" + "".join(
        f"    component size{k} = SignedRangeCheck(94);\n    size{k}.in <== slots[{k}][1];\n"
        f"    component cost{k} = SignedRangeCheck(130);\n    cost{k}.in <== slots[{k}][2];\n"
        f"    component f{k} = SignedRangeCheck(100);\n    f{k}.in <== slots[{k}][3];\n" for k in range(4)))
    p["collateral_range_check"] = gadget("collateral_range", "SignedRangeCheck(128)", {"in": ""})
    slot_terms = count("slot_terms", ACCOUNT_INPUTS + "".join(
        f"    component t{k} = SlotTerms({M}, 2);\n    t{k}.slot <== slots[{k}];\n"
        f"    t{k}.priceLessIndex <== priceLessIndex;\n    t{k}.priceFraction <== priceFraction;\n" for k in range(4)))
    p["slot_select_and_products"] = slot_terms - p["slot_range_checks"]  # difference
    p["equity_floor_division"] = gadget("floor_wad", f"DivRoundedUnbounded(0, 198, {WAD})", {"in": ""})
    p["ceil_remainder_check"] = gadget("ceil_wad2", f"DivRoundedUnbounded(1, 250, {WAD**2})", {"in": ""})
    p["ceil_quotient_range_check"] = gadget("range131", "RangeCheck(131)", {"in": ""})
    ceil_division = p["ceil_remainder_check"] + p["ceil_quotient_range_check"]
    p["mm_ceil_division"] = p["im_ceil_division"] = ceil_division
    margins = account_margins(2)
    p["account_margins_residual"] = margins - (slot_terms + p["collateral_range_check"] + p["equity_floor_division"]
                                               + 2 * ceil_division)  # difference
    p["signs_of_equity_and_gap"] = gadget("standing", "Standing()", {"equity": "", "mm": ""})
    p["markets_exist_less_than"] = 4 * gadget("less_than", f"LessThan({N_COUNT})", {"in": "[2]"})
    p["account_figures"] = account_figures()
    p["empty_slot_checks_and_aggregates"] = (p["account_figures"] - margins - p["signs_of_equity_and_gap"]
                                             - p["markets_exist_less_than"])  # difference
    return p


def account_margins(fractions: int) -> int:
    """Constraints of AccountMargins(4, fractions): 1 = mm only, 2 = mm and im."""
    return count(f"account_margins_f{fractions}", ACCOUNT_INPUTS.replace("[2][", f"[{fractions}][") +
                 f"    component a = AccountMargins({M}, {fractions});\n    a.collateral <== collateral;\n"
                 "    a.slots <== slots;\n    a.priceLessIndex <== priceLessIndex;\n    a.priceFraction <== priceFraction;\n")


def account_figures() -> int:
    """Constraints of AccountFigures(4, 4), as SolvencyBatch instantiates it per account."""
    return count("account_figures", ACCOUNT_INPUTS + "    signal input marketCount;\n"
                 f"    component a = AccountFigures({M}, {N_COUNT});\n    a.collateral <== collateral;\n"
                 "    a.slots <== slots;\n    a.priceLessIndex <== priceLessIndex;\n"
                 "    a.priceFraction <== priceFraction;\n    a.marketCount <== marketCount;\n")


def batch_parts() -> dict:
    """SolvencyBatch's per-account parts (AccountFigures, leaf hash, padding step, one node hash), their sum, the batch slope from K = 1 to 2 (T = 0) and the residual slope - sum."""
    p = {"account_figures": account_figures(),
         "leaf_hash": gadget("leaf_hash", "LeafHash()", {"idHash": "", "salt": "", "collateral": "", "slots": "[4][4]"})}
    p["pad_step"] = gadget("pad_step", "PadStep()", {"paddedIn": "", "idHash": "", "leafHash": ""})
    p["node_hash"] = gadget("node_hash", "NodeHash()", {"left": "[3]", "right": "[3]"})
    p["sum_of_parts"] = sum(p.values())
    batch = {k: circuits.solvency(k, M, 0).info["constraints"] for k in (1, 2)}
    p["solvency_batch_k1_t0"], p["solvency_batch_k2_t0"] = batch[1], batch[2]
    p["slope_per_account"] = (batch[2] - batch[1]) // 2
    p["residual"] = p["slope_per_account"] - p["sum_of_parts"]
    return p


def alternatives() -> dict:
    """Per-account cost of the hashes and figures a format or statement change would use instead."""
    p = {f"poseidon{n}": poseidon(n) for n in (4, 5, 6, 8, 11, 12)}
    p["alt_node_4ary_poseidon12_per_account"] = round(p["poseidon12"] / 3)  # a 4-ary node replaces 3 binary ones
    p["alt_drop_im_all"] = account_margins(2) - account_margins(1)
    return p


def measure() -> dict:
    """Every part's constraints per account (M = 4), the batch slope and residual, the alternatives: one flat dict."""
    return {**account_parts(), **batch_parts(), **alternatives()}


ROWS = [
    ("slot_range_checks", "range checks of 4 slots' size 95 + cost 131 + f 101 bits"),
    ("collateral_range_check", "range check of collateral (129 bits)"),
    ("slot_select_and_products", "4 slots: one-hot market select and products (SlotTerms - ranges; difference)"),
    ("equity_floor_division", "equity Floor division: remainder < WAD"),
    ("ceil_remainder_check", "a Ceil division's remainder < WAD^2"),
    ("ceil_quotient_range_check", "a Ceil division's quotient RangeCheck(131)"),
    ("mm_ceil_division", "mm Ceil division: remainder + quotient"),
    ("im_ceil_division", "im Ceil division: remainder + quotient"),
    ("account_margins_residual", "rest of AccountMargins(4, 2) (difference)"),
    ("signs_of_equity_and_gap", "signs of equity and equity - mm, liability, shortfall (Standing)"),
    ("markets_exist_less_than", "markets exist: 4 x LessThan(4)"),
    ("empty_slot_checks_and_aggregates", "empty-slot zero checks, size*f, per-market aggregates (difference)"),
    ("account_figures", "= AccountFigures(4, 4), measured whole"),
    ("leaf_hash", "leaf hash: Poseidon(11) over the 11 packed words (two-level before: 915)"),
    ("pad_step", "padding step (PadStep; the order step it replaced cost 500)"),
    ("node_hash", "one node hash: Poseidon(6) + sums"),
    ("sum_of_parts", "sum: AccountFigures + leaf + padding + node"),
    ("slope_per_account", "SolvencyBatch(K, 4, 0) slope, K = 1 -> 2"),
    ("residual", "residual: slope - sum"),
    ("poseidon4", "Poseidon(4)"),
    ("poseidon5", "Poseidon(5)"),
    ("poseidon6", "Poseidon(6)"),
    ("poseidon8", "Poseidon(8)"),
    ("poseidon11", "Poseidon(11)"),
    ("poseidon12", "Poseidon(12)"),
    ("alt_node_4ary_poseidon12_per_account", "alternative node: 4-ary Poseidon(12) / 3 per account"),
    ("alt_drop_im_all", "dropping Σim: AccountMargins(4, 2) - AccountMargins(4, 1)"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help=f"JSON file whose key {KEY} is set (other keys kept)")
    args = parser.parse_args(argv)
    data = {}
    if args.out:
        if not args.out.parent.is_dir():
            parser.error(f"--out {args.out}: no such folder")
        try:
            data = json.loads(args.out.read_text()) if args.out.exists() else {}
        except (OSError, ValueError) as error:
            parser.error(f"--out {args.out}: not a readable JSON file ({error})")
    parts = measure()
    for key, label in ROWS:
        if key in parts:
            print(f"{label:<88} {parts[key]:>6,}")
    if args.out:
        data[KEY] = {**parts, "command": "benchmarks/constraint_breakdown.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                     "date": datetime.date.today().isoformat()}
        atomic_write_text(args.out, json.dumps(data, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
