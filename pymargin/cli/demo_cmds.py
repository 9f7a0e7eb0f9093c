"""``pymargin demo``: the whole toolkit end to end."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from pymargin.cli._common import fail
from pymargin.cli.output import emit
from pymargin.fsutil import check_out_dir, publish_dir, staging_dir


@click.command("demo")
@click.option("--accounts", type=click.IntRange(2, 4096), default=64, show_default=True, help="Accounts to seed (pairs of a cross and an isolated sub-account per owner).")
@click.option("--steps", type=click.IntRange(1, 1000), default=12, show_default=True, help="Price moves (one hour apart), each with funding and liquidations.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of everything random: same seed, same book, same root.")
@click.option("--batch-log2", type=click.IntRange(1, 10), default=6, show_default=True, help="Accounts per proof batch = 2^N (the circuit size; 6 → 64 accounts).")
@click.option("--backend", type=click.Choice(["groth16py", "snarkjs"]), default=None, help="Prover [default: groth16py if installed, else snarkjs].")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="Batches proven in parallel.")
@click.option("--rpc", default=None, help="Run on the anvil node at this RPC URL (the demo sets block timestamps, so it needs a devnet).")
@click.option("--anvil", is_flag=True, help="Start a local anvil node and run on it.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("demo-out"), show_default=True, help="Folder for report.html, its figures, epoch.json, inclusion proofs and summary.json (new or empty).")
@click.option("--force", is_flag=True, help="Write into a non-empty --out folder (files of the same names are replaced; nothing else is touched).")
@click.pass_obj
def demo_cmd(ctx, accounts: int, steps: int, seed: int, batch_log2: int, backend: str | None, workers: int,
             rpc: str | None, anvil: bool, out_dir: Path, force: bool) -> None:
    """Run the whole toolkit end to end and write a report.

    Compiles the contracts, starts (or connects to) a chain, deploys the MarginEngine and the
    SolvencyRegistry, seeds accounts with collateral and random positions, trades options beside the
    perps (a RiskArrayBook and an OptionsEngine; with 7 accounts or more: a hedged book, a naked call,
    a market maker, their portfolio margin against per-position margin), moves prices, accrues
    funding, marks the options, liquidates what falls below maintenance, settles the options at
    expiry, takes an engine checkpoint and keeps trading,
    cross-checks every account between the Python mirror and the contract, commits all accounts as
    of the checkpoint block, proves solvency, posts the epoch against the checkpoint (verified
    on-chain), verifies it again in Python (py-ecc) and with snarkjs, checks one user's inclusion,
    audits the epoch (the root rebuilt from the engine equals the posted one) and writes
    OUT/report.html. Exits 1 if any cross-check or verifier disagrees.

    The first run compiles the solvency circuit and makes a development (single-party) Groth16
    setup; both are cached, so later runs are faster.

    \b
    Example:
      pymargin demo                              # embedded devnet, 64 accounts
      pymargin demo --anvil --accounts 128 --out anvil-demo
      pymargin --json demo --accounts 16 --batch-log2 3
    """
    from pymargin.chain import devnet
    from pymargin.crosscheck import ParityError
    from pymargin.demo import DemoConfig, run_demo

    out_dir = check_out_dir(out_dir, force=force)
    work = staging_dir(out_dir)
    try:
        with devnet.open_chain(rpc=rpc, anvil=anvil) as chain:
            ctx.info(f"chain: {chain.kind} (chain id {chain.chain_id}){' at ' + chain.url if chain.url else ''}")
            config = DemoConfig(accounts=accounts, steps=steps, seed=seed, batch_log2=batch_log2, backend=backend, workers=workers, out_dir=work)
            try:
                result = run_demo(config, chain, progress=ctx.progress)
            except ParityError as exc:
                fail(f"the Python mirror and the contract disagree: {exc}", 1, "parity_error")
        publish_dir(work, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = result.to_json() | {"report": str(out_dir / "report.html")}
    rows = [
        ("chain", result.chain),
        ("accounts / fills / liquidations", f"{result.account_count} / {result.fill_count} / {result.liquidation_count}"),
        ("mirror vs contract", f"{result.crosscheck_value_count:,} values, {result.crosscheck_mismatch_count} mismatches"),
        ("root", result.root),
        ("epoch", f"checkpoint {result.checkpoint_id} at block {result.checkpoint_block}; {result.fill_count_after_checkpoint} fills after it"),
        ("checkpoint / post tx", f"{result.checkpoint_tx_hash} / {result.post_epoch_tx_hash}"),
        ("liabilities L / reserves (vault − owner fees)", f"{result.liabilities_wad / 1e18:,.2f} / {result.reserves_wad / 1e18:,.2f}"),
        ("Σ IM / Σ MM", f"{result.total_im_wad / 1e18:,.2f} / {result.total_mm_wad / 1e18:,.2f}"),
        ("deficit / below mm / shortfall", f"{result.deficit_wad / 1e18:,.2f} / {result.below_mm_count} accounts / {result.shortfall_wad / 1e18:,.2f}"),
        ("proof", f"{result.batch_count} batch(es) of {result.circuit}, {result.constraint_count:,} constraints each, {result.proving_s:.1f} s "
                   f"(key load {result.key_load_s:.1f} s over all workers)"),
        ("verifying key keccak256", result.vk_hash),
        ("gas", f"verifyBatch {result.verify_gas:,}; postEpoch {result.post_epoch_gas:,}"),
        ("verifiers", ", ".join(f"{k}: {'accepted' if v else 'REJECTED'}" for k, v in result.verifiers.items())),
        ("inclusion", ", ".join(f"{k}: {'ok' if v else 'FAILED'}" for k, v in result.inclusion.items())),
        ("audit (root rebuilt from the engine)", ", ".join("ok" if v else "FAILED" for v in result.audit.values())),
        ("report", str(out_dir / "report.html")),
        ("verdict", "all checks passed" if result.ok else "SOMETHING DISAGREED"),
    ]
    emit(ctx, summary, (["demo", "result"], rows), title="pymargin demo")
    if not result.ok:
        sys.exit(1)


COMMANDS = [demo_cmd]
