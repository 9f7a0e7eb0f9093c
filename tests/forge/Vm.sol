// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Vm
/// @notice The forge cheatcodes these tests use, declared here because forge-std is not on the npm
///         registry (docs: https://book.getfoundry.sh/cheatcodes/). Forge answers calls to VM_ADDRESS.
interface Vm {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    /// @notice Set block.timestamp.
    function warp(uint256 newTimestamp) external;
    /// @notice Make the next call come from `sender`.
    function prank(address sender) external;
    /// @notice The address of a secp256k1 private key.
    function addr(uint256 privateKey) external pure returns (address);
    /// @notice Sign a 32-byte digest with a private key (no prefix added).
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    /// @notice Start recording every event emitted from now on.
    function recordLogs() external;
    /// @notice The events recorded since recordLogs or the last getRecordedLogs (which clears them).
    function getRecordedLogs() external returns (Log[] memory logs);
    /// @notice Name an address in traces.
    function label(address account, string calldata newLabel) external;
    function toString(uint256 value) external pure returns (string memory);
    function toString(int256 value) external pure returns (string memory);
    function toString(address value) external pure returns (string memory);
}

/// @dev address(uint160(uint256(keccak256("hevm cheat code")))), where forge answers cheatcode calls.
address constant VM_ADDRESS = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D;

/// @dev Forge's FuzzSelector: which functions of a target contract the invariant fuzzer calls.
struct FuzzSelector {
    address addr;
    bytes4[] selectors;
}
