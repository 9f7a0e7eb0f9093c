"""SolvencyBatch's per-account parts on their own: AccountFigures and PadStep (circuits/solvency.circom).

Values: AccountFigures' equity and figures (mm, im, liability, deficit, below, shortfall, per-market
long/short/cost/size·f) equal pymargin (``inputs.add_leaf`` over ``pymargin.margin``) on random,
under-water and extreme accounts.
Soundness of the cheaper checks: a slot in a market ≥ marketCount with any one field non-zero
(including the range checks' edge values) is refused; a padding leaf (id hash 0) with any one field
non-zero is refused; after a padding leaf only padding is accepted.
"""

from __future__ import annotations

import random

import pytest

from pymargin.commit.leaf import PADDING_LEAF, Leaf, Slot, leaf_of
from pymargin.model import WAD, Account, MarketView, Position
from pymargin.zk import inputs
from pymargin.zk.circom import compile_circuit
from pymargin.zk.field import from_field, to_field
from pymargin.zk.witness import WitnessError, compute_witness, read_wtns
from zk_books import OWNERS, account, markets

M = 4
SECRET = b"\x05" * 32
FIGURES_MAIN = f"""pragma circom 2.1.6;
include "solvency.circom";
template Figures(M) {{
    signal input collateral;
    signal input slots[4][4];
    signal input price[M];
    signal input fundingIndex[M];
    signal input imf[M];
    signal input mmf[M];
    signal input marketCount;
    signal output fig[7]; // equity, mm, im, liability, deficit, below, shortfall
    signal output agg[M][4];
    component range = MarketsRangeCheck(M);
    range.price <== price;
    range.fundingIndex <== fundingIndex;
    range.imf <== imf;
    range.mmf <== mmf;
    component count = LessThan(4);
    count.in <== [marketCount, M + 1];
    count.out === 1;
    component tables = MarketTerms(M, 2);
    tables.price <== price;
    tables.fundingIndex <== fundingIndex;
    tables.fraction <== [mmf, imf];
    component a = AccountFigures(M, 4);
    a.collateral <== collateral;
    a.slots <== slots;
    a.priceLessIndex <== tables.priceLessIndex;
    a.priceFraction <== tables.priceFraction;
    a.marketCount <== marketCount;
    fig <== [a.equity, a.mm, a.im, a.liability, a.deficit, a.below, a.shortfall];
    agg <== a.agg;
}}
component main = Figures({M});
"""
PAD_MAIN = """pragma circom 2.1.6;
include "solvency.circom";
template Pad() {
    signal input paddedIn;
    signal input idHash;
    signal input salt;
    signal input collateral;
    signal input slots[4][4];
    signal output padding;
    component leaf = LeafHash();
    leaf.idHash <== idHash;
    leaf.salt <== salt;
    leaf.collateral <== collateral;
    leaf.slots <== slots;
    component pad = PadStep();
    pad.paddedIn <== paddedIn;
    pad.idHash <== idHash;
    pad.leafHash <== leaf.out;
    padding <== pad.padding;
}
component main = Pad();
"""


@pytest.fixture(scope="module")
def figures():
    return compile_circuit("test_account_figures", FIGURES_MAIN)


@pytest.fixture(scope="module")
def pad():
    return compile_circuit("test_pad_step", PAD_MAIN)


def _inputs(leaf: Leaf, views: dict[int, MarketView], market_count: int) -> dict:
    table = inputs.market_table(views, M)
    return {"collateral": to_field(leaf.collateral), "slots": _slots(leaf),
            "price": [v.price_wad for v in table], "fundingIndex": [to_field(v.funding_index_wad) for v in table],
            "imf": [v.imf_wad for v in table], "mmf": [v.mmf_wad for v in table], "marketCount": market_count}


def _slots(leaf: Leaf) -> list[list[int]]:
    return [[s.market_id, to_field(s.size), to_field(s.cost_basis), to_field(s.funding_index)] for s in leaf.slots]


def _extreme(rng: random.Random) -> tuple[Account, dict[int, MarketView]]:
    """Every value at or near its §3 bound (fractions = WAD), so the numerators reach 2^198 and 2^250."""
    top = 2**94 - 1
    views = {j: MarketView(top - rng.randrange(3), rng.choice([1, -1]) * (2**100 - 1 - rng.randrange(3)), WAD, WAD) for j in range(M)}
    positions = {j: Position(j, rng.choice([1, -1]) * (top - rng.randrange(5)), rng.choice([1, -1]) * (2**130 - 1 - rng.randrange(7)),
                             rng.choice([1, -1]) * (2**100 - 1 - rng.randrange(7))) for j in range(M)}
    return Account(OWNERS[0], 0, rng.choice([1, -1]) * (2**128 - 1 - rng.randrange(9)), positions), views


