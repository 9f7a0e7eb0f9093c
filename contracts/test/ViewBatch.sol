// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title ViewBatch
/// @notice Runs many view calls against one contract in a single eth_call and returns each call's
///         success flag and return (or revert) data, so tests can compare every view of a contract
///         after every step without one RPC round trip per view.
contract ViewBatch {
    struct Result {
        bool success;
        bytes returnData;
    }

    /// @notice staticcall `target` with each of `calls` (ABI-encoded calldata), in order.
    function batch(address target, bytes[] calldata calls) external view returns (Result[] memory results) {
        results = new Result[](calls.length);
        for (uint256 i = 0; i < calls.length; ++i) {
            (bool ok, bytes memory data) = target.staticcall(calls[i]);
            results[i] = Result(ok, data);
        }
    }
}
