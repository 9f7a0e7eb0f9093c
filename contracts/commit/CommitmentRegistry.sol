// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {InclusionVerifier, IPoseidon6, IPoseidon11} from "./InclusionVerifier.sol";

/// @title CommitmentRegistry
/// @notice The owner (the operator) posts each epoch's root once: (root hash, total equity, total
/// maintenance margin). Anyone checks an account's inclusion against a posted root.
contract CommitmentRegistry is InclusionVerifier, Ownable {
    mapping(uint256 epoch => Node) private _roots;

    event RootPosted(uint256 indexed epoch, uint256 rootHash, uint256 totalEquity, uint256 totalMm);

    error UnknownEpoch(uint256 epoch);
    error EpochAlreadyPosted(uint256 epoch);
    error ZeroRoot();

    constructor(IPoseidon6 poseidon6_, IPoseidon11 poseidon11_, address owner_)
        InclusionVerifier(poseidon6_, poseidon11_)
        Ownable(owner_)
    {}

    /// @notice Record the root of `epoch` (once per epoch; a zero hash is not a root).
    function postRoot(uint256 epoch, Node calldata root) external onlyOwner {
        if (root.hash == 0) revert ZeroRoot();
        if (_roots[epoch].hash != 0) revert EpochAlreadyPosted(epoch);
        _roots[epoch] = root;
        emit RootPosted(epoch, root.hash, root.equity, root.mm);
    }

    /// @notice The root posted for `epoch`; reverts UnknownEpoch if none.
    function rootOf(uint256 epoch) public view returns (Node memory root) {
        root = _roots[epoch];
        if (root.hash == 0) revert UnknownEpoch(epoch);
    }

    /// @notice True iff the path from the leaf gives exactly the root posted for `epoch` (hash and
    /// both totals); reverts UnknownEpoch, or on malformed input like computeRoot.
    function verifyInclusionAt(
        uint256 epoch,
        Leaf calldata leaf,
        uint256 equity,
        uint256 mm,
        uint256 index,
        Node[] calldata siblings
    ) external view returns (bool) {
        Node memory posted = rootOf(epoch);
        Node memory root = computeRoot(leaf, equity, mm, index, siblings);
        return root.hash == posted.hash && root.equity == posted.equity && root.mm == posted.mm;
    }
}
