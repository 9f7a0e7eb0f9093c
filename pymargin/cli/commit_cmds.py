"""Commitment commands: commit (build the tree, write root and proofs, post the root), check-inclusion,
deploy-commitments."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import click

from pymargin.cli.output import emit
from pymargin.errors import UserError
from pymargin.jsonvalues import bytes_hex, hash_hex

SECRET_ENV = "PYMARGIN_COMMIT_SECRET"


def _secret(secret_file: Path | None) -> bytes:
    """The operator's 32-byte commitment secret: --secret-file (64 hex digits) or $PYMARGIN_COMMIT_SECRET."""
    if secret_file is not None:
        try:
            text, where = secret_file.read_text().strip(), str(secret_file)
        except OSError as exc:
            raise UserError(f"cannot read the secret file {secret_file}: {exc}") from None
    elif os.environ.get(SECRET_ENV):
        text, where = os.environ[SECRET_ENV].strip(), SECRET_ENV
    else:
        raise UserError(f"commit needs the operator's secret: --secret-file FILE or ${SECRET_ENV} (64 hex digits; "
                        "make one with: python -c 'import secrets; print(secrets.token_hex(32))' > secret.hex)")
    try:
        secret = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        secret = b""
    if len(secret) != 32:
        raise UserError(f"{where}: the secret must be 64 hex digits (32 bytes)")
    return secret


def _inclusion_registry(chain, address: str):
    """A registry that answers rootOf(epoch) and verifyInclusionAt (a CommitmentRegistry or a
    SolvencyRegistry), checked to have both functions in its code."""
    from pymargin.chain.compile import compile_contracts
    from pymargin.chain.contracts import contract_at

    compile_contracts()
    return contract_at(chain, "registry of posted roots", address, _abi_subset("CommitmentRegistry", "rootOf", "verifyInclusionAt"),
                       "--registry")


def _abi_subset(name: str, *functions: str) -> dict:
    """An artifact of contract ``name`` with only its errors and ``functions`` (so contract_at checks only those are in
    the code); the contracts must be compiled."""
    from pymargin.chain.compile import load_artifact

    return {"abi": [item for item in load_artifact(name)["abi"] if item.get("type") == "error" or item.get("name") in functions]}


def _options_verifier(chain, address: str):
    """The OptionsInclusionVerifier at ``address`` (checked to have code)."""
    from pymargin.chain.compile import compile_contracts, load_artifact
    from pymargin.chain.contracts import contract_at

    compile_contracts()
    return contract_at(chain, "OptionsInclusionVerifier", address, load_artifact("OptionsInclusionVerifier"), "--options-verifier")


def _registry(chain, address: str):
    from pymargin.chain.compile import compile_contracts, load_artifact
    from pymargin.chain.contracts import contract_at

    compile_contracts()
    return contract_at(chain, "CommitmentRegistry", address, load_artifact("CommitmentRegistry"), "--registry")


@click.command("commit")
@click.argument("positions", type=click.Path(path_type=Path), required=False)
@click.option("--epoch", type=int, default=None, help="Epoch number of this commitment [default with --checkpoint/--block: the checkpoint id].")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="New folder for root.json and proofs.sqlite.")
@click.option("--depth", type=int, default=None, help="Tree depth (2^depth leaves) [default: smallest that fits].")
@click.option("--workers", type=int, default=None, help="Hashing processes [default: the CPUs available].")
@click.option("--secret-file", type=click.Path(path_type=Path), default=None, help=f"Operator secret (64 hex digits) [or ${SECRET_ENV}].")
@click.option("--json-proofs", is_flag=True, help="Also write every account's proof as OUT/proofs/<owner>-<sub>.json.")
@click.option("--account", "only", multiple=True, help="Also write this account's (owner:sub) proof as JSON in OUT/proofs/; repeatable.")
@click.option("--rpc", envvar="PYMARGIN_RPC_URL", default=None, help="RPC URL: post the root to --registry (and read --engine).")
@click.option("--registry", default=None, help="CommitmentRegistry address to post the root to (needs --rpc).")
@click.option("--engine", default=None, help="Commit a deployed MarginEngine's state instead of a positions file (needs --rpc).")
@click.option("--checkpoint", "checkpoint_id", type=int, default=None, help="With --engine: the book at this checkpoint's block, at its market views.")
@click.option("--block", "block", type=int, default=None, help="With --engine: the book at the checkpoint taken in this block.")
@click.option("--keystore", type=click.Path(path_type=Path), default=None, help="Keystore of the poster; password in PYMARGIN_KEYSTORE_PASSWORD.")
@click.option("--deployments", type=click.Path(path_type=Path), default=Path("deployments"), show_default=True,
              help="Manifests: with --checkpoint/--block and no --engine, the MarginEngine recorded for the --rpc chain.")
