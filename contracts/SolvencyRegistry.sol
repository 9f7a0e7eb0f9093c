// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {InclusionVerifier, IPoseidon4, IPoseidon5, IPoseidon6, IPoseidon11} from "./commit/InclusionVerifier.sol";
import {IEngineCheckpoints} from "./interfaces/IEngineCheckpoints.sol";

/// @notice The engine's options module (MarginEngine.optionsModule(); zero: none, set once).
interface IEngineOptionsModule {
    function optionsModule() external view returns (address);
}

/// @notice What a perp-only post reads of the options module: the options checkpoint taken with an engine
/// checkpoint (UnknownCheckpoint if none) and its open option positions.
interface IOptionsCheckpointPositions {
    function optionsCheckpointOf(uint256 engineCheckpointId) external view returns (uint256);
    function optionsCheckpointPositionCount(uint256 id) external view returns (uint256);
}

/// @notice pymargin's Groth16 batch verifier of SolvencyBatch (pymargin/zk/solidity.py): true iff every
/// proof is valid for its 4 public signals (publics[4i .. 4i + 3]), checked in one pairing call.
interface ISolvencyBatchVerifier {
    function verifyBatch(SolvencyRegistry.BatchProof[] calldata proofs, uint256[] calldata publics)
        external
        view
        returns (bool);
}

