// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title IEngineCheckpoints
/// @notice What the SolvencyRegistry reads of the margin engine (docs/spec.md §5.11, §7.5): the
/// circuit-size bound and the hash of each checkpoint. The structs have the engine's field order and
/// types, so keccak256(abi.encode(data)) here equals the engine's checkpointHash(id).
interface IEngineCheckpoints {
    /// @notice A market view as the circuit reads it (all WAD).
    struct MarketSnapshot {
        uint256 priceWad;
        int256 fundingIndexWad;
        uint256 imfWad;
        uint256 mmfWad;
    }

    /// @notice The engine's running sums over every account's position in one market.
    struct MarketAggregate {
        uint256 longSizeWad; // Σ max(size, 0) (= Σ max(−size, 0))
        int256 costBasisWad; // Σ cost basis
        int256 sizeFundingWad2; // Σ size · f, exact (WAD²)
    }

    /// @notice What engine.checkpoint() records (only its keccak256 is stored; the data is in the event).
    struct CheckpointData {
        uint256 id;
        uint256 blockNumber;
        uint256 timestamp;
        MarketSnapshot[] markets;
        MarketAggregate[] aggregates;
        uint256 accountCount;
        int256 collateralSumWad;
        uint256 vaultBalanceWad;
        uint256 accruedFeesWad;
        uint256 insuranceFundWad;
        uint256 badDebtWad;
    }

    /// @notice Markets the engine can ever have (addMarket refuses more).
    function MAX_MARKETS() external view returns (uint256);

    /// @notice keccak256(abi.encode(data)) of checkpoint `id`; reverts UnknownCheckpoint(id).
    function checkpointHash(uint256 id) external view returns (bytes32);
}
