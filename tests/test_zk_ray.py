"""Batches proven as Ray tasks (a local Ray cluster) give the same public signals as local workers,
and every returned proof verifies (Groth16 proofs are randomised, so the proofs themselves differ)."""

from __future__ import annotations

import pytest

from pymargin.commit.commitment import commit_accounts
from pymargin.zk import inputs
from pymargin.zk.solvency import prove_epoch, verify_epoch
from pymargin.zk.statement import Shape
from zk_books import book

pytest.importorskip("ray")
K, M, DEPTH = 3, 4, 4
SECRET = b"\x42" * 32


def test_ray_and_process_workers_prove_the_same_chain():
    accounts, views = book(21, 14)
    commitment = commit_accounts(accounts, views, SECRET, 9, depth=DEPTH)
    statement = inputs.epoch_statement(commitment, SECRET, Shape(K, DEPTH - K, M), 31337, 0xABCDEF, 0xE9E, 9, len(views))
    local, keys = prove_epoch(commitment, SECRET, statement, "groth16py", workers=2)
    remote, _ = prove_epoch(commitment, SECRET, statement, "groth16py", workers=2, ray_address="local")
    assert [p.public for p in remote.proofs] == [p.public for p in local.proofs]
    assert remote.states == local.states
    vk = keys.verifying_key()
    assert verify_epoch(local, vk, statement.shape) == [] and verify_epoch(remote, vk, statement.shape) == []
