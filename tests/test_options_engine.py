"""Option markets in the engine (spec §5.12) on the embedded devnet against the Python mirrors:
premiums between cross accounts, portfolio margin in the engine's checks, expiry settlement, value
conservation; equal values, events and reverts on both sides."""

from __future__ import annotations

import pytest

from options_support import PERP_PRICE, Kind, System, ok
from pymargin.fixedpoint import WAD

DAY = 86_400
STRIKE_CALL = 2_901_234_567_890_123_456_789
STRIKE_PUT = 2_503_141_592_653_589_793_238


@pytest.fixture
def system(chain, artifacts):
    s = System(chain)
    s.setup_market([("call", Kind.Call, STRIKE_CALL, 7 * DAY + 1234), ("put", Kind.Put, STRIKE_PUT, 7 * DAY + 1234)])
    for user in s.users:
        assert s.d.op("deposit", user, 0, 20_000 * 10**6).ok
    return s


def test_option_trade_moves_the_premium_and_margins_by_portfolio(system):
    s = system
    a, b = s.users[0], s.users[1]
    call = s.series["call"]
    premium = s.mark_value(call) + 123_456_789_012_345
    size = 3_141_592_653_589_793_238
    before = s.conserved_wad2()
    out = ok(s.option_fill(call, a, b, size, premium))
    assert ("OptionTraded", {}) != out.events[-1]
    paid = -(-size * premium // WAD)
    assert s.d.py.collateral(a.address, 0) == 20_000 * WAD - paid
    assert s.d.py.collateral(b.address, 0) == 20_000 * WAD + size * premium // WAD
    assert s.conserved_wad2() == before == s.py.conserved_value_wad2()
    s.check_state()
