// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice Test stand-in for the SolvencyBatch Groth16 verifier: accepts a proof iff its public signal
/// was registered with `accept` (the proof points are ignored). Registry unit tests use it to reach the
/// checks after the proofs without proving; the end-to-end tests use the real verifier and proofs.
contract TestBatchVerifier {
    mapping(uint256 pub => bool) public accepted;

    function accept(uint256 pub) external {
        accepted[pub] = true;
    }

    function verifyProof(uint256[2] calldata, uint256[2][2] calldata, uint256[2] calldata, uint256[1] calldata pub)
        external
        view
        returns (bool)
    {
        return accepted[pub[0]];
    }
}
