"""Test support for option markets in the engine (spec §5.13): a MarginEngine with one perp market,
a RiskArrayBook (the perp and option series on the market's oracle) and an OptionsEngine, deployed
on the devnet, and their Python mirrors, driven in lockstep. Engine operations and views go through
:class:`pymargin.crosscheck.DualEngine`; book and options operations through :meth:`System.op`, which
compares reverts, the options module's events and its state."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass

from pymargin import riskbook
from pymargin.chain.contracts import deploy_contract
from pymargin.chain.engine_devnet import TX_GAS, MarketSpec, default_params, deploy_engine
from pymargin.chain.options_dual import book_call, simulate
from pymargin.chain.tx import node_signer
from pymargin.crosscheck import DualEngine, ParityError, deploy_view_batch, fund, norm, norm_events, snake
from pymargin.engine.options import DOMAIN_NAME, OptionsEngine
from pymargin.engine.options_checkpoint import series_aggregates
from pymargin.engine.orders import OrderSigner
from pymargin.errors import Revert
from pymargin.fixedpoint import WAD
from pymargin.riskarray import InstrumentKind as Kind

PERP_PRICE = 2_718_281_828_459_045_235_360  # WAD quote per base unit
IM_MULTIPLE = 1_333_333_333_333_333_333
PREMIUM_BAND = WAD // 50  # 2 % of the mark price
UNDERLYING = dict(price_range=159_154_943_091_895_335, vol_range=WAD // 4, som=WAD // 100, max_age=3600,
                  min_vol=WAD // 10, max_vol=3 * WAD)
GAS = 30_000_000
DAY = 86_400
STRIKE_CALL = 2_901_234_567_890_123_456_789
STRIKE_PUT = 2_503_141_592_653_589_793_238
WEEK_SERIES = [("call", Kind.Call, STRIKE_CALL, 7 * DAY + 1234), ("put", Kind.Put, STRIKE_PUT, 7 * DAY + 1234)]


class BookFeed:
    """A book underlying's oracle in the mirror: the engine mirror's feed at its ``now``, with the address."""

    def __init__(self, engine, address: str):
        self.engine, self.address = engine, address

    def __call__(self) -> tuple[int, int]:
        return self.engine.oracles[self.address].latest_price(self.engine.now)


@dataclass
class Outcome:
    error: tuple | None = None
    events: list | None = None
    gas_used: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class System:
    """Engine (via DualEngine ``d``), book and options module on chain and mirrored."""

    def __init__(self, chain, users: int = 3):
        self.chain = chain
        self.owner, self.operator, self.keeper = (node_signer(chain, i) for i in range(3))
        self.users = [node_signer(chain, 3 + i) for i in range(users)]
        self.stranger = node_signer(chain, 3 + users)
        dep = deploy_engine(chain, self.owner, [MarketSpec("ETH-PERP", default_params(), PERP_PRICE)],
                            keepers=(self.keeper.address,), operators=(self.operator.address,))
        fund(dep, self.users, 10**20)
        self.d = DualEngine(dep, deploy_view_batch(chain, self.owner))
        self.d.set_price(0, PERP_PRICE)
        self.engine = dep.engine
        self.oracle = dep.oracles[0].address
        self.book, _ = deploy_contract(chain, "RiskArrayBook", self.owner.address, IM_MULTIPLE, sender=self.owner, gas=GAS)
        self.options, _ = deploy_contract(chain, "OptionsEngine", self.engine.address, self.book.address, PREMIUM_BAND,
                                          self.owner.address, sender=self.owner, gas=GAS)
        for abi_of in (self.book, self.engine):  # reverts of the book and engine surface through the module
            self.options.decoder.add(abi_of.artifact["abi"])
        self.engine.decoder.add(self.options.artifact["abi"])
        self.engine.decoder.add(self.book.artifact["abi"])
        self.py_book = riskbook.RiskArrayBook(self.owner.address, IM_MULTIPLE)
        self.py = OptionsEngine(self.d.py, self.py_book, PREMIUM_BAND, self.owner.address, address=self.options.address)
        self.d.py.option_modules[self.options.address] = self.py
        keys = dict(self.d.orders.keys)
        self.orders = OrderSigner(chain.w3.eth.chain_id, self.options.address, keys, name=DOMAIN_NAME)
        self.series: dict[str, int] = {}

    # -- lockstep --------------------------------------------------------------------------------

    def op(self, target: str, fn: str, sender, *args, mirror_args: tuple | None = None, dt: int = 1) -> Outcome:
        """Run ``fn`` of ``target`` ("book" or "options") on both sides ``dt`` s after the last operation."""
        contract = self.book if target == "book" else self.options
        block = self.d._prepare(dt)
        chain_error = simulate(contract, fn, sender, args, block)
        try:
            if target == "book":
                book_call(self.py_book, fn, sender.address, self.d.py.now, mirror_args if mirror_args is not None else args)
                py_events = None
            else:
                getattr(self.py, snake(fn))(sender.address, *args)
                py_events = self.py.last_events
            py_error = None
        except Revert as exc:
            py_error = (exc.name, norm(exc.args_))
        if chain_error is not None or py_error is not None:
            if chain_error != py_error:
                raise ParityError(f"{fn}{args}: chain {chain_error or 'succeeded'} vs python {py_error or 'succeeded'}")
            return Outcome(error=chain_error)
        receipt = contract.transact(fn, *args, sender=sender, gas=TX_GAS)
        assert receipt.status == 1
        events = None
        if py_events is not None:
            events = norm_events(contract.decode_logs(receipt))
            if events != norm_events(py_events):
                raise ParityError(f"{fn}{args}: events differ\nchain  {events}\npython {norm_events(py_events)}")
            self.check_aggregates()
        return Outcome(events=events, gas_used=receipt.gasUsed)

    def check_aggregates(self) -> None:
        """Per series, the module's (openInterest, shortInterest) equal the sums over the mirror's positions,
        on the mirror and on the chain (whose positions equal the mirror's: :meth:`check_state`)."""
        sums = series_aggregates((sid, size) for (_, sid), size in self.py.state.sizes.items())
        for sid in range(len(self.py_book.series)):
            want = sums.get(sid, (0, 0))
            assert (self.py.open_interest(sid), self.py.short_interest(sid)) == want, sid
            assert (self.options.call("openInterest", sid), self.options.call("shortInterest", sid)) == want, sid

    # -- set-up ------------------------------------------------------------------------------------------

    def setup_market(self, options: list[tuple[str, Kind, int, int]]) -> None:
        """The book's underlying on the perp's oracle, its perp series and ``options`` (name, kind, strike,
        seconds to expiry); the perp mapped, the module set in the engine, marks at vol 0.6..."""
        u = UNDERLYING
        ok(self.op("book", "setKeeper", self.owner, self.keeper.address, True))
        ok(self.op("book", "addUnderlying", self.owner, self.oracle, u["price_range"], u["vol_range"], u["som"],
                   u["max_age"], u["min_vol"], u["max_vol"],
                   mirror_args=(BookFeed(self.d.py, self.oracle), u["price_range"], u["vol_range"], u["som"],
                                u["max_age"], u["min_vol"], u["max_vol"])))
        ok(self.op("book", "addSeries", self.owner, 0, Kind.Perp, 0, 0))
        self.series["perp"] = 0
        now = self.d.clock + 1
        for name, kind, strike, tau in options:
            ok(self.op("book", "addSeries", self.owner, 0, kind, strike, now + tau))
            self.series[name] = len(self.py_book.series) - 1
        ok(self.op("options", "mapPerp", self.owner, 0, self.series["perp"]))
        ok(self.op("options", "setOperator", self.owner, self.operator.address, True))
        assert self.d.op("setOptionsModule", self.owner, self.options.address).ok
        assert self.d.op("setKeeper", self.owner, self.options.address, True).ok  # for the module's checkpoint()
        self.mark_all()

    def mark_all(self, vol: int = 612_345_678_901_234_567) -> None:
        """Keeper: update every unexpired series' mark at the oracle price and ``vol``."""
        for sid, s in enumerate(self.py_book.series):
            if s.kind == Kind.Perp or self.d.clock + 1 < s.expiry:
                ok(self.op("book", "updateMark", self.keeper, sid, vol))

    def option_fill(self, series_id: int, taker, maker, size_wad: int, premium_wad: int, dt: int = 1) -> Outcome:
        t = self.orders.order(taker.address, 0, series_id, size_wad, premium_wad)
        m = self.orders.order(maker.address, 0, series_id, -size_wad, premium_wad)
        return self.op("options", "trade", self.operator, t, self.orders.sign(t), m, self.orders.sign(m), size_wad,
                       premium_wad, dt=dt)

    def mark_value(self, series_id: int) -> int:
        from pymargin.engine.options import mark_value

        return mark_value(self.py_book.series[series_id])

    # -- state -----------------------------------------------------------------------------------------------

    def check_state(self) -> None:
        """The module's stored state and the engine's state and views equal their mirrors'."""
        o, p = self.options, self.py
        owners = {a for a, _ in p.state.sizes} | {u.address for u in self.users}
        for owner in owners:
            assert list(o.call("optionSeries", owner)) == p.option_series(owner), owner
            for sid in range(len(self.py_book.series)):
                assert o.call("optionSize", owner, sid) == p.option_size(owner, sid), (owner, sid)
        for sid in range(len(self.py_book.series)):
            assert o.call("openInterest", sid) == p.open_interest(sid), sid
            assert o.call("shortInterest", sid) == p.short_interest(sid), sid
        assert o.call("settlementDustWad2") == p.state.settlement_dust_wad2
        assert o.call("openPositionCount") == p.open_position_count()
        for cid in range(1, p.options_checkpoint_count() + 1):
            assert o.call("optionsCheckpointPositionCount", cid) == p.options_checkpoint_position_count(cid), cid
        count, problems = self.d.check_all()
        assert not problems, problems[:5]

    def conserved_wad2(self) -> int:
        """The chain's Σ collateral·WAD + (fees + insurance − bad debt)·WAD + dust + Σ size·payoff over
        open positions in settled series (WAD²)."""
        _, collateral_sum, _ = self.engine.call("aggregates")
        e = self.engine
        total = (collateral_sum + e.call("accruedFees") + e.call("insuranceFund") - e.call("badDebt")) * WAD
        total += self.options.call("settlementDustWad2")
        for owner in {u.address for u in self.users}:
            for sid in self.options.call("optionSeries", owner):
                s = self.book.call("series", sid)
                if s[8]:  # settled
                    total += self.options.call("optionSize", owner, sid) * s[7]
        return total


def ok(outcome: Outcome) -> Outcome:
    assert outcome.ok, outcome.error
    return outcome


__all__ = ["System", "BookFeed", "Outcome", "ok", "PERP_PRICE", "IM_MULTIPLE", "PREMIUM_BAND", "Kind"]


def deploy_once(chain, series: list[tuple]) -> Iterator[tuple[System, tuple]]:
    """Body of a module-scoped fixture: the system with ``series`` (``System.setup_market``), every user
    funded with 20,000 tokens, and a deep copy of its mirrors; the chain reverted after the module."""
    start = chain.snapshot()
    s = System(chain)
    s.setup_market(series)
    for user in s.users:
        assert s.d.op("deposit", user, 0, 20_000 * 10**6).ok
    yield s, copy.deepcopy((s.d.py, s.py, s.py_book, s.d.clock))
    chain.revert(start)


def restored(deployed: tuple[System, tuple], chain) -> Iterator[System]:
    """Body of a per-test fixture: the deployed system, chain and mirrors back at their saved state after the test."""
    s, saved = deployed
    snapshot = chain.snapshot()
    yield s
    chain.revert(snapshot)
    s.d.py, s.py, s.py_book, s.d.clock = copy.deepcopy(saved)
