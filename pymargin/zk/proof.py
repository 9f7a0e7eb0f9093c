"""Groth16 proofs and verifying keys as data: snarkjs JSON in and out, Ethereum's point order.

Points are affine integers. A G2 point is ((x_c0, x_c1), (y_c0, y_c1)) with x = x_c0 + x_c1·i;
snarkjs JSON writes each coordinate as [c0, c1], while Ethereum's pairing precompile and the
snarkjs Solidity verifier take [c1, c0]. Every conversion between the two lives here.

A proof artifact (JSON) holds the proof, its public signals and the circuit it belongs to, so
anyone with the verifying key can re-verify it (``pymargin verify``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymargin.errors import UserError
from pymargin.fsutil import atomic_write_text, read_json

G1Point = tuple[int, int]
G2Point = tuple[tuple[int, int], tuple[int, int]]


class ProofFormatError(UserError):
    """A proof or key file is not in the expected shape."""


def _g1(v: list) -> G1Point:
    if len(v) == 3 and int(v[2]) != 1:
        raise ProofFormatError(f"G1 point is not affine (z = {v[2]})")
    return int(v[0]), int(v[1])


def _g2(v: list) -> G2Point:
    if len(v) == 3 and (int(v[2][0]), int(v[2][1])) != (1, 0):
        raise ProofFormatError(f"G2 point is not affine (z = {v[2]})")
    return (int(v[0][0]), int(v[0][1])), (int(v[1][0]), int(v[1][1]))


def _g1_json(p: G1Point) -> list[str]:
    return [str(p[0]), str(p[1]), "1"]


def _g2_json(p: G2Point) -> list[list[str]]:
    return [[str(p[0][0]), str(p[0][1])], [str(p[1][0]), str(p[1][1])], ["1", "0"]]


@dataclass(frozen=True)
class Proof:
    """A Groth16 proof (A ∈ G1, B ∈ G2, C ∈ G1) and the public signals it proves."""

    a: G1Point
    b: G2Point
    c: G1Point
    public: tuple[int, ...]

    def snarkjs_json(self) -> dict[str, Any]:
        """The proof as snarkjs's proof.json."""
        return {"pi_a": _g1_json(self.a), "pi_b": _g2_json(self.b), "pi_c": _g1_json(self.c), "protocol": "groth16", "curve": "bn128"}

    @classmethod
    def from_snarkjs(cls, proof: dict, public: list) -> "Proof":
        """From snarkjs's proof.json and public.json contents."""
        try:
            return cls(_g1(proof["pi_a"]), _g2(proof["pi_b"]), _g1(proof["pi_c"]), tuple(int(x) for x in public))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ProofFormatError(f"not a snarkjs Groth16 proof: {exc}") from None

    def eth_words(self) -> tuple[list[int], list[list[int]], list[int]]:
        """(a, b, c) in the Solidity verifier's order: b's coordinates as [c1, c0]."""
        (bx0, bx1), (by0, by1) = self.b
        return [self.a[0], self.a[1]], [[bx1, bx0], [by1, by0]], [self.c[0], self.c[1]]

    @classmethod
    def from_eth_bytes(cls, blob: bytes, public: list[int]) -> "Proof":
        """From 256 bytes a.x a.y b.x1 b.x0 b.y1 b.y0 c.x c.y (big-endian words, Ethereum order)."""
        if len(blob) != 256:
            raise ProofFormatError(f"an Ethereum Groth16 proof is 256 bytes, got {len(blob)}")
        w = [int.from_bytes(blob[i : i + 32], "big") for i in range(0, 256, 32)]
        return cls((w[0], w[1]), ((w[3], w[2]), (w[5], w[4])), (w[6], w[7]), tuple(public))


@dataclass(frozen=True)
class VerifyingKey:
    """A Groth16 verifying key (snarkjs verification_key.json): α ∈ G1, β, γ, δ ∈ G2, IC ∈ G1^(n+1)."""

    alpha: G1Point
    beta: G2Point
    gamma: G2Point
    delta: G2Point
    ic: tuple[G1Point, ...]

    @property
    def n_public(self) -> int:
        return len(self.ic) - 1

    @classmethod
    def from_snarkjs(cls, data: dict) -> "VerifyingKey":
        try:
            if data.get("protocol") != "groth16" or data.get("curve") != "bn128":
                raise ProofFormatError(f"verifying key is {data.get('protocol')}/{data.get('curve')}, expected groth16/bn128")
            return cls(_g1(data["vk_alpha_1"]), _g2(data["vk_beta_2"]), _g2(data["vk_gamma_2"]), _g2(data["vk_delta_2"]), tuple(_g1(p) for p in data["IC"]))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ProofFormatError(f"not a snarkjs Groth16 verifying key: {exc}") from None

    @classmethod
    def load(cls, path: Path) -> "VerifyingKey":
        return cls.from_snarkjs(read_json(path, "verifying key", ProofFormatError))

    def snarkjs_json(self) -> dict[str, Any]:
        return {
            "protocol": "groth16", "curve": "bn128", "nPublic": self.n_public,
            "vk_alpha_1": _g1_json(self.alpha), "vk_beta_2": _g2_json(self.beta),
            "vk_gamma_2": _g2_json(self.gamma), "vk_delta_2": _g2_json(self.delta),
            "IC": [_g1_json(p) for p in self.ic],
        }


ARTIFACT_FORMAT = "pymargin-groth16-proof/1"


def save_artifact(path: Path, proof: Proof, circuit: str, meta: dict[str, Any] | None = None) -> None:
    """Write a proof artifact: {"format", "circuit", "proof" (snarkjs), "public", "meta"} (atomically)."""
    data = {
        "format": ARTIFACT_FORMAT,
        "circuit": circuit,
        "proof": proof.snarkjs_json(),
        "public": [str(x) for x in proof.public],
        "meta": meta or {},
    }
    atomic_write_text(Path(path), json.dumps(data, indent=1, sort_keys=True) + "\n")


def load_artifact(path: Path) -> tuple[Proof, str, dict[str, Any]]:
    """(proof, circuit name, meta) of a proof artifact written by :func:`save_artifact`."""
    data = read_json(path, "proof file", ProofFormatError)
    if not isinstance(data, dict) or data.get("format") != ARTIFACT_FORMAT:
        raise ProofFormatError(f"{path} is not a {ARTIFACT_FORMAT} artifact")
    return Proof.from_snarkjs(data["proof"], data["public"]), data.get("circuit", ""), data.get("meta", {})
