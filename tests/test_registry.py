"""SolvencyRegistry without proving (docs/spec.md §7.5): the statement it computes equals
pymargin.zk.statement's (values and reverts, random full-precision checkpoints), every check of the
constructor and of postEpoch rejects with its custom error, and an accepted epoch records its figures.

The engine is TestEngineCheckpoints (records any checkpoint's hash, so checks the real engine never
trips are reachable) and the verifier TestBatchVerifier (accepts the public signals it was told to),
so these tests isolate the registry's own logic; tests/test_registry_e2e.py runs the real engine,
circuit and Groth16 verifier.
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from pymargin.chain import commitments as commit_onchain
from pymargin.chain import solvency as onchain
from pymargin.chain.compile import compile_contracts
from pymargin.chain.contracts import ContractRevert, deploy_contract
from pymargin.chain.tx import node_signer
from pymargin.commit.poseidon import P
from pymargin.commit.tree import Node
from pymargin.engine.checkpoint import CheckpointData, MarketAggregate
from pymargin.errors import Revert
from pymargin.fixedpoint import WAD
from pymargin.model import FUNDING_INDEX_BOUND, MarketView
from pymargin.zk import statement as st
from pymargin.zk.solvency import EpochProof

SHAPE = st.Shape(k=2, t=1, m=4)
SUM_BOUND = 2**172


def _wad(rng: random.Random, whole: int) -> int:
    """A value with all 18 decimals used (never round), up to ``whole`` units."""
    return rng.randrange(1, whole) * WAD + rng.randrange(1, WAD)


def random_checkpoint(rng: random.Random, cid: int, markets: int = 3) -> CheckpointData:
    views = tuple(MarketView(_wad(rng, 70_000), rng.choice((-1, 1)) * _wad(rng, 10**6), rng.randrange(WAD // 50, WAD // 4),
                       rng.randrange(WAD // 100, WAD // 50)) for _ in range(markets))
    aggs = tuple(MarketAggregate(_wad(rng, 10**7), rng.choice((-1, 1)) * _wad(rng, 10**11),
                           rng.choice((-1, 1)) * _wad(rng, 10**9) * _wad(rng, 10**6)) for _ in range(markets))
    return CheckpointData(cid, rng.randrange(1, 10**7), rng.randrange(1, 2**40), views, aggs, rng.randrange(1, 10**6),
                      _wad(rng, 10**10), _wad(rng, 10**10) + 10**12 * WAD, _wad(rng, 10**6), _wad(rng, 10**6), _wad(rng, 10**5))


def random_totals(rng: random.Random, liabilities: int) -> st.Totals:
    mm = _wad(rng, 10**9)
    return st.Totals(liabilities, _wad(rng, 10**5), rng.randrange(0, 1000), _wad(rng, 10**5), mm, mm + _wad(rng, 10**9), 0, 0)


class FakeProof:
    """Proof points for TestBatchVerifier (it ignores them)."""

    def eth_words(self):
        return [1, 2], [[3, 4], [5, 6]], [7, 8]


PROOFS = (FakeProof(), FakeProof())


@pytest.fixture(scope="module")
def world(chain_session):
    chain = chain_session
    snapshot = chain.snapshot()
    compile_contracts()
    deployer, operator = node_signer(chain, 0), node_signer(chain, 1)
    hashers = commit_onchain.deploy_hashers(chain, deployer)
    engine, _ = deploy_contract(chain, "TestEngineCheckpoints", 4, sender=deployer)
    verifier, _ = deploy_contract(chain, "TestBatchVerifier", sender=deployer)
    registry = onchain.deploy_registry(chain, deployer, verifier, engine.address, hashers, SHAPE, operator=operator.address)
    registry.decoder.add(engine.artifact["abi"])
    yield dict(chain=chain, deployer=deployer, operator=operator, hashers=hashers, engine=engine, verifier=verifier,
               registry=registry)
    chain.revert(snapshot)


@pytest.fixture
def w(world):
    snapshot = world["chain"].snapshot()
    yield world
    world["chain"].revert(snapshot)


def _statement(w, cp, totals, root_hash=12345, registry=None):
    registry = registry or w["registry"]
    root = Node(root_hash, totals.liabilities_wad, totals.mm_wad)
    return onchain.registry_statement(SHAPE, w["chain"].chain_id, int(registry.address, 16), int(w["engine"].address, 16),
                                      cp, root, totals)


def _states(rng):
    return tuple(rng.randrange(P) for _ in range(SHAPE.t * 2 + 1))


def _accept(w, statement, states):
    """Make TestBatchVerifier accept the epoch's public signals (as the Python statement computes them)."""
    ctx = st.context_hash(statement)
    for i in range(len(states) - 1):
        w["verifier"].transact("accept", list(st.batch_public_signals(ctx, i, states[i], states[i + 1])), sender=w["deployer"])


