"""Checkpoints, running aggregates and the owner-fee rule (docs/spec.md §5.2, §5.11).

Chain scenarios run on the deployed contract AND the Python engine in lockstep (DualEngine: same
outcome, same events — the CheckpointData included — same views). The aggregate identity of
§5.11 is tested on random books built by the Python engine from full-precision operations.
"""

from __future__ import annotations

import random

import pytest
from eth_account import Account as EthAccount
from eth_utils import keccak, to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_support import deploy_batch, err, fund, mirror_at_deploy, ok
from pymargin import margin
from pymargin.chain import tx
from pymargin.chain.engine_devnet import default_markets, default_params, deploy_engine
from pymargin.engine import CheckpointData, DevOracle, Engine, OrderSigner, book_aggregates, checkpoint_digest
from pymargin.engine.checkpoint import decode_checkpoint, encode_checkpoint
from pymargin.errors import Revert
from pymargin.fixedpoint import WAD
from pymargin.model import MarketView

USD = 10**6
SCALE = 10**12


class System:
    def __init__(self, chain):
        signers = [tx.node_signer(chain, i) for i in range(8)]
        self.owner, self.operator, self.keeper, self.u1, self.u2, self.u3, self.u4, self.stranger = signers
        self.dep = deploy_engine(chain, self.owner, default_markets(), keepers=(self.keeper.address,),
                                 operators=(self.operator.address,))
        fund(self.dep, [self.u1, self.u2, self.u3, self.u4], 10**12 * USD)
        self.batch = deploy_batch(chain, self.owner)


@pytest.fixture(scope="module")
def system(chain_session, artifacts):
    before = chain_session.snapshot()
    yield System(chain_session)
    chain_session.revert(before)


@pytest.fixture
def sys_(system, chain):
    return mirror_at_deploy(system)


def liabilities(engine: Engine) -> int:
    """L = Σ max(equity, 0) over every account at the engine's current views."""
    return sum(max(engine.equity(owner, sub), 0) for owner, sub in engine.state.accounts)