@click.pass_obj
def commit_cmd(ctx, positions, epoch, out_dir, depth, workers, secret_file, json_proofs, only, rpc, registry, engine,
               checkpoint_id, block, keystore, deployments) -> None:
    """Commit to a book: Poseidon leaves in a Merkle sum tree; write the root and every account's proof.

    Reads a positions file (JSON or CSV, see docs/positions.md) or, with --rpc and --engine, a deployed
    margin engine: its current state, or with --checkpoint ID (or --block N) its state at the end of
    that checkpoint's block, valued at the checkpoint's market views. Writes OUT/root.json and
    OUT/proofs.sqlite (every account's inclusion proof in one indexed file: check-inclusion --db,
    export-proof), all or nothing; JSON proofs OUT/proofs/<owner>-<sub>.json only with --json-proofs
    (all) or --account (those); an engine book also OUT/book.json (its positions file, for
    audit-epoch). Each proof holds that account's salt only; an engine's public book is committed with
    salt 0 (no secret). With --rpc and --registry, posts (epoch, root) on-chain.

    \b
    Example:
      python -c 'import secrets; print(secrets.token_hex(32))' > secret.hex
      pymargin commit book.json --epoch 1 --out commit-1 --secret-file secret.hex
      pymargin check-inclusion --db commit-1/proofs.sqlite --account 0xAbc...:0
      pymargin export-proof --db commit-1/proofs.sqlite --account 0xAbc...:0 --out proof.json
      pymargin commit --rpc http://127.0.0.1:8545 --engine 0x... --checkpoint 3 --out epoch-3
    """
    from pymargin.commit.commitment import commit_accounts
    from pymargin.commit.inclusion import PROOF_DB, write_commitment
    from pymargin.fsutil import check_out_dir
    from pymargin.commit.tree import cpu_workers

    out_dir = check_out_dir(out_dir)
    if registry and not rpc:
        raise UserError("--registry needs --rpc URL")
    if (checkpoint_id is not None or block is not None) and not engine:
        if not rpc:
            raise UserError("--checkpoint and --block need --rpc URL (and --engine ADDRESS unless deployments/ records one)")
        engine = _recorded(rpc, "MarginEngine", deployments, "--engine")
    extra = {}
    if engine:
        if not rpc:
            raise UserError("--engine needs --rpc URL")
        if positions:
            raise UserError("give either a positions file or --engine, not both")
        if secret_file is not None:
            raise UserError("an engine's book is public and committed with salt 0: drop --secret-file")
        secret = None
        accounts, markets, checkpoint = _engine_book(rpc, engine, checkpoint_id, block)
        if depth is None and checkpoint is not None:
            depth = _recorded_tree_depth(rpc, deployments)
        if checkpoint is not None:
            if epoch is not None and epoch != checkpoint:
                raise UserError(f"--epoch {epoch} differs from the checkpoint id {checkpoint}: an engine epoch is its checkpoint id")
            epoch = checkpoint
        extra["book.json"] = _book_text(accounts, markets)
    elif positions:
        from pymargin.book import load_book

        secret = _secret(secret_file)
        book = load_book(positions)
        accounts, markets = book.accounts, book.markets
    else:
        raise UserError("commit needs a positions file (or --rpc URL --engine ADDRESS)")
    if epoch is None:
        raise UserError("commit needs --epoch N (or --engine with --checkpoint ID / --block N)")
    poster = _poster(rpc, registry, keystore) if registry else None
    started = time.perf_counter()
    workers = workers or cpu_workers()
    with ctx.progress.status(f"building the Merkle sum tree over {len(accounts):,} accounts"):
        commitment = commit_accounts(accounts, markets, secret, epoch, depth, workers)
    built = time.perf_counter() - started
    root = commitment.root
    if poster:
        _post_root(*poster, epoch, root, simulate_only=True)  # refused before any file is written
    existed = out_dir.exists()
    started = time.perf_counter()
    with ctx.progress.status("writing the root and the inclusion proofs"):
        proofs = write_commitment(commitment, secret, out_dir, ["*"] if json_proofs else list(only) or None, extra, workers)
    written = time.perf_counter() - started
    db = out_dir / PROOF_DB
    data = {"epoch": epoch, "account_count": len(commitment.accounts), "depth": commitment.tree.depth,
            "root": root.output_json(), "out": out_dir, "proof_count": len(proofs), "build_s": round(built, 2),
            "proof_db": db, "proof_db_bytes": db.stat().st_size, "write_s": round(written, 2)}
    posted = "no"
    if poster:
        try:
            receipt = _post_root(*poster, epoch, root)
        except RootRefused:  # all or nothing: no files for a root the registry refused (a timeout keeps them)
            shutil.rmtree(out_dir, ignore_errors=True)
            if existed:
                out_dir.mkdir()
            raise
        data["posted"] = {"registry": poster[0].address, "tx_hash": receipt.transactionHash}
        posted = "0x" + bytes(receipt.transactionHash).hex()
    emit(ctx, data, (["field", "value"], [("epoch", epoch), ("accounts", len(commitment.accounts)),
                                            ("depth", commitment.tree.depth), ("root hash", hash_hex(root.hash)),
                                            ("total liabilities L (WAD)", root.equity), ("total mm (WAD)", root.mm),
                                            ("proof database", str(db)),
                                            ("JSON proofs", f"{len(proofs)} in {out_dir / 'proofs'}" if proofs else "none"),
                                            ("posted", posted)]),
         title=f"committed in {built:.1f} s")
    if engine and epoch is not None and "book.json" in extra:
        ctx.info(f"next: prove the epoch (`pymargin prove {out_dir / 'book.json'} --unsalted --epoch {epoch} --out {out_dir / 'proof.json'}`)")


