// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {FixedPointMath} from "../FixedPointMath.sol";

/// @title ChainlinkAdapter
/// @notice Reads a Chainlink AggregatorV3 feed and reports its latest answer scaled to WAD
///         (docs/spec.md §5.1). Mirrored by pymargin.engine.oracles.chainlink_price_wad.
contract ChainlinkAdapter is IPriceOracle {
    /// @notice The Chainlink feed read.
    AggregatorV3Interface public immutable feed;
    /// @notice The feed's decimals, read once at deployment.
    uint8 public immutable feedDecimals;

    /// @notice The feed reports more than 36 decimals.
    error UnsupportedDecimals(uint8 decimals);

    constructor(AggregatorV3Interface feed_) {
        uint8 d = feed_.decimals();
        if (d > 36) revert UnsupportedDecimals(d);
        feed = feed_;
        feedDecimals = d;
    }

    /// @inheritdoc IPriceOracle
    /// @dev answer·10^(18 − decimals), exact (reverts MulDivOverflow outside int256), or
    ///      ⌊answer / 10^(decimals − 18)⌋ (signed Floor) for feeds with more than 18 decimals. The
    ///      round's updatedAt is passed through; the engine checks the sign, bound and age.
    function latestPrice() external view returns (int256 priceWad, uint256 updatedAt) {
        int256 answer;
        (, answer,, updatedAt,) = feed.latestRoundData();
        uint8 d = feedDecimals;
        if (d <= 18) {
            priceWad = FixedPointMath.sMulDiv(answer, int256(10 ** (18 - d)), 1, FixedPointMath.Rounding.Floor);
        } else {
            priceWad = FixedPointMath.sDivRounded(answer, int256(10 ** (d - 18)), FixedPointMath.Rounding.Floor);
        }
    }
}
