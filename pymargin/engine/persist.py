"""Loading and saving the reference engine: from a deployed MarginEngine, and to/from a JSON file.

JSON layout (``"format": "pymargin-engine/3"``): every amount is a decimal string (exact at any
size), ids, subs, times and block numbers are numbers, addresses are checksummed, digests 0x-hex::

    {"format": "pymargin-engine/3", "now": 1700000000, "block_number": 12,
     "collateral_token": "0x..", "collateral_scale": "1000000000000", "owner": "0x..",
     "pending_owner": "0x00..", "paused": false, "keepers": ["0x.."], "operators": ["0x.."],
     "insurance_fund": "0", "accrued_fees": "0", "bad_debt": "0", "reserves_tokens": "0",
     "collateral_sum_wad": "0", "checkpoints": [{"digest": "0x..", "block": 11}],
     "markets": [{"oracle": "0x..", "name": "ETH-PERP", "params": {"imf_wad": "1000..", ...},
                  "funding_rate_wad": "0", "funding_index_wad": "0", "last_funding_time": 1700000000,
                  "open_interest": "0", "cost_basis_sum_wad": "0", "size_funding_sum_wad2": "0",
                  "settled": false, "settlement_price_wad": "0"}],
     "accounts": [{"owner": "0x..", "sub": 0, "collateral": "..",
                   "positions": [{"market_id": 0, "size": "..", "cost_basis": "..", "funding_index": ".."}]}],
     "oracles": {"0x..": {"kind": "dev", "price_wad": "..", "updated_at": 1700000000}},
     "chain_id": 31337, "address": "0x..",
     "orders": {"filled": {"0x<digest>": ".."}, "cancelled": ["0x<digest>"], "min_nonces": {"0x..": ".."}}}

Oracle kinds: ``dev`` (price_wad, updated_at), ``chainlink`` (decimals, answer, updated_at,
max_answer_age_s, round_id, answered_in_round, sequencer: null or {status, started_at},
grace_period_s) and
``reverting`` (error, args). Accounts are listed in opening order, positions in the account's order.
``chain_id`` and ``address`` are the EIP-712 domain of the engine's orders; ``orders`` holds the
filled sizes, cancelled digests and minimum nonces. Contract wallets (``Engine.wallets``) are
callbacks and are not saved: set them again after loading.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

from pymargin.engine.core import AccountState, Engine, EngineState, MarketState, RiskParams
from pymargin.engine.oracles import ChainlinkAdapter, DevOracle, PriceFeed, RevertingFeed, SequencerFeed
from pymargin.errors import Revert, UserError
from pymargin.fsutil import atomic_write_text, read_json
from pymargin.model import Position

FORMAT = "pymargin-engine/3"
_LATEST_PRICE_ABI = [{
    "type": "function", "name": "latestPrice", "stateMutability": "view", "inputs": [],
    "outputs": [{"name": "priceWad", "type": "int256"}, {"name": "updatedAt", "type": "uint256"}],
}]


def load_chain(contract: Any, block: Any = "latest") -> Engine:
    """An engine holding the state of the deployed MarginEngine ``contract`` at ``block``.

    ``contract`` is a :class:`pymargin.chain.contracts.Contract`. Each market oracle's current
    ``latestPrice()`` becomes a :class:`DevOracle` snapshot (or a :class:`RevertingFeed` if it
    reverts), ``now`` is the block's timestamp and ``block_number`` its number. The aggregates are
    the contract's ``aggregates()``, as stored (not recomputed from the accounts).
    """

    def call(fn: str, *args: Any) -> Any:
        return contract.call(fn, *args, block=block)

    scale = call("collateralScale")
    state = EngineState(
        collateral_token=call("collateralToken"),
        collateral_scale=scale,
        owner=call("owner"),
        pending_owner=call("pendingOwner"),
        paused=call("paused"),
        keepers=list(call("keepers")),
        operators=list(call("operators")),
        insurance_fund=call("insuranceFund"),
        accrued_fees=call("accruedFees"),
        bad_debt=call("badDebt"),
        reserves_tokens=call("reservesWad") // scale,  # unsigned: reservesWad = balance · scale exactly
    )
    _, state.collateral_sum_wad, aggregates = call("aggregates")
    for market_id, (_, cost_sum, size_funding_sum) in enumerate(aggregates):
        oracle, name, rate, index, last, open_interest = call("marketState", market_id)
        params = RiskParams(*call("marketParams", market_id))
        settled, settlement_price = call("marketSettlement", market_id)
        state.markets.append(MarketState(oracle, name, params, rate, index, last, open_interest, cost_sum, size_funding_sum,
                                         settled, settlement_price))
    for checkpoint_id in range(1, call("checkpointCount") + 1):
        state.checkpoints.append((bytes(call("checkpointHash", checkpoint_id)), call("checkpointBlock", checkpoint_id)))
    for i in range(call("accountCount")):
        owner, sub = call("accountAt", i)
        _, collateral, market_ids, positions = call("accountState", owner, sub)
        state.accounts[(owner, sub)] = AccountState(
            collateral=collateral,
            market_ids=list(market_ids),
            positions={mid: Position(mid, *pos) for mid, pos in zip(market_ids, positions)},
        )
    state.chain_id = contract.chain.w3.eth.chain_id
    state.address = to_checksum_address(contract.address)
    _load_orders(contract, state, block)
    oracles = {m.oracle: _snapshot_feed(contract, m.oracle, block) for m in state.markets}
    header = contract.chain.w3.eth.get_block(block)
    return Engine.from_state(state, oracles, header["timestamp"], header["number"])


def _load_orders(contract: Any, state: EngineState, block: Any) -> None:
    """Filled sizes, cancellations and minimum nonces, from the engine's OrderFilled, OrderCancelled
    and MinNonceRaised events from its deployment up to ``block`` (mappings cannot be listed; read in
    chunks by :func:`pymargin.chain.logs.read_logs`), checked against the getters."""
    from pymargin.chain.logs import read_logs

    for log in read_logs(contract, ("OrderFilled", "OrderCancelled", "MinNonceRaised"), block):
        if log.event == "OrderFilled":
            state.filled[bytes(log.args.digest)] = log.args.filledWad
        elif log.event == "OrderCancelled":
            state.cancelled.add(bytes(log.args.digest))
        else:
            state.min_nonces[to_checksum_address(log.args.owner)] = log.args.minNonce
    for digest, filled in state.filled.items():
        if contract.call("filledSize", digest, block=block) != filled:
            raise UserError(f"the engine's OrderFilled events disagree with filledSize(0x{digest.hex()})")


def _snapshot_feed(contract: Any, oracle: str, block: Any) -> PriceFeed:
    """The oracle's current answer as a DevOracle, or a RevertingFeed carrying its revert.

    The oracle is called through the same kind of contract wrapper as ``contract`` (so a revert
    arrives decoded, with ``name`` and ``args_``), without importing the chain layer here.
    """
    feed = type(contract)(contract.chain, "IPriceOracle", oracle, {"abi": _LATEST_PRICE_ABI}, contract.decoder)
    try:
        price, updated_at = feed.call("latestPrice", block=block)
    except Exception as exc:
        if not hasattr(exc, "args_"):
            raise
        return RevertingFeed(revert_named(exc.name, exc.args_))
    return DevOracle(price, updated_at)


def revert_named(name: str, args: tuple) -> Revert:
    """A :class:`Revert` carrying a custom error's ``name`` and ``args`` (for errors met on a chain)."""
    return type(name, (Revert,), {})(*args)


