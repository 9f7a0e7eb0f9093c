// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title IPriceOracle
/// @notice The price feed a MarginEngine market reads (docs/spec.md §5.1).
interface IPriceOracle {
    /// @notice The latest price and when it was set.
    /// @return priceWad WAD quote per base unit, signed as reported (the engine rejects ≤ 0 and ≥ 2^94).
    /// @return updatedAt Unix time (seconds) of the price (the engine rejects it when older than the market's max age).
    function latestPrice() external view returns (int256 priceWad, uint256 updatedAt);
}
