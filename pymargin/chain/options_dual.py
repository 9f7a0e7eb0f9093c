"""Option markets beside a :class:`pymargin.crosscheck.DualEngine`, on chain and mirrored (spec §5.12).

A RiskArrayBook and an OptionsEngine deployed next to the MarginEngine, with their Python mirrors
(:mod:`pymargin.riskbook`, :mod:`pymargin.engine.options`) attached to the engine's mirror. Every book
and options operation runs on both sides in lockstep: the same revert (name and arguments) or the same
events. :meth:`DualOptions.margin_rows` reads each option-holding account's portfolio maintenance
margin and its per-position (standalone) requirement from the chain and from the mirror.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymargin import riskbatch
from pymargin import riskarray as ra
from pymargin.chain.contracts import Contract, abi_args
from pymargin.chain.deploy import Deployer
from pymargin.chain.engine_devnet import TX_GAS
from pymargin.chain.tx import Signer, revert_data
from pymargin.crosscheck import DualEngine, ParityError, norm, norm_events, snake
from pymargin.engine.options import DOMAIN_NAME, OptionsEngine, mark_value
from pymargin.engine.orders import OrderSigner
from pymargin.errors import Revert
from pymargin.riskbook import RiskArrayBook

DEPLOY_GAS = 30_000_000


@dataclass(frozen=True)
class OptionsSpec:
    """The book's underlying (one, on an engine market's oracle) and the module's bounds (WAD unless named)."""

    market_id: int  # the engine market whose oracle is the underlying's and whose perp is mapped
    im_multiple_wad: int  # initial = ⌈maintenance · multiple / WAD⌉
    premium_band_wad: int  # a fill's premium within the mark value ± band × the mark price
    price_range_wad: int  # scanning range, a fraction of the price
    vol_range_wad: int  # implied-vol move of the vol-up / vol-down scenarios, a fraction of the vol
    som_fraction_wad: int  # short-option minimum per short unit, a fraction of the price
    max_price_age_s: int  # oracle prices and marks older than this are stale
    min_vol_wad: int
    max_vol_wad: int


@dataclass(frozen=True)
class Outcome:
    error: tuple | None = None  # (revert name, arguments) on both sides
    events: list | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class MarginRow:
    """An option-holding cross account's maintenance margin (WAD quote, Ceil), read on chain: the engine's
    (portfolio) and Σ of the book's over each position alone; ``mirror_equal``: the mirror's numbers
    (engine mirror and pymargin.riskbatch) are the same integers."""

    owner: str
    positions: tuple[tuple[int, int], ...]  # (book series id, size WAD) — perps by their mapped series
    portfolio_mm_wad: int
    standalone_mm_wad: int
    mirror_equal: bool

    @property
    def saving_wad(self) -> int:
        return self.standalone_mm_wad - self.portfolio_mm_wad


class BookFeed:
    """A book underlying's oracle in the mirror: the engine mirror's oracle at its ``now``; ``address``
    is the oracle contract's (OptionsEngine.mapPerp compares it with the market's)."""

    def __init__(self, dual: DualEngine, address: str):
        self.dual, self.address = dual, address

    def __call__(self) -> tuple[int, int]:
        return self.dual.py.oracles[self.address].latest_price(self.dual.py.now)