def _recorded_tree_depth(rpc: str, deployments: Path) -> int | None:
    """The tree depth of the SolvencyRegistry recorded for the chain at ``rpc`` (None if none is recorded),
    so that an engine epoch is committed at the depth its proof will have."""
    from pymargin.chain import devnet
    from pymargin.chain.checkpoints import registry_depth
    from pymargin.chain.deploy import load_manifest

    chain = devnet.connect(rpc)
    found = [r["address"] for r in load_manifest(chain.chain_id, deployments)["contracts"].values()
             if r.get("artifact") == "SolvencyRegistry"]
    return registry_depth(chain, found[0]) if len(found) == 1 else None


def _recorded(rpc: str, artifact: str, deployments: Path, option: str) -> str:
    """The ``artifact`` contract recorded in deployments/<chainId>.json for the chain at ``rpc``."""
    from pymargin.chain import devnet
    from pymargin.chain.deploy import recorded_address

    return recorded_address(devnet.connect(rpc).chain_id, artifact, deployments, option)


def _poster(rpc: str, registry: str, keystore: Path | None):
    """(CommitmentRegistry contract, signer) for posting a root, checked before any work starts."""
    from pymargin.chain import devnet
    from pymargin.cli.chain_cmds import _signer

    chain = devnet.connect(rpc)
    return _registry(chain, registry), _signer(chain, keystore)


class RootRefused(UserError):
    """The registry refuses to record the root (its custom error, one line)."""


def _post_root(contract, signer, epoch: int, root, simulate_only: bool = False):
    """Post (epoch, root), or with ``simulate_only`` only execute it with eth_call; a refusal is RootRefused."""
    from pymargin.chain.commitments import post_root, simulate_post_root
    from pymargin.chain.tx import ContractRevert

    try:
        return simulate_post_root(contract, epoch, root, signer) if simulate_only else post_root(contract, epoch, root, signer)
    except ContractRevert as exc:
        raise RootRefused(f"the registry at {contract.address} refuses epoch {epoch}: {exc}"
                        + (" (nothing was sent, no files written)" if exc.simulated else "")) from None


