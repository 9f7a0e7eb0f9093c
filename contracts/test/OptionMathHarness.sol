// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {FixedPointMath} from "../FixedPointMath.sol";
import {WadMath} from "../WadMath.sol";
import {Black76} from "../Black76.sol";

/// @title OptionMathHarness
/// @notice Exposes WadMath and Black76 as external pure functions, for the parity tests and the gas table.
contract OptionMathHarness {
    function expWad(int256 x) external pure returns (uint256) {
        return WadMath.expWad(x);
    }

    function lnWad(uint256 x) external pure returns (int256) {
        return WadMath.lnWad(x);
    }

    function sqrtWad(uint256 x, FixedPointMath.Rounding r) external pure returns (uint256) {
        return WadMath.sqrtWad(x, r);
    }

    function sqrt(uint256 n, FixedPointMath.Rounding r) external pure returns (uint256) {
        return WadMath.sqrt(n, r);
    }

    function normCdfWad(int256 x) external pure returns (uint256) {
        return WadMath.normCdfWad(x);
    }

    function black76Price(Black76.OptionKind kind, uint256 forward, uint256 strike, uint256 vol, uint256 tau, uint256 rate)
        external
        pure
        returns (uint256)
    {
        return Black76.price(kind, forward, strike, vol, tau, rate);
    }
}
