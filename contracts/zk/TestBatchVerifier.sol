// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice Test stand-in for the SolvencyBatch Groth16 batch verifier: accepts a batch iff every proof's
/// four public signals were registered with `accept` (the proof points are ignored). Registry unit tests
/// use it to reach the checks after the proofs without proving; the end-to-end tests use the real
/// verifier and proofs.
contract TestBatchVerifier {
    struct Proof {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    mapping(bytes32 signals => bool) public accepted;

    function accept(uint256[4] calldata signals) external {
        accepted[keccak256(abi.encode(signals))] = true;
    }

    function verifyBatch(Proof[] calldata proofs, uint256[] calldata publics) external view returns (bool) {
        if (proofs.length == 0 || publics.length != 4 * proofs.length) return false;
        for (uint256 i = 0; i < proofs.length; ++i) {
            uint256[4] memory signals = [publics[4 * i], publics[4 * i + 1], publics[4 * i + 2], publics[4 * i + 3]];
            if (!accepted[keccak256(abi.encode(signals))]) return false;
        }
        return true;
    }
}
