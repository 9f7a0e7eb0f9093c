"""Read circom's binary constraint systems (``.r1cs``) and check a witness against them.

A witness w satisfies the system when (A·w)·(B·w) = C·w (mod p) for every constraint. The
soundness tests use :func:`unsatisfied` on tampered witnesses: a cheating prover's assignment
must break at least one constraint, whatever the witness generator would have computed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from pymargin.errors import UserError
from pymargin.zk.field import FIELD_P

Term = dict[int, int]  # wire index -> coefficient


def _sections(data: bytes, magic: bytes) -> dict[int, list[bytes]]:
    if data[:4] != magic:
        raise UserError(f"not a {magic.decode()} file (magic {data[:4]!r})")
    (count,) = struct.unpack_from("<I", data, 8)
    offset = 12
    sections: dict[int, list[bytes]] = {}
    for _ in range(count):
        kind, size = struct.unpack_from("<IQ", data, offset)
        offset += 12
        sections.setdefault(kind, []).append(data[offset : offset + size])
        offset += size
    return sections


def read_header(path: Path) -> dict:
    """Sizes of an r1cs file: constraints, wires, public inputs, outputs, private inputs."""
    header = _sections(Path(path).read_bytes(), b"r1cs")[1][0]
    (n8,) = struct.unpack_from("<I", header, 0)
    wires, outputs, public, private, labels, constraints = struct.unpack_from("<IIIIQI", header, 4 + n8)
    return {
        "constraints": constraints,
        "wires": wires,
        "outputs": outputs,
        "public_inputs": public,
        "private_inputs": private,
        "labels": labels,
    }


@dataclass(frozen=True)
class R1CS:
    """A constraint system: each constraint is (A, B, C) as {wire: coefficient}."""

    n_wires: int
    n_public: int  # outputs + public inputs, the signals at witness[1 : 1 + n_public]
    constraints: list[tuple[Term, Term, Term]]


def read_r1cs(path: Path) -> R1CS:
    """Parse an r1cs file (version 1, BN254)."""
    sections = _sections(Path(path).read_bytes(), b"r1cs")
    info = read_header(path)
    (n8,) = struct.unpack_from("<I", sections[1][0], 0)
    body = sections[2][0]
    offset = 0
    constraints = []

    def term() -> Term:
        nonlocal offset
        (count,) = struct.unpack_from("<I", body, offset)
        offset += 4
        out = {}
        for _ in range(count):
            (wire,) = struct.unpack_from("<I", body, offset)
            out[wire] = int.from_bytes(body[offset + 4 : offset + 4 + n8], "little")
            offset += 4 + n8
        return out

    for _ in range(info["constraints"]):
        constraints.append((term(), term(), term()))
    return R1CS(info["wires"], info["outputs"] + info["public_inputs"], constraints)


def _dot(term: Term, witness: list[int]) -> int:
    return sum(coef * witness[wire] for wire, coef in term.items()) % FIELD_P


def unsatisfied(system: R1CS, witness: list[int]) -> list[int]:
    """Indices of the constraints that ``witness`` breaks (empty: the witness satisfies the system)."""
    if len(witness) != system.n_wires or witness[0] != 1:
        raise UserError(f"witness has {len(witness)} wires (w[0] = {witness[0] if witness else None}), the system {system.n_wires}")
    return [
        i
        for i, (a, b, c) in enumerate(system.constraints)
        if _dot(a, witness) * _dot(b, witness) % FIELD_P != _dot(c, witness)
    ]
