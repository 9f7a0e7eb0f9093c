"""A ProverPool keeps its workers and their loaded proving keys between epochs: two epochs proven
through one pool load the key at most once per worker, in the same worker processes, and every
proof of both epochs verifies (the smallest solvency circuit, K = 1, two batches)."""

from __future__ import annotations

import pytest

from pymargin.commit.commitment import commit_accounts
from pymargin.zk import inputs
from pymargin.zk.prover_pool import ProverPool
from pymargin.zk.solvency import prove_epoch, verify_epoch
from pymargin.zk.statement import Shape
from zk_books import book

SHAPE = Shape(k=1, t=1, m=4)  # the circuit test_zk_solvency proves (compiled once for both)
SECRET = b"\x5a" * 32


def _two_epochs(pool: ProverPool) -> None:
    accounts, views = book(31, 3)
    for epoch_id in (4, 5):
        commitment = commit_accounts(accounts, views, SECRET, epoch_id, depth=SHAPE.depth)
        statement = inputs.epoch_statement(commitment, SECRET, SHAPE, 31337, 0xABCDEF, 0xE9E, epoch_id, len(views))
        epoch, keys = prove_epoch(commitment, SECRET, statement, "groth16py", pool=pool)
        assert verify_epoch(epoch, keys.verifying_key(), SHAPE) == []


@pytest.mark.parametrize("ray_address", [None, "local"])
def test_pool_reuses_workers_and_keys_across_epochs(ray_address):
    if ray_address:
        pytest.importorskip("ray")
    with ProverPool(workers=2, ray_address=ray_address) as pool:
        _two_epochs(pool)
        assert pool.jobs == 4
        assert 1 <= len(pool.worker_ids) <= 2, "the second epoch ran in new worker processes"
        assert 1 <= pool.key_loads <= len(pool.worker_ids), "a worker loaded the same key twice"
        assert pool.key_load_s > 0 and pool.prove_s > 0
