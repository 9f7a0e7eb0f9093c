// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {RiskArrays} from "../RiskArrays.sol";

/// @title RiskArraysHarness
/// @notice Exposes RiskArrays as external functions, for the parity tests and the gas table;
///         `markUpdate` models a mark update: the array recomputed and stored (16 words).
contract RiskArraysHarness {
    mapping(uint256 => int256[16]) public stored;

    function riskArray(
        RiskArrays.InstrumentKind kind,
        uint256 strike,
        uint256 tau,
        uint256 price,
        uint256 vol,
        uint256 priceRange,
        uint256 volRange
    ) external pure returns (int256[16] memory) {
        return RiskArrays.riskArray(kind, strike, tau, price, vol, priceRange, volRange);
    }

    function markUpdate(
        uint256 id,
        RiskArrays.InstrumentKind kind,
        uint256 strike,
        uint256 tau,
        uint256 price,
        uint256 vol,
        uint256 priceRange,
        uint256 volRange
    ) external {
        stored[id] = RiskArrays.riskArray(kind, strike, tau, price, vol, priceRange, volRange);
    }

    function shortOptionMinimum(RiskArrays.InstrumentKind kind, uint256 price, uint256 fraction)
        external
        pure
        returns (uint256)
    {
        return RiskArrays.shortOptionMinimum(kind, price, fraction);
    }

    function scenarioLosses(int256[] memory sizes, int256[16][] memory arrays) external pure returns (int256[16] memory) {
        return RiskArrays.scenarioLosses(sizes, arrays);
    }

    function maintenanceMargin(int256[] memory sizes, int256[16][] memory arrays, uint256[] memory somPerUnit)
        external
        pure
        returns (uint256)
    {
        return RiskArrays.maintenanceMargin(sizes, arrays, somPerUnit);
    }

    function initialMargin(
        int256[] memory sizes,
        int256[16][] memory arrays,
        uint256[] memory somPerUnit,
        uint256 multiple
    ) external pure returns (uint256) {
        return RiskArrays.initialMargin(sizes, arrays, somPerUnit, multiple);
    }
}
