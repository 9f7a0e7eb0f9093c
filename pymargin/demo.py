"""The end-to-end demo: the whole toolkit on one chain, in one run.

compile → deploy the MarginEngine (4 perpetual markets, collateral token, oracles) and the
SolvencyRegistry (Groth16 verifier, Poseidon hashers) → seed accounts with collateral and random
positions (EIP-712 orders signed with each trader's key, matched by the operator) → move prices along a seeded random walk, accrue funding, liquidate what falls below
maintenance → cross-check every account's stored state and every view between the Python mirror
(run in lockstep with the chain) and the contract → commit every account in a Merkle sum tree →
prove solvency (Groth16) → post the epoch on-chain (the registry verifies the proofs and checks
reserves ≥ liabilities) → verify the proofs again with py-ecc and with snarkjs → check one user's
inclusion in Python and on-chain → write the report.

Everything random comes from ``seed``: the same seed gives the same book, prices and root.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from eth_account import Account as EthAccount
from eth_utils import keccak

from pymargin.chain import tx
from pymargin.chain.compile import compile_contracts
from pymargin.chain.contracts import Contract
from pymargin.chain.devnet import Chain
from pymargin.chain.engine_devnet import TX_GAS, MarketSpec, default_params, deploy_engine
from pymargin.crosscheck import DualEngine, deploy_view_batch
from pymargin.errors import UserError
from pymargin.fixedpoint import WAD, Rounding, mul_div
from pymargin.fsutil import atomic_write_text
from pymargin.progress import SILENT, Progress
from pymargin.report import AccountRow, Liquidation, ProofSummary, ReportData, write_report

TOKEN_DECIMALS = 6
TOKEN = 10**TOKEN_DECIMALS
MARKETS_IN_CIRCUIT = 4
LIQUIDATOR_DEPOSIT_TOKENS = 3_000_000 * TOKEN  # the liquidator's collateral: enough to take over what falls
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
    accounts: int
    trades: int = 0
    liquidations: int = 0
    crosscheck_values: int = 0
    crosscheck_mismatches: int = 0
    root: str = ""
    total_equity_wad: int = 0
    total_mm_wad: int = 0
    reserves_wad: int = 0
    batches: int = 0
    constraints: int = 0
    proving_s: float = 0.0
    post_epoch_gas: int = 0
    verify_gas: int = 0
    verifiers: dict[str, bool] = field(default_factory=dict)
    inclusion: dict[str, bool] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.crosscheck_mismatches == 0
            and bool(self.verifiers) and all(self.verifiers.values())
            and bool(self.inclusion) and all(self.inclusion.values())
            and self.reserves_wad >= self.total_equity_wad
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
    from pymargin.zk import circuits, inputs
    from pymargin.zk.backends import SnarkjsBackend, default_backend_name, get_backend
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
    result = DemoResult(chain=f"{chain.kind} (chain id {chain.chain_id})", accounts=config.accounts)

    started = time.perf_counter()
    progress.info("compiling contracts")
    compile_contracts()
    watch.lap("compile", started)

    # -- roles and deployment --------------------------------------------------------------------------
    started = time.perf_counter()
    owner = tx.env_signer() or tx.node_signer(chain, 0)
    operator = owner
    n_owners = (config.accounts + 1) // 2
    traders = _trader_keys(config.seed, n_owners)
    progress.info(f"deploying MarginEngine with {len(demo_markets())} markets, token and oracles")
    dep = deploy_engine(chain, owner, demo_markets(), decimals=TOKEN_DECIMALS, keepers=(owner.address,), operators=(operator.address,))
    dual = DualEngine(dep, deploy_view_batch(chain, owner), keys={t.address: t.private_key for t in traders})
    watch.lap("deploy_engine", started)

    # -- seed accounts ------------------------------------------------------------------------------------
    started = time.perf_counter()
    progress.info(f"seeding {config.accounts} accounts ({n_owners} owners: cross-margin sub 0 and isolated sub 1)")
    _fund_traders(chain, owner, traders, dep, progress)
    accounts: list[tuple[tx.Signer, int]] = [(t, sub) for t in traders for sub in (0, 1)][: config.accounts]
    liquidator = accounts[0]
    for signer, sub in progress.track(accounts, "depositing collateral"):
        deposit = LIQUIDATOR_DEPOSIT_TOKENS if (signer, sub) == liquidator else rng.randrange(2_000, 50_000) * TOKEN
        _expect(dual.op("deposit", signer, sub, deposit), "deposit")
    trades = 0
    prices = [spec.price_wad for spec in dep.specs]
    isolated_market = {sig.address: rng.randrange(len(prices)) for sig in traders}
    players = [a for a in accounts if a != liquidator]
    for _ in progress.track(range(FILL_ROUNDS), "matching signed orders (each round pairs every account)"):
        rng.shuffle(players)
        for (taker, t_sub), (maker, m_sub) in zip(players[0::2], players[1::2]):
            allowed = set(range(len(prices)))
            for signer, sub in ((taker, t_sub), (maker, m_sub)):
                if sub == 1:
                    allowed &= {isolated_market[signer.address]}
            for market_id in rng.sample(sorted(allowed), k=min(len(allowed), rng.randint(1, 2))):
                free = min(dual.py.free_collateral(taker.address, t_sub), dual.py.free_collateral(maker.address, m_sub))
                if free <= 0:
                    continue
                use_wad = rng.randint(20, 60) * 10**16  # spend 20%..60% of the smaller free collateral as initial margin
                size = mul_div(mul_div(free, use_wad, prices[market_id], Rounding.Floor), WAD, dep.specs[market_id].params.imf_wad, Rounding.Floor)
                size = size if rng.random() < 0.5 else -size
                outcome = dual.fill(operator, market_id, taker.address, t_sub, maker.address, m_sub, size, prices[market_id])
                trades += outcome.ok
    result.trades = trades
    progress.info(f"  {trades} fills between {config.accounts} accounts")
    watch.lap("seed", started)

    # -- price path, funding, liquidations --------------------------------------------------------------
    started = time.perf_counter()
    paths = {spec.name: [spec.price_wad] for spec in dep.specs}
    liquidations: list[Liquidation] = []
    drift = [0.0, 0.004, -0.012, 0.02]  # SOL drifts down, ARB up: someone always ends up liquidatable
    for step in progress.track(range(1, config.steps + 1), "moving prices, accruing funding, liquidating"):
        for market_id, spec in enumerate(dep.specs):
            move = 1.0 + drift[market_id] + rng.gauss(0.0, 0.02)
            prices[market_id] = max(1, int(prices[market_id] * move))
            dual.set_price(market_id, prices[market_id], dt=STEP_SECONDS if market_id == 0 else 1)
            paths[spec.name].append(prices[market_id])
            rate = rng.randint(-10, 10) * (spec.params.max_funding_rate_wad // 20)
            _expect(dual.op("setFundingRate", owner, market_id, rate), "setFundingRate")
            _expect(dual.op("accrueFunding", owner, market_id), "accrueFunding")
        liquidations += _liquidate_all(dual, liquidator, step, [s.name for s in dep.specs])
        progress.info(f"  step {step}/{config.steps}: prices {', '.join(f'{s.name} {p / WAD:,.2f}' for s, p in zip(dep.specs, prices))}; {len(liquidations)} liquidations so far")
    result.liquidations = len(liquidations)
    watch.lap("simulate", started)

    # -- cross-check the mirror against the contract --------------------------------------------------
    started = time.perf_counter()
    progress.info("cross-checking every stored value and view: Python mirror vs contract")
    compared, mismatches = dual.check_all()
    result.crosscheck_values, result.crosscheck_mismatches = compared, len(mismatches)
    for line in mismatches[:10]:
        progress.info(f"  MISMATCH {line}")
    watch.lap("crosscheck", started)

    # -- commit, prove, post, verify ---------------------------------------------------------------------
    started = time.perf_counter()
    engine = dual.py
    book = engine.accounts()
    views = engine.market_views()
    depth = max(config.batch_log2, (len(book) - 1).bit_length())
    secret = keccak(f"pymargin-demo-operator-secret:{config.seed}".encode())
    progress.info(f"committing {len(book)} accounts (tree depth {depth})")
    commitment = commit_accounts(book, views, secret, epoch=1, depth=depth)
    result.root = hex(commitment.root.hash)
    result.total_equity_wad, result.total_mm_wad = commitment.root.equity, commitment.root.mm
    watch.lap("commit", started)

    started = time.perf_counter()
    backend = config.backend or default_backend_name()
    circuit = circuits.solvency(config.batch_log2, MARKETS_IN_CIRCUIT, depth - config.batch_log2)
    progress.info(f"setting up the Groth16 keys for SolvencyBatch(2^{config.batch_log2} accounts, {MARKETS_IN_CIRCUIT} markets) with {backend} (cached after the first run)")
    with progress.status("compiling the circuit and making its keys (cached after the first run)"):
        keys = get_backend(backend).setup(circuit)
    verifier, _ = onchain.deploy_verifier(chain, keys, owner)
    hashers = commit_onchain.deploy_hashers(chain, owner)
    registry = onchain.deploy_registry(chain, owner, verifier, dep.engine.address, hashers, k=config.batch_log2,
                                       m=MARKETS_IN_CIRCUIT, depth=depth, operator=operator.address)
    result.constraints = circuit.info["constraints"]
    watch.lap("setup", started)

    started = time.perf_counter()
    ctx = inputs.EpochContext(1, chain.chain_id, int(registry.address, 16), depth, inputs.market_table(views, MARKETS_IN_CIRCUIT), commitment.root)
    n_batches = 2 ** (depth - config.batch_log2)
    progress.info(f"proving {n_batches} batch{'es' if n_batches > 1 else ''} with {config.workers} worker(s)")
    with progress.status(f"proving {n_batches} batch(es) of {2 ** config.batch_log2} accounts"):
        epoch, keys = prove_epoch(commitment, secret, ctx, config.batch_log2, MARKETS_IN_CIRCUIT, backend, workers=config.workers)
    result.batches = len(epoch.proofs)
    result.proving_s = round(time.perf_counter() - started, 2)
    epoch.save(out / "epoch.json")
    watch.lap("prove", started)

    started = time.perf_counter()
    progress.info("posting the epoch: the registry verifies every proof and checks reserves ≥ liabilities")
    receipt = onchain.post_epoch(registry, epoch, operator)
    result.post_epoch_gas = receipt.gasUsed
    result.verify_gas = onchain.verify_gas(chain, verifier, epoch.proofs[0], owner)
    result.reserves_wad = dep.engine.call("reservesWad")
    vk = keys.verifying_key()
    result.verifiers = {
        "on-chain (SolvencyRegistry.postEpoch)": receipt.status == 1,
        "py-ecc": not verify_epoch(epoch, vk),
        "snarkjs": all(SnarkjsBackend.verify(vk, p) for p in epoch.proofs),
    }
    watch.lap("verify", started)

    # -- one user checks their inclusion -------------------------------------------------------------------
    started = time.perf_counter()
    user = book[len(book) // 2]
    index = commitment.index_of(user.account_id)
    document = proof_document(commitment, index, secret)
    atomic_write_text(out / "inclusion" / f"{user.owner}-{user.sub}.json", json.dumps(document, indent=1) + "\n")
    node = verify_proof(parse_proof(document))
    leaf = commitment.leaf(index, secret)
    leaf_node = commitment.tree.node(0, index)
    siblings = [commit_onchain.node_arg(n) for n in commitment.tree.siblings(index)]
    result.inclusion = {
        "python": node.hash == commitment.root.hash,
        "on-chain": bool(registry.call("verifyInclusionAt", 1, commit_onchain.leaf_arg(leaf), leaf_node.equity, leaf_node.mm, index, siblings)),
    }
    watch.lap("inclusion", started)

    # -- report ----------------------------------------------------------------------------------------------
    started = time.perf_counter()
    rows = [
        AccountRow(a.account_id, engine.equity(a.owner, a.sub), engine.initial_margin(a.owner, a.sub),
                   engine.maintenance_margin(a.owner, a.sub), engine.is_liquidatable(a.owner, a.sub))
        for a in book
    ]
    open_interest = {spec.name: engine.market_state(i)[5] for i, spec in enumerate(dep.specs)}
    data = ReportData(
        title="pymargin demo: margin engine, Python mirror and proof of solvency",
        chain=result.chain,
        markets=[s.name for s in dep.specs],
        open_interest=open_interest,
        total_collateral=sum(a.collateral for a in book),
        total_liabilities=commitment.root.equity,
        reserves=result.reserves_wad,
        insurance_fund=engine.insurance_fund(),
        bad_debt=engine.bad_debt(),
        accounts=rows,
        price_paths=paths,
        liquidations=liquidations,
        crosscheck={"values compared": compared, "mismatches": len(mismatches), "accounts": len(book)},
        proof=ProofSummary(
            epoch=1, root=result.root, proof_hash="0x" + keccak(json.dumps(epoch.to_json(), sort_keys=True).encode()).hex(),
            constraints=result.constraints, proving_s=result.proving_s, verification_gas=result.verify_gas,
            setup=f"{keys.setup_id}: development setup (single-party, NOT for production)" if keys.development else keys.setup_id,
            verifiers=result.verifiers,
        ),
    )
    write_report(data, out)
    watch.lap("report", started)
    result.seconds = watch.seconds
    atomic_write_text(out / "summary.json", json.dumps(asdict(result) | {"ok": result.ok}, indent=2, sort_keys=True, default=str) + "\n")
    return result


def _expect(outcome, what: str) -> None:
    if not outcome.ok:
        raise RuntimeError(f"demo step {what} reverted on both sides: {outcome.error}")


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
