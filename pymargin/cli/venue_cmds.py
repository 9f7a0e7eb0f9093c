"""Commands that drive a deployed venue: deposit and withdraw collateral, set devnet oracle prices from
a file, take an engine checkpoint (keeper). Addresses default from deployments/<chainId>.json; each
command names the next step of the workflow (README "Walkthrough on anvil")."""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from pymargin.cli.output import emit
from pymargin.jsonvalues import bytes_hex
from pymargin.errors import UserError
from pymargin.model import wad_decimal

WAD = 10**18

_OPTIONS = [
    click.option("--rpc", envvar="PYMARGIN_RPC_URL", default=None, help="RPC URL of the chain [env PYMARGIN_RPC_URL]."),
    click.option("--engine", default=None, help="MarginEngine address [default: the one in deployments/<chainId>.json]."),
    click.option("--deployments", type=click.Path(path_type=Path), default=Path("deployments"), show_default=True),
    click.option("--keystore", type=click.Path(path_type=Path), default=None,
                 help="Encrypted JSON keystore [default: PYMARGIN_PRIVATE_KEY; on a devnet the node's first account]."),
]


def _venue_options(fn):
    for option in reversed(_OPTIONS):
        fn = option(fn)
    return fn


def _tx_hash(receipt) -> str:
    return bytes_hex(bytes(receipt.transactionHash))


def _short(tx_hash: str) -> str:
    """A transaction hash for an 80-column table: ``0x12ab…cdef``."""
    return f"{tx_hash[:6]}…{tx_hash[-4:]}"


def _send(contract, fn: str, *args, sender):
    """``contract.fn(*args)`` from ``sender``, simulated first (eth_estimateGas); a revert is one line, exit 1."""
    from pymargin.chain.tx import ContractRevert
    from pymargin.cli.order_cmds import RevertError

    try:
        return contract.transact(fn, *args, sender=sender)
    except ContractRevert as exc:
        raise RevertError(f"{contract.name} at {contract.address} refuses {fn}: {exc}; nothing was sent") from None


