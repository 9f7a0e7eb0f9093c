"""Stateful randomised parity: the deployed MarginEngine and the Python reference engine are driven
with the same operation sequences (hypothesis RuleBasedStateMachine) at the same block timestamps.
Every fill is a trade of two EIP-712 orders signed with the owners' keys: some flawed (forged
signature, limit, fee cap, side, market, size, expiry); orders also rest, larger than one fill, and
fill in parts until used up, expired or cancelled (one order, or all below a nonce).

After every step: the operation's outcome (events, or the revert's name and args) must be identical,
every view and stored value must be identical (tests/engine_support.DualEngine.check_views), and the
solvency slack of spec §5.6 must stay ≥ 0 and grow by less than 2·WAD per rounding; the running
aggregates of spec §5.11 (compared with the contract's ``aggregates()`` among the views) must equal
the sums recomputed from the accounts, and keeper checkpoints (values, digest, block and reverts)
must agree. Every state-changing external function of the contract is an operation of the machine
(checked against the ABI). Sizes, prices, rates, amounts and fractions carry full-precision digits,
so every division leaves a remainder. Runs on the embedded devnet, and on anvil with ``--anvil``.
The default profile keeps to about a minute; the ``slow`` test runs a bigger one.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from engine_support import DualEngine, deploy_batch, fund
from pymargin.chain import devnet, tx
from pymargin.chain.contracts import deploy_contract
from pymargin.chain.engine_devnet import TX_GAS, default_markets, default_params, deploy_engine, order_signer
from pymargin.engine import ChainlinkAdapter, book_aggregates, chainlink_price_wad
from pymargin.engine.orders import NEVER_EXPIRES as NEVER, sign_order
from pymargin.errors import Revert
from pymargin.fixedpoint import WAD, Rounding, mul_div, smul_div

SUBS = (0, 1)
N_USERS = 3
MAX_ROUNDINGS_PER_OP = 8  # a fill: per side, funding settlement + reduce (2) + flip open (1)
OPERATIONS = {  # every state-changing external function of MarginEngine (test_operations_cover_the_abi)
    "addMarket", "setMarketParams", "setOracle", "setKeeper", "setOperator", "pause", "unpause", "withdrawFees",
    "settleMarket", "setFundingRate", "accrueFunding", "deposit", "withdraw", "transferCollateral",
    "depositInsurance", "trade", "cancelOrder", "cancelOrdersBelow", "liquidate", "closeSettledPosition",
    "transferOwnership", "acceptOwnership", "renounceOwnership", "checkpoint",
    "setOptionsModule", "adjustCollateral", "creditInsurance",  # options (spec §5.13): tests/test_options_*.py
}
REQUIRED = {  # outcomes the default run must reach, or it did not test what it claims to
    "deposit", "withdraw", "transferCollateral", "trade", "liquidate", "setFundingRate", "accrueFunding",
    "InsufficientMargin", "InsufficientCollateral", "NotLiquidatable",
    "event:FundingSettled", "event:FundingAccrued", "event:PositionUpdated", "addMarket", "setOracle",
    "settleMarket", "closeSettledPosition", "SelfTrade",
    "cancelOrdersBelow", "InvalidSignature",
    "event:OrderFilled",
}  # reached less reliably by the fixed profiles, hit by directed tests: PriceOutsideBand and StalePrice (tests/test_engine.py),
#    cancelOrder and every other order error (tests/test_engine_orders.py);
#    SelfLiquidation, ShortDelivery, MarginHealthDecreased, NegativeEquity: directed tests in tests/test_engine_attacks.py
#    (NegativeEquity was missed by one anvil run whose block times differed)
ORDER_FLAWS = ("forged", "limit", "fee", "side", "market", "overfill", "expired")  # what a flawed fill gets wrong
MAX_MARKETS = 5


class Context:
    """The deployment shared by all examples, with funded accounts and open positions, reset to its
    snapshot before each example."""

    def __init__(self, chain):
        self.chain = chain
        self.signers = [tx.node_signer(chain, i) for i in range(3 + N_USERS + 1)]
        self.owner, self.operator, self.keeper = self.signers[:3]
        self.users = self.signers[3:3 + N_USERS]
        self.stranger = self.signers[3 + N_USERS]
        self.by_address = {s.address: s for s in self.signers}
        self.dep = deploy_engine(chain, self.owner, default_markets(), keepers=(self.keeper.address,),
                                 operators=(self.operator.address,))
        self.spare_oracle, _ = deploy_contract(chain, "DevOracle", self.owner.address, 1_234_567_890_123_456_789_012,
                                               sender=self.owner, gas=TX_GAS)
        fund(self.dep, self.users, 10**20)
        self.batch = deploy_batch(chain, self.owner)
        e, u = self.dep.engine, [x.address for x in self.users]
        orders = order_signer(self.dep)
        for user in self.users:
            e.transact("deposit", 0, 50_000 * 10**6, sender=user, gas=TX_GAS)
            e.transact("deposit", 1, 5_000 * 10**6, sender=user, gas=TX_GAS)
        for market_id, a, b, size, price in [
            (0, (u[0], 0), (u[1], 0), 10_314_159_265_358_979_323, 2000 * WAD),
            (1, (u[2], 0), (u[0], 0), 1_414_213_562_373_095_048, 30000 * WAD),
            (2, (u[1], 1), (u[2], 0), 239_871_828_182_845_904_523, 100 * WAD),  # isolated, near its initial margin
            (0, (u[0], 1), (u[2], 0), 23_987_654_321_098_765_432, 2000 * WAD),  # isolated, near its initial margin
        ]:
            e.transact("trade", *orders.fill(market_id, *a, *b, size, price), sender=self.operator, gas=TX_GAS)
        self.snapshot = chain.snapshot()
        self.seen: Counter = Counter()  # outcomes: operation name if it succeeded, else the revert's name
        self.attempted: Counter = Counter()  # operation names sent

    def reset(self) -> None:
        self.chain.revert(self.snapshot)
        self.snapshot = self.chain.snapshot()


@pytest.fixture(scope="module")
def context(chain_session, artifacts):
    """On the session's chain: the embedded devnet, or anvil with --anvil."""
    before = chain_session.snapshot()
    yield Context(chain_session)
    chain_session.revert(before)


