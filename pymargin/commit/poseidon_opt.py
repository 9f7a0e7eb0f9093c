"""Poseidon over BN254, many hashes of one arity at once, with the optimised partial rounds.

The same function as :func:`pymargin.commit.poseidon.poseidon` (circomlib's ``Poseidon(n)``), computed
as circomlibjs's ``poseidon_opt.js`` does: full rounds with the MDS matrix M, one pre-sparse matrix P,
then each partial round as a sparse matrix S (2t - 1 products instead of t^2; constants from
``poseidon_opt_constants.json``, written by ``scripts/gen_poseidon_opt.mjs``). Field elements are
8 little-endian 32-bit limbs in Montgomery form (R = 2^256); every operation is a loop over a tile
of hashes with the limb arithmetic unrolled, which the compiler (numba, LLVM) turns into SIMD code.
Results are exact field elements in [0, p): no rounding anywhere.

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
from pymargin.commit.poseidon_kernels import LIMBS, mulc_add as _mulc_add, pow5_add as _pow5_add

MAX_OPT_ARITY = 8  # the arities poseidon_opt_constants.json holds
FULL_ROUNDS = 8
PARTIAL_ROUNDS = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)  # by t - 2
TILE = 256  # hashes per kernel call: the state (t x 8 x TILE x 8 bytes) stays in the L2 cache
_R = 1 << 256
_R2 = _R * _R % P
_P_TOP = P >> 224  # p's most significant 32-bit limb: inputs below it are < p without a full compare


def _limbs(x: int) -> list[int]:
    return [(x >> (32 * i)) & 0xFFFFFFFF for i in range(LIMBS)]


@numba.njit(nogil=True, cache=True)
def _matrix(state, matrix, acc):
    """state = state x matrix: new[i] = sum_j matrix[j][i] * state[j] ((t, t, 8) in Montgomery form)."""
    t = state.shape[0]
    acc[:, :, :] = 0
    for i in range(t):
        for j in range(t):
            _mulc_add(state[j], matrix[j, i], acc[i])
    state[:, :, :] = acc


@numba.njit(nogil=True, cache=True)
def _permute(state, C, S, M, PM, partial, zero, acc):
    """circomlibjs poseidon_opt.js after its first constant addition (done by the caller) on ``state``
    (t, 8, n) in Montgomery form, in place; state[0] ends as the digest. ``acc``: scratch like ``state``."""
    t = state.shape[0]
    half = FULL_ROUNDS // 2
    for r in range(half - 1):
        for i in range(t):
            _pow5_add(state[i], C[(r + 1) * t + i])
        _matrix(state, M, acc)
    for i in range(t):
        _pow5_add(state[i], C[half * t + i])
    _matrix(state, PM, acc)
    base = (half + 1) * t
    first = acc[0]
    for r in range(partial):
        _pow5_add(state[0], C[base + r])
        row = (2 * t - 1) * r
        first[:, :] = 0
        for j in range(t):
            _mulc_add(state[j], S[row + j], first)
        for k in range(1, t):
            _mulc_add(state[0], S[row + t + k - 1], state[k])
        state[0][:, :] = first
    for r in range(half - 1):
        for i in range(t):
            _pow5_add(state[i], C[base + partial + r * t + i])
        _matrix(state, M, acc)
    for i in range(t):
        _pow5_add(state[i], zero)
    _matrix(state, M, acc)


def _to_limbs(values: list[int]) -> np.ndarray:
    """(len, 8) uint64 limbs of integers, little-endian 32-bit limbs."""
    return np.array([_limbs(v) for v in values], dtype=np.uint64).reshape(len(values), LIMBS)


@lru_cache(maxsize=None)
def _constants(arity: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """(C, S, M, P, partial rounds) of Poseidon(arity), constants in Montgomery form as (k, 8) / (t, t, 8) limbs."""
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
    top = np.frombuffer(data, dtype=">u4")[::LIMBS]
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
    limbs = np.frombuffer(data, dtype=">u4").reshape(count, arity, LIMBS)[:, :, ::-1]  # little-endian limbs
    out = np.empty((count, LIMBS), dtype=">u4")
    zero = np.zeros(LIMBS, dtype=np.uint64)
    for start in range(0, count, TILE):
        n = min(TILE, count - start)
        plain = np.ascontiguousarray(limbs[start: start + n].transpose(1, 2, 0), dtype=np.uint64)  # (arity, 8, n), C order
        state = np.empty((t, LIMBS, n), dtype=np.uint64)
        for i in range(t):  # state = [0, inputs] + C[0:t]: each input to Montgomery form (x * R^2 / R) onto C[i]
            state[i] = C[i][:, None]
            if i:
                _mulc_add(plain[i - 1], _R2_LIMBS, state[i])
        _permute(state, C, S, M, PM, partial, zero, np.empty_like(state))
        digest = np.zeros((LIMBS, n), dtype=np.uint64)
        _mulc_add(state[0], _ONE_LIMBS, digest)  # out of Montgomery form: x * 1 / R
        out[start: start + n] = digest.T[:, ::-1]
    return out.tobytes()
