// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {Ownable} from "../vendor/OpenZeppelin.sol";

/// @title DevOracle
/// @notice A price feed for devnets and tests: its owner sets the price and its timestamp directly.
///         Any value is accepted here (including ≤ 0 or a stale time) so that the engine's checks can
///         be exercised; never use it on a public network.
contract DevOracle is IPriceOracle, Ownable {
    int256 private _priceWad;
    uint256 private _updatedAt;

    event PriceSet(int256 priceWad, uint256 updatedAt);

    /// @param initialOwner who may set prices.
    /// @param priceWad the first price (WAD quote per base unit); its time is the deployment block's.
    constructor(address initialOwner, int256 priceWad) Ownable(initialOwner) {
        _priceWad = priceWad;
        _updatedAt = block.timestamp;
        emit PriceSet(priceWad, block.timestamp);
    }

    /// @notice Set the price (WAD quote per base unit) and the time it claims to be from (seconds).
    function setPrice(int256 priceWad, uint256 updatedAt) external onlyOwner {
        _priceWad = priceWad;
        _updatedAt = updatedAt;
        emit PriceSet(priceWad, updatedAt);
    }

    /// @inheritdoc IPriceOracle
    function latestPrice() external view returns (int256 priceWad, uint256 updatedAt) {
        return (_priceWad, _updatedAt);
    }
}