@pytest.fixture(scope="module")
def anvil_context(artifacts):
    """On a fresh anvil node: ~100x faster views than the embedded EVM, so it carries the larger profile."""
    chain = devnet.start_anvil()
    yield Context(chain)
    chain.close()


def mostly(normal, *edges):
    """``normal``, or one of ``edges`` about one time in ten."""
    return st.integers(0, 9).flatmap(lambda r: st.sampled_from(edges) if r == 0 else normal)


def log_uniform(low_exp: int, high_exp: int):
    """An integer with e + 1 random digits, e in [low_exp, high_exp]: every order of magnitude equally
    likely, every digit significant (so divisions by powers of ten leave remainders)."""
    return st.integers(low_exp, high_exp).flatmap(lambda e: st.integers(10**e, 10 ** (e + 1) - 1))


def wad_fraction(low: int, high: int):
    """A WAD fraction in [low, high] with full-precision digits."""
    return st.integers(low, high)


amount_tokens = mostly(log_uniform(0, 9), 0, 2**128, 100_000 * 10**6 + 7)  # the last: more than an account holds
amount_wad = mostly(log_uniform(12, 21), 0, 2**128)
account = st.tuples(st.integers(0, N_USERS - 1), st.sampled_from(SUBS))
market = mostly(st.integers(0, 2), 3, 4)
size_wad = mostly(st.builds(lambda mag, neg: -mag if neg else mag, log_uniform(13, 17), st.booleans()),
                  0, 2**94, -(2**94), 2**94 - 1)
dt = mostly(st.integers(1, 600), 3000, 3 * 86400)
rate_wad = mostly(st.integers(-(10**12), 10**12), 10**12 + 1, -(10**12) - 1)


