"""Signed orders (spec §5.3): every trade fills two EIP-712 orders signed by their owners. Each case
runs on the deployed contract AND the Python mirror (engine_support.DualEngine: same outcome, same
revert and args, same events, same views); the digest is checked against eth-account's typed data."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from engine_support import deploy_batch, err, fund, mirror_at_deploy, ok
from pymargin.chain import tx
from pymargin.chain.contracts import deploy_contract
from pymargin.chain.engine_devnet import TX_GAS, default_markets, deploy_engine
from pymargin.engine.orders import SECP256K1_HALF_N, order_digest, recover_signer, sign_order
from pymargin.fixedpoint import WAD

USD = 10**6
SIZE = 3_718281828459045235  # 3.718281828459045235 base units: full precision
PRICE = 2000 * WAD + 1_414213562373095048  # 2001.414213562373095048


class System:
    """Default markets, owner/operator/keeper and four funded users; deployed once per module."""

    def __init__(self, chain):
        self.chain = chain
        signers = [tx.node_signer(chain, i) for i in range(8)]
        self.owner, self.operator, self.keeper, self.u1, self.u2, self.u3, self.u4, self.stranger = signers
        self.dep = deploy_engine(chain, self.owner, default_markets(), keepers=(self.keeper.address,),
                                 operators=(self.operator.address, self.u4.address))  # u4: an operator that trades too
        fund(self.dep, [self.u1, self.u2, self.u3, self.u4], 10**9 * USD)
        self.batch = deploy_batch(chain, self.owner)


@pytest.fixture(scope="module")
def system(chain_session, artifacts):
    before = chain_session.snapshot()
    yield System(chain_session)
    chain_session.revert(before)


@pytest.fixture
def sys_(system, chain):
    return mirror_at_deploy(system)


def test_digest_is_eip712_typed_data_bound_to_chain_and_engine(sys_):
    s, d = sys_, sys_.d
    order = d.orders.order(s.u1.address, 1, 2, -SIZE, PRICE, max_fee_wad=7 * 10**14, nonce=2**200 + 3, expiry=1_900_000_001)
    chain_id = s.chain.w3.eth.chain_id
    on_chain = s.dep.engine.call("orderDigest", order)
    assert bytes(on_chain) == order_digest(order, chain_id, s.dep.engine.address) == d.py.order_digest(order)
    typed = encode_typed_data(full_message={
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "Order": [{"name": n, "type": t} for n, t in (
                ("owner", "address"), ("sub", "uint256"), ("marketId", "uint256"), ("sizeWad", "int256"),
                ("limitPriceWad", "uint256"), ("maxFeeWad", "uint256"), ("nonce", "uint256"), ("expiry", "uint256"))],
        },
        "primaryType": "Order",
        "domain": {"name": "pymargin MarginEngine", "version": "1", "chainId": chain_id,
                   "verifyingContract": s.dep.engine.address},
        "message": dict(zip(("owner", "sub", "marketId", "sizeWad", "limitPriceWad", "maxFeeWad", "nonce", "expiry"), order)),
    })
    signed = Account.sign_message(typed, d.orders.keys[s.u1.address])  # a wallet's eth_signTypedData_v4
    assert bytes(signed.signature) == d.orders.sign(order)
    assert recover_signer(bytes(on_chain), bytes(signed.signature)) == s.u1.address
    # the domain binds chain id and engine address: the same order has another digest elsewhere
    assert order_digest(order, chain_id + 1, s.dep.engine.address) != bytes(on_chain)
    assert order_digest(order, chain_id, s.dep.token.address) != bytes(on_chain)
    assert d.py.eip712_domain()[1:5] == ("pymargin MarginEngine", "1", chain_id, s.dep.engine.address)
    type_string = "Order(address owner,uint256 sub,uint256 marketId,int256 sizeWad,uint256 limitPriceWad,uint256 maxFeeWad,uint256 nonce,uint256 expiry)"
    assert bytes(s.dep.engine.call("ORDER_TYPEHASH")) == keccak(text=type_string)
    d.check_views()


def test_attack_operator_cannot_trade_an_account_without_its_signature(sys_):
    """The issue's attack: the operator round-trips a victim at the two band edges against its own
    account. Before signed orders it took the victim from 10,000 to 40.23 (the operator's account
    gained 9,821.71; on main at db3581f, ten such round trips of 15% of its equity in initial margin took
    it to 0.0000025 while the operator's account gained 9,861.39, contract and mirror agreeing). Now
    every attempt reverts:
    a forged signature, the operator's own signature on the victim's order, a signature for another
    engine, and a genuinely signed small order stretched in size or price."""
    s, d = sys_, sys_.d
    victim, op = s.u1.address, s.u4.address  # u4 holds the operator role and trades from its own account
    ok(d.op("deposit", s.u1, 0, 10_000 * USD))
    ok(d.op("deposit", s.u4, 0, 1_000_000 * USD))
    oracle, band = 2000 * WAD, 5 * 10**16
    hi, lo = oracle * (WAD + band) // WAD, oracle * (WAD - band) // WAD
    size = 49 * WAD + 999_999_999_999_999_999  # ~10x the victim's equity
    chain_id = s.chain.w3.eth.chain_id
    for step, (victim_size, price) in enumerate([(size, hi), (-size, lo)] * 3):
        v_order = d.orders.order(victim, 0, 0, victim_size, price)
        o_order = d.orders.order(op, 0, 0, -victim_size, price)
        o_sig = d.orders.sign(o_order)
        forged = {
            "operator's key": sign_order(v_order, d.orders.keys[op], chain_id, s.dep.engine.address),
            "another engine": sign_order(v_order, d.orders.keys[victim], chain_id, s.dep.token.address),
            "empty": b"",
            "garbage": bytes(range(65)),
        }
        for what, sig in forged.items():
            outcome = d.op("trade", s.u4, v_order, sig, o_order, o_sig, victim_size, price)
            err(outcome, "InvalidSignature", victim, d.py.order_digest(v_order)), what
    # the victim signs one small order at the oracle price: it fills only as signed
    small = d.orders.order(victim, 0, 0, WAD + 1, oracle)
    small_sig = d.orders.sign(small)
    stretched = d.orders.order(op, 0, 0, -size, hi)
    err(d.op("trade", s.u4, small, small_sig, stretched, d.orders.sign(stretched), size, hi),
        "OrderOverfill", d.py.order_digest(small), 0, size, WAD + 1)
    err(d.op("trade", s.u4, small, small_sig, stretched, d.orders.sign(stretched), WAD + 1, hi),
        "LimitPriceExceeded", d.py.order_digest(small), hi, oracle)
    assert d.py.collateral(victim, 0) == 10_000 * WAD and d.py.position(victim, 0, 0) == (0, 0, 0)
    d.check_views()


def test_order_checks_in_order(sys_):
    s, d = sys_, sys_.d
    a, b = s.u1.address, s.u2.address
    ok(d.op("deposit", s.u1, 0, 100_000 * USD))
    ok(d.op("deposit", s.u2, 0, 100_000 * USD))
    o = d.orders
    buy = o.order(a, 0, 0, SIZE, PRICE, max_fee_wad=5 * 10**14, expiry=d.clock + 1000)
    sell = o.order(b, 0, 0, -SIZE, PRICE - 7, max_fee_wad=2 * 10**14)
    bs, ss = o.sign(buy), o.sign(sell)
    db, ds = d.py.order_digest(buy), d.py.order_digest(sell)
    part = SIZE // 3 + 1  # partial fills leave a remainder
    trade = lambda t, ts, m, ms, size=part, price=PRICE, sender=s.operator: d.op("trade", sender, t, ts, m, ms, size, price)  # noqa: E731
    err(trade(buy, bs, sell, ss, sender=s.stranger), "NotOperator", s.stranger.address)
    err(trade(buy._replace(market_id=7), bs, sell, ss), "UnknownMarket", 7)
    err(trade(buy, bs, sell, ss, size=0), "SizeOutOfBounds", 0)
    err(trade(buy, bs, buy, bs), "SelfTrade", a, 0)
    other_market = o.order(b, 0, 1, -SIZE, PRICE)
    err(trade(buy, bs, other_market, o.sign(other_market)), "MarketMismatch", 0, 1)
    # signature: a tampered order, another signer, a malleated (high-s) twin, a bad v, a 64-byte signature
    tampered = buy._replace(size_wad=SIZE + 1)
    err(trade(tampered, bs, sell, ss), "InvalidSignature", a, d.py.order_digest(tampered))
    err(trade(buy, ss, sell, ss), "InvalidSignature", a, db)
    r, s_, v = bs[:32], int.from_bytes(bs[32:64], "big"), bs[64]
    high_s = r + (2 * SECP256K1_HALF_N + 1 - s_).to_bytes(32, "big") + bytes([55 - v])  # valid for ecrecover
    err(trade(buy, high_s, sell, ss), "InvalidSignature", a, db)
    err(trade(buy, bs[:64] + bytes([v + 2]), sell, ss), "InvalidSignature", a, db)
    err(trade(buy, bs[:64], sell, ss), "InvalidSignature", a, db)
    err(trade(buy, bs, sell, bs), "InvalidSignature", b, ds)  # the maker's is checked after the taker's order
    # sides, limits, fee caps
    err(trade(buy, bs, sell, ss, size=-part), "WrongSide", db, SIZE, -part)
    zero = o.order(b, 0, 0, 0, PRICE)
    err(trade(buy, bs, zero, o.sign(zero)), "WrongSide", d.py.order_digest(zero), 0, -part)
    err(trade(buy, bs, sell, ss, price=PRICE + 1), "LimitPriceExceeded", db, PRICE + 1, PRICE)
    err(trade(buy, bs, sell, ss, price=PRICE - 8), "LimitPriceExceeded", ds, PRICE - 8, PRICE - 7)
    cheap = o.order(b, 0, 0, -SIZE, PRICE, max_fee_wad=2 * 10**14 - 1)
    err(trade(buy, bs, cheap, o.sign(cheap)), "FeeAboveMax", d.py.order_digest(cheap), 2 * 10**14, 2 * 10**14 - 1)
    # partial fills: the remaining size of each order covers the fill
    events = ok(trade(buy, bs, sell, ss))
    assert [args for name, args in events if name == "OrderFilled"] == [
        {"digest": db, "owner": a, "fillWad": part, "filledWad": part},
        {"digest": ds, "owner": b, "fillWad": part, "filledWad": part},
    ]
    ok(trade(buy, bs, sell, ss, price=PRICE - 7))
    rest = SIZE - 2 * part
    err(trade(buy, bs, sell, ss, size=rest + 1), "OrderOverfill", db, 2 * part, rest + 1, SIZE)
    bigger = o.order(a, 0, 0, 2 * SIZE, PRICE)
    err(trade(bigger, o.sign(bigger), sell, ss, size=rest + 1), "OrderOverfill", ds, 2 * part, rest + 1, SIZE)
    assert (d.py.filled_size(db), d.py.filled_size(ds)) == (2 * part, 2 * part)
    d.check_views()
    # expiry is inclusive
    d.set_price(0, 2000 * WAD, dt=10**6)  # far past the wall clock: blocks follow exactly
    late = o.order(a, 0, 0, SIZE, PRICE, expiry=d.clock + 1)
    ok(trade(late, o.sign(late), sell, ss, size=1))  # at clock + 1 = expiry
    err(trade(late, o.sign(late), sell, ss, size=1), "OrderExpired", d.py.order_digest(late), late.expiry, late.expiry + 1)
    d.check_views()


def test_cancel_one_order_and_all_below_a_nonce(sys_):
    s, d = sys_, sys_.d
    a, b = s.u1.address, s.u2.address
    ok(d.op("deposit", s.u1, 0, 100_000 * USD))
    ok(d.op("deposit", s.u2, 0, 100_000 * USD))
    o = d.orders
    buy, sell = o.order(a, 0, 0, SIZE, PRICE, nonce=41), o.order(b, 0, 0, -SIZE, PRICE, nonce=7)
    bs, ss = o.sign(buy), o.sign(sell)
    db, ds = d.py.order_digest(buy), d.py.order_digest(sell)
    err(d.op("cancelOrder", s.u2, buy), "NotOrderOwner", b, a)
    ok(d.op("trade", s.operator, buy, bs, sell, ss, WAD + 3, PRICE))
    assert ok(d.op("cancelOrder", s.u1, buy)) == [("OrderCancelled", {"digest": db, "owner": a})]
    err(d.op("trade", s.operator, buy, bs, sell, ss, WAD + 3, PRICE), "CancelledOrder", db)
    assert d.py.is_cancelled(db) and d.py.filled_size(db) == WAD + 3
    # all of b's orders below nonce 8: sell (nonce 7) is out, a new one at nonce 8 fills
    assert ok(d.op("cancelOrdersBelow", s.u2, 8)) == [("MinNonceRaised", {"owner": b, "minNonce": 8})]
    err(d.op("cancelOrdersBelow", s.u2, 8), "NonceNotIncreasing", 8, 8)
    err(d.op("cancelOrdersBelow", s.u2, 3), "NonceNotIncreasing", 8, 3)
    buy2 = o.order(a, 0, 0, SIZE, PRICE, nonce=0)
    err(d.op("trade", s.operator, buy2, o.sign(buy2), sell, ss, WAD, PRICE), "NonceTooLow", ds, 7, 8)
    sell8 = o.order(b, 0, 0, -SIZE, PRICE, nonce=8)
    ok(d.op("trade", s.operator, buy2, o.sign(buy2), sell8, o.sign(sell8), WAD, PRICE))
    assert d.py.min_nonce(b) == 8 and d.py.min_nonce(a) == 0
    d.check_views()


def test_contract_wallet_signs_through_erc1271(sys_):
    """A contract wallet (contracts/test/TestWallet1271.sol) trades with orders its signer signs; the
    mirror plays its isValidSignature with a callback in ``Engine.wallets``."""
    s, d = sys_, sys_.d
    wallet, _ = deploy_contract(s.chain, "TestWallet1271", s.u3.address, sender=s.owner, gas=TX_GAS)
    w = wallet.address
    s.dep.token.transact("mint", w, 50_000 * USD, sender=s.owner, gas=TX_GAS)
    for target, fn, args in ((s.dep.token, "approve", (s.dep.engine.address, 2**256 - 1)), (s.dep.engine, "deposit", (0, 50_000 * USD))):
        data = getattr(target.functions, fn)(*args)._encode_transaction_data()
        wallet.transact("execute", target.address, data, sender=s.u3, gas=TX_GAS)
    d.py.deposit(w, 0, 50_000 * USD)
    d.py.wallets[w] = lambda digest, sig: recover_signer(digest, sig) == s.u3.address
    d.orders.keys[w] = d.orders.keys[s.u3.address]  # the wallet's orders are signed by its signer's key
    ok(d.op("deposit", s.u2, 0, 100_000 * USD))
    buy, sell = d.orders.order(w, 0, 0, SIZE, PRICE), d.orders.order(s.u2.address, 0, 0, -SIZE, PRICE)
    ok(d.op("trade", s.operator, buy, d.orders.sign(buy), sell, d.orders.sign(sell), SIZE, PRICE))
    assert d.py.position(w, 0, 0)[0] == SIZE
    buy2 = d.orders.order(w, 0, 0, SIZE, PRICE)
    by_u1 = sign_order(buy2, d.orders.keys[s.u1.address], d.orders.chain_id, d.orders.engine)
    err(d.op("trade", s.operator, buy2, by_u1, sell, d.orders.sign(sell), 1, PRICE), "InvalidSignature", w, d.py.order_digest(buy2))
    d.check_views()
