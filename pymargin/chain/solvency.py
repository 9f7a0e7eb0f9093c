"""Solvency proofs on a chain: the Groth16 verifiers (generate, compile, deploy, verify proofs there)
and the SolvencyRegistry (deploy, post an epoch against an engine checkpoint, read its figures).

The verifier sources are generated from the key (:mod:`pymargin.zk.solidity`: snarkjs's
single-proof ``Groth16Verifier`` and pymargin's ``Groth16BatchVerifier``, which the registry uses)
into ``<build>/verifiers/<circuit>-<key>-<setup>/src`` and compiled into the ``out`` folder beside
it, so generated code never lands in contracts/. Pairing transactions always carry explicit gas
(``VERIFY_GAS``, ``batch_verify_gas_limit``): with too little gas the pairing precompile fails and
the verifiers return false instead of reverting, so gas estimation cannot be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from pymargin.chain.commitments import HASHER_ARITIES, deploy_wide_poseidon, hasher_artifact, hasher_name, wide_poseidon_constants
from pymargin.chain.compile import compile_contracts
from pymargin.chain.contracts import Contract, contract_at, deploy_contract
from pymargin.chain.deploy import Deployer
from pymargin.chain.devnet import Chain
from pymargin.chain.tx import Signer, revert_data, send
from pymargin.commit.leaf import LEAF_ARITY
from pymargin.commit.tree import Node
from pymargin.engine.checkpoint import CheckpointData
from pymargin.engine.options_checkpoint import OptionsCheckpointData
from pymargin.errors import Revert
from pymargin.fixedpoint import WAD
from pymargin.zk.calldata import verify_batch_calldata, verify_proof_calldata
from pymargin.zk.circom import build_root
from pymargin.zk.proof import Proof
from pymargin.zk.setup import Keys
from pymargin.zk.solidity import write_batch_verifier, write_verifier
from pymargin.zk.solvency import EpochProof
from pymargin.model import FUNDING_INDEX_BOUND, MarketView
from pymargin.zk.options import checkpoint_series_sums, option_tables_from_checkpoint
from pymargin.zk.portfolio import PortfolioShape
from pymargin.zk.statement import (EMPTY_AGGREGATE, SIZE_FUNDING_OFFSET, SUM_OFFSET, MarketAggregate, OptionsPart, Shape,
                                   Statement, Totals, context_hash)

VERIFIER_CONTRACT = "Groth16Verifier"
BATCH_VERIFIER_CONTRACT = "Groth16BatchVerifier"
VERIFY_GAS = 500_000  # explicit gas for a verifyProof transaction (uses ~220k with one public signal)
DEPLOY_GAS = 2_000_000
BATCH_GAS_BASE = 400_000  # verifyBatch: 3 pairs (34k each), 45k, the IC multi-scalar product, headroom
BATCH_GAS_PER_PROOF = 100_000  # per proof: one pair (34k), two ecMul (6k each), calldata, hashing, headroom


def batch_verify_gas_limit(proofs: int) -> int:
    """Explicit gas for a call that batch-verifies ``proofs`` proofs (well above its use)."""
    return BATCH_GAS_BASE + BATCH_GAS_PER_PROOF * proofs


def verifier_artifacts(keys: Keys) -> Path:
    """Compile both verifiers of ``keys`` (sources regenerated, rewritten only if they changed); return their artifacts folder."""
    folder = build_root() / "verifiers" / f"{keys.circuit.name}-{keys.circuit.key}-{keys.setup_id}"
    write_verifier(keys.verifying_key(), folder / "src", VERIFIER_CONTRACT)
    write_batch_verifier(keys.verifying_key(), folder / "src", BATCH_VERIFIER_CONTRACT)
    compile_contracts(src_dir=folder / "src", out_dir=folder / "out", root=folder)
    return folder / "out"


def deploy_verifier(chain: Chain, keys: Keys, sender: Signer) -> tuple[Contract, int]:
    """Deploy the single-proof Groth16 verifier of ``keys``; return (contract, deployment gas used)."""
    contract, receipt = deploy_contract(chain, VERIFIER_CONTRACT, sender=sender, out_dir=verifier_artifacts(keys), gas=DEPLOY_GAS)
    return contract, receipt.gasUsed


def deploy_batch_verifier(chain: Chain, keys: Keys, sender: Signer) -> tuple[Contract, int]:
    """Deploy the Groth16 batch verifier of ``keys`` (the SolvencyRegistry's); return (contract, deployment gas used)."""
    contract, receipt = deploy_contract(chain, BATCH_VERIFIER_CONTRACT, sender=sender, out_dir=verifier_artifacts(keys), gas=DEPLOY_GAS)
    return contract, receipt.gasUsed


def verify_batch_onchain(verifier: Contract, proofs: list[Proof]) -> bool:
    """The deployed batch verifier's answer (an eth_call with explicit gas) for ``proofs``: true iff it
    returns the word 1; a revert is false."""
    call = {"to": verifier.address, "data": verify_batch_calldata(proofs), "gas": batch_verify_gas_limit(len(proofs))}
    try:
        out = bytes(verifier.chain.w3.eth.call(call))
    except Exception as exc:
        if revert_data(exc) is None:
            raise
        return False
    return out == (1).to_bytes(32, "big")


def batch_verify_gas(chain: Chain, verifier: Contract, proofs: list[Proof], sender: Signer) -> int:
    """Gas used by a ``verifyBatch`` transaction of ``proofs`` (21k intrinsic gas included)."""
    tx = {"to": verifier.address, "data": verify_batch_calldata(proofs)}
    return send(chain, sender, tx, gas=batch_verify_gas_limit(len(proofs))).gasUsed


def verify_onchain(verifier: Contract, proof: Proof) -> bool:
    """The deployed verifier's answer (an eth_call with explicit gas) for ``proof``: true iff it returns
    the word 1; a revert (a public-signal count the verifier does not take: no such function) is false."""
    call = {"to": verifier.address, "data": verify_proof_calldata(proof), "gas": VERIFY_GAS}
    try:
        out = bytes(verifier.chain.w3.eth.call(call))
    except Exception as exc:
        if revert_data(exc) is None:
            raise
        return False
    return out == (1).to_bytes(32, "big")


def verify_gas(chain: Chain, verifier: Contract, proof: Proof, sender: Signer) -> int:
    """Gas used by a ``verifyProof`` transaction (the bare Groth16 cost, 21k intrinsic gas included)."""
    receipt = send(chain, sender, {"to": verifier.address, "data": verify_proof_calldata(proof)}, gas=VERIFY_GAS)
    return receipt.gasUsed


REGISTRY_CONTRACT = "SolvencyRegistry"
REGISTRY_DEPLOY_GAS = 6_000_000
POST_GAS_BASE = 3_000_000  # checkpoint hash, 2M Poseidon_5 + 4 more hashes (the statement), storage


@dataclass(frozen=True)
class EpochFigures:
    """What the SolvencyRegistry recorded for an epoch (``epochFigures(epoch)``)."""

    root: Node  # (root hash, L, Σmm)
    totals: Totals  # L, deficit, below-mm count, shortfall, Σmm, Σim, account count, Σ collateral
    reserves_wad: int  # vault balance − owner fees at the checkpoint
    insurance_fund_wad: int
    checkpoint_block: int
    posted_at: int  # block timestamp of the post


def registry_args(verifier: str, engine: str, hashers: dict, shape: Shape, operator: str) -> tuple:
    """The SolvencyRegistry's constructor arguments: hashers (4, 5, 6, 11 inputs), verifier, engine, operator, K, T, M."""
    return (hashers[4].address, hashers[5].address, hashers[6].address, hashers[LEAF_ARITY].address, verifier, engine, operator,
            shape.k, shape.t, shape.m)


def deploy_registry(chain: Chain, sender: Signer, verifier: Contract, engine: str, hashers: dict, shape: Shape, *,
                    operator: str | None = None) -> Contract:
    """Deploy a SolvencyRegistry for SolvencyBatch(shape.k, shape.m, shape.t) over ``engine`` (an address),
    ``verifier`` its key's batch verifier (:func:`deploy_batch_verifier`)."""
    registry, _ = deploy_contract(chain, REGISTRY_CONTRACT, *registry_args(verifier.address, engine, hashers, shape,
                                                                         operator or sender.address),
                                  sender=sender, gas=REGISTRY_DEPLOY_GAS)
    return registry


OPTIONS_REGISTRY_CONTRACT = "OptionsSolvencyRegistry"
OPTIONS_STATEMENT_CONTRACT = "OptionsStatement"
OPTIONS_HASHER_ARITIES = (2, 3)  # circomlibjs's hashers OptionsStatement needs beside Poseidon_4 and Poseidon8
OPTIONS_REGISTRY_DEPLOY_GAS = 7_000_000


def deploy_options_hashers(chain: Chain, sender: Signer, hashers: dict) -> dict:
    """``hashers`` with the 2-, 3- and 8-input hashers of OptionsStatement deployed beside them (the 8-input one is
    contracts/commit/Poseidon8.sol: circomlibjs's generator stops at 6 inputs)."""
    out = dict(hashers)
    for n in OPTIONS_HASHER_ARITIES:
        if n not in out:
            hasher_artifact(n)
            out[n], _ = deploy_contract(chain, hasher_name(n), sender=sender)
    if 8 not in out:
        out[8] = deploy_wide_poseidon(chain, sender, 8)
    return out


def deploy_options_registry(chain: Chain, sender: Signer, verifier: Contract, options_verifier: Contract, engine: str,
                            hashers: dict, shape: Shape, options_shape: PortfolioShape, *, operator: str | None = None) -> Contract:
    """Deploy an OptionsStatement for ``options_shape`` (U, R, P) and an OptionsSolvencyRegistry over ``engine`` whose
    perp-only epochs ``verifier`` and epochs with options ``options_verifier`` (SolvencyBatch(K, M, T, U, R, P)'s
    batch verifier) check; ``hashers`` needs arities 2, 3, 4, 5, 6, 8, 11 (:func:`deploy_options_hashers`)."""
    statement, _ = deploy_contract(chain, OPTIONS_STATEMENT_CONTRACT, *(hashers[n].address for n in (2, 3, 4, 8)),
                                   options_shape.u, options_shape.k, options_shape.p, sender=sender, gas=REGISTRY_DEPLOY_GAS)
    args = registry_args(verifier.address, engine, hashers, shape, operator or sender.address)
    registry, _ = deploy_contract(chain, OPTIONS_REGISTRY_CONTRACT, *args, options_verifier.address, statement.address,
                                  sender=sender, gas=OPTIONS_REGISTRY_DEPLOY_GAS)
    registry.decoder.add(statement.artifact["abi"])
    return registry


@dataclass(frozen=True)
class SolvencyContracts:
    """A venue's proof-of-solvency contracts: the Groth16 verifier, the Poseidon hashers, the registry."""

    verifier: Contract
    hashers: dict[int, Contract]
    registry: Contract


def deploy_solvency(deployer: Deployer, keys: Keys, engine: str, shape: Shape, operator: str) -> SolvencyContracts:
    """Deploy (or reuse, through ``deployer``) the verifier of ``keys``, the hashers and a SolvencyRegistry
    of ``shape`` over ``engine`` whose epochs ``operator`` posts."""
    verifier = deployer.deploy(BATCH_VERIFIER_CONTRACT, BATCH_VERIFIER_CONTRACT, out_dir=verifier_artifacts(keys), gas=DEPLOY_GAS)
    hashers = {}
    for n in HASHER_ARITIES:
        hasher_artifact(n)
        hashers[n] = deployer.deploy(hasher_name(n), hasher_name(n))
    data = [deployer.deploy(name, name).address for name in wide_poseidon_constants(LEAF_ARITY)]
    hashers[LEAF_ARITY] = deployer.deploy(f"Poseidon{LEAF_ARITY}", f"Poseidon{LEAF_ARITY}", *data)
    registry = deployer.deploy(REGISTRY_CONTRACT, REGISTRY_CONTRACT, *registry_args(verifier.address, engine, hashers, shape, operator),
                               gas=REGISTRY_DEPLOY_GAS)
    return SolvencyContracts(verifier, hashers, registry)


class TooManyMarkets(Revert):
    """The checkpoint has more markets than the circuit's M."""


class AggregateCountMismatch(Revert):
    """The checkpoint's aggregates are not one per market."""


class OffsetOutOfRange(Revert):
    """A signed value does not fit its statement offset: not −offset < value < offset."""


def _offset(value: int, offset: int) -> int:
    if not -offset < value < offset:
        raise OffsetOutOfRange(value, offset)
    return value + offset


def _check_statement_inputs(m: int, checkpoint: CheckpointData) -> None:
    """The registry's checks of ``contextHash``, in its order: counts, then every offset value as hashed."""
    if len(checkpoint.markets) > m:
        raise TooManyMarkets(len(checkpoint.markets), m)
    if len(checkpoint.aggregates) != len(checkpoint.markets):
        raise AggregateCountMismatch(len(checkpoint.markets), len(checkpoint.aggregates))
    for v in checkpoint.markets:
        _offset(v.funding_index_wad, FUNDING_INDEX_BOUND)
    _offset(checkpoint.collateral_sum_wad, SUM_OFFSET)
    for a in checkpoint.aggregates:
        _offset(a.cost_basis_wad, SUM_OFFSET)
        _offset(a.size_funding_wad2, SIZE_FUNDING_OFFSET)


def registry_statement(shape: Shape, chain_id: int, registry: int, engine: int, checkpoint: CheckpointData, root: Node,
                       totals: Totals) -> Statement:
    """The statement the registry checks a post of ``checkpoint`` against (its ``contextHash``): markets
    and aggregates padded with zeros to M, short size = long size, account count and Σ collateral the
    checkpoint's (whatever ``totals`` says of them). Raises the registry's errors as it reverts."""
    _check_statement_inputs(shape.m, checkpoint)
    pad = shape.m - len(checkpoint.markets)
    markets = tuple(MarketView(v.price_wad, v.funding_index_wad, v.imf_wad, v.mmf_wad) for v in checkpoint.markets)
    aggregates = tuple(MarketAggregate(a.long_size_wad, a.long_size_wad, a.cost_basis_wad, a.size_funding_wad2)
                       for a in checkpoint.aggregates)
    totals = replace(totals, account_count=checkpoint.account_count, collateral_wad=checkpoint.collateral_sum_wad)
    return Statement(shape, chain_id, registry, engine, checkpoint.id, len(markets),
                     markets + (MarketView(0, 0, 0, 0),) * pad, aggregates + (EMPTY_AGGREGATE,) * pad, root, totals)


class MultipleOutOfRange(Revert):
    """The options checkpoint's IM multiple is not in [WAD, WAD + 2^64)."""


class SeriesNotIncreasing(Revert):
    """The options checkpoint's series ids are not strictly increasing."""


class TooManyUnderlyings(Revert):
    """The options checkpoint has more underlyings than the circuit's U."""


class TooManySeries(Revert):
    """An underlying has more series than the circuit's R rows."""


class OptionTableOutOfRange(Revert):
    """A value, som or array entry of a row is outside the circuit's bounds."""


class UnmappedMarket(Revert):
    """The perp mapping is not exactly markets 0 .. marketCount − 1, in order."""


class PerpSeriesMissing(Revert):
    """A market's perp series is not in the options checkpoint."""


TABLE_BOUND = 2**130


def check_options_data(options: OptionsCheckpointData, market_count: int, shape: PortfolioShape) -> None:
    """OptionsStatement.optionsHashes' checks, in its order, raising its errors (the registry's mirror)."""
    m = options.im_multiple_wad
    if not WAD <= m < WAD + 2**64:
        raise MultipleOutOfRange(m)
    series = options.series
    for prev, cur in zip(series, series[1:]):
        if cur.series_id <= prev.series_id:
            raise SeriesNotIncreasing(cur.series_id)
    underlyings = sorted({x.underlying_id for x in series})
    if len(underlyings) > shape.u:
        raise TooManyUnderlyings(len(underlyings), shape.u)
    filled, row_of = [0] * len(underlyings), {}
    for x in series:
        block = underlyings.index(x.underlying_id)
        if filled[block] == shape.k:
            raise TooManySeries(x.underlying_id, shape.k)
        row_of[x.series_id] = block * shape.k + filled[block]
        filled[block] += 1
    for x in sorted(series, key=lambda x: row_of[x.series_id]):
        if x.value_wad >= TABLE_BOUND:
            raise OptionTableOutOfRange(x.series_id, x.value_wad)
        if not x.settled:
            if x.som_wad >= TABLE_BOUND:
                raise OptionTableOutOfRange(x.series_id, x.som_wad)
            for v in x.risk_array:
                if not -TABLE_BOUND <= v <= TABLE_BOUND:
                    raise OptionTableOutOfRange(x.series_id, v)
    perps = options.perps
    for j in range(market_count):
        if j >= len(perps) or perps[j][0] != j:
            raise UnmappedMarket(j)
    if len(perps) > market_count:
        raise UnmappedMarket(perps[market_count][0])
    for _, sid in perps:
        if sid not in row_of:
            raise PerpSeriesMissing(sid)


def registry_options_statement(shape: Shape, options_shape: PortfolioShape, chain_id: int, registry: int, engine: int,
                               checkpoint: CheckpointData, options: OptionsCheckpointData, root: Node, totals: Totals) -> Statement:
    """The statement an OptionsSolvencyRegistry checks a post of ``checkpoint`` with ``options`` against (its
    ``optionsContextHash``): :func:`registry_statement` with the tables of the options checkpoint and its per-row
    sums (:func:`pymargin.zk.options.option_tables_from_checkpoint`). Raises the registry's errors as it reverts."""
    s = registry_statement(shape, chain_id, registry, engine, checkpoint, root, totals)
    check_options_data(options, len(checkpoint.markets), options_shape)
    tables = option_tables_from_checkpoint(options, len(checkpoint.markets), options_shape)
    return replace(s, options=OptionsPart(tables, checkpoint_series_sums(options, tables)))


def user_reserves_wad(checkpoint: CheckpointData) -> int:
    """vault balance − owner fees (max(accrued fees − bad debt, 0)), or 0 below them: what the registry compares with L."""
    return max(checkpoint.vault_balance_wad - checkpoint.owner_fees_wad(), 0)


def totals_arg(totals: Totals) -> tuple:
    """The six proven figures of ``totals`` (account count and Σ collateral come from the checkpoint)."""
    t = totals
    return (t.liabilities_wad, t.deficit_wad, t.below_mm_count, t.shortfall_wad, t.mm_wad, t.im_wad)


def post_epoch_args(epoch: EpochProof, checkpoint: CheckpointData) -> tuple:
    """Arguments of ``postEpoch``: checkpoint id, checkpoint data, root, totals, chain states, proofs."""
    s = epoch.statement
    return (s.checkpoint_id, checkpoint.to_abi(), (s.root.hash, s.root.equity, s.root.mm), totals_arg(s.totals),
            list(epoch.states), [tuple(p.eth_words()) for p in epoch.proofs])


OPTIONS_GAS_PER_ROW = 1_000_000  # per option row (≈ 850k-960k measured): two Poseidon8 (342k each), Poseidon_4, two Poseidon_3, calldata


def post_epoch_with_options(registry: Contract, epoch: EpochProof, checkpoint: CheckpointData, options: OptionsCheckpointData,
                            sender: Signer):
    """Send ``postEpochWithOptions`` for ``epoch`` (a statement with options) proven at ``checkpoint`` and its options
    checkpoint ``options``, with explicit gas; return the receipt (ContractRevert with the registry's error)."""
    gas = part_gas_limit(len(epoch.proofs), first=True) + OPTIONS_GAS_PER_ROW * epoch.statement.options.tables.shape.n
    cid, cp, root, totals, states, proofs = post_epoch_args(epoch, checkpoint)
    return registry.transact("postEpochWithOptions", cid, cp, options.to_abi(), root, totals, states, proofs, sender=sender, gas=gas)


def post_epoch(registry: Contract, epoch: EpochProof, checkpoint: CheckpointData, sender: Signer):
    """Send ``postEpoch`` for ``epoch`` proven at ``checkpoint``, with explicit gas; return the receipt
    (ContractRevert with the registry's error on a rejection)."""
    gas = part_gas_limit(len(epoch.proofs), first=True)
    return registry.transact("postEpoch", *post_epoch_args(epoch, checkpoint), sender=sender, gas=gas)


# Posting in parts (spec §7.5): explicit gas = base + PART_GAS_PER_BATCH · batches, from the measured
# 60,694 gas per batch and the fixed parts (benchmarks/registry_gas.md, "Posting in parts").
PART_GAS_PER_BATCH = 70_000
BEGIN_GAS_BASE = POST_GAS_BASE + BATCH_GAS_BASE  # as postEpoch, plus the pending epoch's storage
CONTINUE_GAS_BASE = 600_000  # pending epoch read and update, the batch check's 3 extra pairs, EpochPosted


def part_gas_limit(batches: int, first: bool) -> int:
    """Explicit gas for a beginEpoch (``first``) or continueEpoch part of ``batches`` batches."""
    return (BEGIN_GAS_BASE if first else CONTINUE_GAS_BASE) + PART_GAS_PER_BATCH * batches


def part_sizes(max_gas: int) -> tuple[int, int]:
    """(batches of a first part, of a later part) whose explicit gas is at most ``max_gas`` (Floor; 0: none fits)."""
    return tuple(max((max_gas - base) // PART_GAS_PER_BATCH, 0) for base in (BEGIN_GAS_BASE, CONTINUE_GAS_BASE))


@dataclass(frozen=True)
class PendingEpoch:
    """The epoch a registry is posting in parts (``pendingEpoch()``; checkpoint id 0: none)."""

    checkpoint_id: int
    ctx: int
    next_batch: int  # batches verified so far
    last_state: int  # the chain state the next part starts from


def pending_epoch(registry: Contract) -> PendingEpoch:
    """The registry's pending epoch."""
    return PendingEpoch(*registry.call("pendingEpoch"))


def resume_batch(pending: PendingEpoch, epoch: EpochProof) -> int:
    """The batch posting ``epoch`` resumes from: the pending epoch's next batch if it is this proof's (same
    checkpoint, ctx and chain state there), else 0 (a begin, which replaces whatever is pending)."""
    s = epoch.statement
    same = (pending.checkpoint_id == s.checkpoint_id and pending.ctx == context_hash(s)
            and 0 < pending.next_batch < len(epoch.proofs) and epoch.states[pending.next_batch] == pending.last_state)
    return pending.next_batch if same else 0


@dataclass(frozen=True)
class PartPosted:
    """One transaction of an epoch posted in parts: batches first_batch … first_batch + batches − 1."""

    first_batch: int
    batches: int
    receipt: object


def post_epoch_parts(registry: Contract, epoch: EpochProof, checkpoint: CheckpointData, sender: Signer,
                     first_part: int, next_parts: int, options: OptionsCheckpointData | None = None) -> list[PartPosted]:
    """Post ``epoch`` in transactions of at most ``first_part`` batches (the first) and ``next_parts`` (the
    others): ``postEpoch`` if all fit the first, else ``beginEpoch`` and ``continueEpoch`` in batch order.
    If the registry's pending epoch is this one (:func:`resume_batch`), continue it instead of starting
    again. A statement with options posts with its options checkpoint ``options`` (``postEpochWithOptions``,
    ``beginEpochWithOptions``). Each part is simulated before it is sent (:func:`pymargin.chain.tx.send`), so a rejection
    raises ContractRevert before it costs gas; the parts sent before it stay, and a later call resumes."""
    if first_part < 1 or next_parts < 1:
        raise ValueError(f"parts need at least one batch, got {first_part} and {next_parts}")
    total = len(epoch.proofs)
    start = resume_batch(pending_epoch(registry), epoch)
    if start == 0 and first_part >= total:
        receipt = (post_epoch(registry, epoch, checkpoint, sender) if options is None
                   else post_epoch_with_options(registry, epoch, checkpoint, options, sender))
        return [PartPosted(0, total, receipt)]
    proofs = [tuple(p.eth_words()) for p in epoch.proofs]
    posted = []
    first = start
    while first < total:
        n = min(first_part if first == 0 else next_parts, total - first)
        states, part = list(epoch.states[first:first + n + 1]), proofs[first:first + n]
        if first == 0:
            args = post_epoch_args(epoch, checkpoint)[:4]
            if options is None:
                receipt = registry.transact("beginEpoch", *args, states, part, sender=sender, gas=part_gas_limit(n, True))
            else:
                gas = part_gas_limit(n, True) + OPTIONS_GAS_PER_ROW * epoch.statement.options.tables.shape.n
                receipt = registry.transact("beginEpochWithOptions", *args[:2], options.to_abi(), *args[2:], states, part,
                                            sender=sender, gas=gas)
        else:
            receipt = registry.transact("continueEpoch", epoch.statement.checkpoint_id, first, states, part, sender=sender,
                                        gas=part_gas_limit(n, False))
        posted.append(PartPosted(first, n, receipt))
        first += n
    return posted


def registry_shape(registry: Contract) -> Shape:
    """The circuit shape (K, T, M) the registry was deployed for."""
    return Shape(registry.call("batchLog2"), registry.call("batchCountLog2"), registry.call("circuitMarkets"))


def statement_mismatch(statement: Statement, expected: Statement) -> str | None:
    """The first part of ``statement`` that differs from the registry's ``expected`` one (None: equal), in words."""
    parts = [
        ("circuit shape (K, T, M)", lambda s: s.shape), ("chain id", lambda s: s.chain_id), ("registry", lambda s: s.registry),
        ("engine", lambda s: s.engine), ("checkpoint id", lambda s: s.checkpoint_id), ("market count", lambda s: s.market_count),
        ("market views", lambda s: s.markets), ("market aggregates", lambda s: s.aggregates),
        ("account count", lambda s: s.totals.account_count), ("Σ collateral", lambda s: s.totals.collateral_wad),
    ]
    for name, part in parts:
        if part(statement) != part(expected):
            return f"{name}: the proof has {part(statement)}, the registry computes {part(expected)}"
    return None


def epoch_figures(registry: Contract, epoch: int) -> EpochFigures:
    """The registry's record of ``epoch`` (ContractRevert UnknownEpoch if never posted)."""
    root_hash, t, account_count, collateral, reserves, insurance, block, posted_at = registry.call("epochFigures", epoch)
    totals = Totals(t[0], t[1], t[2], t[3], t[4], t[5], account_count, collateral)
    return EpochFigures(Node(root_hash, t[0], t[4]), totals, reserves, insurance, block, posted_at)


@dataclass(frozen=True)
class EpochRecord:
    """An epoch as a SolvencyRegistry recorded it, with what an auditor cites: the post's transaction,
    the verifier (its runtime code's keccak256 pins the verifying key) and the circuit."""

    figures: EpochFigures
    post_tx_hash: bytes | None  # None if the EpochPosted event is not found (a pruned node)
    verifier: str
    verifier_code_hash: bytes
    shape: Shape

    @property
    def circuit(self) -> str:
        """The circuit's name as pymargin builds it: ``solvency_k{K}_m{M}_t{T}``."""
        return f"solvency_k{self.shape.k}_m{self.shape.m}_t{self.shape.t}"


def epoch_record(registry: Contract, epoch: int) -> EpochRecord:
    """The registry's record of ``epoch`` and its EpochPosted transaction (ContractRevert UnknownEpoch if never posted)."""
    from eth_utils import keccak

    from pymargin.chain.logs import read_logs

    figures = epoch_figures(registry, epoch)
    logs = [log for log in read_logs(registry, ("EpochPosted",), "latest", from_block=figures.checkpoint_block)
            if log["args"]["epoch"] == epoch]
    verifier = registry.call("verifier")
    code = bytes(registry.chain.w3.eth.get_code(verifier))
    return EpochRecord(figures, bytes(logs[-1]["transactionHash"]) if logs else None, verifier, keccak(code),
                       registry_shape(registry))


def batch_verifier_contract(chain: Chain, address: str) -> Contract:
    """A deployed Groth16 batch verifier at ``address`` (``verifyBatch``; the registry's ``verifier()``;
    checked: ``contract_at``)."""
    proof = {"type": "tuple[]", "name": "proofs", "components": [
        {"name": "a", "type": "uint256[2]"}, {"name": "b", "type": "uint256[2][2]"}, {"name": "c", "type": "uint256[2]"}]}
    abi = [{"type": "function", "name": "verifyBatch", "stateMutability": "view", "outputs": [{"name": "", "type": "bool"}],
            "inputs": [proof, {"name": "publics", "type": "uint256[]"}]}]
    return contract_at(chain, BATCH_VERIFIER_CONTRACT, address, {"abi": abi}, "--verifier")


def registry_contract(chain: Chain, address: str) -> Contract:
    """The SolvencyRegistry at ``address`` (ABI from the compiled artifact; checked: ``contract_at``)."""
    from pymargin.chain.compile import load_artifact

    return contract_at(chain, REGISTRY_CONTRACT, address, load_artifact(REGISTRY_CONTRACT), "--registry")
