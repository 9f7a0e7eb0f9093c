// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IPoseidon4, IPoseidon5, IPoseidon6, IPoseidon11} from "./commit/InclusionVerifier.sol";
import {IEngineCheckpoints} from "./interfaces/IEngineCheckpoints.sol";
import {IOptionsCheckpoints} from "./interfaces/IOptionsCheckpoints.sol";
import {OptionsStatement} from "./OptionsStatement.sol";
import {IEngineOptionsModule, ISolvencyBatchVerifier, SolvencyRegistry} from "./SolvencyRegistry.sol";

/// @title OptionsSolvencyRegistry
/// @notice A SolvencyRegistry that also accepts epochs over a book with options (docs/spec.md §7.5, §7.9):
/// the operator posts, besides the engine checkpoint's data, the options checkpoint's data taken with it, which
/// must hash to the engine's options module's optionsCheckpointHash(optionsCheckpointOf(epoch)); the registry
/// recomputes the option tables' optionsHash and the per-row (long, short) sums' hash from that data
/// (OptionsStatement) and verifies SolvencyBatch(K, M, T, U, R, P) proofs against
/// ctx' = Poseidon_5(metaHash, marketsHash, rootHash, totalsHash', optionsHash). Perp-only epochs post as in
/// SolvencyRegistry (refused once the engine has an options module).
contract OptionsSolvencyRegistry is SolvencyRegistry {
    error NoOptionsModule();
    error OptionsCheckpointDataMismatch(uint256 checkpointId);

    /// @notice The Groth16 batch verifier of SolvencyBatch(K, M, T, U, R, P).
    ISolvencyBatchVerifier public immutable optionsVerifier;
    /// @notice Computes the options part of the statement for the circuit's U, R, P.
    OptionsStatement public immutable optionsStatement;

    /// @dev Epochs begun with options (their later parts verify with optionsVerifier).
    mapping(uint256 epoch => bool) private _withOptions;

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
        uint256 circuitMarkets_,
        ISolvencyBatchVerifier optionsVerifier_,
        OptionsStatement optionsStatement_
    ) SolvencyRegistry(poseidon4_, poseidon5_, poseidon6_, poseidon11_, verifier_, engine_, operator_, batchLog2_, batchCountLog2_, circuitMarkets_) {
        _requireCode(address(optionsVerifier_));
        _requireCode(address(optionsStatement_));
        optionsVerifier = optionsVerifier_;
        optionsStatement = optionsStatement_;
    }

    /// @notice ctx' = Poseidon_5(metaHash, marketsHash, rootHash, totalsHash', optionsHash) with totalsHash' =
    /// Poseidon_5(figures, accountCount, Σcollateral + 2^200, aggHash, seriesAggHash) (spec §7.9). Reverts as
    /// contextHash, then as OptionsStatement.optionsHashes.
    function optionsContextHash(
        IEngineCheckpoints.CheckpointData calldata cp,
        IOptionsCheckpoints.OptionsCheckpointData calldata options,
        Node calldata root,
        Totals calldata totals
    ) public view returns (uint256) {
        uint256 meta = _metaHash(cp);
        uint256 markets = _marketsHash(cp.markets);
        uint256 collateral = _offset(cp.collateralSumWad, SUM_OFFSET);
        uint256 aggregates = _aggregatesHash(cp.aggregates);
        (uint256 optionsHash, uint256 seriesAgg) = optionsStatement.optionsHashes(options, cp.markets.length, circuitMarkets);
        uint256 totalsHash = poseidon5.poseidon([_figuresHash(totals), cp.accountCount, collateral, aggregates, seriesAgg]);
        return poseidon5.poseidon([meta, markets, root.hash, totalsHash, optionsHash]);
    }

    /// @notice postEpoch over a book with options: its checks 1–7, then the options checkpoint (NoOptionsModule;
    /// the module's UnknownCheckpoint(epoch) for an engine checkpoint taken without it;
    /// OptionsCheckpointDataMismatch(epoch) unless keccak256(abi.encode(options)) is its optionsCheckpointHash),
    /// the statement (optionsContextHash) and the proofs against optionsVerifier.
    function postEpochWithOptions(
        uint256 checkpointId,
        IEngineCheckpoints.CheckpointData calldata cp,
        IOptionsCheckpoints.OptionsCheckpointData calldata options,
        Node calldata root,
        Totals calldata totals,
        uint256[] calldata states,
        BatchProof[] calldata proofs
    ) external {
        EpochFigures memory figures = _checkEpoch(checkpointId, cp, root, totals, states, proofs.length, true);
        _checkOptionsCheckpoint(checkpointId, options);
        _verifyPart(optionsVerifier, optionsContextHash(cp, options, root, totals), 0, states, proofs);
        _discardPending();
        _record(checkpointId, figures);
    }

    /// @notice beginEpoch over a book with options: postEpochWithOptions' checks with a first part's states and
    /// proofs; continueEpoch posts the rest (verified with optionsVerifier).
    function beginEpochWithOptions(
        uint256 checkpointId,
        IEngineCheckpoints.CheckpointData calldata cp,
        IOptionsCheckpoints.OptionsCheckpointData calldata options,
        Node calldata root,
        Totals calldata totals,
        uint256[] calldata states,
        BatchProof[] calldata proofs
    ) external {
        EpochFigures memory figures = _checkEpoch(checkpointId, cp, root, totals, states, proofs.length, false);
        _checkOptionsCheckpoint(checkpointId, options);
        uint256 ctx = optionsContextHash(cp, options, root, totals);
        _withOptions[checkpointId] = true;
        _begin(checkpointId, figures, ctx, optionsVerifier, states, proofs);
    }

    /// @dev The options checkpoint taken with engine checkpoint `checkpointId` must be `options`.
    function _checkOptionsCheckpoint(uint256 checkpointId, IOptionsCheckpoints.OptionsCheckpointData calldata options)
        private
        view
    {
        address module = IEngineOptionsModule(address(engine)).optionsModule();
        if (module == address(0)) revert NoOptionsModule();
        IOptionsCheckpoints m = IOptionsCheckpoints(module);
        if (keccak256(abi.encode(options)) != m.optionsCheckpointHash(m.optionsCheckpointOf(checkpointId))) {
            revert OptionsCheckpointDataMismatch(checkpointId);
        }
    }

    function _partVerifier(uint256 checkpointId) internal view override returns (ISolvencyBatchVerifier) {
        return _withOptions[checkpointId] ? optionsVerifier : verifier;
    }
}
