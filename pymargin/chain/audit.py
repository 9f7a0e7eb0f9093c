"""Auditing an epoch against the engine (docs/spec.md §5.11): anyone rebuilds the book at the
checkpoint's block, recomputes its aggregates and its salt-0 root, and compares them with the
checkpoint's, with a posted root, and account by account with the operator's published book.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pymargin.chain.checkpoints import CheckpointBook, checkpoint_event
from pymargin.chain.contracts import Contract
from pymargin.commit.commitment import commit_accounts
from pymargin.engine import CheckpointData, Engine
from pymargin.jsonvalues import hash_hex
from pymargin.model import Account
from pymargin.zk.inputs import book_sums
from pymargin.zk.statement import Totals


@dataclass
class Audit:
    """What an audit found: the checkpoint (and the transaction that took it), the rebuilt book's root
    hash and totals (L, deficit, shortfall, Σ IM, Σ MM ...), and every discrepancy, one line each."""

    epoch: int
    block: int
    accounts: int
    root_hash: int
    checkpoint: CheckpointData
    checkpoint_tx_hash: bytes
    totals: Totals
    findings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def account_differences(engine_accounts: list[Account], book_accounts: list[Account]) -> list[str]:
    """Account by account: what the published book left out, added or states differently (collateral, positions)."""
    engine = {a.account_id: a for a in engine_accounts}
    book = {a.account_id: a for a in book_accounts}
    out = [f"account {i}: in the engine, missing from the book" for i in engine if i not in book]
    out += [f"account {i}: in the book, not in the engine" for i in book if i not in engine]
    for i, a in engine.items():
        b = book.get(i)
        if b is None:
            continue
        if a.collateral != b.collateral:
            out.append(f"account {i}: collateral engine {a.collateral}, book {b.collateral}")
        if a.positions != b.positions:
            out.append(f"account {i}: positions engine {sorted(a.positions.values(), key=_market)}, "
                       f"book {sorted(b.positions.values(), key=_market)}")
    return out


def _values(totals: Totals) -> tuple[int, ...]:
    return tuple(getattr(totals, name) for name in Totals.__dataclass_fields__)


def _market(position) -> int:
    return position.market_id


def audit_epoch(engine: Contract, epoch: int, root_hash: int | None = None,
                operator_book: tuple[list[Account], dict] | None = None, depth: int | None = None,
                posted_totals: Totals | None = None) -> Audit:
    """Audit epoch ``epoch`` (= checkpoint id) of ``engine``: the engine's state at the checkpoint's block
    against the checkpoint's aggregates, the salt-0 root of that book (a tree of ``depth``, default the
    smallest that fits; a SolvencyRegistry's is its ``treeDepth()``) against ``root_hash``, the book's
    totals against ``posted_totals`` (a SolvencyRegistry's figures), and the operator's published book
    (accounts, market views) against all of them."""
    data, tx_hash = checkpoint_event(engine, epoch)
    state = Engine.from_chain(engine, data.block_number)
    book = CheckpointBook(data, state.accounts(), dict(enumerate(data.markets)))
    commitment = commit_accounts(book.accounts, book.markets, None, epoch, depth)
    root = commitment.root
    totals = book_sums(commitment, None, len(data.markets), len(data.markets)).totals
    audit = Audit(epoch, data.block_number, len(book.accounts), root.hash, data, tx_hash, totals)
    audit.findings += [f"engine state at block {data.block_number}: {m} (changed after the checkpoint in its block)"
                       for m in book.aggregate_mismatches()]
    if root_hash is not None and root_hash != root.hash:
        audit.findings.append(f"root: posted {hash_hex(root_hash)}, rebuilt from the engine {hash_hex(root.hash)}")
    if posted_totals is not None:
        audit.findings += [f"posted {name}: {posted}, rebuilt from the engine {rebuilt}"
                           for name, posted, rebuilt in zip(Totals.__dataclass_fields__, _values(posted_totals), _values(totals))
                           if posted != rebuilt]
    if operator_book is not None:
        accounts, markets = operator_book
        if dict(markets) != book.markets:
            audit.findings.append("operator's book: market views differ from the checkpoint's")
        audit.findings += [f"operator's book: {m}" for m in book.aggregate_mismatches(accounts)]
        audit.findings += account_differences(book.accounts, accounts)
    return audit
