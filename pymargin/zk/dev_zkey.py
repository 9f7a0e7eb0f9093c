"""A development Groth16 setup written straight as a snarkjs zkey, from toxic waste drawn here.

Trust: the same as groth16py's single-party setup. τ, α, β, γ, δ are drawn from the operating
system's random source (:mod:`secrets`), live in this process and in a private temporary folder
(the scalars handed to node) while the key is written, and are then discarded; whoever could read
this machine's memory or that folder meanwhile could forge proofs. Development only.

What is computed (exact field arithmetic mod r, no rounding), as snarkjs's ``zkey new`` defines a
zkey: m constraints, N = nPublic public signals, n = 2^p the smallest power of two above m + N,
ω the n-th root of unity of ffjavascript (``Fr.w[p]`` = (5^t)^(2^(28−p)), r − 1 = 2^28·t), and
L_j(τ) = (τ^n − 1)/n · ω^j/(τ − ω^j) the Lagrange polynomials of the domain at τ. Constraint j
adds a_ji·L_j(τ) to A_i(τ) (likewise B, C); snarkjs's extra rows j = m + s (s = 0..N) add
L_j(τ) to A_s(τ). Then, each a multiple of its group's generator:

* IC_i = (β·A_i + α·B_i + C_i)/γ for i ≤ N; C_i = (β·A_i + α·B_i + C_i)/δ for i > N;
* A_i = A_i(τ)·G1, B1_i = B_i(τ)·G1, B2_i = B_i(τ)·G2;
* H_i = L'_{2i+1}(τ)/δ·G1, i < n, with L'_k(τ) = (τ^2n − 1)/2n · g^k/(τ − g^k) over the 2n-th
  roots of unity (g = ω_2n): the points snarkjs and groth16py multiply by (A·B − C) at the odd
  points g·ω^i (:mod:`pymargin.zk.zkey`).

The scalars are computed here; their points by node (``bin/fixed_base.cjs``: ffjavascript's wasm
curve code, a fixed-base comb, one worker per core).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import tempfile
from pathlib import Path

from pymargin import tools
from pymargin.errors import UserError
from pymargin.zk.field import FIELD_P
from pymargin.zk.r1cs import R1CS, read_r1cs
from pymargin.zk.zkey import write_zkey

TWO_ADICITY = 28  # r − 1 = 2^28·t, t odd
_ROOT_2_28 = pow(5, (FIELD_P - 1) >> TWO_ADICITY, FIELD_P)  # ffjavascript's Fr.w[28]: 5 is r's smallest non-residue


def root_of_unity(power: int) -> int:
    """The primitive 2^power-th root of unity snarkjs and ffjavascript use (``Fr.w[power]``)."""
    if not 0 <= power <= TWO_ADICITY:
        raise UserError(f"no 2^{power}-th root of unity in the BN254 scalar field")
    return pow(_ROOT_2_28, 1 << (TWO_ADICITY - power), FIELD_P)


def domain_power(system: R1CS) -> int:
    """p of snarkjs's domain n = 2^p: the smallest power of two above constraints + public signals."""
    return (len(system.constraints) + system.n_public).bit_length()


def _inverses(values: list[int]) -> list[int]:
    """Every value's inverse mod r (Montgomery's batch inversion: one exponentiation); values must be non-zero."""
    prefix, acc = [], 1
    for v in values:
        prefix.append(acc)
        acc = acc * v % FIELD_P
    inv = pow(acc, -1, FIELD_P)
    out = [0] * len(values)
    for i in range(len(values) - 1, -1, -1):
        out[i] = prefix[i] * inv % FIELD_P
        inv = inv * values[i] % FIELD_P
    return out


def lagrange_at(tau: int, size: int, count: int, first: int = 0, step: int = 1) -> list[int]:
    """L_k(τ) over the domain of the ``size``-th roots of unity x_k = w^k, for k = first + step·i, i < count."""
    w = root_of_unity(size.bit_length() - 1)
    points, x, w_step = [], pow(w, first, FIELD_P), pow(w, step, FIELD_P)
    for _ in range(count):
        points.append(x)
        x = x * w_step % FIELD_P
    factor = (pow(tau, size, FIELD_P) - 1) * pow(size, -1, FIELD_P) % FIELD_P
    return [factor * x * inv % FIELD_P for x, inv in zip(points, _inverses([(tau - x) % FIELD_P for x in points]))]


