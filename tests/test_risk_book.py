"""RiskArrayBook.sol against pymargin.riskbook on the embedded devnet: a seeded random sequence of
owner, keeper and anyone's operations (mark updates, expiry settlement, bad inputs, stale and
invalid prices, unauthorised senders) gives the same state, values and reverts (spec §4.2)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from pymargin import riskarray as ra
from pymargin import riskbook
from pymargin.chain.contracts import deploy_contract
from pymargin.chain.engine_devnet import min_next_timestamp, set_next_timestamp
from pymargin.chain.tx import ContractRevert, node_signer, revert_data
from pymargin.errors import Revert
from pymargin.fixedpoint import WAD
from pymargin.riskarray import InstrumentKind as Kind

GAS = 30_000_000
DAY = 86_400
IM_MULTIPLE = 1_333_333_333_333_333_333
PRICES = [3_141_592_653_589_793_238_462, 61_803_398_874_989_484_820_458]
VOL_BOUNDS = (WAD // 10, 3 * WAD)  # the implied vol a keeper may post
MARK_VOL = 628_318_530_717_958_647


def outcome(fn, *args, **kw):
    try:
        value = fn(*args, **kw)
        return ("value", value)
    except (Revert, ContractRevert) as exc:
        return ("revert", exc.name, tuple(exc.args_))


class World:
    """The contract and its mirror, driven together."""

    def __init__(self, chain):
        self.chain = chain
        self.owner, self.keeper, self.stranger = (node_signer(chain, i) for i in range(3))
        self.book, _ = deploy_contract(chain, "RiskArrayBook", self.owner.address, IM_MULTIPLE, sender=self.owner, gas=GAS)
        self.mirror = riskbook.RiskArrayBook(self.owner.address, IM_MULTIPLE)
        self.oracles, self.feeds = [], []
        for price in PRICES:
            oracle, _ = deploy_contract(chain, "DevOracle", self.owner.address, price, sender=self.owner, gas=GAS)
            self.oracles.append(oracle)
            self.feeds.append(list(oracle.call("latestPrice")))
        self.seen = Counter()

    def now(self) -> int:
        return min_next_timestamp(self.chain)

    def send(self, name: str, fn: str, *args, sender, mirror_call):
        """Run ``fn`` on chain at the next block and ``mirror_call(now)``; both must agree."""
        block, now = set_next_timestamp(self.chain, self.now() + 1)
        on_chain = self._dry_run(fn, args, sender, block)  # the revert exactly as of the block it would be mined in
        if on_chain == ("value", None):
            self.book.transact(fn, *args, sender=sender, gas=GAS)
        mirrored = outcome(lambda: (mirror_call(now), None)[1])
        assert mirrored == on_chain, (fn, args, on_chain, mirrored)
        self.seen[name if on_chain[0] == "value" else on_chain[1]] += 1
        return on_chain[0] == "value"

    def _dry_run(self, fn: str, args: tuple, sender, block) -> tuple:
        data = getattr(self.book.functions, fn)(*args)._encode_transaction_data()
        try:
            self.chain.w3.eth.call({"from": sender.address, "to": self.book.address, "data": data, "gas": GAS}, block)
        except Exception as exc:
            raw = revert_data(exc)
            if raw is None:
                raise
            err = self.book.decoder.decode(raw)
            return ("revert", err.name, tuple(err.args_))
        return ("value", None)

    def set_price(self, i: int, price: int, updated_at: int) -> None:
        self.oracles[i].transact("setPrice", price, updated_at, sender=self.owner, gas=GAS)
        self.feeds[i][:] = [price, updated_at]

    def check_state(self) -> None:
        assert self.book.call("seriesCount") == len(self.mirror.series)
        for sid, s in enumerate(self.mirror.series):
            got = self.book.call("series", sid)
            want = (s.underlying_id, s.kind, s.strike_wad, s.expiry, s.price_wad, s.vol_wad, s.marked_at, s.payoff_wad, s.settled, s.risk_array)
            assert tuple(list(x) if isinstance(x, (list, tuple)) else x for x in got) == want, sid
        for (uid, expiry), price in self.mirror.settlement_price.items():
            assert self.book.call("settlementPrice", uid, expiry) == price, (uid, expiry)
        for s in self.mirror.series:
            if (s.underlying_id, s.expiry) not in self.mirror.settlement_price:
                assert self.book.call("settlementPrice", s.underlying_id, s.expiry) == 0


@pytest.fixture
def world(chain, artifacts):
    return World(chain)


def test_random_operations_match_the_mirror(world):
    w, rng = world, random.Random(20261204)
    owner, keeper, stranger = w.owner.address, w.keeper.address, w.stranger.address
    w.send("setKeeper", "setKeeper", keeper, True, sender=w.owner, mirror_call=lambda now: w.mirror.set_keeper(owner, keeper, True))
    w.send("setKeeper", "setKeeper", keeper, True, sender=w.stranger, mirror_call=lambda now: w.mirror.set_keeper(stranger, keeper, True))
    for i, (r, v, som) in enumerate([(159_154_943_091_895_335, WAD // 4, WAD // 100), (271_828_182_845_904_523, WAD // 3, WAD // 50)]):
        feed = w.feeds[i]
        w.send("addUnderlying", "addUnderlying", w.oracles[i].address, r, v, som, 3600, *VOL_BOUNDS, sender=w.owner,
               mirror_call=lambda now, feed=feed, r=r, v=v, som=som: w.mirror.add_underlying(owner, lambda: tuple(feed), r, v, som, 3600, *VOL_BOUNDS))
    for bad in ((WAD + 1, 0, 0, 1, 0, WAD), (WAD // 2, WAD // 2, 0, 1, 0, 7 * WAD)):  # R > WAD; 7·1.5 > 10
        w.send("addUnderlying", "addUnderlying", w.oracles[0].address, *bad, sender=w.owner,
               mirror_call=lambda now, bad=bad: w.mirror.add_underlying(owner, lambda: (0, 0), *bad))
    start = w.now()
    series_specs = [
        (0, Kind.Perp, 0, 0),
        (0, Kind.Call, 3_456_789_012_345_678_901_234, start + 30 * DAY + 1234),
        (0, Kind.Put, 2_718_281_828_459_045_235_360, start + 7 * DAY + 567),
        (1, Kind.Perp, 0, 0),
        (1, Kind.Call, 65_432_109_876_543_210_987_654, start + 2 * DAY + 89),
        (0, Kind.Perp, 1, 0),  # InvalidSeries
        (2, Kind.Perp, 0, 0),  # UnknownUnderlying
        (0, Kind.Call, 10**21, start - 5),  # InvalidSeries: expired
    ]
    for uid, kind, strike, expiry in series_specs:
        w.send("addSeries", "addSeries", uid, kind, strike, expiry, sender=w.owner,
               mirror_call=lambda now, a=(uid, kind, strike, expiry): w.mirror.add_series(owner, now, *a))
    w.check_state()

    # Views before any mark: NotMarked.
    block, now = set_next_timestamp(w.chain, w.now())
    on_chain = outcome(w.book.call, "maintenanceMargin", [0, 1], [WAD, -WAD], block=block)
    assert on_chain == outcome(w.mirror.maintenance_margin, now, [0, 1], [WAD, -WAD])
    w.seen[on_chain[1]] += 1

    n_series = len(w.mirror.series)
    for _ in range(24):
        k = rng.random()
        if k < 0.45:  # a mark update by the keeper (sometimes a stranger, sometimes an unknown series)
            sid = rng.randrange(n_series + 1)
            vol = rng.randrange(WAD // 10, 2 * WAD) | 1 if rng.random() < 0.9 else rng.choice((WAD // 10 - 1, 3 * WAD + 1))
            who = w.keeper if rng.random() < 0.9 else w.stranger
            if rng.random() < 0.8 and sid < n_series:  # the keeper's usual flow: a fresh price first
                i = w.mirror.series[sid].underlying_id
                w.set_price(i, PRICES[i] * (rng.randrange(WAD * 8 // 10, WAD * 12 // 10) | 1) // WAD, w.now() + 1)
            w.send("updateMark", "updateMark", sid, vol, sender=who,
                   mirror_call=lambda now, a=(who.address, sid, vol): w.mirror.update_mark(a[0], now, a[1], a[2]))
        elif k < 0.65:  # the oracle moves (sometimes to an invalid or old price)
            i = rng.randrange(2)
            price = PRICES[i] * (rng.randrange(WAD * 8 // 10, WAD * 12 // 10) | 1) // WAD
            updated = w.now() + 1
            if rng.random() < 0.1:
                price = rng.choice((0, -1, 2**128 + 1))
            elif rng.random() < 0.1:
                updated -= 7200  # stale
            w.set_price(i, price, updated)
        elif k < 0.8:  # time passes, up to a day
            set_next_timestamp(w.chain, w.now() + rng.randrange(1, DAY))
        elif k < 0.9:  # settlement, by anyone
            sid = rng.randrange(n_series)
            w.send("settle", "settle", sid, sender=w.stranger, mirror_call=lambda now, sid=sid: w.mirror.settle(now, sid))
        else:  # portfolio margin views at the next block's time
            ids = [rng.randrange(n_series) for _ in range(rng.randrange(1, 5))]
            sizes = [(rng.randrange(WAD, 10 * WAD) | 1) * rng.choice((1, -1)) for _ in ids]
            block, now = set_next_timestamp(w.chain, w.now())
            for fn, py in (("maintenanceMargin", w.mirror.maintenance_margin), ("initialMargin", w.mirror.initial_margin)):
                on_chain = outcome(w.book.call, fn, ids, sizes, block=block)
                assert outcome(py, now, ids, sizes) == on_chain, (fn, ids, sizes)
                w.seen[fn if on_chain[0] == "value" else on_chain[1]] += 1
        w.check_state()
    # Finally every live series marked at fresh prices, and margin views over random books of them.
    for i in range(2):
        w.set_price(i, PRICES[i] * (rng.randrange(WAD * 8 // 10, WAD * 12 // 10) | 1) // WAD, w.now() + 1)
    live = [sid for sid, s in enumerate(w.mirror.series) if s.kind == Kind.Perp or s.expiry > w.now() + 1]
    for sid in live:
        vol = rng.randrange(WAD // 10, 2 * WAD) | 1
        w.send("updateMark", "updateMark", sid, vol, sender=w.keeper,
               mirror_call=lambda now, sid=sid, vol=vol: w.mirror.update_mark(keeper, now, sid, vol))
    block, now = set_next_timestamp(w.chain, w.now())
    for _ in range(4):
        ids = [rng.choice(live) for _ in range(rng.randrange(1, 5))]
        sizes = [(rng.randrange(WAD, 10 * WAD) | 1) * rng.choice((1, -1)) for _ in ids]
        for fn, py in (("maintenanceMargin", w.mirror.maintenance_margin), ("initialMargin", w.mirror.initial_margin)):
            on_chain = outcome(w.book.call, fn, ids, sizes, block=block)
            assert outcome(py, now, ids, sizes) == on_chain, (fn, ids, sizes)
            w.seen[fn if on_chain[0] == "value" else on_chain[1]] += 1
    w.check_state()
    assert {"OwnableUnauthorizedAccount", "InvalidSeries", "UnknownUnderlying", "NotMarked", "maintenanceMargin"} <= set(w.seen), dict(w.seen)
    assert w.seen["updateMark"] >= 5 and w.seen["VolOutOfBounds"] >= 1, dict(w.seen)


def _one_underlying(w: World, expiry: int, strike: int) -> None:
    """Keeper set, ETH at PRICES[0], a perp (series 0) and a call (series 1) marked at MARK_VOL."""
    owner, keeper, feed = w.owner.address, w.keeper.address, w.feeds[0]
    w.send("setKeeper", "setKeeper", keeper, True, sender=w.owner, mirror_call=lambda now: w.mirror.set_keeper(owner, keeper, True))
    params = (159_154_943_091_895_335, WAD // 4, WAD // 100, 3600, *VOL_BOUNDS)
    w.send("addUnderlying", "addUnderlying", w.oracles[0].address, *params, sender=w.owner,
           mirror_call=lambda now: w.mirror.add_underlying(owner, lambda: tuple(feed), *params))
    for a in ((0, Kind.Perp, 0, 0), (0, Kind.Call, strike, expiry)):
        w.send("addSeries", "addSeries", *a, sender=w.owner, mirror_call=lambda now, a=a: w.mirror.add_series(owner, now, *a))
    w.set_price(0, PRICES[0], w.now() + 1)
    for sid in (0, 1):
        assert w.send("updateMark", "updateMark", sid, MARK_VOL, sender=w.keeper,
                      mirror_call=lambda now, sid=sid: w.mirror.update_mark(keeper, now, sid, MARK_VOL))


def _margin(w: World, ids, sizes) -> int:
    """The contract's maintenance margin at the next block's time, checked equal to the mirror's."""
    block, now = set_next_timestamp(w.chain, w.now())
    on_chain = outcome(w.book.call, "maintenanceMargin", ids, sizes, block=block)
    assert outcome(w.mirror.maintenance_margin, now, ids, sizes) == on_chain
    return on_chain[1] if on_chain[0] == "value" else on_chain


