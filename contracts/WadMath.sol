// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {FixedPointMath} from "./FixedPointMath.sol";

/// @title WadMath
/// @notice exp, ln, sqrt and the standard normal CDF on WAD values (docs/spec.md §2.1), mirrored
///         bit for bit, reverts included, by pymargin/wadmath.py. Series run at RAY = 1e27 and are
///         cut to WAD at the end; every division names its rounding.
library WadMath {
    using FixedPointMath for uint256;

    /// @notice expWad(x) for x > 135 WAD: the result would not fit uint256.
    error ExpOverflow(int256 x);
    /// @notice lnWad(0) is undefined.
    error LnOfZero();

    uint256 internal constant WAD = 1e18;
    uint256 internal constant RAY = 1e27;
    uint256 internal constant WAD_TO_RAY = 1e9;
    int256 internal constant LN2_RAY = 693_147_180_559_945_309_417_232_121; // ⌊ln 2 · 1e27⌋
    int256 internal constant HALF_LN2_RAY = LN2_RAY / 2;
    uint256 internal constant INV_SQRT_2PI_RAY = 398_942_280_401_432_677_939_946_059; // ⌊1e27 / √(2π)⌋
    int256 internal constant EXP_MAX_WAD = 135e18; // e^135 · 1e18 < 2^256
    int256 internal constant EXP_MIN_WAD = -42e18; // e^-42 · 1e18 < 1
    int256 internal constant NCDF_CUTOFF_WAD = 9e18; // Φ(-9) < 1.2e-19
    uint256 internal constant NCDF_SERIES_MAX_RAY = 3e27;
    uint256 internal constant NCDF_CF_TERMS = 60;

    /// @notice e^(x / WAD) in WAD, rounded down (Floor) from a RAY intermediate.
    /// @dev 0 for x < -42 WAD; reverts ExpOverflow(x) for x > 135 WAD. Relative error < 1e-18.
    function expWad(int256 x) internal pure returns (uint256) {
        if (x > EXP_MAX_WAD) revert ExpOverflow(x);
        if (x < EXP_MIN_WAD) return 0;
        (uint256 m, int256 k) = _expRayParts(x * int256(WAD_TO_RAY));
        if (k >= 0) return FixedPointMath.mulDiv(m, uint256(1) << uint256(k), WAD_TO_RAY, FixedPointMath.Rounding.Floor);
        return m / (WAD_TO_RAY << uint256(-k));
    }

    /// @notice e^(xRay / RAY) at RAY for xRay ≤ 0, rounded down (Floor).
    function expRayNonPositive(int256 xRay) internal pure returns (uint256) {
        (uint256 m, int256 k) = _expRayParts(xRay);
        return m >> uint256(-k); // k ≤ 0 for xRay ≤ 0
    }

    /// @notice ln(x / WAD) in WAD, rounded down (Floor) from a RAY intermediate; reverts LnOfZero() for x = 0.
    /// @dev x = m·2^k with m ∈ [2^59, 2^60); ln m = 2·atanh((m − 1)/(m + 1)) by its series (Trunc terms).
    function lnWad(uint256 x) internal pure returns (int256) {
        if (x == 0) revert LnOfZero();
        int256 k = int256(_log2Floor(x)) - 59;
        uint256 mRay;
        if (k >= 0) mRay = FixedPointMath.mulDiv(x, WAD_TO_RAY, uint256(1) << uint256(k), FixedPointMath.Rounding.Floor);
        else mRay = (x * WAD_TO_RAY) << uint256(-k);
        int256 z = ((int256(mRay) - int256(RAY)) * int256(RAY)) / (int256(mRay) + int256(RAY)); // Trunc
        int256 z2 = (z * z) / int256(RAY); // Floor (non-negative)
        int256 total;
        int256 term = z;
        unchecked {
            // |term| ≤ |z| < 0.27·RAY and z2 < 0.08·RAY: no product leaves int256.
            for (int256 n = 1; term != 0; n += 2) {
                total += term / n; // Trunc
                term = (term * z2) / int256(RAY); // Trunc
            }
        }
        return FixedPointMath.sDivRounded(k * LN2_RAY + 2 * total, int256(WAD_TO_RAY), FixedPointMath.Rounding.Floor);
    }

    /// @notice √(x / WAD) in WAD = √(x·WAD), rounded as `r` (Floor = Trunc, Ceil = Expand).
    /// @dev Reverts Panic(0x11) if x·WAD > 2^256 − 1.
    function sqrtWad(uint256 x, FixedPointMath.Rounding r) internal pure returns (uint256) {
        return sqrt(x * WAD, r);
    }

    /// @notice √n of a uint256, rounded as `r` (Floor = Trunc, Ceil = Expand).
    function sqrt(uint256 n, FixedPointMath.Rounding r) internal pure returns (uint256 s) {
        s = _isqrtFloor(n);
        if ((r == FixedPointMath.Rounding.Ceil || r == FixedPointMath.Rounding.Expand) && s * s != n) s += 1;
    }

    /// @notice Φ(x / WAD), the standard normal CDF, in WAD.
    /// @dev q = ⌊Q(|x|) / 1e9⌋ (Floor of the RAY upper tail); Φ(x) = q for x < 0, WAD − q for x ≥ 0,
    ///      so Φ(x) + Φ(−x) = WAD exactly. 0 for x ≤ −9 WAD, WAD for x ≥ 9 WAD. Error < 1 wei.
    function normCdfWad(int256 x) internal pure returns (uint256) {
        if (x >= NCDF_CUTOFF_WAD) return WAD;
        if (x <= -NCDF_CUTOFF_WAD) return 0;
        uint256 a = uint256(x >= 0 ? x : -x);
        uint256 q = upperTailRay(a * WAD_TO_RAY) / WAD_TO_RAY;
        return x >= 0 ? WAD - q : q;
    }

    /// @notice Q(a) = 1 − Φ(a) at RAY for 0 ≤ a < 9 (a at RAY), rounded down (every division Floor).
    /// @dev φ(a) = e^(−a²/2)/√(2π). Below 3: Q = 1/2 − φ·Σ a^(2n+1)/(2n+1)!! until a term is 0;
    ///      from 3: Q = φ·R, R = 1/(a + 1/(a + 2/(a + … 60/a))) (Laplace) evaluated from the bottom.
    function upperTailRay(uint256 aRay) internal pure returns (uint256) {
        uint256 a2 = (aRay * aRay) / RAY;
        uint256 phi = (expRayNonPositive(-int256(a2 / 2)) * INV_SQRT_2PI_RAY) / RAY;
        if (aRay < NCDF_SERIES_MAX_RAY) {
            uint256 total = aRay;
            uint256 term = aRay;
            unchecked {
                // a < 3: every term a^(2n+1)/(2n+1)!! < 21·RAY and a2 < 9·RAY, so term·a2 < 2^190.
                for (uint256 n = 1;; ++n) {
                    term = (term * a2) / ((2 * n + 1) * RAY);
                    if (term == 0) break;
                    total += term;
                }
            }
            return RAY / 2 - (phi * total) / RAY;
        }
        uint256 t;
        unchecked {
            for (uint256 j = NCDF_CF_TERMS; j > 0; --j) {
                t = (j * RAY * RAY) / (aRay + t); // j·RAY² ≤ 6e55; t ≤ 60·RAY²/a
            }
        }
        uint256 mills = (RAY * RAY) / (aRay + t);
        return (phi * mills) / RAY;
    }

    // ------------------------------------------------------------------ private

    /// @dev (m, k) with e^(xRay/RAY) ≈ m·2^k/RAY: k = ⌊(x + ln2/2)/ln2⌋, r = x − k·ln2, m = e^r by
    ///      its Taylor series (each term term·r/(i·RAY), Trunc) until a term is 0.
    function _expRayParts(int256 xRay) private pure returns (uint256 m, int256 k) {
        k = FixedPointMath.sDivRounded(xRay + HALF_LN2_RAY, LN2_RAY, FixedPointMath.Rounding.Floor);
        int256 r = xRay - k * LN2_RAY;
        int256 total = int256(RAY);
        int256 term = int256(RAY);
        unchecked {
            // |r| ≤ ln2/2·RAY and |term| ≤ RAY: no product leaves int256.
            for (int256 i = 1;; ++i) {
                term = (term * r) / (i * int256(RAY)); // Trunc
                if (term == 0) break;
                total += term;
            }
        }
        m = uint256(total);
    }

    /// @dev ⌊log2 x⌋ for x > 0.
    function _log2Floor(uint256 x) private pure returns (uint256 b) {
        for (uint256 s = 128; s > 0; s >>= 1) {
            if (x >> s != 0) {
                x >>= s;
                b += s;
            }
        }
    }

    /// @dev ⌊√n⌋ by Newton's method from a start above the root (the iterates fall to the floor).
    function _isqrtFloor(uint256 n) private pure returns (uint256 z) {
        if (n == 0) return 0;
        z = uint256(1) << ((_log2Floor(n) >> 1) + 1);
        uint256 y = (z + n / z) >> 1;
        while (y < z) {
            z = y;
            y = (z + n / z) >> 1;
        }
    }
}
