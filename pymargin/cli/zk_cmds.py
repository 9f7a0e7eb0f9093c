"""Solvency-proof commands: prove, verify, post-epoch."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import click

from pymargin.cli.output import emit
from pymargin.errors import UserError
from pymargin.fsutil import check_out_file
from pymargin.jsonvalues import bytes_hex

DEFAULT_MAX_GAS_PER_TX = 16_000_000  # under EIP-7825's 2^24 = 16,777,216 gas per transaction (Osaka)


def _secret(secret_file: Path | None) -> bytes:
    from pymargin.cli.commit_cmds import _secret as commit_secret

    return commit_secret(secret_file)


@click.command("prove")
@click.argument("positions", type=click.Path(path_type=Path))
@click.option("--epoch", type=int, required=True, help="Epoch number = the engine checkpoint id the book was taken at.")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="Epoch proof file to write (JSON).")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
@click.option("--depth", type=int, default=None, help="Tree depth the registry expects (2^depth accounts at most) [default with --rpc: its treeDepth()].")
@click.option("--batch-log2", "k", type=int, default=None, help="log2 of the accounts per batch circuit [default: the registry's K with --rpc, else 6].")
@click.option("--markets", "m", type=int, default=None, help="Market slots of the circuit [default: the registry's M with --rpc, else 4].")
@click.option("--chain-id", type=int, default=None, help="Chain id of the registry the proof is for [default with --rpc: the chain's].")
@click.option("--registry", default=None, help="SolvencyRegistry address the proof is for [default with --rpc: the one in deployments/<chainId>.json].")
@click.option("--engine", default=None, help="MarginEngine address whose checkpoint the book is [default with --rpc: the registry's engine()].")
@click.option("--rpc", envvar="PYMARGIN_RPC_URL", default=None, help="Read the registry's shape, chain id and engine from this chain [env PYMARGIN_RPC_URL].")
@click.option("--deployments", type=click.Path(path_type=Path), default=Path("deployments"), show_default=True)
@click.option("--market-count", type=int, default=None, help="Markets of the engine at the checkpoint [default: the markets of the positions file].")
@click.option("--secret-file", type=click.Path(path_type=Path), default=None, help="Operator secret (64 hex digits) [or $PYMARGIN_COMMIT_SECRET].")
@click.option("--unsalted", is_flag=True, help="Salt 0, no secret: a book read from an engine (commit --engine writes book.json; spec §6.2).")
@click.option("--backend", type=click.Choice(["groth16py", "snarkjs"]), default=None, help="Prover [default: groth16py if installed].")
@click.option("--ptau", type=click.Path(path_type=Path), default=None, help="Ceremony Powers of Tau file (production setup); default: a cached DEVELOPMENT setup.")
@click.option("--workers", type=int, default=1, show_default=True, help="Batches proven in parallel processes.")
@click.option("--ray", "ray_address", default=None, help="Prove on a Ray cluster at this address ('local' starts one here).")
@click.pass_obj
def prove_cmd(ctx, positions, epoch, out, force, depth, k, m, chain_id, registry, engine, rpc, deployments, market_count,
              secret_file, unsalted, backend, ptau, workers, ray_address) -> None:
    """Prove an epoch's solvency statement for a positions file, in chained batches.

    Commits the book (docs/spec.md §6) and proves SolvencyBatch for each batch of 2^k accounts
    (docs/spec.md §7): liabilities L, deficit, accounts below maintenance margin and their
    shortfall, Σmm, Σim, the account count and the per-market aggregates, bound to the circuit's
    shape, chain id, registry, engine and checkpoint. Writes one JSON file that anyone re-verifies
    with `pymargin verify`.

    \b
    Example:
      pymargin prove book.json --epoch 1 --depth 10 --chain-id 31337 \\
          --registry 0x... --engine 0x... --secret-file secret.hex --out epoch-1.json --workers 2
      pymargin prove epoch-1/book.json --unsalted --epoch 1 --depth 3 --batch-log2 2 --chain-id 31337 \
          --registry 0x... --engine 0x... --out epoch-1.json
      pymargin prove epoch-1/book.json --unsalted --epoch 1 --rpc http://127.0.0.1:8545 --out epoch-1/proof.json
    """
    from pymargin.book import load_book
    from pymargin.commit.commitment import commit_accounts
    from pymargin.zk.backends import default_backend_name
    from pymargin.zk.inputs import epoch_statement
    from pymargin.zk.prover_pool import ProverPool
    from pymargin.zk.solvency import prove_epoch
    from pymargin.zk.statement import Shape, statement_json

    out = check_out_file(out, force=force)
    if rpc:
        chain_id, registry, engine, depth, k, m = _registry_defaults(rpc, deployments, chain_id, registry, engine, depth, k, m)
    missing = [o for o, v in (("--chain-id", chain_id), ("--registry", registry), ("--engine", engine), ("--depth", depth)) if v is None]
    if missing:
        raise UserError(f"prove needs {', '.join(missing)} (or --rpc URL to read them from the deployed registry)")
    k = 6 if k is None else k
    m = 4 if m is None else m
    if unsalted and secret_file is not None:
        raise UserError("give --unsalted (an engine book, salt 0) or --secret-file, not both")
    secret = None if unsalted else _secret(secret_file)
    book = load_book(positions)
    with ctx.progress.status(f"committing {len(book.accounts):,} accounts"):
        commitment = commit_accounts(book.accounts, book.markets, secret, epoch, depth)
    if not 0 <= k <= depth:
        raise UserError(f"--batch-log2 {k} must be in 0..--depth {depth}")
    statement = epoch_statement(commitment, secret, Shape(k, depth - k, m), chain_id, _address(registry, "--registry"),
                                _address(engine, "--engine"), epoch, len(book.markets) if market_count is None else market_count)
    started = time.perf_counter()
    with ctx.progress.status(f"proving {2 ** (depth - k)} batch(es) of {2 ** k} accounts (the first run also compiles the circuit and makes its keys)"):
        with ProverPool(workers, ray_address) as pool:
            proof, keys = prove_epoch(commitment, secret, statement, backend or default_backend_name(), ptau, pool=pool)
    proof.save(out)
    elapsed = time.perf_counter() - started
    if keys.development:
        ctx.info("note: DEVELOPMENT trusted setup (made on this machine); use --ptau with a ceremony file for real funds")
    emit(ctx, {"out": out, "batch_count": len(proof.proofs), "prove_s": round(elapsed, 2), "key_load_s": round(pool.key_load_s, 2),
               "witness_s_total": round(pool.witness_s, 2), "proof_s_total": round(pool.prove_s, 2), "setup": keys.setup_id,
               "keys": keys.dir, "root": commitment.root.output_json(), "totals": statement_json(statement)["totals"]},
         (["field", "value"], [("out", out), ("batches", len(proof.proofs)), ("seconds", f"{elapsed:.1f}"),
                               ("key load s (all workers)", f"{pool.key_load_s:.1f}"), ("witness s (all workers)", f"{pool.witness_s:.1f}"),
                               ("prove s (all workers)", f"{pool.prove_s:.1f}"), ("setup", keys.setup_id), ("verifying key", keys.vk_path)]
          + [(name, value) for name, value in statement_json(statement)["totals"].items()]))
    ctx.info(f"next: post it to the registry (`pymargin post-epoch {out}`)")


def _registry_defaults(rpc, deployments, chain_id, registry, engine, depth, k, m):
    """(chain id, registry, engine, depth, K, M), each not given read from the chain at ``rpc``: the
    SolvencyRegistry recorded in deployments/<chainId>.json, its engine() and its shape."""
    from pymargin.chain.deploy import recorded_address
    from pymargin.chain.devnet import connect
    from pymargin.chain.solvency import registry_contract, registry_shape

    chain = connect(rpc, expected_chain_id=chain_id)
    contract = registry_contract(chain, registry or recorded_address(chain.chain_id, "SolvencyRegistry", deployments, "--registry"))
    if not chain.w3.eth.get_code(contract.address):
        raise UserError(f"no contract at {contract.address} on chain {chain.chain_id}")
    shape = registry_shape(contract)
    return (chain.chain_id, contract.address, engine or contract.call("engine"), shape.depth if depth is None else depth,
            shape.k if k is None else k, shape.m if m is None else m)


def _address(text: str, option: str) -> int:
    """A hex address as an integer; UserError naming the option otherwise."""
    try:
        return int(text, 16)
    except ValueError:
        raise UserError(f"{option} must be a hex address, got {text!r}") from None


@click.command("verify")
@click.argument("proof_file", type=click.Path(path_type=Path))
@click.option("--vk", "vk_path", type=click.Path(path_type=Path), required=True, help="Verifying key (snarkjs verification_key.json).")
@click.option("--rpc", envvar="PYMARGIN_RPC_URL", default=None, help="Also verify the batches with the on-chain batch verifier.")
@click.option("--verifier", default=None, help="Groth16 batch verifier contract address (with --rpc; the registry's verifier()).")
@click.pass_obj
def verify_cmd(ctx, proof_file, vk_path, rpc, verifier) -> None:
    """Verify an epoch proof in Python (py-ecc), and with --rpc also on-chain.

    The circuit's shape (K, T, M) comes from the verifying key's setup metadata (setup.json beside
    it), never from the proof file. Checks the statement has that shape and is consistent, the chain
    of 2^T batches is complete, each batch's public signals are (ctx, index, chain states), and all
    Groth16 proofs in one batched check. Exits 1 if anything fails.

    \b
    Example:
      pymargin verify epoch-1.json --vk build/zk/keys/.../verification_key.json
    """
    import sys

    from pymargin.zk.proof import VerifyingKey
    from pymargin.zk.solvency import EpochProof, recorded_shape, verify_epoch

    epoch = EpochProof.load(proof_file)
    problems = verify_epoch(epoch, VerifyingKey.load(vk_path), recorded_shape(vk_path))
    if rpc:
        if not verifier:
            raise UserError("--rpc needs --verifier ADDRESS")
        from pymargin.chain.devnet import connect
        from pymargin.chain.solvency import batch_verifier_contract, verify_batch_onchain

        if not verify_batch_onchain(batch_verifier_contract(connect(rpc), verifier), list(epoch.proofs)):
            problems.append("the on-chain batch verifier rejects the proofs")
    data = {"ok": not problems, "batch_count": len(epoch.proofs), "problems": problems}
    emit(ctx, data, (["check", "result"], [("batches", len(epoch.proofs)), ("result", "valid" if not problems else "INVALID")] + [("problem", p) for p in problems]))
    if problems:
        sys.exit(1)


@click.command("post-epoch")
@click.argument("proof_file", type=click.Path(path_type=Path))
@click.option("--rpc", envvar="PYMARGIN_RPC_URL", required=True, help="RPC URL of the chain [env PYMARGIN_RPC_URL].")
@click.option("--registry", default=None, help="SolvencyRegistry address [default: the proof's, which must be recorded in deployments/<chainId>.json or given].")
@click.option("--keystore", type=click.Path(path_type=Path), default=None, help="Keystore of the operator; password in PYMARGIN_KEYSTORE_PASSWORD.")
@click.option("--deployments", type=click.Path(path_type=Path), default=Path("deployments"), show_default=True)
@click.option("--max-gas-per-tx", type=click.IntRange(min=1), default=DEFAULT_MAX_GAS_PER_TX, show_default=True,
              help="Gas limit of each transaction; an epoch whose batches do not fit one is posted in parts of as many "
                   "batches as fit (the default stays under the 2^24 per-transaction cap of EIP-7825).")
@click.option("--batches-per-tx", type=click.IntRange(min=1), default=None,
              help="Batches per transaction instead of what --max-gas-per-tx allows.")
@click.pass_obj
def post_epoch_cmd(ctx, proof_file, rpc, registry, keystore, deployments, max_gas_per_tx, batches_per_tx) -> None:
    """Post an epoch proof to a SolvencyRegistry (the operator's transactions).

    Reads the engine checkpoint the proof is for from the engine's CheckpointTaken event, refuses (one
    line) a proof whose statement is not the one the registry will compute from it (shape, engine,
    checkpoint, market views, aggregates, account count, Σ collateral), and posts it with the proofs.
    The registry checks the checkpoint against the engine, the root's sums against the totals, that the
    vault's holdings less the fees owed cover the liabilities L, and every batch proof against the
    statement it computes itself; a rejection prints the registry's custom error.

    An epoch too big for one transaction (15,625 batches at 10^6 accounts and K = 6: ~950M gas) goes in
    parts: beginEpoch with the first batches, then continueEpoch in batch order, each part simulated
    before it is sent; the epoch counts as posted only when its last batch is in. If a run stops
    midway, run the same command again: it continues the registry's pending epoch from the next batch.

    \b
    Example:
      pymargin post-epoch epoch-1.json --rpc http://127.0.0.1:8545 --registry 0x...
      pymargin post-epoch epoch-9.json --rpc $RPC --max-gas-per-tx 30000000   # parts for a 30M-gas block
    """
    from pymargin.chain.checkpoints import checkpoint_data, engine_at
    from pymargin.chain.devnet import connect
    from pymargin.chain.solvency import (epoch_figures, part_gas_limit, part_sizes, post_epoch_parts, registry_contract,
                                         registry_shape, registry_statement, statement_mismatch)
    from pymargin.chain.tx import ContractRevert
    from pymargin.errors import Revert
    from pymargin.cli.chain_cmds import _signer
    from pymargin.zk.solvency import EpochProof

    first_part, next_parts = (batches_per_tx, batches_per_tx) if batches_per_tx else part_sizes(max_gas_per_tx)
    if first_part < 1 or next_parts < 1:
        raise UserError(f"--max-gas-per-tx {max_gas_per_tx:,} holds no batch: a first part of one batch needs "
                        f"{part_gas_limit(1, True):,} gas, a later part {part_gas_limit(1, False):,}")
    epoch = EpochProof.load(proof_file)
    s = epoch.statement
    chain = connect(rpc, expected_chain_id=s.chain_id)
    if registry is None:
        from pymargin.chain.deploy import recorded_address

        registry = recorded_address(chain.chain_id, "SolvencyRegistry", deployments, "--registry")
    contract = registry_contract(chain, registry)
    if int(contract.address, 16) != s.registry:
        raise UserError(f"the proof is for registry {hex(s.registry)}, not {registry}")
    try:
        engine_address = contract.call("engine")
        if int(engine_address, 16) != s.engine:
            raise UserError(f"the proof is for engine {hex(s.engine)}; the registry's engine is {engine_address}")
        engine = engine_at(chain, engine_address)
        contract.decoder.add(engine.artifact["abi"])
        checkpoint = checkpoint_data(engine, s.checkpoint_id)
        expected = registry_statement(registry_shape(contract), chain.chain_id, s.registry, s.engine, checkpoint, s.root, s.totals)
        mismatch = statement_mismatch(s, expected)
        if mismatch:
            raise UserError(f"the proof is not of the engine's checkpoint {s.checkpoint_id} for this registry: {mismatch}")
        parts = post_epoch_parts(contract, epoch, checkpoint, _signer(chain, keystore), first_part, next_parts)
    except (ContractRevert, Revert) as exc:
        raise UserError(f"the registry rejects epoch {s.checkpoint_id}: {exc}") from None
    figures = epoch_figures(contract, s.checkpoint_id)
    t = figures.totals
    receipt, gas = parts[-1].receipt, sum(p.receipt.gasUsed for p in parts)
    rows = [("epoch (checkpoint)", s.checkpoint_id), ("checkpoint block", figures.checkpoint_block),
            ("liabilities L", t.liabilities_wad), ("reserves (vault − owner fees)", figures.reserves_wad),
            ("deficit", t.deficit_wad), ("accounts below mm", f"{t.below_mm_count} of {t.account_count}"),
            ("shortfall", t.shortfall_wad), ("transactions", f"{len(parts)} from batch {parts[0].first_batch}"),
            ("last tx", bytes_hex(receipt.transactionHash)), ("gas used (all transactions)", gas)]
    transactions = [{"tx_hash": p.receipt.transactionHash, "first_batch": p.first_batch, "batch_count": p.batches,
                     "tx_gas": p.receipt.gasUsed} for p in parts]
    emit(ctx, {"tx_hash": receipt.transactionHash, "post_epoch_gas": gas, "epoch": s.checkpoint_id,
               "checkpoint_block": figures.checkpoint_block, "reserves_wad": figures.reserves_wad,
               "totals": dataclasses.asdict(t), "resumed_from_batch": parts[0].first_batch, "transactions": transactions},
         (["field", "value (WAD unless a count)"], rows))
    ctx.info(f"next: anyone audits the epoch (`pymargin audit-epoch --epoch {s.checkpoint_id}`); each user checks "
             "their inclusion (`pymargin check-inclusion PROOF.json`)")


COMMANDS = [prove_cmd, verify_cmd, post_epoch_cmd]