def _engine_book(rpc: str, address: str, checkpoint_id: int | None, block: int | None):
    """(accounts, market views, checkpoint id or None) of a deployed MarginEngine: now, or at a checkpoint
    (pymargin.chain.checkpoints.book_at_checkpoint) given by id or by the block it was taken in."""
    from pymargin.chain import devnet
    from pymargin.chain.checkpoints import book_at_checkpoint, checkpoint_in_block, engine_at
    from pymargin.engine import Engine

    if checkpoint_id is not None and block is not None:
        raise UserError("give --checkpoint ID or --block N, not both")
    contract = engine_at(devnet.connect(rpc), address)
    if block is not None:
        checkpoint_id = checkpoint_in_block(contract, block)
    if checkpoint_id is None:
        engine = Engine.from_chain(contract)
        return engine.accounts(), engine.market_views(), None
    book = book_at_checkpoint(contract, checkpoint_id)
    return book.accounts, book.markets, checkpoint_id


def _book_text(accounts, markets) -> str:
    """The positions JSON (docs/positions.md) of an engine book, market names M<id>."""
    import json

    from pymargin.book import Book, book_to_json

    return json.dumps(book_to_json(Book(dict(markets), {}, list(accounts))), indent=1) + "\n"


@click.command("check-inclusion")
@click.argument("proof_path", metavar="[PROOF.json]", type=click.Path(path_type=Path), required=False)
@click.option("--db", "db_path", type=click.Path(path_type=Path), default=None, help="Proofs database (OUT/proofs.sqlite of commit) instead of PROOF.json.")
@click.option("--account", default=None, help="With --db: the account (owner:sub, or an owner with one account).")
@click.option("--rpc", envvar="PYMARGIN_RPC_URL", default=None, help="Also check against the root posted on this chain.")
@click.option("--registry", default=None, help="Registry address holding the posted roots (with --rpc) [default: the SolvencyRegistry in deployments/<chainId>.json].")
@click.option("--options-verifier", default=None, help="With --rpc, for an options holder's proof: the OptionsInclusionVerifier of the registry's roots [default: the one in deployments/<chainId>.json].")
@click.option("--deployments", type=click.Path(path_type=Path), default=Path("deployments"), show_default=True)
@click.pass_obj
def check_inclusion_cmd(ctx, proof_path: Path | None, db_path: Path | None, account: str | None, rpc: str | None,
                        registry: str | None, options_verifier: str | None, deployments: Path) -> None:
    """Check that an account is in a committed root, exactly as recorded.

    Reads a proof file, or with --db and --account that account's proof from a proofs database.
    Offline: the id hash, every bound, the leaf hash, equity, maintenance and initial margin and the
    leaf's liability max(equity, 0) recomputed from the positions at the epoch's market views (an options
    holder's: also from its option slots and the option tables' rows in the proof), and the path to the root.
    With --rpc and --registry also: the root is the one posted for the epoch, the registry's on-chain
    view agrees (an options holder's leaf: the --options-verifier contract's), and for a SolvencyRegistry
    the leaf's index is the account's index in the engine (leaf i is accountAt(i)).
    Exits 1 with the reason if the proof fails.

    \b
    Example:
      pymargin check-inclusion --db commit-1/proofs.sqlite --account 0xAbc...:0
      pymargin check-inclusion proof.json --rpc http://127.0.0.1:8545 --registry 0x...
    """
    import sys

    from pymargin.commit.inclusion import InclusionError, load_proof, parse_proof, proof_document_from_db, verify_proof

    if (registry or options_verifier) and not rpc:
        raise UserError("--registry and --options-verifier need --rpc URL")
    if rpc and not registry:
        registry = _recorded(rpc, "SolvencyRegistry", deployments, "--registry")
    if (proof_path is None) == (db_path is None):
        raise UserError("check-inclusion needs a PROOF.json or --db FILE --account OWNER:SUB (not both)")
    if (db_path is None) != (account is None):
        raise UserError("--db and --account go together")
    proof = load_proof(proof_path) if proof_path is not None else parse_proof(proof_document_from_db(db_path, account))
    checks = []
    try:
        root = verify_proof(proof)
        checks.append(("offline", "ok"))
        if rpc:
            _check_on_chain(proof, rpc, registry, options_verifier, deployments)
            checks.append(("on_chain", "ok"))
    except InclusionError as exc:
        emit(ctx, {"ok": False, "account": proof.account_id, "epoch": proof.epoch, "reason": str(exc)},
             (["account", "epoch", "result"], [(proof.account_id, proof.epoch, f"FAILED: {exc}")]))
        sys.exit(1)
    emit(ctx, {"ok": True, "account": proof.account_id, "epoch": proof.epoch, "index": proof.index,
               "equity_wad": proof.equity, "mm_wad": proof.mm, "im_wad": proof.im, "liability_wad": proof.liability,
               "root": root.output_json(), "checks": dict(checks)},
         (["account", "epoch", "equity (WAD)", "mm (WAD)", "im (WAD)", "checks"],
          [(proof.account_id, proof.epoch, proof.equity, proof.mm, proof.im, ", ".join(f"{k.replace('_', '-')} {v}" for k, v in checks))]))