def _account(seed: int) -> tuple[Account, dict[int, MarketView]]:
    rng = random.Random(seed)
    if seed < 3:
        return _extreme(rng)
    views = markets(rng, M)
    acct = account(rng, OWNERS[seed], views, cushion=seed % 2 == 0)
    if seed % 3 == 0:  # under water or below mm by a full-precision amount
        acct.collateral -= rng.randrange(10**18, 10**24) + 718_281_828_459_045_235
    return acct, views


@pytest.mark.parametrize("seed", [0, 1, 3, 4, 5, 6])
def test_account_figures_equal_pymargin(figures, tmp_path, seed):
    acct, views = _account(seed)
    leaf = leaf_of(acct, SECRET)
    w = read_wtns(compute_witness(figures, _inputs(leaf, views, M), tmp_path / "w.wtns"))
    got = [from_field(x) for x in w[1 : 1 + 7 + 4 * M]]
    sums = inputs.add_leaf(inputs.zero_sums(M), leaf, views, M)
    t = sums.totals
    equity = t.liabilities_wad - t.deficit_wad
    want = [equity, t.mm_wad, t.im_wad, t.liabilities_wad, t.deficit_wad, t.below_mm_count, t.shortfall_wad]
    for a in sums.aggregates:
        want += [a.long_size_wad, a.short_size_wad, a.cost_basis_wad, a.size_funding_wad2]
    assert got == want


SLOT_EDGES = [(3, 0, 0, 0), (2, -(2**94), 0, 0), (3, 0, 1, 0), (2, 0, -(2**130), 0), (3, 0, 0, -1), (2, 0, 0, 2**100 - 1)]


def _empty_book_inputs() -> dict:
    return _inputs(Leaf(1, 0, 10**21, (Slot(),) * 4), markets(random.Random(5), M), 2)


def test_empty_slots_pass_with_any_market_count(figures, tmp_path):
    base = _empty_book_inputs()
    for count in (0, 2, M):
        assert read_wtns(compute_witness(figures, {**base, "marketCount": count}, tmp_path / "w.wtns"))


@pytest.mark.parametrize("slot", SLOT_EDGES)
def test_a_slot_in_a_market_past_the_count_must_be_empty(figures, tmp_path, slot):
    """marketCount = 2: a slot in market 2 or 3 with one field non-zero (edge values of the range checks
    included) is refused; the same slot in market 1 passes."""
    base = _empty_book_inputs()
    bad = {**base, "slots": [[to_field(v) for v in slot]] + base["slots"][1:]}
    with pytest.raises(WitnessError):
        compute_witness(figures, bad, tmp_path / "w.wtns")
    ok = {**base, "slots": [[1, *(to_field(v) for v in slot[1:])]] + base["slots"][1:]}
    assert read_wtns(compute_witness(figures, ok, tmp_path / "w.wtns"))  # the same slot in market 1 < 2 passes


def _pad_inputs(padded: int, leaf: Leaf) -> dict:
    return {"paddedIn": padded, "idHash": leaf.id_hash, "salt": leaf.salt, "collateral": to_field(leaf.collateral),
            "slots": _slots(leaf)}


@pytest.mark.parametrize("field", ["salt", "collateral", "slot0.0", "slot1.1", "slot2.2", "slot3.3"])
def test_padding_leaf_must_be_all_zero(pad, tmp_path, field):
    """A leaf with id hash 0 passes only as the padding leaf (its hash); one non-zero field (each part of a
    slot, in a different slot each) is refused."""
    for padded in (0, 1):
        w = read_wtns(compute_witness(pad, _pad_inputs(padded, PADDING_LEAF), tmp_path / "w.wtns"))
        assert w[1] == 1
    leaf = PADDING_LEAF
    if field == "salt":
        leaf = Leaf(0, 1, 0, leaf.slots)
    elif field == "collateral":
        leaf = Leaf(0, 0, -1, leaf.slots)
    else:
        k, part = int(field[4]), int(field[-1])
        values = [0, 0, 0, 0]
        values[part] = 1
        leaf = Leaf(0, 0, 0, tuple(Slot(*values) if i == k else Slot() for i in range(4)))
    with pytest.raises(WitnessError):
        compute_witness(pad, _pad_inputs(0, leaf), tmp_path / "w.wtns")


def test_only_padding_follows_padding(pad, tmp_path):
    """A real leaf (any id hash, in any order: the position is the engine's index) passes before padding
    and is refused after it; padded is the one bit the chain carries."""
    rng = random.Random(9)
    real = leaf_of(Account(OWNERS[7], 0, 3_718_281_828_459_045_235, {}), SECRET)
    for id_hash in (real.id_hash, 1, rng.randrange(1, 2**248), 2**248 - 1):
        leaf = Leaf(id_hash, real.salt, real.collateral, real.slots)
        assert read_wtns(compute_witness(pad, _pad_inputs(0, leaf), tmp_path / "w.wtns"))[1] == 0
        with pytest.raises(WitnessError):
            compute_witness(pad, _pad_inputs(1, leaf), tmp_path / "w.wtns")
