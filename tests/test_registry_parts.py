"""SolvencyRegistry: an epoch posted in parts (beginEpoch, continueEpoch; docs/spec.md §7.5), with real
proofs on the embedded devnet.

SolvencyBatch(K = 1, M = 4, T = 2): four chained batches of a random zero-sum book of 7 accounts,
proven with groth16py (development keys, cached under build/zk) for checkpoint 1 and, the same book,
for checkpoint 2 (same chain states, another ctx). The engine is TestEngineCheckpoints holding those
checkpoints (tests/zk_books.py ``book_checkpoint``), the verifier the key's Groth16BatchVerifier.
The attacks a part could try — skip, repeat or relabel a batch, break the chain, bring proofs of
another checkpoint or a bad proof, continue nothing, continue a finished epoch, post as someone
else — are rejected with their errors; a partly posted epoch is never readable; the parts' record
equals the one-part post's; pymargin.chain.solvency.post_epoch_parts resumes a pending epoch. A new
begin or post replacing a pending epoch, and a resume on the chain, are marked slow (pairings in
py-evm cost ~0.15 s each; the default run keeps the attacks and the record).
"""

from __future__ import annotations

import dataclasses

import pytest

from pymargin.chain import commitments as commit_onchain
from pymargin.chain import solvency as onchain
from pymargin.chain.compile import compile_contracts
from pymargin.chain.contracts import ContractRevert, deploy_contract
from pymargin.chain.tx import node_signer
from pymargin.commit.commitment import commit_accounts
from pymargin.zk import circuits
from pymargin.zk.backends import get_backend
from pymargin.zk.inputs import epoch_statement
from pymargin.zk.prover_pool import ProverPool
from pymargin.zk.solvency import prove_epoch
from pymargin.zk.statement import Shape, context_hash
from pymargin.zk.wellformed import BASE_FIELD_Q
from zk_books import book_checkpoint, zero_sum_book

SHAPE = Shape(k=1, t=2, m=4)
BATCHES = 1 << SHAPE.t
SECRET = b"\x07" * 32


@pytest.fixture(scope="module")
def world(chain_session):
    chain = chain_session
    snapshot = chain.snapshot()
    compile_contracts()
    deployer, operator = node_signer(chain, 0), node_signer(chain, 1)
    accounts, views = zero_sum_book(31, (1 << SHAPE.depth) - 1)
    commitment = commit_accounts(accounts, views, SECRET, 1, depth=SHAPE.depth)
    engine, _ = deploy_contract(chain, "TestEngineCheckpoints", SHAPE.m, sender=deployer)
    hashers = commit_onchain.deploy_hashers(chain, deployer)
    keys = get_backend("groth16py").setup(circuits.solvency(SHAPE.k, SHAPE.m, SHAPE.t))
    verifier, _ = onchain.deploy_batch_verifier(chain, keys, deployer)
    registry = onchain.deploy_registry(chain, deployer, verifier, engine.address, hashers, SHAPE, operator=operator.address)
    epochs, checkpoints = {}, {}
    with ProverPool(1) as pool:
        for cid in (1, 2):
            statement = epoch_statement(commitment, SECRET, SHAPE, chain.chain_id, int(registry.address, 16),
                                        int(engine.address, 16), cid, SHAPE.m)
            checkpoints[cid] = book_checkpoint(statement, chain.w3.eth.block_number)
            engine.transact("record", checkpoints[cid].to_abi(), sender=deployer)
            epochs[cid], _ = prove_epoch(commitment, SECRET, statement, "groth16py", pool=pool)
    yield dict(chain=chain, deployer=deployer, operator=operator, registry=registry, epochs=epochs, checkpoints=checkpoints)
    chain.revert(snapshot)


@pytest.fixture
def w(world):
    snapshot = world["chain"].snapshot()
    yield world
    world["chain"].revert(snapshot)


def _words(proofs):
    return [tuple(p.eth_words()) for p in proofs]


def _begin(w, cid, n, sender=None):
    """beginEpoch of checkpoint ``cid`` with its first ``n`` batches."""
    epoch, cp = w["epochs"][cid], w["checkpoints"][cid]
    args = onchain.post_epoch_args(epoch, cp)[:4]
    return w["registry"].transact("beginEpoch", *args, list(epoch.states[:n + 1]), _words(epoch.proofs[:n]),
                                  sender=sender or w["operator"], gas=onchain.part_gas_limit(n, True))


def _continue(w, cid, first, n=None, states=None, proofs=None, sender=None, epoch_id=None):
    """continueEpoch: by default the ``n`` batches of checkpoint ``cid`` from ``first``, or the given states and proofs."""
    epoch = w["epochs"][cid]
    states = list(epoch.states[first:first + n + 1]) if states is None else list(states)
    proofs = list(epoch.proofs[first:first + n]) if proofs is None else list(proofs)
    return w["registry"].transact("continueEpoch", cid if epoch_id is None else epoch_id, first, states, _words(proofs),
                                  sender=sender or w["operator"], gas=onchain.part_gas_limit(max(len(proofs), 1), False))


