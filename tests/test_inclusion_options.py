"""Inclusion proofs of options holders (docs/spec.md §6.2, §6.4–6.6): the proof document carries the option
slots and the option tables' rows the account's figures read; the Python verifier, the page's script (in
node) and the on-chain OptionsInclusionVerifier recompute leaf' = Poseidon_2(leaf, Poseidon_P(o…)) and agree
on every document: valid ones, tampered option sizes, a dropped option slot, a slot moved to another row, a
perp-only claim for an options holder, option bounds, and edited tables (which only the figures' recomputation
reads: the chain checks the leaf and the path); the proofs database serves the same documents; on anvil
check-inclusion --rpc and the page's opt-in agree. Books: tests/option_books.py (perp-only, hedged, naked,
settled-put and mixed holders, one and two underlyings, full precision).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import random

import pytest

from commit_books import fast_leaf_hasher
from option_books import NOW, option_world
from pymargin.browser import find_chromium
from pymargin.chain import commitments as onchain
from pymargin.chain.tx import ContractRevert
from pymargin.commit.inclusion import InclusionError, parse_proof, proof_document, verify_proof
from pymargin.commit.leaf import Leaf, OptionSlot, leaf_margins
from pymargin.commit.tree import Node
from pymargin.errors import Revert
from pymargin.zk import options as zo
from pymargin.zk import portfolio as zp
from test_page import OFFLINE_DRIVER, _node, _python_verdict, needs_node

SECRET = bytes(range(3, 35))
EPOCH = 9
PERP_ONLY_KEYS = ["format", "epoch", "depth", "index", "root", "account", "equity", "mm", "im", "liability", "leaf_hash", "markets", "siblings"]
# books: (seed, accounts, underlyings, P): one underlying (both markets on it), two underlyings with a spare slot
BOOKS = [(11, 7, 1, 2), (12, 6, 2, 3)]


def _book(seed: int, n: int, underlyings: int, p: int):
    world = option_world(seed, n, underlyings)
    tables = zo.option_tables(world.book, world.module.state.perp_series, 2, NOW, zp.PortfolioShape(u=underlyings, k=4, p=p))
    return world, tables, zo.commit_option_book(world.accounts, world.options, world.markets, tables, SECRET, EPOCH)


@pytest.fixture(scope="module")
def books():
    return [_book(*b) for b in BOOKS]


@pytest.fixture(scope="module")
def fast_verifiers(artifacts):
    """{P: OptionsInclusionVerifier} on the fast in-process EVM (its registry: any address; computeOptionsRoot reads none)."""
    from pymargin.chain.fastevm import FastEVM

    evm = FastEVM()
    hashers = {}
    for n in sorted({2, 6} | {p for *_, p in BOOKS}):
        onchain.hasher_artifact(n)
        hashers[n] = evm.deploy(onchain.hasher_name(n)).address
    leaf_hasher = fast_leaf_hasher(evm).address
    return {p: evm.deploy("OptionsInclusionVerifier", hashers[6], leaf_hasher, hashers[2], hashers[p], p, "0x" + "11" * 20)
            for *_, p in BOOKS}


def _redo_leaf_hash(doc: dict) -> None:
    """Set leaf_hash to the hash of the document's (edited) leaf: the tampering an attacker would make consistent."""
    proof = parse_proof(doc)
    doc["leaf_hash"] = f"0x{proof.leaf.hash():064x}"