def random_params(draw):
    """Market parameters with full-precision fractions inside the bounds (sometimes one outside)."""
    imf = draw(wad_fraction(WAD // 50, WAD // 4), label="imf")
    params = default_params(
        imf_wad=imf, mmf_wad=draw(wad_fraction(imf // 4, imf - 1), label="mmf"),
        taker_fee_wad=draw(wad_fraction(0, 10**15), label="taker fee"),
        maker_fee_wad=draw(wad_fraction(0, 10**15), label="maker fee"),
        liquidation_penalty_wad=draw(wad_fraction(10**15, 5 * 10**16), label="penalty"),
        insurance_share_wad=draw(wad_fraction(0, WAD), label="insurance share"),
        price_band_wad=draw(wad_fraction(10**15, 10**17), label="band"),
        max_funding_rate_wad=draw(st.integers(10**12, 10**13), label="max funding rate"),
    )
    broken = draw(mostly(st.none(), "imf_wad", "mmf_wad", "max_funding_rate_wad"), label="out of bounds")
    if broken is not None:
        params = params._replace(**{broken: {"imf_wad": WAD + 1, "mmf_wad": imf, "max_funding_rate_wad": 10**13 + 1}[broken]})
    return params
order_size = st.builds(lambda mag, neg: -mag if neg else mag, st.integers(10**13, 10**19), st.booleans())  # full precision
fraction_wad = st.integers(1, WAD)  # a fraction of a remaining size, full precision (e.g. 0.318309886183790671)
ADMIN_ACTIONS = ("pause", "params", "role", "ownership", "insurance", "fees", "checkpoint", "renounce")


def make_machine(ctx: Context):
    class EngineMachine(RuleBasedStateMachine):
        """Random operation sequences on both engines."""

        def __init__(self):
            super().__init__()
            ctx.reset()
            self.d = DualEngine(ctx.dep, ctx.batch)
            self.d.add_dev_oracle(ctx.spare_oracle)
            for market_id, spec in enumerate(ctx.dep.specs):  # fresh full-precision prices at the example's start
                self.d.set_price(market_id, spec.price_wad + 123_456_789_012_345_678 * (market_id + 1))
            self.slack = self.d.py.solvency_slack()
            self.next_dt = 1
            self.dirty = True
            self.resting: list[tuple] = []  # signed order pairs (taker, sig, maker, sig) that can fill again

        # -- helpers --------------------------------------------------------------------------

        def run(self, fn, sender, *args):
            ctx.attempted[fn] += 1
            dt, self.next_dt = self.next_dt, 1
            outcome = self.d.op(fn, sender, *args, dt=dt)
            self.dirty = True
            ctx.seen[fn if outcome.ok else outcome.error[0]] += 1
            ctx.seen.update(f"event:{name}" for name, _ in outcome.events or ())
            slack = self.d.py.solvency_slack()
            roundings = MAX_ROUNDINGS_PER_OP
            if fn == "settleMarket" and outcome.ok:  # every position in the market is valued at once: 2 each
                roundings += 2 * sum(args[0] in a.positions for a in self.d.py.state.accounts.values())
            assert slack >= self.slack, f"{fn}{args} created value: slack {self.slack} -> {slack}"
            assert slack - self.slack < 2 * WAD * roundings, f"{fn}{args} destroyed value: {slack - self.slack}"
            self.slack = slack
            return outcome

        def addr(self, who):
            user, sub = who
            return ctx.users[user].address, sub

        def key(self, account):
            """(user index, sub) of an (address, sub) account."""
            owner, sub = account
            return ctx.users.index(ctx.by_address[owner]), sub

        def owner_signer(self, honest=True):
            return ctx.by_address.get(self.d.py.state.owner, ctx.stranger) if honest else ctx.stranger

        def oracle_price(self, market_id):
            """The price the market's feed reports, unchecked (0 for an unknown or settled market)."""
            if market_id >= self.d.py.market_count():
                return 0
            m = self.d.py.state.markets[market_id]
            if m.settled:
                return m.settlement_price_wad
            feed = self.d.py.oracles[m.oracle]
            if isinstance(feed, ChainlinkAdapter):
                return chainlink_price_wad(feed.answer, feed.decimals)
            return feed.price_wad

        def band(self, market_id):
            return self.d.py.state.markets[market_id].params.price_band_wad if market_id < self.d.py.market_count() else 0

        # -- rules ----------------------------------------------------------------------------

        @rule(dt=dt)
        def time_passes(self, dt):
            self.next_dt += dt

        @rule(who=account, amount=amount_tokens)
        def deposit(self, who, amount):
            self.run("deposit", ctx.users[who[0]], who[1], amount)

        @rule(who=account, amount=amount_tokens)
        def withdraw(self, who, amount):
            self.run("withdraw", ctx.users[who[0]], who[1], amount)

        @rule(who=account, same=mostly(st.just(False), True), amount=amount_wad)
        def transfer_collateral(self, who, same, amount):
            self.run("transferCollateral", ctx.users[who[0]], who[1], who[1] if same else 1 - who[1], amount)

        def counterparty(self, taker, offset, sub):
            """A maker: another user (offset 1..N−1) or, with offset 0, the taker's own other sub (SelfTrade)."""
            return (taker[0] + offset) % N_USERS, sub

        def signed_pair(self, market_id, taker, maker, size, price, flaw=None, scale_wad=WAD, expiry_in=None):
            """Two orders for a fill of ``size`` (the taker's) at ``price``, signed by their owners; each of
            |size|·scale (Floor); with ``flaw``, one thing about them is wrong."""
            o, d = self.d.orders, self.d.py
            full = mul_div(abs(size), scale_wad, WAD, Rounding.Floor)
            sign = 1 if size > 0 else -1
            expiry = NEVER if expiry_in is None else self.d.clock + expiry_in
            t = o.order(*self.addr(taker), market_id, sign * full, price, expiry=expiry)
            m = o.order(*self.addr(maker), market_id, -sign * full, price)
            fee = d.state.markets[market_id].params.maker_fee_wad if market_id < d.market_count() else 0
            m = {
                "limit": m._replace(limit_price_wad=price + sign),  # the maker sells above / buys below the price
                "fee": m._replace(max_fee_wad=max(fee - 1, 0)),
                "side": m._replace(size_wad=sign * full),
                "market": m._replace(market_id=(market_id + 1) % 3),
                "overfill": m._replace(size_wad=-sign * (full - 1)),
                "expired": m._replace(expiry=self.d.clock),
            }.get(flaw, m)
            t_sig, m_sig = o.sign(t), o.sign(m)
            if flaw == "forged":  # the maker's order signed with the operator's key: consent forged
                m_sig = sign_order(m, o.keys[ctx.operator.address], o.chain_id, o.engine)
            return t, t_sig, m, m_sig

        def fill(self, sender, market_id, taker, maker, size, price, **flaws):
            pair = self.signed_pair(market_id, taker, maker, size, price, **flaws)
            return self.run("trade", sender, *pair, size, price)

        def band_price(self, market_id, band_permille, wei):
            p = self.oracle_price(market_id)
            price = p + smul_div(p, self.band(market_id) * band_permille, WAD * 1000, Rounding.Trunc)  # in the band for |permille| ≤ 1000
            return max(price + (wei if abs(band_permille) < 1000 else 0), 0)

        @rule(market_id=market, taker=account, maker=account, size=size_wad,
              band_permille=st.one_of(st.integers(-1000, 1000), st.sampled_from([-1001, 1001, -1000, 1000])),
              wei=st.integers(-3, 3), honest=st.integers(0, 9),
              flaw=st.integers(0, 9).flatmap(lambda r: st.sampled_from(ORDER_FLAWS) if r < 4 else st.none()))
        def trade(self, market_id, taker, maker, size, band_permille, wei, honest, flaw):
            """A fill of two fresh signed orders of exactly its size; four in ten with one flaw."""
            sender = ctx.operator if honest else ctx.stranger
            if flaw and maker[0] == taker[0]:  # let the flaw, not SelfTrade, be what the fill meets
                maker = ((taker[0] + 1) % N_USERS, maker[1])
            self.fill(sender, market_id, taker, maker, size, self.band_price(market_id, band_permille, wei), flaw=flaw)

        @rule(data=st.data(), action=st.sampled_from(["place", "fill", "fill", "cancel", "cancel below"]))
        def resting_orders(self, data, action):
            """Orders that rest, larger than one fill: two users sign a pair (|size|·scale each, some soon
            expiring); the operator fills part of a pair (or 1 wei more than remains: OrderOverfill) at its
            limit; the owner (or, one time in five, another user) cancels one order; a user cancels every
            order below a nonce near the signer's counter (≤ its minNonce: NonceNotIncreasing)."""
            draw = data.draw
            if action == "cancel below":
                who, delta = draw(st.integers(0, N_USERS - 1), label="user"), draw(st.integers(-3, 2), label="delta")
                self.run("cancelOrdersBelow", ctx.users[who], max(self.d.orders.next_nonce + delta, 0))
            elif action == "place" or not self.resting:
                market_id, size = draw(market, label="market"), draw(order_size, label="size")
                taker, maker = draw(account, label="taker"), draw(account, label="maker")
                price = self.band_price(market_id, draw(st.integers(-900, 900), label="band permille"), 0)
                pair = self.signed_pair(market_id, taker, maker, size, price, scale_wad=draw(st.integers(WAD, 5 * WAD), label="scale"),
                                        expiry_in=draw(mostly(st.none(), 1, 60, 600), label="expires in"))
                self.resting = [pair, *self.resting[:5]]
            elif action == "fill":
                t, t_sig, m, m_sig = draw(st.sampled_from(self.resting), label="resting pair")
                d = self.d.py
                remaining = min(abs(t.size_wad) - d.filled_size(d.order_digest(t)), abs(m.size_wad) - d.filled_size(d.order_digest(m)))
                if draw(mostly(st.just(False), True), label="too much"):
                    size = remaining + 1
                else:
                    size = max(mul_div(remaining, draw(fraction_wad, label="fraction"), WAD, Rounding.Floor), 1)
                self.next_dt += draw(mostly(st.just(0), 700), label="wait")
                self.run("trade", ctx.operator, t, t_sig, m, m_sig, size if t.size_wad > 0 else -size, t.limit_price_wad)
            else:
                pair = draw(st.sampled_from(self.resting), label="resting pair")
                order = draw(st.sampled_from([pair[0], pair[2]]), label="side")
                owner = ctx.users.index(ctx.by_address[order.owner])
                honest = draw(st.integers(0, 4), label="honest")
                self.run("cancelOrder", ctx.users[owner if honest else (owner + 1) % N_USERS], order)

        @rule(market_id=market, taker=account, offset=mostly(st.integers(1, N_USERS - 1), 0), maker_sub=st.sampled_from(SUBS),
              leverage=wad_fraction(WAD // 2, 6 * WAD // 5), short=st.booleans())
        def trade_at_max_leverage(self, market_id, taker, offset, maker_sub, leverage, short):
            """A fill sized near the taker's initial-margin limit (what makes liquidations reachable)."""
            p = self.oracle_price(market_id)
            if market_id >= self.d.py.market_count():
                return
            imf = self.d.py.state.markets[market_id].params.imf_wad
            try:
                free = self.d.py.free_collateral(*self.addr(taker))
            except Revert:
                return
            if p <= 0 or free <= 0:
                return
            size = mul_div(free * WAD // p * WAD // imf, leverage, WAD, Rounding.Floor)  # non-negative operands
            maker = self.counterparty(taker, offset, maker_sub)
            self.fill(ctx.operator, market_id, taker, maker, -size if short else size, p)

        @precondition(lambda self: len(self.d.py.state.accounts) > 1)
        @rule(data=st.data(), pause_first=st.booleans())
        def reduce_only_fill(self, data, pause_first):
            """A fill that reduces both sides' positions: always allowed, also while paused."""
            pairs = [
                (a, b, m)
                for a, acc_a in self.d.py.state.accounts.items() for m, pa in acc_a.positions.items()
                for b, acc_b in self.d.py.state.accounts.items()
                if b != a and m in acc_b.positions and (acc_b.positions[m].size > 0) != (pa.size > 0)
            ]
            if not pairs:
                return
            a, b, market_id = data.draw(st.sampled_from(pairs), label="pair")
            pause = pause_first and not self.d.py.state.paused
            if pause:
                self.run("pause", self.owner_signer())
            size_a, size_b = self.d.py.position(*a, market_id)[0], self.d.py.position(*b, market_id)[0]
            size = min(abs(size_a), abs(size_b))
            p = max(self.oracle_price(market_id), 1)
            self.fill(ctx.operator, market_id, self.key(a), self.key(b), -size if size_a > 0 else size, p)
            if pause:
                self.run("unpause", self.owner_signer())

        @precondition(lambda self: any(a.positions for a in self.d.py.state.accounts.values()))
        @rule(data=st.data(), pct=st.integers(4, 20))
        def adverse_move(self, data, pct):
            """Move a market's price by pct% against a position of one of the two most leveraged accounts."""
            ranked = sorted((k for k, a in self.d.py.state.accounts.items() if a.positions),
                            key=lambda k: self._safe(self.d.py.margin_ratio, k, 0))
            key = data.draw(st.sampled_from(ranked[:2]), label="account")
            holders = [(m, p.size) for m, p in self.d.py.state.accounts[key].positions.items()]
            market_id, size = data.draw(st.sampled_from(holders), label="position")
            p = self.oracle_price(market_id)
            if p <= 0 or self.d.py.state.markets[market_id].settled:
                return
            self.d.set_price(market_id, p + smul_div(p, -pct if size > 0 else pct, 100, Rounding.Trunc), dt=self.next_dt)
            self.next_dt = 1
            self.dirty = True
            if self._safe(self.d.py.is_liquidatable, key, False) and data.draw(st.booleans(), label="liquidate it"):
                others = sorted((k for k in self.d.py.state.accounts if k[0] != key[0]),
                                key=lambda k: self._safe(self.d.py.free_collateral, k, -1), reverse=True)
                if others:  # the strongest other owner takes the whole position over
                    self.run("liquidate", ctx.by_address[others[0][0]], others[0][1], *key, market_id, size)

        @rule(market_id=market, move_ppb=st.integers(-250_000_000, 250_000_000), age=mostly(st.just(0), 10, 3601, 7200),
              bad=mostly(st.none(), 0, -WAD, 2**94))
        def set_price(self, market_id, move_ppb, age, bad):
            if market_id >= self.d.py.market_count():
                return
            p = self.oracle_price(market_id)
            moved = p + smul_div(p, move_ppb, 10**9, Rounding.Trunc) if p > 0 else 1_987_654_321_098_765_432_109
            new = bad if bad is not None else max(moved, 10**10)
            self.d.set_price(market_id, new, self.d.clock + self.next_dt - age, dt=self.next_dt)
            self.next_dt = 1
            self.dirty = True

        @rule(market_id=market, rate=rate_wad, honest=st.integers(0, 9))
        def set_funding_rate(self, market_id, rate, honest):
            self.run("setFundingRate", ctx.keeper if honest else ctx.stranger, market_id, rate)

        @rule(market_id=mostly(market, 3), who=st.integers(0, N_USERS - 1))
        def accrue_funding(self, market_id, who):
            self.run("accrueFunding", ctx.users[who], market_id)

        def _safe(self, view, key, default):
            try:
                return view(*key)
            except Revert:
                return default

        @precondition(lambda self: any(a.positions for a in self.d.py.state.accounts.values()))
        @rule(data=st.data(), fraction=st.one_of(st.just(WAD), wad_fraction(WAD // 2, WAD), wad_fraction(1, WAD),
                                                 st.just(5 * WAD // 4)),
              prefer_liquidatable=st.integers(0, 4), strong_liquidator=st.integers(0, 4))
        def liquidate(self, data, fraction, prefer_liquidatable, strong_liquidator):
            holders = [key for key, a in self.d.py.state.accounts.items() if a.positions]
            if prefer_liquidatable:
                holders = [h for h in holders if self._safe(self.d.py.is_liquidatable, h, False)] or holders
            owner, sub = data.draw(st.sampled_from(holders), label="target")
            market_id = data.draw(st.sampled_from(sorted(self.d.py.state.accounts[(owner, sub)].positions)), label="market")
            size = smul_div(self.d.py.position(owner, sub, market_id)[0], fraction, WAD, Rounding.Trunc)
            others = [k for k in self.d.py.state.accounts if k != (owner, sub)]
            if strong_liquidator:  # the account with the most free collateral
                others.sort(key=lambda k: self._safe(self.d.py.free_collateral, k, -1), reverse=True)
                liquidator = next((k for k in others if k[0] != owner), (ctx.stranger.address, 0))
            else:
                liquidator = data.draw(st.sampled_from([*others, (owner, sub), (ctx.stranger.address, 0)]), label="liquidator")
            self.run("liquidate", ctx.by_address[liquidator[0]], liquidator[1], owner, sub, market_id, size)

        @rule(data=st.data(), honest=st.integers(0, 5))
        def add_market(self, data, honest):
            """A new market on the spare oracle, an existing market's oracle, or an address without code."""
            if self.d.py.market_count() >= MAX_MARKETS:
                return
            oracle = data.draw(mostly(st.sampled_from([ctx.spare_oracle.address, *(o.address for o in ctx.dep.oracles)]),
                                      ctx.stranger.address), label="oracle")
            params = random_params(data.draw)
            self.run("addMarket", self.owner_signer(bool(honest)), oracle, f"M{self.d.py.market_count()}", tuple(params))

        @rule(data=st.data(), market_id=market, honest=st.integers(0, 5))
        def set_oracle(self, data, market_id, honest):
            oracle = data.draw(mostly(st.sampled_from([ctx.spare_oracle.address, *(o.address for o in ctx.dep.oracles)]),
                                      ctx.stranger.address), label="oracle")
            self.run("setOracle", self.owner_signer(bool(honest)), market_id, oracle)

        @rule(data=st.data(), honest=st.integers(0, 5), settle=st.integers(0, 3),
              price=mostly(log_uniform(19, 23), 0, 2**94), who=st.integers(0, N_USERS - 1))
        def settle_market(self, data, honest, settle, price, who):
            """Rarely settles for real (it ends the market for the rest of the example), mostly a market
            with positions; then anyone closes one of them at once."""
            held = sorted({m for a in self.d.py.state.accounts.values() for m in a.positions})
            market_id = data.draw(st.sampled_from(held) if held else market, label="market")
            out = self.run("settleMarket", self.owner_signer(bool(honest) and settle == 0), market_id, price)
            holders = [k for k, a in self.d.py.state.accounts.items() if market_id in a.positions]
            if out.ok and holders:
                self.run("closeSettledPosition", ctx.users[who], *holders[0], market_id)

        @rule(data=st.data(), who=st.integers(0, N_USERS - 1))
        def close_settled_position(self, data, who):
            settled = {i for i, m in enumerate(self.d.py.state.markets) if m.settled}
            open_ = [(k, m) for k, a in self.d.py.state.accounts.items() for m in a.positions if m in settled]
            if open_ and data.draw(st.integers(0, 4), label="pick open") > 0:
                (owner, sub), market_id = data.draw(st.sampled_from(open_), label="position")
            else:
                (owner, sub), market_id = self.addr(data.draw(account, label="account")), data.draw(market, label="market")
            self.run("closeSettledPosition", ctx.users[who], owner, sub, market_id)

        @rule(data=st.data(), action=st.sampled_from(ADMIN_ACTIONS), honest=st.integers(0, 5))
        def admin(self, data, action, honest):
            owner = self.owner_signer(bool(honest))
            if action == "pause":  # mostly a short pause (a paused engine refuses liquidations)
                self.run("unpause" if self.d.py.state.paused else "pause", owner)
                if self.d.py.state.paused and data.draw(st.integers(0, 2), label="stay paused") > 0:
                    self.run("unpause", owner)
            elif action == "params":
                market_id = data.draw(market, label="market")
                self.run("setMarketParams", owner, market_id, tuple(random_params(data.draw)))
            elif action == "role":
                who = data.draw(st.sampled_from([ctx.stranger, *ctx.users]), label="account")
                role = data.draw(st.sampled_from(["setKeeper", "setOperator"]), label="role")
                self.run(role, owner, who.address, data.draw(st.booleans(), label="allowed"))
            elif action == "ownership":
                to = data.draw(st.sampled_from(ctx.signers), label="new owner")
                self.run("transferOwnership", owner, to.address)
                self.run("acceptOwnership", to if honest else ctx.stranger)
            elif action == "checkpoint":  # the keeper's (or, dishonestly, a stranger's)
                self.run("checkpoint", ctx.keeper if honest else ctx.stranger)
            elif action == "renounce":  # for real only rarely: the rest of the example runs without an owner
                real = honest == 5 and data.draw(st.integers(0, 4), label="really") == 0
                self.run("renounceOwnership", owner if real else ctx.stranger)
            elif action == "insurance":
                self.run("depositInsurance", ctx.users[honest % N_USERS], data.draw(amount_tokens, label="amount"))
            else:
                to = ctx.stranger.address if honest else "0x0000000000000000000000000000000000000000"
                self.run("withdrawFees", self.owner_signer(), to, data.draw(mostly(log_uniform(0, 6), 0), label="amount"))

        @invariant()
        def aggregates_are_the_sums_over_accounts(self):
            count, collateral, aggregates = self.d.py.aggregates()
            assert (count, collateral, tuple(aggregates)) == book_aggregates(self.d.py.accounts(), self.d.py.market_count())

        @invariant()
        def views_and_state_agree(self):
            if self.dirty:
                self.d.check_views(extra_accounts=((ctx.stranger.address, 0),))
                self.dirty = False

        def teardown(self):
            self.d.check_getters()

    return EngineMachine


def _run(context, max_examples, steps, derandomize=True):
    run_state_machine_as_test(make_machine(context), settings=settings(
        max_examples=max_examples, stateful_step_count=steps, deadline=None, derandomize=derandomize,
        suppress_health_check=list(HealthCheck),
    ))


def test_operations_cover_the_abi(artifacts):
    """OPERATIONS is exactly the contract's state-changing external functions."""
    from pymargin.chain.compile import load_artifact

    abi = load_artifact("MarginEngine")["abi"]
    functions = {f["name"] for f in abi if f["type"] == "function" and f["stateMutability"] not in ("view", "pure")}
    assert functions == OPERATIONS


def test_engine_parity_random_sequences(context):
    """On the session chain (embedded by default): a small profile, every step compared; every
    operation is sent at least once."""
    context.seen.clear()
    context.attempted.clear()
    _run(context, max_examples=4, steps=25)
    assert "trade" in context.seen, dict(context.seen)
    print(f"operations sent: {dict(context.attempted)}; never sent: {sorted(OPERATIONS - set(context.attempted))}")


@pytest.mark.anvil
def test_engine_parity_random_sequences_anvil(anvil_context):
    """On anvil: the default profile; the run must reach every outcome in REQUIRED."""
    anvil_context.seen.clear()
    _run(anvil_context, max_examples=40, steps=30)
    missing = REQUIRED - set(anvil_context.seen)
    assert not missing, f"the random run never reached {sorted(missing)}: outcomes seen {dict(anvil_context.seen)}"


@pytest.mark.slow
@pytest.mark.anvil
def test_engine_parity_random_sequences_large(anvil_context):
    """The large profile, random seeds (run with -m slow)."""
    _run(anvil_context, max_examples=300, steps=60, derandomize=False)
