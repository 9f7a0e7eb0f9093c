"""Poseidon over the BN254 scalar field, exactly circomlib's ``Poseidon(n)`` (circomlibjs ``poseidon``).

Backed by ``light-poseidon`` (Python bindings of Light Protocol's Rust crate, circom-compatible
parameters: width n + 1, 8 full rounds, circomlib's partial rounds and constants). The tests check
it against circomlibjs and the on-chain hashers on random inputs for every arity used.

An input outside [0, p) raises :class:`NotAFieldElement` (the contracts revert with the same error);
nothing is reduced silently.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from light_poseidon_python import Hasher

from pymargin.errors import Revert

P = 21888242871839275222246405745257275088548364400416034343698204186575808495617  # BN254 scalar field
MAX_ARITY = 12  # light-poseidon's limit; the commitments use 5, 6 and 8


class NotAFieldElement(Revert):
    """A hash input is not in [0, p)."""


@lru_cache(maxsize=None)
def _hasher(arity: int) -> Hasher:
    if not 1 <= arity <= MAX_ARITY:
        raise ValueError(f"Poseidon arity must be 1..{MAX_ARITY}, got {arity}")
    return Hasher(arity)


def poseidon(inputs: Sequence[int]) -> int:
    """Poseidon_n(inputs) for n = len(inputs) in 1..12, as an integer in [0, p); NotAFieldElement if an input is outside [0, p)."""
    for x in inputs:
        if not 0 <= x < P:
            raise NotAFieldElement(x)
    return int(_hasher(len(inputs)).hash_bytes_be([x.to_bytes(32, "big") for x in inputs]), 16)

