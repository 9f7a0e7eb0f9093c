// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {InclusionVerifier, IPoseidon6, IPoseidon11} from "./InclusionVerifier.sol";

interface IPoseidon2 {
    function poseidon(uint256[2] memory input) external pure returns (uint256);
}

/// @notice A registry of posted roots (CommitmentRegistry, SolvencyRegistry): rootOf reverts for an unknown epoch.
interface IRootRegistry {
    function rootOf(uint256 epoch) external view returns (InclusionVerifier.Node memory);
}

/// @title OptionsInclusionVerifier
/// @notice Verifies that an options holder's leaf is in a registry's posted root (docs/spec.md §6.2, §6.5):
/// leaf' = Poseidon2(leaf, PoseidonP(o_0 .. o_{P-1})) with o_p = row_p * 2^95 + (size_p + 2^94), or the
/// plain leaf when every option size is 0. P is fixed at deployment with its circomlibjs hasher.
/// Mirrored in Python by pymargin.commit.leaf (Leaf.hash with option slots), with the same errors.
contract OptionsInclusionVerifier is InclusionVerifier {
    /// @notice An option slot: the series' row in the epoch's option tables and the size (WAD, signed).
    struct OptionSlot {
        uint256 row;
        int256 size;
    }

    error OptionSlotCount(uint256 count, uint256 expected);

    IPoseidon2 public immutable poseidon2;
    /// @notice circomlibjs's Poseidon(P) hasher, function poseidon(uint256[P]).
    address public immutable poseidonP;
    /// @notice P, the option slots of every leaf (1..8).
    uint256 public immutable optionSlots;
    IRootRegistry public immutable registry;
    bytes4 private immutable _poseidonPSelector;

    constructor(
        IPoseidon6 poseidon6_,
        IPoseidon11 poseidon11_,
        IPoseidon2 poseidon2_,
        address poseidonP_,
        uint256 optionSlots_,
        IRootRegistry registry_
    ) InclusionVerifier(poseidon6_, poseidon11_) {
        require(optionSlots_ >= 1 && optionSlots_ <= 8, "P must be in 1..8");
        poseidon2 = poseidon2_;
        poseidonP = poseidonP_;
        optionSlots = optionSlots_;
        registry = registry_;
        _poseidonPSelector =
            bytes4(keccak256(abi.encodePacked("poseidon(uint256[", bytes1(uint8(48 + optionSlots_)), "])")));
    }

    /// @notice leaf' of an account with option slots, after the leaf's bounds (as leafHash), the slot count
    /// (= P) and each slot's row (< 2^64) and size (|size| < 2^94), in that order.
    function optionsLeafHash(Leaf calldata leaf, OptionSlot[] calldata options) public view returns (uint256) {
        uint256 plain = leafHash(leaf);
        if (options.length != optionSlots) revert OptionSlotCount(options.length, optionSlots);
        uint256[] memory packed = new uint256[](options.length);
        bool holds;
        for (uint256 p; p < options.length; ++p) {
            OptionSlot calldata o = options[p];
            if (o.row >= MARKET_ID_BOUND) revert MarketIdOutOfRange(o.row);
            if (!_within(o.size, SIZE_BOUND)) revert SizeOutOfBounds(o.size);
            packed[p] = (o.row << 95) + uint256(o.size + int256(SIZE_BOUND));
            holds = holds || o.size != 0;
        }
        if (!holds) return plain;
        (bool ok, bytes memory out) = poseidonP.staticcall(abi.encodePacked(_poseidonPSelector, packed));
        require(ok && out.length == 32, "PoseidonP failed");
        return poseidon2.poseidon([plain, abi.decode(out, (uint256))]);
    }

    /// @notice The root reached from the options holder's leaf' (with its sums) at `index` through `siblings`;
    /// checks as InclusionVerifier.computeRoot (depth, index, then the leaf), then the option slots.
    function computeOptionsRoot(
        Leaf calldata leaf,
        OptionSlot[] calldata options,
        uint256 equity,
        uint256 mm,
        uint256 index,
        Node[] calldata siblings
    ) public view returns (Node memory) {
        _checkPath(index, siblings.length);
        return _pathRoot(Node(optionsLeafHash(leaf, options), equity, mm), index, siblings);
    }

    /// @notice True iff the path gives exactly the root the registry posted for `epoch` (hash and both
    /// totals); reverts as the registry's rootOf for an unknown epoch, or on malformed input.
    function verifyInclusionAt(
        uint256 epoch,
        Leaf calldata leaf,
        OptionSlot[] calldata options,
        uint256 equity,
        uint256 mm,
        uint256 index,
        Node[] calldata siblings
    ) external view returns (bool) {
        Node memory posted = registry.rootOf(epoch);
        Node memory root = computeOptionsRoot(leaf, options, equity, mm, index, siblings);
        return root.hash == posted.hash && root.equity == posted.equity && root.mm == posted.mm;
    }
}
