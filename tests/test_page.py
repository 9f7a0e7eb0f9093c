"""The verification page (pymargin/page): its Poseidon equals circomlibjs and pymargin's, its keccak
equals eth_hash, its offline checks give check-inclusion's verdict and reason on random books and on
every tampering (run in node, the same script the page inlines), and in headless Chromium against a
live anvil with a posted epoch it passes a valid proof, rejects each tampering with check-inclusion's
reason, and shows check-inclusion --json's numbers.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import re
import shutil
import socket
import subprocess
from html import unescape
from pathlib import Path

import pytest

from pymargin import browser
from pymargin.commit.commitment import commit_accounts
from pymargin.commit.inclusion import InclusionError, parse_proof, proof_document, verify_proof
from pymargin.commit.poseidon import P, poseidon
from pymargin.page import PAGE_NAME, page_html, write_page
from cli_support import run_cli
from commit_books import random_book

ROOT = Path(__file__).resolve().parent.parent
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None or not (ROOT / "node_modules" / "circomlibjs").is_dir(),
                                reason="node or node_modules/circomlibjs missing (run scripts/bootstrap.sh)")
needs_chromium = pytest.mark.skipif(browser.find_chromium() is None,
                                    reason="Chromium is not installed (apt-get install chromium): the page's browser tests are skipped")
SECRET = bytes(range(7, 39))


def _page_script() -> str:
    """The one inline script of the page, exactly as the browser gets it."""
    (script,) = re.findall(r"<script>(.*)</script>", page_html(), re.S)
    return script


def _node(driver: str, data) -> object:
    """Run the page's script then ``driver`` in node (DATA = ``data``); the JSON the driver prints."""
    source = "globalThis.window = { addEventListener() {} };  // the UI is wired on load; node has no DOM\n"
    source += _page_script() + f"\nconst DATA = {json.dumps(data)};\n" + driver
    out = subprocess.run([NODE, "-"], input=source, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


# ------------------------------------------------------------------------------- primitives

@needs_node
def test_poseidon_equals_circomlibjs_and_pymargin():
    rng = random.Random(14)
    cases = [[rng.randrange(P) for _ in range(n)] for n in (2, 6, 11) for _ in range(12)]  # options, node, leaf
    cases += [[0] * n for n in (2, 6, 11)] + [[P - 1] * n for n in (2, 6, 11)]
    driver = """
    const { buildPoseidonReference } = require("circomlibjs");
    buildPoseidonReference().then((ref) => {
      const out = DATA.map((xs) => [String(poseidon(xs.map(BigInt))), String(ref.F.toObject(ref(xs.map(BigInt))))]);
      console.log(JSON.stringify(out));
    });"""
    results = _node(driver, [[str(x) for x in xs] for xs in cases])
    for xs, (page, circomlibjs) in zip(cases, results):
        assert int(page) == int(circomlibjs) == poseidon(xs)


@needs_node
def test_keccak_equals_eth_hash():
    from eth_hash.auto import keccak

    rng = random.Random(1414)
    alphabet = "az09:-_ é€𝄞"
    texts = ["", "a", "0xAbC:0"] + ["".join(rng.choice(alphabet) for _ in range(n)) for n in (33, 67, 68, 135, 136, 137, 200, 300)]
    results = _node("console.log(JSON.stringify(DATA.map((t) => keccak256Utf8(t).toString(16))));", texts)
    for text, digest in zip(texts, results):
        assert int(digest, 16) == int.from_bytes(keccak(text.encode()), "big"), text


# ------------------------------------------------------------------------- offline checks

def _tamperings(doc: dict) -> dict[str, dict]:
    """Edited copies of a proof document, each one a way check-inclusion rejects a proof."""
    def edit(change):
        d = copy.deepcopy(doc)
        change(d)
        return d

    def bump(path):
        def change(d):
            obj = d
            for key in path[:-1]:
                obj = obj[key]
            value = obj[path[-1]]  # a hash is 0x hex, any other integer a decimal string
            obj[path[-1]] = f"0x{int(value, 16) + 1:064x}" if value.startswith("0x") else str(int(value) + 1)
        return change

    out = {
        "owner": edit(lambda d: d["account"].__setitem__("owner", d["account"]["owner"].lower())),
        "sub": edit(bump(["account", "sub"])),
        "salt": edit(bump(["account", "salt"])),
        "collateral": edit(bump(["account", "collateral"])),
        "collateral out of bounds": edit(lambda d: d["account"].__setitem__("collateral", str(2**128))),
        "leaf hash": edit(bump(["leaf_hash"])),
        "equity": edit(bump(["equity"])),
        "im": edit(bump(["im"])),
        "liability": edit(bump(["liability"])),
        "sibling hash": edit(bump(["siblings", 0, "hash"])),
        "sibling not a field element": edit(lambda d: d["siblings"][-1].__setitem__("hash", str(P))),
        "sibling sum too large": edit(lambda d: d["siblings"][1].__setitem__("mm", str(2**172))),
        "sibling equity": edit(bump(["siblings", 1, "equity"])),
        "index": edit(lambda d: d.__setitem__("index", str(int(d["index"]) ^ 1))),
        "index past the tree": edit(lambda d: d.__setitem__("index", str(2 ** int(d["depth"])))),
        "a sibling left out": edit(lambda d: d["siblings"].pop()),
        "depth 0": edit(lambda d: (d.__setitem__("siblings", []), d.__setitem__("depth", "0"))),
        "root hash": edit(bump(["root", "hash"])),
        "root mm": edit(bump(["root", "mm"])),
        "missing field": edit(lambda d: d.pop("leaf_hash")),
        "not a decimal": edit(lambda d: d.__setitem__("mm", "1e18")),
        "5000 digits": edit(lambda d: d.__setitem__("im", "9" * 5000)),
        "a number, not a string": edit(lambda d: d["account"].__setitem__("collateral", 12)),
        "quotes": edit(lambda d: d["root"].__setitem__("hash", "it's \\ 'x'")),
    }
    if doc["account"]["positions"]:
        mid = doc["account"]["positions"][0]["market_id"]
        out["size"] = edit(bump(["account", "positions", 0, "size"]))
        out["funding index"] = edit(bump(["account", "positions", 0, "funding_index"]))
        out["market price"] = edit(bump(["markets", mid, "price_wad"]))
        out["market mmf"] = edit(bump(["markets", mid, "mmf_wad"]))
        out["market left out"] = edit(lambda d: d["markets"].pop(mid))
        out["negative price"] = edit(lambda d: d["markets"][mid].__setitem__("price_wad", "-" + d["markets"][mid]["price_wad"]))
        out["price past int256"] = edit(lambda d: d["markets"][mid].__setitem__("price_wad", str(2**255)))
        out["market key with a leading zero"] = edit(lambda d: d["markets"].__setitem__("0" + mid, d["markets"].pop(mid)))
        out["two bad views"] = edit(lambda d: d["markets"].update({"9": {"price_wad": "-1"}, mid: dict(d["markets"][mid], price_wad="-2"), "10": {}}))
        out["funding index past int256"] = edit(lambda d: d["markets"][mid].__setitem__("funding_index_wad", str(-2**255 - 1)))
        out["margin product past uint256"] = edit(lambda d: d["markets"][mid].__setitem__("imf_wad", str(2**255)))
        out["size 0"] = edit(lambda d: d["account"]["positions"][0].__setitem__("size", "0"))
        out["same market twice"] = edit(lambda d: d["account"]["positions"].append(dict(d["account"]["positions"][0])))
    return out


def _python_verdict(doc: dict) -> dict:
    """What check-inclusion concludes about ``doc`` offline: ok and the figures, or the reason."""
    try:
        proof = parse_proof(doc)
        root = verify_proof(proof)
    except InclusionError as exc:
        return {"ok": False, "reason": str(exc)}
    return {"ok": True, "account": proof.account_id, "epoch": str(proof.epoch), "index": str(proof.index), "equity_wad": str(proof.equity),
            "mm_wad": str(proof.mm), "im_wad": str(proof.im), "liability_wad": str(proof.liability), "root": root.output_json(),
            "checks": {"offline": "ok"}}


OFFLINE_DRIVER = """
(async () => {
  const out = [];
  for (const doc of DATA) out.push(JSON.parse(resultJson((await runVerification(doc, "", "")).result)));
  console.log(JSON.stringify(out));
})();"""


@needs_node
@pytest.mark.parametrize("seed, extreme", [(1, False), (2, True)])
def test_offline_checks_give_check_inclusions_verdict(seed, extreme):
    """Random books (full-precision values, extreme ones near every bound, negative equity included):
    every account's proof and every tampering of it, checked by the page's script and by pymargin."""
    accounts, markets = random_book(seed, 9, extreme)
    commitment = commit_accounts(accounts, markets, SECRET, epoch=5 + seed)
    names, docs = [], []
    for index in range(len(accounts)):
        doc = proof_document(commitment, index, SECRET)
        tampered = _tamperings(doc)
        names += ["valid", *tampered]
        docs += [doc, *tampered.values()]
    page = _node(OFFLINE_DRIVER, docs)
    python = [_python_verdict(doc) for doc in docs]
    for doc, mine, theirs in zip(docs, page, python):
        if not theirs["ok"]:
            mine = {"ok": mine["ok"], "reason": mine.get("reason")}
        assert mine == theirs, json.dumps(doc)
    # a market view edited by 1 unit can leave a tiny position's rounded margins unchanged: then it still verifies
    harmless = {"market price", "market mmf"}
    assert all(v["ok"] == (name == "valid") for name, v in zip(names, python) if name not in harmless)


# --------------------------------------------------------------------- the page in Chromium

def test_verify_page_cli_writes_one_self_contained_file(capsys, tmp_path):
    code, out, err = run_cli(capsys, "--json", "verify-page", "--out", str(tmp_path / "epoch-1"), "--registry", "0x" + "ab" * 20)
    assert code == 0, err
    path = Path(json.loads(out)["page"])
    assert path == tmp_path / "epoch-1" / PAGE_NAME and [p.name for p in path.parent.iterdir()] == [PAGE_NAME]
    html = path.read_text()
    assert "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB".lower() == re.search(r'id="registry" value="(0x[0-9a-fA-F]{40})"', html).group(1).lower()
    assert "Nothing you load here leaves your browser" in html
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", html), "nothing is loaded from elsewhere"
    code, _, err = run_cli(capsys, "verify-page", "--out", str(tmp_path / "x"), "--registry", "0x1234")
    assert code == 2 and "is not an address" in err and "Traceback" not in err and not (tmp_path / "x").exists()
    path.write_text("the operator's own edit")
    code, _, err = run_cli(capsys, "verify-page", "--out", str(path.parent))
    assert code == 2 and "exists: choose a new file name, or pass --force" in err and path.read_text() == "the operator's own edit"
    code, _, err = run_cli(capsys, "verify-page", "--out", str(path.parent), "--force")
    assert code == 0 and "Nothing you load here leaves your browser" in path.read_text()


def _run_page(page: Path, docs: list[dict], rpc: str = "", registry: str = "", dom_too: bool = False, ask_registry: bool = False):
    """Load the page in headless Chromium with the proofs in the URL fragment: the results it shows and its
    verdict (and the DOM). ``ask_registry`` ticks the box that also calls verifyInclusionAt."""
    blob = base64.urlsafe_b64encode(json.dumps(docs, separators=(",", ":")).encode()).decode()
    params = (("rpc", rpc), ("registry", registry), ("ask-registry", "1" if ask_registry else ""), ("proofs", blob))
    fragment = "&".join(f"{k}={v}" for k, v in params if v)
    dom = browser.dump_dom(page, fragment=fragment, virtual_time_ms=60_000)
    assert 'data-state="done"' in dom, dom[-3000:]
    verdict = unescape(re.search(r'<div id="verdict" class="verdict \w+">(.*?)</div>', dom, re.S).group(1))
    results = json.loads(unescape(re.search(r'<pre id="result-json">(.*?)</pre>', dom, re.S).group(1)))
    return (results, verdict, dom) if dom_too else (results, verdict)


def _wad(x: int) -> str:
    """A WAD amount as the page writes it: 1,234.5 (exact, thousands separated, trailing zeros dropped)."""
    whole, frac = divmod(abs(x), 10**18)
    text = f"{'-' if x < 0 else ''}{whole:,}"
    return text + ("." + f"{frac:018d}".rstrip("0") if frac else "")


@needs_chromium
@pytest.mark.anvil
def test_page_in_chromium_shows_the_registrys_figures(posted):
    doc = proof_document(posted["commitment"], 3, posted["secret"])
    (result,), verdict, dom = _run_page(posted["page"], [doc], posted["chain"].url, posted["registry"].address, dom_too=True)
    assert result["ok"] and verdict.startswith(f"VERIFIED: account {result['account']} is in the root the registry recorded for epoch 1")
    rows = dict(re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td></tr>", dom[dom.index("Recorded by the registry"):]))
    f = posted["figures"]
    t = f.totals
    assert rows == {
        "root hash": f"0x{f.root.hash:064x}", "liabilities L = Σ max(equity, 0)": _wad(t.liabilities_wad), "reserves (vault − owner fees)": _wad(f.reserves_wad),
        "reserves cover L": "yes", "insurance fund": _wad(f.insurance_fund_wad), "unsettled bad debt (deficit)": _wad(t.deficit_wad),
        "Σ maintenance margin": _wad(t.mm_wad), "Σ initial margin": _wad(t.im_wad), "accounts below maintenance margin": str(t.below_mm_count),
        "Σ shortfall max(mm − equity, 0)": _wad(t.shortfall_wad), "accounts": str(t.account_count), "Σ collateral": _wad(t.collateral_wad),
        "checkpoint block": str(f.checkpoint_block), "posted at (unix time)": str(f.posted_at),
    }
    assert t.deficit_wad > 0 and t.below_mm_count > 0, "the e2e venue has bad debt and a liquidatable account"


def _cli(capsys, tmp_path: Path, doc: dict, *args: str) -> tuple[int, dict | str]:
    """check-inclusion --json on ``doc``: (exit code, its JSON, or its one-line error)."""
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(doc))
    code, out, err = run_cli(capsys, "--json", "check-inclusion", str(path), *args)
    assert "Traceback" not in err
    result = json.loads(out)
    return code, result.get("error", result)  # a user error under --json is {"error", "code"}


@pytest.fixture(scope="module")
def posted(tmp_path_factory):
    """A live anvil with epoch 1 posted to a SolvencyRegistry (the e2e venue: six accounts, one under
    water, one liquidatable, K = 2, T = 1), the commitment's proofs, and the page."""
    from pymargin.chain import commitments as commit_onchain
    from pymargin.chain import devnet
    from pymargin.chain import solvency as onchain
    from pymargin.chain.compile import compile_contracts
    from pymargin.chain.checkpoints import book_at_checkpoint
    from pymargin.chain.engine_devnet import TX_GAS
    from pymargin.zk import circuits
    from pymargin.zk.backends import Groth16pyBackend
    from pymargin.zk.inputs import epoch_statement
    from pymargin.zk.solvency import prove_epoch
    from test_zk_e2e import SECRET as E2E_SECRET, SHAPE, open_venue

    chain = devnet.start_anvil()
    try:
        compile_contracts()
        v = open_venue(chain)
        v.dep.engine.transact("checkpoint", sender=v.keeper, gas=TX_GAS)
        book = book_at_checkpoint(v.dep.engine, 1)
        cp = book.data
        keys = Groth16pyBackend().setup(circuits.solvency(SHAPE.k, SHAPE.m, SHAPE.t))
        verifier, _ = onchain.deploy_batch_verifier(chain, keys, v.owner)
        hashers = commit_onchain.deploy_hashers(chain, v.owner)
        registry = onchain.deploy_registry(chain, v.owner, verifier, v.dep.engine.address, hashers, SHAPE, operator=v.operator.address)
        accounts = book.accounts
        commitment = commit_accounts(accounts, book.markets, E2E_SECRET, epoch=cp.id, depth=SHAPE.depth)
        statement = epoch_statement(commitment, E2E_SECRET, SHAPE, chain.chain_id, int(registry.address, 16),
                                    int(v.dep.engine.address, 16), cp.id, len(cp.markets))
        epoch, _ = prove_epoch(commitment, E2E_SECRET, statement, "groth16py", workers=1)
        onchain.post_epoch(registry, epoch, cp, v.operator)
        other = commit_accounts(accounts[1:], book.markets, E2E_SECRET, epoch=cp.id, depth=SHAPE.depth)
        # epoch 2: the same book committed in reverse order, which the circuit does not see (leaf i should be the
        # engine's account i, spec §6.3): the registry accepts it, and each user's index check catches it
        v.dep.engine.transact("checkpoint", sender=v.keeper, gas=TX_GAS)
        cp2 = book_at_checkpoint(v.dep.engine, 2).data
        reversed_book = commit_accounts(list(reversed(accounts)), book.markets, E2E_SECRET, epoch=cp2.id, depth=SHAPE.depth)
        statement2 = epoch_statement(reversed_book, E2E_SECRET, SHAPE, chain.chain_id, int(registry.address, 16),
                                     int(v.dep.engine.address, 16), cp2.id, len(cp2.markets))
        onchain.post_epoch(registry, prove_epoch(reversed_book, E2E_SECRET, statement2, "groth16py", workers=1)[0], cp2, v.operator)
        out = tmp_path_factory.mktemp("page")
        yield dict(chain=chain, registry=registry, engine=v.dep.engine.address, commitment=commitment, other=other,
                   reversed_book=reversed_book,
                   secret=E2E_SECRET, figures=onchain.epoch_figures(registry, cp.id), page=write_page(out, registry.address))
    finally:
        chain.close()


@needs_chromium
@pytest.mark.anvil
def test_page_in_chromium_matches_check_inclusion_on_a_posted_epoch(posted, capsys, tmp_path):
    """Every account's proof passes with check-inclusion --json's numbers; each tampering (offline ones,
    another epoch, another book's root for the same epoch) fails with check-inclusion's reason."""
    commitment, secret, registry = posted["commitment"], posted["secret"], posted["registry"].address
    rpc = ["--rpc", posted["chain"].url, "--registry", registry]
    valid = [proof_document(commitment, i, secret) for i in range(len(commitment.accounts))]
    tampered = dict(_tamperings(valid[1]))
    tampered["a posted root whose leaf 0 is not the engine's account 0"] = proof_document(posted["reversed_book"], 0, secret)
    tampered["epoch not posted"] = dict(valid[1], epoch="3")
    tampered["epoch not a uint256"] = dict(valid[1], epoch="-1")
    tampered["another book's root for this epoch"] = proof_document(posted["other"], 0, secret)
    docs = valid + list(tampered.values())
    page, verdict = _run_page(posted["page"], docs, posted["chain"].url, registry)
    assert len(page) == len(docs) and verdict == f"FAILED: {len(tampered)} of {len(docs)} proofs do not verify (reasons below)."
    again, verdict = _run_page(posted["page"], valid, posted["chain"].url, registry, ask_registry=True)  # and verifyInclusionAt agrees
    assert again == page[: len(valid)]
    assert verdict == f"VERIFIED: all {len(valid)} accounts are in the root the registry recorded (details below)."
    for doc, mine in zip(valid, page):
        code, theirs = _cli(capsys, tmp_path, doc, *rpc)
        assert code == 0 and mine == theirs and mine["checks"] == {"offline": "ok", "on_chain": "ok"}
    assert any(int(r["equity_wad"]) < 0 for r in page[: len(valid)]), "the book has an account under water"
    for (what, doc), mine in zip(tampered.items(), page[len(valid):]):
        code, theirs = _cli(capsys, tmp_path, doc, *rpc)
        assert code != 0 and mine["ok"] is False, what
        reason = theirs["reason"] if isinstance(theirs, dict) else theirs.removeprefix(f"{tmp_path / 'proof.json'}: ")
        assert mine["reason"] == reason, what
    assert page[-3]["reason"] == f"the registry at {registry} rejects the proof: UnknownEpoch(3,)"
    first, last = commitment.accounts[0], posted["reversed_book"].accounts[0]
    assert page[-4]["reason"] == f"leaf 0 must be the engine's account 0, which is {first.account_id}, not {last.account_id}"
    assert page[-1]["reason"].startswith("the root posted for epoch 1 is ")


@needs_chromium
@pytest.mark.anvil
def test_page_in_chromium_names_a_wrong_registry_or_an_unreachable_node(posted, capsys, tmp_path):
    doc = proof_document(posted["commitment"], 0, posted["secret"])
    url = posted["chain"].url
    nobody = "0x" + "5a" * 20
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    for rpc, registry, expected in [
        (url, nobody, f"no contract at {nobody} on chain {posted['chain'].chain_id}"),
        (dead, posted["registry"].address, f"cannot reach the RPC at {dead}"),
        ("file:///etc/passwd", posted["registry"].address, "RPC URL must start with http:// or https://, got 'file:///etc/passwd'"),
    ]:
        (mine,), verdict = _run_page(posted["page"], [doc], rpc, registry)
        assert verdict == f"FAILED: {mine['reason']}"
        code, theirs = _cli(capsys, tmp_path, doc, "--rpc", rpc, "--registry", registry)
        assert mine["ok"] is False and mine["reason"].startswith(expected) and code == 2 and theirs.startswith(expected)
    # a contract that is not a registry (the engine): the page says the registry rejects the proof
    (mine,), _ = _run_page(posted["page"], [doc], url, posted["engine"])
    assert mine["ok"] is False and mine["reason"].startswith(f"the registry at {posted['engine']} rejects the proof")


@needs_chromium
def test_page_in_chromium_works_offline_and_shows_the_figures(tmp_path):
    """No RPC: the Merkle part passes; the page shows the account's figures, positions and every level."""
    accounts, markets = random_book(4, 6)
    commitment = commit_accounts(accounts, markets, SECRET, epoch=3)
    index = max(range(6), key=lambda i: len(commitment.accounts[i].positions))
    doc = proof_document(commitment, index, SECRET)
    page = write_page(tmp_path)
    blob = base64.urlsafe_b64encode(json.dumps([doc]).encode()).decode()
    dom = browser.dump_dom(page, fragment=f"proofs={blob}", virtual_time_ms=20_000)
    (result,) = json.loads(unescape(re.search(r'<pre id="result-json">(.*?)</pre>', dom, re.S).group(1)))
    assert result == _python_verdict(doc)
    shown = dom[dom.index('<div id="details">'): dom.index('<pre id="result-json">')]
    assert '<div id="verdict" class="verdict partial">PASSED OFFLINE' in dom and 'PASSED OFFLINE' not in shown
    assert doc["leaf_hash"] in shown and commitment.root.to_json()["hash"] in shown
    assert shown.count("✓") == 2 * commitment.tree.depth, "both sums checked at every level"
    assert len(commitment.accounts[index].positions) == 4
    for position in commitment.accounts[index].positions.values():
        assert re.search(rf"<tr><td>{position.market_id}</td><td>-?[0-9,]+(\.[0-9]+)?</td>", shown)
    assert f"<td>{doc['equity']}</td>" in shown and f"<td>{doc['im']}</td>" in shown
