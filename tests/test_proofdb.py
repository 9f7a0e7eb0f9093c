"""The proofs database (docs/spec.md §6.4): every proof rebuilt from it equals the JSON proof document,
written all or nothing, one account read at a time."""

from __future__ import annotations

import random
import sqlite3

import pytest
from commit_books import random_book

from pymargin.commit import inclusion
from pymargin.commit.commitment import commit_accounts
from pymargin.commit.inclusion import parse_proof, proof_document, proof_document_from_db, verify_proof, write_commitment
from pymargin.commit.proofdb import ProofDbError, accounts_of_owner
from pymargin.commit.tree import PARALLEL_MIN_LEAVES

SECRET = bytes(range(32))


@pytest.mark.parametrize("secret", [SECRET, None], ids=["secret", "public"])
def test_every_proof_from_the_database_equals_the_json_document(tmp_path, secret):
    accounts, markets = random_book(5, 37, extreme=True)  # full-precision values, every bound's extremes
    commitment = commit_accounts(accounts, markets, secret, 2**64 - 1, depth=7)
    write_commitment(commitment, secret, tmp_path / "c")
    for index, account in enumerate(commitment.accounts):
        doc = proof_document_from_db(tmp_path / "c" / "proofs.sqlite", account.account_id)
        assert doc == proof_document(commitment, index, secret)
        verify_proof(parse_proof(doc))


def test_rows_made_in_worker_processes_equal_serial(tmp_path):
    accounts, markets = random_book(8, PARALLEL_MIN_LEAVES + 5)
    commitment = commit_accounts(accounts, markets, SECRET, 3, workers=2)
    write_commitment(commitment, SECRET, tmp_path / "serial", workers=1)
    write_commitment(commitment, SECRET, tmp_path / "parallel", workers=2)
    tables = []
    for name in ("serial", "parallel"):
        with sqlite3.connect(tmp_path / name / "proofs.sqlite") as con:
            tables.append([con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in ("meta", "levels", "accounts")])
    assert tables[0] == tables[1]
    for index in random.Random(1).sample(range(len(accounts)), 20):
        account = commitment.accounts[index]
        assert proof_document_from_db(tmp_path / "parallel" / "proofs.sqlite", account.account_id) == \
            proof_document(commitment, index, SECRET)
    assert accounts_of_owner(tmp_path / "parallel" / "proofs.sqlite", account.owner) == [account.account_id]


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    accounts, markets = random_book(2, 9)
    commitment = commit_accounts(accounts, markets, SECRET, 1)

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(inclusion, "write_proof_db", fail)
    with pytest.raises(OSError, match="disk full"):
        write_commitment(commitment, SECRET, tmp_path / "c")
    assert list(tmp_path.iterdir()) == []  # neither the folder nor a staging folder


def test_unknown_accounts_and_files_that_are_not_databases(tmp_path):
    accounts, markets = random_book(3, 4)
    commitment = commit_accounts(accounts, markets, SECRET, 1)
    write_commitment(commitment, SECRET, tmp_path / "c")
    db = tmp_path / "c" / "proofs.sqlite"
    with pytest.raises(ProofDbError, match="account 0x0:0 is not in"):
        proof_document_from_db(db, "0x0:0")
    with pytest.raises(ProofDbError, match="owner 0x0 has 0 accounts"):
        proof_document_from_db(db, "0x0")
    with pytest.raises(ProofDbError, match="is not a pymargin proofs database"):
        proof_document_from_db(tmp_path / "c" / "root.json", accounts[0].account_id)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE meta (key TEXT, value TEXT)").connection.commit()
    with pytest.raises(ProofDbError, match="is not a pymargin-proofs-v1 database"):
        proof_document_from_db(other, accounts[0].account_id)
