"""Chain commands: compile, devnet, deploy, verify-deployment."""

from __future__ import annotations

import time
from pathlib import Path

import click

from pymargin.cli.output import emit
from pymargin.cli.output import emit_line
from pymargin.errors import UserError
from pymargin.fsutil import check_out_dir


def _signer(chain, keystore: Path | None):
    from pymargin.chain import tx

    if keystore is not None:
        return tx.keystore_signer(keystore)
    signer = tx.env_signer()
    if signer is not None:
        return signer
    if chain.is_devnet:
        return tx.node_signer(chain)
    raise UserError("no signer: set PYMARGIN_PRIVATE_KEY, or pass --keystore FILE with PYMARGIN_KEYSTORE_PASSWORD set")


@click.command("compile")
@click.option("--contracts", "src", type=click.Path(path_type=Path), default=None, help="Solidity sources folder [default: pymargin's own contracts].")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None, help="Artifacts folder [default: out/ of the checkout, or of the per-user cache when installed].")
@click.option("--force", is_flag=True, help="Recompile everything, even unchanged sources.")
@click.pass_obj
def compile_cmd(ctx, src: Path | None, out: Path | None, force: bool) -> None:
    """Compile the Solidity contracts into Foundry-shaped artifacts.

    Uses the pinned solc (native if the right version is on PATH, else the npm package) and writes
    out/<File>.sol/<Contract>.json. Unchanged sources are not recompiled.

    \b
    Example:
      pymargin compile
      pymargin --json compile --force
    """
    from pymargin.chain.compile import CONTRACTS_DIR, OUT_DIR, compile_contracts, find_compiler

    out = check_out_dir(out or OUT_DIR, existing_ok=True)
    started = time.perf_counter()
    artifacts = compile_contracts(src or CONTRACTS_DIR, out, force=force)
    elapsed = time.perf_counter() - started
    data = {"compiler": find_compiler().version, "compile_s": round(elapsed, 2),
            "artifacts": [{"contract": k, "path": v} for k, v in sorted(artifacts.items())]}
    emit(ctx, data, (["contract", "artifact"], sorted((k, str(v)) for k, v in artifacts.items())), title=f"compiled in {elapsed:.1f} s")


@click.command("devnet")
@click.option("--port", type=int, default=8545, show_default=True, help="Loopback port for anvil (0 = any free port).")
@click.option("--chain-id", type=click.IntRange(1, 2**64 - 1), default=31337, show_default=True)
@click.option("--block-time", type=click.IntRange(1), default=None, help="Mine a block every N seconds (default: on each transaction).")
@click.pass_obj
def devnet_cmd(ctx, port: int, chain_id: int, block_time: int | None) -> None:
    """Run a local anvil node until Ctrl-C; print its URL and funded accounts.

    The node is the pinned anvil from node_modules, listening on 127.0.0.1 only. Its ten dev
    accounts hold 10,000 ETH each; their keys are anvil's well-known test keys (never use them on
    a public network).

    \b
    Example:
      pymargin devnet --port 8545
      PYMARGIN_RPC_URL=http://127.0.0.1:8545 pymargin deploy --config deployments/example.anvil.json
    """
    from pymargin.chain import devnet

    extra = ["--block-time", str(block_time)] if block_time else []
    chain = devnet.start_anvil(port=port or None, chain_id=chain_id, extra_args=extra)
    try:
        if ctx.as_json:
            emit_line({"url": chain.url, "chain_id": chain.chain_id, "pid": chain.anvil.pid, "accounts": list(chain.accounts)})
        else:
            click.echo(f"anvil {chain.url}  chain id {chain.chain_id}  pid {chain.anvil.pid}")
            for i, account in enumerate(chain.accounts):
                click.echo(f"  ({i}) {account}")
            click.echo("Ctrl-C to stop.")
        while chain.anvil.popen.poll() is None:
            time.sleep(0.5)
        raise UserError(f"anvil exited with code {chain.anvil.popen.returncode}")
    finally:
        chain.close()


@click.command("deploy")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True,
              help="Deploy config (pymargin-deploy/1, docs/deploy.md; example: deployments/example.anvil.json).")
