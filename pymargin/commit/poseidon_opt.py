"""Poseidon over BN254, many hashes of one arity at once, with the optimised partial rounds.

The same function as :func:`pymargin.commit.poseidon.poseidon` (circomlib's ``Poseidon(n)``), computed
as circomlibjs's ``poseidon_opt.js`` does: full rounds with the MDS matrix M, one pre-sparse matrix P,
then each partial round as a sparse matrix S (2t - 1 products instead of t^2; constants from
``poseidon_opt_constants.json``, written by ``scripts/gen_poseidon_opt.mjs``). Field elements are
10 little-endian 28-bit limbs in Montgomery form (R = 2^280); every operation is a loop over a tile
of hashes with the limb arithmetic unrolled, which the compiler (numba, LLVM) turns into SIMD code. Each
matrix row (a sum of t products) is summed unreduced and reduced once. Intermediate values are kept
congruent mod p and below 2^8 p; the digests are reduced to exact field elements in [0, p): no rounding anywhere.

Inputs and outputs are 32-byte big-endian field elements, concatenated (the sum tree's record
layout). An input outside [0, p) raises :class:`NotAFieldElement`, as the scalar hasher does.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numba
import numpy as np

from pymargin.commit.poseidon import P, NotAFieldElement
from pymargin.commit.poseidon_kernels import COLUMNS, LIMBS, TILE
from pymargin.commit.poseidon_kernels import mulc_add as _mulc_add, mulc_sum as _mulc_sum, pow5_add as _pow5_add
from pymargin.commit.poseidon_kernels import reduce_sum as _reduce_sum

MAX_OPT_ARITY = 8  # the arities poseidon_opt_constants.json holds
FULL_ROUNDS = 8
PARTIAL_ROUNDS = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)  # by t - 2
BITS = 28  # bits per limb
_R = 1 << (BITS * LIMBS)
_R2 = _R * _R % P
_P_TOP = P >> 224  # p's most significant 32-bit word: inputs below it are < p without a full compare
_MASK = np.uint64((1 << BITS) - 1)


def _limbs(x: int) -> list[int]:
    return [(x >> (BITS * i)) & ((1 << BITS) - 1) for i in range(LIMBS)]


@numba.njit(nogil=True, cache=True)
def _matrix(state, matrix, acc, cols, n):
    """state = state x matrix: new[i] = sum_j matrix[j][i] * state[j] ((t, t, 10) in Montgomery form), each
    new[i] summed unreduced and reduced once."""
    t = state.shape[0]
    for i in range(t):
        for j in range(t):
            _mulc_sum(state[j], matrix[j, i], cols, n)
        _reduce_sum(cols, acc[i], n)
    state[:, :] = acc


@numba.njit(nogil=True, cache=True)
def _permute(state, C, S, M, PM, partial, zero, acc, cols, n):
    """circomlibjs poseidon_opt.js after its first constant addition (done by the caller) on the first n hashes of
    ``state`` (t, 10 x TILE) in Montgomery form, in place; state[0] ends as the digest (congruent mod p, < 2^8 p).
    ``acc``: scratch like ``state``; ``cols``: (19 x TILE) zeros, scratch for the unreduced sums."""
    t = state.shape[0]
    half = FULL_ROUNDS // 2
    for r in range(half - 1):
        for i in range(t):
            _pow5_add(state[i], C[(r + 1) * t + i], n)
        _matrix(state, M, acc, cols, n)
    for i in range(t):
        _pow5_add(state[i], C[half * t + i], n)
    _matrix(state, PM, acc, cols, n)
    base = (half + 1) * t
    for r in range(partial):
        _pow5_add(state[0], C[base + r], n)
        row = (2 * t - 1) * r
        for j in range(t):
            _mulc_sum(state[j], S[row + j], cols, n)
        for k in range(1, t):
            _mulc_add(state[0], S[row + t + k - 1], state[k], n)
        _reduce_sum(cols, state[0], n)
    for r in range(half - 1):
        for i in range(t):
            _pow5_add(state[i], C[base + partial + r * t + i], n)
        _matrix(state, M, acc, cols, n)
    for i in range(t):
        _pow5_add(state[i], zero, n)
    _matrix(state, M, acc, cols, n)


def _to_limbs(values: list[int]) -> np.ndarray:
    """(len, 10) uint64 limbs of integers, little-endian 28-bit limbs."""
    return np.array([_limbs(v) for v in values], dtype=np.uint64).reshape(len(values), LIMBS)


@lru_cache(maxsize=None)
def _constants(arity: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """(C, S, M, P, partial rounds) of Poseidon(arity), constants in Montgomery form as (k, 10) / (t, t, 10) limbs."""
    if not 1 <= arity <= MAX_OPT_ARITY:
        raise ValueError(f"batched Poseidon arity must be 1..{MAX_OPT_ARITY}, got {arity}")
    raw = json.loads((Path(__file__).with_name("poseidon_opt_constants.json")).read_text())[str(arity)]
    t = arity + 1

    def mont(values):
        return _to_limbs([int(v, 16) * _R % P for v in values])

    return (mont(raw["C"]), mont(raw["S"]), mont([v for row in raw["M"] for v in row]).reshape(t, t, LIMBS),
            mont([v for row in raw["P"] for v in row]).reshape(t, t, LIMBS), PARTIAL_ROUNDS[t - 2])


_R2_LIMBS = np.array(_limbs(_R2), dtype=np.uint64)
_ONE_LIMBS = np.array(_limbs(1), dtype=np.uint64)


def check_field_elements(data: bytes) -> None:
    """NotAFieldElement for the first 32-byte big-endian value in ``data`` that is >= p."""
    top = np.frombuffer(data, dtype=">u4")[::8]
    for k in np.flatnonzero(top >= _P_TOP):
        value = int.from_bytes(data[32 * k: 32 * k + 32], "big")
        if value >= P:
            raise NotAFieldElement(value)


def poseidon_many(arity: int, data: bytes, checked: bool = False) -> bytes:
    """Poseidon_arity of each group of ``arity`` consecutive 32-byte big-endian field elements in ``data``;
    the digests as 32-byte big-endian values, concatenated, in order. NotAFieldElement if an input is >= p
    (``checked``: the caller guarantees every input is < p, as the tree's inner nodes are)."""
    width = 32 * arity
    if len(data) % width:
        raise ValueError(f"Poseidon_{arity} inputs must be {width} bytes per hash, got {len(data)} bytes")
    if not checked:
        check_field_elements(data)
    C, S, M, PM, partial = _constants(arity)
    count = len(data) // width
    t = arity + 1
    inputs = np.frombuffer(data, dtype=np.uint8)
    out = np.empty(32 * count, dtype=np.uint8)
    zero = np.zeros(LIMBS, dtype=np.uint64)
    state, acc = np.empty((t, LIMBS * TILE), dtype=np.uint64), np.empty((t, LIMBS * TILE), dtype=np.uint64)
    tile, cols = np.zeros((arity, LIMBS * TILE), dtype=np.uint64), np.zeros(COLUMNS * TILE, dtype=np.uint64)
    digest = np.empty(LIMBS * TILE, dtype=np.uint64)
    for start in range(0, count, TILE):
        n = min(TILE, count - start)
        _load_tile(inputs, start, n, tile)
        state.reshape(t, LIMBS, TILE)[:] = C[:t, :, None]
        for i in range(1, t):  # state = [0, inputs] + C[0:t]: each input to Montgomery form (x * R^2 / R) onto C[i]
            _mulc_add(tile[i - 1], _R2_LIMBS, state[i], n)
        _permute(state, C, S, M, PM, partial, zero, acc, cols, n)
        digest[:] = 0
        _mulc_add(state[0], _ONE_LIMBS, digest, n)  # out of Montgomery form: x * 1 / R, in [0, p]
        _store_digests(digest, start, n, out)
    return out.tobytes()


_P_LIMBS = np.array(_limbs(P), dtype=np.uint64)


@numba.njit(nogil=True, cache=True)
def _load_tile(data, start, n, tile):
    """Hashes start..start+n-1 of ``data`` (arity 32-byte big-endian values per hash) into ``tile`` (arity, 10 x TILE):
    limb k of input j of hash start+i at tile[j, k * TILE + i]."""
    arity = tile.shape[0]
    words = np.zeros(5, dtype=np.uint64)  # 64-bit little-endian words of one value, and a zero word above
    for i in range(n):
        for j in range(arity):
            at = 32 * ((start + i) * arity + j)
            for q in range(4):
                w = np.uint64(0)
                for b in range(8):
                    w = (w << np.uint64(8)) | np.uint64(data[at + 8 * (3 - q) + b])
                words[q] = w
            for k in range(LIMBS):
                q, s = divmod(BITS * k, 64)
                limb = words[q] >> np.uint64(s)
                if s + BITS > 64:
                    limb |= words[q + 1] << np.uint64(64 - s)
                tile[j, k * TILE + i] = limb & _MASK


@numba.njit(nogil=True, cache=True)
def _store_digests(digest, start, n, out):
    """The values in [0, p] of ``digest`` (10 x TILE limbs, n hashes) reduced to [0, p) (p becomes 0) as 32-byte
    big-endian values at out[32 * (start + i):]."""
    for i in range(n):
        is_p = True
        for k in range(LIMBS):
            is_p = is_p and digest[k * TILE + i] == _P_LIMBS[k]
        at = 32 * (start + i)
        for b in range(32):
            out[at + 31 - b] = 0
        if is_p:
            continue
        for k in range(LIMBS):
            limb = digest[k * TILE + i]
            for bit in range(0, BITS, 4):
                position = BITS * k + bit  # 4 bits at a time: a limb's 28 bits are 7 nibbles
                if position < 256:
                    out[at + 31 - position // 8] |= np.uint8(((limb >> np.uint64(bit)) & np.uint64(15)) << np.uint64(position % 8))