def test_fees_cannot_be_withdrawn_while_bad_debt_is_outstanding(sys_):
    """Attack: bad debt is recorded, then trading fees exceed it, and the owner withdraws every accrued
    fee. Before the fix the withdrawal succeeded and left the vault below what users can claim (L);
    now fees first cover bad debt (InsufficientFees(ownerFees, amount)) and reserves − ownerFees ≥ L."""
    s, d = sys_, sys_.d
    a, liq, c = s.u1.address, s.u2.address, s.u3.address
    ok(d.op("deposit", s.u1, 1, 5_000 * USD))
    ok(d.op("deposit", s.u2, 0, 10**6 * USD))
    ok(d.op("deposit", s.u3, 0, 10**6 * USD))
    ok(d.fill(s.operator, 0, a, 1, c, 0, 24 * WAD + 271828182845904523, 2000 * WAD))
    d.set_price(0, 1500 * WAD)  # a crash: the isolated account is under water
    ok(d.op("liquidate", s.u2, 0, a, 1, 0, 24 * WAD + 271828182845904523))
    fees, bad = d.py.accrued_fees(), d.py.bad_debt()
    assert 0 < fees < bad and d.py.owner_fees_wad() == 0 == d.contract.call("ownerFeesWad")
    err(d.op("withdrawFees", s.owner, s.u4.address, 1), "InsufficientFees", 0, SCALE)
    # wash trades at the oracle price pay fees until they exceed the bad debt
    for i in range(12):
        ok(d.fill(s.operator, 0, liq, 0, c, 0, (1 if i % 2 else -1) * (1000 * WAD + 314159265358979323), 1500 * WAD))
    fees = d.py.accrued_fees()
    owner_fees = fees - d.py.bad_debt()
    assert owner_fees > 0 and d.py.owner_fees_wad() == owner_fees == d.contract.call("ownerFeesWad")
    users_claim = liabilities(d.py)
    assert d.py.reserves_wad() - fees < users_claim  # what withdrawing every fee would leave: users short
    err(d.op("withdrawFees", s.owner, s.u4.address, fees // SCALE), "InsufficientFees", owner_fees, fees // SCALE * SCALE)
    err(d.op("withdrawFees", s.owner, s.u4.address, owner_fees // SCALE + 1), "InsufficientFees", owner_fees,
        (owner_fees // SCALE + 1) * SCALE)
    ok(d.op("withdrawFees", s.owner, s.u4.address, owner_fees // SCALE))
    assert 0 <= d.py.owner_fees_wad() < SCALE
    assert d.py.reserves_wad() - d.py.owner_fees_wad() >= liabilities(d.py)  # the registry's check holds
    d.check_views()


def test_checkpoint_records_accrued_markets_aggregates_and_vault(sys_):
    s, d = sys_, sys_.d
    a, b, c = s.u1.address, s.u2.address, s.u3.address
    err(d.op("checkpoint", s.stranger), "NotKeeper", s.stranger.address)
    events = ok(d.op("checkpoint", s.keeper))  # an empty engine: zero aggregates
    empty = CheckpointData.from_abi(events[-1][1]["data"])
    assert empty.id == 1 and empty.account_count == 0 and all(x.long_size_wad == 0 for x in empty.aggregates)
    ok(d.op("deposit", s.u1, 0, 100_000 * USD + 17))
    ok(d.op("deposit", s.u2, 0, 100_000 * USD + 3))
    ok(d.op("deposit", s.u3, 1, 7_000 * USD + 1))
    ok(d.op("depositInsurance", s.u4, 55 * USD))
    ok(d.op("setFundingRate", s.keeper, 0, 10**11 + 7))
    ok(d.op("setFundingRate", s.keeper, 2, -(10**11) - 9))
    for market_id, price in ((0, 2000), (1, 30000), (2, 100)):
        ok(d.fill(s.operator, market_id, a, 0, b, 0, 3 * WAD + 141421356237309504, price * WAD, dt=37))
    ok(d.fill(s.operator, 2, c, 1, a, 0, -(40 * WAD + 173205080756887729), 100 * WAD))
    ok(d.op("withdraw", s.u2, 0, 1_234 * USD))
    d.set_price(0, 2049 * WAD + 123456789)
    events = ok(d.op("checkpoint", s.keeper, dt=601))
    accrued = [args for name, args in events if name == "FundingAccrued"]
    assert [e["marketId"] for e in accrued] == [0, 1, 2]  # every market accrued to now, in order
    (name, args), data = events[-1], CheckpointData.from_abi(events[-1][1]["data"])
    assert name == "CheckpointTaken" and args["id"] == data.id == 2 == d.contract.call("checkpointCount")
    assert data.timestamp == d.clock and data.block_number == d.chain.w3.eth.block_number
    assert data.markets == tuple(MarketView(*d.contract.call("marketView", i)) for i in range(3))
    assert data.markets[0].funding_index_wad == accrued[0]["fundingIndexWad"] != 0
    count, collateral, aggregates = book_aggregates(d.py.accounts(), 3)
    assert (data.account_count, data.collateral_sum_wad, data.aggregates) == (count, collateral, aggregates) == (
        3, sum(d.contract.call("collateral", o, sub) for o, sub in d.py.state.accounts), aggregates)
    assert [x.long_size_wad for x in aggregates] == [d.py.market_state(i)[5] for i in range(3)]
    token_balance = d.dep.token.call("balanceOf", d.contract.address)
    assert data.vault_balance_wad == token_balance * SCALE
    assert (data.accrued_fees_wad, data.insurance_fund_wad, data.bad_debt_wad) == (
        d.py.accrued_fees(), 55 * USD * SCALE, 0)
    # the stored digest is keccak256(abi.encode(data)), recomputed here with eth-abi from the decoded event
    assert bytes(d.contract.call("checkpointHash", 2)) == checkpoint_digest(data) == keccak(encode_checkpoint(data))
    assert decode_checkpoint(encode_checkpoint(data)) == data
    assert d.contract.call("checkpointBlock", 2) == data.block_number == d.py.checkpoint_block(2)
    for bad_id in (0, 3, 2**256 - 1):
        with pytest.raises(Revert) as py_err:
            d.py.checkpoint_hash(bad_id)
        assert (py_err.value.name, py_err.value.args_) == ("UnknownCheckpoint", (bad_id,))
    # a stale price blocks a checkpoint, all or nothing
    stale = d.clock - 4000
    d.set_price(1, 30000 * WAD, updated_at=stale)
    outcome = d.op("checkpoint", s.keeper)
    err(outcome, "StalePrice", 1, stale, d.clock)
    assert d.py.checkpoint_count() == 2
    d.check_views()


def test_checkpoint_is_allowed_while_paused_and_aggregates_follow_bad_debt(sys_):
    s, d = sys_, sys_.d
    a, c = s.u1.address, s.u3.address
    ok(d.op("deposit", s.u1, 1, 5_000 * USD))
    ok(d.op("deposit", s.u2, 0, 10**6 * USD))
    ok(d.op("deposit", s.u3, 0, 10**6 * USD))
    ok(d.fill(s.operator, 0, a, 1, c, 0, 24 * WAD + 577215664901532860, 2000 * WAD))
    d.set_price(0, 1500 * WAD)
    ok(d.op("liquidate", s.u2, 0, a, 1, 0, 24 * WAD + 577215664901532860))
    assert d.py.bad_debt() > 0 and d.py.collateral(a, 1) == 0
    ok(d.op("pause", s.owner))
    data = CheckpointData.from_abi(ok(d.op("checkpoint", s.keeper))[-1][1]["data"])
    assert data.bad_debt_wad == d.py.bad_debt() and data.owner_fees_wad() == d.py.owner_fees_wad() == 0
    assert book_aggregates(d.py.accounts(), 3) == (data.account_count, data.collateral_sum_wad, data.aggregates)
    d.check_views()


# -- the aggregate identity (spec §5.11), on random books -------------------------------------------

OWNER, OPERATOR, KEEPER = (to_checksum_address(f"0x{i:040x}") for i in (0xA1, 0xA2, 0xA3))
USER_KEYS = [keccak(f"checkpoint-test-user-{i}".encode()) for i in range(5)]
USERS = [to_checksum_address(EthAccount.from_key(k).address) for k in USER_KEYS]
ENGINE_ADDRESS = to_checksum_address("0x" + "e1" * 20)
ORACLES = [to_checksum_address(f"0x{0xC0 + i:040x}") for i in range(4)]
T0 = 1_700_000_000


def equity_identity_gap(engine: Engine, views: dict[int, MarketView]) -> tuple[int, int]:
    """(WAD·(Σ collateral − Σ cost) + Σ size·f − WAD·Σ equity, accounts holding a position), from the
    engine's aggregates and the accounts' equity at ``views`` (any prices and funding indices)."""
    _, collateral, aggregates = engine.aggregates()
    cost = sum(x.cost_basis_wad for x in aggregates)
    size_funding = sum(x.size_funding_wad2 for x in aggregates)
    total_equity = sum(margin.equity(a.collateral, list(a.positions.values()), views) for a in engine.accounts())
    holders = sum(1 for a in engine.accounts() if a.positions)
    return WAD * (collateral - cost) + size_funding - WAD * total_equity, holders


def random_engine(rng: random.Random, steps: int) -> Engine:
    """A Python engine after ``steps`` random full-precision operations (reverted ones skipped)."""
    e = Engine("0x" + "ee" * 20, 6, OWNER, now=T0, chain_id=1, address=ENGINE_ADDRESS)
    orders = OrderSigner(1, ENGINE_ADDRESS, dict(zip(USERS, USER_KEYS)))
    for i, oracle in enumerate(ORACLES):
        e.oracles[oracle] = DevOracle((10 ** rng.randint(1, 4)) * WAD + rng.randrange(WAD), T0)
        e.add_market(OWNER, oracle, f"M{i}", default_params(max_funding_rate_wad=10**13))
    e.set_operator(OWNER, OPERATOR, True)
    e.set_keeper(OWNER, KEEPER, True)
    for user in USERS:
        for sub in (0, 1):
            e.deposit(user, sub, rng.randrange(10**9, 10**12))
    for _ in range(steps):
        e.now += rng.randint(1, 900)
        for feed in e.oracles.values():
            feed.set_price(max(feed.price_wad * rng.randint(900, 1100) // 1000 + rng.randrange(10**9), 10**12), e.now)
        kind = rng.random()
        try:
            if kind < 0.6:
                market_id = rng.randrange(4)
                price = e.market_view(market_id)[0]
                size = rng.choice((1, -1)) * rng.randrange(10**15, 10**21)
                taker, maker = rng.sample([(u, s) for u in USERS for s in (0, 1)], 2)
                e.trade(OPERATOR, *orders.fill(market_id, *taker, *maker, size, price * rng.randint(97, 103) // 100))
            elif kind < 0.75:
                e.set_funding_rate(KEEPER, rng.randrange(4), rng.randint(-(10**13), 10**13))
            elif kind < 0.85:
                user, sub = rng.choice(USERS), rng.choice((0, 1))
                e.withdraw(user, sub, rng.randrange(1, 10**10))
            else:
                holders = [(k, m) for k, acc in e.state.accounts.items() for m in acc.positions]
                (owner, sub), market_id = rng.choice(holders)
                size = e.position(owner, sub, market_id)[0]
                e.liquidate(USERS[0] if owner != USERS[0] else USERS[1], 0, owner, sub, market_id, size)
        except (Revert, IndexError):
            pass
    return e


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32), steps=st.integers(5, 60), data=st.data())
def test_aggregates_pin_the_sum_of_equity_up_to_per_account_flooring(seed, steps, data):
    """0 ≤ WAD·(Σc − Σcost) + Σ size·f − WAD·Σ equity ≤ n·(WAD − 1), n = accounts holding a position,
    at ANY prices and funding indices (Σ size = 0 per market, so they cancel); and the running
    aggregates equal the sums recomputed from the accounts."""
    e = random_engine(random.Random(seed), steps)
    count, collateral, aggregates = e.aggregates()
    assert (count, collateral, tuple(aggregates)) == book_aggregates(e.accounts(), 4)
    for m in range(4):
        assert sum(a.positions[m].size for a in e.accounts() if m in a.positions) == 0  # Σ long = Σ short
    views = {
        m: MarketView(data.draw(st.integers(1, 2**94 - 1), label="price"),
                      data.draw(st.integers(-(2**99), 2**99), label="F"), WAD // 10, WAD // 20)
        for m in range(4)
    }
    gap, holders = equity_identity_gap(e, views)
    assert 0 <= gap <= holders * (WAD - 1), (gap, holders)
