"""The end-to-end demo: the whole toolkit on one chain, in one run.

compile → deploy the MarginEngine (4 perpetual markets, collateral token, oracles) and the
SolvencyRegistry (Groth16 batch verifier, Poseidon hashers) → seed accounts with collateral and random
positions (EIP-712 orders signed with each trader's key, matched by the operator); beside the perps a
RiskArrayBook and an OptionsEngine: two calls and a put on ETH-PERP's oracle traded by a hedged (a collar), a
naked and a market-maker cross account, their portfolio margin read on chain against the per-position requirement and
the mirror (pymargin.demo_options) → move prices along a seeded random walk, accrue funding, mark the
options, liquidate what falls below maintenance, settle the options at expiry → the keeper takes an engine checkpoint → trading, funding and prices go on (one more
step and fill round) while the operator commits every account as of the checkpoint block in a Merkle
sum tree and proves solvency (Groth16) → cross-check every account's stored state and every view
between the Python mirror (run in lockstep with the chain) and the contract → post the epoch
against the checkpoint (the registry verifies the proofs against the engine's checkpoint and checks
that the vault less the fees owed covers the liabilities L) → verify the proofs again with py-ecc
and with snarkjs → check one user's inclusion in Python and on-chain → audit the epoch (rebuild the salt-0 root from the
engine at the checkpoint block, compare with the posted one) → write the report and the verification
page (verify.html) users check their own inclusion proofs with.

Everything random comes from ``seed``: the same seed gives the same book, prices and root.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from eth_utils import keccak

from pymargin.chain import tx
from pymargin.chain.compile import compile_contracts
from pymargin.chain.contracts import Contract
from pymargin.chain.devnet import Chain
from pymargin.chain.deploy import Deployer
from pymargin.chain.engine_devnet import TX_GAS, MarketSpec, default_params, mirror
from pymargin.chain.full_set import SolvencySpec, VenueSpec, deploy_venue, solvency_keys
from pymargin.crosscheck import DualEngine, deploy_view_batch
from pymargin.demo_options import MIN_OWNERS, DemoOptions
from pymargin.errors import UserError
from pymargin.fixedpoint import WAD, Rounding, mul_div
from pymargin.fsutil import atomic_write_text
from pymargin.jsonvalues import bytes_hex, dumps, hash_hex, json_value
from pymargin.page import write_page
from pymargin.progress import SILENT, Progress
from pymargin.report import (AccountRow, ContractRow, EpochInfo, Liquidation, MarketRow, OptionSeriesRow, PortfolioMarginRow,
                             ProofSummary, ReportData, write_report)

TOKEN_DECIMALS = 6
TOKEN = 10**TOKEN_DECIMALS
MARKETS_IN_CIRCUIT = 4
LIQUIDATOR_DEPOSIT_TOKENS = 3_000_000 * TOKEN  # the liquidator's collateral: enough to take over what falls
INSURANCE_DEPOSIT_TOKENS = 50_000 * TOKEN  # the venue's insurance fund: covers accounts under water at the checkpoint
FILL_ROUNDS = 3
STEP_SECONDS = 3600
ETH_PER_TRADER_DEVNET = 10**18
ETH_PER_TRADER_RPC = 2 * 10**16


@dataclass(frozen=True)
class DemoConfig:
    """What the demo does: how many accounts, how many price steps, how to prove."""

    accounts: int = 64
    steps: int = 12
    seed: int = 1
    batch_log2: int = 6  # accounts per proof batch = 2^batch_log2
    backend: str | None = None  # None: the fastest installed prover backend
    workers: int = 2
    out_dir: Path = Path("demo-out")


@dataclass
class DemoResult:
    """What the demo measured; ``ok`` is False if any cross-check or verifier disagreed."""

    chain: str
    account_count: int
    fill_count: int = 0
    liquidation_count: int = 0
    crosscheck_value_count: int = 0
    crosscheck_mismatch_count: int = 0
    root: str = ""
    checkpoint_id: int = 0
    checkpoint_block: int = 0
    fill_count_after_checkpoint: int = 0
    checkpoint_time_s: int = 0  # the checkpoint block's timestamp (unix seconds)
    checkpoint_tx_hash: str = ""
    post_epoch_tx_hash: str = ""
    contracts: list[dict] = field(default_factory=list)  # {"name", "address", "deploy_tx_hash"} of the venue's contracts
    markets: list[dict] = field(default_factory=list)  # the checkpoint's market snapshot: id, name, price, funding index, imf, mmf (WAD)
    liabilities_wad: int = 0  # L = Σ max(equity, 0) at the checkpoint
    deficit_wad: int = 0
    below_mm_count: int = 0
    shortfall_wad: int = 0
    total_mm_wad: int = 0
    total_im_wad: int = 0
    reserves_wad: int = 0  # vault − owner fees at the checkpoint
    circuit: str = ""  # e.g. solvency_k6_m4_t0
    vk_hash: str = ""  # keccak256 of verification_key.json as written
    verifier_code_hash: str = ""  # keccak256 of the on-chain verifier's runtime code (the key is inside it)
    batch_count: int = 0
    constraint_count: int = 0
    proving_s: float = 0.0  # wall time of the proving stage, key loading included
    key_load_s: float = 0.0  # seconds the workers spent loading the proving key (summed over workers)
    post_epoch_gas: int = 0
    verify_gas: int = 0  # a verifyBatch transaction of all the epoch's proofs
    verifiers: dict[str, bool] = field(default_factory=dict)
    inclusion: dict[str, bool] = field(default_factory=dict)
    audit: dict[str, bool] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    options: dict = field(default_factory=dict)  # the option series, trades, settlements and portfolio margins (empty: too few owners)

    def to_json(self) -> dict:
        """summary.json and ``demo --json``: every field and ``ok`` (docs/schemas/demo.schema.json)."""
        return json_value(asdict(self) | {"ok": self.ok})

    @property
    def ok(self) -> bool:
        return (
            self.crosscheck_mismatch_count == 0
            and bool(self.verifiers) and all(self.verifiers.values())
            and bool(self.inclusion) and all(self.inclusion.values())
            and bool(self.audit) and all(self.audit.values())
            and self.reserves_wad >= self.liabilities_wad
        )


def demo_markets() -> list[MarketSpec]:
    """Four perpetuals: ETH and BTC on devnet oracles, SOL on a Chainlink-style feed, ARB with wide margins."""
    return [
        MarketSpec("ETH-PERP", default_params(), 2_000 * WAD),
        MarketSpec("BTC-PERP", default_params(imf_wad=WAD // 20, mmf_wad=WAD // 40), 60_000 * WAD),
        MarketSpec("SOL-PERP", default_params(imf_wad=WAD // 5, mmf_wad=WAD // 10), 150 * WAD, chainlink_decimals=8),
        MarketSpec("ARB-PERP", default_params(imf_wad=WAD // 4, mmf_wad=WAD // 8), WAD),
    ]


class _Stopwatch:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def lap(self, name: str, started: float) -> None:
        self.seconds[name] = round(time.perf_counter() - started, 2)


def _trader_keys(seed: int, count: int) -> list[tx.Signer]:
    """Deterministic trader keys (devnet play money only): keccak(seed, i)."""
    return [tx.key_signer(keccak(f"pymargin-demo:{seed}:{i}".encode())) for i in range(count)]


def _fund_traders(chain: Chain, funder: tx.Signer, traders: list[tx.Signer], dep, progress: Progress) -> None:
    eth = ETH_PER_TRADER_DEVNET if chain.is_devnet else ETH_PER_TRADER_RPC
    for trader in progress.track(traders, "funding traders (gas, test tokens, approval)"):
        tx.send(chain, funder, {"to": trader.address, "value": eth}, gas=21_000)
        dep.token.transact("mint", trader.address, 10**15, sender=trader, gas=TX_GAS)
        dep.token.transact("approve", dep.engine.address, 2**256 - 1, sender=trader, gas=TX_GAS)


def run_demo(config: DemoConfig, chain: Chain, progress: Progress = SILENT) -> DemoResult:
    """Run the demo on ``chain``; write report and artifacts into ``config.out_dir``; return the result."""
    from pymargin.chain import commitments as commit_onchain
    from pymargin.commit.commitment import commit_accounts
    from pymargin.commit.inclusion import parse_proof, proof_document, verify_proof
    from pymargin.chain import solvency as onchain
    from pymargin.chain.audit import audit_epoch
    from pymargin.chain.checkpoints import book_at_checkpoint, checkpoint_event
    from pymargin.zk import circuits
    from pymargin.zk.inputs import epoch_statement
    from pymargin.zk.statement import Shape
    from pymargin.zk.backends import SnarkjsBackend, default_backend_name
    from pymargin.zk.prover_pool import ProverPool
    from pymargin.zk.solvency import prove_epoch, verify_epoch

    if config.accounts < 2:
        raise UserError("--accounts must be at least 2 (accounts trade in pairs)")
    if not chain.is_devnet:
        raise UserError(
            f"the demo sets block timestamps (evm_mine), so it needs a devnet, and {chain.url} is not anvil: "
            "use the embedded default, --anvil, or --rpc to an anvil node; on a public testnet run the "
            "building blocks (deploy, commit, prove, post-epoch)"
        )
    rng = random.Random(config.seed)
    watch = _Stopwatch()
    out = Path(config.out_dir)
    result = DemoResult(chain=f"{chain.kind} (chain id {chain.chain_id})", account_count=config.accounts)

    started = time.perf_counter()
    progress.info("compiling contracts")
    compile_contracts()
    watch.lap("compile", started)

    # -- the circuit's keys, then the whole venue (pymargin.chain.full_set, as `pymargin deploy` does) ---------
    started = time.perf_counter()
    owner = tx.env_signer() or tx.node_signer(chain, 0)
    operator = owner
    n_owners = (config.accounts + 1) // 2
    traders = _trader_keys(config.seed, n_owners)
    depth = max(config.batch_log2, (config.accounts - 1).bit_length())  # every account opens by a deposit
    shape = Shape(config.batch_log2, depth - config.batch_log2, MARKETS_IN_CIRCUIT)
    backend = config.backend or default_backend_name()
    spec = VenueSpec(chain.chain_id, demo_markets(), TOKEN_DECIMALS, keepers=(owner.address,), operators=(operator.address,),
                     solvency=SolvencySpec(shape, operator.address, backend))
    with progress.status("compiling the circuit and making its keys (cached after the first run)"):
        keys = solvency_keys(spec.solvency, progress.info)
    circuit = circuits.solvency(shape.k, shape.m, shape.t)
    result.constraint_count = circuit.info["constraints"]
    result.circuit, result.vk_hash = circuit.name, bytes_hex(keccak(Path(keys.vk_path).read_bytes()))
    watch.lap("setup", started)

    started = time.perf_counter()
    progress.info(f"deploying the MarginEngine with {len(spec.markets)} markets, token, oracles, verifier, hashers and SolvencyRegistry")
    venue = deploy_venue(chain, spec, Deployer(chain, owner, None), keys)
    dep, verifier, registry = venue.engine, venue.solvency.verifier, venue.solvency.registry
    result.verifier_code_hash = bytes_hex(keccak(bytes(chain.w3.eth.get_code(verifier.address))))
    result.contracts = [{"name": name, "address": c.address, "deploy_tx_hash": bytes_hex(c.deploy_tx_hash)}
                        for name, c in _deployed(dep, verifier, venue.solvency.hashers, registry)]
    dual = DualEngine(dep, deploy_view_batch(chain, owner), keys={t.address: t.private_key for t in traders})
    options = None
    if n_owners >= MIN_OWNERS:
        progress.info("deploying the RiskArrayBook and the OptionsEngine beside the engine (options on ETH-PERP's oracle)")
        options = DemoOptions.deploy(dual, Deployer(chain, owner, None), owner, operator, traders)
        result.contracts += [{"name": name, "address": c.address, "deploy_tx_hash": bytes_hex(c.deploy_tx_hash)}
                             for name, c in (("RiskArrayBook", options.venue.book), ("OptionsEngine", options.venue.options))]
    else:
        progress.info(f"no option markets: they need {MIN_OWNERS} owners ({2 * MIN_OWNERS - 1} accounts), this run has {n_owners}")
    watch.lap("deploy", started)

    # -- seed accounts ------------------------------------------------------------------------------------
    started = time.perf_counter()
    progress.info(f"seeding {config.accounts} accounts ({n_owners} owners: cross-margin sub 0 and isolated sub 1)")
    _fund_traders(chain, owner, traders, dep, progress)
    dep.token.transact("mint", owner.address, INSURANCE_DEPOSIT_TOKENS, sender=owner, gas=TX_GAS)
    dep.token.transact("approve", dep.engine.address, 2**256 - 1, sender=owner, gas=TX_GAS)
    _expect(dual.op("depositInsurance", owner, INSURANCE_DEPOSIT_TOKENS), "depositInsurance")
    accounts: list[tuple[tx.Signer, int]] = [(t, sub) for t in traders for sub in (0, 1)][: config.accounts]
    liquidator = accounts[0]
    for signer, sub in progress.track(accounts, "depositing collateral"):
        deposit = LIQUIDATOR_DEPOSIT_TOKENS if (signer, sub) == liquidator else rng.randrange(2_000, 50_000) * TOKEN
        _expect(dual.op("deposit", signer, sub, deposit), "deposit")
    prices = [spec.price_wad for spec in dep.specs]
    isolated_market = {sig.address: rng.randrange(len(prices)) for sig in traders}
    option_accounts = {(signer.address, 0) for signer in traders[1:MIN_OWNERS]} if options else set()
    players = [a for a in accounts if a != liquidator and (a[0].address, a[1]) not in option_accounts]
    market = _Market(dual, dep, owner, operator, rng, prices, isolated_market, {spec.name: [spec.price_wad] for spec in dep.specs}, options)
    trades = sum(market.fill_round(players) for _ in progress.track(range(FILL_ROUNDS), "matching signed orders (each round pairs every account)"))
    result.fill_count = trades
    progress.info(f"  {trades} fills between {config.accounts} accounts")
    if options:
        options.open(prices[0], config.steps, config.seed, STEP_SECONDS)
        result.fill_count += 1
        for row in options.margins:
            progress.info(f"  options: {options.role_of(row.owner)} account: portfolio MM {row.portfolio_mm_wad / WAD:,.2f} "
                          f"vs per position {row.standalone_mm_wad / WAD:,.2f}")
    watch.lap("seed", started)

    # -- price path, funding, liquidations --------------------------------------------------------------
    started = time.perf_counter()
    liquidations: list[Liquidation] = []
    for step in progress.track(range(1, config.steps + 1), "moving prices, accruing funding, liquidating"):
        liquidations += market.price_step(step, liquidator)
        progress.info(f"  step {step}/{config.steps}: prices {', '.join(f'{s.name} {p / WAD:,.2f}' for s, p in zip(dep.specs, prices))}; {len(liquidations)} liquidations so far")
    watch.lap("simulate", started)

    # -- checkpoint; the venue keeps trading -------------------------------------------------------------
    started = time.perf_counter()
    progress.info("the keeper takes an engine checkpoint; trading, funding and prices go on while the operator proves")
    if options:  # through the options module: the engine's checkpoint and the options book (none open) in one transaction
        _expect(options.venue.op("options", "checkpoint", owner), "checkpoint")
    else:
        _expect(dual.op("checkpoint", owner), "checkpoint")
    at_checkpoint = book_at_checkpoint(dep.engine, dual.py.checkpoint_count())  # the book at the end of its block
    checkpoint = at_checkpoint.data
    engine = mirror(dep, block=checkpoint.block_number)  # the engine as of the checkpoint's block, for the report
    result.checkpoint_id, result.checkpoint_block = checkpoint.id, checkpoint.block_number
    result.checkpoint_time_s, result.checkpoint_tx_hash = checkpoint.timestamp, bytes_hex(checkpoint_event(dep.engine, checkpoint.id)[1])
    result.markets = [{"market_id": i, "name": spec.name, "price_wad": v.price_wad, "funding_index_wad": v.funding_index_wad,
                       "imf_wad": v.imf_wad, "mmf_wad": v.mmf_wad} for i, (spec, v) in enumerate(zip(dep.specs, checkpoint.markets))]
    liquidations += market.price_step(config.steps + 1, liquidator)
    result.fill_count_after_checkpoint = market.fill_round(players)
    result.fill_count += result.fill_count_after_checkpoint
    result.liquidation_count = len(liquidations)
    watch.lap("checkpoint", started)

    # -- commit the book as of the checkpoint, prove, post, verify ------------------------------------------
    started = time.perf_counter()
    book, views = at_checkpoint.accounts, at_checkpoint.markets
    secret = None  # an engine book is committed with salt 0: anyone can rebuild its root (audit-epoch)
    progress.info(f"committing {len(book)} accounts as of block {checkpoint.block_number} (tree depth {depth})")
    commitment = commit_accounts(book, views, secret, epoch=checkpoint.id, depth=depth)
    result.root = hash_hex(commitment.root.hash)
    watch.lap("commit", started)

    started = time.perf_counter()
    statement = epoch_statement(commitment, secret, shape, chain.chain_id, int(registry.address, 16),
                                int(dep.engine.address, 16), checkpoint.id, len(checkpoint.markets))
    t = statement.totals
    result.liabilities_wad, result.deficit_wad, result.total_mm_wad, result.total_im_wad = t.liabilities_wad, t.deficit_wad, t.mm_wad, t.im_wad
    result.below_mm_count, result.shortfall_wad = t.below_mm_count, t.shortfall_wad
    n_batches = 2 ** (depth - config.batch_log2)
    progress.info(f"proving {n_batches} batch{'es' if n_batches > 1 else ''} with {config.workers} worker(s)")
    with progress.status(f"proving {n_batches} batch(es) of {2 ** config.batch_log2} accounts"):
        with ProverPool(config.workers) as pool:
            epoch, keys = prove_epoch(commitment, secret, statement, backend, pool=pool)
    result.key_load_s = round(pool.key_load_s, 2)
    result.batch_count = len(epoch.proofs)
    result.proving_s = round(time.perf_counter() - started, 2)
    epoch.save(out / "epoch.json")
    watch.lap("prove", started)

    # -- cross-check the mirror against the contract (checkpoint and later operations included) ------------
    started = time.perf_counter()
    progress.info("cross-checking every stored value and view: Python mirror vs contract")
    compared, mismatches = dual.check_all()
    if options:  # the views and portfolio margins compared while the options were held
        compared += options.views_compared + 2 * len(options.margins)
        mismatches += options.view_mismatches + [f"portfolio margin of {r.owner}:0" for r in options.margins if not r.mirror_equal]
        result.options = _options_summary(options)
    result.crosscheck_value_count, result.crosscheck_mismatch_count = compared, len(mismatches)
    for line in mismatches[:10]:
        progress.info(f"  MISMATCH {line}")
    watch.lap("crosscheck", started)

    started = time.perf_counter()
    progress.info(f"posting epoch {checkpoint.id}: the registry checks the checkpoint, L ≤ vault − owner fees, and every proof")
    receipt = onchain.post_epoch(registry, epoch, checkpoint, operator)
    result.post_epoch_gas, result.post_epoch_tx_hash = receipt.gasUsed, bytes_hex(receipt.transactionHash)
    result.verify_gas = onchain.batch_verify_gas(chain, verifier, list(epoch.proofs), owner)
    posted = onchain.epoch_figures(registry, checkpoint.id)
    result.reserves_wad = posted.reserves_wad
    vk = keys.verifying_key()
    result.verifiers = {
        "on_chain": receipt.status == 1 and posted.totals == statement.totals,  # SolvencyRegistry.postEpoch
        "py_ecc": not verify_epoch(epoch, vk, shape),
        "snarkjs": all(SnarkjsBackend.verify(vk, p) for p in epoch.proofs),
    }
    watch.lap("verify", started)

    # -- one user checks their inclusion -------------------------------------------------------------------
    started = time.perf_counter()
    user = book[len(book) // 2]
    index = commitment.index_of(user.account_id)
    document = proof_document(commitment, index, secret)
    atomic_write_text(out / "inclusion" / f"{user.owner}-{user.sub}.json", json.dumps(document, indent=1) + "\n")
    write_page(out, registry.address)  # the page users check their proof with, beside it
    node = verify_proof(parse_proof(document))
    leaf = commitment.leaf(index, secret)
    leaf_node = commitment.tree.node(0, index)
    siblings = [commit_onchain.node_arg(n) for n in commitment.tree.siblings(index)]
    result.inclusion = {
        "python": node.hash == commitment.root.hash,
        "on_chain": bool(registry.call("verifyInclusionAt", checkpoint.id, commit_onchain.leaf_arg(leaf), leaf_node.equity, leaf_node.mm, index, siblings)),
    }
    watch.lap("inclusion", started)

    # -- anyone audits the epoch: the book rebuilt from the engine at the checkpoint block, root as posted -----
    started = time.perf_counter()
    audit = audit_epoch(dep.engine, checkpoint.id, onchain.epoch_figures(registry, checkpoint.id).root.hash, depth=registry.call("treeDepth"))
    result.audit = {"root_rebuilt_equals_posted": audit.ok}
    for line in audit.findings[:10]:
        progress.info(f"  AUDIT {line}")
    watch.lap("audit", started)

    # -- report ----------------------------------------------------------------------------------------------
    started = time.perf_counter()
    rows = [
        AccountRow(a.account_id, engine.equity(a.owner, a.sub), engine.initial_margin(a.owner, a.sub),
                   engine.maintenance_margin(a.owner, a.sub), engine.is_liquidatable(a.owner, a.sub),
                   engine.margin_ratio(a.owner, a.sub))
        for a in book
    ]
    open_interest = {spec.name: engine.market_state(i)[5] for i, spec in enumerate(dep.specs)}  # at the checkpoint
    data = ReportData(
        title="pymargin demo: margin engine, Python mirror and proof of solvency",
        chain=result.chain,
        markets=[s.name for s in dep.specs],
        open_interest=open_interest,
        total_collateral=checkpoint.collateral_sum_wad,
        total_liabilities=t.liabilities_wad,
        reserves=result.reserves_wad,
        insurance_fund=checkpoint.insurance_fund_wad,
        bad_debt=checkpoint.bad_debt_wad,
        accounts=rows,
        price_paths=market.paths,
        liquidations=liquidations,
        crosscheck={"values compared": compared, "mismatches": len(mismatches), "accounts": len(book)},
        proof=ProofSummary(
            epoch=checkpoint.id, root=result.root, proof_hash="0x" + keccak(json.dumps(epoch.to_json(), sort_keys=True).encode()).hex(),
            constraints=result.constraint_count, proving_s=result.proving_s, verification_gas=result.verify_gas,
            setup=f"{keys.setup_id}: development setup (single-party, NOT for production)" if keys.development else keys.setup_id,
            verifiers=result.verifiers, circuit=result.circuit, vk_hash=result.vk_hash, verifier_code_hash=result.verifier_code_hash,
        ),
        deficit=t.deficit_wad,
        below_mm_count=t.below_mm_count,
        shortfall=t.shortfall_wad,
        total_im=t.im_wad,
        total_mm=t.mm_wad,
        epoch=EpochInfo(checkpoint.id, checkpoint.block_number, checkpoint.timestamp, result.checkpoint_tx_hash, result.post_epoch_tx_hash,
                        f"{result.fill_count_after_checkpoint} fills and a price step after it"),
        contracts=[ContractRow(c["name"], c["address"], c["deploy_tx_hash"]) for c in result.contracts],
        market_snapshot=[MarketRow(m["name"], m["price_wad"], m["funding_index_wad"], m["imf_wad"], m["mmf_wad"]) for m in result.markets],
        option_series=[OptionSeriesRow(s.name, s.strike_wad, s.expiry_s, s.premium_wad, s.payoff_wad, s.settled)
                       for s in (options.series if options else [])],
        portfolio_margin=[PortfolioMarginRow(f"{r.owner}:0", options.role_of(r.owner), _positions_text(options, r), r.portfolio_mm_wad,
                                             r.standalone_mm_wad, r.mirror_equal) for r in (options.margins if options else [])],
    )
    write_report(data, out)
    watch.lap("report", started)
    result.timings_s = watch.seconds
    atomic_write_text(out / "summary.json", dumps(result.to_json()) + "\n")
    return result


def _options_summary(options: DemoOptions) -> dict:
    """summary.json's ``options``: the series, trade and settlement counts, each holder's margins after the trades."""
    return {
        "series": [{"series_id": s.series_id, "name": s.name, "kind": s.kind, "strike_wad": s.strike_wad, "expiry_s": s.expiry_s,
                    "premium_wad": s.premium_wad, "settled": s.settled, "payoff_wad": s.payoff_wad} for s in options.series],
        "trade_count": options.trade_count,
        "settlement_count": options.settlement_count,
        "accounts": [{"account_id": f"{r.owner}:0", "role": options.role_of(r.owner), "portfolio_mm_wad": r.portfolio_mm_wad,
                      "standalone_mm_wad": r.standalone_mm_wad, "saving_wad": r.saving_wad, "chain_equals_mirror": r.mirror_equal}
                     for r in options.margins],
    }


def _positions_text(options: DemoOptions, row) -> str:
    """An account's positions as the report shows them, e.g. "+2.7183 ETH-PERP, −2.7183 call OTM 2,100.00"."""
    names = {options.perp_series: options.perp_name} | {s.series_id: s.name for s in options.series}
    return ", ".join(f"{'+' if size > 0 else '−'}{abs(size) / WAD:,.4f} {names[sid]}" for sid, size in row.positions)


