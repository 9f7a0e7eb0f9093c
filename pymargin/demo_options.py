"""The demo's option markets: two calls and a put on the first perp's oracle, traded beside the perps.

Three cross accounts (sub 0 of owners 1, 2 and 3, kept out of the random perp fills) trade by signed
orders at full-precision sizes and premiums: HEDGED holds a collar (long the perp, short the
out-of-the-money call, long the out-of-the-money put), NAKED is short the near-the-money call alone,
and the MARKET MAKER takes the other side of all four trades (short the perp, long both calls, short
the put). The keeper marks the perp and the options after every price step; the options expire inside
the simulated time, the book settles them at the oracle price and every position is paid out and
closed, so the book holds no options at the checkpoint.

Right after the trades the portfolio margin of each option holder is read on chain (the engine's
maintenance margin) beside its per-position requirement (Σ of the book's maintenance margin of each
position alone), and both equal the Python mirror's (engine mirror and pymargin.riskbatch).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from pymargin.chain.deploy import Deployer
from pymargin.chain.options_dual import DualOptions, MarginRow, OptionsSpec
from pymargin.chain.tx import Signer
from pymargin.crosscheck import DualEngine
from pymargin.fixedpoint import WAD, Rounding, mul_div
from pymargin.riskarray import InstrumentKind

MARKET_ID = 0  # the perp whose oracle is the underlying
MIN_OWNERS = 4  # owner 0 is the liquidator; owners 1..3 trade options
ROLES = ("hedged", "naked", "market maker")
SPEC = OptionsSpec(
    market_id=MARKET_ID,
    im_multiple_wad=1_333_333_333_333_333_333,
    premium_band_wad=WAD // 50,  # 2 % of the price
    price_range_wad=159_154_943_091_895_335,  # scanning range ≈ 15.9 % of the price
    vol_range_wad=WAD // 4,
    som_fraction_wad=WAD // 100,
    max_price_age_s=3 * 3600,  # marks are renewed every price step (an hour apart)
    min_vol_wad=WAD // 10,
    max_vol_wad=3 * WAD,
)
HEDGED_SIZE_WAD = 2_718_281_828_459_045_235  # e units: the perp bought and the call written
NAKED_SIZE_WAD = 1_618_033_988_749_894_848  # φ units of the other call written


@dataclass
class SeriesInfo:
    """An option series of the demo (WAD quote per base unit unless named)."""

    series_id: int
    name: str
    kind: str  # "call" or "put"
    strike_wad: int
    expiry_s: int
    premium_wad: int = 0  # the premium it traded at
    payoff_wad: int = 0  # per long unit, once settled
    settled: bool = False


@dataclass
class DemoOptions:
    """The options leg of one demo run: deploy, trade, keeper steps, and what they measured."""

    venue: DualOptions
    owner: Signer
    operator: Signer
    accounts: dict[str, str]  # role -> owner address (its cross account, sub 0)
    perp_series: int
    perp_name: str
    series: list[SeriesInfo] = field(default_factory=list)
    margins: list[MarginRow] = field(default_factory=list)  # right after the trades
    trade_count: int = 0
    settlement_count: int = 0
    views_compared: int = 0
    view_mismatches: list[str] = field(default_factory=list)

    @classmethod
    def deploy(cls, dual: DualEngine, deployer: Deployer, owner: Signer, operator: Signer,
               traders: list[Signer]) -> "DemoOptions":
        """Book and options module beside the engine, set up (keeper and operator: ``owner`` / ``operator``)."""
        venue = DualOptions.deploy(dual, deployer, SPEC, {t.address: t.private_key for t in traders})
        perp = venue.set_up(owner, owner, operator)
        accounts = {role: t.address for role, t in zip(ROLES, traders[1:MIN_OWNERS])}
        return cls(venue, owner, operator, accounts, perp, dual.dep.specs[MARKET_ID].name)

    def open(self, price_wad: int, steps: int, seed: int, step_s: int) -> None:
        """List the calls to expire 10 minutes before the middle price step (``steps`` steps of ``step_s``
        seconds from now), then :meth:`trade` at ``price_wad``; strikes and premiums from ``seed`` alone.
        First the perp's oracle is set again at ``price_wad`` half a step later, so the chain's clock runs
        ahead of the wall clock: every later operation lands exactly 1 s after the one before, whatever the
        machine's speed, and the marks' times to expiry (so values and margins) are the same every run."""
        rng = random.Random(f"pymargin-demo-options:{seed}")
        self.venue.dual.set_price(MARKET_ID, price_wad, dt=step_s // 2)
        self.list_series(price_wad, self.venue.dual.clock + max(1, steps // 2) * step_s - 600, rng)
        self.trade(price_wad, rng)

    def list_series(self, price_wad: int, expiry_s: int, rng: random.Random) -> None:
        """Two calls and a put expiring at ``expiry_s``: calls struck ≈ 5 % above the price and ≈ 2 % below
        it, the put ≈ 5 % below; full precision."""
        for name, kind, fraction in (("call OTM", InstrumentKind.Call, 105), ("call NTM", InstrumentKind.Call, 98),
                                     ("put OTM", InstrumentKind.Put, 95)):
            strike = mul_div(price_wad, fraction, 100, Rounding.Floor) + rng.randrange(1, WAD)
            sid = self.venue.add_series(self.owner, kind, strike, expiry_s)
            self.series.append(SeriesInfo(sid, f"{name} {strike / WAD:,.2f}", kind.name.lower(), strike, expiry_s))

    def trade(self, price_wad: int, rng: random.Random) -> None:
        """Marks, then HEDGED buys the perp from the MARKET MAKER, writes the OTM call to it and buys the OTM
        put from it, NAKED writes the NTM call to it (premiums: the mark value + a random amount inside the
        band); then the margins on both sides and every engine view while the options are held."""
        self.keeper_step()
        dual, venue, a = self.venue.dual, self.venue, self.accounts
        _expect(dual.fill(self.operator, MARKET_ID, a["hedged"], 0, a["market maker"], 0, HEDGED_SIZE_WAD, price_wad), "perp fill")
        trades = ((self.series[0], a["market maker"], a["hedged"], HEDGED_SIZE_WAD),  # (series, buyer, writer, size)
                  (self.series[1], a["market maker"], a["naked"], NAKED_SIZE_WAD),
                  (self.series[2], a["hedged"], a["market maker"], HEDGED_SIZE_WAD))
        for info, buyer, writer, size in trades:
            info.premium_wad = venue.mark_value(info.series_id) + rng.randrange(10**15, 10**18)
            _expect(venue.trade(self.operator, info.series_id, buyer, writer, size, info.premium_wad), "option trade")
            self.trade_count += 1
        self.margins = venue.margin_rows()
        self.views_compared, self.view_mismatches = dual.compare_views()

    def keeper_step(self) -> None:
        """Keeper: mark the perp and every unexpired option at the oracle price and a vol of ~60 %; past expiry
        settle the series in the book and every position in it."""
        venue = self.venue
        _expect(venue.op("book", "updateMark", self.owner, self.perp_series, _vol(0)), "mark perp")
        for info in self.series:
            if info.settled:
                continue
            if venue.dual.clock + 1 < info.expiry_s:  # the next operation's block time
                _expect(venue.op("book", "updateMark", self.owner, info.series_id, _vol(info.series_id)), "mark")
                continue
            _expect(venue.op("book", "settle", self.owner, info.series_id), "book settle")
            info.payoff_wad, info.settled = venue.py_book.series[info.series_id].payoff_wad, True
            for owner in venue.holders():
                if venue.py.option_size(owner, info.series_id):
                    _expect(venue.op("options", "settle", self.owner, owner, info.series_id), "position settle")
                    self.settlement_count += 1

    def role_of(self, owner: str) -> str:
        return next(role for role, address in self.accounts.items() if address == owner)


def _vol(series_id: int) -> int:
    """The keeper's implied vol for a series (WAD): ~60 %, full precision, a little skew per series."""
    return 612_345_678_901_234_567 + series_id * 12_345_678_901_234_567


def _expect(outcome, what: str) -> None:
    if not outcome.ok:
        raise RuntimeError(f"demo options step {what} reverted on both sides: {outcome.error}")
