// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title AggregatorV3Interface
/// @notice Chainlink's price feed interface (the part the adapter reads), as Chainlink publishes it.
interface AggregatorV3Interface {
    function decimals() external view returns (uint8);

    function description() external view returns (string memory);

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}
