// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {InclusionVerifier, IPoseidon4, IPoseidon5, IPoseidon6} from "./commit/InclusionVerifier.sol";

/// @notice The snarkjs Groth16 verifier of SolvencyBatch (one public signal).
interface ISolvencyBatchVerifier {
    function verifyProof(uint256[2] calldata a, uint256[2][2] calldata b, uint256[2] calldata c, uint256[1] calldata pub)
        external
        view
        returns (bool);
}

/// @notice The margin engine views the registry checks an epoch against.
interface IMarginEngineViews {
    function marketCount() external view returns (uint256);
    function marketView(uint256 marketId)
        external
        view
        returns (uint256 priceWad, int256 fundingIndexWad, uint256 imfWad, uint256 mmfWad);
    function reservesWad() external view returns (uint256);
}

/// @title SolvencyRegistry
/// @notice Accepts an epoch's proof of solvency (docs/spec.md §7): the operator posts the committed
/// root (hash, total equity = total liabilities, total maintenance margin), the market views the
/// book was valued at, the chain states and one Groth16 proof per batch. The registry checks that
/// the views are the engine's current ones, that the vault's reserves cover the liabilities, that
/// the chain of batches is complete, and every proof against a public hash that binds the epoch,
/// this chain and this registry; then it records the root. Users check inclusion of their own
/// account against a posted root (verifyInclusionAt).
contract SolvencyRegistry is InclusionVerifier {
    /// @notice A market view as the circuit reads it (all WAD).
    struct MarketSnapshot {
        uint256 priceWad;
        int256 fundingIndexWad;
        uint256 imfWad;
        uint256 mmfWad;
    }

    /// @notice A Groth16 proof in the verifier's order (b's coordinates as [c1, c0]).
    struct BatchProof {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    struct Epoch {
        uint256 rootHash;
        uint256 totalEquity;
        uint256 totalMm;
        uint256 reservesWad;
        uint256 postedAt;
    }

    error NotOperator(address caller);
    error EpochNotIncreasing(uint256 epoch, uint256 lastEpoch);
    error WrongMarketCount(uint256 given, uint256 engineCount);
    error TooManyMarkets(uint256 engineCount, uint256 circuitMarkets);
    error PriceMismatch(uint256 marketId);
    error WrongBatchCount(uint256 proofs, uint256 states, uint256 expectedBatches);
    error InsufficientReserves(uint256 reservesWad, uint256 liabilitiesWad);
    error InvalidBatchProof(uint256 batchIndex);
    error UnknownEpoch(uint256 epoch);

    event EpochPosted(
        uint256 indexed epoch, uint256 rootHash, uint256 totalEquity, uint256 totalMm, uint256 reservesWad, uint256 batches
    );

    uint256 internal constant FUNDING_OFFSET = 1 << 100;

    ISolvencyBatchVerifier public immutable verifier;
    IMarginEngineViews public immutable engine;
    address public immutable operator;
    /// @notice log2 of the accounts per batch (the circuit's K).
    uint256 public immutable batchLog2;
    /// @notice Market slots of the circuit (M); the engine may have fewer markets.
    uint256 public immutable circuitMarkets;
    /// @notice Depth of every committed tree (K + T of the circuit).
    uint256 public immutable treeDepth;

    uint256 public lastEpoch;
    bool public hasEpoch;
    mapping(uint256 => Epoch) public epochs;

    constructor(
        IPoseidon4 poseidon4_,
        IPoseidon5 poseidon5_,
        IPoseidon6 poseidon6_,
        ISolvencyBatchVerifier verifier_,
        IMarginEngineViews engine_,
        address operator_,
        uint256 batchLog2_,
        uint256 circuitMarkets_,
        uint256 treeDepth_
    ) InclusionVerifier(poseidon4_, poseidon5_, poseidon6_) {
        if (treeDepth_ < batchLog2_ || treeDepth_ == 0 || treeDepth_ > MAX_DEPTH) revert DepthOutOfRange(treeDepth_);
        verifier = verifier_;
        engine = engine_;
        operator = operator_;
        batchLog2 = batchLog2_;
        circuitMarkets = circuitMarkets_;
        treeDepth = treeDepth_;
    }

    /// @notice The market-views hash m_M: m_0 = 0, m_{j+1} = Poseidon_5(m_j, price, F + 2^100, imf, mmf),
    /// with empty markets (all 0) after the given ones up to the circuit's M.
    function marketsHash(MarketSnapshot[] calldata markets) public view returns (uint256 acc) {
        if (markets.length > circuitMarkets) revert TooManyMarkets(markets.length, circuitMarkets);
        for (uint256 j = 0; j < circuitMarkets; j++) {
            MarketSnapshot memory m = j < markets.length ? markets[j] : MarketSnapshot(0, 0, 0, 0);
            acc = poseidon5.poseidon([acc, m.priceWad, uint256(m.fundingIndexWad + int256(FUNDING_OFFSET)), m.imfWad, m.mmfWad]);
        }
    }

    /// @notice ctx = Poseidon_5(Poseidon_4(epoch, chainid, this, depth), marketsHash, root hash, total equity, total mm).
    function contextHash(uint256 epoch, Node calldata root, MarketSnapshot[] calldata markets) public view returns (uint256) {
        uint256 meta = poseidon4.poseidon([epoch, block.chainid, uint256(uint160(address(this))), treeDepth]);
        return poseidon5.poseidon([meta, marketsHash(markets), root.hash, root.equity, root.mm]);
    }

    /// @notice Public signal of batch `index`: Poseidon_4(ctx, index, state_in, state_out).
    function batchPublicHash(uint256 ctx, uint256 index, uint256 stateIn, uint256 stateOut) public view returns (uint256) {
        return poseidon4.poseidon([ctx, index, stateIn, stateOut]);
    }

    /// @notice Post epoch `epoch` (strictly after the last one): root, market views, chain states
    /// (batches + 1 of them) and one proof per batch (2^(treeDepth - batchLog2) batches, in order).
    function postEpoch(
        uint256 epoch,
        Node calldata root,
        MarketSnapshot[] calldata markets,
        uint256[] calldata states,
        BatchProof[] calldata proofs
    ) external {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        if (hasEpoch && epoch <= lastEpoch) revert EpochNotIncreasing(epoch, lastEpoch);
        _checkMarkets(markets);
        uint256 batches = 1 << (treeDepth - batchLog2);
        if (proofs.length != batches || states.length != batches + 1) {
            revert WrongBatchCount(proofs.length, states.length, batches);
        }
        if (root.hash >= FIELD_MODULUS) revert NotAFieldElement(root.hash);
        if (root.equity >= SUM_BOUND) revert SumOutOfRange(root.equity);
        if (root.mm >= SUM_BOUND) revert SumOutOfRange(root.mm);
        for (uint256 i = 0; i <= batches; i++) {
            if (states[i] >= FIELD_MODULUS) revert NotAFieldElement(states[i]);
        }
        uint256 reserves = engine.reservesWad();
        if (reserves < root.equity) revert InsufficientReserves(reserves, root.equity);

        uint256 ctx = contextHash(epoch, root, markets);
        for (uint256 i = 0; i < batches; i++) {
            uint256 pub = batchPublicHash(ctx, i, states[i], states[i + 1]);
            BatchProof calldata p = proofs[i];
            if (!verifier.verifyProof(p.a, p.b, p.c, [pub])) revert InvalidBatchProof(i);
        }

        epochs[epoch] = Epoch(root.hash, root.equity, root.mm, reserves, block.timestamp);
        lastEpoch = epoch;
        hasEpoch = true;
        emit EpochPosted(epoch, root.hash, root.equity, root.mm, reserves, batches);
    }

    /// @notice True iff the account's leaf, with its sums, is at `index` under the root posted for `epoch`.
    function verifyInclusionAt(
        uint256 epoch,
        Leaf calldata leaf,
        uint256 equity,
        uint256 mm,
        uint256 index,
        Node[] calldata siblings
    ) external view returns (bool) {
        Epoch storage e = epochs[epoch];
        if (e.postedAt == 0) revert UnknownEpoch(epoch);
        Node memory root = computeRoot(leaf, equity, mm, index, siblings);
        return root.hash == e.rootHash && root.equity == e.totalEquity && root.mm == e.totalMm;
    }

    function _checkMarkets(MarketSnapshot[] calldata markets) private view {
        uint256 count = engine.marketCount();
        if (count > circuitMarkets) revert TooManyMarkets(count, circuitMarkets);
        if (markets.length != count) revert WrongMarketCount(markets.length, count);
        for (uint256 j = 0; j < count; j++) {
            (uint256 price, int256 fundingIndex, uint256 imf, uint256 mmf) = engine.marketView(j);
            MarketSnapshot calldata m = markets[j];
            if (m.priceWad != price || m.fundingIndexWad != fundingIndex || m.imfWad != imf || m.mmfWad != mmf) {
                revert PriceMismatch(j);
            }
        }
    }
}
