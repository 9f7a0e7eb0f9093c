"""Stateful randomised parity: the deployed MarginEngine and the Python reference engine are driven
with the same operation sequences (hypothesis RuleBasedStateMachine) at the same block timestamps.
Every fill is a trade of two EIP-712 orders signed with the owners' keys: some flawed (forged
signature, limit, fee cap, side, market, size, expiry); orders also rest, larger than one fill, and
fill in parts until used up, expired or cancelled (one order, or all below a nonce).

After every step: the operation's outcome (events, or the revert's name and args) must be identical,
every view and stored value must be identical (tests/engine_support.DualEngine.check_views), and the
solvency slack of spec §5.6 must stay ≥ 0 and grow by less than 2·WAD per rounding; the running
aggregates of spec §5.11 (compared with the contract's ``aggregates()`` among the views) must equal
the sums recomputed from the accounts. (Checkpoint operations are compared in the directed
DualEngine tests, tests/test_engine_checkpoint.py: taking them here changes which outcomes the
fixed profiles reach.) Runs on the
embedded devnet, and on anvil with ``--anvil``. The default profile keeps to about a minute; the
``slow`` test runs a bigger one.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from engine_support import DualEngine, deploy_batch, fund
from pymargin.chain import devnet, tx
from pymargin.chain.engine_devnet import TX_GAS, default_markets, default_params, deploy_engine, order_signer
from pymargin.engine import book_aggregates
from pymargin.engine.orders import NEVER_EXPIRES as NEVER, sign_order
from pymargin.errors import Revert
from pymargin.fixedpoint import WAD, Rounding, mul_div, smul_div

SUBS = (0, 1)
N_USERS = 3
MAX_ROUNDINGS_PER_OP = 8  # a fill: per side, funding settlement + reduce (2) + flip open (1)
REQUIRED = {  # outcomes the default run must reach, or it did not test what it claims to
    "deposit", "withdraw", "transferCollateral", "trade", "liquidate", "setFundingRate", "accrueFunding",
    "InsufficientMargin", "StalePrice", "PriceOutsideBand", "InsufficientCollateral", "NotLiquidatable",
    "event:FundingSettled", "event:FundingAccrued", "event:PositionUpdated",
    "cancelOrder", "cancelOrdersBelow", "InvalidSignature", "OrderExpired", "OrderOverfill", "CancelledOrder",
    "event:OrderFilled",
}  # every other order error is reached too, less reliably; tests/test_engine_orders.py hits each one
ORDER_FLAWS = ("forged", "limit", "fee", "side", "market", "overfill", "expired")  # what a flawed fill gets wrong


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
        fund(self.dep, self.users, 10**20)
        self.batch = deploy_batch(chain, self.owner)
        e, u = self.dep.engine, [x.address for x in self.users]
        orders = order_signer(self.dep)
        for user in self.users:
            e.transact("deposit", 0, 50_000 * 10**6, sender=user, gas=TX_GAS)
            e.transact("deposit", 1, 5_000 * 10**6, sender=user, gas=TX_GAS)
        for market_id, a, b, size, price in [
            (0, (u[0], 0), (u[1], 0), 10 * WAD, 2000 * WAD),
            (1, (u[2], 0), (u[0], 0), WAD, 30000 * WAD),
            (2, (u[1], 1), (u[2], 0), 240 * WAD, 100 * WAD),  # isolated, near its initial margin
            (0, (u[0], 1), (u[2], 0), 24 * WAD, 2000 * WAD),  # isolated, near its initial margin
        ]:
            e.transact("trade", *orders.fill(market_id, *a, *b, size, price), sender=self.operator, gas=TX_GAS)
        self.snapshot = chain.snapshot()
        self.seen: Counter = Counter()

    def reset(self) -> None:
        self.chain.revert(self.snapshot)
        self.snapshot = self.chain.snapshot()


@pytest.fixture(scope="module")
def context(chain_session):
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
    """m · 10^e with m in 1..999 and e in [low_exp, high_exp]: every order of magnitude equally likely."""
    return st.builds(lambda m, e: m * 10**e, st.integers(1, 999), st.integers(low_exp, high_exp))


amount_tokens = mostly(log_uniform(0, 9), 0, 2**128)
amount_wad = mostly(log_uniform(12, 21), 0, 2**128)
account = st.tuples(st.integers(0, N_USERS - 1), st.sampled_from(SUBS))
market = st.integers(0, 2)
size_wad = mostly(st.builds(lambda mag, neg: -mag if neg else mag, log_uniform(13, 17), st.booleans()),
                  0, 2**94, -(2**94), 2**94 - 1)
dt = mostly(st.integers(1, 600), 3000, 3 * 86400)
order_size = st.builds(lambda mag, neg: -mag if neg else mag, st.integers(10**13, 10**19), st.booleans())  # full precision
fraction_wad = st.integers(1, WAD)  # a fraction of a remaining size, full precision (e.g. 0.318309886183790671)
ADMIN_ACTIONS = ("pause", "params", "role", "ownership", "insurance", "fees")


def make_machine(ctx: Context):
    class EngineMachine(RuleBasedStateMachine):
        """Random operation sequences on both engines."""

        def __init__(self):
            super().__init__()
            ctx.reset()
            self.d = DualEngine(ctx.dep, ctx.batch)
            for market_id, spec in enumerate(ctx.dep.specs):  # fresh prices at the example's start
                self.d.set_price(market_id, spec.price_wad)
            self.slack = self.d.py.solvency_slack()
            self.next_dt = 1
            self.dirty = True
            self.resting: list[tuple] = []  # signed order pairs (taker, sig, maker, sig) that can fill again

        # -- helpers --------------------------------------------------------------------------

        def run(self, fn, sender, *args):
            dt, self.next_dt = self.next_dt, 1
            outcome = self.d.op(fn, sender, *args, dt=dt)
            self.dirty = True
            ctx.seen[fn if outcome.ok else outcome.error[0]] += 1
            ctx.seen.update(f"event:{name}" for name, _ in outcome.events or ())
            slack = self.d.py.solvency_slack()
            assert slack >= self.slack, f"{fn}{args} created value: slack {self.slack} -> {slack}"
            assert slack - self.slack < 2 * WAD * MAX_ROUNDINGS_PER_OP, f"{fn}{args} destroyed value: {slack - self.slack}"
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
            m = self.d.py.state.markets[market_id]
            return self.d.py.oracles[m.oracle].latest_price()[0]

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
            band = self.d.py.state.markets[market_id].params.price_band_wad
            price = p + smul_div(p, band * band_permille, WAD * 1000, Rounding.Trunc)  # in the band for |permille| ≤ 1000
            return max(price + (wei if abs(band_permille) < 1000 else 0), 0)

        @rule(market_id=market, taker=account, maker=account, size=size_wad,
              band_permille=st.one_of(st.integers(-1000, 1000), st.sampled_from([-1001, 1001, -1000, 1000])),
              wei=st.integers(-3, 3), honest=st.integers(0, 9),
              flaw=st.integers(0, 9).flatmap(lambda r: st.sampled_from(ORDER_FLAWS) if r < 4 else st.none()))
        def trade(self, market_id, taker, maker, size, band_permille, wei, honest, flaw):
            """A fill of two fresh signed orders of exactly its size; four in ten with one flaw."""
            sender = ctx.operator if honest else ctx.stranger
            if flaw and maker == taker:  # let the flaw, not SelfTrade, be what the fill meets
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

        @rule(market_id=market, taker=account, maker=account, leverage_pct=st.integers(50, 120), short=st.booleans())
        def trade_at_max_leverage(self, market_id, taker, maker, leverage_pct, short):
            """A fill sized near the taker's initial-margin limit (what makes liquidations reachable)."""
            p = self.oracle_price(market_id)
            imf = self.d.py.state.markets[market_id].params.imf_wad
            try:
                free = self.d.py.free_collateral(*self.addr(taker))
            except Revert:
                return
            if p <= 0 or free <= 0:
                return
            size = free * WAD // p * WAD // imf * leverage_pct // 100  # non-negative operands
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
            if p <= 0:
                return
            self.d.set_price(market_id, p + smul_div(p, -pct if size > 0 else pct, 100, Rounding.Trunc), dt=self.next_dt)
            self.next_dt = 1
            self.dirty = True

        @rule(market_id=market, move_pct=st.integers(-25, 25), age=mostly(st.just(0), 10, 3601, 7200),
              bad=mostly(st.none(), 0, -WAD, 2**94))
        def set_price(self, market_id, move_pct, age, bad):
            p = self.oracle_price(market_id)
            moved = p + smul_div(p, move_pct, 100, Rounding.Trunc) if p > 0 else ctx.dep.specs[market_id].price_wad
            new = bad if bad is not None else max(moved, 10**10)
            self.d.set_price(market_id, new, self.d.clock + self.next_dt - age, dt=self.next_dt)
            self.next_dt = 1
            self.dirty = True

        @rule(market_id=market, rate=mostly(st.integers(-(10**12), 10**12), 10**12 + 1, -(10**12) - 1),
              honest=st.integers(0, 9))
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
        @rule(data=st.data(), fraction=st.sampled_from(["all", "half", "quarter", "too much"]),
              prefer_liquidatable=st.integers(0, 4), strong_liquidator=st.integers(0, 4))
        def liquidate(self, data, fraction, prefer_liquidatable, strong_liquidator):
            holders = [key for key, a in self.d.py.state.accounts.items() if a.positions]
            if prefer_liquidatable:
                holders = [h for h in holders if self._safe(self.d.py.is_liquidatable, h, False)] or holders
            owner, sub = data.draw(st.sampled_from(holders), label="target")
            market_id = data.draw(st.sampled_from(sorted(self.d.py.state.accounts[(owner, sub)].positions)), label="market")
            size = self.d.py.position(owner, sub, market_id)[0]
            num, den = {"all": (1, 1), "half": (1, 2), "quarter": (1, 4), "too much": (5, 4)}[fraction]
            size = smul_div(size, num, den, Rounding.Trunc)
            others = [k for k in self.d.py.state.accounts if k != (owner, sub)]
            if strong_liquidator:  # the account with the most free collateral
                others.sort(key=lambda k: self._safe(self.d.py.free_collateral, k, -1), reverse=True)
                liquidator = others[0] if others else (ctx.stranger.address, 0)
            else:
                liquidator = data.draw(st.sampled_from([*others, (owner, sub), (ctx.stranger.address, 0)]), label="liquidator")
            self.run("liquidate", ctx.by_address[liquidator[0]], liquidator[1], owner, sub, market_id, size)

        @rule(data=st.data(), action=st.sampled_from(ADMIN_ACTIONS), honest=st.integers(0, 5))
        def admin(self, data, action, honest):
            owner = self.owner_signer(bool(honest))
            if action == "pause":
                self.run("unpause" if self.d.py.state.paused else "pause", owner)
            elif action == "params":
                market_id = data.draw(mostly(market, 3), label="market")
                imf_pct = data.draw(st.sampled_from([5, 10, 20, 30, 0]), label="imf %")
                params = default_params(imf_wad=imf_pct * WAD // 100, mmf_wad=imf_pct * WAD // 200)
                self.run("setMarketParams", owner, market_id, tuple(params))
            elif action == "role":
                who = data.draw(st.sampled_from([ctx.stranger, *ctx.users]), label="account")
                role = data.draw(st.sampled_from(["setKeeper", "setOperator"]), label="role")
                self.run(role, owner, who.address, data.draw(st.booleans(), label="allowed"))
            elif action == "ownership":
                to = data.draw(st.sampled_from(ctx.signers), label="new owner")
                self.run("transferOwnership", owner, to.address)
                self.run("acceptOwnership", to if honest else ctx.stranger)
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


def test_engine_parity_random_sequences(context):
    """On the session chain (embedded by default): a small profile, every step compared."""
    context.seen.clear()
    _run(context, max_examples=5, steps=20)
    assert {"deposit", "trade", "InsufficientMargin"} <= set(context.seen), dict(context.seen)


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