def _deployed(dep, verifier: Contract, hashers: dict, registry: Contract) -> list[tuple[str, Contract]]:
    """(name, contract) of everything the demo deployed: token, engine, oracles, verifier, hashers, registry."""
    out = [("collateral token", dep.token), ("MarginEngine", dep.engine)]
    out += [(f"{spec.name} oracle", oracle) for spec, oracle in zip(dep.specs, dep.oracles)]
    out += [(f"{dep.specs[i].name} Chainlink feed (mock)", feed) for i, feed in sorted(dep.aggregators.items())]
    out += [("Groth16 batch verifier", verifier)] + [(f"Poseidon{n} hasher", h) for n, h in sorted(hashers.items())]
    return out + [("SolvencyRegistry", registry)]


def _expect(outcome, what: str) -> None:
    if not outcome.ok:
        raise RuntimeError(f"demo step {what} reverted on both sides: {outcome.error}")


@dataclass
class _Market:
    """The demo's market activity on both sides: fill rounds between random pairs, price steps."""

    dual: DualEngine
    dep: object
    owner: tx.Signer
    operator: tx.Signer
    rng: random.Random
    prices: list[int]
    isolated_market: dict[str, int]
    paths: dict[str, list[int]]
    options: DemoOptions | None = None

    def fill_round(self, players: list[tuple[tx.Signer, int]]) -> int:
        """Pair every player at random; each pair fills in one or two random markets. Returns the fills."""
        dual, rng, prices = self.dual, self.rng, self.prices
        rng.shuffle(players)
        fills = 0
        for (taker, t_sub), (maker, m_sub) in zip(players[0::2], players[1::2]):
            allowed = set(range(len(prices)))
            for signer, sub in ((taker, t_sub), (maker, m_sub)):
                if sub == 1:
                    allowed &= {self.isolated_market[signer.address]}
            for market_id in rng.sample(sorted(allowed), k=min(len(allowed), rng.randint(1, 2))):
                free = min(dual.py.free_collateral(taker.address, t_sub), dual.py.free_collateral(maker.address, m_sub))
                if free <= 0:
                    continue
                use_wad = rng.randint(20, 60) * 10**16  # spend 20%..60% of the smaller free collateral as initial margin
                size = mul_div(mul_div(free, use_wad, prices[market_id], Rounding.Floor), WAD, self.dep.specs[market_id].params.imf_wad, Rounding.Floor)
                size = size if rng.random() < 0.5 else -size
                outcome = dual.fill(self.operator, market_id, taker.address, t_sub, maker.address, m_sub, size, prices[market_id])
                fills += outcome.ok
        return fills

    def price_step(self, step: int, liquidator: tuple[tx.Signer, int]) -> list[Liquidation]:
        """Move every price (drift + noise), set and accrue funding, liquidate what fell below maintenance."""
        drift = [0.0, 0.004, -0.012, 0.02]  # SOL drifts down, ARB up: someone always ends up liquidatable
        for market_id, spec in enumerate(self.dep.specs):
            move = 1.0 + drift[market_id] + self.rng.gauss(0.0, 0.02)
            self.prices[market_id] = max(1, int(self.prices[market_id] * move))
            self.dual.set_price(market_id, self.prices[market_id], dt=STEP_SECONDS if market_id == 0 else 1)
            self.paths[spec.name].append(self.prices[market_id])
            rate = self.rng.randint(-10, 10) * (spec.params.max_funding_rate_wad // 20)
            _expect(self.dual.op("setFundingRate", self.owner, market_id, rate), "setFundingRate")
            _expect(self.dual.op("accrueFunding", self.owner, market_id), "accrueFunding")
        if self.options:
            self.options.keeper_step()
        return _liquidate_all(self.dual, liquidator, step, [s.name for s in self.dep.specs])


def _liquidate_all(dual: DualEngine, liquidator: tuple[tx.Signer, int], step: int, names: list[str]) -> list[Liquidation]:
    """Liquidate, position by position, every other owner's account below maintenance (the liquidator
    takes each over whole; an owner cannot liquidate its own sub-accounts)."""
    done: list[Liquidation] = []
    signer, sub = liquidator
    for owner, account_sub in list(dual.py.state.accounts):
        if owner == signer.address:
            continue
        for market_id in sorted(dual.py.state.accounts[(owner, account_sub)].positions):
            if not dual.py.is_liquidatable(owner, account_sub):
                break
            size = dual.py.position(owner, account_sub, market_id)[0]
            outcome = dual.op("liquidate", signer, sub, owner, account_sub, market_id, size)
            if outcome.ok:
                done.append(Liquidation(step, names[market_id], f"{owner}:{account_sub}", abs(size)))
    return done
