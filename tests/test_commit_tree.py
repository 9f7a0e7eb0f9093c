"""Leaves, the Merkle sum tree and offline inclusion proofs (docs/spec.md §6)."""

from __future__ import annotations

import copy
import json
import random

import pytest
from commit_books import random_book

from pymargin.commit import leaf as leafmod
from pymargin.commit.commitment import commit_accounts
from pymargin.commit.inclusion import InclusionError, parse_proof, proof_document, verify_proof
from pymargin.commit.leaf import (
    EMPTY_SLOT,
    PADDING_LEAF,
    Leaf,
    Slot,
    account_id_hash,
    leaf_hashes,
    leaf_margins,
    leaf_of,
    leaf_sums,
    leaf_sums_many,
)
from pymargin.commit.poseidon import P, NotAFieldElement, poseidon
from pymargin.commit.tree import (
    DepthOutOfRange,
    IndexOutOfRange,
    Node,
    SumOutOfRange,
    SumTree,
    compute_root,
    parent,
    root_from_path,
    zero_nodes,
)
from pymargin.errors import Revert, UserError
from pymargin.model import Account, MarketView, Position

SECRET = bytes(range(32))


def _naive_root(leaves: list[Node], depth: int) -> Node:
    """The root by plain recursion over all 2^depth leaves (padding included): an independent reference."""
    level = leaves + [Node(PADDING_LEAF.hash(), 0, 0)] * (2**depth - len(leaves))
    while len(level) > 1:
        level = [parent(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


# ---------------------------------------------------------------- leaf


def test_leaf_hash_follows_the_spec_formula():
    slot = Slot(7, -3 * 10**18, -2 * 10**21, -5)
    leaf = Leaf(11, 22, -10**20, (slot, EMPTY_SLOT, EMPTY_SLOT, EMPTY_SLOT))
    a0 = 7 * 2**95 + (-3 * 10**18 + 2**94)
    b0 = (-2 * 10**21 + 2**130) * 2**101 + (-5 + 2**100)
    empty_a, empty_b = 2**94, 2**231 + 2**100
    assert leaf.hash() == poseidon([11, 22, -10**20 + 2**128, a0, b0, empty_a, empty_b, empty_a, empty_b, empty_a, empty_b])


def test_padding_leaf_is_all_zero_fields():
    assert PADDING_LEAF.hash() == poseidon([0, 0, 2**128] + [2**94, 2**231 + 2**100] * 4)
    assert zero_nodes()[0] == Node(PADDING_LEAF.hash(), 0, 0)


def test_id_hash_is_top_248_bits_of_keccak():
    from eth_hash.auto import keccak

    account_id = "0x00000000000000000000000000000000000000aB:3"
    assert account_id_hash(account_id) == int.from_bytes(keccak(account_id.encode()), "big") >> 8
    assert account_id_hash(account_id) < 2**248


def test_salt_depends_on_secret_and_account():
    a, b = "0xA:0", "0xA:1"
    assert leafmod.account_salt(SECRET, a) != leafmod.account_salt(SECRET, b)
    assert leafmod.account_salt(SECRET, a) != leafmod.account_salt(bytes(32), a)
    with pytest.raises(UserError, match="32 bytes"):
        leafmod.account_salt(b"short", a)


def test_slots_are_sorted_and_padded():
    account = Account("0xA", 0, 5, {9: Position(9, 1, 2, 3), 2: Position(2, -1, -2, -3)})
    leaf = leaf_of(account, SECRET)
    assert [s.market_id for s in leaf.slots] == [2, 9, 0, 0]
    assert leaf.slots[2:] == (EMPTY_SLOT, EMPTY_SLOT)
    # the same account with its positions inserted in another order commits identically
    same = Account("0xA", 0, 5, {2: Position(2, -1, -2, -3), 9: Position(9, 1, 2, 3)})
    assert leaf_of(same, SECRET).hash() == leaf.hash()


@pytest.mark.parametrize(
    "leaf, error, args",
    [
        (Leaf(2**248, 0, 0, (EMPTY_SLOT,) * 4), leafmod.IdHashOutOfRange, (2**248,)),
        (Leaf(1, 2**248, 0, (EMPTY_SLOT,) * 4), leafmod.SaltOutOfRange, (2**248,)),
        (Leaf(1, 0, -(2**128), (EMPTY_SLOT,) * 4), leafmod.CollateralOutOfBounds, (-(2**128),)),
        (Leaf(1, 0, 0, (EMPTY_SLOT, Slot(2**64), EMPTY_SLOT, EMPTY_SLOT)), leafmod.MarketIdOutOfRange, (2**64,)),
        (Leaf(1, 0, 0, (Slot(1, 2**94),) + (EMPTY_SLOT,) * 3), leafmod.SizeOutOfBounds, (2**94,)),
        (Leaf(1, 0, 0, (Slot(1, 1, -(2**130)),) + (EMPTY_SLOT,) * 3), leafmod.CostBasisOutOfBounds, (-(2**130),)),
        (Leaf(1, 0, 0, (Slot(1, 1, 1, 2**100),) + (EMPTY_SLOT,) * 3), leafmod.FundingIndexOutOfBounds, (2**100,)),
    ],
)
def test_leaf_bounds_raise_the_contract_errors(leaf, error, args):
    with pytest.raises(error) as info:
        leaf.hash()
    assert info.value.args_ == args


def test_values_just_inside_the_bounds_hash():
    slot = Slot(2**64 - 1, -(2**94 - 1), 2**130 - 1, -(2**100 - 1))
    Leaf(2**248 - 1, 2**248 - 1, 2**128 - 1, (slot,) * 4).hash()


def _random_leaf(rng: random.Random) -> Leaf:
    """A leaf with 0-4 occupied slots (any of the four positions), every value anywhere in its bounds."""
    def slot():
        if rng.random() < 0.35:
            return EMPTY_SLOT
        return Slot(rng.randrange(2**64), rng.randrange(-(2**94) + 1, 2**94), rng.randrange(-(2**130) + 1, 2**130),
                    rng.randrange(-(2**100) + 1, 2**100))
    return Leaf(rng.randrange(2**248), rng.randrange(2**248), rng.randrange(-(2**128) + 1, 2**128),
                (slot(), slot(), slot(), slot()))


def test_batched_leaf_hashes_equal_leaf_hash():
    rng = random.Random(20261201)
    leaves = [_random_leaf(rng) for _ in range(600)] + [PADDING_LEAF]
    assert leaf_hashes(leaves) == [leaf.hash() for leaf in leaves]
    assert leaf_hashes([]) == []


def test_batched_leaf_hashes_raise_the_first_bad_leafs_error():
    good = Leaf(1, 2, 3, (EMPTY_SLOT,) * 4)
    leaves = [good, Leaf(1, 0, 0, (Slot(1, 2**94),) + (EMPTY_SLOT,) * 3), Leaf(2**248, 0, 0, (EMPTY_SLOT,) * 4)]
    with pytest.raises(leafmod.SizeOutOfBounds) as info:
        leaf_hashes(leaves)
    assert info.value.args_ == (2**94,)


def test_leaf_sums_commit_negative_equity_as_zero_liability():
    markets = {0: MarketView(10**18, 0, 10**17, 5 * 10**16)}
    assert leaf_sums(leaf_of(Account("0xA", 0, -1, {}), SECRET), markets, "0xA:0") == (0, 0)
    account = Account("0xA", 0, 10, {0: Position(0, 10**18, 2 * 10**18, 0)})  # equity = 10 - 2e18 + 1e18 < 0
    assert leaf_sums(leaf_of(account, SECRET), markets, "0xA:0") == (0, 5 * 10**16)
    assert leaf_margins(leaf_of(account, SECRET), markets, "0xA:0") == (10 - 10**18, 5 * 10**16, 10**17)


def _sums_or_error(fn):
    try:
        return fn()
    except (UserError, Revert) as exc:
        return type(exc), str(exc)


@pytest.mark.parametrize("seed", range(6))
def test_batched_leaf_sums_equal_leaf_sums(seed):
    """leaf_sums_many = leaf_sums leaf by leaf on random books (negative equity, values up to the bounds), and the
    first leaf that fails raises the same error (a liability not below 2^140, a market without a view)."""
    rng = random.Random(seed)
    accounts, markets = random_book(seed, 60, extreme=seed % 2 == 1)
    accounts = [Account(a.owner, a.sub, a.collateral - rng.randrange(2**rng.randrange(1, 120)), a.positions)
                if rng.random() < 0.3 else a for a in accounts]  # some under water
    if seed >= 4:  # a bad leaf in the middle: a liability over 2^140, or a market without a view
        k = rng.randrange(10, 50)
        a = accounts[k]
        accounts[k] = (Account(a.owner, a.sub, 2**141 + 5, a.positions) if seed == 4 else
                       Account(a.owner, a.sub, a.collateral, {**a.positions, 999: Position(999, 7, 3, 1)}))
    leaves = [leaf_of(a, SECRET) for a in accounts]
    wheres = [a.account_id for a in accounts]
    one_by_one = _sums_or_error(lambda: [leaf_sums(leaf, markets, w) for leaf, w in zip(leaves, wheres)])
    assert _sums_or_error(lambda: leaf_sums_many(leaves, markets, wheres)) == one_by_one
    if seed < 4:
        assert any(liability == 0 for liability, _ in one_by_one) and any(mm > 0 for _, mm in one_by_one)
    else:
        assert one_by_one[0] is UserError


# ---------------------------------------------------------------- tree


@pytest.mark.parametrize("count, depth", [(0, None), (1, None), (2, 1), (5, None), (5, 5), (33, None)])
def test_tree_root_equals_naive_recursion(count, depth):
    rng = random.Random(count)
    leaves = [Node(rng.randrange(P), rng.randrange(2**140), rng.randrange(2**140)) for _ in range(count)]
    tree = SumTree.from_nodes(leaves, depth)
    assert tree.root == _naive_root(leaves, tree.depth)
    assert tree.root.equity == sum(n.equity for n in leaves)
    assert tree.root.mm == sum(n.mm for n in leaves)
    for i in range(2**tree.depth):
        leaf = leaves[i] if i < count else zero_nodes()[0]
        assert root_from_path(leaf, i, tree.siblings(i)) == tree.root


def test_parallel_build_equals_serial():
    rng = random.Random(5)
    leaves = [Node(rng.randrange(P), rng.randrange(2**140), rng.randrange(2**140)) for _ in range(5000)]
    serial = SumTree.from_nodes(leaves, 14, workers=1)
    parallel = SumTree.from_nodes(leaves, 14, workers=2)
    assert parallel.root == serial.root
    assert parallel.levels == serial.levels


def test_tree_rejects_bad_leaves_and_sizes():
    ok = Node(P - 1, 2**140 - 1, 2**140 - 1)  # every bound's last value, then its first value out, on any leaf
    SumTree.from_nodes([ok] * 3)
    for bad, error, value in ((Node(1, 2**140, 0), SumOutOfRange, 2**140), (Node(1, 5, 2**141 + 3), SumOutOfRange, 2**141 + 3),
                              (Node(P, 0, 0), NotAFieldElement, P), (Node(2**256 - 1, 0, 0), NotAFieldElement, 2**256 - 1)):
        with pytest.raises(error) as info:
            SumTree.from_nodes([ok, bad, Node(P + 1, 2**200, 0)])
        assert info.value.args_ == (value,)
    with pytest.raises(UserError, match="do not fit"):
        SumTree.from_nodes([Node(1, 0, 0)] * 5, depth=2)
    with pytest.raises(UserError, match="depth"):
        SumTree.from_nodes([], depth=33)


def test_parent_checks_inputs_in_contract_order():
    ok = Node(1, 2, 3)
    with pytest.raises(NotAFieldElement):
        parent(Node(P, 2**200, 0), ok)  # the left hash is checked before the left sums
    with pytest.raises(SumOutOfRange) as info:
        parent(Node(1, 2**172, 0), Node(P, 0, 0))
    assert info.value.args_ == (2**172,)
    with pytest.raises(SumOutOfRange):
        parent(ok, Node(1, 0, 2**172))


def test_path_errors():
    leaf = Node(1, 0, 0)
    with pytest.raises(DepthOutOfRange):
        root_from_path(leaf, 0, [])
    with pytest.raises(DepthOutOfRange):
        root_from_path(leaf, 0, [leaf] * 33)
    with pytest.raises(IndexOutOfRange) as info:
        root_from_path(leaf, 4, [leaf] * 2)
    assert info.value.args_ == (4, 2)
    with pytest.raises(IndexOutOfRange):  # index and depth are checked before the leaf bounds
        compute_root(Leaf(2**248, 0, 0, (EMPTY_SLOT,) * 4), 0, 0, 4, [leaf] * 2)


# ---------------------------------------------------------------- commitment


@pytest.mark.parametrize("extreme", [False, True])
def test_commitment_keeps_the_books_order_and_sums_margin(extreme):
    accounts, markets = random_book(11, 40, extreme)
    commitment = commit_accounts(accounts, markets, SECRET, epoch=9)
    assert [a.account_id for a in commitment.accounts] == [a.account_id for a in accounts]
    id_hashes = [account_id_hash(a.account_id) for a in commitment.accounts]
    assert id_hashes != sorted(id_hashes)  # the book's order (the engine's account index), not the id hashes' order
    from pymargin import margin

    assert commitment.root.equity == sum(max(margin.equity(a.collateral, list(a.positions.values()), markets), 0) for a in accounts)
    assert commitment.root.mm == sum(margin.maintenance_margin(list(a.positions.values()), markets) for a in accounts)
    for i, account in enumerate(commitment.accounts):
        assert commitment.tree.node(0, i).hash == leaf_of(account, SECRET).hash()


def test_leaf_i_is_account_i_and_secret_changes_the_root():
    accounts, markets = random_book(3, 20)
    a = commit_accounts(accounts, markets, SECRET, 1)
    b = commit_accounts(list(reversed(accounts)), markets, SECRET, 1)
    c = commit_accounts(accounts, markets, bytes(32), 1)
    assert b.root.hash != a.root.hash and (b.root.equity, b.root.mm) == (a.root.equity, a.root.mm)
    assert [b.tree.node(0, i).hash for i in range(20)] == [a.tree.node(0, 19 - i).hash for i in range(20)]
    assert c.root.hash != a.root.hash and (c.root.equity, c.root.mm) == (a.root.equity, a.root.mm)


def test_commitment_in_worker_processes_equals_serial():
    from pymargin.commit.tree import PARALLEL_MIN_LEAVES

    accounts, markets = random_book(11, PARALLEL_MIN_LEAVES + 3)  # 4 ranges per worker, the last one short
    serial = commit_accounts(accounts, markets, SECRET, 1, workers=1)
    parallel = commit_accounts(accounts, markets, SECRET, 1, workers=2)
    assert parallel.accounts == serial.accounts and parallel.tree.levels == serial.tree.levels


def test_commitment_rejects_duplicates_bad_accounts_and_epochs():
    accounts, markets = random_book(4, 5)
    with pytest.raises(UserError, match="appears twice"):
        commit_accounts(accounts + [copy.deepcopy(accounts[2])], markets, SECRET, 1)
    broke = copy.deepcopy(accounts[0])
    broke.collateral = -1
    broke.positions.clear()
    bad_debt = commit_accounts([broke, accounts[1]], markets, SECRET, 1)  # negative equity is committed, liability 0
    assert bad_debt.tree.node(0, bad_debt.index_of(broke.account_id)).equity == 0
    too_many = Account("0xB", 0, 10**30, {m: Position(m, 1, 0, 0) for m in range(5)})
    with pytest.raises(UserError, match="at most 4"):
        commit_accounts([too_many], {m: MarketView(1, 0, 0, 0) for m in range(5)}, SECRET, 1)
    with pytest.raises(UserError, match="epoch"):
        commit_accounts(accounts, markets, SECRET, -1)


# ---------------------------------------------------------------- inclusion proofs (offline)


@pytest.fixture(scope="module")
def committed():
    accounts, markets = random_book(21, 12)
    return commit_accounts(accounts, markets, SECRET, epoch=5)


def _doc(committed, index=3) -> dict:
    return json.loads(json.dumps(proof_document(committed, index, SECRET)))


def test_every_proof_verifies(committed):
    for i in range(len(committed.accounts)):
        assert verify_proof(parse_proof(_doc(committed, i))) == committed.root


def test_a_proof_carries_only_its_own_salt(committed):
    doc = _doc(committed, 3)
    others = {str(committed.leaf(i, SECRET).salt) for i in range(len(committed.accounts)) if i != 3}
    assert not others & set(json.dumps(doc).replace('"', " ").split())


def _tampered(committed, mutate) -> str:
    doc = _doc(committed)
    mutate(doc)
    with pytest.raises(InclusionError) as info:
        verify_proof(parse_proof(doc))
    return str(info.value)


def test_tampered_proofs_fail_with_a_reason(committed):
    def bump(path):
        def mutate(doc):
            *keys, last = path
            obj = doc
            for k in keys:
                obj = obj[k]
            value = obj[last]  # a hash is 0x hex, any other integer a decimal string
            obj[last] = f"0x{int(value, 16) + 1:064x}" if value.startswith("0x") else str(int(value) + 1)
        return mutate

    assert "leads to root hash" in _tampered(committed, bump(["siblings", 1, "hash"]))
    assert "leads to root hash" in _tampered(committed, bump(["siblings", 2, "equity"]))
    assert "leads to root hash" in _tampered(committed, bump(["index"]))
    assert "leads to root hash" in _tampered(committed, lambda d: d["siblings"].reverse())
    assert "root totals" in _tampered(committed, bump(["root", "equity"]))
    assert "leaf_hash" in _tampered(committed, bump(["account", "collateral"]))
    assert "leaf_hash" in _tampered(committed, bump(["account", "salt"]))
    assert "not the hash of account" in _tampered(committed, lambda d: d["account"].update(sub="7"))
    assert "equity/mm/im/liability" in _tampered(committed, bump(["equity"]))
    assert "equity/mm/im/liability" in _tampered(committed, bump(["mm"]))
    assert "equity/mm/im/liability" in _tampered(committed, bump(["im"]))
    assert "equity/mm/im/liability" in _tampered(committed, bump(["liability"]))
    assert "siblings for a tree of depth" in _tampered(committed, lambda d: d["siblings"].pop())
    assert "out of bounds" in _tampered(committed, lambda d: d["account"].update(collateral=str(2**128)))


def test_a_different_market_view_changes_the_recomputed_margin(committed):
    index = next(i for i, a in enumerate(committed.accounts) if a.positions)
    doc = _doc(committed, index)
    view = next(iter(doc["markets"].values()))
    view["price_wad"] = str(int(view["price_wad"]) + 10**18)
    with pytest.raises(InclusionError, match="equity/mm"):
        verify_proof(parse_proof(doc))


def test_root_hash_mismatch_is_reported(committed):
    doc = _doc(committed)
    doc["root"]["hash"] = f"0x{int(doc['root']['hash'], 16) ^ 1:064x}"
    with pytest.raises(InclusionError, match="not the committed root"):
        verify_proof(parse_proof(doc))


def test_a_leaf_from_another_tree_is_rejected(committed):
    accounts, markets = random_book(99, 12)
    other = commit_accounts(accounts, markets, SECRET, epoch=5)
    doc = json.loads(json.dumps(proof_document(other, 2, SECRET)))
    doc["root"] = committed.root.to_json()
    with pytest.raises(InclusionError, match="not the committed root"):
        verify_proof(parse_proof(doc))


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("siblings"), "missing field siblings"),
    (lambda d: d.update(epoch=5), "epoch must be an integer as a decimal string"),
    (lambda d: d["account"].update(collateral="1.5"), "account.collateral must be an integer as a decimal string"),
    (lambda d: d["account"]["positions"].append({"market_id": "1"}), r"missing field account.positions\[\d\].size"),
    (lambda d: d.update(format="other"), "not a pymargin-inclusion-v3 document"),
])
def test_malformed_proofs_say_which_field(committed, mutate, message):
    doc = _doc(committed)
    mutate(doc)
    with pytest.raises(InclusionError, match=message):
        parse_proof(doc)


def test_inclusion_proof_shows_negative_equity_and_zero_liability():
    from pymargin import margin

    accounts, markets = random_book(8, 6)
    broke = next(a for a in accounts if a.positions)
    positions = list(broke.positions.values())
    broke.collateral -= margin.equity(broke.collateral, positions, markets) + 2_718_281_828_459_045_235  # equity −2.718… quote
    commitment = commit_accounts(accounts, markets, SECRET, 4)
    proof = parse_proof(json.loads(json.dumps(proof_document(commitment, commitment.index_of(broke.account_id), SECRET))))
    assert verify_proof(proof) == commitment.root
    assert (proof.equity, proof.liability) == (-2_718_281_828_459_045_235, 0)
    assert (proof.mm, proof.im) == (margin.maintenance_margin(positions, markets), margin.initial_margin(positions, markets))
    assert commitment.root.equity == sum(max(margin.equity(a.collateral, list(a.positions.values()), markets), 0) for a in accounts)
