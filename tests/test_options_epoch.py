"""An epoch over an engine book with options (docs/spec.md §5.13 Checkpoint, §7.5, §7.9): the option tables
built from the options checkpoint equal the book's, the OptionsSolvencyRegistry recomputes the statement with
options from the checkpoint's data exactly as Python does (random full-precision data), and on the embedded
devnet with the real engine and options module it accepts the honest epoch and refuses, each with a named
error, a proof over other tables, a dropped short option, an engine checkpoint taken without the options
module and a book with options posted as perp-only.

The verifiers are TestBatchVerifier (accepts the public signals it was told), so these tests isolate the
registry: a "proof" of a statement is the verifier told to accept that statement's public signals.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import replace

import pytest

from cli_support import run_cli
from option_books import NOW, option_world
from options_support import Kind, System, ok
from pymargin.chain import solvency as onchain
from pymargin.chain.checkpoints import book_at_checkpoint
from pymargin.chain.commitments import deploy_hashers
from pymargin.chain.contracts import ContractRevert, deploy_contract
from pymargin.chain.tx import node_signer
from pymargin.chain.options_checkpoints import commit_options_epoch, options_book_at_checkpoint, series_sums_mismatch
from pymargin.commit.commitment import commit_accounts
from pymargin.commit.poseidon import P, poseidon
from pymargin.commit.tree import Node
from pymargin.engine.options_checkpoint import OptionsCheckpointData, SeriesSnapshot, series_aggregates
from pymargin.errors import Revert, UserError
from pymargin.fixedpoint import WAD
from pymargin.zk import circuits, inputs
from pymargin.zk import options as zo
from pymargin.zk import portfolio as zp
from pymargin.zk import statement as st
from pymargin.zk.solvency import EpochProof
from test_registry import FakeProof, random_checkpoint, random_totals

SHAPE = st.Shape(k=1, t=1, m=4)  # the engine's MAX_MARKETS = 4
OPTIONS = zp.PortfolioShape(u=1, k=4, p=2)
DAY = 86_400


# --- the tables of an epoch come from the options checkpoint ------------------------------------------------

def _world_checkpoint(world, market_count: int) -> OptionsCheckpointData:
    """The options checkpoint the module mirror records for ``world`` (aggregates from its positions)."""
    module = world.module
    sums = series_aggregates([(sid, size) for held in world.options.values() for sid, size in held])
    module.state.open_interest = {sid: long for sid, (long, _) in sums.items()}
    module.state.short_interest = {sid: short for sid, (_, short) in sums.items()}
    perps = tuple((j, module.state.perp_series[j]) for j in range(market_count))
    return OptionsCheckpointData(9, 1234, NOW, module._series_snapshots(), perps, world.book.im_multiple_wad)


@pytest.mark.parametrize("underlyings, shape", [(1, OPTIONS), (2, zp.PortfolioShape(u=2, k=3, p=2))])
def test_tables_from_the_checkpoint_equal_the_books_and_its_sums_the_proofs(underlyings, shape):
    """The option world's checkpoint (a settled put still held, every live series marked at it) gives the
    tables pymargin.zk.options builds from the book, and the per-row sums of the committed book equal its
    longSizeWad and shortSizeWad, which differ on the settled put."""
    world = option_world(5, 7, underlyings)
    data = _world_checkpoint(world, 2)
    from_book = zo.option_tables(world.book, world.module.state.perp_series, 2, NOW, shape)
    tables = zo.option_tables_from_checkpoint(data, 2, shape)
    assert tables == from_book
    commitment = zo.commit_option_book(world.accounts, world.options, world.markets, tables, None, 9, depth=3)
    statement = inputs.epoch_statement(commitment, None, st.Shape(1, 2, 2), 31337, 0xC0FFEE, 0xE9E, 9, 2, tables)
    assert statement.options.aggregates == zo.checkpoint_series_sums(data, tables)
    put = tables.risk.row_of[world.series["put0"]]
    assert statement.options.aggregates[put].long_size_wad != statement.options.aggregates[put].short_size_wad
    assert tables.value[put] == world.book.series[world.series["put0"]].payoff_wad and tables.risk.som[put] == 0


def test_tables_from_the_checkpoint_refuse_what_the_circuit_cannot_hold():
    world = option_world(6, 5)
    data = _world_checkpoint(world, 2)
    with pytest.raises(UserError, match=r"maps markets \[0\] to perp series; a book with options needs every engine market 0..1"):
        zo.option_tables_from_checkpoint(replace(data, perps=data.perps[:1]), 2, OPTIONS)
    with pytest.raises(UserError, match="underlying 0 has 4 series, the circuit holds 3"):
        zo.option_tables_from_checkpoint(data, 2, replace(OPTIONS, k=3))


# --- OptionsStatement and optionsContextHash = Python, random full-precision data ----------------------------

def _digits(rng: random.Random, bound: int) -> int:
    return rng.randrange(bound // 3, bound) | 1


def random_options_data(rng: random.Random, engine_id: int, market_count: int, u: int, r: int) -> OptionsCheckpointData:
    """Series on up to u underlyings (ids interleaved), arrays within ±2^130, some settled, long ≠ short."""
    series, sid = [], rng.randrange(0, 5)
    counts = {uid: rng.randrange(1, r + 1) for uid in rng.sample(range(10), u)}
    owners = [uid for uid, n in counts.items() for _ in range(n)]
    rng.shuffle(owners)
    for uid in owners:
        settled = rng.random() < 0.3
        array = tuple(rng.choice((-1, 1)) * _digits(rng, 2**130) for _ in range(16))
        series.append(SeriesSnapshot(sid, uid, Kind(rng.randrange(3)), _digits(rng, 10**22), rng.randrange(2**40),
                                     _digits(rng, 10**22), _digits(rng, 10**18), rng.randrange(2**40), array,
                                     _digits(rng, 2**130), _digits(rng, 2**130), settled, _digits(rng, 10**24), _digits(rng, 10**24)))
        sid += rng.randrange(1, 4)
    perps = tuple((j, rng.choice(series).series_id) for j in range(market_count))
    return OptionsCheckpointData(engine_id, rng.randrange(1, 10**7), rng.randrange(1, 2**40), tuple(series), perps,
                                 WAD + rng.randrange(2**64))


@pytest.fixture(scope="module")
def registry_world(chain_session, artifacts):
    chain = chain_session
    snapshot = chain.snapshot()
    deployer, operator = node_signer(chain, 0), node_signer(chain, 1)
    hashers = onchain.deploy_options_hashers(chain, deployer, deploy_hashers(chain, deployer))
    engine, _ = deploy_contract(chain, "TestEngineCheckpoints", 4, sender=deployer)
    verifier, _ = deploy_contract(chain, "TestBatchVerifier", sender=deployer)
    registry = onchain.deploy_options_registry(chain, deployer, verifier, verifier, engine.address, hashers, SHAPE,
                                               replace(OPTIONS, u=2, k=3), operator=operator.address)
    yield dict(chain=chain, registry=registry, deployer=deployer, hashers=hashers, engine=engine, verifier=verifier)
    chain.revert(snapshot)


def test_poseidon8_contract_equals_python(registry_world):
    """contracts/commit/Poseidon8.sol (circomlibjs's optimised rounds) = pymargin.commit.poseidon on random inputs."""
    hasher, rng = registry_world["hashers"][8], random.Random(8)
    for words in ([0] * 8, [P - 1] * 8, [rng.randrange(P) for _ in range(8)], [rng.randrange(2**131) for _ in range(8)]):
        assert hasher.call("poseidon", words) == poseidon(words)


def test_options_context_hash_equals_python(registry_world):
    w = registry_world
    registry, rng = w["registry"], random.Random(20261202)
    oshape = replace(OPTIONS, u=2, k=3)
    for case in range(2):
        cp = random_checkpoint(rng, rng.randrange(1, 2**64), markets=1 + 2 * case)
        data = random_options_data(rng, cp.id, len(cp.markets), 1 + case % 2, 3)
        totals = random_totals(rng, _digits(rng, 10**27))
        root = Node(rng.randrange(P), totals.liabilities_wad, totals.mm_wad)
        statement = onchain.registry_options_statement(SHAPE, oshape, w["chain"].chain_id, int(registry.address, 16),
                                                       int(w["engine"].address, 16), cp, data, root, totals)
        ctx = registry.call("optionsContextHash", cp.to_abi(), data.to_abi(), (root.hash, root.equity, root.mm),
                            onchain.totals_arg(totals))
        assert ctx == st.context_hash(statement)
        assert ctx != st.context_hash(replace(statement, options=None))


@pytest.mark.parametrize("case", ["unmapped", "extra_perp", "rows", "underlyings", "array", "multiple", "order"])
def test_data_the_circuit_cannot_hold_is_refused_on_both_sides(registry_world, case):
    w = registry_world
    rng = random.Random(case)
    cp = random_checkpoint(rng, 5, markets=2)
    data = random_options_data(rng, 5, 2, 1, 2)
    first = data.series[0]
    bad, error = {
        "unmapped": (replace(data, perps=data.perps[1:]), ("UnmappedMarket", (0,))),
        "extra_perp": (replace(data, perps=data.perps + ((2, first.series_id),)), ("UnmappedMarket", (2,))),
        "rows": (replace(data, series=data.series + tuple(replace(first, series_id=100 + i) for i in range(3))),
                 ("TooManySeries", (first.underlying_id, 3))),
        "underlyings": (replace(data, series=data.series + tuple(replace(first, series_id=100 + i, underlying_id=50 + i)
                                                                 for i in range(2))), ("TooManyUnderlyings", (3, 2))),
        "array": (replace(data, series=(replace(first, settled=False, risk_array=(2**130 + 1,) + first.risk_array[1:]),)
                          + data.series[1:]), ("OptionTableOutOfRange", (first.series_id, 2**130 + 1))),
        "multiple": (replace(data, im_multiple_wad=WAD - 1), ("MultipleOutOfRange", (WAD - 1,))),
        "order": (replace(data, series=data.series[::-1]) if len(data.series) > 1 else None, None),
    }[case]
    if bad is None:
        return
    totals = random_totals(rng, 10**20)
    root = (1, totals.liabilities_wad, totals.mm_wad)
    with pytest.raises(ContractRevert) as exc:
        w["registry"].call("optionsContextHash", cp.to_abi(), bad.to_abi(), root, onchain.totals_arg(totals))
    chain_error = (exc.value.name, exc.value.args_)
    if error is not None:
        assert chain_error == error
        with pytest.raises(UserError):
            zo.option_tables_from_checkpoint(bad, 2, replace(OPTIONS, u=2, k=3))
    else:
        assert chain_error == ("SeriesNotIncreasing", (data.series[-2].series_id,))
    with pytest.raises(Revert) as mirrored:  # the registry's mirror raises the same error with the same arguments
        onchain.registry_options_statement(SHAPE, replace(OPTIONS, u=2, k=3), 1, 1, 1, cp, bad, Node(1, *root[1:]), totals)
    assert (mirrored.value.name, mirrored.value.args_) == chain_error


# --- the devnet: the real engine and options module ----------------------------------------------------------

@pytest.fixture(scope="module")
def venue(chain_session, artifacts):
    """Three users trading a call and a put (one short in both), an OptionsSolvencyRegistry over the engine."""
    start = chain_session.snapshot()
    s = System(chain_session)
    s.setup_market([("call", Kind.Call, 2_901_234_567_890_123_456_789, 7 * DAY + 1234),
                    ("put", Kind.Put, 2_503_141_592_653_589_793_238, 7 * DAY + 1234)])
    for user in s.users:
        assert s.d.op("deposit", user, 0, 20_000 * 10**6).ok
    a, b, c = s.users
    call, put = s.series["call"], s.series["put"]
    ok(s.option_fill(call, a, b, 1_414_213_562_373_095_048, s.mark_value(call) + 31_415_926_535_897))
    ok(s.option_fill(put, c, b, 2_718_281_828_459_045_235, s.mark_value(put) + 27_182_818_284_590))
    ok(s.option_fill(call, c, a, 577_215_664_901_532_860, s.mark_value(call) - 1_618_033_988_749_894))
    hashers = onchain.deploy_options_hashers(chain_session, s.owner, deploy_hashers(chain_session, s.owner))
    perp_verifier, _ = deploy_contract(chain_session, "TestBatchVerifier", sender=s.owner)
    options_verifier, _ = deploy_contract(chain_session, "TestBatchVerifier", sender=s.owner)
    registry = onchain.deploy_options_registry(chain_session, s.owner, perp_verifier, options_verifier, s.engine.address,
                                               hashers, SHAPE, OPTIONS, operator=s.operator.address)
    for c_ in (s.engine, s.options):
        registry.decoder.add(c_.artifact["abi"])
    yield s, dict(registry=registry, perp_verifier=perp_verifier, options_verifier=options_verifier), \
        copy.deepcopy((s.d.py, s.py, s.py_book, s.d.clock))
    chain_session.revert(start)


@pytest.fixture
def v(venue, chain_session):
    s, contracts, saved = venue
    snapshot = chain_session.snapshot()
    yield s, contracts
    chain_session.revert(snapshot)
    s.d.py, s.py, s.py_book, s.d.clock = copy.deepcopy(saved)


def _options_checkpoint(s) -> int:
    ok(s.op("options", "checkpoint", s.keeper))
    return s.engine.call("checkpointCount")


def _epoch(s, contracts, engine_id: int, drop=None, data=None):
    """(EpochProof, engine checkpoint, options data) of the book at ``engine_id`` (``drop``: an owner's option
    position left out; ``data``: other options data to take the tables from), its public signals accepted by
    the options verifier."""
    engine_book = book_at_checkpoint(s.engine, engine_id)
    options_book = options_book_at_checkpoint(s.options, engine_id)
    if drop is not None:
        owner, sid = drop
        options_book.positions[owner] = {k: x for k, x in options_book.positions[owner].items() if k != sid}
    if data is not None:
        options_book = replace(options_book, data=data)
    commitment, tables = commit_options_epoch(engine_book, options_book, OPTIONS, depth=SHAPE.depth)
    registry = contracts["registry"]
    statement = inputs.epoch_statement(commitment, None, SHAPE, s.chain.chain_id, int(registry.address, 16),
                                       int(s.engine.address, 16), engine_id, len(engine_book.data.markets), tables)
    ctx, rng = st.context_hash(statement), random.Random(engine_id)
    states = tuple(rng.randrange(P) for _ in range(2**SHAPE.t + 1))
    for k in range(2**SHAPE.t):
        contracts["options_verifier"].transact("accept", list(st.batch_public_signals(ctx, k, states[k], states[k + 1])),
                                               sender=s.owner)
    epoch = EpochProof(statement, states, (FakeProof(),) * 2**SHAPE.t, "test", "test")
    return epoch, engine_book.data, options_book.data


def _refused(call, name: str, args: tuple) -> None:
    with pytest.raises(ContractRevert) as exc:
        call()
    assert (exc.value.name, exc.value.args_) == (name, args)


def test_the_honest_epoch_is_accepted_in_one_post_and_in_parts(v, chain_session):
    s, c = v
    engine_id = _options_checkpoint(s)
    epoch, cp, data = _epoch(s, c, engine_id)
    assert series_sums_mismatch(epoch.statement, data) is None
    registry = c["registry"]
    snapshot = chain_session.snapshot()
    parts = onchain.post_epoch_parts(registry, epoch, cp, s.operator, 1, 1, options=data)
    assert [(p.first_batch, p.batches) for p in parts] == [(0, 1), (1, 1)]  # continueEpoch used the options verifier
    figures = onchain.epoch_figures(registry, engine_id)
    assert figures.root == epoch.statement.root and figures.totals == epoch.statement.totals
    chain_session.revert(snapshot)
    receipt = onchain.post_epoch_with_options(registry, epoch, cp, data, s.operator)
    assert receipt.status == 1 and onchain.epoch_figures(registry, engine_id).root == epoch.statement.root


def test_a_proof_over_other_tables_is_refused(v):
    """The call's arrays at a lower vol: posted as the data, the module's hash differs; posted with the true data,
    the registry's ctx' is not the proof's."""
    s, c = v
    engine_id = _options_checkpoint(s)
    _, cp, data = _epoch(s, c, engine_id)
    call = s.series["call"]
    lower = tuple(replace(x, vol_wad=x.vol_wad // 2, risk_array=tuple(a // 2 for a in x.risk_array), som_wad=x.som_wad // 2)
                  if x.series_id == call else x for x in data.series)
    other = replace(data, series=lower)
    epoch, _, _ = _epoch(s, c, engine_id, data=other)
    registry = c["registry"]
    _refused(lambda: onchain.post_epoch_with_options(registry, epoch, cp, other, s.operator),
             "OptionsCheckpointDataMismatch", (engine_id,))
    _refused(lambda: onchain.post_epoch_with_options(registry, epoch, cp, data, s.operator), "InvalidBatchProofs", ())


def test_a_dropped_short_option_is_refused(v):
    """User b's short call left out of the book: b's equity and L grow by the call's value (an insurance deposit keeps
    L under the reserves, so the proof check is reached), and the per-row sums differ from the checkpoint's."""
    s, c = v
    assert s.d.op("depositInsurance", s.users[0], 20_000 * 10**6).ok
    engine_id = _options_checkpoint(s)
    b, call = s.users[1].address, s.series["call"]
    honest, _, _ = _epoch(s, c, engine_id)
    epoch, cp, data = _epoch(s, c, engine_id, drop=(b, call))
    assert epoch.statement.totals.liabilities_wad > honest.statement.totals.liabilities_wad
    assert "option row 1: the book sums (long, short)" in series_sums_mismatch(epoch.statement, data)
    _refused(lambda: onchain.post_epoch_with_options(c["registry"], epoch, cp, data, s.operator), "InvalidBatchProofs", ())


def test_an_engine_checkpoint_without_the_options_module_is_refused(v):
    """A keeper's checkpoint taken on the engine directly while accounts hold options has no options checkpoint:
    posted with options or perp-only, the module's UnknownCheckpoint."""
    s, c = v
    _, _, data = _epoch(s, c, _options_checkpoint(s))
    assert s.d.op("checkpoint", s.keeper).ok
    engine_id = s.engine.call("checkpointCount")
    engine_book = book_at_checkpoint(s.engine, engine_id)
    with pytest.raises(UserError, match="was not taken through the options module"):
        options_book_at_checkpoint(s.options, engine_id)
    epoch, _, _ = _epoch(s, c, engine_id - 1)  # a proof made for the earlier epoch, posted as this one
    epoch = replace(epoch, statement=replace(epoch.statement, checkpoint_id=engine_id))
    registry = c["registry"]
    _refused(lambda: onchain.post_epoch_with_options(registry, epoch, engine_book.data, replace(data, engine_checkpoint_id=engine_id),
                                                     s.operator), "UnknownCheckpoint", (engine_id,))
    _refused(lambda: onchain.post_epoch(registry, replace(epoch, statement=replace(epoch.statement, options=None)),
                                        engine_book.data, s.operator), "UnknownCheckpoint", (engine_id,))


def _perp_only_epoch(s, contracts, engine_id: int):
    """(EpochProof, engine checkpoint data) of the book at ``engine_id`` committed without option slots and
    proven by the perp-only circuit (its public signals accepted by the perp verifier)."""
    engine_book = book_at_checkpoint(s.engine, engine_id)
    commitment = commit_accounts(engine_book.accounts, engine_book.markets, None, epoch=engine_id, depth=SHAPE.depth)
    registry = contracts["registry"]
    statement = inputs.epoch_statement(commitment, None, SHAPE, s.chain.chain_id, int(registry.address, 16),
                                       int(s.engine.address, 16), engine_id, len(engine_book.data.markets))
    states = (1, 2, 3)
    for k in range(2):
        contracts["perp_verifier"].transact("accept", list(st.batch_public_signals(st.context_hash(statement), k, states[k], states[k + 1])),
                                            sender=s.owner)
    return EpochProof(statement, states, (FakeProof(),) * 2, "test", "test"), engine_book.data


def test_a_book_with_options_posted_as_perp_only_is_refused(v):
    """The book committed without its option slots and proven by the perp-only circuit (its publics accepted)."""
    s, c = v
    engine_id = _options_checkpoint(s)
    assert s.options.call("optionsCheckpointPositionCount", s.options.call("optionsCheckpointOf", engine_id)) == 5
    epoch, cp = _perp_only_epoch(s, c, engine_id)
    registry = c["registry"]
    _refused(lambda: onchain.post_epoch(registry, epoch, cp, s.operator), "OptionsBookRequired", (engine_id,))
    _refused(lambda: onchain.post_epoch_parts(registry, epoch, cp, s.operator, 1, 1), "OptionsBookRequired", (engine_id,))


def test_a_perp_only_epoch_is_accepted_once_no_option_is_open(v):
    """Every option position closed (the three fills traded back at the mark), then a checkpoint through the module:
    it records 0 open positions, so the perp-only statement covers the book and the registry accepts it."""
    s, c = v
    a, b, c_user = s.users
    call, put = s.series["call"], s.series["put"]
    for sid, holder in ((call, a), (call, c_user), (put, c_user)):  # b, short in both, buys back every long at the mark
        ok(s.option_fill(sid, b, holder, s.py.option_size(holder.address, sid), s.mark_value(sid)))
    assert s.py.open_position_count() == 0 and s.options.call("openPositionCount") == 0
    engine_id = _options_checkpoint(s)
    assert s.options.call("optionsCheckpointPositionCount", s.options.call("optionsCheckpointOf", engine_id)) == 0
    epoch, cp = _perp_only_epoch(s, c, engine_id)
    assert onchain.post_epoch(c["registry"], epoch, cp, s.operator).status == 1
    assert onchain.epoch_figures(c["registry"], engine_id).root == epoch.statement.root


# --- the epoch file carries the option tables ------------------------------------------------------------------

def test_an_epoch_file_with_options_round_trips_and_old_files_are_read(tmp_path):
    """A statement with options saves as /5 with its tables and per-row sums and reads back equal (same ctx'); a
    perp-only epoch stays /4; a /5 file without tables, or a /4 one with them, is refused in one line."""
    world = option_world(7, 6)
    data = _world_checkpoint(world, 2)
    tables = zo.option_tables_from_checkpoint(data, 2, OPTIONS)
    commitment = zo.commit_option_book(world.accounts, world.options, world.markets, tables, None, 9, depth=3)
    statement = inputs.epoch_statement(commitment, None, st.Shape(1, 2, 2), 31337, 0xC0FFEE, 0xE9E, 9, 2, tables)
    epoch = EpochProof(statement, (1, 2, 3, 4, 5), (), "solvency_options", "dev")
    epoch.save(tmp_path / "epoch.json")
    document = (tmp_path / "epoch.json").read_text()
    assert '"format": "pymargin-solvency-epoch/5"' in document
    back = EpochProof.load(tmp_path / "epoch.json")
    assert back.statement == statement and st.context_hash(back.statement) == st.context_hash(statement)
    perp_only = replace(epoch, statement=replace(statement, options=None))
    assert perp_only.to_json()["format"] == "pymargin-solvency-epoch/4"
    assert EpochProof.from_json(perp_only.to_json()).statement == perp_only.statement
    for doc in ({**epoch.to_json(), "format": "pymargin-solvency-epoch/4"}, {**perp_only.to_json(), "format": "pymargin-solvency-epoch/5"}):
        with pytest.raises(UserError, match=r"^malformed epoch proof: ValueError: a pymargin-solvency-epoch/\d statement with"):
            EpochProof.from_json(doc)
    assert circuits.solvency_shape("solvency_k1_m4_t1_u1_r4_p2") == st.Shape(1, 1, 4)  # pymargin verify reads an options key
    assert circuits.solvency_shape("solvency_k1_m4_t1_u1_r4") is None
    broken = epoch.to_json()
    broken["statement"]["options"]["rows"].pop()
    with pytest.raises(UserError, match=r"^malformed epoch proof: ValueError: 3 option rows for a shape of 4$"):
        EpochProof.from_json(broken)


@pytest.mark.slow
def test_a_proven_epoch_with_options_is_accepted_by_the_registry(v, chain_session, tmp_path, capsys):
    """End to end with real Groth16: the book with options at an options checkpoint proven by
    SolvencyBatch(1, 4, 1, 1, 4, 2) (groth16py), verified in Python and by `pymargin verify` from its /5 file,
    posted to an OptionsSolvencyRegistry whose options verifier is the key's Groth16BatchVerifier: accepted; the
    same proofs with other tables' data refused."""
    from pymargin.zk.backends import Groth16pyBackend
    from pymargin.zk.solvency import prove_epoch, recorded_shape, verify_epoch

    s, c = v
    engine_id = _options_checkpoint(s)
    keys = Groth16pyBackend().setup(circuits.solvency_options(SHAPE.k, SHAPE.m, SHAPE.t, OPTIONS.u, OPTIONS.k, OPTIONS.p))
    verifier, _ = onchain.deploy_batch_verifier(chain_session, keys, s.owner)
    hashers = onchain.deploy_options_hashers(chain_session, s.owner, deploy_hashers(chain_session, s.owner))
    registry = onchain.deploy_options_registry(chain_session, s.owner, c["perp_verifier"], verifier, s.engine.address, hashers,
                                               SHAPE, OPTIONS, operator=s.operator.address)
    for contract in (s.engine, s.options):
        registry.decoder.add(contract.artifact["abi"])
    engine_book, options_book = book_at_checkpoint(s.engine, engine_id), options_book_at_checkpoint(s.options, engine_id)
    commitment, tables = commit_options_epoch(engine_book, options_book, OPTIONS, depth=SHAPE.depth)
    statement = inputs.epoch_statement(commitment, None, SHAPE, s.chain.chain_id, int(registry.address, 16),
                                       int(s.engine.address, 16), engine_id, len(engine_book.data.markets), tables)
    epoch, keys = prove_epoch(commitment, None, statement, "groth16py")
    assert verify_epoch(epoch, keys.verifying_key(), recorded_shape(keys.vk_path)) == []
    epoch.save(tmp_path / "epoch.json")
    code, out, err = run_cli(capsys, "verify", str(tmp_path / "epoch.json"), "--vk", str(keys.vk_path))
    assert code == 0 and err == "", (out, err)
    bad = epoch.to_json()
    bad["statement"]["options"]["rows"][1]["value_wad"] = str(int(bad["statement"]["options"]["rows"][1]["value_wad"]) - 1)
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    code, _, _ = run_cli(capsys, "verify", str(tmp_path / "bad.json"), "--vk", str(keys.vk_path))
    assert code == 1  # another v in the tables: another ctx', the proofs' public signals are not its
    data = options_book.data
    lower = replace(data, series=tuple(replace(x, risk_array=tuple(a // 2 for a in x.risk_array)) for x in data.series))
    _refused(lambda: onchain.post_epoch_with_options(registry, epoch, engine_book.data, lower, s.operator),
             "OptionsCheckpointDataMismatch", (engine_id,))
    receipt = onchain.post_epoch_with_options(registry, epoch, engine_book.data, data, s.operator)
    assert receipt.status == 1
    figures = onchain.epoch_figures(registry, engine_id)
    assert figures.root == statement.root and figures.totals == statement.totals
