"""Engine commands: margin (account health of a deployed MarginEngine) and crosscheck (the Python
reference engine against the contract, view by view)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pymargin.cli.output import emit
from pymargin.errors import UserError

ACCOUNT_VIEWS = ("equity", "initialMargin", "maintenanceMargin", "freeCollateral", "marginRatio", "isLiquidatable")
CHECKED_VIEWS = ACCOUNT_VIEWS + ("unrealisedPnl", "pendingFunding", "collateral", "accountState")
JSON_KEYS = {"equity": "equity_wad", "initialMargin": "initial_margin_wad", "maintenanceMargin": "maintenance_margin_wad",
             "freeCollateral": "free_collateral_wad", "marginRatio": "margin_ratio_wad", "isLiquidatable": "liquidatable"}


def _engine_contract(rpc: str | None, engine: str | None, deployments: Path):
    """The deployed MarginEngine: --engine ADDRESS, else the one recorded in deployments/<chainId>.json."""
    from pymargin.chain import deploy, devnet
    from pymargin.chain.checkpoints import engine_at

    if not rpc:
        raise UserError("this command needs --rpc URL (or PYMARGIN_RPC_URL): the chain the engine is deployed on")
    chain = devnet.connect(rpc)
    if engine is None:
        manifest = deploy.load_manifest(chain.chain_id, deployments)
        found = [r["address"] for r in manifest["contracts"].values() if r.get("artifact") == "MarginEngine"]
        if len(found) != 1:
            where = deploy.manifest_path(chain.chain_id, deployments)
            raise UserError(f"{where} records {len(found)} MarginEngine deployments: pass --engine ADDRESS")
        engine = found[0]
    return engine_at(chain, engine)


def _accounts(specs: tuple[str, ...], engine) -> list[tuple[str, int]]:
    """--account OWNER:SUB values, or every opened account of the engine."""
    from web3 import Web3

    if not specs:
        return list(engine.state.accounts)
    out = []
    for spec in specs:
        owner, _, sub = spec.rpartition(":")
        if not Web3.is_address(owner) or not sub.isdigit():
            raise UserError(f"--account {spec!r}: expected OWNER:SUB, e.g. 0xAbC…:0")
        out.append((Web3.to_checksum_address(owner), int(sub)))
    return out


def _wad(value: int) -> str:
    """A WAD integer as an exact decimal string (trailing zeros dropped)."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**18)
    text = f"{whole}.{frac:018d}".rstrip("0").rstrip(".")
    return sign + text


def _view(engine, name: str, owner: str, sub: int):
    """A Python engine view, or ('revert', name, args) where the contract would revert."""
    from pymargin.errors import Revert

    try:
        return getattr(engine, _snake(name))(owner, sub)
    except Revert as exc:
        return ("revert", exc.name, exc.args_)


def _json_view(value):
    """A view's value in margin --json: the value, or {"revert": error name, "args": [...]} where it reverts."""
    if isinstance(value, tuple):
        return {"revert": value[1], "args": list(value[2])}
    return value


def _snake(name: str) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _block(contract, block: int | None) -> int:
    from pymargin.chain.devnet import check_block

    return contract.chain.w3.eth.block_number if block is None else check_block(contract.chain, block)