def key_scalars(system: R1CS, tau: int, alpha: int, beta: int, gamma: int, delta: int) -> dict[str, list[int]]:
    """The discrete logarithms of every zkey point (module docstring): "g1_key" = α, β, δ (α1, β1, δ1),
    "g2_key" = β, γ, δ (β2, γ2, δ2), "ic", "a", "b" (B1 and B2), "c", "h"."""
    m, n_public, n_vars = len(system.constraints), system.n_public, system.n_wires
    n = 1 << domain_power(system)
    lag = lagrange_at(tau, n, m + n_public + 1)
    a, b, c = [0] * n_vars, [0] * n_vars, [0] * n_vars
    for j, (ta, tb, tc) in enumerate(system.constraints):
        lj = lag[j]
        for out, term in ((a, ta), (b, tb), (c, tc)):
            for wire, coef in term.items():
                out[wire] += coef * lj
    for s in range(n_public + 1):
        a[s] += lag[m + s]
    a, b = [v % FIELD_P for v in a], [v % FIELD_P for v in b]
    mixed = [(beta * a[i] + alpha * b[i] + c[i]) % FIELD_P for i in range(n_vars)]
    inv_gamma, inv_delta = pow(gamma, -1, FIELD_P), pow(delta, -1, FIELD_P)
    h = lagrange_at(tau, 2 * n, n, first=1, step=2)
    return {
        "g1_key": [alpha, beta, delta], "g2_key": [beta, gamma, delta],
        "ic": [v * inv_gamma % FIELD_P for v in mixed[: n_public + 1]],
        "a": a, "b": b,
        "c": [v * inv_delta % FIELD_P for v in mixed[n_public + 1 :]],
        "h": [v * inv_delta % FIELD_P for v in h],
    }


def _toxic_waste() -> tuple[int, int, int, int, int]:
    """τ, α, β, γ, δ: uniform non-zero scalars; τ is also off both domains (no L_k(τ) denominator is 0)."""
    while True:
        tau, alpha, beta, gamma, delta = (1 + secrets.randbelow(FIELD_P - 1) for _ in range(5))
        if pow(tau, 1 << TWO_ADICITY, FIELD_P) != 1:
            return tau, alpha, beta, gamma, delta


def multiply_generators(g1: list[int], g2: list[int], workers: int = 0) -> tuple[bytes, bytes]:
    """(s·G1 for s in g1, s·G2 for s in g2) as zkey bytes (affine, x·R, y·R mod q little-endian; zeros for
    s = 0), computed by node (``bin/fixed_base.cjs``) with ``workers`` threads (0: one per core)."""
    with tempfile.TemporaryDirectory(prefix="pymargin-devzkey-") as tmp:  # mode 0700: the scalars reveal the toxic waste
        paths = [Path(tmp) / name for name in ("g1.in", "g1.out", "g2.in", "g2.out")]
        paths[0].write_bytes(b"".join(s.to_bytes(32, "little") for s in g1))
        paths[2].write_bytes(b"".join(s.to_bytes(32, "little") for s in g2))
        script = Path(__file__).with_name("bin") / "fixed_base.cjs"
        env = os.environ | {"NODE_PATH": str(tools.node_modules())}
        cmd = [tools.node(), str(script), str(workers), "G1", str(paths[0]), str(paths[1]), "G2", str(paths[2]), str(paths[3])]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise UserError(f"computing the development key's points failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
        return paths[1].read_bytes(), paths[3].read_bytes()


def write_dev_zkey(r1cs: Path, out: Path, workers: int = 0) -> None:
    """Write a development zkey for the circuit ``r1cs`` at ``out`` (atomically) from fresh toxic waste,
    discarded on return; ``workers`` node threads (0: one per core)."""
    system = read_r1cs(r1cs)
    scalars = key_scalars(system, *_toxic_waste())
    order = ("g1_key", "ic", "a", "b", "c", "h")
    g1, g2 = multiply_generators([s for name in order for s in scalars[name]], scalars["g2_key"] + scalars["b"], workers)
    sections, at = {}, 0
    for name in order:
        size = len(scalars[name]) * 64
        sections[name], at = g1[at : at + size], at + size
    alpha1, beta1, delta1 = (sections["g1_key"][64 * i : 64 * (i + 1)] for i in range(3))
    beta2, gamma2, delta2 = (g2[128 * i : 128 * (i + 1)] for i in range(3))
    write_zkey(out, system, 1 << domain_power(system), alpha1 + beta1 + beta2 + gamma2 + delta1 + delta2, sections["ic"],
               sections["a"], sections["b"], g2[384:], sections["c"], sections["h"])