def _option_tamperings(doc: dict) -> dict[str, tuple[dict, bool]]:
    """{name: (edited copy of an options holder's document, whether the chain still accepts it)}: edits of the leaf
    are rejected by every path; edits of the tables only by the figures' recomputation (offline paths)."""
    def edit(change, redo=False):
        d = copy.deepcopy(doc)
        change(d)
        if redo:
            _redo_leaf_hash(d)
        return d

    options = doc["account"]["options"]
    row0 = options[0]["row"]
    used = {o["row"] for o in options}
    other = next(r for r in doc["option_tables"]["rows"] if r not in used) if set(doc["option_tables"]["rows"]) - used else str(int(row0) + 1)

    def bump_size(d):
        d["account"]["options"][0]["size"] = str(int(d["account"]["options"][0]["size"]) + 1)

    def move(d):
        d["account"]["options"][0]["row"] = other
        d["account"]["options"].sort(key=lambda o: int(o["row"]))

    def perp_only(d):
        del d["account"]["options"], d["option_tables"]
        proof = parse_proof(d)
        equity, mm, im = leaf_margins(proof.leaf, proof.markets)  # the perp-only figures of its perps
        d.update(equity=str(equity), mm=str(mm), im=str(im), liability=str(max(equity, 0)), leaf_hash=f"0x{proof.leaf.hash():064x}")

    def bump_table(key):
        def change(d):
            row = d["option_tables"]["rows"][row0]
            if key == "array_wad":  # the scenarios' P&L reversed
                row[key] = [str(-int(a)) for a in row[key]]
            elif key == "som_wad":
                row[key] = str(int(row[key]) * 100 + 1)
            else:
                row[key] = str(int(row[key]) + 1)
        return change

    out = {
        "option size": (edit(bump_size), False),
        "option size, leaf hash redone": (edit(bump_size, redo=True), False),
        "option moved to another row": (edit(move, redo=True), False),
        "perp-only claim for an options holder": (edit(perp_only), False),
        "one more option slot (P + 1)": (edit(lambda d: d["option_tables"].__setitem__("slots", str(int(d["option_tables"]["slots"]) + 1)), redo=True), False),
        "option row past 2^64": (edit(lambda d: d["account"]["options"][-1].__setitem__("row", str(2**64))), False),
        "option size 2^94": (edit(lambda d: d["account"]["options"][0].__setitem__("size", str(-(2**94)))), False),
        "option size 0": (edit(lambda d: d["account"]["options"][0].__setitem__("size", "0")), False),
        "value v": (edit(bump_table("value_wad")), True),
        "som": (edit(bump_table("som_wad")), True),
        "array reversed": (edit(bump_table("array_wad")), True),
        "multiple": (edit(lambda d: d["option_tables"].__setitem__("multiple_wad", str(int(d["option_tables"]["multiple_wad"]) + 1))), True),
        "a row left out of the tables": (edit(lambda d: d["option_tables"]["rows"].pop(row0)), True),
        "an array of 15": (edit(lambda d: d["option_tables"]["rows"][row0]["array_wad"].pop()), False),
        "value 2^130": (edit(lambda d: d["option_tables"]["rows"][row0].__setitem__("value_wad", str(2**130))), False),
        "multiple below WAD": (edit(lambda d: d["option_tables"].__setitem__("multiple_wad", str(10**18 - 1))), False),
        "slots 9": (edit(lambda d: d["option_tables"].__setitem__("slots", "9")), False),
        "tables missing": (edit(lambda d: d.pop("option_tables")), False),
        "options not a list": (edit(lambda d: d["account"].__setitem__("options", {"row": row0})), False),
        "empty options": (edit(lambda d: d["account"].__setitem__("options", [])), False),
        "rows key with a leading zero": (edit(lambda d: d["option_tables"]["rows"].__setitem__("0" + row0, d["option_tables"]["rows"].pop(row0))), False),
    }
    if len(options) > 1:
        out["an option slot dropped"] = (edit(lambda d: d["account"]["options"].pop(), redo=True), False)
        out["option rows swapped"] = (edit(lambda d: d["account"]["options"].reverse()), False)
    if doc["account"]["positions"]:
        out["a perp row left out"] = (edit(lambda d: d["option_tables"]["perp_rows"].clear()), True)
    return out