def test_expiry_settlement_and_hedged_margin(world):
    """A keeper marks a perp and a call; the hedge needs less margin than the two apart (equal
    integers on contract and mirror); at expiry anyone settles the call at the oracle price."""
    w = world
    expiry, strike = w.now() + 30 * DAY, 3_456_789_012_345_678_901_234
    _one_underlying(w, expiry, strike)
    size = 2_718_281_828_459_045_235
    hedged = _margin(w, [0, 1], [size, -size])
    assert hedged < _margin(w, [0], [size]) + _margin(w, [1], [-size])

    # Before expiry: NotExpired. At expiry with a price from before it: PriceBeforeExpiry. Then settled once.
    assert not w.send("settle", "settle", 1, sender=w.stranger, mirror_call=lambda now: w.mirror.settle(now, 1))
    set_next_timestamp(w.chain, expiry + 10)
    w.set_price(0, PRICES[0], expiry - 1)
    assert not w.send("settle", "settle", 1, sender=w.stranger, mirror_call=lambda now: w.mirror.settle(now, 1))
    final = 3_599_999_999_999_999_999_999
    w.set_price(0, final, expiry + 20)
    assert w.send("settle", "settle", 1, sender=w.stranger, mirror_call=lambda now: w.mirror.settle(now, 1))
    assert w.book.call("series", 1)[7] == final - strike == w.mirror.series[1].payoff_wad
    assert not w.send("settle", "settle", 1, sender=w.stranger, mirror_call=lambda now: w.mirror.settle(now, 1))
    keeper = w.keeper.address
    assert not w.send("updateMark", "updateMark", 1, MARK_VOL, sender=w.keeper, mirror_call=lambda now: w.mirror.update_mark(keeper, now, 1, MARK_VOL))
    assert {"NotExpired", "PriceBeforeExpiry", "AlreadySettled", "SeriesExpired", "settle"} <= set(w.seen), dict(w.seen)
    w.check_state()


