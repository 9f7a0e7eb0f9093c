// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {FixedPointMath} from "../FixedPointMath.sol";

/// @title FixedPointMathHarness
/// @notice Exposes every FixedPointMath function as an external pure function, for the parity tests.
contract FixedPointMathHarness {
    function mulDiv(uint256 x, uint256 y, uint256 d, FixedPointMath.Rounding r) external pure returns (uint256) {
        return FixedPointMath.mulDiv(x, y, d, r);
    }

    function sMulDiv(int256 x, int256 y, int256 d, FixedPointMath.Rounding r) external pure returns (int256) {
        return FixedPointMath.sMulDiv(x, y, d, r);
    }

    function mulWad(uint256 x, uint256 y, FixedPointMath.Rounding r) external pure returns (uint256) {
        return FixedPointMath.mulWad(x, y, r);
    }

    function sMulWad(int256 x, int256 y, FixedPointMath.Rounding r) external pure returns (int256) {
        return FixedPointMath.sMulWad(x, y, r);
    }

    function divWad(uint256 x, uint256 y, FixedPointMath.Rounding r) external pure returns (uint256) {
        return FixedPointMath.divWad(x, y, r);
    }

    function sDivWad(int256 x, int256 y, FixedPointMath.Rounding r) external pure returns (int256) {
        return FixedPointMath.sDivWad(x, y, r);
    }

    function divRounded(uint256 x, uint256 d, FixedPointMath.Rounding r) external pure returns (uint256) {
        return FixedPointMath.divRounded(x, d, r);
    }

    function sDivRounded(int256 x, int256 d, FixedPointMath.Rounding r) external pure returns (int256) {
        return FixedPointMath.sDivRounded(x, d, r);
    }

    function sdiv(int256 x, int256 y) external pure returns (int256) {
        return FixedPointMath.sdiv(x, y);
    }

    function smod(int256 x, int256 y) external pure returns (int256) {
        return FixedPointMath.smod(x, y);
    }

    function toInt256(uint256 x) external pure returns (int256) {
        return FixedPointMath.toInt256(x);
    }

    function toUint256(int256 x) external pure returns (uint256) {
        return FixedPointMath.toUint256(x);
    }
}
