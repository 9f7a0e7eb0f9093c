// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";

/// @title MockAggregatorV3
/// @notice A Chainlink AggregatorV3 stand-in for devnets and tests: anyone sets the next round.
contract MockAggregatorV3 is AggregatorV3Interface {
    uint8 public immutable decimals;
    string public description;
    uint80 private _roundId;
    uint80 private _answeredInRound;
    int256 private _answer;
    uint256 private _startedAt;
    uint256 private _updatedAt;

    constructor(uint8 decimals_, string memory description_, int256 answer) {
        decimals = decimals_;
        description = description_;
        setRound(answer, block.timestamp);
    }

    /// @notice Start a new round with `answer` (feed decimals) reported at `updatedAt` (seconds).
    function setRound(int256 answer, uint256 updatedAt) public {
        setRoundData(_roundId + 1, answer, updatedAt, updatedAt, _roundId + 1);
    }

    /// @notice Set every field of the latest round (to test the adapter's round checks).
    function setRoundData(uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
        public
    {
        _roundId = roundId;
        _answer = answer;
        _startedAt = startedAt;
        _updatedAt = updatedAt;
        _answeredInRound = answeredInRound;
    }

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return (_roundId, _answer, _startedAt, _updatedAt, _answeredInRound);
    }
}
