"""Writes pymargin/commit/poseidon_kernels.py: the BN254 Montgomery arithmetic loops of the batched Poseidon
(pymargin.commit.poseidon_opt), with the 10 x 28-bit limb arithmetic unrolled so LLVM vectorises each loop.

    .venv/bin/python scripts/gen_poseidon_kernels.py            # rewrite the module
    .venv/bin/python scripts/gen_poseidon_kernels.py --check    # exit 1 if the module differs (tests run this)

Why 28-bit limbs: a product of two limbs is < 2^56, so a column of a product (at most 10 limb products, or 10 per
term of a sum of products) is summed in one 64-bit lane without a carry per step (product scanning), and a sum
of products is reduced once. R = 2^280 leaves 2^26 of room over p: no conditional subtraction is needed between
operations (every value stays below 2^8 p, far under what a reduction accepts); p = 1 mod 2^28 makes the
Montgomery quotient digit m = -v mod 2^28.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

P = 21888242871839275222246405745257275088548364400416034343698204186575808495617  # BN254 scalar field
LIMBS = 10
BITS = 28
TILE = 64  # hashes per kernel call: a t = 7 state (7 x 10 x TILE x 8 bytes = 36 KB) stays near the L1 cache
COLUMNS = 2 * LIMBS - 1  # columns of an unreduced product
TARGET = Path(__file__).resolve().parent.parent / "pymargin" / "commit" / "poseidon_kernels.py"
P_LIMBS = [(P >> (BITS * k)) & ((1 << BITS) - 1) for k in range(LIMBS)]
assert P_LIMBS[0] == 1, "the reduction below relies on p = 1 mod 2^28"


def _terms(a: str, b: str, column: int, square: bool = False) -> list[str]:
    """The limb products a_j * b_k with j + k = column (for a square: each pair once, doubled)."""
    pairs = [(j, column - j) for j in range(LIMBS) if 0 <= column - j < LIMBS]
    if not square:
        return [f"{a}{j} * {b}{k}" for j, k in pairs]
    once = [f"{a}{j} * {a}{k}" for j, k in pairs if j < k]
    terms = [f"(({' + '.join(once)}) << ONE)"] if once else []
    return terms + [f"{a}{j} * {a}{j}" for j, k in pairs if j == k]


def _reduce(columns: list[str], out: str, add: str | None = None) -> list[str]:
    """Montgomery reduction (product scanning) of the column sums ``columns`` (19 expressions) into {out}0..9:
    out = (sum + m p) / 2^280 (+ {add}0..9 when given), each limb < 2^28."""
    lines = ["c = Z"]
    for col in range(COLUMNS + 1):
        terms = ([columns[col]] if col < COLUMNS else []) + ["c"]
        terms += [f"m{j} * p{col - j}" for j in range(max(0, col - LIMBS + 1), min(col, LIMBS)) if P_LIMBS[col - j]]
        if col >= LIMBS and add:
            terms.append(f"{add}{col - LIMBS}")
        lines.append("v = " + " + ".join(terms))
        if col < LIMBS:  # choose m so the column's low 28 bits vanish: m = -v mod 2^28 (p_0 = 1)
            lines += [f"m{col} = (Z - v) & MASK", f"c = (v + m{col}) >> S28"]
        else:
            lines += [f"{out}{col - LIMBS} = v & MASK", "c = v >> S28"]
    return lines


def _loop(name: str, args: str, constant: str | None, loads: list[str], body: list[str], stores: list[str]) -> list[str]:
    """A loop over hashes i < n of flat arrays (row r of a value at [r * TILE + i]: rows a constant distance apart,
    so LLVM checks aliasing once per array); limbs that are multiplied are loaded masked, which lets LLVM use
    32 x 32 -> 64-bit vector multiplies (vpmuludq)."""
    lines = [f"def {name}({args}, n):"]
    if constant:
        lines += [f"    b{k} = {constant}[{k}] & M32" for k in range(LIMBS)]
    body = [re.sub(r"\[(\d+), i\]", r"[\1 * TILE + i]", line) for line in loads + body + stores]
    lines += ["    for i in range(n):"] + [f"        {line}" for line in body]
    return lines + [""]


def _kernel_source() -> str:
    """numba source of the loops over n <= TILE hashes of (10 x TILE) limb arrays (``cst``: one constant, 10 limbs):

    pow5_add(a, cst):       a = a^5 / R^4 + cst                (three products, each reduced)
    mulc_add(a, cst, acc):  acc = a * cst / R + acc            (one product, reduced, acc added in the reduction)
    mulc_sum(a, cst, cols): cols += a * cst, unreduced         (19 column sums, no carries)
    reduce_sum(cols, out):  out = cols / R (mod p); cols = 0   (one reduction for a whole sum of products)
    """
    load_a = [f"a{k} = a[{k}, i] & M32" for k in range(LIMBS)]  # the masks (no-ops) tell LLVM these are 32-bit

    square = [" + ".join(_terms("a", "a", col, square=True)) for col in range(COLUMNS)]
    pow5 = _reduce(square, "u")
    pow5 += _reduce([" + ".join(_terms("u", "u", col, square=True)) for col in range(COLUMNS)], "w")
    pow5 += _reduce([" + ".join(_terms("a", "w", col)) for col in range(COLUMNS)], "r", add="b")
    source = _loop("pow5_add", "a, cst", "cst", load_a, pow5, [f"a[{k}, i] = r{k}" for k in range(LIMBS)])
    mulc = [f"e{k} = acc[{k}, i]" for k in range(LIMBS)]
    mulc += _reduce([" + ".join(_terms("a", "b", col)) for col in range(COLUMNS)], "r", add="e")
    source += _loop("mulc_add", "a, cst, acc", "cst", load_a, mulc, [f"acc[{k}, i] = r{k}" for k in range(LIMBS)])
    sums = [f"cols[{col}, i] += " + " + ".join(_terms("a", "b", col)) for col in range(COLUMNS)]
    source += _loop("mulc_sum", "a, cst, cols", "cst", load_a, sums, [])
    load_cols = [f"s{col} = cols[{col}, i]" for col in range(COLUMNS)]
    reduce = _reduce([f"s{col}" for col in range(COLUMNS)], "r")
    stores = [f"out[{k}, i] = r{k}" for k in range(LIMBS)] + [f"cols[{col}, i] = Z" for col in range(COLUMNS)]
    source += _loop("reduce_sum", "cols, out", None, load_cols, reduce, stores)
    return "\n".join(source)


PERMUTATION = '''
def _matrix(state, matrix, acc, cols, n):
    """state = state x matrix: new[i] = sum_j matrix[j][i] * state[j] ((t, t, 10) in Montgomery form), each
    new[i] summed unreduced and reduced once."""
    t = state.shape[0]
    for i in range(t):
        for j in range(t):
            mulc_sum(state[j], matrix[j, i], cols, n)
        reduce_sum(cols, acc[i], n)
    state[:, :] = acc


def permute(state, C, S, M, PM, partial, acc, cols, n):
    """circomlibjs poseidon_opt.js after its first constant addition (done by the caller) on the first n hashes of
    ``state`` (t, 10 x TILE) in Montgomery form, in place; state[0] ends as the digest (congruent mod p, < 2^8 p).
    ``acc``: scratch like ``state``; ``cols``: (19 x TILE) zeros, scratch for the unreduced sums."""
    t = state.shape[0]
    half = FULL_ROUNDS // 2
    zero = np.zeros(LIMBS, dtype=np.uint64)
    for r in range(half - 1):
        for i in range(t):
            pow5_add(state[i], C[(r + 1) * t + i], n)
        _matrix(state, M, acc, cols, n)
    for i in range(t):
        pow5_add(state[i], C[half * t + i], n)
    _matrix(state, PM, acc, cols, n)
    base = (half + 1) * t
    for r in range(partial):
        pow5_add(state[0], C[base + r], n)
        row = (2 * t - 1) * r
        for j in range(t):
            mulc_sum(state[j], S[row + j], cols, n)
        for k in range(1, t):
            mulc_add(state[0], S[row + t + k - 1], state[k], n)
        reduce_sum(cols, state[0], n)
    for r in range(half - 1):
        for i in range(t):
            pow5_add(state[i], C[base + partial + r * t + i], n)
        _matrix(state, M, acc, cols, n)
    for i in range(t):
        pow5_add(state[i], zero, n)
    _matrix(state, M, acc, cols, n)


def load_tile(data, start, n, tile):
    """Hashes start..start+n-1 of ``data`` (bytes: arity 32-byte big-endian values per hash) into ``tile``
    (arity, 10 x TILE): limb k of input j of hash start+i at tile[j, k * TILE + i]."""
    arity = tile.shape[0]
    words = np.zeros(5, dtype=np.uint64)  # 64-bit little-endian words of one value, and a zero word above
    for i in range(n):
        for j in range(arity):
            at = 32 * ((start + i) * arity + j)
            for q in range(4):
                w = Z
                for b in range(8):
                    w = (w << np.uint64(8)) | np.uint64(data[at + 8 * (3 - q) + b])
                words[q] = w
            for k in range(LIMBS):
                q, s = divmod(BITS * k, 64)
                limb = words[q] >> np.uint64(s)
                if s + BITS > 64:
                    limb |= words[q + 1] << np.uint64(64 - s)
                tile[j, k * TILE + i] = limb & MASK


def store_digests(digest, start, n, out):
    """The values in [0, p] of ``digest`` (10 x TILE limbs, n hashes) reduced to [0, p) (p becomes 0), as 32-byte
    big-endian values at out[32 * (start + i):]."""
    for i in range(n):
        is_p = True
        for k in range(LIMBS):
            is_p = is_p and digest[k * TILE + i] == P_LIMBS[k]
        at = 32 * (start + i)
        for b in range(32):
            out[at + b] = 0
        if is_p:
            continue
        for k in range(LIMBS):
            limb = digest[k * TILE + i]
            for bit in range(0, BITS, 4):  # a limb's 28 bits are 7 nibbles; a nibble never straddles a byte
                position = BITS * k + bit
                if position < 256:
                    nibble = (limb >> np.uint64(bit)) & np.uint64(15)
                    out[at + 31 - position // 8] |= np.uint8(nibble << np.uint64(position % 8))
'''

HEADER = '''"""Generated by scripts/gen_poseidon_kernels.py: do not edit. BN254 Montgomery arithmetic (R = 2^280) over
flat arrays of 10 rows x TILE little-endian 28-bit limbs (one hash per column), for pymargin.commit.poseidon_opt;
each loop runs over the first n hashes:

    pow5_add(a, cst, n):       a = a^5 + cst (mod p)
    mulc_add(a, cst, acc, n):  acc = acc + a * cst (mod p), Montgomery product (a * cst / R)
    mulc_sum(a, cst, cols, n): cols = cols + a * cst as 19 unreduced column sums (a sum of products, reduced once)
    reduce_sum(cols, out, n):  out = cols / R (mod p), Montgomery reduction of a sum of products; cols = 0

