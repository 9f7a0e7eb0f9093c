"""Circuit inputs and public hashes for SolvencyBatch, AccountMargin and PrivateMargin (docs/spec.md §7).

Everything comes from a :class:`~pymargin.commit.commitment.Commitment` (leaves, tree, sums) built
from the reference engine's state; equity and maintenance margin come from :mod:`pymargin.margin`
(through ``pymargin.commit.leaf.leaf_sums``), never recomputed here. Signed values are passed as
field elements (:func:`~pymargin.zk.field.to_field`); the circuit range-checks them.

Public hash of batch k (the circuit's only public signal)::

    marketsHash = m_M,  m_0 = 0,  m_{j+1} = Poseidon_5(m_j, price_j, F_j + 2^100, imf_j, mmf_j)
    ctx   = Poseidon_5(Poseidon_4(epoch, chainId, registry, depth), marketsHash, rootHash, totalEquity, totalMm)
    state = Poseidon_3(lastIdHash, equity so far, mm so far)
    pub_k = Poseidon_4(ctx, k, state_k, state_{k+1})
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from pymargin.commit.commitment import Commitment
from pymargin.commit.leaf import PADDING_LEAF, Leaf, leaf_sums
from pymargin.commit.poseidon import poseidon
from pymargin.commit.tree import Node
from pymargin.errors import UserError
from pymargin.model import FUNDING_INDEX_BOUND, MarketView
from pymargin.zk.field import to_field

END_ID = 2**248  # the chain's last id after a padding leaf: above every id hash
EMPTY_MARKET = MarketView(0, 0, 0, 0)


@dataclass(frozen=True)
class EpochContext:
    """What every batch of an epoch is proven against (all of it enters the public hash)."""

    epoch: int
    chain_id: int
    registry: int  # the SolvencyRegistry address as an integer
    depth: int  # tree depth D = K + T
    markets: tuple[MarketView, ...]  # market id j -> view, padded with EMPTY_MARKET to the circuit's M
    root: Node  # (root hash, total equity, total mm)


def market_table(markets: Mapping[int, MarketView], m: int) -> tuple[MarketView, ...]:
    """The views of markets 0..m-1 (ids must be 0..count-1 with count <= m), padded with empty markets."""
    if any(not 0 <= j < m for j in markets):
        raise UserError(f"market ids must be 0..{m - 1} for a circuit with {m} markets, got {sorted(markets)}")
    return tuple(markets.get(j, EMPTY_MARKET) for j in range(m))


def markets_hash(markets: Sequence[MarketView]) -> int:
    """m_M of the market views (Poseidon_5 chain; funding index offset by 2^100)."""
    acc = 0
    for view in markets:
        acc = poseidon([acc, view.price_wad, view.funding_index_wad + FUNDING_INDEX_BOUND, view.imf_wad, view.mmf_wad])
    return acc


def context_hash(ctx: EpochContext) -> int:
    """ctx = Poseidon_5(Poseidon_4(epoch, chainId, registry, depth), marketsHash, rootHash, totalEquity, totalMm)."""
    meta = poseidon([ctx.epoch, ctx.chain_id, ctx.registry, ctx.depth])
    return poseidon([meta, markets_hash(ctx.markets), ctx.root.hash, ctx.root.equity, ctx.root.mm])


def state_hash(last_id: int, equity: int, mm: int) -> int:
    """Poseidon_3(last id hash, equity so far, mm so far): the chain state between batches."""
    return poseidon([last_id, equity, mm])


def batch_public_hash(ctx_hash: int, index: int, state_in: int, state_out: int) -> int:
    """pub_k = Poseidon_4(ctx, k, state_in, state_out)."""
    return poseidon([ctx_hash, index, state_in, state_out])


def _market_arrays(markets: Sequence[MarketView]) -> dict[str, list[int]]:
    return {
        "price": [v.price_wad for v in markets],
        "fundingIndex": [to_field(v.funding_index_wad) for v in markets],
        "imf": [v.imf_wad for v in markets],
        "mmf": [v.mmf_wad for v in markets],
    }


def _slots(leaf: Leaf) -> list[list[int]]:
    return [[s.market_id, to_field(s.size), to_field(s.cost_basis), to_field(s.funding_index)] for s in leaf.slots]


@dataclass(frozen=True)
class BatchInput:
    """The inputs of batch ``index`` and the chain states around it."""

    index: int
    inputs: dict
    state_in: tuple[int, int, int]  # (last id hash, equity so far, mm so far)
    state_out: tuple[int, int, int]
    public: int  # the expected public signal


def batch_inputs(commitment: Commitment, secret: bytes, ctx: EpochContext, k: int) -> list[BatchInput]:
    """Inputs of every batch (2^k leaves each) of the committed book, in chain order."""
    tree = commitment.tree
    if not 0 <= k <= tree.depth:
        raise UserError(f"a batch of 2^{k} leaves does not fit a tree of depth {tree.depth}")
    if ctx.depth != tree.depth or ctx.root != tree.root:
        raise UserError("the epoch context's depth and root are not the commitment's")
    if any(j >= len(ctx.markets) or ctx.markets[j] != view for j, view in commitment.markets.items()):
        raise UserError("the epoch context's market views are not the ones the book was committed at")
    size = 1 << k
    ctx_h = context_hash(ctx)
    markets = dict(enumerate(ctx.markets))
    state = (0, 0, 0)
    out = []
    for index in range(1 << (tree.depth - k)):
        leaves = [commitment.leaf(i, secret) if i < len(commitment.accounts) else PADDING_LEAF
                  for i in range(index * size, (index + 1) * size)]
        last_id, equity, mm = state
        for leaf in leaves:
            if leaf is PADDING_LEAF:
                last_id = END_ID
                continue
            e, m = leaf_sums(leaf, markets)
            last_id, equity, mm = leaf.id_hash, equity + e, mm + m
        new_state = (last_id, equity, mm)
        siblings = tree.siblings(index * size)[k:]
        inputs = {
            "epoch": ctx.epoch, "chainId": ctx.chain_id, "registry": ctx.registry,
            **_market_arrays(ctx.markets),
            "rootHash": ctx.root.hash, "totalEquity": ctx.root.equity, "totalMm": ctx.root.mm,
            "batchIndex": index, "lastIdIn": state[0], "equityIn": state[1], "mmIn": state[2],
            "idHash": [leaf.id_hash for leaf in leaves],
            "salt": [leaf.salt for leaf in leaves],
            "collateral": [to_field(leaf.collateral) for leaf in leaves],
            "slots": [_slots(leaf) for leaf in leaves],
            "siblings": [[n.hash, n.equity, n.mm] for n in siblings],
        }
        public = batch_public_hash(ctx_h, index, state_hash(*state), state_hash(*new_state))
        out.append(BatchInput(index, inputs, state, new_state, public))
        state = new_state
    return out


def account_margin_inputs(leaf: Leaf, markets: Sequence[MarketView], initial: bool) -> dict:
    """Inputs of AccountMargin for one leaf: the fraction is imf (initial) or mmf (maintenance)."""
    arrays = _market_arrays(markets)
    return {
        "collateral": to_field(leaf.collateral), "slots": _slots(leaf),
        "price": arrays["price"], "fundingIndex": arrays["fundingIndex"],
        "fraction": arrays["imf"] if initial else arrays["mmf"],
    }


def private_margin_public_hash(leaf_hash: int, markets: Sequence[MarketView], initial: bool) -> int:
    """PrivateMargin's public signal: Poseidon_3(leaf hash, marketsHash, 1 for initial / 0 for maintenance margin)."""
    return poseidon([leaf_hash, markets_hash(markets), int(initial)])


def private_margin_inputs(leaf: Leaf, markets: Sequence[MarketView], initial: bool) -> dict:
    """Inputs of PrivateMargin: the account's leaf data and the market views."""
    return {
        "idHash": leaf.id_hash, "salt": leaf.salt, "collateral": to_field(leaf.collateral), "slots": _slots(leaf),
        **_market_arrays(markets), "initial": int(initial),
    }
