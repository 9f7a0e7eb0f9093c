"""The smallest circuit the zk tests prove: out = floor(a·b / WAD), with a a public input (2 public signals)."""

from __future__ import annotations

from pymargin.zk.circom import Circuit, compile_circuit

MULWAD_SOURCE = """pragma circom 2.1.6;
include "fixedpoint.circom";
template MulWadFloor() {
    signal input a;
    signal input b;
    signal output out;
    component ra = SignedRangeCheck(100);
    ra.in <== a;
    component rb = SignedRangeCheck(100);
    rb.in <== b;
    component md = MulDivRounded(0, 200, 1000000000000000000);
    md.a <== a;
    md.b <== b;
    out <== md.out;
}
component main {public [a]} = MulWadFloor();
"""
A, B = -(3 * 10**18 + 7), 5 * 10**17 + 3  # the inputs test_zk_backends proves


def mulwad_circuit() -> Circuit:
    """MulWadFloor compiled (cached by content under build/zk)."""
    return compile_circuit("test_mulwad", MULWAD_SOURCE)
