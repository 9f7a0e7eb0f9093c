// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title IOptionsCheckpoints
/// @notice What the SolvencyRegistry reads of the options module (docs/spec.md §5.13 Checkpoint, §7.9). The
/// structs have OptionsEngine's field order and ABI types (its `kind` enum encodes as a uint8), so
/// keccak256(abi.encode(data)) here equals the module's optionsCheckpointHash(id).
interface IOptionsCheckpoints {
    /// @notice One series of the book at a checkpoint, with the module's aggregates.
    struct SeriesSnapshot {
        uint256 seriesId;
        uint256 underlyingId;
        uint8 kind; // RiskArrays.InstrumentKind: 0 perp, 1 call, 2 put
        uint256 strikeWad;
        uint256 expiry;
        uint256 priceWad;
        uint256 volWad;
        uint256 markedAt;
        int256[16] riskArray;
        uint256 somWad;
        uint256 valueWad;
        bool settled;
        uint256 longSizeWad;
        uint256 shortSizeWad;
    }

    /// @notice An engine market and the book's perp series it is mapped to.
    struct PerpMapping {
        uint256 marketId;
        uint256 seriesId;
    }

    /// @notice What OptionsEngine.checkpoint() records with the engine checkpoint `engineCheckpointId`.
    struct OptionsCheckpointData {
        uint256 engineCheckpointId;
        uint256 blockNumber;
        uint256 timestamp;
        SeriesSnapshot[] series;
        PerpMapping[] perps;
        uint256 imMultipleWad;
    }

    /// @notice The options checkpoint taken with engine checkpoint `engineCheckpointId` (UnknownCheckpoint if none).
    function optionsCheckpointOf(uint256 engineCheckpointId) external view returns (uint256);

    /// @notice keccak256(abi.encode(data)) of options checkpoint `id` (UnknownCheckpoint unless 1 ≤ id ≤ count).
    function optionsCheckpointHash(uint256 id) external view returns (bytes32);
}
