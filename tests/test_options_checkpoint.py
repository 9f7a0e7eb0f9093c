"""The options book bound to the engine (spec §5.13 Checkpoint) on the embedded devnet against the
mirrors: per-series aggregates after every operation (options_support checks them), OptionsEngine
.checkpoint() with the engine's in one transaction (same data, event and hash on both sides), the
options book read back at its block, and a trade later in the same block detected."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from options_support import DAY, STRIKE_CALL, WEEK_SERIES, Kind, System, deploy_once, ok, restored
from pymargin.chain.checkpoints import book_at_checkpoint
from pymargin.chain.engine_devnet import TX_GAS
from pymargin.chain.contracts import abi_args
from pymargin.chain.options_checkpoints import options_book_at_checkpoint, options_checkpoint_event
from pymargin.engine.options_checkpoint import (
    OptionsCheckpointData, SeriesSnapshot, aggregate_mismatches, decode_options_checkpoint, encode_options_checkpoint,
    options_checkpoint_digest,
)
from pymargin.errors import UserError
from pymargin.fixedpoint import WAD

STRIKE_SOON = 2_650_987_654_321_098_765_432


@pytest.fixture(scope="module")
def deployed(chain_session, artifacts):
    """The system deployed once per module: a call and a put a week out, a call a day out (settled in a test)."""
    yield from deploy_once(chain_session, WEEK_SERIES + [("soon", Kind.Call, STRIKE_SOON, DAY + 567)])


@pytest.fixture
def system(deployed, chain_session):
    yield from restored(deployed, chain_session)


def positions(s: System) -> list[tuple[int, int]]:
    return [(sid, size) for (_, sid), size in s.py.state.sizes.items()]


def take_checkpoint(s: System, sender=None) -> OptionsCheckpointData:
    """OptionsEngine.checkpoint() on both sides (events, data included, equal); the stored hashes and the
    binding to the engine's checkpoint checked on chain and mirror; return the data."""
    ok(s.op("options", "checkpoint", sender or s.keeper))
    data = OptionsCheckpointData.from_abi(s.py.last_events[-1][1]["data"])
    cid, eid = s.py.options_checkpoint_count(), data.engine_checkpoint_id
    o, e = s.options, s.engine
    assert bytes(o.call("optionsCheckpointHash", cid)) == options_checkpoint_digest(data) == s.py.options_checkpoint_hash(cid)
    assert o.call("optionsCheckpointOf", eid) == cid == s.py.options_checkpoint_of(eid)
    assert o.call("optionsCheckpointBlock", cid) == e.call("checkpointBlock", eid) == data.block_number
    assert bytes(e.call("checkpointHash", eid)) == s.d.py.checkpoint_hash(eid)
    assert decode_options_checkpoint(encode_options_checkpoint(data)) == data
    assert aggregate_mismatches(data, positions(s)) == []
    assert data.perps == ((0, s.series["perp"]),) and data.im_multiple_wad == s.py_book.im_multiple_wad
    return data