def test_attack_keeper_posts_a_tiny_vol_to_cut_an_option_margin(world):
    """Attack: a keeper marks a call at 0.01 % vol, so its risk array is ~0 and a long call needs no
    margin for the premium it can lose. Closed: the owner's vol bounds revert the mark on contract
    and mirror, and the honest array stays."""
    w = world
    _one_underlying(w, w.now() + 30 * DAY, 3_456_789_012_345_678_901_234)
    honest = _margin(w, [1], [WAD])
    s = w.mirror.series[1]
    tiny = WAD // 10_000
    array = ra.risk_array(Kind.Call, s.strike_wad, s.expiry - w.now(), s.price_wad, tiny, 159_154_943_091_895_335, WAD // 4)
    rigged = ra.maintenance_margin([WAD], [array], [0])
    assert rigged < honest // 100  # what the hole would give the long
    keeper = w.keeper.address
    assert not w.send("updateMark", "updateMark", 1, tiny, sender=w.keeper,
                      mirror_call=lambda now: w.mirror.update_mark(keeper, now, 1, tiny))
    assert w.seen["VolOutOfBounds"] == 1
    assert _margin(w, [1], [WAD]) == honest


def test_attack_margin_on_a_stale_mark(world):
    """Attack: after a crash nobody re-marks, and a book is margined on arrays from the old price.
    Closed: a mark older than maxPriceAgeS makes the margin views revert StaleMark."""
    w = world
    _one_underlying(w, w.now() + 30 * DAY, 3_456_789_012_345_678_901_234)
    assert isinstance(_margin(w, [0, 1], [WAD, -WAD]), int)
    set_next_timestamp(w.chain, w.now() + 3601)
    stale = _margin(w, [0, 1], [WAD, -WAD])
    assert stale[:2] == ("revert", "StaleMark"), stale


def test_attack_settle_each_leg_of_a_straddle_at_its_best_price(world):
    """Attack: a call and a put of one strike and expiry each settle at the oracle price of the
    moment someone calls settle, so a straddle holder settles the call after a rise and the put
    after a fall and collects both legs, more than the options pay at any single price (value the
    short side never owed). Closed: the first settle of an (underlying, expiry) fixes its
    settlement price and every option of it settles there, on contract and mirror; call − put =
    S − K then holds exactly (a long call and a short put settle as a forward)."""
    w = world
    expiry, strike = w.now() + 30 * DAY, 3_456_789_012_345_678_901_234
    _one_underlying(w, expiry, strike)
    owner = w.owner.address
    put = (0, Kind.Put, strike, expiry)
    w.send("addSeries", "addSeries", *put, sender=w.owner, mirror_call=lambda now: w.mirror.add_series(owner, now, *put))
    set_next_timestamp(w.chain, expiry + 10)
    high, low = strike + 141_421_356_237_309_504_880, strike - 173_205_080_756_887_729_352
    w.set_price(0, high, expiry + 10)
    assert w.send("settle", "settle", 1, sender=w.stranger, mirror_call=lambda now: w.mirror.settle(now, 1))
    set_next_timestamp(w.chain, expiry + 600)
    w.set_price(0, low, expiry + 600)
    assert w.send("settle", "settle", 2, sender=w.stranger, mirror_call=lambda now: w.mirror.settle(now, 2))
    call_payoff, put_payoff = w.book.call("series", 1)[7], w.book.call("series", 2)[7]
    hole = (high - strike) + (strike - low)  # what the straddle collected with a price per leg
    assert hole > max(high - strike, strike - low)  # more than any single settlement price pays
    assert (call_payoff, put_payoff) == (high - strike, 0) != (high - strike, strike - low)
    assert call_payoff - put_payoff == high - strike  # call − put = S − K at the one price
    assert w.book.call("settlementPrice", 0, expiry) == w.mirror.settlement_price[(0, expiry)] == high
    w.check_state()


def test_mirror_settlement_conserves_value_on_random_sequences():
    """The forge invariants of tests/forge/RiskBookInvariants.t.sol on the Python mirror: random
    trades (a zero-sum ledger), price moves, time and settles; after each step one settlement price
    per (underlying, expiry) that never changes, payoffs at it that never change, call − put = S − K
    and Σ size·payoff = 0."""
    rng = random.Random(20261205)
    now, feeds = 1_800_000_000, [[p, 1_800_000_000] for p in PRICES]
    book = riskbook.RiskArrayBook("owner", IM_MULTIPLE)
    for i in range(2):
        book.add_underlying("owner", (lambda f=feeds[i]: tuple(f)), 159_154_943_091_895_335, WAD // 4, WAD // 100, DAY, *VOL_BOUNDS)
    for u in range(2):
        for expiry in (now + DAY + 17, now + 3 * DAY + 4_321):
            for k in range(3):
                strike = PRICES[u] * (4 * WAD // 5 + k * 141_421_356_237_309_505) // WAD
                book.add_series("owner", now, u, Kind.Call, strike, expiry)  # even id: call
                book.add_series("owner", now, u, Kind.Put, strike, expiry)  # odd id: its put
    n = len(book.series)
    position = [[0] * n for _ in range(3)]
    paid, prices_seen, payoffs_seen, apart = [0, 0, 0], {}, {}, 0
    for _ in range(3000):
        op = rng.random()
        if op < 0.4:
            sid, buyer = rng.randrange(n), rng.randrange(3)
            if not book.series[sid].settled:
                size = rng.randrange(1, 100 * WAD)
                position[buyer][sid] += size
                position[(buyer + rng.randrange(1, 3)) % 3][sid] -= size
        elif op < 0.6:
            u = rng.randrange(2)
            feeds[u][:] = [PRICES[u] // 2 + rng.randrange(PRICES[u]), now]
        elif op < 0.8:
            now += rng.randrange(1, DAY)
        else:
            sid = rng.randrange(n)
            try:
                payoff = book.settle(now, sid)
            except Revert as exc:
                assert exc.name in ("NotExpired", "AlreadySettled", "PriceBeforeExpiry", "StalePrice"), exc
                continue
            paid = [p + position[a][sid] * payoff for a, p in enumerate(paid)]
            payoffs_seen[sid] = payoff
            s = book.series[sid]
            other = book.series[sid ^ 1]
            apart += other.settled and feeds[s.underlying_id][0] != book.settlement_price[(s.underlying_id, s.expiry)]
        assert sum(paid) == 0
        for key, price in book.settlement_price.items():
            assert prices_seen.setdefault(key, price) == price
        for sid, s in enumerate(book.series):
            if s.settled:
                price = book.settlement_price[(s.underlying_id, s.expiry)]
                assert s.payoff_wad == payoffs_seen[sid] == max(price - s.strike_wad if s.kind == Kind.Call else s.strike_wad - price, 0)
                if sid % 2 == 0 and book.series[sid + 1].settled:
                    assert s.payoff_wad - book.series[sid + 1].payoff_wad == price - s.strike_wad
    assert len(payoffs_seen) > 10 and apart > 0  # settles happened, some legs settled apart after a move