def _ready(w, seed, cid=1, record=True):
    """A recorded checkpoint with reserves ≥ L, its statement accepted by the verifier: a post that passes."""
    rng = random.Random(seed)
    cp = random_checkpoint(rng, cid)
    totals = random_totals(rng, onchain.user_reserves_wad(cp) - rng.randrange(0, 10**6 * WAD))
    if record:
        w["engine"].transact("record", cp.to_abi(), sender=w["deployer"])
    statement = _statement(w, cp, totals)
    states = _states(rng)
    _accept(w, statement, states)
    return cp, statement, states


def _post(w, statement, cp, states, proofs=PROOFS, sender=None, registry=None):
    epoch = EpochProof(statement, tuple(states), tuple(proofs), "test", "test")
    return onchain.post_epoch(registry or w["registry"], epoch, cp, sender or w["operator"])


def _rejects(w, name, args, statement, cp, states, **kw):
    with pytest.raises(ContractRevert) as exc:
        _post(w, statement, cp, states, **kw)
    assert (exc.value.name, exc.value.args_) == (name, args)


# --- the statement: registry = Python ---------------------------------------------------------------------

def test_context_hash_equals_python_statement(w):
    rng = random.Random(7)
    registry = w["registry"]
    for case in range(6):
        cp = random_checkpoint(rng, rng.randrange(1, 2**64), markets=case % 5)
        totals = random_totals(rng, _wad(rng, 10**9))
        statement = _statement(w, cp, totals, root_hash=rng.randrange(P))
        root = (statement.root.hash, statement.root.equity, statement.root.mm)
        ctx = registry.call("contextHash", cp.to_abi(), root, onchain.totals_arg(totals))
        assert ctx == st.context_hash(statement)
        assert statement.totals.account_count == cp.account_count and statement.totals.collateral_wad == cp.collateral_sum_wad
        states = [rng.randrange(P) for _ in range(case + 1)]
        first = rng.randrange(2**32) if case % 2 else 0  # the first batch of a part (continueEpoch)
        signals = [x for i in range(case) for x in st.batch_public_signals(ctx, first + i, states[i], states[i + 1])]
        assert registry.call("batchPublicSignals", ctx, first, states) == signals
    assert registry.call("shapeHash") == st.shape_hash(SHAPE)
    assert (registry.call("batchLog2"), registry.call("batchCountLog2"), registry.call("circuitMarkets"),
            registry.call("treeDepth")) == (SHAPE.k, SHAPE.t, SHAPE.m, SHAPE.depth)


def _bad_checkpoints(rng):
    cp = random_checkpoint(rng, 1, markets=4)
    market = dataclasses.replace(cp.markets[1], funding_index_wad=-FUNDING_INDEX_BOUND)
    agg_cost = dataclasses.replace(cp.aggregates[2], cost_basis_wad=st.SUM_OFFSET)
    agg_sf = dataclasses.replace(cp.aggregates[3], size_funding_wad2=-st.SIZE_FUNDING_OFFSET)
    five = random_checkpoint(rng, 1, markets=5)
    return [
        dataclasses.replace(cp, markets=cp.markets[:1] + (market,) + cp.markets[2:]),
        dataclasses.replace(cp, collateral_sum_wad=st.SUM_OFFSET),
        dataclasses.replace(cp, aggregates=cp.aggregates[:2] + (agg_cost,) + cp.aggregates[3:]),
        dataclasses.replace(cp, aggregates=cp.aggregates[:3] + (agg_sf,)),
        dataclasses.replace(cp, aggregates=cp.aggregates[:3]),
        five,
        # two faults: the contract's order decides which one is reported
        dataclasses.replace(five, aggregates=five.aggregates[:4]),
        dataclasses.replace(cp, collateral_sum_wad=-st.SUM_OFFSET, markets=cp.markets[:1] + (market,) + cp.markets[2:]),
    ]