@click.command("margin")
@click.option("--rpc", envvar="PYMARGIN_RPC_URL", default=None, help="RPC URL of the chain [env PYMARGIN_RPC_URL].")
@click.option("--engine", default=None, help="MarginEngine address [default: the one in deployments/<chainId>.json].")
@click.option("--deployments", type=click.Path(path_type=Path), default=Path("deployments"), show_default=True)
@click.option("--account", "accounts", multiple=True, help="OWNER:SUB to show (repeatable) [default: every account].")
@click.option("--block", type=int, default=None, help="Block number to read [default: the latest].")
@click.pass_obj
def margin_cmd(ctx, rpc, engine, deployments, accounts, block) -> None:
    """Equity, initial and maintenance margin, free collateral, margin ratio and liquidatable
    for the accounts of a deployed MarginEngine.

    The engine's state is read once at one block into the Python reference engine (the same
    formulas and reverts as the contract; `pymargin crosscheck` proves it view by view). Amounts
    are quote units (WAD / 1e18), exact; --json gives the integers. An account whose market
    oracle is stale or invalid shows the revert.

    \b
    Example:
      pymargin margin --rpc http://127.0.0.1:8545
      pymargin --json margin --rpc http://127.0.0.1:8545 --account 0x70997970C51812dc3A010C7d01b50e0d17dc79C8:0
    """
    from pymargin.engine import Engine

    contract = _engine_contract(rpc, engine, deployments)
    number = _block(contract, block)
    mirror = Engine.from_chain(contract, number)
    rows, data = [], []
    for owner, sub in _accounts(accounts, mirror):
        values = {name: _view(mirror, name, owner, sub) for name in ACCOUNT_VIEWS}
        data.append({"owner": owner, "sub": sub, **{JSON_KEYS[k]: _json_view(v) for k, v in values.items()}})
        shown = []
        for name in ACCOUNT_VIEWS:
            v = values[name]
            if isinstance(v, tuple):
                shown.append(f"{v[1]}{tuple(v[2])}")
            elif isinstance(v, bool):
                shown.append("YES" if v else "no")
            elif name == "marginRatio" and v == 2**255 - 1:
                shown.append("∞")
            else:
                shown.append(_wad(v))
        rows.append((f"{owner}:{sub}", *shown))
    emit(ctx, {"chain_id": contract.chain.chain_id, "engine": contract.address, "block": number, "accounts": data},
         (["account", "equity", "IM", "MM", "free collateral", "margin ratio", "liquidatable"], rows),
         title=f"MarginEngine {contract.address} at block {number}")


@click.command("crosscheck")
@click.option("--rpc", envvar="PYMARGIN_RPC_URL", default=None, help="RPC URL of the chain [env PYMARGIN_RPC_URL].")
@click.option("--engine", default=None, help="MarginEngine address [default: the one in deployments/<chainId>.json].")
@click.option("--deployments", type=click.Path(path_type=Path), default=Path("deployments"), show_default=True)
@click.option("--block", type=int, default=None, help="Block number to check [default: the latest].")
@click.pass_obj
def crosscheck_cmd(ctx, rpc, engine, deployments, block) -> None:
    """Check the Python reference engine against a deployed MarginEngine, view by view.

    Loads the contract's state at one block into pymargin.engine.Engine, then calls every account
    view (equity, margins, PnL, funding, collateral, stored state) for every account and every
    market view on the contract at that block, and compares values and reverts. Exits 1 on any
    difference.

    \b
    Example:
      pymargin crosscheck --rpc http://127.0.0.1:8545
    """
    from pymargin.chain.tx import ContractRevert
    from pymargin.engine import Engine
    from pymargin.errors import Revert

    contract = _engine_contract(rpc, engine, deployments)
    number = _block(contract, block)
    mirror = Engine.from_chain(contract, number)
    checks = [(name, (owner, sub)) for owner, sub in mirror.state.accounts for name in CHECKED_VIEWS]
    checks += [("marketView", (m,)) for m in range(mirror.market_count())]
    mismatches, rows = [], []
    for name, args in checks:
        try:
            on_chain = _plain(contract.call(name, *args, block=number))
        except ContractRevert as exc:
            on_chain = ("revert", exc.name, _plain(exc.args_))
        try:
            in_python = _plain(getattr(mirror, _snake(name))(*args))
        except Revert as exc:
            in_python = ("revert", exc.name, _plain(exc.args_))
        if on_chain != in_python:
            mismatches.append({"view": name, "args": [str(a) for a in args], "chain": str(on_chain), "python": str(in_python)})
            rows.append((name, ", ".join(str(a) for a in args), str(on_chain), str(in_python)))
    emit(ctx, {"chain_id": contract.chain.chain_id, "engine": contract.address, "block": number,
               "account_count": len(mirror.state.accounts), "view_count": len(checks), "mismatches": mismatches},
         (["view", "args", "chain", "python"], rows),
         title=f"{len(checks)} views checked at block {number}: {len(mismatches)} differ")
    if mismatches:
        sys.exit(1)


def _plain(value):
    """Tuples for lists/tuples, so chain and Python results compare."""
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


COMMANDS = [margin_cmd, crosscheck_cmd]