# -- JSON -------------------------------------------------------------------------------------------


def to_json_dict(engine: Engine) -> dict[str, Any]:
    """The engine as a JSON-ready dict (amounts as decimal strings)."""
    s = engine.state
    return {
        "format": FORMAT,
        "now": engine.now,
        "block_number": engine.block_number,
        "collateral_token": s.collateral_token,
        "collateral_scale": str(s.collateral_scale),
        "owner": s.owner,
        "pending_owner": s.pending_owner,
        "paused": s.paused,
        "keepers": list(s.keepers),
        "operators": list(s.operators),
        "insurance_fund": str(s.insurance_fund),
        "accrued_fees": str(s.accrued_fees),
        "bad_debt": str(s.bad_debt),
        "reserves_tokens": str(s.reserves_tokens),
        "collateral_sum_wad": str(s.collateral_sum_wad),
        "checkpoints": [{"digest": "0x" + digest.hex(), "block": block} for digest, block in s.checkpoints],
        "markets": [
            {
                "oracle": m.oracle,
                "name": m.name,
                "params": {k: str(v) for k, v in m.params._asdict().items()},
                "funding_rate_wad": str(m.funding_rate_wad),
                "funding_index_wad": str(m.funding_index_wad),
                "last_funding_time": m.last_funding_time,
                "open_interest": str(m.open_interest),
                "cost_basis_sum_wad": str(m.cost_basis_sum_wad),
                "size_funding_sum_wad2": str(m.size_funding_sum_wad2),
                "settled": m.settled,
                "settlement_price_wad": str(m.settlement_price_wad),
            }
            for m in s.markets
        ],
        "accounts": [
            {
                "owner": owner,
                "sub": sub,
                "collateral": str(acc.collateral),
                "positions": [
                    {"market_id": mid, "size": str(p.size), "cost_basis": str(p.cost_basis), "funding_index": str(p.funding_index)}
                    for mid, p in ((mid, acc.positions[mid]) for mid in acc.market_ids)
                ],
            }
            for (owner, sub), acc in s.accounts.items()
        ],
        "oracles": {address: _feed_json(feed) for address, feed in engine.oracles.items()},
        "chain_id": s.chain_id,
        "address": s.address,
        "orders": {
            "filled": {"0x" + d.hex(): str(v) for d, v in s.filled.items()},
            "cancelled": ["0x" + d.hex() for d in sorted(s.cancelled)],
            "min_nonces": {owner: str(n) for owner, n in s.min_nonces.items()},
        },
    }


