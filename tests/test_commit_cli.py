"""`pymargin commit`, `check-inclusion` and `deploy-commitments` from the command line."""

from __future__ import annotations

import json

import pytest
from commit_books import random_book

from pymargin.book import Book, save_book
from cli_support import run_cli as run

SECRET_HEX = "ab" * 32




@pytest.fixture
def book_files(tmp_path, monkeypatch):
    monkeypatch.setenv("PYMARGIN_COMMIT_SECRET", SECRET_HEX)
    accounts, markets = random_book(8, 9)
    book = Book(markets, {m: f"M{m}" for m in markets}, accounts)
    save_book(book, tmp_path / "book.json")
    save_book(book, tmp_path / "book.csv")
    return tmp_path


@pytest.mark.parametrize("command", ["commit", "check-inclusion", "deploy-commitments"])
def test_help_has_an_example(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and "Example:" in out


def test_commit_then_check_every_proof(capsys, book_files):
    out_dir = book_files / "c1"
    code, out, err = run(capsys, "--json", "commit", str(book_files / "book.json"), "--epoch", "4", "--out", str(out_dir))
    assert code == 0, err
    data = json.loads(out)
    root = json.loads((out_dir / "root.json").read_text())
    assert root["root"]["hash"] == data["root"]["hash"] and root["epoch"] == "4" and data["account_count"] == "9"
    assert (root["root"]["equity"], root["root"]["mm"]) == (data["root"]["liabilities_wad"], data["root"]["mm_wad"])
    proofs = sorted((out_dir / "proofs").iterdir())
    assert len(proofs) == 9
    for proof in proofs:
        code, out, err = run(capsys, "--json", "check-inclusion", str(proof))
        assert code == 0, err
        assert json.loads(out)["ok"] is True and json.loads(out)["root"] == data["root"]


def test_csv_and_json_commit_to_the_same_root(capsys, book_files):
    roots = []
    for name in ("book.json", "book.csv"):
        code, out, err = run(capsys, "--json", "commit", str(book_files / name), "--epoch", "1",
                             "--out", str(book_files / f"out-{name}"), "--account", "nobody:0")
        assert code == 2 and "nobody:0 is not in the committed book" in json.loads(out)["error"]
        assert not (book_files / f"out-{name}").exists()  # nothing half-written
        code, out, err = run(capsys, "--json", "commit", str(book_files / name), "--epoch", "1",
                             "--out", str(book_files / f"out-{name}"))
        roots.append(json.loads(out)["root"])
    assert roots[0] == roots[1]


def test_tampered_proof_fails_with_the_reason(capsys, book_files):
    out_dir = book_files / "c"
    assert run(capsys, "commit", str(book_files / "book.json"), "--epoch", "4", "--out", str(out_dir))[0] == 0
    proof = next((out_dir / "proofs").iterdir())
    doc = json.loads(proof.read_text())
    doc["siblings"][0]["equity"] = str(int(doc["siblings"][0]["equity"]) + 1)
    proof.write_text(json.dumps(doc))
    code, out, err = run(capsys, "--json", "check-inclusion", str(proof))
    assert code == 1
    result = json.loads(out)
    assert result["ok"] is False and "not the committed root" in result["reason"]


@pytest.mark.parametrize("argv, message", [
    (["commit", "{dir}/book.json", "--epoch", "1", "--out", "{dir}"], "is not empty"),
    (["commit", "{dir}/missing.json", "--epoch", "1", "--out", "{dir}/o"], "positions file {dir}/missing.json not found"),
    (["commit", "--epoch", "1", "--out", "{dir}/o"], "needs a positions file"),
    (["commit", "{dir}/book.json", "--epoch", "-1", "--out", "{dir}/o"], "epoch must be in"),
    (["commit", "{dir}/book.json", "--epoch", "1", "--out", "{dir}/o", "--depth", "2"], "do not fit a tree of depth 2"),
    (["commit", "{dir}/book.json", "--epoch", "1", "--out", "{dir}/o", "--registry", "0x1"], "--registry needs --rpc"),
    (["check-inclusion", "{dir}/nope.json"], "proof file {dir}/nope.json not found"),
    (["check-inclusion", "{dir}/book.json"], "not a pymargin-inclusion-v3 document"),
])
def test_bad_input_is_one_line(capsys, book_files, argv, message):
    code, out, err = run(capsys, *[a.format(dir=book_files) for a in argv])
    assert code == 2
    assert err.startswith("pymargin: error: ") and message.format(dir=book_files) in err and err.count("\n") == 1


def test_missing_or_bad_secret(capsys, book_files, monkeypatch):
    monkeypatch.delenv("PYMARGIN_COMMIT_SECRET")
    code, _, err = run(capsys, "commit", str(book_files / "book.json"), "--epoch", "1", "--out", str(book_files / "o"))
    assert code == 2 and "needs the operator's secret" in err
    (book_files / "secret.hex").write_text("12")
    code, _, err = run(capsys, "commit", str(book_files / "book.json"), "--epoch", "1", "--out", str(book_files / "o"),
                       "--secret-file", str(book_files / "secret.hex"))
    assert code == 2 and "must be 64 hex digits" in err


@pytest.mark.anvil
def test_post_root_and_check_inclusion_on_anvil(capsys, book_files, anvil_chain, monkeypatch):
    monkeypatch.delenv("PYMARGIN_PRIVATE_KEY", raising=False)
    rpc = anvil_chain.url
    code, out, err = run(capsys, "--json", "deploy-commitments", "--rpc", rpc)
    assert code == 0, err
    registry = json.loads(out)["registry"]
    out_dir = book_files / "c"
    code, out, err = run(capsys, "--json", "commit", str(book_files / "book.json"), "--epoch", "6", "--out", str(out_dir),
                         "--rpc", rpc, "--registry", registry)
    assert code == 0, err
    assert json.loads(out)["posted"]["registry"] == registry
    proof = sorted((out_dir / "proofs").iterdir())[3]
    code, out, err = run(capsys, "--json", "check-inclusion", str(proof), "--rpc", rpc, "--registry", registry)
    assert code == 0, err
    assert json.loads(out)["checks"] == {"offline": "ok", "on_chain": "ok"}
    # a proof of another epoch's tree: valid offline, but not the root posted for epoch 6
    other = book_files / "c2"
    accounts, markets = random_book(9, 4)
    save_book(Book(markets, {m: "M" for m in markets}, accounts), book_files / "other.json")
    assert run(capsys, "commit", str(book_files / "other.json"), "--epoch", "6", "--out", str(other))[0] == 0
    proof = next((other / "proofs").iterdir())
    code, out, err = run(capsys, "--json", "check-inclusion", str(proof), "--rpc", rpc, "--registry", registry)
    assert code == 1 and "the root posted for epoch 6" in json.loads(out)["reason"]


@pytest.mark.anvil
def test_commit_a_deployed_engine_matches_its_views(capsys, tmp_path, anvil_chain, artifacts, monkeypatch):
    """`commit --rpc --engine`: every committed account's equity and mm equal the contract's own views."""
    from pymargin.chain.engine_devnet import TX_GAS, default_markets, deploy_engine, order_signer
    from pymargin.chain.tx import node_signer
    from pymargin.fixedpoint import WAD

    monkeypatch.setenv("PYMARGIN_COMMIT_SECRET", SECRET_HEX)
    operator, alice, bob = (node_signer(anvil_chain, i) for i in range(3))
    dep = deploy_engine(anvil_chain, operator, default_markets(), operators=(operator.address,))
    for who in (alice, bob):
        dep.token.transact("mint", who.address, 10**12, sender=who, gas=TX_GAS)
        dep.token.transact("approve", dep.engine.address, 10**12, sender=who, gas=TX_GAS)
        dep.engine.transact("deposit", 0, 10_000 * 10**6, sender=who, gas=TX_GAS)
    orders = order_signer(dep)
    dep.engine.transact("trade", *orders.fill(0, alice.address, 0, bob.address, 0, 2 * WAD, 2000 * WAD), sender=operator, gas=TX_GAS)
    dep.engine.transact("trade", *orders.fill(1, bob.address, 0, alice.address, 0, WAD // 10, 30000 * WAD), sender=operator, gas=TX_GAS)
    out_dir = tmp_path / "c"
    code, out, err = run(capsys, "--json", "commit", "--rpc", anvil_chain.url, "--engine", dep.engine.address,
                         "--epoch", "1", "--out", str(out_dir))
    assert code == 0, err
    proofs = sorted((out_dir / "proofs").iterdir())
    assert len(proofs) == 2
    for path in proofs:
        doc = json.loads(path.read_text())
        owner, sub = doc["account"]["owner"], int(doc["account"]["sub"])
        assert len(doc["account"]["positions"]) == 2
        assert int(doc["equity"]) == dep.engine.call("equity", owner, sub)
        assert int(doc["mm"]) == dep.engine.call("maintenanceMargin", owner, sub)
        assert run(capsys, "check-inclusion", str(path))[0] == 0