def _check_on_chain(proof, rpc: str, registry: str, options_verifier: str | None, deployments: Path) -> None:
    """InclusionError unless the registry's root for the epoch is the proof's and its view verifies the path (an
    options holder's: the OptionsInclusionVerifier's view, which must read the same registry)."""
    from pymargin.chain import devnet
    from pymargin.chain.tx import ContractRevert
    from pymargin.commit.inclusion import InclusionError
    from pymargin.chain.commitments import leaf_arg, node_arg, node_from_abi, option_slots_arg
    from pymargin.fixedpoint import UINT256_MAX

    if not 0 <= proof.epoch <= UINT256_MAX:
        raise InclusionError(f"epoch {proof.epoch} is not a uint256: no registry records it")
    chain = devnet.connect(rpc)
    contract = _inclusion_registry(chain, registry)
    siblings = [node_arg(s) for s in proof.siblings]
    try:
        posted = node_from_abi(contract.call("rootOf", proof.epoch))
        if proof.option_rows is None:
            ok = contract.call("verifyInclusionAt", proof.epoch, leaf_arg(proof.leaf), proof.liability, proof.mm, proof.index, siblings)
    except ContractRevert as exc:
        raise InclusionError(f"the registry at {contract.address} rejects the proof: {exc}") from None
    if proof.option_rows is not None:
        verifier = _options_verifier(chain, options_verifier or _recorded(rpc, "OptionsInclusionVerifier", deployments, "--options-verifier"))
        if verifier.call("registry").lower() != contract.address.lower():
            raise InclusionError(f"the options verifier at {verifier.address} checks the roots of {verifier.call('registry')}, not of the registry {contract.address}")
        try:
            ok = verifier.call("verifyInclusionAt", proof.epoch, leaf_arg(proof.leaf), option_slots_arg(proof.leaf), proof.liability,
                               proof.mm, proof.index, siblings)
        except ContractRevert as exc:
            raise InclusionError(f"the options verifier at {verifier.address} rejects the proof: {exc}") from None
    if posted != proof.root:
        raise InclusionError(f"the root posted for epoch {proof.epoch} is {posted.output_json()}, the proof's is {proof.root.output_json()}")
    if not ok:
        who = "registry" if proof.option_rows is None else "options verifier"
        raise InclusionError(f"the {who}'s verifyInclusionAt returned false for epoch {proof.epoch}")
    _check_engine_index(chain, contract.address, proof)


def _check_engine_index(chain, registry: str, proof) -> None:
    """For a root posted to a SolvencyRegistry (an engine's book, docs/spec.md §6.3): InclusionError unless leaf
    ``proof.index`` is the engine's account ``accountAt(index)`` = the proof's owner:sub. A CommitmentRegistry (a
    book from a positions file, no engine) has no index to check."""
    from pymargin.chain.contracts import contract_at
    from pymargin.commit.inclusion import InclusionError

    try:
        engine_address = contract_at(chain, "SolvencyRegistry", registry, _abi_subset("SolvencyRegistry", "engine"), "--registry").call("engine")
    except UserError:
        return  # its code has no engine(): a CommitmentRegistry
    engine = contract_at(chain, "MarginEngine", engine_address, _abi_subset("MarginEngine", "accountCount", "accountAt"),
                         "the registry's engine()")
    count = engine.call("accountCount")
    if proof.index >= count:
        raise InclusionError(f"leaf {proof.index} is past the engine's {count} accounts: leaf i must be the engine's account i")
    owner, sub = engine.call("accountAt", proof.index)
    if (owner.lower(), sub) != (proof.owner.lower(), proof.sub):
        raise InclusionError(f"leaf {proof.index} must be the engine's account {proof.index}, which is {owner}:{sub}, "
                             f"not {proof.account_id}")