@click.option("--rpc", envvar="PYMARGIN_RPC_URL", default=None, help="RPC URL of the target chain [env PYMARGIN_RPC_URL].")
@click.option("--keystore", type=click.Path(path_type=Path), default=None, help="Encrypted JSON keystore; password in PYMARGIN_KEYSTORE_PASSWORD.")
@click.option("--deployments", type=click.Path(path_type=Path), default=Path("deployments"), show_default=True, help="Folder of <chainId>.json manifests.")
@click.pass_obj
def deploy_cmd(ctx, config_path: Path, rpc: str | None, keystore: Path | None, deployments: Path) -> None:
    """Deploy a venue from a config and record every address in deployments/<chainId>.json.

    Deploys the collateral token (a TestToken, or the config's existing token), one oracle per
    market (DevOracle, a mock Chainlink feed, or a ChainlinkAdapter over a real feed), the
    MarginEngine with its markets, keepers and operators, and — with a "solvency" section — the
    Groth16 verifier of SolvencyBatch(K, M, T) (its keys made once and cached), the Poseidon hashers
    and the SolvencyRegistry. The signer is PYMARGIN_PRIVATE_KEY or --keystore (never an argument);
    on a devnet without either, the node's first account. The chain id and the signer's balance are
    checked before anything is sent; every transaction is simulated first. Re-running reuses what
    the manifest records and the chain still holds.

    \b
    Example:
      pymargin devnet &                      # or any testnet RPC
      pymargin deploy --config deployments/example.anvil.json --rpc http://127.0.0.1:8545
    """
    from pymargin.chain import devnet
    from pymargin.chain.compile import compile_contracts
    from pymargin.chain.deploy import Deployer, require_funded
    from pymargin.chain.full_set import deploy_venue, load_config

    deployments = check_out_dir(deployments, option="--deployments", existing_ok=True)
    spec = load_config(config_path)
    if not rpc:
        raise UserError("deploy needs --rpc URL (or PYMARGIN_RPC_URL); for a local node start `pymargin devnet` first")
    chain = devnet.connect(rpc, expected_chain_id=spec.chain_id)
    signer = _signer(chain, keystore)
    require_funded(chain, signer)
    compile_contracts()
    deployer = Deployer(chain, signer, deployments, progress=ctx.info)
    venue = deploy_venue(chain, spec, deployer)
    emit_deployment(ctx, chain.chain_id, deployer, venue)


def emit_deployment(ctx, chain_id: int, deployer, venue) -> None:
    """Print what ``deploy`` did (--json: docs/schemas/deploy.schema.json; the venue's token, engine, verifier, registry)."""
    records = deployer.manifest["contracts"]
    touched = deployer.deployed + [n for n in deployer.reused if n not in deployer.deployed]
    contracts = [{"name": n, "artifact": records[n]["artifact"], "address": records[n]["address"],
                  "status": "deployed" if n in deployer.deployed else "reused"} for n in touched]
    data = {"chain_id": chain_id, "manifest": str(deployer.path), "contracts": contracts,
            "deployed": list(deployer.deployed), "reused": list(deployer.reused), "call_count": deployer.calls_sent,
            **venue.addresses}
    emit(ctx, data, (["contract", "address", "status"], [(c["name"], c["address"], c["status"]) for c in contracts]),
         title=f"chain {chain_id} -> {deployer.path}")
    ctx.info("next: fund accounts and deposit (`pymargin deposit AMOUNT --mint`), then sign orders (`pymargin sign-order`)")


@click.command("verify-deployment")
@click.option("--rpc", envvar="PYMARGIN_RPC_URL", required=True, help="RPC URL of the chain [env PYMARGIN_RPC_URL].")
@click.option("--deployments", type=click.Path(path_type=Path), default=Path("deployments"), show_default=True)
@click.option("--out", "out", type=click.Path(path_type=Path), default=None, help="Artifacts folder [default: out/].")
@click.pass_obj
def verify_deployment_cmd(ctx, rpc: str, deployments: Path, out: Path | None) -> None:
    """Check that every recorded address holds exactly its artifact's runtime bytecode.

    Exits 1 if any contract differs (immutables are masked before comparing).

    \b
    Example:
      pymargin verify-deployment --rpc http://127.0.0.1:8545
    """
    import sys

    from pymargin.chain import deploy, devnet
    from pymargin.chain.compile import OUT_DIR

    chain = devnet.connect(rpc)
    checks = deploy.verify_deployment(chain, deployments, out or OUT_DIR)
    emit(ctx, {"ok": all(c.ok for c in checks), "contracts": [c.__dict__ for c in checks]}, (["contract", "address", "ok", "detail"], [(c.name, c.address, "yes" if c.ok else "NO", c.reason) for c in checks]))
    if not all(c.ok for c in checks):
        sys.exit(1)


COMMANDS = [compile_cmd, devnet_cmd, deploy_cmd, verify_deployment_cmd]
