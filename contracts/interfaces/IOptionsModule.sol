// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarginMath} from "../MarginMath.sol";

/// @title IOptionsModule
/// @notice What MarginEngine asks of its options module (docs/spec.md §5.13).
interface IOptionsModule {
    /// @notice For the cross account of `owner` with perp positions `perps`: whether it holds option
    ///         positions; if so their value (WAD quote, Floor) and the portfolio initial and maintenance
    ///         margin over its perps and options (WAD quote, Ceil).
    function portfolioMargin(address owner, MarginMath.PositionData[] calldata perps)
        external
        view
        returns (bool holdsOptions, int256 valueWad, uint256 initialWad, uint256 maintenanceWad);
}