def test_context_hash_reverts_like_python(w):
    rng = random.Random(11)
    totals = random_totals(rng, _wad(rng, 10**9))
    seen = set()
    for cp in _bad_checkpoints(rng):
        with pytest.raises(Revert) as py:
            _statement(w, cp, totals)
        root = (1, totals.liabilities_wad, totals.mm_wad)
        with pytest.raises(ContractRevert) as sol:
            w["registry"].call("contextHash", cp.to_abi(), root, onchain.totals_arg(totals))
        assert (sol.value.name, sol.value.args_) == (py.value.name, py.value.args_)
        seen.add(py.value.name)
    assert seen == {"OffsetOutOfRange", "AggregateCountMismatch", "TooManyMarkets"}


def test_user_reserves_equal_python(w):
    rng = random.Random(5)
    for case in range(8):
        cp = random_checkpoint(rng, 1)
        if case % 4 == 1:  # bad debt beyond the fees: the owner is owed nothing
            cp = dataclasses.replace(cp, bad_debt_wad=cp.accrued_fees_wad + _wad(rng, 10**3))
        if case % 4 == 2:  # fees owed beyond the balance: nothing left for users
            cp = dataclasses.replace(cp, vault_balance_wad=cp.accrued_fees_wad - cp.bad_debt_wad - 1)
        if case % 4 == 3:
            cp = dataclasses.replace(cp, bad_debt_wad=cp.accrued_fees_wad)
        want = onchain.user_reserves_wad(cp)
        assert w["registry"].call("userReservesWad", cp.to_abi()) == want
        assert want == max(cp.vault_balance_wad - max(cp.accrued_fees_wad - cp.bad_debt_wad, 0), 0)


# --- posting ------------------------------------------------------------------------------------------------

def test_accepted_epoch_records_its_figures(w):
    cp, statement, states = _ready(w, 1, cid=3)
    registry = w["registry"]
    receipt = _post(w, statement, cp, states)
    (name, args), = registry.decode_logs(receipt)
    assert name == "EpochPosted" and args["epoch"] == 3 and args["batches"] == 2
    figures = onchain.epoch_figures(registry, 3)
    assert figures.root == statement.root and figures.totals == statement.totals
    assert figures.reserves_wad == onchain.user_reserves_wad(cp) >= statement.totals.liabilities_wad
    assert (figures.insurance_fund_wad, figures.checkpoint_block) == (cp.insurance_fund_wad, cp.block_number)
    assert figures.posted_at == w["chain"].w3.eth.get_block(receipt.blockNumber).timestamp
    event = args["figures"]
    names = ("liabilitiesWad", "deficitWad", "belowMmCount", "shortfallWad", "mmWad", "imWad")
    assert event["rootHash"] == statement.root.hash and event["reservesWad"] == figures.reserves_wad
    assert dict(event["totals"]) == dict(zip(names, onchain.totals_arg(statement.totals)))
    assert commit_onchain.node_from_abi(registry.call("rootOf", 3)) == statement.root
    assert registry.call("lastEpoch") == 3
    # a replay of the same epoch, an older checkpoint after a newer one
    _rejects(w, "EpochNotIncreasing", (3, 3), statement, cp, states)
    cp2, statement2, states2 = _ready(w, 2, cid=2)
    _rejects(w, "EpochNotIncreasing", (2, 3), statement2, cp2, states2)
    cp5, statement5, states5 = _ready(w, 3, cid=5)
    _post(w, statement5, cp5, states5)
    assert registry.call("lastEpoch") == 5


def test_unknown_epochs_revert(w):
    registry = w["registry"]
    for fn, args in (("rootOf", (4,)), ("epochFigures", (4,))):
        with pytest.raises(ContractRevert) as exc:
            registry.call(fn, *args)
        assert (exc.value.name, exc.value.args_) == ("UnknownEpoch", (4,))
    leaf = (1, 2, 3, [(0, 0, 0, 0)] * 4)
    with pytest.raises(ContractRevert) as exc:
        registry.call("verifyInclusionAt", 4, leaf, 0, 0, 0, [(0, 0, 0)])
    assert exc.value.name == "UnknownEpoch"