class DualOptions:
    """Book and options module on chain and mirrored; deployed by :meth:`deploy`."""

    def __init__(self, dual: DualEngine, book: Contract, options: Contract, spec: OptionsSpec, keys: dict[str, bytes]):
        self.dual, self.book, self.options, self.spec = dual, book, options, spec
        for abi_of in (book, dual.contract):  # the book's and the engine's reverts surface through the module
            options.decoder.add(abi_of.artifact["abi"])
        dual.contract.decoder.add(options.artifact["abi"])
        dual.contract.decoder.add(book.artifact["abi"])
        owner = options.call("owner")
        self.py_book = RiskArrayBook(book.call("owner"), spec.im_multiple_wad)
        self.py = OptionsEngine(dual.py, self.py_book, spec.premium_band_wad, owner, address=options.address)
        dual.py.option_modules[options.address] = self.py
        self.orders = OrderSigner(dual.chain.chain_id, options.address, keys, name=DOMAIN_NAME)

    @classmethod
    def deploy(cls, dual: DualEngine, deployer: Deployer, spec: OptionsSpec, keys: dict[str, bytes]) -> "DualOptions":
        """Deploy the book and the module (owned by the deployer's signer) through ``deployer``."""
        owner = deployer.signer.address
        book = deployer.deploy("RiskArrayBook", "RiskArrayBook", owner, spec.im_multiple_wad, gas=DEPLOY_GAS)
        options = deployer.deploy("OptionsEngine", "OptionsEngine", dual.contract.address, book.address,
                                  spec.premium_band_wad, owner, gas=DEPLOY_GAS)
        return cls(dual, book, options, spec, keys)

    def set_up(self, owner: Signer, keeper: Signer, operator: Signer) -> int:
        """Keeper and operator allowed, the underlying on the market's oracle, its perp series mapped to the
        market, the module set in the engine and made an engine keeper; returns the perp's series id."""
        s = self.spec
        oracle = self.dual.py.state.markets[s.market_id].oracle
        bounds = (s.price_range_wad, s.vol_range_wad, s.som_fraction_wad, s.max_price_age_s, s.min_vol_wad, s.max_vol_wad)
        _ok(self.op("book", "setKeeper", owner, keeper.address, True))
        _ok(self.op("book", "addUnderlying", owner, oracle, *bounds, mirror_args=(BookFeed(self.dual, oracle), *bounds)))
        perp = self.add_series(owner, ra.InstrumentKind.Perp, 0, 0)
        _ok(self.op("options", "mapPerp", owner, s.market_id, perp))
        _ok(self.op("options", "setOperator", owner, operator.address, True))
        for fn, args in (("setOptionsModule", (self.options.address,)), ("setKeeper", (self.options.address, True))):
            outcome = self.dual.op(fn, owner, *args)  # the keeper role: the module's checkpoint() takes the engine's
            if not outcome.ok:
                raise RuntimeError(f"{fn} reverted on both sides: {outcome.error}")
        return perp

    def add_series(self, owner: Signer, kind: ra.InstrumentKind, strike_wad: int, expiry: int) -> int:
        """Owner: a series of the underlying; returns its id."""
        _ok(self.op("book", "addSeries", owner, 0, kind, strike_wad, expiry))
        return len(self.py_book.series) - 1

    # -- lockstep ------------------------------------------------------------------------------------

    def op(self, target: str, fn: str, sender: Signer, *args: Any, mirror_args: tuple | None = None, dt: int = 1) -> Outcome:
        """Run ``fn`` (camelCase) of ``target`` ("book" or "options") on both sides ``dt`` s after the last
        operation; ParityError if the sides disagree on the revert or the options module's events."""
        contract = self.book if target == "book" else self.options
        block = self.dual._prepare(dt)
        chain_error = simulate(contract, fn, sender, args, block)
        py_events = None
        try:
            if target == "book":
                book_call(self.py_book, fn, sender.address, self.dual.py.now, mirror_args if mirror_args is not None else args)
            else:
                getattr(self.py, snake(fn))(sender.address, *args)
                py_events = self.py.last_events  # checkpoint returns its data
            py_error = None
        except Revert as exc:
            py_error = (exc.name, norm(exc.args_))
        if chain_error is not None or py_error is not None:
            if chain_error != py_error:
                raise ParityError(f"{fn}{args}: chain {chain_error or 'succeeded'} vs python {py_error or 'succeeded'}")
            return Outcome(error=chain_error)
        receipt = contract.transact(fn, *args, sender=sender, gas=TX_GAS)
        events = None
        if py_events is not None:
            events = norm_events(contract.decode_logs(receipt))
            if events != norm_events(py_events):
                raise ParityError(f"{fn}{args}: events differ\nchain  {events}\npython {norm_events(py_events)}")
        return Outcome(events=events)


    # -- trading ---------------------------------------------------------------------------------------

    def trade(self, operator: Signer, series_id: int, taker: str, maker: str, size_wad: int, premium_wad: int) -> Outcome:
        """Operator: fill two fresh orders signed by their owners' keys (cross accounts), the taker's side
        ``size_wad`` at ``premium_wad`` per unit (limits at the premium)."""
        t = self.orders.order(taker, 0, series_id, size_wad, premium_wad)
        m = self.orders.order(maker, 0, series_id, -size_wad, premium_wad)
        return self.op("options", "trade", operator, t, self.orders.sign(t), m, self.orders.sign(m), size_wad, premium_wad)

    def mark_value(self, series_id: int) -> int:
        """The series' value per long unit at its mark (WAD quote, Floor; its payoff once settled)."""
        return mark_value(self.py_book.series[series_id])

    def holders(self) -> list[str]:
        """Owners holding option positions, in order of first position."""
        return list(dict.fromkeys(owner for owner, _ in self.py.state.sizes))

    # -- portfolio margin on both sides ------------------------------------------------------------------

    def margin_rows(self) -> list[MarginRow]:
        """Per option holder: the engine's maintenance margin (its portfolio margin) and Σ of the book's
        maintenance margin of each position alone, on chain; compared with the engine mirror and
        pymargin.riskbatch (maintenance_margin, standalone_margin) over the mirror book's series."""
        holders = self.holders()
        positions = [self._positions(owner) for owner in holders]
        series = riskbatch.series_from_risk_book(self.py_book, self.dual.py.now)
        batch = riskbatch.PortfolioBook.from_accounts(positions, series)
        batch_pm, batch_alone = riskbatch.maintenance_margin(batch), riskbatch.standalone_margin(batch)
        rows = []
        for i, owner in enumerate(holders):
            pm = self.dual.contract.call("maintenanceMargin", owner, 0)
            alone = sum(self.book.call("maintenanceMargin", [sid], [size]) for sid, size in positions[i])
            equal = pm == self.dual.py.maintenance_margin(owner, 0) == batch_pm[i] and alone == batch_alone[i]
            rows.append(MarginRow(owner, tuple(positions[i]), pm, alone, equal))
        return rows

    def _positions(self, owner: str) -> list[tuple[int, int]]:
        """The cross account's perps (by mapped series) then its unsettled options, as the module margins them."""
        perps = [(self.py.perp_series(p.market_id), p.size) for p in self.dual.py._account_data(owner, 0)[1]]
        options = [(sid, self.py.option_size(owner, sid)) for sid in self.py.option_series(owner)
                   if not self.py_book.series[sid].settled]
        return perps + options


