"""The on-chain inclusion verifier against the Python mirror: leaf hashes, roots, verification results
and reverts (same custom error, same args) on valid and tampered proofs; the CommitmentRegistry."""

from __future__ import annotations

import json
import random

import pytest
from commit_books import fast_leaf_hasher, random_book

from pymargin.chain.compile import OUT_DIR, load_artifact
from pymargin.chain.contracts import Contract
from pymargin.chain.tx import ContractRevert, node_signer
from pymargin.chain import commitments as onchain
from pymargin.commit.commitment import commit_accounts
from pymargin.commit.inclusion import InclusionError, parse_proof, proof_document, verify_proof
from pymargin.commit.leaf import EMPTY_SLOT, Leaf, Slot
from pymargin.commit.poseidon import P
from pymargin.commit.tree import Node, compute_root
from pymargin.errors import Revert

SECRET = b"\x07" * 32


@pytest.fixture(scope="module")
def fast_registry(artifacts):
    """A CommitmentRegistry and its hashers on the fast in-process EVM."""
    from pymargin.chain.fastevm import FastEVM

    evm = FastEVM()
    onchain.hasher_artifact(6)
    node_hasher = evm.deploy(onchain.hasher_name(6)).address
    return evm.deploy("CommitmentRegistry", node_hasher, fast_leaf_hasher(evm).address, "0x" + "11" * 20)


def _outcome(fn):
    """('ok', value) or ('revert', error name, args) of a Python mirror or contract call."""
    try:
        return ("ok", fn())
    except (Revert, ContractRevert) as exc:
        return ("revert", exc.name, exc.args_)


def _random_signed(rng: random.Random, bound: int) -> int:
    if rng.random() < 0.08:  # sometimes just outside, sometimes at the edge
        return rng.choice([-1, 1]) * (bound + rng.randrange(3) - 1)
    return rng.choice([-1, 1]) * rng.randrange(2 ** rng.randrange(1, bound.bit_length()))


def _random_leaf(rng: random.Random) -> Leaf:
    def slot():
        if rng.random() < 0.3:
            return EMPTY_SLOT
        market = rng.randrange(2**64) if rng.random() < 0.9 else 2**64 + rng.randrange(2)
        return Slot(market, _random_signed(rng, 2**94), _random_signed(rng, 2**130), _random_signed(rng, 2**100))

    id_hash = rng.randrange(2**248) if rng.random() < 0.95 else 2**248 + rng.randrange(5)
    salt = rng.randrange(2**248) if rng.random() < 0.95 else 2**248
    return Leaf(id_hash, salt, _random_signed(rng, 2**128), tuple(slot() for _ in range(4)))


def test_leaf_hash_parity_on_random_leaves(fast_registry):
    rng = random.Random(17)
    outcomes = {"ok": 0, "revert": 0}
    for _ in range(400):
        leaf = _random_leaf(rng)
        python = _outcome(leaf.hash)
        chain = _outcome(lambda: fast_registry.call("leafHash", onchain.leaf_arg(leaf)))
        assert python == chain, leaf
        outcomes[python[0]] += 1
    assert outcomes["ok"] > 50 and outcomes["revert"] > 50  # both paths exercised


def test_account_id_hash_parity(fast_registry):
    from pymargin.commit.leaf import account_id_hash

    for account_id in ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed:0", "x:1", "ü" * 200, ""]:
        assert fast_registry.call("accountIdHash", account_id) == account_id_hash(account_id)


@pytest.fixture(scope="module")
def committed():
    accounts, markets = random_book(5, 21)
    return commit_accounts(accounts, markets, SECRET, epoch=2)


@pytest.fixture(scope="module")
def other_tree():
    accounts, markets = random_book(6, 21)
    return commit_accounts(accounts, markets, SECRET, epoch=2)


