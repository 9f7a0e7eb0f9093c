// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {FixedPointMath} from "../FixedPointMath.sol";

/// @title ChainlinkAdapter
/// @notice Reads a Chainlink AggregatorV3 feed, checks the round (and, on an L2, the sequencer-uptime
///         feed) and reports the answer scaled to WAD (docs/spec.md §5.1). Mirrored by
///         pymargin.engine.oracles.ChainlinkAdapter.
contract ChainlinkAdapter is IPriceOracle {
    /// @notice The Chainlink feed read.
    AggregatorV3Interface public immutable feed;
    /// @notice The feed's decimals, read once at deployment.
    uint8 public immutable feedDecimals;
    /// @notice An answer older than this (seconds) is stale (the feed's heartbeat plus a margin).
    uint256 public immutable maxAnswerAgeS;
    /// @notice The L2 sequencer-uptime feed (answer 0 = up, 1 = down), or the zero address for none.
    AggregatorV3Interface public immutable sequencerFeed;
    /// @notice Seconds after the sequencer comes back up during which prices are refused.
    uint256 public immutable gracePeriodS;

    /// @notice The feed reports more than 36 decimals.
    error UnsupportedDecimals(uint8 decimals);
    /// @notice maxAnswerAgeS is zero.
    error ZeroMaxAnswerAge();
    /// @notice The answer is zero or negative.
    error NonPositiveAnswer(int256 answer);
    /// @notice The answer was carried over from an earlier round (answeredInRound < roundId).
    error StaleRound(uint80 roundId, uint80 answeredInRound);
    /// @notice updatedAt is zero (round not complete) or later than the block.
    error InvalidUpdatedAt(uint256 updatedAt, uint256 nowS);
    /// @notice now − updatedAt > maxAnswerAgeS.
    error StaleAnswer(uint256 updatedAt, uint256 nowS, uint256 maxAnswerAgeS);
    /// @notice The sequencer-uptime feed reports the sequencer down (status ≠ 0).
    error SequencerDown(int256 status);
    /// @notice The sequencer came up at startedAt and the grace period has not passed (or startedAt is 0).
    error SequencerGracePeriod(uint256 startedAt, uint256 nowS);

    /// @param feed_ the price feed; its decimals must be ≤ 36 (UnsupportedDecimals).
    /// @param maxAnswerAgeS_ > 0 (ZeroMaxAnswerAge).
    /// @param sequencerFeed_ the sequencer-uptime feed, or address(0) on an L1.
    /// @param gracePeriodS_ seconds refused after the sequencer restarts (ignored without a sequencer feed).
    constructor(
        AggregatorV3Interface feed_,
        uint256 maxAnswerAgeS_,
        AggregatorV3Interface sequencerFeed_,
        uint256 gracePeriodS_
    ) {
        uint8 d = feed_.decimals();
        if (d > 36) revert UnsupportedDecimals(d);
        if (maxAnswerAgeS_ == 0) revert ZeroMaxAnswerAge();
        feed = feed_;
        feedDecimals = d;
        maxAnswerAgeS = maxAnswerAgeS_;
        sequencerFeed = sequencerFeed_;
        gracePeriodS = gracePeriodS_;
    }

    /// @inheritdoc IPriceOracle
    /// @dev Checks, in order: sequencer (if set) SequencerDown unless status = 0, SequencerGracePeriod
    ///      unless startedAt > 0 and now > startedAt + gracePeriodS; then the round: NonPositiveAnswer
    ///      unless answer > 0, StaleRound if answeredInRound < roundId, InvalidUpdatedAt unless
    ///      0 < updatedAt ≤ now, StaleAnswer if now − updatedAt > maxAnswerAgeS. Then scales:
    ///      answer·10^(18 − decimals), exact (MulDivOverflow outside int256), or
    ///      ⌊answer / 10^(decimals − 18)⌋ (Floor) for feeds with more than 18 decimals.
    function latestPrice() external view returns (int256 priceWad, uint256 updatedAt) {
        if (address(sequencerFeed) != address(0)) {
            (, int256 status, uint256 startedAt,,) = sequencerFeed.latestRoundData();
            if (status != 0) revert SequencerDown(status);
            if (startedAt == 0 || block.timestamp <= startedAt + gracePeriodS) {
                revert SequencerGracePeriod(startedAt, block.timestamp);
            }
        }
        (uint80 roundId, int256 answer,, uint256 updatedAt_, uint80 answeredInRound) = feed.latestRoundData();
        if (answer <= 0) revert NonPositiveAnswer(answer);
        if (answeredInRound < roundId) revert StaleRound(roundId, answeredInRound);
        if (updatedAt_ == 0 || updatedAt_ > block.timestamp) revert InvalidUpdatedAt(updatedAt_, block.timestamp);
        if (block.timestamp - updatedAt_ > maxAnswerAgeS) {
            revert StaleAnswer(updatedAt_, block.timestamp, maxAnswerAgeS);
        }
        updatedAt = updatedAt_;
        uint8 d = feedDecimals;
        if (d <= 18) {
            priceWad = FixedPointMath.sMulDiv(answer, int256(10 ** (18 - d)), 1, FixedPointMath.Rounding.Floor);
        } else {
            priceWad = FixedPointMath.sDivRounded(answer, int256(10 ** (d - 18)), FixedPointMath.Rounding.Floor);
        }
    }
}