@click.command("export-proof")
@click.option("--db", "db_path", type=click.Path(path_type=Path), required=True, help="Proofs database (OUT/proofs.sqlite of commit).")
@click.option("--account", required=True, help="The account: owner:sub, or an owner with one account.")
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None, help="Write the proof JSON to this new file [default: print it].")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
@click.pass_obj
def export_proof_cmd(ctx, db_path: Path, account: str, out_path: Path | None, force: bool) -> None:
    """Export one account's inclusion proof from a proofs database as JSON (for the user, verify.html, check-inclusion).

    \b
    Example:
      pymargin export-proof --db commit-1/proofs.sqlite --account 0xAbc...:0 --out 0xAbc-0.json
    """
    import json

    from pymargin.commit.inclusion import proof_document_from_db
    from pymargin.fsutil import atomic_write_text

    if out_path is not None and out_path.exists() and (out_path.is_dir() or not force):
        raise UserError(f"{out_path} exists: choose a new --out file" + ("" if out_path.is_dir() else " (or --force)"))
    text = json.dumps(proof_document_from_db(db_path, account), indent=1) + "\n"
    if out_path is None:
        click.echo(text, nl=False)
        return
    try:
        atomic_write_text(out_path, text)
    except OSError as exc:
        raise UserError(f"cannot write {out_path}: {exc.strerror or exc}") from None
    emit(ctx, {"account": account, "proof": str(out_path)}, (["account", "proof"], [(account, str(out_path))]))