def _ok(outcome: Outcome) -> None:
    if not outcome.ok:
        raise RuntimeError(f"options set-up reverted on both sides: {outcome.error}")


__all__ = ["BookFeed", "DualOptions", "MarginRow", "OptionsSpec", "Outcome"]


def book_call(book, fn: str, sender: str, now: int, args: tuple) -> None:
    """Run RiskArrayBook operation ``fn`` (camelCase) on the ``book`` mirror at ``now``."""
    calls = {
        "setKeeper": lambda: book.set_keeper(sender, *args),
        "addUnderlying": lambda: book.add_underlying(sender, *args),
        "addSeries": lambda: book.add_series(sender, now, *args),
        "updateMark": lambda: book.update_mark(sender, now, *args),
        "settle": lambda: book.settle(now, *args),
    }
    calls[fn]()


def simulate(contract: Contract, fn: str, sender: Signer, args: tuple, block: str) -> tuple | None:
    """``fn`` called (not sent) at ``block``: None, or its revert as (error name, normalised arguments)."""
    try:
        getattr(contract.functions, fn)(*abi_args(args)).call({"from": sender.address, "gas": TX_GAS}, block_identifier=block)
    except Exception as exc:
        data = revert_data(exc)
        if data is None:
            raise
        decoded = contract.decoder.decode(data)
        return decoded.name, norm(decoded.args_)
    return None
