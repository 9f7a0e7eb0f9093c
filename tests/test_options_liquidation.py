"""Liquidation of option positions (spec §5.13 Liquidation, issue 15) on the embedded devnet against the
Python mirrors: an options-only account below maintenance margin is liquidated at the mark value and its
deficit stops growing; a liquidator gains at most the penalty; every revert is equal, error and
arguments, on the contract and the mirror, on random full-precision sizes, prices and vols."""

from __future__ import annotations

import copy
import random
from collections import Counter

import pytest

from options_support import PERP_PRICE, Kind, System, ok
from pymargin.fixedpoint import WAD

DAY = 86_400
STRIKE_CALL = 2_901_234_567_890_123_456_789
STRIKE_PUT = 2_503_141_592_653_589_793_238


@pytest.fixture(scope="module")
def deployed(chain_session, artifacts):
    """The system deployed once per module (funded users, marked series), with its mirrors saved."""
    start = chain_session.snapshot()
    s = System(chain_session)
    s.setup_market([("call", Kind.Call, STRIKE_CALL, 7 * DAY + 1234), ("put", Kind.Put, STRIKE_PUT, 7 * DAY + 1234)])
    for user in s.users:
        assert s.d.op("deposit", user, 0, 20_000 * 10**6).ok
    yield s, copy.deepcopy((s.d.py, s.py, s.py_book, s.d.clock))
    chain_session.revert(start)


@pytest.fixture
def system(deployed, chain_session):
    """The deployed system, chain and mirrors back at their saved state after the test."""
    s, saved = deployed
    snapshot = chain_session.snapshot()
    yield s
    chain_session.revert(snapshot)
    s.d.py, s.py, s.py_book, s.d.clock = copy.deepcopy(saved)


def margins(s: System, user) -> tuple[int, int, int]:
    """(equity, IM, MM) of the user's cross account, equal on the contract and the mirror."""
    chain = tuple(s.engine.call("margins", user.address, 0))
    assert chain == tuple(s.d.py.margins(user.address, 0))
    return chain


def move_price(s: System, price: int, vol: int = 612_345_678_901_234_567) -> None:
    """The oracle at ``price``, every series marked at it and ``vol``."""
    s.d.set_price(0, price)
    s.mark_all(vol)


def write_calls_to_the_limit(s: System, writer, buyer, size: int) -> None:
    """``writer`` sells ``size`` calls to ``buyer`` at the mark value, then withdraws down to just above IM."""
    call = s.series["call"]
    ok(s.option_fill(call, buyer, writer, size, s.mark_value(call)))
    eq, im, _ = margins(s, writer)
    assert s.d.op("withdraw", writer, 0, (eq - im) // 10**12 - 1).ok


def test_options_only_account_below_maintenance_cannot_be_liquidated(system):
    """The hole of issue 15, shown before the fix: a short-call-only account goes below MM as the price
    rises; the engine's liquidation takes over perps only (NoPosition) and the options module has no
    liquidation, so the account keeps its calls and its deficit grows with every move, owed to the
    call's buyer and covered by nobody."""
    s = system
    writer, buyer, liquidator = s.users
    size = 31_415_926_535_897_932_384
    write_calls_to_the_limit(s, writer, buyer, size)
    price = PERP_PRICE
    deficits = []
    for _ in range(12):
        price = price * 1_031_234_567_890_123_457 // WAD
        move_price(s, price)
        eq, _, mm = margins(s, writer)
        if eq < mm:
            assert s.engine.call("isLiquidatable", writer.address, 0) and s.d.py.is_liquidatable(writer.address, 0)
            err = s.d.op("liquidate", liquidator, 0, writer.address, 0, 0, 10**18).error
            assert err == ("NoPosition", (writer.address, 0, 0))
            assert "liquidate" not in {f["name"] for f in s.options.artifact["abi"] if f["type"] == "function"}
            assert not hasattr(s.py, "liquidate")
        if eq < 0:
            deficits.append(-eq)
    assert len(deficits) >= 3 and deficits == sorted(deficits) and deficits[0] < deficits[-1], deficits
    assert s.d.py.bad_debt() == 0 and s.d.py.collateral(writer.address, 0) > 0
    print({"deficit after each move": deficits})
    s.check_state()
