"""The Chainlink adapter on chain and its Python mirror give the same WAD price (or the same revert)
for every feed decimals the adapter accepts, on random and edge answers; and the same round,
timestamp, staleness and sequencer-uptime checks on random rounds."""

from __future__ import annotations

import random

import pytest

from pymargin.chain import tx
from pymargin.chain.contracts import deploy_contract
from pymargin.chain.engine_devnet import TX_GAS
from pymargin.engine.core import ZERO_ADDRESS
from pymargin.engine import ChainlinkAdapter, chainlink_price_wad
from pymargin.engine import SequencerFeed
from pymargin.errors import Revert
from pymargin.fixedpoint import INT256_MAX


MAX_AGE = 86_400 + 17


def _now(chain) -> int:
    return chain.w3.eth.get_block("latest")["timestamp"]


def _answers(decimals: int, rng: random.Random) -> list[int]:
    edges = [1, INT256_MAX, 2000 * 10**decimals]
    if decimals <= 18:
        limit = INT256_MAX // 10 ** (18 - decimals)  # the largest answer that scales without overflow
        edges += [limit, limit + 1, -limit, -limit - 1]
    edges = [e for e in edges if 0 < e <= INT256_MAX]
    return edges + [rng.randint(1, 2**200) for _ in range(4)] + [rng.randint(1, 10**12) for _ in range(4)]


@pytest.mark.parametrize("decimals", [0, 8, 18, 20, 36])
def test_chainlink_adapter_matches_python(chain, artifacts, decimals):
    owner = tx.node_signer(chain)
    aggregator, _ = deploy_contract(chain, "MockAggregatorV3", decimals, "X / USD", 1, sender=owner, gas=TX_GAS)
    adapter, _ = deploy_contract(chain, "ChainlinkAdapter", aggregator.address, MAX_AGE, ZERO_ADDRESS, 0,
                                 sender=owner, gas=TX_GAS)
    assert adapter.call("feedDecimals") == decimals
    mirror = ChainlinkAdapter(decimals, 1, 0, MAX_AGE)
    rng = random.Random(decimals)
    overflows = 0
    for i, answer in enumerate(_answers(decimals, rng)):
        updated_at = _now(chain) - i
        aggregator.transact("setRound", answer, updated_at, sender=owner, gas=TX_GAS)
        mirror.set_round(answer, updated_at)
        try:
            expected = mirror.latest_price(_now(chain))
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
        deploy_contract(chain, "ChainlinkAdapter", aggregator.address, MAX_AGE, ZERO_ADDRESS, 0, sender=owner, gas=TX_GAS)
    assert (got.value.name, got.value.args_) == ("UnsupportedDecimals", (37,))
    ok_feed, _ = deploy_contract(chain, "MockAggregatorV3", 8, "X", 1, sender=owner, gas=TX_GAS)
    with pytest.raises(tx.ContractRevert) as got:
        deploy_contract(chain, "ChainlinkAdapter", ok_feed.address, 0, ZERO_ADDRESS, 0, sender=owner, gas=TX_GAS)
    assert (got.value.name, got.value.args_) == ("ZeroMaxAnswerAge", ())


def test_chainlink_round_and_sequencer_checks_match_python(chain, artifacts):
    """Random rounds (answer sign, round ids, updatedAt around now and the age limit) and sequencer
    states (down, within and past the grace period): the adapter's value or revert equals the mirror's."""
    owner = tx.node_signer(chain)
    grace = 3_600 + 13
    aggregator, _ = deploy_contract(chain, "MockAggregatorV3", 8, "ETH / USD", 1, sender=owner, gas=TX_GAS)
    sequencer, _ = deploy_contract(chain, "MockAggregatorV3", 0, "L2 sequencer", 0, sender=owner, gas=TX_GAS)
    adapter, _ = deploy_contract(chain, "ChainlinkAdapter", aggregator.address, MAX_AGE, sequencer.address, grace,
                                 sender=owner, gas=TX_GAS)
    plain, _ = deploy_contract(chain, "ChainlinkAdapter", aggregator.address, MAX_AGE, ZERO_ADDRESS, 0, sender=owner, gas=TX_GAS)
    rng = random.Random(11)
    seen = set()
    for _ in range(60):
        now = _now(chain)
        round_id = rng.randint(1, 2**80 - 1)
        answered = rng.choice([round_id, round_id - 1, round_id + 1, rng.randint(0, 2**80 - 1)])
        answer = rng.choice([rng.randint(1, 10**14), 0, -rng.randint(1, 10**14), 3_141_592_653_589])
        updated_at = rng.choice([now, 0, now + rng.randint(1, 100), now - MAX_AGE, now - MAX_AGE - 1,
                                 now - rng.randint(0, 2 * MAX_AGE)])
        status = rng.choice([0, 0, 0, 1, 2])
        started_at = rng.choice([0, now - grace, now - grace - 1, now - rng.randint(0, 3 * grace), now + 5])
        aggregator.transact("setRoundData", round_id, answer, updated_at, updated_at, answered, sender=owner, gas=TX_GAS)
        sequencer.transact("setRoundData", 1, status, started_at, started_at, 1, sender=owner, gas=TX_GAS)
        now = _now(chain)  # calls run on the latest block
        for contract, seq, g in ((adapter, SequencerFeed(status, started_at), grace), (plain, None, 0)):
            mirror = ChainlinkAdapter(8, answer, updated_at, MAX_AGE, round_id, answered, seq, g)
            try:
                expected = mirror.latest_price(now)
            except Revert as exc:
                with pytest.raises(tx.ContractRevert) as got:
                    contract.call("latestPrice")
                assert (got.value.name, got.value.args_) == (exc.name, exc.args_)
                seen.add(exc.name)
                continue
            assert tuple(contract.call("latestPrice")) == expected
            seen.add("ok")
    assert seen == {"ok", "SequencerDown", "SequencerGracePeriod", "NonPositiveAnswer", "StaleRound",
                    "InvalidUpdatedAt", "StaleAnswer"}, seen
