"""A groth16py development key rewritten as a snarkjs zkey, which groth16py imports at disk speed.

Why: ``groth16py.ProvingKey.load`` checks that every point of its own key file is on the curve and in
the right subgroup; the G2 subgroup checks of the B query are ~97 % of its time (a K = 6 key: 43 s of
CPU, 1 s without them; benchmarks/zk_results.md). ``groth16py.import_zkey`` reads a snarkjs zkey
without those checks. The zkey written here holds the same key, so the prover is ready in seconds.

Trust: the zkey is written here from our own key file and read only by our prover. Its points are
not checked when imported, which is safe for the prover's own input: a corrupted key can only give
proofs that every verifier rejects (soundness rests on the verifying key, which is unchanged).

The arkworks key (uncompressed points, standard form, little-endian; flags in the top bits of y's
last byte) maps to the zkey's sections one to one (A, B1, B2, C = l_query, IC = gamma_abc, α, β, δ,
γ), except H. arkworks proves with h_query[j] = τ^j·Z(τ)/δ (j < n − 1, Z(x) = x^n − 1); a zkey
holds H_i = L_{2i+1}(τ)/δ, the Lagrange polynomials of the 2n-th roots of unity at the odd points
g·ω^i (g = ω_2n), which snarkjs and groth16py's import multiply by (A·B − C)(g·ω^i). As L_{2i+1}(x)
= Z(x)·q_i(x) with q_i(x) = −(1/2n)·Σ_j (g·ω^i)^(−j)·x^j, H_i = Σ_j −(1/2n)·(g·ω^i)^(−j)·h_query[j]:
one inverse FFT of n G1 points (node, ffjavascript, ``bin/coset_h.cjs``). The term j = n − 1 is
absent from h_query and not needed: h = (A·B − C)/Z has degree ≤ n − 2.
"""

from __future__ import annotations

import os
import struct
import subprocess
import tempfile
from pathlib import Path

from pymargin import tools
from pymargin.errors import UserError
from pymargin.fsutil import atomic_write_bytes
from pymargin.zk.field import FIELD_P
from pymargin.zk.r1cs import R1CS, read_r1cs
from pymargin.zk.wellformed import BASE_FIELD_Q

MAGIC = b"g16pk1"  # groth16py's proving key file
_R_Q = (1 << 256) % BASE_FIELD_Q  # Montgomery factor of the base field
_R2_P = (1 << 512) % FIELD_P  # zkey coefficients are stored times R² (snarkjs zkey_new)
_COORD_MASK = (1 << 254) - 1  # the top two bits of y's last byte are arkworks' flags
_INFINITY_FLAG = 1 << 254


class _Reader:
    def __init__(self, data: bytes, offset: int):
        self.data, self.pos = data, offset

    def u64(self) -> int:
        (value,) = struct.unpack_from("<Q", self.data, self.pos)
        self.pos += 8
        return value

    def g1(self) -> bytes:
        """The next G1 point as zkey bytes: x·R, y·R (mod q) little-endian; zeros for infinity."""
        x = int.from_bytes(self.data[self.pos : self.pos + 32], "little")
        y = int.from_bytes(self.data[self.pos + 32 : self.pos + 64], "little")
        self.pos += 64
        if y & _INFINITY_FLAG:
            return bytes(64)
        return _mont(x) + _mont(y & _COORD_MASK)

    def g2(self) -> bytes:
        """The next G2 point as zkey bytes (x.c0, x.c1, y.c0, y.c1, each ·R mod q); zeros for infinity."""
        words = [int.from_bytes(self.data[self.pos + 32 * i : self.pos + 32 * (i + 1)], "little") for i in range(4)]
        self.pos += 128
        if words[3] & _INFINITY_FLAG:
            return bytes(128)
        words[3] &= _COORD_MASK
        return b"".join(_mont(w) for w in words)

    def g1_vec(self) -> list[bytes]:
        return [self.g1() for _ in range(self.u64())]

    def g2_vec(self) -> list[bytes]:
        return [self.g2() for _ in range(self.u64())]


def _mont(v: int) -> bytes:
    return (v * _R_Q % BASE_FIELD_Q).to_bytes(32, "little")