def _tamperings(committed, other_tree):
    """(name, leaf, equity, mm, index, siblings, root_hash) of valid and tampered proofs."""
    rng = random.Random(3)
    cases = []
    for i in rng.sample(range(len(committed.accounts)), 4):
        leaf = committed.leaf(i, SECRET)
        node = committed.tree.node(0, i)
        sib = committed.tree.siblings(i)
        root = committed.root.hash
        depth = committed.tree.depth
        k = rng.randrange(depth)
        bumped = list(sib)
        bumped[k] = Node(sib[k].hash ^ 1, sib[k].equity, sib[k].mm)
        summed = list(sib)
        summed[k] = Node(sib[k].hash, sib[k].equity + 1, sib[k].mm)
        mmed = list(sib)
        mmed[k] = Node(sib[k].hash, sib[k].equity, sib[k].mm + 1)
        too_big = list(sib)
        too_big[k] = Node(P + 1, sib[k].equity, sib[k].mm)
        huge_sum = list(sib)
        huge_sum[k] = Node(sib[k].hash, 2**172, sib[k].mm)
        j = rng.randrange(len(other_tree.accounts))
        cases += [
            ("valid", leaf, node.equity, node.mm, i, sib, root),
            ("wrong sibling hash", leaf, node.equity, node.mm, i, bumped, root),
            ("wrong sibling equity", leaf, node.equity, node.mm, i, summed, root),
            ("wrong sibling mm", leaf, node.equity, node.mm, i, mmed, root),
            ("wrong own equity", leaf, node.equity + 1, node.mm, i, sib, root),
            ("wrong index", leaf, node.equity, node.mm, i ^ (1 << k), sib, root),
            ("swapped order", leaf, node.equity, node.mm, i, list(reversed(sib)), root),
            ("leaf from another tree", other_tree.leaf(j, SECRET), other_tree.tree.node(0, j).equity,
             other_tree.tree.node(0, j).mm, j, other_tree.tree.siblings(j), root),
            ("wrong salt", Leaf(leaf.id_hash, leaf.salt ^ 1, leaf.collateral, leaf.slots), node.equity, node.mm, i, sib, root),
            ("sibling hash >= p", leaf, node.equity, node.mm, i, too_big, root),
            ("sibling sum >= 2^172", leaf, node.equity, node.mm, i, huge_sum, root),
            ("index >= 2^depth", leaf, node.equity, node.mm, i + 2**depth, sib, root),
            ("no siblings", leaf, node.equity, node.mm, 0, [], root),
            ("33 siblings", leaf, node.equity, node.mm, 0, sib + [sib[0]] * (33 - depth), root),
        ]
    return cases


def test_compute_root_and_verify_parity_on_valid_and_tampered_proofs(fast_registry, committed, other_tree):
    results = {}
    for name, leaf, equity, mm, index, siblings, root_hash in _tamperings(committed, other_tree):
        args = (onchain.leaf_arg(leaf), equity, mm, index, [onchain.node_arg(s) for s in siblings])
        python = _outcome(lambda: compute_root(leaf, equity, mm, index, siblings))
        chain = _outcome(lambda: onchain.node_from_abi(fast_registry.call("computeRoot", *args)))
        assert python == chain, name
        verified = _outcome(lambda: fast_registry.call("verifyInclusion", root_hash, *args))
        expected = ("ok", python[1].hash == root_hash) if python[0] == "ok" else python
        assert verified == expected, name
        results.setdefault(name, set()).add(verified[1] if verified[0] == "ok" else verified[1])
    assert results["valid"] == {True}
    for name in ("wrong sibling hash", "wrong sibling equity", "wrong sibling mm", "wrong own equity", "wrong index",
                 "swapped order", "leaf from another tree", "wrong salt"):
        assert results[name] == {False}, name
    assert results["sibling hash >= p"] == {"NotAFieldElement"}
    assert results["sibling sum >= 2^172"] == {"SumOutOfRange"}
    assert results["index >= 2^depth"] == {"IndexOutOfRange"}
    assert results["no siblings"] == results["33 siblings"] == {"DepthOutOfRange"}


