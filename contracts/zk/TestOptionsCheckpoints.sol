// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IOptionsCheckpoints} from "../interfaces/IOptionsCheckpoints.sol";

/// @notice Test stand-in for the options module's checkpoint views the OptionsSolvencyRegistry reads: anyone
/// records an options checkpoint's data under its engine checkpoint (keccak256 stored, as OptionsEngine does).
/// The gas benchmark uses it beside TestEngineCheckpoints; the devnet tests use OptionsEngine.
contract TestOptionsCheckpoints is IOptionsCheckpoints {
    error UnknownCheckpoint(uint256 id);

    bytes32[] private _hashes;
    mapping(uint256 engineCheckpointId => uint256) private _of;

    /// @notice Store keccak256(abi.encode(data)) as the next options checkpoint, taken with data.engineCheckpointId.
    function record(OptionsCheckpointData calldata data) external {
        _hashes.push(keccak256(abi.encode(data)));
        _of[data.engineCheckpointId] = _hashes.length;
    }

    function optionsCheckpointOf(uint256 engineCheckpointId) external view returns (uint256 id) {
        id = _of[engineCheckpointId];
        if (id == 0) revert UnknownCheckpoint(engineCheckpointId);
    }

    function optionsCheckpointHash(uint256 id) external view returns (bytes32) {
        if (id == 0 || id > _hashes.length) revert UnknownCheckpoint(id);
        return _hashes[id - 1];
    }
}