def _chain_verdict(verifier, doc: dict):
    """The OptionsInclusionVerifier's verdict on a document that parses: ('ok', accepted) or ('revert', name, args)."""
    proof = parse_proof(doc)
    leaf = proof.leaf
    slots = leaf.options or (OptionSlot(),) * verifier.call("optionSlots")  # a perp-only leaf: P empty slots
    try:
        root = verifier.call("computeOptionsRoot", onchain.leaf_arg(leaf), [(o.row, o.size) for o in slots], proof.liability, proof.mm,
                             proof.index, [onchain.node_arg(s) for s in proof.siblings])
    except ContractRevert as exc:
        return ("revert", exc.name, exc.args_)
    return ("ok", Node(*root) == proof.root)


def _documents(books):
    """Every account's document and every tampering of each holder's: (book's P, name, doc, chain accepts)."""
    out = []
    for (_, _, _, p), (world, _, commitment) in zip(BOOKS, books):
        for i in range(len(commitment.accounts)):
            doc = proof_document(commitment, i, SECRET)
            out.append((p, "valid", doc, True))
            if "options" in doc["account"]:
                out += [(p, name, d, chain) for name, (d, chain) in _option_tamperings(doc).items()]
    return out


def test_documents_carry_the_option_slots_and_the_figures_of_the_statement(books):
    """A holder's document: its option slots by row (the series in the tables), the tables' rows it reads, and the
    statement's figures (pymargin.zk.options.account_figures, the engine's); a perp-only account's has §6.4's
    fields only. Each verifies."""
    holders = 0
    for world, tables, commitment in books:
        leaves = [commitment.leaf(i, SECRET) for i in range(len(commitment.accounts))]
        figures = zo.account_figures(tables, leaves, world.markets)
        for i, account in enumerate(commitment.accounts):
            doc = proof_document(commitment, i, SECRET)
            equity, mm, im = figures[i]
            assert (doc["equity"], doc["mm"], doc["im"], doc["liability"]) == (str(equity), str(mm), str(im), str(max(equity, 0)))
            assert (equity, mm, im) == world.engine_margins(account)
            held = world.options.get(account.account_id)
            if not held:
                assert list(doc) == PERP_ONLY_KEYS and "options" not in doc["account"]
            else:
                holders += 1
                assert list(doc) == PERP_ONLY_KEYS[:-1] + ["option_tables", "siblings"]
                rows = doc["option_tables"]["rows"]
                assert sorted((int(rows[o["row"]]["series_id"]), int(o["size"])) for o in doc["account"]["options"]) == sorted(held)
                assert doc["option_tables"]["slots"] == str(tables.shape.p)
            root = verify_proof(parse_proof(json.loads(json.dumps(doc))))
            assert root == commitment.root
    assert holders >= 8


def test_a_perp_only_book_writes_the_same_documents_as_before(books):
    """A book without options committed by commit_option_book gives exactly commit_accounts's documents."""
    from pymargin.commit.commitment import commit_accounts

    world, tables, _ = books[0]
    perps = [a for a in world.accounts if a.account_id not in world.options]
    plain = commit_accounts(perps, world.markets, SECRET, EPOCH)
    with_tables = zo.commit_option_book(perps, {}, world.markets, tables, SECRET, EPOCH)
    for i in range(len(perps)):
        assert json.dumps(proof_document(with_tables, i, SECRET)) == json.dumps(proof_document(plain, i, SECRET))


