// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IEngineCheckpoints} from "../interfaces/IEngineCheckpoints.sol";

/// @notice Test stand-in for the margin engine's checkpoint views the SolvencyRegistry reads: anyone
/// records a checkpoint's data (its keccak256 is stored, as the engine does). Registry unit tests use it
/// to reach checks the real engine never triggers; the end-to-end tests use MarginEngine.
contract TestEngineCheckpoints is IEngineCheckpoints {
    error UnknownCheckpoint(uint256 id);

    uint256 public immutable MAX_MARKETS;
    /// @notice The engine's options module (zero until setOptionsModule).
    address public optionsModule;
    mapping(uint256 id => bytes32) private _hashes;

    constructor(uint256 maxMarkets) {
        MAX_MARKETS = maxMarkets;
    }

    /// @notice Store keccak256(abi.encode(data)) as checkpoint data.id.
    function record(CheckpointData calldata data) external {
        _hashes[data.id] = keccak256(abi.encode(data));
    }

    /// @notice Set the options module the registry reads (any caller, any time: a test stand-in).
    function setOptionsModule(address module) external {
        optionsModule = module;
    }

    function checkpointHash(uint256 id) external view returns (bytes32 digest) {
        digest = _hashes[id];
        if (digest == bytes32(0)) revert UnknownCheckpoint(id);
    }
}