def _section(kind: int, body: bytes) -> bytes:
    return struct.pack("<IQ", kind, len(body)) + body


def _coefficients(system: R1CS) -> bytes:
    """Section 4: every A and B coefficient (matrix, constraint, signal, value·R²), then A's public-input rows."""
    rows = []
    for c, (a, b, _) in enumerate(system.constraints):
        for matrix, term in ((0, a), (1, b)):
            rows += [struct.pack("<III", matrix, c, s) + (v * _R2_P % FIELD_P).to_bytes(32, "little") for s, v in term.items()]
    one = _R2_P.to_bytes(32, "little")
    rows += [struct.pack("<III", 0, len(system.constraints) + s, s) + one for s in range(system.n_public + 1)]
    return struct.pack("<I", len(rows)) + b"".join(rows)


def write_zkey(out: Path, system: R1CS, domain_size: int, key: bytes, ic: bytes, a: bytes, b1: bytes, b2: bytes, c: bytes, h: bytes) -> None:
    """Write a Groth16 zkey of ``system`` at ``out`` (atomically). ``key`` holds α1, β1, β2, γ2, δ1, δ2; the
    other arguments are the point sections IC, A, B1, B2, C (private wires), H; all points in zkey bytes."""
    groth = (struct.pack("<I", 32) + BASE_FIELD_Q.to_bytes(32, "little") + struct.pack("<I", 32) + FIELD_P.to_bytes(32, "little")
             + struct.pack("<III", system.n_wires, system.n_public, domain_size) + key)
    sections = [
        _section(1, struct.pack("<I", 1)), _section(2, groth), _section(3, ic), _section(4, _coefficients(system)),
        _section(5, a), _section(6, b1), _section(7, b2), _section(8, c), _section(9, h),
        _section(10, bytes(64) + struct.pack("<I", 0)),
    ]
    atomic_write_bytes(Path(out), b"zkey" + struct.pack("<II", 1, len(sections)) + b"".join(sections))


def _coset_h(h_query: list[bytes], n: int) -> bytes:
    """The zkey's H points from arkworks' h_query (module docstring), by node + ffjavascript."""
    with tempfile.TemporaryDirectory(prefix="pymargin-zkey-") as tmp:
        src, dst = Path(tmp) / "h_query.bin", Path(tmp) / "h.bin"
        src.write_bytes(b"".join(h_query) + bytes(64 * (n - len(h_query))))
        script = Path(__file__).with_name("bin") / "coset_h.cjs"
        env = os.environ | {"NODE_PATH": str(tools.node_modules())}
        done = subprocess.run([tools.node(), str(script), str(src), str(dst), str(n)], capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise UserError(f"computing the zkey's H points failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
        return dst.read_bytes()


def write_fast_zkey(pk_bin: Path, r1cs: Path, out: Path) -> None:
    """Write the groth16py key ``pk_bin`` of the circuit ``r1cs`` as a snarkjs zkey at ``out`` (atomically)."""
    data = Path(pk_bin).read_bytes()
    if data[: len(MAGIC)] != MAGIC:
        raise UserError(f"{pk_bin} is not a groth16py proving key")
    system = read_r1cs(r1cs)
    n_public, n_vars = system.n_public, system.n_wires
    r = _Reader(data, len(MAGIC))
    alpha1, beta2, gamma2, delta2 = r.g1(), r.g2(), r.g2(), r.g2()
    ic = r.g1_vec()
    beta1, delta1 = r.g1(), r.g1()
    a, b1, b2, h_query, l_query = r.g1_vec(), r.g1_vec(), r.g2_vec(), r.g1_vec(), r.g1_vec()
    n = len(h_query) + 1
    if len(ic) != n_public + 1 or len(a) != n_vars or len(b2) != n_vars or len(l_query) != n_vars - n_public - 1:
        raise UserError(f"{pk_bin} does not match the circuit {r1cs} (sizes differ)")
    write_zkey(out, system, n, alpha1 + beta1 + beta2 + gamma2 + delta1 + delta2, b"".join(ic), b"".join(a), b"".join(b1),
               b"".join(b2), b"".join(l_query), _coset_h(h_query, n))
