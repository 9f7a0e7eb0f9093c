"""PYMARGIN_CIRCOM=groth16py (pymargin.zk.circom_native) against the pinned circom2 --O2.

The same circuit compiled both ways gives a byte-identical r1cs and, on random full-precision
inputs, a byte-identical witness; a circuit circom rejects is one NativeCompileError carrying
circom's message, leaving no build folder behind.
"""

from __future__ import annotations

import random
import shutil

import pytest

from pymargin.errors import UserError
from pymargin.fixedpoint import WAD
from pymargin.zk.circom import compile_circuit
from pymargin.zk.circom_native import NativeCompileError
from pymargin.zk.field import to_field
from pymargin.zk.witness import compute_witness

pytest.importorskip("groth16py")
pytestmark = pytest.mark.skipif(shutil.which("wat2wasm") is None or shutil.which("strace") is None,
                                reason="wat2wasm (Debian's wabt) or strace is not installed")

N_BITS = 198
MAIN = f"""pragma circom 2.1.6;
include "fixedpoint.circom";
template Divs(n) {{
    signal input x[n];
    signal output q[n][4];
    component div[n][4];
    for (var i = 0; i < n; i++) {{
        for (var r = 0; r < 4; r++) {{
            div[i][r] = DivRounded(r, {N_BITS}, {WAD});
            div[i][r].in <== x[i];
            q[i][r] <== div[i][r].out;
        }}
    }}
}}
component main = Divs(3);
"""
BROKEN = 'pragma circom 2.1.6;\ntemplate T() { signal input a; signal output b; b <== a * a * a; }\ncomponent main = T();\n'


@pytest.fixture
def build(tmp_path, monkeypatch):
    monkeypatch.setenv("PYMARGIN_ZK_BUILD", str(tmp_path))
    return tmp_path


def _compile(monkeypatch, compiler: str, name: str, source: str):
    monkeypatch.setenv("PYMARGIN_CIRCOM", compiler)
    return compile_circuit(name, source)


def test_native_build_equals_circom2(build, monkeypatch):
    reference = _compile(monkeypatch, "circom2", "divs", MAIN)
    native = _compile(monkeypatch, "groth16py", "divs", MAIN)
    assert native.dir != reference.dir and not native.sym.exists()
    assert native.r1cs.read_bytes() == reference.r1cs.read_bytes()
    rng = random.Random(7)
    x = [rng.choice([1, -1]) * (rng.randrange(2 ** (N_BITS - 2) // WAD) * WAD + rng.randrange(1, WAD)) for _ in range(3)]
    inputs = {"x": [to_field(v) for v in x]}
    wtns = [compute_witness(c, inputs, build / f"{c.key}.wtns").read_bytes() for c in (reference, native)]
    assert wtns[0] == wtns[1]


def test_rejected_circuit_is_one_error_and_no_build(build, monkeypatch):
    with pytest.raises(NativeCompileError, match="Non quadratic constraints are not allowed"):
        _compile(monkeypatch, "groth16py", "broken", BROKEN)
    assert not [p for p in (build / "circuits").iterdir() if p.is_dir()]


def test_unknown_compiler_is_refused(build, monkeypatch):
    with pytest.raises(UserError, match="PYMARGIN_CIRCOM='circom3'"):
        _compile(monkeypatch, "circom3", "divs", MAIN)
