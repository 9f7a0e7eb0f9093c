"""The fast EVM harness itself: its ABI encoder equals eth-abi's, it renews its EVM without moving
contracts, and it reports reverts and bad calls clearly."""

from __future__ import annotations

import random

import pytest
from eth_abi import encode

from pymargin.chain.fastevm import FastEVM, args_encoder
from pymargin.chain.tx import ContractRevert
from pymargin.errors import UserError

TYPE_LISTS = [
    ["uint256", "int256", "uint8"],
    ["int256", "(uint256,int256,int256,int256)[]", "(uint256,int256,uint256,uint256)[]"],
    ["bool", "int64", "uint256[]"],
    ["string", "uint256"],  # not on the fast path: eth-abi encodes it
]


def _value(rng, t):
    if t.endswith("[]"):
        return [_value(rng, t[:-2]) for _ in range(rng.randrange(5))]
    if t.startswith("("):
        return tuple(_value(rng, c) for c in t[1:-1].split(","))
    if t == "bool":
        return rng.random() < 0.5
    if t == "string":
        return "x" * rng.randrange(40)
    bits = int(t.lstrip("uint") or 256)
    if t.startswith("u"):
        return rng.choice((0, 2**bits - 1, rng.getrandbits(bits)))
    return rng.choice((-(2 ** (bits - 1)), 2 ** (bits - 1) - 1, rng.getrandbits(bits) - 2 ** (bits - 1)))


@pytest.mark.parametrize("types", TYPE_LISTS, ids=lambda t: ",".join(t))
def test_encoder_equals_eth_abi(types):
    rng = random.Random(",".join(types))
    enc = args_encoder(types)
    for _ in range(500):
        args = [_value(rng, t) for t in types]
        assert enc(args) == encode(types, args)


def test_encoder_rejects_out_of_range_values():
    enc = args_encoder(["uint256", "int8", "bool"])
    for bad in ([-1, 0, True], [2**256, 0, True], [0, 128, True], [0, -129, True], [0, 0, 1], [True, 0, True]):
        with pytest.raises(TypeError):
            enc(bad)


def test_renewal_keeps_addresses_and_answers(artifacts):
    evm = FastEVM(calls_per_evm=50)
    fp = evm.deploy("FixedPointMathHarness")
    mm = evm.deploy("MarginMathHarness")
    for i in range(260):
        assert fp.call("mulDiv", 2**200 + i, 3, 3, 1) == 2**200 + i
    positions = [(0, 10**18, 0, 0)]
    markets = [(2 * 10**18, 0, 10**17, 5 * 10**16)]
    assert mm.call("equity", 5, positions, markets) == 5 + 2 * 10**18
    assert evm.renewals == 5
    with pytest.raises(ContractRevert) as err:
        fp.call("sdiv", 1, 0)
    assert (err.value.name, err.value.args_) == ("Panic", (0x12,))


def test_bad_calls_are_user_errors(artifacts):
    evm = FastEVM()
    with pytest.raises(UserError, match="no function"):
        evm.deploy("FixedPointMathHarness").call("nope", 1)
    with pytest.raises(UserError, match="no artifact"):
        evm.deploy("NoSuchContract")