def random_trades(s: System, rng: random.Random, steps: int, series: list[int], moves: bool = True) -> int:
    """Option fills at full-precision sizes and premiums within the band, and (``moves``) price and mark
    moves; the number of fills accepted."""
    filled = 0
    for _ in range(steps):
        if moves and rng.random() < 0.2:
            s.d.set_price(0, s.py_book.series[0].price_wad * rng.randrange(95 * WAD // 100, 105 * WAD // 100) // WAD)
            s.mark_all(rng.randrange(WAD // 5, 2 * WAD))
            continue
        sid = rng.choice(series)
        taker, maker = rng.sample(s.users, 2)
        size = rng.choice([1, -1]) * rng.randrange(10**15, 3 * 10**18)
        band = s.py.premium_band_wad * s.py_book.series[sid].price_wad // WAD
        premium = max(s.mark_value(sid) + rng.randrange(-band, band), 0)
        filled += s.option_fill(sid, taker, maker, size, premium).ok
    return filled


def read_back(s: System, data: OptionsCheckpointData) -> None:
    """The options book read from the chain at the checkpoint equals the mirror's positions and data."""
    book = options_book_at_checkpoint(s.options, data.engine_checkpoint_id)
    assert book.data == data and book.aggregate_mismatches() == []
    want: dict = {}
    for (owner, sid), size in s.py.state.sizes.items():
        want.setdefault(owner, {})[sid] = size
    assert book.positions == want


def test_checkpoint_records_the_options_book_on_contract_and_mirror(system):
    """Fills in three series, checkpoints (also while paused), refusals, expiry of one series: settled
    positions leave long ≠ short in the snapshot, and a settled series without positions is left out."""
    s = system
    rng = random.Random(20261202)
    a, b, c = s.users
    call, put, soon = s.series["call"], s.series["put"], s.series["soon"]
    empty = take_checkpoint(s)  # no positions: every series, zero aggregates, marks and values as the book has them
    assert [x.series_id for x in empty.series] == [0, call, put, soon]
    assert all(x.long_size_wad == x.short_size_wad == 0 for x in empty.series)
    assert empty.series[0].kind == Kind.Perp and empty.series[0].value_wad == empty.series[0].som_wad == 0
    assert empty.series[1].value_wad == s.mark_value(call) > 0 and empty.series[1].som_wad > 0
    assert [x.risk_array for x in empty.series] == [tuple(x.risk_array) for x in s.py_book.series]
    for sid, taker, maker in ((call, a, b), (put, b, c), (soon, a, c), (soon, c, b)):
        size = rng.choice([1, -1]) * rng.randrange(10**17, 2 * 10**18)
        band = s.py.premium_band_wad * s.py_book.series[sid].price_wad // WAD
        ok(s.option_fill(sid, taker, maker, size, s.mark_value(sid) + rng.randrange(-band, band)))
    data = take_checkpoint(s, s.operator)
    assert data.engine_checkpoint_id == 2 and all(x.long_size_wad == x.short_size_wad > 0 for x in data.series[1:])
    read_back(s, data)
    # refusals: a stranger; the module without the engine's keeper role (the engine's revert)
    assert s.op("options", "checkpoint", s.stranger).error == ("NotKeeper", (s.stranger.address,))
    assert s.d.op("setKeeper", s.owner, s.options.address, False).ok
    assert s.op("options", "checkpoint", s.keeper).error == ("NotKeeper", (s.options.address,))
    assert s.d.op("setKeeper", s.owner, s.options.address, True).ok
    assert s.d.op("pause", s.owner).ok  # allowed while paused
    take_checkpoint(s)
    # the short-dated call expires and the book settles it; the long positions settle first
    s.d.clock = s.py_book.series[soon].expiry
    s.d.set_price(0, s.py_book.series[0].price_wad * 1_043_210_987_654_321_098 // WAD)
    ok(s.op("book", "settle", s.stranger, soon))
    holders = sorted((s.py.option_size(o, soon), o) for (o, sid) in s.py.state.sizes if sid == soon)
    for size, owner in holders[::-1]:
        if size > 0:
            ok(s.op("options", "settle", s.stranger, owner, soon))
    data = take_checkpoint(s)
    (snap,) = [x for x in data.series if x.series_id == soon]
    assert snap.settled and snap.value_wad == s.py_book.series[soon].payoff_wad
    assert snap.long_size_wad == 0 < snap.short_size_wad
    read_back(s, data)
    for size, owner in holders:
        if size < 0:
            ok(s.op("options", "settle", s.stranger, owner, soon))
    assert soon not in [x.series_id for x in take_checkpoint(s).series]  # settled and empty: left out
    s.check_state()


def test_a_trade_later_in_the_checkpoint_block_is_detected(system):
    """A checkpoint and an options trade after it in one block: the options book at the end of the block
    is not the checkpoint's, and the reader names the series aggregate that moved."""
    s = system
    a, b = s.users[0], s.users[1]
    call = s.series["call"]
    ok(s.option_fill(call, a, b, 1_414_213_562_373_095_048, s.mark_value(call) + 31_415_926_535_897))
    read_back(s, take_checkpoint(s))
    with pytest.raises(UserError, match="was not taken through the options module"):
        options_book_at_checkpoint(s.options, 99)
    size, premium = -(10**18 + 271_828_182_845), s.mark_value(call)
    t = s.orders.order(a.address, 0, call, size, premium)
    m = s.orders.order(b.address, 0, call, -size, premium)
    trade = s.options.functions.trade(*abi_args((t, s.orders.sign(t), m, s.orders.sign(m), size, premium)))
    checkpoint = s.options.functions.checkpoint()
    w3, tester = s.chain.w3, s.chain.w3.provider.ethereum_tester
    tester.disable_auto_mine_transactions()
    try:
        hashes = [w3.eth.send_transaction({"from": sender.address, "to": s.options.address, "gas": TX_GAS,
                                           "data": fn._encode_transaction_data()})
                  for sender, fn in ((s.keeper, checkpoint), (s.operator, trade))]
    finally:
        tester.enable_auto_mine_transactions()
    first, second = (w3.eth.get_transaction_receipt(h) for h in hashes)
    assert first.status == second.status == 1 and first.blockNumber == second.blockNumber
    engine_id = s.engine.call("checkpointCount")
    assert options_checkpoint_event(s.options, engine_id)[0].block_number == first.blockNumber
    with pytest.raises(UserError, match=rf"changed later in block {first.blockNumber} \(longSizeWad\[series {call}\]"):
        options_book_at_checkpoint(s.options, engine_id)
    with pytest.raises(UserError, match=rf"changed later in block {first.blockNumber} \(collateralSumWad"):
        book_at_checkpoint(s.engine, engine_id)  # the engine's book moved too (the premium)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_random_books_checkpoint_on_contract_and_mirror_long(system, seed):
    """Random fills, price and mark moves, a checkpoint every few steps: equal on both sides, read back."""
    s = system
    rng = random.Random(seed)
    for _ in range(6):
        random_trades(s, rng, 6, [s.series["call"], s.series["put"], s.series["soon"]])
        read_back(s, take_checkpoint(s, rng.choice([s.keeper, s.operator])))
    s.check_state()


def test_aggregate_mismatches_name_each_series_and_positions_left_out():
    snap = SeriesSnapshot(2, 0, Kind.Call, STRIKE_CALL, 1_800_000_000, 0, 0, 0, (0,) * 16, 0, 0, False,
                          5 * WAD + 1, 5 * WAD + 1)
    data = OptionsCheckpointData(1, 10, 1_700_000_000, (snap,), ((0, 0),), WAD)
    assert aggregate_mismatches(data, [(2, 3 * WAD), (2, 2 * WAD + 1), (2, -(5 * WAD + 1))]) == []
    assert aggregate_mismatches(data, [(2, 5 * WAD + 1), (2, -5 * WAD), (3, 1)]) == [
        f"shortSizeWad[series 2]: checkpoint {5 * WAD + 1}, book {5 * WAD}",
        "series 3: positions in the book, not in the checkpoint",
    ]
    changed = replace(data, series=(replace(snap, short_size_wad=5 * WAD),))
    assert options_checkpoint_digest(changed) != options_checkpoint_digest(data)
    assert decode_options_checkpoint(encode_options_checkpoint(changed)) == changed