@needs_node
def test_python_page_and_chain_agree_on_every_document(books, fast_verifiers):
    """The same verdicts from check-inclusion's verifier, the page's script and the chain's verifier: every valid
    document (perp-only ones too, their leaf unchanged under P empty slots) passes all three; every edit of a
    holder's leaf fails all three (a bound: the same contract error); an edit of the tables fails both offline
    paths, with the same reason, while the chain, which reads no tables, still accepts the leaf and path."""
    docs = _documents(books)
    page = _node(OFFLINE_DRIVER, [doc for _, _, doc, _ in docs])
    kinds, caught = set(), {}
    for (p, name, doc, chain_accepts), mine in zip(docs, page):
        python = _python_verdict(doc)
        if not python["ok"]:
            mine = {"ok": mine["ok"], "reason": mine.get("reason")}
        assert mine == python, name
        # another som or array leaves MM unchanged where it is not the maximum (som of a long; a scenario of a hedge)
        assert python["ok"] == (name == "valid") or name in ("som", "array reversed"), (name, python)
        caught[name] = caught.get(name, False) or not python["ok"]
        try:
            parse_proof(doc)
        except InclusionError:
            continue  # malformed: no call to make
        chain = _chain_verdict(fast_verifiers[p], doc)
        if chain[0] == "revert" and chain[1] == "OptionSlotCount":  # the document's P is not the verifier's
            assert not chain_accepts and chain[2] == (int(doc["option_tables"]["slots"]), p), name
        elif chain[0] == "revert":
            assert not chain_accepts and python["reason"] == f"account data out of bounds: {chain[1]}({', '.join(map(str, chain[2]))},)", name
        else:
            assert chain == ("ok", chain_accepts), name
        kinds.add((name, chain[0]))
    assert caught["som"] and caught["array reversed"]
    names = {name for name, _ in kinds}
    assert {"option size", "an option slot dropped", "option moved to another row", "perp-only claim for an options holder", "value v"} <= names
    assert ("option row past 2^64", "revert") in kinds and ("option size 2^94", "revert") in kinds


def _random_options(rng: random.Random, p: int) -> tuple[OptionSlot, ...]:
    def one():
        if rng.random() < 0.25:
            return OptionSlot()
        row = rng.randrange(2**64) if rng.random() < 0.9 else 2**64 + rng.randrange(2)
        size = rng.choice([-1, 1]) * (rng.randrange(2 ** rng.randrange(1, 94)) if rng.random() < 0.9 else 2**94 - rng.randrange(2))
        return OptionSlot(row, size)
    return tuple(one() for _ in range(p))


def test_options_leaf_hash_parity_on_random_leaves(books, fast_verifiers):
    """Leaf.hash with option slots equals optionsLeafHash on random full-range slots: the same value, or the same
    error (MarketIdOutOfRange, SizeOutOfBounds) in the same order; a count other than P: OptionSlotCount."""
    rng = random.Random(615)
    base = books[1][2].leaf(0, SECRET)
    seen = {"ok": 0, "revert": 0}
    for k in range(160):
        p = BOOKS[k % 2][3]
        leaf = dataclasses.replace(base, collateral=rng.randrange(-(2**127), 2**127), options=_random_options(rng, p))
        try:
            python = ("ok", leaf.hash())
        except Revert as exc:
            python = ("revert", exc.name, exc.args_)
        try:
            chain = ("ok", fast_verifiers[p].call("optionsLeafHash", onchain.leaf_arg(leaf), onchain.option_slots_arg(leaf)))
        except ContractRevert as exc:
            chain = ("revert", exc.name, exc.args_)
        assert python == chain, leaf
        seen[python[0]] += 1
    assert seen["ok"] > 40 and seen["revert"] > 20
    short = dataclasses.replace(base, options=(OptionSlot(1, 5),))
    with pytest.raises(ContractRevert) as err:
        fast_verifiers[2].call("optionsLeafHash", onchain.leaf_arg(short), onchain.option_slots_arg(short))
    assert (err.value.name, err.value.args_) == ("OptionSlotCount", (1, 2))
    empty = Leaf(base.id_hash, base.salt, base.collateral, base.slots)
    assert fast_verifiers[3].call("optionsLeafHash", onchain.leaf_arg(empty), [(0, 0)] * 3) == empty.hash()


@needs_node
def test_page_poseidon_equals_circomlibjs_for_every_arity_a_leaf_uses():
    """The page's Poseidon for 1 to 8 inputs (Poseidon_2 and Poseidon_P of an options holder's leaf') equals
    circomlibjs's and pymargin's."""
    from pymargin.commit.poseidon import P, poseidon

    rng = random.Random(2024)
    cases = [[rng.randrange(P) for _ in range(n)] for n in range(1, 9) for _ in range(3)] + [[P - 1] * n for n in range(1, 9)]
    driver = """
    const { buildPoseidonReference } = require("circomlibjs");
    buildPoseidonReference().then((ref) => {
      console.log(JSON.stringify(DATA.map((xs) => [String(poseidon(xs.map(BigInt))), String(ref.F.toObject(ref(xs.map(BigInt))))])));
    });"""
    for xs, (page, circomlibjs) in zip(cases, _node(driver, [[str(x) for x in xs] for xs in cases])):
        assert int(page) == int(circomlibjs) == poseidon(xs)


