// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarginMath} from "../MarginMath.sol";

/// @title MarginMathHarness
/// @notice Exposes every MarginMath formula as an external pure function, for the parity tests.
contract MarginMathHarness {
    function equity(int256 collateral, MarginMath.PositionData[] memory positions, MarginMath.MarketData[] memory markets)
        external
        pure
        returns (int256)
    {
        return MarginMath.equity(collateral, positions, markets);
    }

    function unrealisedPnl(MarginMath.PositionData[] memory positions, MarginMath.MarketData[] memory markets)
        external
        pure
        returns (int256)
    {
        return MarginMath.unrealisedPnl(positions, markets);
    }

    function pendingFunding(MarginMath.PositionData[] memory positions, MarginMath.MarketData[] memory markets)
        external
        pure
        returns (int256)
    {
        return MarginMath.pendingFunding(positions, markets);
    }

    function initialMargin(MarginMath.PositionData[] memory positions, MarginMath.MarketData[] memory markets)
        external
        pure
        returns (uint256)
    {
        return MarginMath.initialMargin(positions, markets);
    }

    function maintenanceMargin(MarginMath.PositionData[] memory positions, MarginMath.MarketData[] memory markets)
        external
        pure
        returns (uint256)
    {
        return MarginMath.maintenanceMargin(positions, markets);
    }

    function freeCollateral(
        int256 collateral,
        MarginMath.PositionData[] memory positions,
        MarginMath.MarketData[] memory markets
    ) external pure returns (int256) {
        return MarginMath.freeCollateral(collateral, positions, markets);
    }

    function marginRatio(
        int256 collateral,
        MarginMath.PositionData[] memory positions,
        MarginMath.MarketData[] memory markets
    ) external pure returns (int256) {
        return MarginMath.marginRatio(collateral, positions, markets);
    }

    function isLiquidatable(
        int256 collateral,
        MarginMath.PositionData[] memory positions,
        MarginMath.MarketData[] memory markets
    ) external pure returns (bool) {
        return MarginMath.isLiquidatable(collateral, positions, markets);
    }
}