def test_only_the_operator_posts(w):
    cp, statement, states = _ready(w, 4)
    _rejects(w, "NotOperator", (w["deployer"].address,), statement, cp, states, sender=w["deployer"])


def test_checkpoint_must_be_the_engines(w):
    cp, statement, states = _ready(w, 5, cid=2)
    # the data of another checkpoint id
    _rejects(w, "CheckpointIdMismatch", (3, 2), dataclasses.replace(statement, checkpoint_id=3), cp, states)
    # stale or edited data: a price, an aggregate, the vault balance, the account count
    views = (dataclasses.replace(cp.markets[0], price_wad=cp.markets[0].price_wad + 1),) + cp.markets[1:]
    aggs = cp.aggregates[:2] + (dataclasses.replace(cp.aggregates[2], long_size_wad=cp.aggregates[2].long_size_wad - 1),)
    for edited in (dataclasses.replace(cp, markets=views), dataclasses.replace(cp, aggregates=aggs),
                   dataclasses.replace(cp, vault_balance_wad=cp.vault_balance_wad + WAD),
                   dataclasses.replace(cp, account_count=cp.account_count - 1)):
        _rejects(w, "CheckpointDataMismatch", (2,), statement, edited, states)
    # a checkpoint the engine never took (the engine's own error)
    cp7 = dataclasses.replace(cp, id=7)
    _rejects(w, "UnknownCheckpoint", (7,), dataclasses.replace(statement, checkpoint_id=7), cp7, states)


def test_checkpoint_with_more_markets_than_the_circuit(w):
    rng = random.Random(6)
    cp = random_checkpoint(rng, 1, markets=5)
    w["engine"].transact("record", cp.to_abi(), sender=w["deployer"])
    statement = _statement(w, random_checkpoint(rng, 1), random_totals(rng, WAD))
    _rejects(w, "TooManyMarkets", (5, 4), statement, cp, _states(rng))


def test_batch_count_and_ranges(w):
    cp, statement, states = _ready(w, 8)
    _rejects(w, "WrongBatchCount", (1, 2, 2), statement, cp, states[:2], proofs=PROOFS[:1])
    _rejects(w, "WrongBatchCount", (2, 4, 2), statement, cp, states + (0,))
    root = statement.root
    _rejects(w, "NotAFieldElement", (P,), dataclasses.replace(statement, root=Node(P, root.equity, root.mm)), cp, states)
    _rejects(w, "NotAFieldElement", (P,), statement, cp, states[:1] + (P,) + states[2:])
    t = statement.totals
    for field in ("deficit_wad", "below_mm_count", "shortfall_wad", "im_wad"):
        bad = dataclasses.replace(statement, totals=dataclasses.replace(t, **{field: SUM_BOUND}))
        _rejects(w, "SumOutOfRange", (SUM_BOUND,), bad, cp, states)
    big = dataclasses.replace(statement, root=Node(root.hash, SUM_BOUND, root.mm), totals=dataclasses.replace(t, liabilities_wad=SUM_BOUND))
    _rejects(w, "SumOutOfRange", (SUM_BOUND,), big, cp, states)


def test_root_sums_must_be_the_totals(w):
    cp, statement, states = _ready(w, 9)
    root, t = statement.root, statement.totals
    under = dataclasses.replace(statement, totals=dataclasses.replace(t, liabilities_wad=t.liabilities_wad - 1))
    _rejects(w, "RootTotalsMismatch", (root.equity, root.mm, t.liabilities_wad - 1, t.mm_wad), under, cp, states)
    other_mm = dataclasses.replace(statement, root=Node(root.hash, root.equity, root.mm + 1))
    _rejects(w, "RootTotalsMismatch", (root.equity, root.mm + 1, t.liabilities_wad, t.mm_wad), other_mm, cp, states)


def test_reserves_must_cover_liabilities(w):
    """vault − max(fees − bad debt, 0) ≥ L, at the boundary exactly; fees owed count against the vault."""
    rng = random.Random(10)
    base = random_checkpoint(rng, 1)
    for cid, (fees, bad_debt) in enumerate(((_wad(rng, 10**6), _wad(rng, 10**3)), (_wad(rng, 10**3), _wad(rng, 10**6))), start=1):
        cp = dataclasses.replace(base, id=cid, accrued_fees_wad=fees, bad_debt_wad=bad_debt)
        reserves = onchain.user_reserves_wad(cp)
        w["engine"].transact("record", cp.to_abi(), sender=w["deployer"])
        states = _states(rng)
        short = _statement(w, cp, random_totals(rng, reserves + 1))
        _accept(w, short, states)
        _rejects(w, "InsufficientReserves", (reserves, reserves + 1), short, cp, states)
        exact = _statement(w, cp, random_totals(rng, reserves))
        _accept(w, exact, states)
        _post(w, exact, cp, states)
        assert onchain.epoch_figures(w["registry"], cid).reserves_wad == reserves