def _feed_json(feed: PriceFeed) -> dict[str, Any]:
    if isinstance(feed, DevOracle):
        return {"kind": "dev", "price_wad": str(feed.price_wad), "updated_at": feed.updated_at}
    if isinstance(feed, ChainlinkAdapter):
        sequencer = None if feed.sequencer is None else {"status": str(feed.sequencer.status), "started_at": feed.sequencer.started_at}
        return {"kind": "chainlink", "decimals": feed.decimals, "answer": str(feed.answer), "updated_at": feed.updated_at,
                "max_answer_age_s": feed.max_answer_age_s, "round_id": feed.round_id,
                "answered_in_round": feed.answered_in_round, "sequencer": sequencer, "grace_period_s": feed.grace_period_s}
    if isinstance(feed, RevertingFeed):
        return {"kind": "reverting", "error": feed.error.name, "args": [str(a) for a in feed.error.args_]}
    raise UserError(f"cannot save a price feed of type {type(feed).__name__} (dev, chainlink or reverting only)")


def from_json_dict(data: dict[str, Any]) -> Engine:
    """The engine described by a dict of :func:`to_json_dict`'s shape (KeyError/ValueError/TypeError if malformed)."""
    if data.get("format") != FORMAT:
        raise ValueError(f"'format' must be {FORMAT!r}, found {data.get('format')!r}")
    state = EngineState(
        collateral_token=to_checksum_address(data["collateral_token"]),
        collateral_scale=_int(data["collateral_scale"]),
        owner=to_checksum_address(data["owner"]),
        pending_owner=to_checksum_address(data["pending_owner"]),
        paused=_bool(data["paused"]),
        keepers=[to_checksum_address(a) for a in data["keepers"]],
        operators=[to_checksum_address(a) for a in data["operators"]],
        insurance_fund=_int(data["insurance_fund"]),
        accrued_fees=_int(data["accrued_fees"]),
        bad_debt=_int(data["bad_debt"]),
        reserves_tokens=_int(data["reserves_tokens"]),
        collateral_sum_wad=_int(data["collateral_sum_wad"]),
        checkpoints=[(_digest(c["digest"]), _int(c["block"])) for c in data["checkpoints"]],
        chain_id=_int(data["chain_id"]),
        address=to_checksum_address(data["address"]),
        filled={_digest(d): _int(v) for d, v in data["orders"]["filled"].items()},
        cancelled={_digest(d) for d in data["orders"]["cancelled"]},
        min_nonces={to_checksum_address(a): _int(n) for a, n in data["orders"]["min_nonces"].items()},
    )
    for m in data["markets"]:
        params = RiskParams(**{k: _int(m["params"][k]) for k in RiskParams._fields})
        state.markets.append(MarketState(
            to_checksum_address(m["oracle"]), str(m["name"]), params, _int(m["funding_rate_wad"]), _int(m["funding_index_wad"]),
            _int(m["last_funding_time"]), _int(m["open_interest"]), _int(m["cost_basis_sum_wad"]),
            _int(m["size_funding_sum_wad2"]), _bool(m["settled"]), _int(m["settlement_price_wad"]),
        ))
    for a in data["accounts"]:
        positions = {_int(p["market_id"]): Position(_int(p["market_id"]), _int(p["size"]), _int(p["cost_basis"]), _int(p["funding_index"]))
                     for p in a["positions"]}
        state.accounts[(to_checksum_address(a["owner"]), _int(a["sub"]))] = AccountState(_int(a["collateral"]), list(positions), positions)
    oracles = {address: _feed_from_json(f) for address, f in data["oracles"].items()}
    return Engine.from_state(state, oracles, _int(data["now"]), _int(data["block_number"]))