def test_python_verifier_rejects_the_same_tampered_proofs(committed):
    """The JSON route: each tampering of a proof file is rejected offline with a reason."""
    doc = proof_document(committed, 4, SECRET)
    verify_proof(parse_proof(json.loads(json.dumps(doc))))
    for path, change in [(("siblings", 0, "hash"), 1), (("siblings", 1, "equity"), 1), (("index",), 1)]:
        bad = json.loads(json.dumps(doc))
        obj = bad
        for key in path[:-1]:
            obj = obj[key]
        value = obj[path[-1]]  # a hash is 0x hex, any other integer a decimal string
        obj[path[-1]] = f"0x{int(value, 16) ^ change:064x}" if value.startswith("0x") else str(int(value) ^ change)
        with pytest.raises(InclusionError, match="leads to root hash"):
            verify_proof(parse_proof(bad))


# ---------------------------------------------------------------- the registry on the devnet


@pytest.fixture
def registry(chain, artifacts):
    return onchain.deploy_registry(chain, node_signer(chain))


def test_registry_posts_roots_and_verifies_inclusion(chain, registry, committed):
    owner = node_signer(chain)
    receipt = onchain.post_root(registry, committed.epoch, committed.root, owner)
    assert registry.decode_logs(receipt) == [("RootPosted", {"epoch": 2, "rootHash": committed.root.hash,
                                                             "totalEquity": committed.root.equity,
                                                             "totalMm": committed.root.mm})]
    assert onchain.node_from_abi(registry.call("rootOf", 2)) == committed.root
    proof = parse_proof(json.loads(json.dumps(proof_document(committed, 7, SECRET))))
    args = (onchain.leaf_arg(proof.leaf), proof.liability, proof.mm, proof.index, [onchain.node_arg(s) for s in proof.siblings])
    assert registry.call("verifyInclusionAt", 2, *args) is True
    assert registry.call("verifyInclusionAt", 2, args[0], proof.liability + 1, *args[2:]) is False
    with pytest.raises(ContractRevert) as info:
        registry.call("verifyInclusionAt", 3, *args)
    assert (info.value.name, info.value.args_) == ("UnknownEpoch", (3,))


def test_registry_rejects_reposts_zero_roots_and_strangers(chain, registry, committed):
    owner, stranger = node_signer(chain, 0), node_signer(chain, 1)
    onchain.post_root(registry, 1, committed.root, owner)
    with pytest.raises(ContractRevert) as info:
        onchain.post_root(registry, 1, committed.root, owner)
    assert (info.value.name, info.value.args_) == ("EpochAlreadyPosted", (1,))
    with pytest.raises(ContractRevert) as info:
        onchain.post_root(registry, 4, Node(0, 0, 0), owner)
    assert info.value.name == "ZeroRoot"
    with pytest.raises(ContractRevert) as info:
        onchain.post_root(registry, 5, committed.root, stranger)
    assert (info.value.name, info.value.args_) == ("OwnableUnauthorizedAccount", (stranger.address,))


def test_deployed_hashers_run_the_generated_code(chain, registry):
    """The node's hasher is circomlibjs's generated code; the leaf's is Poseidon11.sol over its data contracts."""
    artifact = json.loads(onchain.hasher_artifact(6).read_text())
    assert chain.w3.eth.get_code(registry.call("poseidon6")).hex().removeprefix("0x") == artifact["deployedBytecode"]["object"][2:]
    leaf_hasher = Contract(chain, "Poseidon11", registry.call("poseidon11"), load_artifact("Poseidon11"))
    data = [leaf_hasher.call(name) for name in ("first", "second", "third")]
    for address, name in zip(data, onchain.wide_poseidon_constants(onchain.LEAF_ARITY)):
        code = json.loads((OUT_DIR / "circomlibjs" / f"{name}.json").read_text())["deployedBytecode"]["object"]
        assert chain.w3.eth.get_code(address).hex().removeprefix("0x") == code[2:]