def test_every_batch_must_verify(w):
    cp, statement, states = _ready(w, 12)
    # published figures that are not the proven ones: the statement differs, so does every public signal
    t = statement.totals
    for change in ({"deficit_wad": t.deficit_wad - 1}, {"below_mm_count": t.below_mm_count + 1},
                   {"shortfall_wad": t.shortfall_wad - 1}, {"im_wad": t.im_wad - 1}):
        _rejects(w, "InvalidBatchProofs", (), dataclasses.replace(statement, totals=dataclasses.replace(t, **change)), cp, states)
    _rejects(w, "InvalidBatchProofs", (), statement, cp, (states[1], states[0], states[2]))
    # only batch 0 proven: the chain is incomplete
    rng = random.Random(13)
    cp2 = random_checkpoint(rng, 2)
    w["engine"].transact("record", cp2.to_abi(), sender=w["deployer"])
    half = _statement(w, cp2, random_totals(rng, onchain.user_reserves_wad(cp2)))
    states2 = _states(rng)
    w["verifier"].transact("accept", list(st.batch_public_signals(st.context_hash(half), 0, states2[0], states2[1])), sender=w["deployer"])
    _rejects(w, "InvalidBatchProofs", (), half, cp2, states2)


def test_misconfigured_or_other_registry_rejects_the_proofs(w):
    """A registry with another K (same batch count), or at another address, computes another statement."""
    cp, statement, states = _ready(w, 14)
    chain, deployer = w["chain"], w["deployer"]
    for shape in (st.Shape(k=3, t=1, m=4), st.Shape(k=2, t=1, m=5), SHAPE):
        other = onchain.deploy_registry(chain, deployer, w["verifier"], w["engine"].address, w["hashers"], shape,
                                        operator=w["operator"].address)
        _rejects(w, "InvalidBatchProofs", (), statement, cp, states, registry=other)
    _post(w, statement, cp, states)


@pytest.mark.parametrize("case", ["zero_operator", "engine_eoa", "verifier_zero", "hasher_eoa", "depth_zero", "depth_33",
                                  "k_huge", "m_zero", "m_65", "m_below_engine"])
def test_constructor_refuses_inconsistent_parameters(w, case):
    d, h = w["deployer"], w["hashers"]
    eoa = w["operator"].address
    zero = "0x" + "00" * 20
    args = dict(p4=h[4].address, p5=h[5].address, p6=h[6].address, p11=h[11].address, verifier=w["verifier"].address,
                engine=w["engine"].address, operator=eoa, k=2, t=1, m=4)
    change, error = {
        "zero_operator": ({"operator": zero}, ("ZeroOperator", ())),
        "engine_eoa": ({"engine": eoa}, ("NotAContract", (eoa,))),
        "verifier_zero": ({"verifier": zero}, ("NotAContract", (zero,))),
        "hasher_eoa": ({"p5": eoa}, ("NotAContract", (eoa,))),
        "depth_zero": ({"k": 0, "t": 0}, ("ShapeOutOfRange", (0, 0, 4))),
        "depth_33": ({"k": 20, "t": 13}, ("ShapeOutOfRange", (20, 13, 4))),
        "k_huge": ({"k": 2**255}, ("ShapeOutOfRange", (2**255, 1, 4))),
        "m_zero": ({"m": 0}, ("ShapeOutOfRange", (2, 1, 0))),
        "m_65": ({"m": 65}, ("ShapeOutOfRange", (2, 1, 65))),
        "m_below_engine": ({"m": 3}, ("CircuitTooSmall", (3, 4))),
    }[case]
    args.update(change)
    with pytest.raises(ContractRevert) as exc:
        deploy_contract(w["chain"], "SolvencyRegistry", *args.values(), sender=d, gas=6_000_000)
    assert (exc.value.name, exc.value.args_) == error
