"""Write contracts/commit/Poseidon<n>.sol for each n given (default: 8 and 11): circomlib's Poseidon(n) in
circomlibjs's optimised form (`poseidon_opt.js`: full rounds with the matrix M, one pre-sparse matrix P, then the
partial rounds of 2t - 1 products each instead of t^2, t = n + 1). The matrices M, P are literals in the code; the
round constants (per partial round C and 2t - 1 S, then the full rounds' C) are read from the code of data
contracts (pymargin.chain.commitments.wide_poseidon_constants, which splits them the same way). After `npm ci`:
python scripts/gen_poseidon_contract.py [n ...]; tests/test_poseidon.py checks the files are up to date."""

import json
import sys
import textwrap
from pathlib import Path

from pymargin.chain.commitments import FULL_ROUNDS as F, wide_poseidon_p_in_data, wide_poseidon_parts

ROOT = Path(__file__).resolve().parent.parent
ORDINALS = ("first", "second", "third", "fourth")
NUMBERS = ("", "one", "two", "three", "four")
ADDRESS_VARS = ("a", "b", "e", "g")  # the data contracts' addresses inside poseidon(); c, d are taken in the assembly


def mix(name: str, matrix, T: int) -> str:
    """state_i = Σ_j matrix[j][i]·state_j over the state in memory at p (poseidon_opt.js's order)."""
    loads = "\n".join(f"                let s{j} := mload(add(p, {32 * j}))" for j in range(T))
    rows = []
    for i in range(T):
        acc = f"mulmod({matrix[0][i]}, s0, Q)"
        for j in range(1, T):
            acc = f"addmod({acc}, mulmod({matrix[j][i]}, s{j}, Q), Q)"
        rows.append(f"                mstore(add(p, {32 * i}), {acc})")
    return f"            function {name}(p) {{\n{loads}\n" + "\n".join(rows) + "\n            }"


def mix_from_memory(name: str, T: int) -> str:
    """state_i = Σ_j m[j][i]·state_j with the matrix m in memory (row-major words at m), one loop per i."""
    loads = "\n".join(f"                let s{j} := mload(add(p, {32 * j}))" for j in range(T))
    acc = "mulmod(mload(c), s0, Q)"
    for j in range(1, T):
        acc = f"addmod({acc}, mulmod(mload(add(c, {32 * T * j})), s{j}, Q), Q)"
    return (f"            function {name}(p, m) {{\n{loads}\n"
            f"                for {{ let i := 0 }} lt(i, {T}) {{ i := add(i, 1) }} {{\n"
            f"                    let c := add(m, mul(i, 32))\n"
            f"                    mstore(add(p, mul(i, 32)), {acc})\n"
            f"                }}\n            }}")


