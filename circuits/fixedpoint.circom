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

// in ∈ [0, bound) for a constant bound = 2^a * o >= 1 (o odd): in = lo + 2^a * hi with witnesses
// lo ∈ [0, 2^a) and hi ∈ [0, o) (two range checks of bitLength(o - 1) bits; none if o = 1), so
// in < 2^a * o = bound over the integers. a + 2 * bitLength(o - 1) constraints: 102 for WAD = 2^18 * 5^18
// and 204 for WAD^2 (two range checks of the whole width would take 120 and 240).
template LessThanConst(bound) {
    assert(bound >= 1);
    signal input in;
    var a = 0;
    var o = bound;
    while (o % 2 == 0) {
        a++;
        o = o \ 2;
    }
    var n = bitLength(o - 1);
    signal lo;
    signal hi;
    lo <-- in & ((1 << a) - 1);
    hi <-- in >> a;
    in === lo + (1 << a) * hi;
    if (a > 0) {
        component low = RangeCheck(a);
        low.in <== lo;
    } else {
        lo === 0;
    }
    if (n > 0) {
        component high = RangeCheck(n);
        high.in <== hi;
    } else {
        hi === 0;
    }
    if ((1 << n) != o) {
        component top = RangeCheck(n);
        top.in <== o - 1 - hi;
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
// |in| < 2^nIn (the caller's bound), checking the remainder only. The quotient q and the remainder
// r = in - q*d are witnesses; the constraint is
//   sigma * r ∈ [0, d) with sigma = +1 (Floor), -1 (Ceil), sign(in) (Trunc), -sign(in) (Expand).
// That alone does not make q unique: for any r' ∈ [0, d), q' = (in - r') / d in the field passes.
// The caller must bound q (or an affine function of it) so that |q| < 2^nB with
// nB + bitLength(d) <= 252: then |q*d + r| < p/2, so q*d + r = in holds over the integers and
// (q, r) is unique. DivRounded bounds q itself; AccountMargins bounds its requirements and leaves
// equity to its caller (equity's sign check, SolvencyBatch; AccountMargin's range check).
// Trunc and Expand also range-check in (nIn + 1 constraints) to learn its sign.
template DivRoundedUnbounded(rounding, nIn, d) {
    assert(rounding >= 0 && rounding <= 3);
    assert(d >= 1);
    assert(nIn <= 251);
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

// out = in / d rounded as named, |in| < 2^nIn: DivRoundedUnbounded plus q ∈ [-2^nQ, 2^nQ) with
// nQ = nIn - floor(log2 d) + 1, which covers |in / d| + 1 (asserted: nQ + bitLength(d) <= 252).
template DivRounded(rounding, nIn, d) {
    var nQ = nIn - (bitLength(d) - 1) + 1;
    assert(nQ + bitLength(d) <= 252);
    signal input in;
    signal output out;
    component div = DivRoundedUnbounded(rounding, nIn, d);
    div.in <== in;
    component qRange = SignedRangeCheck(nQ);
    qRange.in <== div.out;
    out <== div.out;
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