def _feed_from_json(f: dict[str, Any]) -> PriceFeed:
    kind = f["kind"]
    if kind == "dev":
        return DevOracle(_int(f["price_wad"]), _int(f["updated_at"]))
    if kind == "chainlink":
        seq = f["sequencer"]
        return ChainlinkAdapter(
            _int(f["decimals"]), _int(f["answer"]), _int(f["updated_at"]), _int(f["max_answer_age_s"]), _int(f["round_id"]),
            _int(f["answered_in_round"]), None if seq is None else SequencerFeed(_int(seq["status"]), _int(seq["started_at"])),
            _int(f["grace_period_s"]),
        )
    if kind == "reverting":
        return RevertingFeed(revert_named(str(f["error"]), tuple(_int(a) for a in f["args"])))
    raise ValueError(f"unknown oracle kind {kind!r} (dev, chainlink or reverting)")


def _int(value: Any) -> int:
    """An exact integer from a JSON number or decimal string (bools and floats rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"expected an integer or a decimal string, found {value!r}")
    return int(value)


def _digest(value: Any) -> bytes:
    """A 32-byte order digest from its 0x-hex string."""
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 66:
        raise ValueError(f"expected a 0x-prefixed 32-byte hex digest, found {value!r}")
    return bytes.fromhex(value[2:])


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, found {value!r}")
    return value


def save_json(engine: Engine, path: Path) -> None:
    """Write the engine to ``path`` as JSON, atomically."""
    atomic_write_text(Path(path), json.dumps(to_json_dict(engine), indent=1) + "\n")


def load_json(path: Path) -> Engine:
    """Read an engine saved by :func:`save_json`; UserError naming the file and the problem if malformed."""
    path = Path(path)
    data = read_json(path, "engine file")
    try:
        if not isinstance(data, dict):
            raise TypeError("the top level must be an object")
        return from_json_dict(data)
    except KeyError as exc:
        raise UserError(f"{path}: not a pymargin engine file: missing field {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise UserError(f"{path}: not a pymargin engine file: {exc}") from None
