"""Cross-checking the Python mirror against a deployed MarginEngine, in lockstep.

:class:`DualEngine` runs every operation on the deployed contract AND the Python reference engine at
the same block timestamp and compares results, reverts (same custom error and args), events, stored
state and every view. An operation is first simulated with ``eth_call`` at the prepared timestamp; a
revert there must be the Python engine's revert and nothing is sent; otherwise the transaction is
sent at that same timestamp and its decoded logs must equal the Python events.

Used by the parity tests, ``pymargin crosscheck`` and the demo. Timestamps are set with the devnet
methods of eth-tester and anvil (see :mod:`pymargin.chain.engine_devnet`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import is_hex_address, to_checksum_address

from pymargin.chain.compile import load_artifact
from pymargin.chain.contracts import Contract, abi_args, deploy_contract
from pymargin.chain.engine_devnet import (
    TX_GAS, EngineDeployment, min_next_timestamp, mirror, order_signer, set_next_timestamp,
)
from pymargin.chain.tx import ContractRevert, Signer, revert_data
from pymargin.engine import ChainlinkAdapter, DevOracle, Engine
from pymargin.errors import Revert
from pymargin.fixedpoint import WAD

WAD2 = WAD * WAD
VIEWS_PER_CALL = 256  # views per ViewBatch eth_call


def snake(name: str) -> str:
    """camelCase → snake_case (``unrealisedPnl`` → ``unrealised_pnl``)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def norm(value: Any) -> Any:
    """A comparable form of a value from web3/eth-abi or the Python engine (tuples, checksummed addresses)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return norm(dataclasses.astuple(value))
    if isinstance(value, Mapping):
        return tuple(norm(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return tuple(norm(v) for v in value)
    if isinstance(value, str) and is_hex_address(value):
        return to_checksum_address(value)
    return value


def norm_events(events: list[tuple[str, Mapping]]) -> list[tuple[str, dict]]:
    return [(name, {k: norm(v) for k, v in args.items()}) for name, args in events]


@dataclass
class Outcome:
    """What an operation did: ``events`` when it succeeded, else ``error`` = (name, args)."""

    events: list | None = None
    error: tuple | None = None
    gas_used: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ParityError(AssertionError):
    """The chain and the Python engine disagree."""


class DualEngine:
    """A deployed MarginEngine and its Python mirror, driven in lockstep; ``orders`` signs the traders'
    orders (the devnet accounts' keys, plus ``keys``: owner address → private key)."""

    def __init__(self, dep: EngineDeployment, batch: Contract, keys: dict[str, bytes] | None = None):
        self.dep = dep
        self.orders = order_signer(dep, keys)
        self.chain = dep.chain
        self.contract = dep.engine
        self.batch = batch
        self.py: Engine = mirror(dep)
        self.contract.decoder.add(load_artifact("ChainlinkAdapter")["abi"])  # its reverts surface through the engine
        # oracle address -> (oracle contract, its aggregator or None): what set_price drives
        self.feeds: dict[str, tuple[Contract, Contract | None]] = {
            oracle.address: (oracle, dep.aggregators.get(market_id)) for market_id, oracle in enumerate(dep.oracles)
        }
        self.clock = self.py.now  # timestamp of the last operation
        self._outputs = {
            item["name"]: [_abi_type(o) for o in item["outputs"]]
            for item in self.contract.artifact["abi"]
            if item["type"] == "function"
        }

    # -- time ---------------------------------------------------------------------------------------

    def _prepare(self, dt: int) -> str:
        block, t = set_next_timestamp(self.chain, max(self.clock + dt, min_next_timestamp(self.chain)))
        self.clock = t
        self.py.now = t
        self.py.block_number = self.chain.w3.eth.block_number + 1  # the block the next transaction lands in
        return block

    # -- operations -----------------------------------------------------------------------------------

    def fill(self, operator: Signer, market_id: int, taker: str, taker_sub: int, maker: str, maker_sub: int,
             size_wad: int, price_wad: int, dt: int = 1) -> Outcome:
        """``trade`` of two fresh orders signed by their owners, each of exactly ``size_wad`` (taker's side)
        with its limit at ``price_wad`` (see :meth:`pymargin.engine.OrderSigner.fill`)."""
        args = self.orders.fill(market_id, taker, taker_sub, maker, maker_sub, size_wad, price_wad)
        return self.op("trade", operator, *args, dt=dt)

    def op(self, fn: str, sender: Signer, *args: Any, dt: int = 1) -> Outcome:
        """Run engine operation ``fn`` (camelCase) from ``sender`` on both sides ``dt`` seconds after the last one."""
        block = self._prepare(dt)
        chain_error = self._simulate(fn, sender, args, block)
        try:
            getattr(self.py, snake(fn))(sender.address, *args)
            py_events, py_error = self.py.last_events, None
        except Revert as exc:
            py_events, py_error = None, (exc.name, norm(exc.args_))
        if chain_error is not None or py_error is not None:
            if chain_error != py_error:
                raise ParityError(f"{fn}{args}: chain {chain_error or 'succeeded'} vs python {py_error or 'succeeded'}")
            return Outcome(error=chain_error)
        receipt = self.contract.transact(fn, *args, sender=sender, gas=TX_GAS)
        assert self.chain.w3.eth.get_block(receipt.blockNumber)["timestamp"] == self.clock
        chain_events = norm_events(self.contract.decode_logs(receipt))
        if chain_events != norm_events(py_events):
            raise ParityError(f"{fn}{args}: events differ\nchain  {chain_events}\npython {norm_events(py_events)}")
        return Outcome(events=chain_events, gas_used=receipt.gasUsed)

    def _simulate(self, fn: str, sender: Signer, args: tuple, block: str) -> tuple | None:
        try:
            getattr(self.contract.functions, fn)(*abi_args(args)).call({"from": sender.address, "gas": TX_GAS}, block_identifier=block)
        except Exception as exc:
            data = revert_data(exc)
            if data is None:
                raise
            decoded = self.contract.decoder.decode(data)
            return decoded.name, norm(decoded.args_)
        return None

    def add_dev_oracle(self, oracle: Contract) -> None:
        """Make a deployed DevOracle known to both sides (a candidate for addMarket / setOracle)."""
        price, updated_at = oracle.call("latestPrice")
        self.feeds[oracle.address] = (oracle, None)
        self.py.oracles[oracle.address] = DevOracle(price, updated_at)

    def set_price(self, market_id: int, price_wad: int, updated_at: int | None = None, dt: int = 1) -> None:
        """Set a market's current oracle (devnet oracle price, or the aggregator's next round) on both sides."""
        self._prepare(dt)
        updated_at = self.clock if updated_at is None else updated_at
        address = self.py.state.markets[market_id].oracle
        oracle, aggregator = self.feeds[address]
        feed = self.py.oracles[address]
        if aggregator is None:
            oracle.transact("setPrice", price_wad, updated_at, sender=self.dep.owner, gas=TX_GAS)
            feed.set_price(price_wad, updated_at)
        else:
            assert isinstance(feed, ChainlinkAdapter)
            answer = _to_feed_units(price_wad, feed.decimals)
            aggregator.transact("setRound", answer, updated_at, sender=self.dep.owner, gas=TX_GAS)
            feed.set_round(answer, updated_at)

    # -- state and views ---------------------------------------------------------------------------------

    def view_calls(self, extra_accounts: tuple[tuple[str, int], ...] = ()) -> list[tuple[str, tuple]]:
        """Every view of the engine over every market and every opened account (plus ``extra_accounts``).

        The plain getters ``collateral`` and ``position`` return fields of ``accountState`` and are
        compared by :meth:`check_getters` instead, to keep the per-step comparison cheap.
        """
        calls: list[tuple[str, tuple]] = [
            (name, ()) for name in (
                "owner", "pendingOwner", "paused", "collateralToken", "collateralScale", "insuranceFund",
                "accruedFees", "badDebt", "reservesWad", "keepers", "operators", "marketCount", "accountCount",
                "ownerFeesWad", "aggregates", "checkpointCount", "eip712Domain", "optionsModule",
            )
        ]
        for checkpoint_id in range(self.py.checkpoint_count() + 2):  # 0 and one past the end: UnknownCheckpoint
            calls += [("checkpointHash", (checkpoint_id,)), ("checkpointBlock", (checkpoint_id,))]
        state = self.py.state
        for digest in sorted(set(state.filled) | state.cancelled):
            calls += [("filledSize", (digest,)), ("isCancelled", (digest,))]
        owners = {owner for owner, _ in state.accounts} | set(state.min_nonces)
        calls += [("minNonce", (owner,)) for owner in sorted(owners)]
        n_markets = self.py.market_count()
        for market_id in range(n_markets + 1):  # one past the end: UnknownMarket
            calls += [("marketView", (market_id,)), ("marketParams", (market_id,)), ("marketState", (market_id,)),
                      ("marketSettlement", (market_id,))]
        accounts = list(self.py.state.accounts)
        calls += [("accountAt", (i,)) for i in range(len(accounts) + 1)]  # one past the end: Panic(0x32)
        for owner, sub in accounts + [a for a in extra_accounts if a not in self.py.state.accounts]:
            for name in ("accountState", "equity", "unrealisedPnl", "pendingFunding", "initialMargin",
                         "maintenanceMargin", "margins", "freeCollateral", "marginRatio", "isLiquidatable"):
                calls.append((name, (owner, sub)))
        return calls

    def compare_views(self, extra_accounts: tuple[tuple[str, int], ...] = ()) -> tuple[int, list[str]]:
        """Compare every view and stored value at the latest block; return (values compared, mismatch descriptions)."""
        calls = self.view_calls(extra_accounts)
        encoded = [getattr(self.contract.functions, name)(*args)._encode_transaction_data() for name, args in calls]
        results = []
        for start in range(0, len(encoded), VIEWS_PER_CALL):  # one eth_call per chunk keeps under the call gas cap
            chunk = encoded[start : start + VIEWS_PER_CALL]
            results += self.batch.functions.batch(self.contract.address, chunk).call({"gas": 25_000_000}, block_identifier="latest")
        self.py.now = self.chain.w3.eth.get_block("latest")["timestamp"]
        mismatches = []
        for (name, args), (success, data) in zip(calls, results):
            if success:
                decoded = abi_decode(self._outputs[name], data)
                chain_value = norm(decoded[0] if len(decoded) == 1 else decoded)
            else:
                err = self.contract.decoder.decode(data)
                chain_value = ("revert", err.name, norm(err.args_))
            try:
                value = getattr(self.py, snake(name))(*args)
                py_value = norm(value)
            except Revert as exc:
                py_value = ("revert", exc.name, norm(exc.args_))
            if chain_value != py_value:
                mismatches.append(f"view {name}{args} at t={self.py.now}: chain {chain_value} vs python {py_value}")
        return len(calls), mismatches

    def check_views(self, extra_accounts: tuple[tuple[str, int], ...] = ()) -> int:
        """Like :meth:`compare_views`, raising ParityError on the first mismatch; return how many were compared."""
        count, mismatches = self.compare_views(extra_accounts)
        if mismatches:
            raise ParityError(mismatches[0])
        return count

    def compare_getters(self, markets: int | None = None) -> tuple[int, list[str]]:
        """Compare ``collateral`` and ``position`` (every market and one past the end) for every opened account."""
        markets = self.py.market_count() + 1 if markets is None else markets
        compared, mismatches = 0, []
        for owner, sub in self.py.state.accounts:
            pairs = [(("collateral", owner, sub), self.contract.call("collateral", owner, sub), self.py.collateral(owner, sub))]
            for market_id in range(markets):
                pairs.append((("position", owner, sub, market_id), norm(self.contract.call("position", owner, sub, market_id)),
                              self.py.position(owner, sub, market_id)))
            for what, chain_value, py_value in pairs:
                compared += 1
                if chain_value != py_value:
                    mismatches.append(f"{what[0]}{what[1:]}: chain {chain_value} vs python {py_value}")
        return compared, mismatches

    def check_getters(self, markets: int = 4) -> None:
        """Like :meth:`compare_getters`, raising ParityError on the first mismatch."""
        _, mismatches = self.compare_getters(markets)
        if mismatches:
            raise ParityError(mismatches[0])

    def check_all(self) -> tuple[int, list[str]]:
        """Every view and every stored value of every account: (values compared, mismatches)."""
        views, view_mismatches = self.compare_views()
        getters, getter_mismatches = self.compare_getters()
        return views + getters, view_mismatches + getter_mismatches


def _abi_type(item: dict) -> str:
    if item["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + item["type"][5:]
    return item["type"]


def _to_feed_units(price_wad: int, decimals: int) -> int:
    """A WAD price as a Chainlink answer with ``decimals`` (truncated toward zero, as a feed would report it)."""
    scale = 10 ** (18 - decimals)
    q = abs(price_wad) // scale
    return q if price_wad >= 0 else -q


def deploy_view_batch(chain, sender: Signer) -> Contract:
    """Deploy the ViewBatch helper (one eth_call for many views)."""
    batch, _ = deploy_contract(chain, "ViewBatch", sender=sender, gas=TX_GAS)
    return batch


def fund(dep: EngineDeployment, signers: list[Signer], tokens: int) -> None:
    """Mint ``tokens`` to each signer and approve the engine for all of it."""
    for s in signers:
        dep.token.transact("mint", s.address, tokens, sender=s, gas=TX_GAS)
        dep.token.transact("approve", dep.engine.address, 2**256 - 1, sender=s, gas=TX_GAS)


__all__ = ["DualEngine", "Outcome", "ParityError", "deploy_view_batch", "fund", "norm", "snake", "ContractRevert"]
