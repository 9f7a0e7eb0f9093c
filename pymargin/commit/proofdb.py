"""Every account's inclusion proof in one indexed SQLite file (docs/spec.md §6.4), written by ``pymargin commit``.

Instead of one JSON file per account, ``proofs.sqlite`` holds each tree level once and one row per account
with what its proof adds to the tree: the account's leaf data (owner, sub, salt, collateral, positions) and
its leaf index. :func:`proof_from_db` rebuilds the account's proof document, exactly the JSON that
:func:`pymargin.commit.inclusion.proof_document` gives (the same function builds both), so
``check-inclusion --db`` and ``export-proof`` serve one user at a time without reading the rest.

Tables: ``meta(key, value)`` (``format``, ``root``: the root document), ``levels(level, records)`` (level k's
96-byte node records, as the tree stores them), ``accounts(account_id, owner, sub, leaf_index, salt,
collateral, positions)`` indexed by account id and by owner; a book with options also ``option_slots(account_id,
slots)`` (each holder's occupied option slots) and the meta key ``option_tables`` (the epoch's option tables as
a proof document writes them). Integers are decimal text (they exceed SQLite's 64-bit integers). The file is written in one transaction into the commitment's staging folder, which is
renamed into place only when complete.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from pymargin.commit.commitment import Commitment, fork_map
from pymargin.commit.leaf import EMPTY_SLOT, PUBLIC_SALT, Leaf, OptionSlot, account_id_hash, account_salt, slots_of
from pymargin.commit.option_rows import OptionRows, rows_from_json, rows_json
from pymargin.commit.tree import PARALLEL_MIN_LEAVES, RECORD, Node, zero_nodes
from pymargin.errors import UserError
from pymargin.model import Account, Position

FORMAT = "pymargin-proofs-v1"
FILENAME = "proofs.sqlite"
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE levels (level INTEGER PRIMARY KEY, records BLOB NOT NULL);
CREATE TABLE accounts (account_id TEXT PRIMARY KEY, owner TEXT NOT NULL, sub TEXT NOT NULL,
                       leaf_index INTEGER NOT NULL UNIQUE, salt TEXT NOT NULL, collateral TEXT NOT NULL,
                       positions TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX accounts_by_owner ON accounts (owner);
"""
_OPTIONS_SCHEMA = "CREATE TABLE option_slots (account_id TEXT PRIMARY KEY, slots TEXT NOT NULL) WITHOUT ROWID"


class ProofDbError(UserError):
    """A proofs database cannot be read, is not one, or lacks the account asked for."""


def _account_rows(accounts: Sequence[Account], secret: bytes | None) -> list[tuple]:
    """The ``accounts`` rows of ``accounts`` without their leaf index: (account_id, owner, sub, salt, collateral, positions)."""
    rows = []
    for account in accounts:
        account_id = account.account_id
        salt = PUBLIC_SALT if secret is None else account_salt(secret, account_id)
        positions = [[str(s.market_id), str(s.size), str(s.cost_basis), str(s.funding_index)]
                     for s in slots_of(list(account.positions.values()), account_id) if s != EMPTY_SLOT]
        rows.append((account_id, account.owner, str(account.sub), str(salt), str(account.collateral),
                     json.dumps(positions, separators=(",", ":"))))
    return rows


