"""Order commands: sign-order (a trader signs an EIP-712 order with their own key, into a file),
fill-orders (the operator submits two signed orders as one trade) and cancel-orders (the owner
cancels one order, or all below a nonce). Spec §5.3."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from pymargin.cli.output import emit
from pymargin.cli.engine_cmds import _engine_contract
from pymargin.errors import UserError
from pymargin.jsonvalues import bytes_hex, dumps, json_value

ORDER_FORMAT = "pymargin-order/2"
ORDER_FORMAT_V1 = "pymargin-order/1"  # still read: the order's keys in camelCase, expiry a JSON number
WAD = 10**18
UINT256 = click.IntRange(0, 2**256 - 1)


ORDER_KEYS = ("market_id", "size_wad", "limit_price_wad", "max_fee_wad", "nonce", "expiry_s")  # Order's fields after owner, sub


class RevertError(UserError):
    """The engine refused the transaction (its custom error, one line)."""

    exit_code = 1


def _wad(text: str, what: str) -> int:
    """A decimal string as an exact WAD integer; UserError if it is not a finite number, has more than
    18 decimals, or its WAD value is outside int256."""
    try:
        value = Decimal(text) * WAD
    except (ArithmeticError, ValueError):  # decimal's InvalidOperation, Overflow
        raise UserError(f"{what} {text!r:.40} is not a decimal number") from None
    if not value.is_finite():
        raise UserError(f"{what} {text!r:.40} is not a finite decimal number")
    if abs(value) >= 2**255:
        raise UserError(f"{what} {text!r:.40} is out of range: its WAD value must fit an int256")
    if value != value.to_integral_value():
        raise UserError(f"{what} {text!r:.40} has more than 18 decimals")
    return int(value)


def _signer(keystore: Path | None):
    from pymargin.chain import tx

    if keystore is not None:
        return tx.keystore_signer(keystore)
    signer = tx.env_signer()
    if signer is None:
        raise UserError("no key: set PYMARGIN_PRIVATE_KEY, or pass --keystore FILE with PYMARGIN_KEYSTORE_PASSWORD set")
    return signer


def _transact(contract, fn: str, *args: Any, sender) -> Any:
    from pymargin.chain.tx import ContractRevert

    try:
        return contract.transact(fn, *args, sender=sender)
    except ContractRevert as exc:
        raise RevertError(f"the engine at {contract.address} reverted {fn}: {exc}") from None


def _read_order(path: Path, contract) -> tuple[Any, bytes]:
    """(Order, signature) from a file written by sign-order, checked to be for this engine and chain."""
    from pymargin.engine.orders import Order
    from pymargin.fsutil import read_json

    doc = read_json(path, "order file")
    try:
        if doc["format"] not in (ORDER_FORMAT, ORDER_FORMAT_V1):
            raise ValueError(f"'format' must be {ORDER_FORMAT!r}")
        o = doc["order"]
        keys = ORDER_KEYS if doc["format"] == ORDER_FORMAT else ("marketId", "sizeWad", "limitPriceWad", "maxFeeWad", "nonce", "expiry")
        order = Order(o["owner"], int(o["sub"]), *(int(o[k]) for k in keys))
        signature = bytes.fromhex(doc["signature"].removeprefix("0x"))
        chain_id, engine = int(doc["chain_id"]), str(doc["engine"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UserError(f"{path}: not a pymargin order file: {exc}") from None
    if (chain_id, engine.lower()) != (contract.chain.chain_id, contract.address.lower()):
        raise UserError(f"{path}: signed for engine {engine} on chain {chain_id}, not {contract.address} on chain {contract.chain.chain_id}")
    return order, signature


_ENGINE_OPTIONS = [
    click.option("--rpc", envvar="PYMARGIN_RPC_URL", default=None, help="RPC URL of the chain [env PYMARGIN_RPC_URL]."),
    click.option("--engine", default=None, help="MarginEngine address [default: the one in deployments/<chainId>.json]."),
    click.option("--deployments", type=click.Path(path_type=Path), default=Path("deployments"), show_default=True),
    click.option("--keystore", type=click.Path(path_type=Path), default=None,
                 help="Encrypted JSON keystore [default: the key in PYMARGIN_PRIVATE_KEY]; password in PYMARGIN_KEYSTORE_PASSWORD."),
]


def _engine_options(fn):
    for option in reversed(_ENGINE_OPTIONS):
        fn = option(fn)
    return fn


@click.command("sign-order")
@_engine_options
@click.option("--market", "market_id", type=UINT256, required=True, help="Market id.")
@click.option("--size", required=True, help="Signed size in base units: > 0 buys, < 0 sells (e.g. 1.5 or -0.25).")
@click.option("--limit", "limit_price", required=True, help="Limit price (quote per base unit): a buy's highest, a sell's lowest.")
@click.option("--sub", type=UINT256, default=0, show_default=True, help="Sub-account (0 cross margin, ≥ 1 isolated).")
@click.option("--max-fee", default="0.001", show_default=True, help="Highest fee rate accepted (fraction of notional).")
@click.option("--nonce", type=UINT256, default=None, help="Order nonce [default: now in microseconds, so later orders get larger ones].")
@click.option("--expires-in", "expires_in_s", type=click.IntRange(0, 2**64), default=86400, show_default=True, help="Seconds until the order expires.")
@click.option("--owner", default=None, help="Owner if not the key's address: a contract wallet (ERC-1271) the key signs for.")
@click.option("--out", "out_path", type=click.Path(path_type=Path), required=True, help="Where to write the signed order (JSON).")
@click.pass_obj
def sign_order_cmd(ctx, rpc, engine, deployments, keystore, market_id, size, limit_price, sub, max_fee, nonce,
                   expires_in_s, owner, out_path) -> None:
    """Sign an order with your own key (EIP-712, bound to the engine and chain) and write it to a file.

    Nothing is sent: give the file to the operator, who fills it with `pymargin fill-orders`
    against a matching order. The order can fill in parts, up to |size| in total, at prices within
    its limit, until it expires or you cancel it (`pymargin cancel-orders`).

    \b
    Example:
      PYMARGIN_PRIVATE_KEY=0x... pymargin sign-order --rpc http://127.0.0.1:8545 --market 0 --size 1.5 --limit 2010 --out buy.json
    """
    from web3 import Web3

    from pymargin.engine.orders import Order, order_digest, sign_digest
    from pymargin.fsutil import atomic_write_text, check_out_file

    out_path = check_out_file(out_path, force=True)  # replaced if it exists, as before; unwritable fails now
    contract = _engine_contract(rpc, engine, deployments)
    signer = _signer(keystore)
    if owner is not None and not Web3.is_address(owner):
        raise UserError(f"--owner {owner!r} is not an address")
    owner = Web3.to_checksum_address(owner) if owner else signer.address
    size_wad, limit_wad, max_fee_wad = _wad(size, "--size"), _wad(limit_price, "--limit"), _wad(max_fee, "--max-fee")
    if size_wad == 0 or limit_wad < 0 or max_fee_wad < 0 or sub < 0 or market_id < 0 or expires_in_s < 0:
        raise UserError("--size must be non-zero; --limit, --max-fee, --sub, --market and --expires-in non-negative")
    if market_id >= contract.call("marketCount"):
        raise UserError(f"--market {market_id}: the engine has markets 0 to {contract.call('marketCount') - 1}")
    nonce = time.time_ns() // 1000 if nonce is None else nonce
    expiry = contract.chain.w3.eth.get_block("latest")["timestamp"] + expires_in_s
    order = Order(owner, sub, market_id, size_wad, limit_wad, max_fee_wad, nonce, expiry)
    digest = order_digest(order, contract.chain.chain_id, contract.address)
    if bytes(contract.call("orderDigest", order)) != digest:
        raise UserError(f"the engine at {contract.address} computes another digest for this order: is it a MarginEngine of this version?")
    doc = {
        "format": ORDER_FORMAT, "chain_id": contract.chain.chain_id, "engine": contract.address,
        "order": {"owner": owner, "sub": sub, **dict(zip(ORDER_KEYS, (market_id, size_wad, limit_wad, max_fee_wad, nonce, expiry)))},
        "digest": digest, "signature": sign_digest(digest, signer.private_key),
    }
    atomic_write_text(out_path, dumps(doc) + "\n")
    doc = json_value(doc)
    emit(ctx, doc, (["field", "value"], [(k, v) for k, v in doc["order"].items()] + [("digest", doc["digest"]), ("file", out_path)]),
         title=f"signed order for {contract.address} on chain {contract.chain.chain_id}")
    ctx.info(f"next: the operator fills it against an opposite order (`pymargin fill-orders {out_path} OTHER.json --size S --price P`)")


@click.command("fill-orders")
@_engine_options
@click.argument("taker_path", type=click.Path(path_type=Path))
@click.argument("maker_path", type=click.Path(path_type=Path))
@click.option("--size", required=True, help="The taker's signed fill size in base units (the maker gets the opposite).")
@click.option("--price", required=True, help="Fill price (quote per base unit), within both limits and the band.")
@click.pass_obj
def fill_orders_cmd(ctx, rpc, engine, deployments, keystore, taker_path, maker_path, size, price) -> None:
    """Operator: submit a fill of two signed orders (files from `pymargin sign-order`) as one trade.

    The engine checks both signatures, limits, expiry, nonces, remaining sizes and fee caps, then
    the fill's band, margin and open-interest rules; a refusal prints the engine's error and exits 1.

    \b
    Example:
      PYMARGIN_PRIVATE_KEY=0x... pymargin fill-orders buy.json sell.json --size 0.5 --price 2005 --rpc http://127.0.0.1:8545
    """
    from pymargin.cli.chain_cmds import _signer as chain_signer

    contract = _engine_contract(rpc, engine, deployments)
    signer = chain_signer(contract.chain, keystore)  # on a devnet without a key: the node's first account
    taker, taker_sig = _read_order(taker_path, contract)
    maker, maker_sig = _read_order(maker_path, contract)
    size_wad, price_wad = _wad(size, "--size"), _wad(price, "--price")
    receipt = _transact(contract, "trade", taker, taker_sig, maker, maker_sig, size_wad, price_wad, sender=signer)
    filled = [(bytes_hex(a["digest"]), a["fillWad"], a["filledWad"]) for name, a in contract.decode_logs(receipt) if name == "OrderFilled"]
    data = {"tx_hash": bytes_hex(receipt.transactionHash), "trade_gas": receipt.gasUsed,
            "filled": [{"digest": d, "fill_wad": f, "filled_wad": t} for d, f, t in filled]}
    emit(ctx, data, (["order digest", "this fill", "filled so far"], [(d, f / WAD, t / WAD) for d, f, t in filled]),
         title=f"trade {data['tx_hash']} ({receipt.gasUsed:,} gas)")
    ctx.info("next: the keeper updates prices (`pymargin set-prices --file prices.csv`) and takes a checkpoint (`pymargin checkpoint`)")


@click.command("cancel-orders")
@_engine_options
@click.argument("order_path", type=click.Path(path_type=Path), required=False)
@click.option("--below", "below_nonce", type=UINT256, default=None, help="Cancel every order of yours with a nonce below this.")
@click.pass_obj
def cancel_orders_cmd(ctx, rpc, engine, deployments, keystore, order_path, below_nonce) -> None:
    """Cancel one signed order (its file), or all your orders below a nonce (--below N).

    \b
    Example:
      PYMARGIN_PRIVATE_KEY=0x... pymargin cancel-orders buy.json --rpc http://127.0.0.1:8545
      PYMARGIN_PRIVATE_KEY=0x... pymargin cancel-orders --below 1735000000000000 --rpc http://127.0.0.1:8545
    """
    if (order_path is None) == (below_nonce is None):
        raise UserError("give an order file or --below NONCE (one of the two)")
    contract = _engine_contract(rpc, engine, deployments)
    signer = _signer(keystore)
    if order_path is not None:
        order, _ = _read_order(order_path, contract)
        receipt = _transact(contract, "cancelOrder", order, sender=signer)
    else:
        receipt = _transact(contract, "cancelOrdersBelow", below_nonce, sender=signer)
    data = {"tx_hash": bytes_hex(receipt.transactionHash), "events": [name for name, _ in contract.decode_logs(receipt)],
            "min_nonce": contract.call("minNonce", signer.address)}
    emit(ctx, data, (["tx", "events", "your minNonce"], [(data["tx_hash"], ", ".join(data["events"]), data["min_nonce"])]))


COMMANDS = [sign_order_cmd, fill_orders_cmd, cancel_orders_cmd]