def _rejects(call, name, args):
    with pytest.raises(ContractRevert) as exc:
        call()
    assert (exc.value.name, exc.value.args_) == (name, args)


def _unknown(w, cid):
    _rejects(lambda: onchain.epoch_figures(w["registry"], cid), "UnknownEpoch", (cid,))


def _events(w, receipt):
    return [(name, dict(args)) for name, args in w["registry"].decode_logs(receipt)]


def test_parts_record_what_the_one_part_post_records(w):
    chain, registry, epoch = w["chain"], w["registry"], w["epochs"][1]
    snapshot = chain.snapshot()
    # post_epoch_parts sends one postEpoch when every batch fits the first part
    whole, = onchain.post_epoch_parts(registry, epoch, w["checkpoints"][1], w["operator"], first_part=BATCHES, next_parts=1)
    assert (whole.first_batch, whole.batches) == (0, BATCHES)
    (name, one_part), = _events(w, whole.receipt)
    assert name == "EpochPosted"
    record = onchain.epoch_figures(registry, 1)
    chain.revert(snapshot)
    _unknown(w, 1)

    ctx = context_hash(epoch.statement)
    for first, n in ((0, 1), (1, 2)):
        receipt = _begin(w, 1, n) if first == 0 else _continue(w, 1, first, n)
        assert _events(w, receipt) == [("EpochPartPosted", {"epoch": 1, "firstBatch": first, "batches": n})]
        assert onchain.pending_epoch(registry) == onchain.PendingEpoch(1, ctx, first + n, epoch.states[first + n])
        _unknown(w, 1)  # a partial proof never makes the epoch count as posted
        assert registry.call("lastEpoch") == 0
    last = _continue(w, 1, 3, 1)
    (part, part_args), (posted, posted_args) = _events(w, last)
    assert (part, part_args, posted) == ("EpochPartPosted", {"epoch": 1, "firstBatch": 3, "batches": 1}, "EpochPosted")
    timestamp = chain.w3.eth.get_block(last.blockNumber).timestamp
    assert onchain.epoch_figures(registry, 1) == dataclasses.replace(record, posted_at=timestamp)
    assert posted_args["batches"] == one_part["batches"] == BATCHES
    assert dict(posted_args["figures"], postedAt=0) == dict(one_part["figures"], postedAt=0)
    assert registry.call("lastEpoch") == 1
    assert onchain.pending_epoch(registry) == onchain.PendingEpoch(0, 0, 0, 0)
    # the epoch is done: nothing to continue, nothing to begin again
    _rejects(lambda: _continue(w, 1, 3, 1), "EpochNotPending", (1, 0))
    _rejects(lambda: _begin(w, 1, 1), "EpochNotIncreasing", (1, 1))


def test_a_part_must_be_the_next_batches_of_the_chain(w):
    epoch, other = w["epochs"][1], w["epochs"][2]
    s, p = epoch.states, epoch.proofs
    _begin(w, 1, 1)
    pending = onchain.pending_epoch(w["registry"])
    # skip batch 1; repeat batch 0 (as batch 0, then relabelled as batch 1)
    _rejects(lambda: _continue(w, 1, 2, 1), "BatchOutOfOrder", (2, 1))
    _rejects(lambda: _continue(w, 1, 0, 1), "BatchOutOfOrder", (0, 1))
    _rejects(lambda: _continue(w, 1, 1, states=s[0:2], proofs=p[0:1]), "StateChainBroken", (s[0], s[1]))
    _rejects(lambda: _continue(w, 1, 1, states=(s[1], s[2]), proofs=p[0:1]), "InvalidBatchProofs", ())
    # a chain that does not start where the last part ended
    _rejects(lambda: _continue(w, 1, 1, states=(s[2], s[3]), proofs=p[2:3]), "StateChainBroken", (s[2], s[1]))
    # proofs of another checkpoint's statement: the same book, chain states and indices, another ctx
    assert other.states == epoch.states and other.statement.root == epoch.statement.root
    _rejects(lambda: _continue(w, 1, 1, proofs=other.proofs[1:3], states=s[1:4]), "InvalidBatchProofs", ())
    # one bad proof inside a later part: another statement's, a negated point
    _rejects(lambda: _continue(w, 1, 1, states=s[1:4], proofs=(p[1], other.proofs[2])), "InvalidBatchProofs", ())
    (ax, ay) = p[2].a
    negated = dataclasses.replace(p[2], a=(ax, BASE_FIELD_Q - ay))
    _rejects(lambda: _continue(w, 1, 1, states=s[1:4], proofs=(p[1], negated)), "InvalidBatchProofs", ())
    # part sizes: empty, beyond the last batch, states not one more than proofs
    _rejects(lambda: _continue(w, 1, 1, states=s[1:2], proofs=()), "WrongPartSize", (0, 1, 3))
    _rejects(lambda: _continue(w, 1, 1, states=s[1:] + (s[4],), proofs=p[1:] + p[:1]), "WrongPartSize", (4, 5, 3))
    _rejects(lambda: _continue(w, 1, 1, states=s[1:3], proofs=p[1:3]), "WrongPartSize", (2, 2, 3))
    # someone else, another epoch id
    _rejects(lambda: _continue(w, 1, 1, 1, sender=w["deployer"]), "NotOperator", (w["deployer"].address,))
    _rejects(lambda: _continue(w, 1, 1, 1, epoch_id=2), "EpochNotPending", (2, 1))
    # nothing of that moved the pending epoch; the honest parts finish it
    assert onchain.pending_epoch(w["registry"]) == pending
    _continue(w, 1, 1, 3)
    assert onchain.epoch_figures(w["registry"], 1).root == epoch.statement.root