def write_proof_db(commitment: Commitment, secret: bytes | None, path: Path, root_document: dict, workers: int = 1) -> None:
    """Write every account of ``commitment`` into a new SQLite file ``path`` in one transaction (``path`` must
    not exist: the caller stages it in a folder it renames into place); rows made in ``workers`` processes."""
    accounts = commitment.accounts
    if workers <= 1 or len(accounts) < PARALLEL_MIN_LEAVES:
        rows = _account_rows(accounts, secret)
    else:
        rows = [row for part in fork_map(_account_rows, accounts, workers, secret) for row in part]
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode = OFF")  # a staged file: a failed write discards the whole folder
        con.execute("PRAGMA synchronous = OFF")
        con.execute("BEGIN")
        for statement in filter(str.strip, _SCHEMA.split(";")):
            con.execute(statement)
        con.executemany("INSERT INTO meta VALUES (?, ?)", [("format", FORMAT), ("root", json.dumps(root_document))])
        con.executemany("INSERT INTO levels VALUES (?, ?)", enumerate(commitment.tree.levels))
        con.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?)",
                        ((a, owner, sub, index, salt, collateral, positions)
                         for index, (a, owner, sub, salt, collateral, positions) in enumerate(rows)))
        if commitment.option_rows is not None:
            con.execute(_OPTIONS_SCHEMA)
            con.execute("INSERT INTO meta VALUES (?, ?)", ("option_tables", json.dumps(rows_json(commitment.option_rows))))
            con.executemany("INSERT INTO option_slots VALUES (?, ?)",
                            ((a, json.dumps([[str(o.row), str(o.size)] for o in slots if o.size], separators=(",", ":")))
                             for a, slots in commitment.option_slots.items() if any(o.size for o in slots)))
        con.execute("COMMIT")
    finally:
        con.close()


@dataclass(frozen=True)
class StoredProof:
    """What the database holds for one account: the root document and the account's leaf, node and path."""

    root_document: dict
    index: int
    owner: str
    sub: int
    leaf: Leaf
    node: Node
    siblings: list[Node]
    option_rows: OptionRows | None = None  # an options holder's: the option tables' rows its proof carries


def _open(path: Path) -> sqlite3.Connection:
    path = Path(path)
    if not path.is_file():
        raise ProofDbError(f"proofs database {path} not found")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        found = con.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise ProofDbError(f"{path} is not a pymargin proofs database ({exc})") from None
    if found is None or found[0] != FORMAT:
        con.close()
        raise ProofDbError(f"{path} is not a {FORMAT} database")
    return con


def _node_at(con: sqlite3.Connection, level: int, index: int) -> Node:
    """Node ``index`` of ``level``: read from the level's blob, or the padding subtree root past its real nodes."""
    blob = con.blobopen("levels", "records", level, readonly=True)
    try:
        if (index + 1) * RECORD <= len(blob):
            blob.seek(index * RECORD)
            return Node.from_record(blob.read(RECORD))
    finally:
        blob.close()
    return zero_nodes()[level]


def read_account(path: Path, account_id: str) -> StoredProof:
    """The stored proof of account ``owner:sub``; ProofDbError if the file is not a proofs database or lacks it."""
    con = _open(path)
    try:
        row = con.execute("SELECT owner, sub, leaf_index, salt, collateral, positions FROM accounts WHERE account_id = ?",
                          (account_id,)).fetchone()
        if row is None:
            raise ProofDbError(f"account {account_id} is not in {path}")
        owner, sub, index, salt, collateral, positions = row
        root_document = json.loads(con.execute("SELECT value FROM meta WHERE key = 'root'").fetchone()[0])
        depth = int(root_document["depth"])
        slots = slots_of([Position(*map(int, p)) for p in json.loads(positions)], account_id)
        leaf = Leaf(account_id_hash(account_id), int(salt), int(collateral), slots)
        rows = None
        tables = con.execute("SELECT value FROM meta WHERE key = 'option_tables'").fetchone()
        held = tables and con.execute("SELECT slots FROM option_slots WHERE account_id = ?", (account_id,)).fetchone()
        if held:
            rows = rows_from_json(json.loads(tables[0]))
            options = [OptionSlot(int(r), int(size)) for r, size in json.loads(held[0])]
            leaf = replace(leaf, options=tuple(options) + (OptionSlot(),) * (rows.slots - len(options)))
            rows = rows.excerpt(leaf)
        return StoredProof(root_document, index, owner, int(sub), leaf, _node_at(con, 0, index),
                           [_node_at(con, level, (index >> level) ^ 1) for level in range(depth)], rows)
    finally:
        con.close()


def accounts_of_owner(path: Path, owner: str) -> list[str]:
    """The account ids (owner:sub) of ``owner`` in the database, in leaf order."""
    con = _open(path)
    try:
        return [r[0] for r in con.execute("SELECT account_id FROM accounts WHERE owner = ? ORDER BY leaf_index", (owner,))]
    finally:
        con.close()
