"""Auditing an epoch against the engine (docs/spec.md §5.11): anyone rebuilds the book at the
checkpoint's block, recomputes its aggregates and its salt-0 root, and compares them with the
checkpoint's, with a posted root, and account by account with the operator's published book.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pymargin.chain.checkpoints import CheckpointBook, checkpoint_data
from pymargin.chain.contracts import Contract
from pymargin.commit.commitment import commit_accounts
from pymargin.engine import Engine
from pymargin.model import Account


@dataclass
class Audit:
    """What an audit found: the rebuilt book's root hash and every discrepancy, one line each."""

    epoch: int
    block: int
    accounts: int
    root_hash: int
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


def _market(position) -> int:
    return position.market_id


def audit_epoch(engine: Contract, epoch: int, root_hash: int | None = None,
                operator_book: tuple[list[Account], dict] | None = None, depth: int | None = None) -> Audit:
    """Audit epoch ``epoch`` (= checkpoint id) of ``engine``: the engine's state at the checkpoint's block
    against the checkpoint's aggregates, the salt-0 root of that book (a tree of ``depth``, default the
    smallest that fits; a SolvencyRegistry's is its ``treeDepth()``) against ``root_hash``, and the
    operator's published book (accounts, market views) against both."""
    data = checkpoint_data(engine, epoch)
    state = Engine.from_chain(engine, data.block_number)
    book = CheckpointBook(data, state.accounts(), dict(enumerate(data.markets)))
    root = commit_accounts(book.accounts, book.markets, None, epoch, depth).root
    audit = Audit(epoch, data.block_number, len(book.accounts), root.hash)
    audit.findings += [f"engine state at block {data.block_number}: {m} (changed after the checkpoint in its block)"
                       for m in book.aggregate_mismatches()]
    if root_hash is not None and root_hash != root.hash:
        audit.findings.append(f"root: posted {root_hash}, rebuilt from the engine {root.hash}")
    if operator_book is not None:
        accounts, markets = operator_book
        if dict(markets) != book.markets:
            audit.findings.append("operator's book: market views differ from the checkpoint's")
        audit.findings += [f"operator's book: {m}" for m in book.aggregate_mismatches(accounts)]
        audit.findings += account_differences(book.accounts, accounts)
    return audit
