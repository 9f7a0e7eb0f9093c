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
from pymargin.zk.wellformed import key_defect

G1Point = tuple[int, int]
G2Point = tuple[tuple[int, int], tuple[int, int]]


class ProofFormatError(UserError):
    """A proof or key file is not in the expected shape."""


WORD_BOUND = 1 << 256  # an EVM word: every coordinate and public signal is one


def _word(v: Any, name: str) -> int:
    """A coordinate or public signal: a decimal string or JSON integer in [0, 2^256) (range checks come later)."""
    if isinstance(v, str) and v.isascii() and v.isdigit():
        value = int(v)
    elif isinstance(v, int) and not isinstance(v, bool):
        value = v
    else:
        raise ProofFormatError(f"{name} is not a decimal integer: {v!r}")
    if not 0 <= value < WORD_BOUND:
        raise ProofFormatError(f"{name} is not in [0, 2^256): {value}")
    return value


def _g1(v: list, name: str) -> G1Point:
    if len(v) not in (2, 3) or (len(v) == 3 and _word(v[2], f"{name}.z") != 1):
        raise ProofFormatError(f"{name} is not an affine G1 point [x, y, 1]")
    return _word(v[0], f"{name}.x"), _word(v[1], f"{name}.y")


def _g2(v: list, name: str) -> G2Point:
    if len(v) not in (2, 3) or any(len(c) != 2 for c in v) or (len(v) == 3 and (_word(v[2][0], f"{name}.z"), _word(v[2][1], f"{name}.z")) != (1, 0)):
        raise ProofFormatError(f"{name} is not an affine G2 point [[x.c0, x.c1], [y.c0, y.c1], [1, 0]]")
    (x0, x1), (y0, y1) = v[0], v[1]
    return (_word(x0, f"{name}.x.c0"), _word(x1, f"{name}.x.c1")), (_word(y0, f"{name}.y.c0"), _word(y1, f"{name}.y.c1"))


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
            signals = tuple(_word(x, f"public signal {i}") for i, x in enumerate(public))
            return cls(_g1(proof["pi_a"], "pi_a"), _g2(proof["pi_b"], "pi_b"), _g1(proof["pi_c"], "pi_c"), signals)
        except (KeyError, TypeError, IndexError) as exc:
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
        """From snarkjs's verification_key.json contents; raises ProofFormatError unless well formed (:func:`key_defect`)."""
        try:
            if data.get("protocol") != "groth16" or data.get("curve") != "bn128":
                raise ProofFormatError(f"verifying key is {data.get('protocol')}/{data.get('curve')}, expected groth16/bn128")
            vk = cls(_g1(data["vk_alpha_1"], "vk_alpha_1"), _g2(data["vk_beta_2"], "vk_beta_2"), _g2(data["vk_gamma_2"], "vk_gamma_2"),
                     _g2(data["vk_delta_2"], "vk_delta_2"), tuple(_g1(p, f"IC[{i}]") for i, p in enumerate(data["IC"])))
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            raise ProofFormatError(f"not a snarkjs Groth16 verifying key: {exc}") from None
        if not vk.ic:
            raise ProofFormatError("not a snarkjs Groth16 verifying key: IC is empty")
        if why := key_defect(vk):
            raise ProofFormatError(f"the verifying key is malformed: {why}")
        return vk

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
    if "proof" not in data or "public" not in data:
        raise ProofFormatError(f"{path} has no proof or no public signals")
    return Proof.from_snarkjs(data["proof"], data["public"]), data.get("circuit", ""), data.get("meta", {})