``cst`` is one constant (10 limbs). Results are congruent mod p and below 2^8 p, not necessarily below p (the
caller reduces the final digest); nothing is rounded. Column sums stay below 2^64 for sums of up to 16 products.
Row r of a value is [r * TILE, r * TILE + n), n <= TILE.

Then, written out literally by the generator (numba caches a function without noticing a change in the functions
it calls, so everything compiled against this layout lives in this one file): ``permute`` (circomlibjs's
poseidon_opt.js rounds on a tile of states), ``load_tile`` (32-byte big-endian inputs to limbs) and
``store_digests`` (limbs to 32-byte big-endian digests, reduced to [0, p)).
"""

import numba
import numpy as np

LIMBS = {limbs}
BITS = {bits}
COLUMNS = {columns}
FULL_ROUNDS = 8
TILE = {tile}  # hashes per call at most: row r of a value is [r * TILE, r * TILE + n)
Z = np.uint64(0)
ONE = np.uint64(1)
MASK = np.uint64({mask:#x})
M32 = np.uint64(0xFFFFFFFF)  # masks no limb (all are < 2^28) but lets LLVM multiply with vpmuludq
S28 = np.uint64({bits})
{primes}
P_LIMBS = np.array([{p_list}], dtype=np.uint64)
'''


def module_source() -> str:
    """The text of pymargin/commit/poseidon_kernels.py."""
    primes = "\n".join(f"p{k} = np.uint64({limb:#09x})" for k, limb in enumerate(P_LIMBS))
    body = (_kernel_source() + PERMUTATION).replace("\ndef ", "\n\n@numba.njit(nogil=True, cache=True)\ndef ")
    head = HEADER.format(limbs=LIMBS, columns=COLUMNS, tile=TILE, mask=(1 << BITS) - 1, bits=BITS, primes=primes,
                         p_list=", ".join(f"{limb:#09x}" for limb in P_LIMBS))
    return head + "\n\n@numba.njit(nogil=True, cache=True)\n" + body.rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the module differs from what this script writes")
    args = parser.parse_args()
    text = module_source()
    if args.check:
        if TARGET.read_text() != text:
            sys.exit(f"{TARGET} is out of date: run scripts/gen_poseidon_kernels.py")
        return
    TARGET.write_text(text)


if __name__ == "__main__":
    main()
