pragma circom 2.1.6;

// Fixed-point gadgets that reproduce the contract's integer arithmetic exactly (docs/spec.md §2, §7).
//
// Signals are BN254 scalar-field elements; a signed integer x is the element x mod p. Every
// gadget states the integer range its inputs must lie in (guaranteed by the caller's range
// checks) and keeps every intermediate below p/2 in absolute value, so field arithmetic equals
// integer arithmetic: no wrap-around. Rounding codes equal pymargin.fixedpoint.Rounding and
// FixedPointMath.Rounding: 0 Floor (toward -inf), 1 Ceil (toward +inf), 2 Trunc (toward 0,
// Solidity's `/`), 3 Expand (away from 0).

include "circomlib/circuits/bitify.circom";

// Number of bits needed to write x >= 0 (0 for x = 0).
function bitLength(x) {
    var n = 0;
    var y = x;
    while (y > 0) {
        n++;
        y = y \ 2;
    }
    return n;
}

// in ∈ [0, 2^n): n constraints (n <= 252, so no value aliases past p).
template RangeCheck(n) {
    assert(n <= 252);
    signal input in;
    component bits = Num2Bits(n);
    bits.in <== in;
}

// in ∈ [-2^n, 2^n) as a signed integer; neg = 1 iff in < 0. n + 1 constraints.
template SignedRangeCheck(n) {
    assert(n <= 251);
    signal input in;
    signal output neg;
    component bits = Num2Bits(n + 1);
    bits.in <== in + (1 << n);
    neg <== 1 - bits.out[n];
}

// in ∈ [0, bound) for a constant bound >= 1: two range checks of bitLength(bound - 1) bits
// (one if bound is a power of two).
template LessThanConst(bound) {
    signal input in;
    var n = bitLength(bound - 1);
    component low = RangeCheck(n);
    low.in <== in;
    if ((1 << n) != bound) {
        component high = RangeCheck(n);
        high.in <== bound - 1 - in;
    }
}

// |a| for a signed a ∈ [-2^n, 2^n), given its sign bit neg (from SignedRangeCheck): 1 constraint.
template SignedAbs() {
    signal input in;
    signal input neg;
    signal output out;
    out <== in - 2 * neg * in;
}

// out = in / d rounded as named, for a constant divisor d >= 1 and an integer numerator with
// |in| < 2^nIn (the caller's bound). The quotient q and the remainder r = in - q*d are witnesses;
// the constraints make them unique:
//   sigma * r ∈ [0, d) with sigma = +1 (Floor), -1 (Ceil), sign(in) (Trunc), -sign(in) (Expand),
//   q ∈ [-2^nQ, 2^nQ) with nQ = nIn - floor(log2 d) + 1, which covers |in / d| + 1;
// and |q*d + r| <= (2^nQ + 1) * d < 2^(nQ + bitLength(d)) + 2^bitLength(d) < p/2 (asserted:
// nQ + bitLength(d) <= 252), so q*d + r = in holds over the integers, not just mod p.
// Trunc and Expand also range-check in (nIn + 1 constraints) to learn its sign.
template DivRounded(rounding, nIn, d) {
    assert(rounding >= 0 && rounding <= 3);
    assert(d >= 1);
    var nQ = nIn - (bitLength(d) - 1) + 1;
    assert(nIn <= 251 && nQ + bitLength(d) <= 252);
    signal input in;
    signal output out;

    // Witness: |in| = qa * d + ra, then the rounded quotient (circom compares field elements as
    // signed values in (-p/2, p/2)).
    var isNeg = in < 0;
    var a = isNeg ? -in : in;
    var qa = a \ d;
    var ra = a % d;
    var up = ra != 0;
    var q;
    if (rounding == 0) {
        q = isNeg ? -(qa + up) : qa;
    } else if (rounding == 1) {
        q = isNeg ? -qa : qa + up;
    } else if (rounding == 2) {
        q = isNeg ? -qa : qa;
    } else {
        q = isNeg ? -(qa + up) : qa + up;
    }
    out <-- q;

    component qRange = SignedRangeCheck(nQ);
    qRange.in <== out;
    signal r <== in - out * d;

    signal t; // sigma * r, must lie in [0, d)
    if (rounding == 0) {
        t <== r;
    } else if (rounding == 1) {
        t <== -r;
    } else {
        component sign = SignedRangeCheck(nIn);
        sign.in <== in;
        if (rounding == 2) {
            t <== r - 2 * sign.neg * r;
        } else {
            t <== 2 * sign.neg * r - r;
        }
    }
    component tRange = LessThanConst(d);
    tRange.in <== t;
}

// out = a * b / d rounded as named (Solidity's sMulDiv with an exact intermediate), for signed
// integers with |a * b| < 2^nIn and a constant d >= 1: 1 constraint plus DivRounded.
template MulDivRounded(rounding, nIn, d) {
    signal input a;
    signal input b;
    signal output out;
    component div = DivRounded(rounding, nIn, d);
    div.in <== a * b;
    out <== div.out;
}

// out = 1 iff a < b, for signed integers a, b ∈ [-2^n, 2^n): n + 2 constraints.
template SignedLessThan(n) {
    signal input a;
    signal input b;
    signal output out;
    component diff = SignedRangeCheck(n + 1);
    diff.in <== a - b;
    out <== diff.neg;
}

// Enforces a >= b for signed integers with a - b ∈ (-2^n, 2^n) (the caller's bound): a - b ∈ [0, 2^n).
template AssertGreaterEq(n) {
    signal input a;
    signal input b;
    component diff = RangeCheck(n);
    diff.in <== a - b;
}
