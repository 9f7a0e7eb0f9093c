"""The output convention (docs/output.md): every command's --json output validates against its schema
in docs/schemas/ and follows the rules (snake_case keys, integers as decimal strings, well-formed 0x
hex), files written by an earlier version still load, a user error under --json is one JSON line with
a non-zero exit, and tables fit 80 columns with addresses shortened."""

from __future__ import annotations

import json
import math
import random
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import jsonschema
import pytest
from commit_books import random_book
from output_rules import SCHEMAS, check_output, rule_violations, schema

from cli_support import run_cli as run
from pymargin.book import Book, save_book
from pymargin.cli.output import render_table, short_address
from pymargin.jsonvalues import dumps, json_value

SECRET_HEX = "5e" * 32
LONG = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
FIXTURES = Path(__file__).parent / "fixtures" / "contracts"


def _table_lines(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


def test_json_values_follow_the_rules():
    value = {"size_wad": 3_718_281_828_459_045_235 * 10**9, "ok": True, "ratio": 0.25, "nan": math.nan,
             "tx_hash": bytes(range(32)), "path": Path("a/b"), "ids": (1, 2)}
    assert json_value(value) == {"size_wad": "3718281828459045235000000000", "ok": True, "ratio": 0.25, "nan": None,
                                 "tx_hash": "0x" + bytes(range(32)).hex(), "path": "a/b", "ids": ["1", "2"]}
    assert json.loads(dumps(value))["size_wad"] == "3718281828459045235000000000"  # past 2^53, exact
    assert rule_violations({"sizeWad": 1, "root": "0x12", "owner": "0xZZ"}) == [
        "$: key 'sizeWad' is not snake_case", "$.sizeWad: the integer 1 is a JSON number, not a decimal string",
        "$.root: '0x12' is not 0x and 64 hex digits", "$.owner: '0xZZ' is not well-formed 0x hex"]


def test_every_schema_is_a_valid_draft_2020_12_schema():
    names = sorted(p.name for p in SCHEMAS.glob("*.schema.json"))
    assert "error.schema.json" in names and len(names) >= 27
    for name in names:
        jsonschema.Draft202012Validator.check_schema(json.loads((SCHEMAS / name).read_text()))


def test_every_command_has_a_schema():
    """A command added later needs its docs/schemas/<command>.schema.json (risk subcommands: risk-<sub>)."""
    import click

    from pymargin.cli import cli

    def names(group: click.Group, prefix: str = ""):
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                yield from names(command, f"{prefix}{name}-")
            else:
                yield prefix + name

    missing = [name for name in names(cli) if not (SCHEMAS / f"{name}.schema.json").is_file()]
    assert missing == [], f"commands without a JSON Schema in docs/schemas/: {missing}"


def test_tables_fit_80_columns_and_shorten_addresses():
    rows = [(f"{LONG}:{i}", 3_718_281_828_459_045_235 * (i + 1), "0x" + "ab" * 32, LONG, "liquidatable, below maintenance") for i in range(3)]
    text = render_table(["account", "equity (WAD)", "root hash", "engine", "state"], rows, title=f"engine {LONG} at block 12")
    lines = _table_lines(text)
    assert max(len(line) for line in lines) <= 80
    assert LONG not in text and short_address(LONG) == "0x8ba1…BA72" and "0x8ba1…BA72:2" in text
    assert short_address(f"{LONG}:0 and {LONG.lower()}") == "0x8ba1…BA72:0 and 0x8ba1…ba72"


@pytest.fixture
def book_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PYMARGIN_COMMIT_SECRET", SECRET_HEX)
    accounts, markets = random_book(11, 7)
    save_book(Book(markets, {m: f"M{m}" for m in markets}, accounts), tmp_path / "book.json")
    return tmp_path


def test_commit_check_inclusion_and_verify_page(capsys, book_dir):
    out_dir = book_dir / "c"
    code, out, err = run(capsys, "--json", "commit", str(book_dir / "book.json"), "--epoch", "7", "--out", str(out_dir))
    assert code == 0, err
    committed = check_output("commit", out)
    assert committed["account_count"] == "7" and committed["epoch"] == "7"
    root_file = json.loads((out_dir / "root.json").read_text())
    assert rule_violations(root_file) == [] and root_file["root"]["hash"] == committed["root"]["hash"]
    proof = sorted((out_dir / "proofs").iterdir())[0]
    assert rule_violations(json.loads(proof.read_text())) == []
    code, out, err = run(capsys, "--json", "check-inclusion", str(proof))
    assert code == 0, err
    checked = check_output("check-inclusion", out)
    assert checked["root"] == committed["root"] and checked["checks"] == {"offline": "ok"}
    code, out, _ = run(capsys, "check-inclusion", str(proof))  # the table: 80 columns, the owner shortened
    assert code == 0 and max(len(line) for line in _table_lines(out)) <= 80 and "…" in out
    tampered = json.loads(proof.read_text())
    tampered["equity"] = str(int(tampered["equity"]) + 1)
    (book_dir / "tampered.json").write_text(json.dumps(tampered))
    code, out, _ = run(capsys, "--json", "check-inclusion", str(book_dir / "tampered.json"))
    assert code == 1 and check_output("check-inclusion", out)["ok"] is False
    code, out, err = run(capsys, "--json", "verify-page", "--out", str(book_dir / "page"))
    assert code == 0, err
    assert check_output("verify-page", out)["page"].endswith("verify.html")


def test_files_of_the_previous_version_still_load(capsys, book_dir):
    """An inclusion proof v2 (decimal hashes) still checks; an epoch proof /2 (decimal root, numbers) still loads."""
    from pymargin.zk.statement import Shape, statement_from_json, statement_json
    from pymargin.commit.commitment import commit_accounts
    from pymargin.book import load_book
    from pymargin.zk.inputs import epoch_statement

    run(capsys, "commit", str(book_dir / "book.json"), "--epoch", "2", "--out", str(book_dir / "c"))
    proof = sorted((book_dir / "c" / "proofs").iterdir())[-1]
    doc = json.loads(proof.read_text())
    v2 = dict(doc, format="pymargin-inclusion-v2", leaf_hash=str(int(doc["leaf_hash"], 16)),
              root=dict(doc["root"], hash=str(int(doc["root"]["hash"], 16))),
              siblings=[dict(s, hash=str(int(s["hash"], 16))) for s in doc["siblings"]],
              account=dict(doc["account"], id_hash=str(int(doc["account"]["id_hash"], 16))))
    (book_dir / "v2.json").write_text(json.dumps(v2))
    code, out, err = run(capsys, "--json", "check-inclusion", str(book_dir / "v2.json"))
    assert code == 0, err
    assert json.loads(out)["root"]["hash"] == doc["root"]["hash"]
    book = load_book(book_dir / "book.json")
    commitment = commit_accounts(book.accounts, book.markets, bytes.fromhex(SECRET_HEX), 2, 4)
    statement = epoch_statement(commitment, bytes.fromhex(SECRET_HEX), Shape(2, 2, 4), 31337, int(LONG, 16), 0xE, 2, len(book.markets))
    current = statement_json(statement)
    assert rule_violations(current) == [] and current["registry"] == LONG.lower()
    old = dict(current, shape={k: int(v) for k, v in current["shape"].items()}, market_count=int(current["market_count"]),
               registry=hex(statement.registry), engine=hex(statement.engine), root=dict(current["root"], hash=str(statement.root.hash)))
    assert statement_from_json(old) == statement_from_json(current) == statement


def test_compile(capsys, tmp_path):
    code, out, err = run(capsys, "--json", "compile", "--contracts", str(FIXTURES), "--out", str(tmp_path / "out"))
    assert code == 0, err
    assert {a["contract"] for a in check_output("compile", out)["artifacts"]} == {"Counter", "Owned"}


def _synthetic_prices(path: Path, days: int = 620) -> Path:
    """A daily date,close series with full-precision prices (a seeded random walk)."""
    rng, price, day = random.Random(5), 1718.281828459045, date(2020, 1, 1)
    lines = ["date,close"]
    for _ in range(days):
        lines.append(f"{day.isoformat()},{price:.12f}")
        price *= math.exp(rng.gauss(0.0, 0.035))
        day += timedelta(days=1)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_risk_commands(capsys, tmp_path):
    syn = f"syn={_synthetic_prices(tmp_path / 'syn.csv')}"
    for name, argv in [
        ("risk-var", ["risk", "var", syn, "-m", "historical", "-m", "normal"]),
        ("risk-calibrate", ["risk", "calibrate", "btc"]),
        ("risk-backtest", ["risk", "backtest", syn, "--fraction", "0.15"]),
        ("risk-scenario", ["risk", "scenario", "-p", f"{syn}:1", "-p", f"{syn}:-1:call:1.1:30"]),
        ("risk-mining", ["risk", "mining"]),
    ]:
        code, out, err = run(capsys, "--json", *argv)
        assert code == 0, (argv, err)
        check_output(name, out)


@pytest.mark.parametrize("argv, code_name", [
    (["commit", "--epoch", "1", "--out", "{tmp}/c"], "user_error"),
    (["commit", "--bogus"], "no_such_option"),
    (["check-inclusion", "{tmp}/missing.json"], "inclusion_error"),
    (["prove", "{tmp}/missing.json", "--epoch", "1", "--depth", "3", "--chain-id", "1", "--registry", "0x1", "--engine", "0x1",
      "--out", "{tmp}/e.json", "--unsalted"], "book_error"),
    (["risk", "var", "no-such-market"], "data_error"),
    (["margin"], "user_error"),
])
def test_a_user_error_under_json_is_one_json_line(capsys, tmp_path, argv, code_name):
    code, out, err = run(capsys, "--json", *[a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert code != 0 and "Traceback" not in err
    (line,) = out.strip().splitlines()
    error = json.loads(line)
    jsonschema.validate(error, schema("error"))
    assert error["code"] == code_name and error["error"]
    assert not (tmp_path / "c").exists() and not (tmp_path / "e.json").exists()


def test_a_user_error_without_json_is_one_line_on_stderr(capsys, tmp_path):
    code, out, err = run(capsys, "check-inclusion", str(tmp_path / "missing.json"))
    assert code == 2 and out == "" and err.startswith("pymargin: error: ") and len(err.strip().splitlines()) == 1


@pytest.mark.anvil
def test_devnet_prints_json_once_up(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "pymargin", "--json", "devnet", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        line = proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    devnet = check_output("devnet", line)
    assert devnet["chain_id"] == "31337" and len(devnet["accounts"]) == 10 and devnet["url"].startswith("http://127.0.0.1:")


USD = 10**6


@pytest.fixture
def engine(anvil_chain, artifacts):
    """An engine on anvil with two traders holding opposite positions, and checkpoint 1."""
    from pymargin.chain.engine_devnet import TX_GAS, default_markets, deploy_engine, order_signer
    from pymargin.chain.tx import node_signer
    from pymargin.fixedpoint import WAD

    owner, keeper, alice, bob = (node_signer(anvil_chain, i) for i in range(4))
    dep = deploy_engine(anvil_chain, owner, default_markets(), keepers=(keeper.address,), operators=(owner.address,))
    for who in (alice, bob):
        dep.token.transact("mint", who.address, 10**12, sender=who, gas=TX_GAS)
        dep.token.transact("approve", dep.engine.address, 10**12, sender=who, gas=TX_GAS)
        dep.engine.transact("deposit", 0, 20_000 * USD + 7, sender=who, gas=TX_GAS)
    dep.engine.transact("trade", *order_signer(dep).fill(0, alice.address, 0, bob.address, 0, 2 * WAD + 718281828459045235, 2000 * WAD),
                        sender=owner, gas=TX_GAS)
    dep.engine.transact("checkpoint", sender=keeper, gas=TX_GAS)
    return dep


@pytest.mark.anvil
def test_engine_and_commitment_commands(capsys, tmp_path, anvil_chain, engine):
    """margin (and its table), crosscheck, audit-epoch, deploy-commitments, commit --registry, check-inclusion --rpc."""
    url, address = anvil_chain.url, engine.engine.address
    common = ("--rpc", url, "--engine", address)
    code, out, err = run(capsys, "--json", "margin", *common)
    assert code == 0, err
    accounts = check_output("margin", out)["accounts"]
    assert len(accounts) == 2 and all(a["margin_ratio_wad"] for a in accounts)
    code, out, _ = run(capsys, "margin", *common)
    assert code == 0 and max(len(line) for line in _table_lines(out)) <= 80, "the account table fits 80 columns"
    code, out, err = run(capsys, "--json", "crosscheck", *common)
    assert code == 0, err
    assert check_output("crosscheck", out)["mismatches"] == []
    code, out, err = run(capsys, "--json", "audit-epoch", *common, "--epoch", "1")
    assert code == 0, err
    assert check_output("audit-epoch", out)["ok"] is True
    code, out, _ = run(capsys, "audit-epoch", *common, "--epoch", "1")
    assert code == 0 and max(len(line) for line in _table_lines(out)) <= 80 and "checkpoint tx" in out
    code, out, err = run(capsys, "--json", "deploy-commitments", "--rpc", url)
    assert code == 0, err
    registry = check_output("deploy-commitments", out)["registry"]
    code, out, err = run(capsys, "--json", "commit", *common, "--checkpoint", "1", "--out", str(tmp_path / "c"), "--registry", registry)
    assert code == 0, err
    assert check_output("commit", out)["posted"]["registry"] == registry
    proof = next((tmp_path / "c" / "proofs").iterdir())
    code, out, err = run(capsys, "--json", "check-inclusion", str(proof), "--rpc", url, "--registry", registry)
    assert code == 0, err
    assert check_output("check-inclusion", out)["checks"]["on_chain"] == "ok"
    assert re.fullmatch(r"0x[0-9a-fA-F]{40}", registry)


@pytest.mark.anvil
def test_order_commands(capsys, tmp_path, monkeypatch, anvil_chain, engine):
    """sign-order (its file is its output), fill-orders, cancel-orders."""
    from pymargin.chain import tx

    common = ("--rpc", anvil_chain.url, "--engine", engine.engine.address)
    keys = {i: "0x" + tx.devnet_key(anvil_chain, i).hex() for i in (0, 2, 3)}
    orders = []
    for i, size in ((2, "1.718281828459045235"), (3, "-1.718281828459045235")):
        monkeypatch.setenv("PYMARGIN_PRIVATE_KEY", keys[i])
        path = tmp_path / f"order-{i}.json"
        code, out, err = run(capsys, "--json", "sign-order", *common, "--market", "0", "--size", size, "--limit", "2000", "--out", str(path))
        assert code == 0, err
        assert check_output("sign-order", out) == json.loads(path.read_text())
        orders.append(str(path))
    monkeypatch.setenv("PYMARGIN_PRIVATE_KEY", keys[0])
    code, out, err = run(capsys, "--json", "fill-orders", *common, *orders, "--size", "0.5", "--price", "2000")
    assert code == 0, err
    assert len(check_output("fill-orders", out)["filled"]) == 2
    monkeypatch.setenv("PYMARGIN_PRIVATE_KEY", keys[2])
    code, out, err = run(capsys, "--json", "cancel-orders", *common, orders[0])
    assert code == 0, err
    check_output("cancel-orders", out)


@pytest.mark.anvil
def test_deploy_and_verify_deployment(capsys, tmp_path, monkeypatch, anvil_chain):
    url = anvil_chain.url
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deploy.json").write_text(json.dumps(
        {"chain_id": 31337, "contracts": [{"name": "Counter", "artifact": "Counter", "args": [2, "{deployer}"]}]}))
    build = ["--contracts", str(FIXTURES), "--out", str(tmp_path / "out")]
    code, out, err = run(capsys, "--json", "deploy", "--config", "deploy.json", "--rpc", url, *build)
    assert code == 0, err
    assert [c["status"] for c in check_output("deploy", out)["contracts"]] == ["deployed"]
    code, out, err = run(capsys, "--json", "verify-deployment", "--rpc", url, "--out", str(tmp_path / "out"))
    assert code == 0, err
    assert check_output("verify-deployment", out)["ok"] is True