def source(n: int) -> str:
    """The Solidity source of Poseidon<n>."""
    T = n + 1
    opt = json.loads((ROOT / "node_modules" / "circomlibjs" / "src" / "poseidon_constants_opt.json").read_text())
    M = [[int(x, 16) for x in row] for row in opt["M"][T - 2]]
    PM = [[int(x, 16) for x in row] for row in opt["P"][T - 2]]
    NP = len(opt["C"][T - 2]) - T * F  # circomlib's partial rounds at width T
    FULL = T * F + T  # full-round constants in the data, in use order, then T zeros for the last round
    half = F // 2
    parts, p_in_data = wide_poseidon_parts(T, NP), wide_poseidon_p_in_data(T)
    names, addresses = ORDINALS[: len(parts)], ADDRESS_VARS[: len(parts)]
    consts = [f"{name.upper()}_WORDS" for name in names]
    body = f"""            ark(p, f, 0)
            for {{ let r := 1 }} lt(r, {half}) {{ r := add(r, 1) }} {{
                ark(p, add(f, mul(r, {32 * T})), 1)
                mixM(p)
            }}
            ark(p, add(f, {32 * half * T}), 1)
            {"mixP(p, add(f, " + str(32 * FULL) + "))" if p_in_data else "mixP(p)"}
            partial(p, d)
            for {{ let r := 0 }} lt(r, {half}) {{ r := add(r, 1) }} {{
                ark(p, add(f, mul(add(r, {half + 1}), {32 * T})), 1)
                mixM(p)
            }}"""

    loads = "\n".join(f"                let s{j} := mload(add(p, {32 * j}))" for j in range(T))
    dot = "mulmod(mload(add(k, 32)), s0, Q)"
    for j in range(1, T):
        dot = f"addmod({dot}, mulmod(mload(add(k, {32 * (1 + j)})), s{j}, Q), Q)"
    updates = "\n".join(f"                    s{k} := addmod(s{k}, mulmod(s0, mload(add(k, {32 * (1 + T + k - 1)})), Q), Q)"
                        for k in range(1, T))
    stores = "\n".join(f"                mstore(add(p, {32 * j}), s{j})" for j in range(T))
    partial = f"""            function partial(p, d) {{
{loads}
                for {{ let r := 0 }} lt(r, {NP}) {{ r := add(r, 1) }} {{
                    let k := add(d, mul(r, {32 * (2 * T)}))
                    s0 := addmod(pow5(s0), mload(k), Q)
                    let n0 := {dot}
{updates}
                    s0 := n0
                }}
{stores}
            }}"""

    word_lines, start = [], 0
    for i, (const, rounds) in enumerate(zip(consts, parts)):
        last = i == len(parts) - 1
        words = rounds * 2 * T + ((FULL + (T * T if p_in_data else 0)) if last else 0)
        what = f"partial rounds {start} .. {start + rounds - 1}" + (", full rounds' constants" if last else "") + \
            (", P" if last and p_in_data else "")
        word_lines.append(f"    uint256 internal constant {const} = {words}; // {what}")
        start += rounds
    immutables = "\n".join(f"    address public immutable {name};" for name in names)
    params = ", ".join(f"address {name}_" for name in names)
    checks = " && ".join(f"{name}_.code.length == 1 + {const} * 32" for name, const in zip(names, consts))
    assigns = f"({', '.join(names)}) = ({', '.join(name + '_' for name in names)});"
    locals_ = "\n".join(f"        address {var} = {name};" for var, name in zip(addresses, names))
    copies, offset, total = [], "d", ""
    for var, const in zip(addresses, consts):
        copies.append(f"            extcodecopy({var}, {offset}, 1, mul({const}, 32))")
        total = f"add({total}, {const})" if total else const  # the words copied so far
        offset = f"add(d, mul({total}, 32))"
    if p_in_data:
        notice = textwrap.fill(
            f"@notice circomlib's Poseidon({n}) (width t = {T}, {F} full and {NP} partial rounds, circomlib's constants) in "
            "circomlibjs's optimised form (`poseidon_opt.js`): the same permutation with one pre-sparse matrix after the "
            f"first half of the full rounds, so each partial round takes {2 * T - 1} products instead of {T * T}. "
            "circomlibjs's contract generator stops at 6 inputs (its code runs out of stack from 7), so this one is "
            "written here: the matrix M as literals; the round constants (per partial round C_r then its "
            f"{2 * T - 1} S_r, then the full rounds' C in use order and {T} zeros), then the pre-sparse matrix P row by "
            f"row, read from the code of {NUMBERS[len(parts)]} data contracts (each: one 0x00 byte, then its words; "
            "pymargin.chain.commitments.deploy_wide_poseidon); both matrices as literals would make the contract "
            "larger than EIP-170 allows. Inputs are taken mod p, as the generated contracts do; callers range-check them.",
            width=116, initial_indent="/// ", subsequent_indent="/// ", break_on_hyphens=False) + "\n"
    else:
        notice = f"""/// @notice circomlib's Poseidon({n}) (width t = {T}, {F} full and {NP} partial rounds, circomlib's constants) in
/// circomlibjs's optimised form (`poseidon_opt.js`): the same permutation with one pre-sparse matrix after the
/// first half of the full rounds, so each partial round takes {2 * T - 1} products instead of {T * T}. circomlibjs's contract
/// generator stops at 6 inputs (its code runs out of stack from 7), so this one is written here: the full
/// matrices as literals; the round constants (per partial round C_r then its {2 * T - 1} S_r, then the full rounds' C
/// in use order and {T} zeros) read from the code of {NUMBERS[len(parts)]} data contracts (each: one 0x00 byte, then its words;
/// pymargin.chain.commitments.deploy_wide_poseidon). Inputs are taken mod p, as the generated contracts do;
/// callers range-check them.
"""
    return f'''// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// Generated by scripts/gen_poseidon_contract.py from circomlibjs's poseidon_constants_opt.json; do not edit.

/// @title Poseidon{n}
{notice}contract Poseidon{n} {{
    uint256 internal constant Q = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
{chr(10).join(word_lines)}
{immutables}

    constructor({params}) {{
        require({checks}, "Poseidon{n}: constants");
        {assigns}
    }}

    /// @notice Poseidon_{n}(input), in [0, p).
    function poseidon(uint256[{n}] memory input) external view returns (uint256 out) {{
{locals_}
        assembly ("memory-safe") {{
            function pow5(x) -> y {{
                let x2 := mulmod(x, x, Q)
                y := mulmod(mulmod(x2, x2, Q), x, Q)
            }}
            function ark(p, c, sbox) {{
                for {{ let i := 0 }} lt(i, {T}) {{ i := add(i, 1) }} {{
                    let x := mload(add(p, mul(i, 32)))
                    if sbox {{ x := pow5(x) }}
                    mstore(add(p, mul(i, 32)), addmod(x, mload(add(c, mul(i, 32))), Q))
                }}
            }}
{mix("mixM", M, T)}
{mix_from_memory("mixP", T) if p_in_data else mix("mixP", PM, T)}
{partial}
            let p := mload(0x40)
            let d := add(p, {32 * T})
            let f := add(d, {32 * NP * 2 * T})
{chr(10).join(copies)}
            mstore(p, 0)
            for {{ let i := 0 }} lt(i, {n}) {{ i := add(i, 1) }} {{
                mstore(add(p, mul(add(i, 1), 32)), mod(mload(add(input, mul(i, 32))), Q))
            }}
{body}
            out := mload(p)
        }}
    }}
}}
'''


if __name__ == "__main__":
    for n in map(int, sys.argv[1:] or ["8", "11"]):
        (ROOT / "contracts" / "commit" / f"Poseidon{n}.sol").write_text(source(n))