@pytest.mark.anvil
def test_check_inclusion_on_chain_for_an_options_holder(books, artifacts, anvil_chain, capsys, tmp_path):
    """deploy-commitments --option-slots P, the root posted: check-inclusion --rpc accepts every account's proof (a
    holder's through the OptionsInclusionVerifier, a perp-only one through the registry) and rejects a holder's
    edited leaf with the offline reason, and with the chain's once the offline checks are fooled (a perp-only
    claim of its sums); a verifier of other roots is named."""
    from cli_support import run_cli
    from pymargin.chain.contracts import Contract
    from pymargin.chain.compile import load_artifact
    from pymargin.chain.tx import node_signer

    world, tables, commitment = books[0]
    url = anvil_chain.url
    code, out, err = run_cli(capsys, "--json", "deploy-commitments", "--rpc", url, "--option-slots", str(tables.shape.p))
    assert code == 0, err
    deployed = json.loads(out)
    registry = Contract(anvil_chain, "CommitmentRegistry", deployed["registry"], load_artifact("CommitmentRegistry"))
    onchain.post_root(registry, EPOCH, commitment.root, node_signer(anvil_chain))
    rpc = ["--rpc", url, "--registry", deployed["registry"], "--options-verifier", deployed["options_verifier"]]

    def check(doc, *args):
        path = tmp_path / "proof.json"
        path.write_text(json.dumps(doc))
        code, out, err = run_cli(capsys, "--json", "check-inclusion", str(path), *args)
        assert "Traceback" not in err
        return code, json.loads(out) if out else err

    holder = next(i for i, a in enumerate(commitment.accounts) if a.account_id in world.options)
    plain = next(i for i, a in enumerate(commitment.accounts) if a.account_id not in world.options)
    for i in (holder, plain):
        code, result = check(proof_document(commitment, i, SECRET), *rpc)
        assert code == 0 and result["checks"] == {"offline": "ok", "on_chain": "ok"}, result
    doc = proof_document(commitment, holder, SECRET)
    tampered = _option_tamperings(doc)
    code, result = check(tampered["option moved to another row"][0], *rpc)
    assert code == 1 and result["reason"] == _python_verdict(tampered["option moved to another row"][0])["reason"]
    # the chain's own verdict on a leaf the offline checks cannot see (the same sums claimed with no option slots)
    proof = parse_proof(doc)
    verifier = Contract(anvil_chain, "OptionsInclusionVerifier", deployed["options_verifier"], load_artifact("OptionsInclusionVerifier"))
    siblings = [onchain.node_arg(s) for s in proof.siblings]
    assert verifier.call("verifyInclusionAt", EPOCH, onchain.leaf_arg(proof.leaf), onchain.option_slots_arg(proof.leaf),
                         proof.liability, proof.mm, proof.index, siblings) is True
    assert verifier.call("verifyInclusionAt", EPOCH, onchain.leaf_arg(proof.leaf), [(0, 0)] * tables.shape.p,
                         proof.liability, proof.mm, proof.index, siblings) is False
    assert registry.call("verifyInclusionAt", EPOCH, onchain.leaf_arg(proof.leaf), proof.liability, proof.mm, proof.index, siblings) is False
    other = onchain.deploy_registry(anvil_chain, node_signer(anvil_chain))  # the same root posted elsewhere
    onchain.post_root(other, EPOCH, commitment.root, node_signer(anvil_chain))
    code, result = check(doc, "--rpc", url, "--registry", other.address, "--options-verifier", deployed["options_verifier"])
    assert code == 1 and result["reason"] == (f"the options verifier at {deployed['options_verifier']} checks the roots of "
                                              f"{deployed['registry']}, not of the registry {other.address}")
    # the page's script, asking the chain too (node's fetch to anvil; a CommitmentRegistry has no epochFigures:
    # its 13 words are stubbed), gives check-inclusion's verdicts
    driver = """
    const realRpc = rpcCall;
    rpcCall = async (url, method, params) => (method === "eth_call" && params[0].data.startsWith("0x" + selector("epochFigures(uint256)"))
      ? { result: "0x" + "00".repeat(32 * 13) } : realRpc(url, method, params));
    (async () => {
      const out = [];
      for (const [doc, registry, verifier] of DATA.cases) out.push(JSON.parse(resultJson((await runVerification(doc, DATA.url, registry, true, verifier)).result)));
      console.log(JSON.stringify(out));
    })();"""
    cases = [(doc, deployed["registry"], deployed["options_verifier"]), (doc, other.address, deployed["options_verifier"]),
             (proof_document(commitment, plain, SECRET), deployed["registry"], "")]
    page = _node(driver, {"url": url, "cases": cases})
    for (case, reg, ver), mine in zip(cases, page):
        code, theirs = check(case, "--rpc", url, "--registry", reg, *(["--options-verifier", ver] if ver else []))
        assert mine == theirs and code == (0 if mine["ok"] else 1), (mine, theirs)
    assert [r["ok"] for r in page] == [True, False, True]
    (missing,) = _node(driver, {"url": url, "cases": [(doc, deployed["registry"], "")]})
    assert missing["reason"] == "an options holder's proof is checked on chain by the OptionsInclusionVerifier: give its address, got ''"


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed: the page's browser test is skipped")
def test_page_in_chromium_shows_an_options_holders_positions(books, tmp_path):
    """Offline in Chromium: a holder's proof passes with check-inclusion's figures and the page lists its option
    positions by row and series; its perp-only claim fails with check-inclusion's reason."""
    from pymargin.page import write_page
    from test_page import _run_page

    world, _, commitment = books[1]
    index = next(i for i, a in enumerate(commitment.accounts) if len(world.options.get(a.account_id, ())) > 1)
    doc = proof_document(commitment, index, SECRET)
    claim = _option_tamperings(doc)["perp-only claim for an options holder"][0]
    page = write_page(tmp_path)
    (mine, other), verdict, dom = _run_page(page, [doc, claim], dom_too=True)
    python = _python_verdict(doc)
    assert mine == python and other == {"ok": False, "account": python["account"], "epoch": "9", "reason": _python_verdict(claim)["reason"]}
    assert verdict == "FAILED: 1 of 2 proofs do not verify (reasons below)."
    assert f"Option positions as committed ({doc['option_tables']['slots']} slots" in dom
    for option in doc["account"]["options"]:
        series = doc["option_tables"]["rows"][option["row"]]["series_id"]
        assert f"<tr><td>{option['row']}</td><td>{series}</td>" in dom


def test_the_proofs_database_serves_options_holders_the_same_documents(books, capsys, tmp_path):
    """write_commitment of a book with options: the database rebuilds every account's document exactly as
    proof_document writes it (a holder's option slots and rows included), and check-inclusion --db accepts it."""
    from cli_support import run_cli
    from pymargin.commit.inclusion import proof_document_from_db, write_commitment

    world, _, commitment = books[1]
    write_commitment(commitment, SECRET, tmp_path / "epoch")
    db = tmp_path / "epoch" / "proofs.sqlite"
    for i, account in enumerate(commitment.accounts):
        assert json.dumps(proof_document_from_db(db, account.account_id)) == json.dumps(proof_document(commitment, i, SECRET))
    holder = next(a.account_id for a in commitment.accounts if a.account_id in world.options)
    code, out, err = run_cli(capsys, "--json", "check-inclusion", "--db", str(db), "--account", holder)
    assert code == 0 and json.loads(out)["ok"] is True, err