@click.command("verify-page")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Folder to write verify.html into (an epoch's folder; created if missing).")
@click.option("--registry", default=None, help="Registry address to pre-fill on the page (the user can change it).")
@click.option("--force", is_flag=True, help="Replace an existing verify.html in --out.")
@click.pass_obj
def verify_page_cmd(ctx, out_dir: Path, registry: str | None, force: bool) -> None:
    """Write the verification page: one self-contained HTML file where a user checks their inclusion proof.

    The user opens verify.html from disk or any static host, drops in their proof file and sees their
    equity, margins and positions as committed, the leaf hash and the path to the root recomputed in
    the browser, and — given an RPC URL — the root and figures the registry recorded for the epoch.
    Nothing leaves the browser except read-only JSON-RPC calls to the URL the user types.

    \b
    Example:
      pymargin verify-page --out epoch-1/ --registry 0x...
    """
    from pymargin.page import write_page

    path = write_page(out_dir, registry, force)
    emit(ctx, {"page": str(path)}, (["page"], [(str(path),)]))


@click.command("deploy-commitments")
@click.option("--rpc", envvar="PYMARGIN_RPC_URL", required=True, help="RPC URL of the chain [env PYMARGIN_RPC_URL].")
@click.option("--owner", default=None, help="Owner allowed to post roots [default: the deployer].")
@click.option("--keystore", type=click.Path(path_type=Path), default=None, help="Keystore of the deployer; password in PYMARGIN_KEYSTORE_PASSWORD.")
@click.option("--option-slots", type=int, default=None, help="Also deploy an OptionsInclusionVerifier for leaves with this many option slots P (1..8).")
@click.pass_obj
def deploy_commitments_cmd(ctx, rpc: str, owner: str | None, keystore: Path | None, option_slots: int | None) -> None:
    """Deploy circomlibjs's Poseidon hashers (4, 5, 6 inputs) and a CommitmentRegistry (with --option-slots
    also the 2- and P-input hashers and an OptionsInclusionVerifier of the registry's roots, for options holders).

    \b
    Example:
      pymargin deploy-commitments --rpc http://127.0.0.1:8545
    """
    from web3 import Web3

    from pymargin.chain import devnet
    from pymargin.chain.compile import compile_contracts
    from pymargin.cli.chain_cmds import _signer
    from pymargin.chain.commitments import deploy_options_verifier, deploy_registry
    from pymargin.commit.option_rows import MAX_OPTION_SLOTS

    if option_slots is not None and not 1 <= option_slots <= MAX_OPTION_SLOTS:
        raise UserError(f"--option-slots must be in 1..{MAX_OPTION_SLOTS}, got {option_slots}")
    if owner is not None and (not Web3.is_address(owner) or int(owner, 16) == 0):
        raise UserError(f"--owner {owner!r} is not an address (nor may it be the zero address)")
    chain = devnet.connect(rpc)
    compile_contracts()
    signer = _signer(chain, keystore)
    registry = deploy_registry(chain, signer, owner)
    out, rows = {"chain_id": chain.chain_id, "registry": registry.address}, [("CommitmentRegistry", registry.address)]
    if option_slots is not None:
        out["options_verifier"] = deploy_options_verifier(chain, signer, registry, option_slots).address
        rows.append(("OptionsInclusionVerifier", out["options_verifier"]))
    emit(ctx, out, (["contract", "address"], rows))


@click.command("audit-epoch")
@click.option("--rpc", envvar="PYMARGIN_RPC_URL", required=True, help="RPC URL of the chain [env PYMARGIN_RPC_URL].")
@click.option("--engine", default=None, help="MarginEngine address [default: the --registry's engine()].")
@click.option("--epoch", type=int, required=True, help="Epoch = the engine's checkpoint id.")
@click.option("--registry", default=None, help="Registry holding the posted root (rootOf(epoch)): SolvencyRegistry or CommitmentRegistry.")
@click.option("--root", "root_hash", default=None, help="The posted root hash (decimal or 0x-hex) to compare with, instead of --registry.")
@click.option("--book", "book_path", type=click.Path(path_type=Path), default=None,
              help="The operator's published book (book.json written by commit) to compare account by account.")
@click.option("--depth", type=click.IntRange(1, 32), default=None,
              help="Tree depth of the posted root [default: a SolvencyRegistry's treeDepth(), else the smallest that fits].")
@click.option("--deployments", type=click.Path(path_type=Path), default=Path("deployments"), show_default=True,
              help="Without --engine and --registry: the SolvencyRegistry recorded here for the chain.")
@click.pass_obj
def audit_epoch_cmd(ctx, rpc: str, engine: str | None, epoch: int, registry: str | None, root_hash: str | None,
                    book_path: Path | None, depth: int | None, deployments: Path) -> None:
    """Rebuild an epoch's book from the engine and check it: aggregates, root, every account.

    Reads checkpoint EPOCH (its event, hash checked), the engine's state at its block, and
    recomputes the aggregates (account count, Σ collateral, per market Σ long size, Σ cost basis,
    Σ size·f) and the salt-0 root at the checkpoint's market views. Compares them with the
    checkpoint, with the root posted in --registry (or --root), and with the operator's --book
    account by account. Exits 1 naming every mismatch.

    \b
    Example:
      pymargin audit-epoch --rpc http://127.0.0.1:8545 --registry 0x... --epoch 3
      pymargin audit-epoch --rpc http://127.0.0.1:8545 --engine 0x... --epoch 3 --book epoch-3/book.json
    """
    import sys

    from pymargin.chain import devnet
    from pymargin.chain.audit import audit_epoch
    from pymargin.chain.checkpoints import engine_at, posted_root_hash, registry_depth, registry_engine

    if root_hash is not None and registry is not None:
        raise UserError("give --registry (its posted root) or --root HASH, not both")
    if engine is None and registry is None and root_hash is None:
        registry = _recorded(rpc, "SolvencyRegistry", deployments, "--engine or --registry")
    elif engine is None and registry is None:
        engine = _recorded(rpc, "MarginEngine", deployments, "--engine")
    expected_root = _root_hash(root_hash) if root_hash is not None else None
    operator_book = None
    if book_path is not None:
        from pymargin.book import load_book

        book = load_book(book_path)
        operator_book = (book.accounts, book.markets)
    chain = devnet.connect(rpc)
    record = None
    if registry is not None:
        expected_root = posted_root_hash(chain, registry, epoch)
        engine = engine or registry_engine(chain, registry)
        solvency_depth = registry_depth(chain, registry)  # None: a CommitmentRegistry (a root, no figures)
        depth = depth or solvency_depth
        if solvency_depth is not None:
            from pymargin.chain.solvency import epoch_record, registry_contract

            record = epoch_record(registry_contract(chain, registry), epoch)
    contract = engine_at(chain, engine)
    with ctx.progress.status(f"rebuilding epoch {epoch} from the engine"):
        audit = audit_epoch(contract, epoch, expected_root, operator_book, depth, record.figures.totals if record else None)
    data = audit_json(audit, contract.address, registry and chain.w3.to_checksum_address(registry), record)
    data["chain_id"] = chain.chain_id
    emit(ctx, data, (["check", "value"], audit_rows(audit, record)), title="epoch audited: ok" if audit.ok else "epoch audit FAILED")
    if audit.ok:
        ctx.info("next: each user checks their own inclusion (`pymargin check-inclusion PROOF.json`, or verify.html)")
    if not audit.ok:
        sys.exit(1)


def audit_json(audit, engine: str, registry: str | None, record) -> dict:
    """audit-epoch --json (docs/schemas/audit-epoch.schema.json): the checkpoint, the market snapshot, the rebuilt
    book's totals and root, and with a SolvencyRegistry what it recorded and by which transaction and verifier."""
    c = audit.checkpoint
    data = {
        "ok": audit.ok, "epoch": audit.epoch, "engine": engine, "registry": registry,
        "checkpoint": {"id": c.id, "block": c.block_number, "time_s": c.timestamp, "tx_hash": audit.checkpoint_tx_hash,
                       "insurance_fund_wad": c.insurance_fund_wad, "bad_debt_wad": c.bad_debt_wad,
                       "vault_balance_wad": c.vault_balance_wad, "accrued_fees_wad": c.accrued_fees_wad},
        "markets": [{"market_id": i, "price_wad": v.price_wad, "funding_index_wad": v.funding_index_wad, "imf_wad": v.imf_wad,
                     "mmf_wad": v.mmf_wad} for i, v in enumerate(c.markets)],
        "account_count": audit.accounts, "root_hash": hash_hex(audit.root_hash), "totals": audit.totals,
        "posted": None, "findings": audit.findings,
    }
    if record is not None:
        data["posted"] = {"tx_hash": record.post_tx_hash, "posted_at_s": record.figures.posted_at,
                          "verifier": record.verifier, "verifier_code_hash": record.verifier_code_hash,
                          "circuit": record.circuit, "reserves_wad": record.figures.reserves_wad, "totals": record.figures.totals}
    return data


def audit_rows(audit, record) -> list[tuple[str, object]]:
    """audit-epoch's table: what an auditor cites, in quote units (WAD / 1e18) for amounts."""
    from pymargin.fixedpoint import WAD

    def q(wad: int) -> str:
        return f"{wad / WAD:,.2f}"

    c, t = audit.checkpoint, audit.totals
    rows = [("epoch (checkpoint id)", audit.epoch), ("checkpoint block", c.block_number), ("checkpoint time (unix s)", c.timestamp),
            ("checkpoint tx", bytes_hex(audit.checkpoint_tx_hash)), ("accounts", audit.accounts),
            ("rebuilt root hash", hash_hex(audit.root_hash)), ("liabilities L", q(t.liabilities_wad)), ("Σ IM", q(t.im_wad)),
            ("Σ MM", q(t.mm_wad)), ("deficit", q(t.deficit_wad)), ("accounts below MM", t.below_mm_count),
            ("shortfall", q(t.shortfall_wad))]
    rows += [(f"market {i}: price / IMF / MMF", f"{q(v.price_wad)} / {v.imf_wad / WAD:.2%} / {v.mmf_wad / WAD:.2%}")
             for i, v in enumerate(c.markets)]
    if record is not None:
        rows += [("post tx", bytes_hex(record.post_tx_hash) if record.post_tx_hash else "not found"),
                 ("reserves (vault − owner fees)", q(record.figures.reserves_wad)), ("verifier", record.verifier),
                 ("verifier code keccak256", bytes_hex(record.verifier_code_hash)), ("circuit", record.circuit)]
    return rows + [("MISMATCH", f) for f in audit.findings]


def _root_hash(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise UserError(f"--root {text!r} is not an integer (decimal or 0x-hex)") from None


COMMANDS = [commit_cmd, check_inclusion_cmd, export_proof_cmd, verify_page_cmd, deploy_commitments_cmd, audit_epoch_cmd]