def test_continue_needs_a_pending_epoch_and_begin_checks_like_post(w):
    _rejects(lambda: _continue(w, 1, 0, 1), "EpochNotPending", (1, 0))
    _rejects(lambda: _continue(w, 1, 0, 1, epoch_id=0), "EpochNotPending", (0, 0))
    _rejects(lambda: _begin(w, 1, 1, sender=w["deployer"]), "NotOperator", (w["deployer"].address,))
    _rejects(lambda: _begin(w, 1, 0), "WrongPartSize", (0, 1, BATCHES))
    # a first part of every batch records the epoch at once
    receipt = _begin(w, 1, BATCHES)
    assert [name for name, _ in _events(w, receipt)] == ["EpochPartPosted", "EpochPosted"]
    assert onchain.epoch_figures(w["registry"], 1).totals == w["epochs"][1].statement.totals


@pytest.mark.slow
def test_a_new_begin_or_post_discards_the_pending_epoch(w):
    registry = w["registry"]
    _begin(w, 1, 2)
    receipt = _begin(w, 2, 1)
    assert _events(w, receipt)[0] == ("EpochDiscarded", {"epoch": 1, "batchesPosted": 2})
    _rejects(lambda: _continue(w, 1, 2, 2), "EpochNotPending", (1, 2))
    _unknown(w, 1)
    # back to checkpoint 1 (still > lastEpoch): it starts again from batch 0; then a whole post of 2
    _begin(w, 1, 3)
    receipt = onchain.post_epoch(registry, w["epochs"][2], w["checkpoints"][2], w["operator"])
    assert [name for name, _ in _events(w, receipt)] == ["EpochDiscarded", "EpochPosted"]
    assert registry.call("lastEpoch") == 2 and onchain.pending_epoch(registry).checkpoint_id == 0
    _unknown(w, 1)
    _rejects(lambda: _continue(w, 1, 3, 1), "EpochNotPending", (1, 0))
    _rejects(lambda: _begin(w, 1, 1), "EpochNotIncreasing", (1, 2))


@pytest.mark.slow
def test_post_epoch_parts_resumes_a_pending_epoch(w):
    registry, epoch, cp, operator = w["registry"], w["epochs"][1], w["checkpoints"][1], w["operator"]
    _begin(w, 1, 1)  # an earlier run stopped after its first part
    parts = onchain.post_epoch_parts(registry, epoch, cp, operator, first_part=2, next_parts=2)
    assert [(p.first_batch, p.batches) for p in parts] == [(1, 2), (3, 1)]
    assert onchain.epoch_figures(w["registry"], 1).root == epoch.statement.root


def test_resume_only_this_proofs_pending_epoch(world):
    """Continue from the pending epoch's next batch only if it is this proof's (checkpoint, ctx, chain state)."""
    epoch, other = world["epochs"][1], world["epochs"][2]
    ctx, s = context_hash(epoch.statement), epoch.states
    assert onchain.resume_batch(onchain.PendingEpoch(1, ctx, 2, s[2]), epoch) == 2
    for pending in (onchain.PendingEpoch(0, 0, 0, 0), onchain.PendingEpoch(2, context_hash(other.statement), 2, s[2]),
                    onchain.PendingEpoch(1, ctx + 1, 2, s[2]), onchain.PendingEpoch(1, ctx, 2, s[1]),
                    onchain.PendingEpoch(1, ctx, BATCHES, s[BATCHES])):
        assert onchain.resume_batch(pending, epoch) == 0


def test_part_sizes_from_a_gas_budget():
    first, nxt = onchain.part_sizes(30_000_000)
    assert onchain.part_gas_limit(first, True) <= 30_000_000 < onchain.part_gas_limit(first + 1, True)
    assert onchain.part_gas_limit(nxt, False) <= 30_000_000 < onchain.part_gas_limit(nxt + 1, False)
    assert onchain.part_sizes(onchain.part_gas_limit(1, True) - 1)[0] == 0


def test_cli_refuses_a_gas_budget_that_holds_no_batch(capsys, tmp_path):
    from cli_support import run_cli

    missing = str(tmp_path / "epoch.json")
    code, _, err = run_cli(capsys, "post-epoch", missing, "--rpc", "http://127.0.0.1:9", "--max-gas-per-tx", "1000000")
    assert code == 2 and "--max-gas-per-tx 1,000,000 holds no batch" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "post-epoch", missing, "--rpc", "http://127.0.0.1:9", "--batches-per-tx", "0")
    assert code == 2 and "--batches-per-tx" in err and "Traceback" not in err