def _units(text: str, decimals: int, what: str) -> int:
    """A non-negative decimal string as an integer number of 10^-decimals units, exact (UserError otherwise)."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UserError(f"{what} {text!r} is not a decimal number") from None
    if not value.is_finite() or value < 0:
        raise UserError(f"{what} {text!r} must be a non-negative number")
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise UserError(f"{what} {text!r} has more than {decimals} decimals")
    return int(scaled)


def _engine_and_signer(rpc, engine, deployments, keystore):
    from pymargin.cli.chain_cmds import _signer
    from pymargin.cli.engine_cmds import _engine_contract

    contract = _engine_contract(rpc, engine, deployments)
    return contract, _signer(contract.chain, keystore)


def _token(engine):
    from pymargin.chain.compile import load_artifact
    from pymargin.chain.contracts import Contract

    return Contract(engine.chain, "TestToken", engine.call("collateralToken"), load_artifact("TestToken"), engine.decoder)


@click.command("deposit")
@_venue_options
@click.argument("amount")
@click.option("--sub", type=click.IntRange(0), default=0, show_default=True, help="Sub-account (0 cross margin, ≥ 1 isolated).")
@click.option("--mint", is_flag=True, help="First mint AMOUNT of the test token to yourself (a TestToken on a devnet or testnet).")
@click.pass_obj
def deposit_cmd(ctx, rpc, engine, deployments, keystore, amount, sub, mint) -> None:
    """Deposit AMOUNT collateral tokens (a decimal such as 2500.5) into your sub-account.

    Approves the engine for AMOUNT if its allowance is lower, then deposits; every transaction is
    simulated first and a refusal prints the contract's error (exit 1).

    \b
    Example:
      PYMARGIN_PRIVATE_KEY=0x... pymargin deposit 10000 --mint --rpc http://127.0.0.1:8545
    """
    contract, signer = _engine_and_signer(rpc, engine, deployments, keystore)
    token = _token(contract)
    decimals = token.call("decimals")
    amount_units = _units(amount, decimals, "AMOUNT")
    if amount_units == 0:
        raise UserError("AMOUNT must be positive")
    hashes = []
    if mint:
        hashes.append(_tx_hash(_send(token, "mint", signer.address, amount_units, sender=signer)))
    balance = token.call("balanceOf", signer.address)
    if balance < amount_units:
        raise UserError(f"{signer.address} holds {format(Decimal(balance).scaleb(-decimals).normalize(), 'f')} tokens, less than {amount}"
                        + ("" if mint else ": add --mint on a test token"))
    if token.call("allowance", signer.address, contract.address) < amount_units:
        hashes.append(_tx_hash(_send(token, "approve", contract.address, amount_units, sender=signer)))
    receipt = _send(contract, "deposit", sub, amount_units, sender=signer)
    hashes.append(_tx_hash(receipt))
    collateral = contract.call("collateral", signer.address, sub)
    data = {"account": f"{signer.address}:{sub}", "amount_tokens": amount_units, "collateral_wad": collateral,
            "tx_hashes": hashes}
    emit(ctx, data, (["account", "deposited", "collateral", "tx"],
                     [(data["account"], amount, wad_decimal(collateral), _short(hashes[-1]))]))
    ctx.info("next: sign an order with this key (`pymargin sign-order --market 0 --size 1 --limit 2010 --out buy.json`)")


@click.command("withdraw")
@_venue_options
@click.argument("amount")
@click.option("--sub", type=click.IntRange(0), default=0, show_default=True, help="Sub-account.")
@click.pass_obj
def withdraw_cmd(ctx, rpc, engine, deployments, keystore, amount, sub) -> None:
    """Withdraw AMOUNT collateral tokens from your sub-account (equity must stay ≥ initial margin).

    \b
    Example:
      PYMARGIN_PRIVATE_KEY=0x... pymargin withdraw 500 --rpc http://127.0.0.1:8545
    """
    contract, signer = _engine_and_signer(rpc, engine, deployments, keystore)
    decimals = _token(contract).call("decimals")
    amount_units = _units(amount, decimals, "AMOUNT")
    receipt = _send(contract, "withdraw", sub, amount_units, sender=signer)
    collateral = contract.call("collateral", signer.address, sub)
    data = {"account": f"{signer.address}:{sub}", "amount_tokens": amount_units, "collateral_wad": collateral,
            "tx_hash": _tx_hash(receipt)}
    emit(ctx, data, (["account", "withdrawn", "collateral", "tx"],
                     [(data["account"], amount, wad_decimal(collateral), _short(data["tx_hash"]))]))
    ctx.info("next: check your margin (`pymargin margin`)")


def read_price_file(path: Path) -> list[tuple[str, str]]:
    """(market, price) rows of a CSV with header ``market,price`` (market: name or id); UserError naming the line."""
    try:
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    if not rows or [c.strip().lower() for c in rows[0]] != ["market", "price"]:
        raise UserError(f"{path}: the first line must be the header 'market,price'")
    out = []
    for number, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 2:
            raise UserError(f"{path}:{number}: expected 'market,price', got {','.join(row)!r}")
        out.append((row[0].strip(), row[1].strip()))
    if not out:
        raise UserError(f"{path}: no price lines after the header")
    return out


def _market_id(market: str, names: list[str], path: Path) -> int:
    if market in names:
        return names.index(market)
    if market.isdigit() and int(market) < len(names):
        return int(market)
    raise UserError(f"{path}: unknown market {market!r}: the engine has {', '.join(f'{i} {n}' for i, n in enumerate(names))}")


@click.command("set-prices")
@_venue_options
@click.option("--file", "price_file", type=click.Path(path_type=Path), required=True,
              help="CSV with header 'market,price': one line per market update (name or id; quote per base unit).")
@click.pass_obj
def set_prices_cmd(ctx, rpc, engine, deployments, keystore, price_file) -> None:
    """Set devnet oracle prices from a file, stamped with the latest block's time.

    A DevOracle takes setPrice (its owner: the deployer); a ChainlinkAdapter over a MockAggregatorV3
    takes setRound with the price in the feed's decimals (exact, or refused). A market on a real
    Chainlink feed is refused: its price comes from the feed. Every line is checked before the
    first transaction.

    \b
    Example:
      printf 'market,price\\nETH-PERP,2012.5\\nSOL-PERP,148.25\\n' > prices.csv
      pymargin set-prices --file prices.csv --rpc http://127.0.0.1:8545
    """
    from pymargin.chain.compile import load_artifact
    from pymargin.chain.contracts import Contract
    from pymargin.chain.deploy import load_manifest

    rows = read_price_file(price_file)
    contract, signer = _engine_and_signer(rpc, engine, deployments, keystore)
    chain = contract.chain
    names = [contract.call("marketState", m)[1] for m in range(contract.call("marketCount"))]
    kinds = {r["address"].lower(): r["artifact"] for r in load_manifest(chain.chain_id, deployments)["contracts"].values()}
    updates = []
    for market, price in rows:  # check every line first, send afterwards
        market_id = _market_id(market, names, price_file)
        price_wad = _units(price, 18, f"{price_file}: {market} price")
        if price_wad == 0:
            raise UserError(f"{price_file}: {market} price must be positive")
        oracle = contract.call("marketState", market_id)[0]
        kind = kinds.get(oracle.lower())
        if kind == "DevOracle":
            target = Contract(chain, "DevOracle", oracle, load_artifact("DevOracle"), contract.decoder)
            updates.append((market_id, price, price_wad, target, "setPrice", price_wad))
            continue
        feed = Contract(chain, "ChainlinkAdapter", oracle, load_artifact("ChainlinkAdapter"), contract.decoder).call("feed") \
            if kind == "ChainlinkAdapter" else None
        if feed is None or kinds.get(feed.lower()) != "MockAggregatorV3":
            raise UserError(f"{price_file}: market {names[market_id]} reads oracle {oracle}, which is not a devnet oracle "
                            "recorded in the manifest: its price comes from its feed")
        target = Contract(chain, "MockAggregatorV3", feed, load_artifact("MockAggregatorV3"), contract.decoder)
        decimals = target.call("decimals")
        updates.append((market_id, price, price_wad, target, "setRound", _units(price, decimals, f"{price_file}: {market} price")))
    now = chain.w3.eth.get_block("latest")["timestamp"]
    done = []
    for market_id, price, price_wad, target, fn, value in updates:
        receipt = _send(target, fn, value, now, sender=signer)
        done.append({"market_id": market_id, "market": names[market_id], "price_wad": price_wad, "updated_at_s": now,
                     "oracle": target.address, "tx_hash": _tx_hash(receipt)})
    emit(ctx, {"updates": done, "update_count": len(done)},
         (["market", "price", "oracle", "tx"], [(f"{d['market_id']} {d['market']}", wad_decimal(d["price_wad"]), d["oracle"],
                                                 _short(d["tx_hash"])) for d in done]))
    ctx.info("next: the keeper takes a checkpoint (`pymargin checkpoint`)")


@click.command("checkpoint")
@_venue_options
@click.pass_obj
def checkpoint_cmd(ctx, rpc, engine, deployments, keystore) -> None:
    """Keeper: take an engine checkpoint (accrue every market, record the book's aggregates; spec §5.11).

    \b
    Example:
      pymargin checkpoint --rpc http://127.0.0.1:8545
    """
    contract, signer = _engine_and_signer(rpc, engine, deployments, keystore)
    receipt = _send(contract, "checkpoint", sender=signer)
    (event,) = [args for name, args in contract.decode_logs(receipt) if name == "CheckpointTaken"]
    checkpoint_id = event["id"]
    data = {"checkpoint_id": checkpoint_id, "block": receipt.blockNumber, "engine": contract.address,
            "account_count": event["data"]["accountCount"], "tx_hash": _tx_hash(receipt)}
    emit(ctx, data, (["checkpoint", "block", "accounts", "tx"],
                     [(checkpoint_id, receipt.blockNumber, data["account_count"], _short(data["tx_hash"]))]))
    ctx.info(f"next: commit the book at it (`pymargin commit --checkpoint {checkpoint_id} --out epoch-{checkpoint_id}`)")


COMMANDS = [deposit_cmd, withdraw_cmd, set_prices_cmd, checkpoint_cmd]
