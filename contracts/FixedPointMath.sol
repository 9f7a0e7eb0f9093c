// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title FixedPointMath
/// @notice Integer fixed-point arithmetic where every division names its rounding
///         (docs/spec.md §2). Mirrored bit for bit, reverts included, by pymargin/fixedpoint.py.
/// @dev `Floor` rounds toward -inf, `Ceil` toward +inf, `Trunc` toward zero (Solidity's `/`),
///      `Expand` away from zero. On unsigned values Floor = Trunc and Ceil = Expand.
///      Products use a 512-bit intermediate (Remco Bloemen's mulDiv), so only the final result
///      has to fit its type.
library FixedPointMath {
    /// @notice Rounding of a division; the values equal pymargin.fixedpoint.Rounding's.
    enum Rounding {
        Floor,
        Ceil,
        Trunc,
        Expand
    }

    /// @notice The exact result does not fit the result type (uint256 or int256).
    error MulDivOverflow();
    /// @notice The divisor is zero.
    error DivisionByZero();
    /// @notice A checked cast was given a value outside the target type.
    error SafeCastOverflow();

    uint256 internal constant WAD = 1e18;

    // ------------------------------------------------------------------ unsigned

    /// @notice x * y / d on uint256 with a 512-bit intermediate, rounded as `r`.
    /// @dev Floor/Trunc give ⌊x·y/d⌋, Ceil/Expand ⌈x·y/d⌉.
    ///      Reverts DivisionByZero if d = 0, MulDivOverflow if the rounded result > 2^256 − 1.
    function mulDiv(uint256 x, uint256 y, uint256 d, Rounding r) internal pure returns (uint256) {
        if (d == 0) revert DivisionByZero();
        uint256 q = _mulDivFloor(x, y, d);
        if (_magnitudeUp(r, false) && mulmod(x, y, d) != 0) {
            if (q == type(uint256).max) revert MulDivOverflow();
            unchecked {
                q += 1;
            }
        }
        return q;
    }

    /// @notice x * y / WAD on uint256 (a product of two WAD values), rounded as `r`.
    /// @dev Reverts MulDivOverflow if the rounded result > 2^256 − 1.
    function mulWad(uint256 x, uint256 y, Rounding r) internal pure returns (uint256) {
        return mulDiv(x, y, WAD, r);
    }

    /// @notice x * WAD / y on uint256 (a quotient of two WAD values), rounded as `r`.
    /// @dev Reverts DivisionByZero if y = 0, MulDivOverflow if the rounded result > 2^256 − 1.
    function divWad(uint256 x, uint256 y, Rounding r) internal pure returns (uint256) {
        return mulDiv(x, WAD, y, r);
    }

    /// @notice x / d on uint256, rounded as `r` (never overflows).
    /// @dev Reverts DivisionByZero if d = 0.
    function divRounded(uint256 x, uint256 d, Rounding r) internal pure returns (uint256) {
        if (d == 0) revert DivisionByZero();
        unchecked {
            uint256 q = x / d;
            // d ≥ 2 when there is a remainder, so q ≤ (2^256 − 1) / 2 and q + 1 cannot overflow.
            if (_magnitudeUp(r, false) && x % d != 0) q += 1;
            return q;
        }
    }

    // ------------------------------------------------------------------ signed

    /// @notice x * y / d on int256 with an exact (512-bit) intermediate, rounded as `r`.
    /// @dev Reverts DivisionByZero if d = 0, MulDivOverflow if the rounded result is outside int256.
    function sMulDiv(int256 x, int256 y, int256 d, Rounding r) internal pure returns (int256) {
        if (d == 0) revert DivisionByZero();
        bool negative = (x < 0) != (y < 0) != (d < 0);
        uint256 q = _mulDivFloor(_abs(x), _abs(y), _abs(d));
        if (_magnitudeUp(r, negative) && mulmod(_abs(x), _abs(y), _abs(d)) != 0) {
            if (q == type(uint256).max) revert MulDivOverflow();
            unchecked {
                q += 1;
            }
        }
        return _signed(q, negative);
    }

    /// @notice x * y / WAD on int256 (a product of two signed WAD values), rounded as `r`.
    /// @dev Reverts MulDivOverflow if the rounded result is outside int256.
    function sMulWad(int256 x, int256 y, Rounding r) internal pure returns (int256) {
        return sMulDiv(x, y, int256(WAD), r);
    }

    /// @notice x * WAD / y on int256 (a quotient of two signed WAD values), rounded as `r`.
    /// @dev Reverts DivisionByZero if y = 0, MulDivOverflow if the rounded result is outside int256.
    function sDivWad(int256 x, int256 y, Rounding r) internal pure returns (int256) {
        return sMulDiv(x, int256(WAD), y, r);
    }

    /// @notice x / d on int256, rounded as `r`.
    /// @dev Reverts DivisionByZero if d = 0, MulDivOverflow for type(int256).min / −1 (= 2^255).
    function sDivRounded(int256 x, int256 d, Rounding r) internal pure returns (int256) {
        if (d == 0) revert DivisionByZero();
        bool negative = (x < 0) != (d < 0);
        uint256 ax = _abs(x);
        uint256 ad = _abs(d);
        unchecked {
            uint256 q = ax / ad;
            // ad ≥ 2 when there is a remainder, so q + 1 cannot overflow.
            if (_magnitudeUp(r, negative) && ax % ad != 0) q += 1;
            return _signed(q, negative);
        }
    }

    /// @notice Solidity's signed `x / y`: truncates toward zero.
    /// @dev Reverts Panic(0x12) if y = 0, Panic(0x11) for type(int256).min / −1.
    function sdiv(int256 x, int256 y) internal pure returns (int256) {
        return x / y;
    }

    /// @notice Solidity's signed `x % y`: the remainder of sdiv, with the sign of x.
    /// @dev Reverts Panic(0x12) if y = 0 (type(int256).min % −1 = 0).
    function smod(int256 x, int256 y) internal pure returns (int256) {
        return x % y;
    }

    // ------------------------------------------------------------------ casts

    /// @notice uint256 → int256; reverts SafeCastOverflow if x > type(int256).max.
    function toInt256(uint256 x) internal pure returns (int256) {
        if (x > uint256(type(int256).max)) revert SafeCastOverflow();
        return int256(x);
    }

    /// @notice int256 → uint256; reverts SafeCastOverflow if x < 0.
    function toUint256(int256 x) internal pure returns (uint256) {
        if (x < 0) revert SafeCastOverflow();
        return uint256(x);
    }

    // ------------------------------------------------------------------ private

    /// @dev ⌊x·y/d⌋ for d ≠ 0 with the 512-bit product [prod1 prod0] (Remco Bloemen, MIT:
    ///      https://2π.com/21/muldiv). Reverts MulDivOverflow if the quotient ≥ 2^256 (d ≤ prod1).
    function _mulDivFloor(uint256 x, uint256 y, uint256 d) private pure returns (uint256 q) {
        unchecked {
            uint256 prod0 = x * y; // low 256 bits of x·y
            uint256 mm = mulmod(x, y, type(uint256).max);
            uint256 prod1 = mm - prod0 - (mm < prod0 ? 1 : 0); // high 256 bits
            if (prod1 == 0) return prod0 / d;
            if (d <= prod1) revert MulDivOverflow();
            // Subtract the remainder so the 512-bit value is an exact multiple of d.
            uint256 rem = mulmod(x, y, d);
            prod1 -= rem > prod0 ? 1 : 0;
            prod0 -= rem;
            // Divide out the largest power of two dividing d, and shift prod1's bits into prod0.
            uint256 twos = d & (0 - d);
            d /= twos;
            prod0 /= twos;
            uint256 flip = (0 - twos) / twos + 1; // 2^256 / twos (wraps to 0 when twos = 1)
            prod0 |= prod1 * flip;
            // d is now odd: its inverse mod 2^256 by Newton-Raphson, 4 → 8 → ... → 256 bits.
            uint256 inv = (3 * d) ^ 2;
            inv *= 2 - d * inv;
            inv *= 2 - d * inv;
            inv *= 2 - d * inv;
            inv *= 2 - d * inv;
            inv *= 2 - d * inv;
            inv *= 2 - d * inv;
            // The quotient is exact, so multiplying by the inverse mod 2^256 gives it.
            q = prod0 * inv;
        }
    }

    /// @dev True when rounding `r` rounds the magnitude |q| up, for a quotient of sign `negative`.
    function _magnitudeUp(Rounding r, bool negative) private pure returns (bool) {
        return r == Rounding.Expand || (r == Rounding.Ceil && !negative) || (r == Rounding.Floor && negative);
    }

    /// @dev |x| as uint256 (|type(int256).min| = 2^255 fits).
    function _abs(int256 x) private pure returns (uint256) {
        unchecked {
            return x < 0 ? uint256(-x) : uint256(x);
        }
    }

    /// @dev The int256 of magnitude q and the given sign; reverts MulDivOverflow if outside int256.
    function _signed(uint256 q, bool negative) private pure returns (int256) {
        if (negative) {
            if (q > uint256(type(int256).max) + 1) revert MulDivOverflow();
            unchecked {
                return -int256(q); // q = 2^255 casts to type(int256).min, whose negation wraps to itself
            }
        }
        if (q > uint256(type(int256).max)) revert MulDivOverflow();
        return int256(q);
    }
}