/// @title SolvencyRegistry
/// @notice Accepts an epoch's proof of solvency (docs/spec.md §7.5). An epoch is an engine checkpoint:
/// the operator posts the checkpoint's data (which must hash to the engine's checkpointHash), the
/// committed root (hash, L, Σmm), the published totals, the batch chain states and one Groth16 proof
/// per batch. The registry recomputes the statement (pymargin/zk/statement.py) with its OWN shape
/// (K, T, M), this chain, this registry, the engine, the checkpoint's market views and aggregates,
/// account count and Σ collateral — so a proof verifies only if the book's sums are the engine's —
/// checks that the vault's holdings that belong to users and the insurance fund cover L, verifies
/// all batches in one batched Groth16 check (public signals (ctx, k, state_k, state_{k+1}): ctx is
/// computed once, no hash per batch) and records the epoch's figures. An epoch too large for one
/// transaction is posted in parts (beginEpoch, then continueEpoch in batch order): each part's proofs
/// are verified against the ctx stored at the start and the chain state the previous part ended at,
/// and the epoch is recorded only when its last batch is in. Users check their inclusion with
/// verifyInclusionAt.
contract SolvencyRegistry is InclusionVerifier {
    /// @notice A Groth16 proof in the verifier's order (b's coordinates as [c1, c0]).
    struct BatchProof {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    /// @notice The figures a proof publishes about the book (WAD quote unless a count).
    struct Totals {
        uint256 liabilitiesWad; // L = Σ max(equity, 0) = the root's equity sum
        uint256 deficitWad; // Σ max(−equity, 0): unsettled bad debt
        uint256 belowMmCount; // accounts with equity < maintenance margin
        uint256 shortfallWad; // Σ max(mm − equity, 0)
        uint256 mmWad; // Σ maintenance margin = the root's mm sum
        uint256 imWad; // Σ initial margin
    }

    /// @notice What the registry records per epoch.
    struct EpochFigures {
        uint256 rootHash;
        Totals totals;
        uint256 accountCount; // the engine's, at the checkpoint
        int256 collateralWad; // Σ collateral, the engine's, at the checkpoint
        uint256 reservesWad; // vault balance − owner fees (max(accruedFees − badDebt, 0)) at the checkpoint
        uint256 insuranceFundWad;
        uint256 checkpointBlock;
        uint256 postedAt; // block timestamp of the post (0: no epoch)
    }

    /// @notice An epoch being posted in parts (checkpointId 0: none): the statement's ctx, the batches
    /// verified so far and the chain state the next part starts from (state_nextBatch).
    struct PendingEpoch {
        uint256 checkpointId;
        uint256 ctx;
        uint256 nextBatch;
        uint256 lastState;
    }

    error NotOperator(address caller);
    error ZeroOperator();
    error NotAContract(address account);
    error ShapeOutOfRange(uint256 batchLog2, uint256 batchCountLog2, uint256 circuitMarkets);
    error CircuitTooSmall(uint256 circuitMarkets, uint256 engineMaxMarkets);
    error EpochNotIncreasing(uint256 epoch, uint256 lastEpoch);
    error CheckpointIdMismatch(uint256 epoch, uint256 checkpointId);
    error CheckpointDataMismatch(uint256 checkpointId);
    error TooManyMarkets(uint256 markets, uint256 circuitMarkets);
    error AggregateCountMismatch(uint256 markets, uint256 aggregates);
    error OffsetOutOfRange(int256 value, uint256 offset);
    error WrongBatchCount(uint256 proofs, uint256 states, uint256 expectedBatches);
    error RootTotalsMismatch(uint256 rootEquity, uint256 rootMm, uint256 liabilitiesWad, uint256 mmWad);
    error InsufficientReserves(uint256 reservesWad, uint256 liabilitiesWad);
    error InvalidBatchProofs();
    error UnknownEpoch(uint256 epoch);
    error WrongPartSize(uint256 proofs, uint256 states, uint256 remainingBatches);
    error EpochNotPending(uint256 epoch, uint256 pendingEpoch);
    error BatchOutOfOrder(uint256 firstBatch, uint256 nextBatch);
    error StateChainBroken(uint256 stateIn, uint256 lastState);
    error OptionsBookRequired(uint256 epoch);

    event EpochPosted(uint256 indexed epoch, EpochFigures figures, uint256 batches);
    event EpochPartPosted(uint256 indexed epoch, uint256 firstBatch, uint256 batches);
    event EpochDiscarded(uint256 indexed epoch, uint256 batchesPosted);

    /// @notice Position slots per account (the statement's MAX_POSITIONS).
    uint256 public constant MAX_POSITIONS = 4;
    /// @notice Market slots a registry accepts at most (bounds postEpoch's gas).
    uint256 public constant MAX_CIRCUIT_MARKETS = 64;
    uint256 internal constant SUM_OFFSET = 1 << 200; // cost basis and collateral sums
    uint256 internal constant SIZE_FUNDING_OFFSET = 1 << 240; // Σ size · f

    /// @notice circomlibjs's 4- and 5-input hashers of the statement (the node's 6 and the leaf's 11 are InclusionVerifier's).
    IPoseidon4 public immutable poseidon4;
    IPoseidon5 public immutable poseidon5;
    ISolvencyBatchVerifier public immutable verifier;
    IEngineCheckpoints public immutable engine;
    address public immutable operator;
    /// @notice log2 of the accounts per batch (the circuit's K).
    uint256 public immutable batchLog2;
    /// @notice log2 of the batches per epoch (the circuit's T).
    uint256 public immutable batchCountLog2;
    /// @notice Market slots of the circuit (M ≥ engine.MAX_MARKETS()).
    uint256 public immutable circuitMarkets;
    /// @notice Depth of every committed tree: K + T.
    uint256 public immutable treeDepth;
    /// @notice Poseidon_4(K, T, M, MAX_POSITIONS).
    uint256 public immutable shapeHash;

    /// @notice The last epoch posted (a checkpoint id; 0: none yet).
    uint256 public lastEpoch;
    /// @notice The epoch being posted in parts, if any (always > lastEpoch).
    PendingEpoch public pendingEpoch;
    /// @dev Posted epochs, and the pending epoch's figures with postedAt = 0 (reads say UnknownEpoch).
    mapping(uint256 epoch => EpochFigures) internal _epochs;

    /// @dev Refuses a shape the circuit cannot have (depth K + T in 1..32, M in 1..64), a circuit
    /// with fewer market slots than the engine can ever have, a zero operator, and an engine,
    /// verifier or hasher without code.
    constructor(
        IPoseidon4 poseidon4_,
        IPoseidon5 poseidon5_,
        IPoseidon6 poseidon6_,
        IPoseidon11 poseidon11_,
        ISolvencyBatchVerifier verifier_,
        IEngineCheckpoints engine_,
        address operator_,
        uint256 batchLog2_,
        uint256 batchCountLog2_,
        uint256 circuitMarkets_
    ) InclusionVerifier(poseidon6_, poseidon11_) {
        if (operator_ == address(0)) revert ZeroOperator();
        _requireCode(address(poseidon4_));
        _requireCode(address(poseidon5_));
        _requireCode(address(poseidon6_));
        _requireCode(address(poseidon11_));
        _requireCode(address(verifier_));
        _requireCode(address(engine_));
        if (
            batchLog2_ > MAX_DEPTH || batchCountLog2_ > MAX_DEPTH || batchLog2_ + batchCountLog2_ == 0
                || batchLog2_ + batchCountLog2_ > MAX_DEPTH || circuitMarkets_ == 0
                || circuitMarkets_ > MAX_CIRCUIT_MARKETS
        ) revert ShapeOutOfRange(batchLog2_, batchCountLog2_, circuitMarkets_);
        uint256 engineMax = engine_.MAX_MARKETS();
        if (circuitMarkets_ < engineMax) revert CircuitTooSmall(circuitMarkets_, engineMax);
        poseidon4 = poseidon4_;
        poseidon5 = poseidon5_;
        verifier = verifier_;
        engine = engine_;
        operator = operator_;
        batchLog2 = batchLog2_;
        batchCountLog2 = batchCountLog2_;
        circuitMarkets = circuitMarkets_;
        treeDepth = batchLog2_ + batchCountLog2_;
        shapeHash = poseidon4_.poseidon([batchLog2_, batchCountLog2_, circuitMarkets_, MAX_POSITIONS]);
    }

    // ------------------------------------------------------------------------------------------
    // The statement (pymargin/zk/statement.py, spec §7.3)
    // ------------------------------------------------------------------------------------------

    /// @notice ctx = Poseidon_4(metaHash, marketsHash, rootHash, totalsHash) of checkpoint `cp`, with
    /// this registry's shape, chain id and address, and the engine's address.
    function contextHash(IEngineCheckpoints.CheckpointData calldata cp, Node calldata root, Totals calldata totals)
        public
        view
        returns (uint256)
    {
        uint256 meta = _metaHash(cp);
        return poseidon4.poseidon([meta, _marketsHash(cp.markets), root.hash, _totalsHash(cp, totals)]);
    }

    /// @dev Poseidon_6(shapeHash, chainId, registry, engine, checkpointId, marketCount); TooManyMarkets,
    /// AggregateCountMismatch.
    function _metaHash(IEngineCheckpoints.CheckpointData calldata cp) internal view returns (uint256) {
        if (cp.markets.length > circuitMarkets) revert TooManyMarkets(cp.markets.length, circuitMarkets);
        if (cp.aggregates.length != cp.markets.length) {
            revert AggregateCountMismatch(cp.markets.length, cp.aggregates.length);
        }
        return poseidon6.poseidon(
            [shapeHash, block.chainid, uint256(uint160(address(this))), uint256(uint160(address(engine))), cp.id, cp.markets.length]
        );
    }

    /// @notice The public signals of the batches firstBatch, firstBatch + 1, …, one per chain step:
    /// (ctx, firstBatch + i, states[i], states[i + 1]).
    function batchPublicSignals(uint256 ctx, uint256 firstBatch, uint256[] calldata states)
        public
        pure
        returns (uint256[] memory publics)
    {
        uint256 batches = states.length == 0 ? 0 : states.length - 1;
        publics = new uint256[](4 * batches);
        for (uint256 i = 0; i < batches; ++i) {
            publics[4 * i] = ctx;
            publics[4 * i + 1] = firstBatch + i;
            publics[4 * i + 2] = states[i];
            publics[4 * i + 3] = states[i + 1];
        }
    }

    /// @dev m_M: m_{j+1} = Poseidon_5(m_j, price, F + 2^100, imf, mmf); zero views past the engine's markets.
    function _marketsHash(IEngineCheckpoints.MarketSnapshot[] calldata markets) internal view returns (uint256 acc) {
        for (uint256 j = 0; j < circuitMarkets; ++j) {
            if (j < markets.length) {
                IEngineCheckpoints.MarketSnapshot calldata v = markets[j];
                uint256 funding = _offset(v.fundingIndexWad, FUNDING_INDEX_BOUND);
                acc = poseidon5.poseidon([acc, v.priceWad, funding, v.imfWad, v.mmfWad]);
            } else {
                acc = poseidon5.poseidon([acc, 0, FUNDING_INDEX_BOUND, 0, 0]);
            }
        }
    }

    /// @dev g_M: g_{j+1} = Poseidon_5(g_j, long, short = long, cost + 2^200, size·f + 2^240); zero past the markets.
    function _aggregatesHash(IEngineCheckpoints.MarketAggregate[] calldata aggregates) internal view returns (uint256 acc) {
        for (uint256 j = 0; j < circuitMarkets; ++j) {
            if (j < aggregates.length) {
                IEngineCheckpoints.MarketAggregate calldata a = aggregates[j];
                uint256 cost = _offset(a.costBasisWad, SUM_OFFSET);
                uint256 sizeFunding = _offset(a.sizeFundingWad2, SIZE_FUNDING_OFFSET);
                acc = poseidon5.poseidon([acc, a.longSizeWad, a.longSizeWad, cost, sizeFunding]);
            } else {
                acc = poseidon5.poseidon([acc, 0, 0, SUM_OFFSET, SIZE_FUNDING_OFFSET]);
            }
        }
    }

    /// @dev Poseidon_4(Poseidon_6(L, deficit, belowMmCount, shortfall, Σmm, Σim), accountCount, Σcollateral + 2^200, g_M).
    function _totalsHash(IEngineCheckpoints.CheckpointData calldata cp, Totals calldata t) private view returns (uint256) {
        uint256 collateral = _offset(cp.collateralSumWad, SUM_OFFSET);
        return poseidon4.poseidon([_figuresHash(t), cp.accountCount, collateral, _aggregatesHash(cp.aggregates)]);
    }

    /// @dev Poseidon_6(L, deficit, belowMmCount, shortfall, Σmm, Σim).
    function _figuresHash(Totals calldata t) internal view returns (uint256) {
        return poseidon6.poseidon([t.liabilitiesWad, t.deficitWad, t.belowMmCount, t.shortfallWad, t.mmWad, t.imWad]);
    }

    /// @dev x + offset for −offset < x < offset (offset ≤ 2^240), else OffsetOutOfRange.
    function _offset(int256 x, uint256 offset) internal pure returns (uint256) {
        if (x >= int256(offset) || x <= -int256(offset)) revert OffsetOutOfRange(x, offset);
        return uint256(x + int256(offset));
    }

    // ------------------------------------------------------------------------------------------
    // Posting
    // ------------------------------------------------------------------------------------------

    /// @notice Post the epoch of engine checkpoint `checkpointId` (> the last epoch) in one transaction:
    /// the checkpoint's data, root (hash, L, Σmm), totals, chain states (2^T + 1) and one proof per batch
    /// (2^T, in order). Checks, in order (spec §7.5): operator, epoch order, checkpoint id and data, batch
    /// count, field and sum ranges, root sums = totals, reserves ≥ L, the statement, all proofs in one
    /// check. Discards a pending epoch (EpochDiscarded).
    function postEpoch(
        uint256 checkpointId,
        IEngineCheckpoints.CheckpointData calldata cp,
        Node calldata root,
        Totals calldata totals,
        uint256[] calldata states,
        BatchProof[] calldata proofs
    ) external {
        EpochFigures memory figures = _checkEpoch(checkpointId, cp, root, totals, states, proofs.length, true);
        _requireNoOptionsHeld(checkpointId);
        _verifyPart(verifier, contextHash(cp, root, totals), 0, states, proofs);
        _discardPending();
        _record(checkpointId, figures);
    }

    /// @notice Start posting the epoch of checkpoint `checkpointId` in parts: the checks of postEpoch, with
    /// the first part's chain states (batches + 1) and proofs (batches 0 … batches − 1, 1 ≤ batches ≤ 2^T)
    /// in place of all of them. Replaces a pending epoch (EpochDiscarded: its parts are forgotten). The
    /// epoch stays unreadable (UnknownEpoch) until continueEpoch posts its last batch; a part of all 2^T
    /// batches records it at once.
    function beginEpoch(
        uint256 checkpointId,
        IEngineCheckpoints.CheckpointData calldata cp,
        Node calldata root,
        Totals calldata totals,
        uint256[] calldata states,
        BatchProof[] calldata proofs
    ) external {
        EpochFigures memory figures = _checkEpoch(checkpointId, cp, root, totals, states, proofs.length, false);
        _requireNoOptionsHeld(checkpointId);
        _begin(checkpointId, figures, contextHash(cp, root, totals), verifier, states, proofs);
    }

    /// @dev beginEpoch after its checks: verify the first part under `ctx` with `verifier_`, replace a pending
    /// epoch, and record the epoch (all batches) or store it as pending.
    function _begin(
        uint256 checkpointId,
        EpochFigures memory figures,
        uint256 ctx,
        ISolvencyBatchVerifier verifier_,
        uint256[] calldata states,
        BatchProof[] calldata proofs
    ) internal {
        _verifyPart(verifier_, ctx, 0, states, proofs);
        _discardPending();
        emit EpochPartPosted(checkpointId, 0, proofs.length);
        if (proofs.length == 1 << batchCountLog2) {
            _record(checkpointId, figures);
        } else {
            _epochs[checkpointId] = figures; // postedAt = 0: not an epoch yet
            pendingEpoch = PendingEpoch(checkpointId, ctx, proofs.length, states[proofs.length]);
        }
    }

    /// @dev With an options module on the engine, a perp-only statement covers checkpoint `checkpointId` only if
    /// it was taken through the module (else the module's UnknownCheckpoint) with no open option position; else
    /// OptionsBookRequired(epoch): the value and margin of its options would be left out (OptionsSolvencyRegistry
    /// posts such epochs).
    function _requireNoOptionsHeld(uint256 checkpointId) internal view {
        address module = IEngineOptionsModule(address(engine)).optionsModule();
        if (module == address(0)) return;
        IOptionsCheckpointPositions options = IOptionsCheckpointPositions(module);
        if (options.optionsCheckpointPositionCount(options.optionsCheckpointOf(checkpointId)) != 0) {
            revert OptionsBookRequired(checkpointId);
        }
    }

    /// @dev The verifier of the pending epoch `checkpointId`'s later parts (this registry: always `verifier`).
    function _partVerifier(uint256) internal view virtual returns (ISolvencyBatchVerifier) {
        return verifier;
    }

    /// @notice Post the next part of the pending epoch `checkpointId`: batches firstBatch … firstBatch +
    /// proofs − 1 (firstBatch = the batches posted so far), chain states from the one the last part ended
    /// at. Checks, in order: operator, EpochNotPending(checkpointId, pending id), BatchOutOfOrder(firstBatch,
    /// next batch), WrongPartSize(proofs, states, batches left), StateChainBroken(states[0], last state),
    /// NotAFieldElement for each state, then the proofs against the stored ctx (InvalidBatchProofs). The
    /// part with the last batch records the epoch as postEpoch does (EpochPosted).
    function continueEpoch(uint256 checkpointId, uint256 firstBatch, uint256[] calldata states, BatchProof[] calldata proofs)
        external
    {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        PendingEpoch memory pending = pendingEpoch;
        if (pending.checkpointId == 0 || pending.checkpointId != checkpointId) {
            revert EpochNotPending(checkpointId, pending.checkpointId);
        }
        if (firstBatch != pending.nextBatch) revert BatchOutOfOrder(firstBatch, pending.nextBatch);
        uint256 batches = 1 << batchCountLog2;
        _checkPartSize(proofs.length, states.length, batches - firstBatch);
        if (states[0] != pending.lastState) revert StateChainBroken(states[0], pending.lastState);
        _checkStates(states);
        _verifyPart(_partVerifier(checkpointId), pending.ctx, firstBatch, states, proofs);
        emit EpochPartPosted(checkpointId, firstBatch, proofs.length);
        uint256 next = firstBatch + proofs.length;
        if (next == batches) {
            delete pendingEpoch;
            EpochFigures memory figures = _epochs[checkpointId];
            _record(checkpointId, figures);
        } else {
            pendingEpoch.nextBatch = next;
            pendingEpoch.lastState = states[proofs.length];
        }
    }

    /// @dev postEpoch's and beginEpoch's checks 1–7 (spec §7.5, in order; `whole`: all 2^T batches, else a first
    /// part); returns the figures to record (postedAt 0). The caller computes the statement.
    function _checkEpoch(
        uint256 checkpointId,
        IEngineCheckpoints.CheckpointData calldata cp,
        Node calldata root,
        Totals calldata totals,
        uint256[] calldata states,
        uint256 proofs,
        bool whole
    ) internal view returns (EpochFigures memory figures) {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        if (checkpointId <= lastEpoch) revert EpochNotIncreasing(checkpointId, lastEpoch);
        if (cp.id != checkpointId) revert CheckpointIdMismatch(checkpointId, cp.id);
        if (keccak256(abi.encode(cp)) != engine.checkpointHash(checkpointId)) revert CheckpointDataMismatch(checkpointId);
        uint256 batches = 1 << batchCountLog2;
        if (!whole) {
            _checkPartSize(proofs, states.length, batches);
        } else if (proofs != batches || states.length != batches + 1) {
            revert WrongBatchCount(proofs, states.length, batches);
        }
        _checkRanges(root, totals);
        _checkStates(states);
        if (root.equity != totals.liabilitiesWad || root.mm != totals.mmWad) {
            revert RootTotalsMismatch(root.equity, root.mm, totals.liabilitiesWad, totals.mmWad);
        }
        uint256 reserves = userReservesWad(cp);
        if (reserves < totals.liabilitiesWad) revert InsufficientReserves(reserves, totals.liabilitiesWad);
        figures = EpochFigures(
            root.hash, totals, cp.accountCount, cp.collateralSumWad, reserves, cp.insuranceFundWad, cp.blockNumber, 0
        );
    }

    /// @dev WrongPartSize unless 1 ≤ proofs ≤ remainingBatches and states = proofs + 1.
    function _checkPartSize(uint256 proofs, uint256 states, uint256 remainingBatches) private pure {
        if (proofs == 0 || proofs > remainingBatches || states != proofs + 1) {
            revert WrongPartSize(proofs, states, remainingBatches);
        }
    }

    /// @dev InvalidBatchProofs unless `verifier_` accepts every proof of batches firstBatch, … under ctx.
    function _verifyPart(
        ISolvencyBatchVerifier verifier_,
        uint256 ctx,
        uint256 firstBatch,
        uint256[] calldata states,
        BatchProof[] calldata proofs
    ) internal view {
        if (!verifier_.verifyBatch(proofs, batchPublicSignals(ctx, firstBatch, states))) revert InvalidBatchProofs();
    }

    /// @dev Forget the pending epoch, if any, and its stored figures (EpochDiscarded).
    function _discardPending() internal {
        PendingEpoch memory pending = pendingEpoch;
        if (pending.checkpointId == 0) return;
        delete _epochs[pending.checkpointId];
        delete pendingEpoch;
        emit EpochDiscarded(pending.checkpointId, pending.nextBatch);
    }

    /// @dev Record `figures` as epoch `checkpointId`, posted now (EpochPosted).
    function _record(uint256 checkpointId, EpochFigures memory figures) internal {
        figures.postedAt = block.timestamp;
        _epochs[checkpointId] = figures;
        lastEpoch = checkpointId;
        emit EpochPosted(checkpointId, figures, 1 << batchCountLog2);
    }

    /// @notice The vault's holdings that belong to users and the insurance fund at the checkpoint:
    /// vaultBalance − max(accruedFees − badDebt, 0), or 0 if the fees owed exceed the balance.
    function userReservesWad(IEngineCheckpoints.CheckpointData calldata cp) public pure returns (uint256) {
        uint256 ownerFees = cp.accruedFeesWad > cp.badDebtWad ? cp.accruedFeesWad - cp.badDebtWad : 0;
        return cp.vaultBalanceWad > ownerFees ? cp.vaultBalanceWad - ownerFees : 0;
    }

    /// @dev Root hash < p (NotAFieldElement); every sum < 2^172 (SumOutOfRange): root's, then the totals in field order.
    function _checkRanges(Node calldata root, Totals calldata t) private pure {
        if (root.hash >= FIELD_MODULUS) revert NotAFieldElement(root.hash);
        if (root.equity >= SUM_BOUND) revert SumOutOfRange(root.equity);
        if (root.mm >= SUM_BOUND) revert SumOutOfRange(root.mm);
        uint256[6] memory sums = [t.liabilitiesWad, t.deficitWad, t.belowMmCount, t.shortfallWad, t.mmWad, t.imWad];
        for (uint256 i = 0; i < 6; ++i) {
            if (sums[i] >= SUM_BOUND) revert SumOutOfRange(sums[i]);
        }
    }

    /// @dev Every chain state < p (NotAFieldElement), in order.
    function _checkStates(uint256[] calldata states) private pure {
        for (uint256 i = 0; i < states.length; ++i) {
            if (states[i] >= FIELD_MODULUS) revert NotAFieldElement(states[i]);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Views for users
    // ------------------------------------------------------------------------------------------

    /// @notice Everything recorded for `epoch`; reverts UnknownEpoch if it was never posted.
    function epochFigures(uint256 epoch) public view returns (EpochFigures memory figures) {
        figures = _epochs[epoch];
        if (figures.postedAt == 0) revert UnknownEpoch(epoch);
    }

    /// @notice The root posted for `epoch`: (hash, L, Σmm); reverts UnknownEpoch.
    function rootOf(uint256 epoch) public view returns (Node memory) {
        EpochFigures memory e = epochFigures(epoch);
        return Node(e.rootHash, e.totals.liabilitiesWad, e.totals.mmWad);
    }

    /// @notice True iff the account's leaf, with its sums (max(equity, 0), mm), is at `index` under the
    /// root posted for `epoch` (hash and both sums); reverts UnknownEpoch, or on malformed input like computeRoot.
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

    function _requireCode(address account) internal view {
        if (account.code.length == 0) revert NotAContract(account);
    }
}
