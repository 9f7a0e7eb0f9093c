"""Solvency-proof commands: prove, verify, post-epoch."""

from __future__ import annotations

import time
from pathlib import Path

import click

from pymargin.cli._common import emit
from pymargin.errors import UserError
from pymargin.fsutil import check_out_file


def _secret(secret_file: Path | None) -> bytes:
    from pymargin.cli.commit_cmds import _secret as commit_secret

    return commit_secret(secret_file)


@click.command("prove")
@click.argument("positions", type=click.Path(path_type=Path))
@click.option("--epoch", type=int, required=True, help="Epoch number.")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="Epoch proof file to write (JSON).")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
@click.option("--depth", type=int, required=True, help="Tree depth the registry expects (2^depth accounts at most).")
@click.option("--batch-log2", "k", type=int, default=6, show_default=True, help="log2 of the accounts per batch circuit.")
@click.option("--markets", "m", type=int, default=4, show_default=True, help="Market slots of the circuit.")
@click.option("--chain-id", type=int, required=True, help="Chain id of the registry the proof is for.")
@click.option("--registry", required=True, help="SolvencyRegistry address the proof is for.")
@click.option("--secret-file", type=click.Path(path_type=Path), default=None, help="Operator secret (64 hex digits) [or $PYMARGIN_COMMIT_SECRET].")
@click.option("--backend", type=click.Choice(["groth16py", "snarkjs"]), default=None, help="Prover [default: groth16py if installed].")
@click.option("--ptau", type=click.Path(path_type=Path), default=None, help="Ceremony Powers of Tau file (production setup); default: a cached DEVELOPMENT setup.")
@click.option("--workers", type=int, default=1, show_default=True, help="Batches proven in parallel processes.")
@click.option("--ray", "ray_address", default=None, help="Prove on a Ray cluster at this address ('local' starts one here).")
@click.pass_obj
def prove_cmd(ctx, positions, epoch, out, force, depth, k, m, chain_id, registry, secret_file, backend, ptau, workers, ray_address) -> None:
    """Prove that every account of a positions file is solvent, in chained batches.

    Commits the book (docs/spec.md §6) and proves SolvencyBatch for each batch of 2^k accounts
    (docs/spec.md §7), bound to the epoch, chain id and registry address. Writes one JSON file that
    anyone re-verifies with `pymargin verify`.

    \b
    Example:
      pymargin prove book.json --epoch 1 --depth 10 --chain-id 31337 \\
          --registry 0x... --secret-file secret.hex --out epoch-1.json --workers 2
    """
    from pymargin.book import load_book
    from pymargin.commit.commitment import commit_accounts
    from pymargin.zk.backends import default_backend_name
    from pymargin.zk.inputs import EpochContext, market_table
    from pymargin.zk.solvency import prove_epoch

    out = check_out_file(out, force=force)
    secret = _secret(secret_file)
    book = load_book(positions)
    with ctx.progress.status(f"committing {len(book.accounts):,} accounts"):
        commitment = commit_accounts(book.accounts, book.markets, secret, epoch, depth)
    try:
        registry_int = int(registry, 16)
    except ValueError:
        raise UserError(f"--registry must be a hex address, got {registry!r}") from None
    context = EpochContext(epoch, chain_id, registry_int, depth, market_table(book.markets, m), commitment.root)
    started = time.perf_counter()
    with ctx.progress.status(f"proving {2 ** (depth - k)} batch(es) of {2 ** k} accounts (the first run also compiles the circuit and makes its keys)"):
        proof, keys = prove_epoch(commitment, secret, context, k, m, backend or default_backend_name(), ptau, workers, ray_address)
    proof.save(out)
    elapsed = time.perf_counter() - started
    if keys.development:
        ctx.info("note: DEVELOPMENT trusted setup (made on this machine); use --ptau with a ceremony file for real funds")
    emit(ctx, {"out": str(out), "batches": len(proof.proofs), "seconds": round(elapsed, 2), "setup": keys.setup_id,
               "keys": str(keys.dir), "root": commitment.root.to_json()},
         (["field", "value"], [("out", out), ("batches", len(proof.proofs)), ("seconds", f"{elapsed:.1f}"),
                               ("setup", keys.setup_id), ("verifying key", keys.vk_path), ("total equity", commitment.root.equity)]))


