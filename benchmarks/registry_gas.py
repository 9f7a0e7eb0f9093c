"""SolvencyRegistry.postEpoch gas against the number of batches (docs/spec.md §7.5, §7.6).

Usage (from the checkout; writes benchmarks/registry_gas.md, the key ``post_epoch_gas_by_batches`` of
benchmarks/zk_results.json, and prints the table):

    .venv/bin/python benchmarks/registry_gas.py --runs 1:0 1:2 1:4 1:6 2:0 2:2
    .venv/bin/python benchmarks/registry_gas.py --parts 1:5

``--parts K:T`` measures posting in parts instead (beginEpoch and continueEpoch of 1, 4 and 16 batches
of one 2^T-batch epoch, each from the same chain snapshot) and writes the section "Posting in parts" of
registry_gas.md and the key ``post_epoch_parts`` of zk_results.json (other keys and sections stay).

Each run K:T: a random zero-sum book of 2^(K+T) − 1 accounts (tests/zk_books.py, 4 markets) committed at
depth K + T, proven with groth16py in 2^T batches of SolvencyBatch(K, 4, T), and posted on the embedded
devnet (py-evm; gas is the same on anvil) to a SolvencyRegistry whose verifier is the key's
Groth16BatchVerifier (one batched pairing check for all batches). The engine is TestEngineCheckpoints
holding the checkpoint whose aggregates are the book's (the registry's work does not depend on which
engine stores the hash: one external call and one SLOAD). Also measured: a bare ``verifyBatch``
transaction of the same proofs.

Gas does not depend on K (the public signals and calldata are the same size for every K), so the first
K's runs are the series, runs with another K check that, and gas per account at K = 6 is postEpoch
gas / (batches · 64).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from zk_books import book_checkpoint, zero_sum_book  # noqa: E402

from pymargin.chain import commitments as commit_onchain  # noqa: E402
from pymargin.chain import devnet  # noqa: E402
from pymargin.chain import solvency as onchain  # noqa: E402
from pymargin.chain.compile import compile_contracts  # noqa: E402
from pymargin.chain.contracts import deploy_contract  # noqa: E402
from pymargin.chain.tx import node_signer  # noqa: E402
from pymargin.cli.zk_cmds import DEFAULT_MAX_GAS_PER_TX  # noqa: E402
from pymargin.commit.commitment import commit_accounts  # noqa: E402
from pymargin.zk import circuits  # noqa: E402
from pymargin.zk.backends import get_backend  # noqa: E402
from pymargin.zk.inputs import epoch_statement  # noqa: E402
from pymargin.zk.solvency import prove_epoch  # noqa: E402
from pymargin.zk.statement import Shape  # noqa: E402

M = 4
SECRET = b"\x05" * 32
K_PER_ACCOUNT = 6  # the batch size gas per account is quoted at
JSON_KEY = "post_epoch_gas_by_batches"


def proven_epoch(chain, k: int, t: int):
    """A registry of SolvencyBatch(k, M, t) over a TestEngineCheckpoints holding checkpoint 1, and a
    proven epoch of a random zero-sum book for it: (registry, verifier, epoch, checkpoint, sender)."""
    shape = Shape(k, t, M)
    accounts, views = zero_sum_book(17 + t, (1 << shape.depth) - 1)
    sender = node_signer(chain)
    keys = get_backend("groth16py").setup(circuits.solvency(k, M, t))
    verifier, _ = onchain.deploy_batch_verifier(chain, keys, sender)
    hashers = commit_onchain.deploy_hashers(chain, sender)
    engine, _ = deploy_contract(chain, "TestEngineCheckpoints", M, sender=sender)
    registry = onchain.deploy_registry(chain, sender, verifier, engine.address, hashers, shape)
    commitment = commit_accounts(accounts, views, SECRET, 1, depth=shape.depth)
    statement = epoch_statement(commitment, SECRET, shape, chain.chain_id, int(registry.address, 16), int(engine.address, 16), 1, M)
    checkpoint = book_checkpoint(statement, chain.w3.eth.block_number)
    engine.transact("record", checkpoint.to_abi(), sender=sender)
    epoch, _ = prove_epoch(commitment, SECRET, statement, "groth16py", workers=2)
    return registry, verifier, epoch, checkpoint, sender


def post_gas(chain, k: int, t: int) -> dict:
    """Prove and post one epoch of SolvencyBatch(k, M, t); return its figures."""
    registry, verifier, epoch, checkpoint, sender = proven_epoch(chain, k, t)
    accounts = epoch.statement.totals.account_count
    receipt = onchain.post_epoch(registry, epoch, checkpoint, sender)
    assert receipt.status == 1
    return {"k": k, "t": t, "batches": 1 << t, "accounts": accounts, "post_epoch_gas": receipt.gasUsed,
            "verify_batch_gas": onchain.batch_verify_gas(chain, verifier, list(epoch.proofs), sender)}


def fit(rows: list[dict], gas_key: str = "post_epoch_gas") -> tuple[int, int]:
    """Least-squares line gas = base + per_batch · batches (Floor of each coefficient)."""
    n = len(rows)
    xs, ys = [r["batches"] for r in rows], [r[gas_key] for r in rows]
    mx, my = sum(xs) / n, sum(ys) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return int(my - slope * mx), int(slope)


def render(rows: list[dict], command: str) -> tuple[str, dict]:
    """(registry_gas.md text, the ``post_epoch_gas_by_batches`` entry) of the measured ``rows``; the first
    row's K is the series the line is fitted to."""
    per_account = 1 << K_PER_ACCOUNT
    series_k = rows[0]["k"]
    series = [r for r in rows if r["k"] == series_k]
    base, per_batch = fit(series) if len({r["batches"] for r in series}) >= 2 else (None, None)
    lines = [
        "# SolvencyRegistry.postEpoch gas (one batched verification per epoch)", "",
        f"`{command}` — embedded devnet (py-evm; gas is the same on anvil), M = {M} market slots, the key's",
        "Groth16BatchVerifier (groth16py development keys), real proofs of a random zero-sum book of",
        "2^(K+T) − 1 accounts, transaction gas incl. 21,000. The first K is the series (smallest K, so that",
        "64 batches prove quickly); rows with another K check that gas does not depend on K.", "",
        f"| K | T | batches | accounts | postEpoch gas | per batch | per account at K = {K_PER_ACCOUNT} | bare verifyBatch tx |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['k']} | {r['t']} | {r['batches']} | {r['accounts']} | {r['post_epoch_gas']:,} | "
                     f"{r['post_epoch_gas'] // r['batches']:,} | {r['post_epoch_gas'] // (r['batches'] * per_account):,} | "
                     f"{r['verify_batch_gas']:,} |")
    if base is not None:
        lines += [
            "", f"Least-squares fit over the K = {series_k} rows: **postEpoch ≈ {base:,} + {per_batch:,} × batches**",
            "(before: one verifyProof and one on-chain Poseidon_4 per batch, ≈ 1,490,619 + 266,099 × batches).",
            "The fixed part: checkpoint hash and call, 2·M Poseidon_5 and 4 more hashes for the statement (ctx,",
            "once), range checks, storing the figures, and the batch check's 3 extra pairs and 2 + N ecMul (α",
            "and the IC product); per batch: one pair (34,000), two ecMul (6,000 each), one ecAdd, the",
            "coefficient hash and the proof's and state's calldata. No Poseidon per batch.", "",
            f"Gas per account at K = {K_PER_ACCOUNT}: postEpoch gas / (batches · {per_account}), the column above (postEpoch",
            "gas does not depend on K: the public signals and calldata have the same size for every K). It",
            f"falls towards {per_batch:,} / {per_account} = **{per_batch // per_account:,} gas per account** as batches grow.", "",
            "K = 2 against K = 1: equal within 0.01 % at T = 2 (and the bare verifyBatch within 60 gas); at",
            "T = 0 the K = 1 book is a single account without positions, so Σmm, Σim and the aggregates are",
            "zero: two storage writes and some calldata cost ≈ 40k less; the verification costs the same.",
        ]
    entry = {
        "command": command, "m": M, "chain": "embedded devnet (py-evm)",
        "rows": [{k: r[k] for k in ("k", "t", "batches", "accounts", "post_epoch_gas", "verify_batch_gas")} for r in rows],
        "fit": {"k": series_k, "base_gas": base, "per_batch_gas": per_batch},
        "gas_per_account_k6": {str(r["batches"]): r["post_epoch_gas"] // (r["batches"] * per_account) for r in series},
        "gas_per_account_k6_limit": per_batch // per_account if per_batch else None,
    }
    return "\n".join(lines) + "\n", entry


PART_SIZES = (1, 4, 16)
EPOCH_ACCOUNTS = 10**6
BLOCK_GAS = 30_000_000  # the block gas limit the brief's count is quoted at (anvil's default)
TX_GAS_CAP = 1 << 24  # EIP-7825 (Osaka): the most gas one transaction may use
PARTS_JSON_KEY = "post_epoch_parts"
PARTS_HEADING = "## Posting in parts"


def _part(registry, sender, epoch, checkpoint, first: int, n: int):
    """Send beginEpoch (first = 0) or continueEpoch of batches first … first + n − 1; return the receipt."""
    states, proofs = list(epoch.states[first:first + n + 1]), [tuple(p.eth_words()) for p in epoch.proofs[first:first + n]]
    if first == 0:
        return registry.transact("beginEpoch", *onchain.post_epoch_args(epoch, checkpoint)[:4], states, proofs,
                                 sender=sender, gas=onchain.part_gas_limit(n, True))
    return registry.transact("continueEpoch", epoch.statement.checkpoint_id, first, states, proofs, sender=sender,
                             gas=onchain.part_gas_limit(n, False))


def parts_gas(chain, k: int, t: int) -> list[dict]:
    """Gas of beginEpoch parts of PART_SIZES batches, of continueEpoch parts of PART_SIZES after a
    one-batch begin, and of the continueEpoch that completes the epoch after a begin of half of it."""
    registry, _, epoch, checkpoint, sender = proven_epoch(chain, k, t)
    rows = []

    def measure(call, steps):
        snapshot = chain.snapshot()
        for first, n in steps[:-1]:
            _part(registry, sender, epoch, checkpoint, first, n)
        first, n = steps[-1]
        receipt = _part(registry, sender, epoch, checkpoint, first, n)
        assert receipt.status == 1
        rows.append({"call": call, "first_batch": first, "batches": n, "gas": receipt.gasUsed})
        chain.revert(snapshot)

    for n in PART_SIZES:
        measure("beginEpoch", [(0, n)])
    for n in PART_SIZES:
        measure("continueEpoch", [(0, 1), (1, n)])
    half = 1 << (t - 1)
    measure("continueEpoch (completes)", [(0, half), (half, half)])
    return rows


def epoch_transactions(begin: tuple[int, int], cont: tuple[int, int], batches: int, tx_gas: int) -> dict:
    """Transactions and total gas to post ``batches`` batches in parts of at most ``tx_gas`` gas each, with
    part gas = fixed + per_batch · n (the fitted lines): the first part as large as fits, then full parts."""
    first = min((tx_gas - begin[0]) // begin[1], batches)
    per_part = (tx_gas - cont[0]) // cont[1]
    rest = batches - first
    later = -(-rest // per_part)  # Ceil
    gas = begin[0] + begin[1] * first + cont[0] * later + cont[1] * rest
    return {"tx_gas": tx_gas, "first_part_batches": first, "later_part_batches": per_part, "transactions": 1 + later,
            "total_gas": gas}


def render_parts(rows: list[dict], k: int, t: int, command: str) -> tuple[str, dict]:
    """(the "Posting in parts" section, the ``post_epoch_parts`` entry) of the measured part ``rows``."""
    begin = fit([r for r in rows if r["call"] == "beginEpoch"], "gas")
    cont = fit([r for r in rows if r["call"] == "continueEpoch"], "gas")
    batches = -(-EPOCH_ACCOUNTS // (1 << K_PER_ACCOUNT))  # Ceil
    at_block, at_cap = (epoch_transactions(begin, cont, batches, g) for g in (BLOCK_GAS, TX_GAS_CAP))
    lines = [
        PARTS_HEADING, "",
        f"`{command}` — one epoch of SolvencyBatch(K = {k}, M = {M}, T = {t}) ({1 << t} batches, real proofs,",
        "the same devnet, keys and engine as above); each row is one transaction sent from the same chain",
        "snapshot: beginEpoch of the first n batches; continueEpoch of batches 1 … n after a one-batch",
        "begin; and the continueEpoch that brings the last batch in (records the figures, EpochPosted)",
        "after a begin of half the batches. Gas incl. 21,000.", "",
        "| call | first batch | batches | gas | per batch |", "|---|---|---|---|---|",
    ]
    lines += [f"| {r['call']} | {r['first_batch']} | {r['batches']} | {r['gas']:,} | {r['gas'] // r['batches']:,} |" for r in rows]
    lines += [
        "", f"Least-squares fits: **beginEpoch ≈ {begin[0]:,} + {begin[1]:,} × batches**, "
        f"**continueEpoch ≈ {cont[0]:,} + {cont[1]:,} × batches**",
        "(beginEpoch: postEpoch's fixed part plus the pending epoch's storage; continueEpoch: the pending",
        "epoch read and update, the batch check's fixed pairs; the completing part also writes the record).", "",
        f"A {EPOCH_ACCOUNTS:,}-account epoch at K = {K_PER_ACCOUNT}: {batches:,} batches. Parts as large as fit:", "",
        "| gas per transaction at most | first part | later parts | transactions | total gas |", "|---|---|---|---|---|",
    ]
    for name, e in ((f"{BLOCK_GAS:,} (a 30M-gas block)", at_block), (f"{TX_GAS_CAP:,} (EIP-7825 cap, Osaka)", at_cap)):
        lines.append(f"| {name} | {e['first_part_batches']:,} | {e['later_part_batches']:,} | **{e['transactions']:,}** | "
                     f"{e['total_gas']:,} |")
    cli_first, cli_later = onchain.part_sizes(DEFAULT_MAX_GAS_PER_TX)
    cli_txs = 1 + -(-(batches - cli_first) // cli_later)
    lines += [
        "", "`pymargin post-epoch` sends explicit gas with headroom (pymargin/chain/solvency.py `part_gas_limit`:",
        f"{onchain.BEGIN_GAS_BASE:,} or {onchain.CONTINUE_GAS_BASE:,} + {onchain.PART_GAS_PER_BATCH:,} × batches), so it packs fewer",
        f"batches per part than the bound above: at its default `--max-gas-per-tx {DEFAULT_MAX_GAS_PER_TX}`, {cli_first} then",
        f"{cli_later} batches per part, {cli_txs} transactions.",
    ]
    entry = {
        "command": command, "k": k, "t": t, "m": M, "chain": "embedded devnet (py-evm)", "rows": rows,
        "begin_fixed_gas": begin[0], "begin_per_batch_gas": begin[1], "continue_fixed_gas": cont[0],
        "continue_per_batch_gas": cont[1],
        "epoch_1e6": {"accounts": EPOCH_ACCOUNTS, "k": K_PER_ACCOUNT, "batches": batches, "at_30m_block_gas": at_block,
                      "at_eip7825_tx_cap": at_cap},
    }
    return "\n".join(lines) + "\n", entry


def with_section(text: str, heading: str, section: str) -> str:
    """``text`` with its section under ``heading`` (to the end) replaced by ``section``, or ``section`` appended."""
    at = text.find(heading)
    head = text if at < 0 else text[:at]
    return head.rstrip("\n") + "\n\n" + section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="+", default=["1:0", "1:2", "1:4", "1:6", "2:0", "2:2"], help="K:T pairs")
    parser.add_argument("--parts", default=None, help="K:T (T >= 5): measure posting in parts instead")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "registry_gas.md")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "zk_results.json")
    args = parser.parse_args()
    command = " ".join([".venv/bin/python", "benchmarks/registry_gas.py", *sys.argv[1:]])
    compile_contracts()
    chain = devnet.embedded()
    results = json.loads(args.json.read_text())
    old = args.out.read_text() if args.out.is_file() else ""
    try:
        if args.parts:
            k, t = (int(v) for v in args.parts.split(":"))
            section, results[PARTS_JSON_KEY] = render_parts(parts_gas(chain, k, t), k, t, command)
            text = with_section(old, PARTS_HEADING, section)
        else:
            runs = [tuple(int(v) for v in run.split(":")) for run in args.runs]
            text, results[JSON_KEY] = render([post_gas(chain, k, t) for k, t in runs], command)
            if PARTS_HEADING in old:
                text = with_section(text, PARTS_HEADING, old[old.index(PARTS_HEADING):])
    finally:
        chain.close()
    args.out.write_text(text)
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    print(text)


if __name__ == "__main__":
    main()
