"""The Chainlink adapter on chain and its Python mirror give the same WAD price (or the same revert)
for every feed decimals the adapter accepts, on random and edge answers."""

from __future__ import annotations

import random

import pytest

from pymargin.chain import tx
from pymargin.chain.contracts import deploy_contract
from pymargin.chain.engine_devnet import TX_GAS
from pymargin.engine import ChainlinkAdapter, chainlink_price_wad
from pymargin.errors import Revert
from pymargin.fixedpoint import INT256_MAX, INT256_MIN


def _answers(decimals: int, rng: random.Random) -> list[int]:
    edges = [0, 1, -1, INT256_MAX, INT256_MIN, 2000 * 10**decimals, -(10**decimals)]
    if decimals <= 18:
        limit = INT256_MAX // 10 ** (18 - decimals)  # the largest answer that scales without overflow
        edges += [limit, limit + 1, -limit, -limit - 1]
    edges = [e for e in edges if INT256_MIN <= e <= INT256_MAX]
    return edges + [rng.randint(-(2**200), 2**200) for _ in range(4)] + [rng.randint(1, 10**12) for _ in range(4)]


@pytest.mark.parametrize("decimals", [0, 8, 18, 20, 36])
def test_chainlink_adapter_matches_python(chain, artifacts, decimals):
    owner = tx.node_signer(chain)
    aggregator, _ = deploy_contract(chain, "MockAggregatorV3", decimals, "X / USD", 1, sender=owner, gas=TX_GAS)
    adapter, _ = deploy_contract(chain, "ChainlinkAdapter", aggregator.address, sender=owner, gas=TX_GAS)
    assert adapter.call("feedDecimals") == decimals
    mirror = ChainlinkAdapter(decimals, 1, 0)
    rng = random.Random(decimals)
    overflows = 0
    for i, answer in enumerate(_answers(decimals, rng)):
        aggregator.transact("setRound", answer, 1000 + i, sender=owner, gas=TX_GAS)
        mirror.set_round(answer, 1000 + i)
        try:
            expected = mirror.latest_price()
        except Revert as exc:
            with pytest.raises(tx.ContractRevert) as got:
                adapter.call("latestPrice")
            assert (got.value.name, got.value.args_) == (exc.name, exc.args_) == ("MulDivOverflow", ())
            overflows += 1
            continue
        assert tuple(adapter.call("latestPrice")) == expected
    assert (overflows > 0) == (decimals < 18)


def test_chainlink_scaling_examples():
    assert chainlink_price_wad(2000_12345678, 8) == 2000_12345678 * 10**10
    assert chainlink_price_wad(-7, 20) == -1  # Floor, not truncation
    assert chainlink_price_wad(199, 20) == 1


def test_chainlink_adapter_rejects_more_than_36_decimals(chain, artifacts):
    owner = tx.node_signer(chain)
    aggregator, _ = deploy_contract(chain, "MockAggregatorV3", 37, "X", 1, sender=owner, gas=TX_GAS)
    with pytest.raises(tx.ContractRevert) as got:
        deploy_contract(chain, "ChainlinkAdapter", aggregator.address, sender=owner, gas=TX_GAS)
    assert (got.value.name, got.value.args_) == ("UnsupportedDecimals", (37,))