@click.command("verify")
@click.argument("proof_file", type=click.Path(path_type=Path))
@click.option("--vk", "vk_path", type=click.Path(path_type=Path), required=True, help="Verifying key (snarkjs verification_key.json).")
@click.option("--rpc", envvar="PYMARGIN_RPC_URL", default=None, help="Also verify every batch with the on-chain verifier.")
@click.option("--verifier", default=None, help="Groth16 verifier contract address (with --rpc).")
@click.pass_obj
def verify_cmd(ctx, proof_file, vk_path, rpc, verifier) -> None:
    """Verify an epoch proof in Python (py-ecc), and with --rpc also on-chain.

    Checks the chain of batches is complete, each public signal is the hash of the epoch context
    and chain states, and each Groth16 proof. Exits 1 if anything fails.

    \b
    Example:
      pymargin verify epoch-1.json --vk build/zk/keys/.../verification_key.json
    """
    import sys

    from pymargin.zk.proof import VerifyingKey
    from pymargin.zk.solvency import EpochProof, verify_epoch

    epoch = EpochProof.load(proof_file)
    problems = verify_epoch(epoch, VerifyingKey.load(vk_path))
    if rpc:
        if not verifier:
            raise UserError("--rpc needs --verifier ADDRESS")
        from pymargin.chain.devnet import connect
        from pymargin.chain.solvency import verify_onchain, verifier_contract

        contract = verifier_contract(connect(rpc), verifier)
        problems += [f"batch {i}: the on-chain verifier rejects it" for i, p in enumerate(epoch.proofs) if not verify_onchain(contract, p)]
    data = {"ok": not problems, "batches": len(epoch.proofs), "problems": problems}
    emit(ctx, data, (["check", "result"], [("batches", len(epoch.proofs)), ("result", "valid" if not problems else "INVALID")] + [("problem", p) for p in problems]))
    if problems:
        sys.exit(1)


@click.command("post-epoch")
@click.argument("proof_file", type=click.Path(path_type=Path))
@click.option("--rpc", envvar="PYMARGIN_RPC_URL", required=True, help="RPC URL of the chain [env PYMARGIN_RPC_URL].")
@click.option("--registry", required=True, help="SolvencyRegistry address.")
@click.option("--keystore", type=click.Path(path_type=Path), default=None, help="Keystore of the operator; password in PYMARGIN_KEYSTORE_PASSWORD.")
@click.pass_obj
def post_epoch_cmd(ctx, proof_file, rpc, registry, keystore) -> None:
    """Post an epoch proof to a SolvencyRegistry (the operator's transaction).

    The registry checks the market views against the engine, reserves >= total liabilities, the
    batch chain and every proof; a rejection prints the registry's custom error.

    \b
    Example:
      pymargin post-epoch epoch-1.json --rpc http://127.0.0.1:8545 --registry 0x...
    """
    from pymargin.chain.devnet import connect
    from pymargin.cli.chain_cmds import _signer
    from pymargin.chain.solvency import post_epoch, registry_contract
    from pymargin.zk.solvency import EpochProof

    epoch = EpochProof.load(proof_file)
    chain = connect(rpc, expected_chain_id=epoch.ctx.chain_id)
    contract = registry_contract(chain, registry)
    if int(contract.address, 16) != epoch.ctx.registry:
        raise UserError(f"the proof is for registry {hex(epoch.ctx.registry)}, not {registry}")
    receipt = post_epoch(contract, epoch, _signer(chain, keystore))
    emit(ctx, {"tx": receipt.transactionHash.hex(), "gas_used": receipt.gasUsed, "epoch": epoch.ctx.epoch},
         (["field", "value"], [("epoch", epoch.ctx.epoch), ("tx", receipt.transactionHash.hex()), ("gas used", receipt.gasUsed)]))


COMMANDS = [prove_cmd, verify_cmd, post_epoch_cmd]
