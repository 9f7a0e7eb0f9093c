"""A MarginEngine on a devnet: deploy it with its collateral token and oracles, mirror it in Python,
and set block timestamps so the Python engine and the chain share the same ``now``.

Used by the engine's parity tests, the gas benchmark and the ``pymargin margin``/``crosscheck``
commands. Time control:

* embedded (eth-tester): ``time_travel(t)`` mines a block at t − 1 and makes max(t, wall clock) the
  pending block's timestamp; a call at ``"pending"`` and the next transaction both run at it.
* anvil: ``evm_mine [t]`` then ``evm_setNextBlockTimestamp t``; a call at ``"latest"`` and the next
  transaction both run at t (anvil accepts equal timestamps).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pymargin.chain.compile import load_artifact
from pymargin.chain.contracts import Contract
from pymargin.chain.deploy import Deployer
from pymargin.chain.devnet import Chain
from pymargin.chain.tx import Signer, SignerError, devnet_key
from pymargin.engine import ChainlinkAdapter, DevOracle, Engine, OrderSigner, RiskParams
from pymargin.engine.core import ZERO_ADDRESS
from pymargin.errors import UserError
from pymargin.fixedpoint import WAD

TX_GAS = 3_000_000  # explicit gas for engine transactions (no estimation round trip)
DEVNET_MAX_ANSWER_AGE_S = 86_400  # the ChainlinkAdapter's own staleness limit on devnets (no sequencer feed)


@dataclass(frozen=True)
class MarketSpec:
    """A market to add: its name, parameters, first price, and its oracle kind.

    ``chainlink_decimals`` None and ``feed`` None: a DevOracle at ``price_wad``. ``chainlink_decimals``:
    a MockAggregatorV3 with these decimals (first answer ``price_wad`` scaled down to them, Trunc) behind
    a ChainlinkAdapter. ``feed``: an existing AggregatorV3 behind a ChainlinkAdapter (``price_wad``
    unused), with the adapter's staleness limit, sequencer-uptime feed and grace period.
    """

    name: str
    params: RiskParams
    price_wad: int
    chainlink_decimals: int | None = None
    feed: str | None = None
    max_answer_age_s: int = DEVNET_MAX_ANSWER_AGE_S
    sequencer_feed: str = ZERO_ADDRESS
    grace_period_s: int = 0


@dataclass
class EngineDeployment:
    """The deployed contracts: engine, collateral token, per-market oracle (and aggregator)."""

    chain: Chain
    owner: Signer
    engine: Contract
    token: Contract
    oracles: list[Contract] = field(default_factory=list)
    aggregators: dict[int, Contract] = field(default_factory=dict)
    specs: list[MarketSpec] = field(default_factory=list)


def default_params(**overrides: int) -> RiskParams:
    """Parameters for devnet markets: IM 10%, MM 5%, fees 5/2 bp, penalty 2% (half to insurance),
    max OI 10^6 base units, price age 1 h, band 5%, funding rate cap 10^-6 per second."""
    base = dict(
        imf_wad=WAD // 10, mmf_wad=WAD // 20, taker_fee_wad=5 * 10**14, maker_fee_wad=2 * 10**14,
        liquidation_penalty_wad=2 * 10**16, insurance_share_wad=WAD // 2, max_open_interest=10**6 * WAD,
        max_price_age_s=3600, price_band_wad=5 * 10**16, max_funding_rate_wad=10**12,
    )
    base.update(overrides)
    return RiskParams(**base)


def default_markets() -> list[MarketSpec]:
    """ETH-PERP and BTC-PERP on devnet oracles, SOL-PERP on a Chainlink-style feed (8 decimals)."""
    return [
        MarketSpec("ETH-PERP", default_params(), 2000 * WAD),
        MarketSpec("BTC-PERP", default_params(imf_wad=WAD // 20, mmf_wad=WAD // 40), 30000 * WAD),
        MarketSpec("SOL-PERP", default_params(imf_wad=WAD // 5, mmf_wad=WAD // 10), 100 * WAD, chainlink_decimals=8),
    ]


def deploy_engine(
    chain: Chain,
    owner: Signer,
    markets: list[MarketSpec],
    *,
    decimals: int = 6,
    keepers: tuple[str, ...] = (),
    operators: tuple[str, ...] = (),
    token_address: str | None = None,
    deployer: Deployer | None = None,
) -> EngineDeployment:
    """Deploy a TestToken (``decimals``) unless ``token_address`` names the collateral token, the
    MarginEngine owned by ``owner``, one oracle per market, add the markets and grant the roles. Needs
    compiled artifacts (``compile_contracts()``). Through ``deployer`` (default: one that records
    nothing), so a recorded deployment is reused and every transaction is simulated first."""
    deployer = deployer or Deployer(chain, owner, None)
    if token_address is None:
        token = deployer.deploy("Token", "TestToken", "Test USD", "tUSD", decimals, gas=TX_GAS)
    else:
        token = Contract(chain, "TestToken", chain.w3.to_checksum_address(token_address), load_artifact("TestToken"))
    engine = deployer.deploy("MarginEngine", "MarginEngine", token.address, owner.address, gas=6_000_000)
    dep = EngineDeployment(chain, owner, engine, token)
    existing = engine.call("marketCount")  # > 0 only for a reused engine
    for market_id, spec in enumerate(markets):
        if spec.feed is not None:
            aggregator = Contract(chain, "MockAggregatorV3", chain.w3.to_checksum_address(spec.feed), load_artifact("MockAggregatorV3"))
        elif spec.chainlink_decimals is not None:
            answer = spec.price_wad // 10 ** (18 - spec.chainlink_decimals)
            aggregator = deployer.deploy(f"Aggregator:{spec.name}", "MockAggregatorV3", spec.chainlink_decimals, spec.name,
                                         answer, gas=TX_GAS)
        else:
            aggregator = None
        if aggregator is None:
            oracle = deployer.deploy(f"Oracle:{spec.name}", "DevOracle", owner.address, spec.price_wad, gas=TX_GAS)
        else:
            oracle = deployer.deploy(f"Oracle:{spec.name}", "ChainlinkAdapter", aggregator.address, spec.max_answer_age_s,
                                     spec.sequencer_feed, spec.grace_period_s, gas=TX_GAS)
            dep.aggregators[market_id] = aggregator
        if market_id < existing:
            _require_same_market(engine, market_id, oracle.address, spec)
        else:
            deployer.call(engine, "addMarket", oracle.address, spec.name, tuple(spec.params), gas=TX_GAS)
        dep.oracles.append(oracle)
        dep.specs.append(spec)
    for account in keepers:
        deployer.call(engine, "setKeeper", account, True, gas=TX_GAS)
    for account in operators:
        deployer.call(engine, "setOperator", account, True, gas=TX_GAS)
    return dep


def _require_same_market(engine: Contract, market_id: int, oracle: str, spec: MarketSpec) -> None:
    """UserError unless the reused engine's market ``market_id`` has ``spec``'s name, parameters and ``oracle``."""
    on_chain_oracle, name = engine.call("marketState", market_id)[:2]
    params = tuple(engine.call("marketParams", market_id))
    if (on_chain_oracle, name, params) != (oracle, spec.name, tuple(spec.params)):
        raise UserError(f"market {market_id} of the recorded engine {engine.address} is {name} with another oracle or other "
                        f"parameters than the config's {spec.name}: deploy a new engine (remove its record from the manifest)")


def mirror(dep: EngineDeployment, block: str = "latest") -> Engine:
    """The Python engine holding the deployment's state, with live-settable oracle mirrors
    (DevOracle / ChainlinkAdapter) in place of the price snapshots."""
    engine = Engine.from_chain(dep.engine, block)
    for market_id, oracle in enumerate(dep.oracles):
        aggregator = dep.aggregators.get(market_id)
        if aggregator is None:
            price, updated_at = oracle.call("latestPrice", block=block)
            engine.oracles[oracle.address] = DevOracle(price, updated_at)
        else:
            round_id, answer, _, updated_at, answered_in_round = aggregator.call("latestRoundData", block=block)
            decimals = aggregator.call("decimals", block=block)
            engine.oracles[oracle.address] = ChainlinkAdapter(decimals, answer, updated_at, oracle.call("maxAnswerAgeS"),
                                                              round_id, answered_in_round)
    return engine


def order_signer(dep: EngineDeployment, keys: dict[str, bytes] | None = None) -> OrderSigner:
    """An OrderSigner under the deployment's engine domain holding ``keys`` (owner → private key) and
    the keys of the node's default devnet accounts (none on a node whose accounts are not those)."""
    held = {}
    for index in range(len(dep.chain.accounts)):
        try:
            key = devnet_key(dep.chain, index)
        except SignerError:
            break
        held[dep.chain.accounts[index]] = key
    held.update(keys or {})
    return OrderSigner(dep.chain.w3.eth.chain_id, dep.engine.address, held)


def min_next_timestamp(chain: Chain) -> int:
    """The earliest timestamp the next transaction can have on this devnet."""
    if chain.kind == "embedded":
        return chain.w3.eth.get_block("pending")["timestamp"]
    return chain.w3.eth.get_block("latest")["timestamp"]


def set_next_timestamp(chain: Chain, timestamp: int) -> tuple[str, int]:
    """Make the next transaction run at ``timestamp`` or, where the devnet insists on a later one,
    at the earliest it allows; return (block identifier at which an ``eth_call`` runs at that same
    timestamp and current state, the timestamp).

    eth-tester gives a new pending block ``max(parent + 1, wall clock)``, so after a snapshot revert
    the next timestamp can be later than asked; anvil takes it as given (≥ the latest block's).
    """
    if chain.kind == "embedded":
        tester = chain.w3.provider.ethereum_tester
        if timestamp > tester.get_block_by_number("pending")["timestamp"]:
            tester.time_travel(timestamp)
        return "pending", tester.get_block_by_number("pending")["timestamp"]
    chain.w3.provider.make_request("evm_mine", [timestamp])
    chain.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])
    return "latest", timestamp
