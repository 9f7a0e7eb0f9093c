"""The chain commands from the command line: help with examples, happy paths, one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from pymargin.chain import devnet
from cli_support import run_cli as run

FIXTURES = Path(__file__).parent / "fixtures" / "contracts"




@pytest.mark.parametrize("command", ["compile", "devnet", "deploy", "verify-deployment"])
def test_every_command_has_help_with_an_example(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and "Example:" in out and "pymargin " + command.split()[0] in out


def test_top_level_help_lists_the_commands(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("compile", "devnet", "deploy", "verify-deployment"):
        assert command in out


def test_compile_json_output(capsys, tmp_path):
    shutil.copytree(FIXTURES, tmp_path / "contracts")
    code, out, _ = run(capsys, "--json", "compile", "--contracts", str(tmp_path / "contracts"), "--out", str(tmp_path / "out"))
    assert code == 0
    data = json.loads(out)
    assert {a["contract"] for a in data["artifacts"]} == {"Counter", "Owned"} and data["compiler"].startswith("0.8.37")


def test_compile_error_is_reported_with_file_and_line(capsys, tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "Bad.sol").write_text("pragma solidity 0.8.37;\ncontract Bad { uint x = ; }\n")
    code, _, err = run(capsys, "compile", "--contracts", str(tmp_path / "c"), "--out", str(tmp_path / "out"))
    assert code == 2 and "Bad.sol:2:" in err and "Traceback" not in err


@pytest.mark.anvil
def test_deploy_and_verify_deployment_on_anvil(capsys, tmp_path, monkeypatch, anvil_chain):
    shutil.copytree(FIXTURES, tmp_path / "contracts")
    monkeypatch.chdir(tmp_path)
    key = Account.create()
    anvil_chain.w3.provider.make_request("anvil_setBalance", [key.address, hex(10**18)])
    monkeypatch.setenv("PYMARGIN_PRIVATE_KEY", key.key.hex())
    (tmp_path / "deploy.json").write_text(json.dumps(
        {"chain_id": 31337, "contracts": [{"name": "Counter", "artifact": "Counter", "args": [2, "{deployer}"]}]}))
    build = ["--contracts", "contracts", "--out", "out"]
    code, out, err = run(capsys, "--json", "deploy", "--config", "deploy.json", "--rpc", anvil_chain.url, *build)
    assert code == 0, err
    data = json.loads(out)
    assert data["deployed"] == ["Counter"]
    manifest = json.loads((tmp_path / "deployments" / "31337.json").read_text())
    assert manifest["contracts"]["Counter"]["deployer"] == key.address
    code, out, err = run(capsys, "--json", "deploy", "--config", "deploy.json", "--rpc", anvil_chain.url, *build)
    assert code == 0 and json.loads(out)["reused"] == ["Counter"]
    code, out, err = run(capsys, "--json", "verify-deployment", "--rpc", anvil_chain.url, "--out", "out")
    assert code == 0, err
    assert [c["ok"] for c in json.loads(out)["contracts"]] == [True]


@pytest.mark.parametrize(
    "files, args, message",
    [
        ({}, ["deploy", "--config", "missing.json", "--rpc", "http://127.0.0.1:9"], "deploy config missing.json not found"),
        ({"d.json": "{nope"}, ["deploy", "--config", "d.json", "--rpc", "http://127.0.0.1:9"], "d.json: malformed JSON at line 1"),
        ({"d.json": '{"chain_id": 1, "contracts": [{"name": "A", "artifact": "A"}]}'}, ["deploy", "--config", "d.json", "--rpc", "http://127.0.0.1:{port}"], "cannot reach the RPC at http://127.0.0.1:"),
        ({"d.json": '{"chain_id": 1, "contracts": [{"name": "A", "artifact": "A"}]}'}, ["deploy", "--config", "d.json"], "deploy needs --rpc URL"),
        ({}, ["verify-deployment", "--rpc", "http://127.0.0.1:{port}"], "cannot reach the RPC"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(capsys, tmp_path, monkeypatch, files, args, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYMARGIN_RPC_URL", raising=False)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    port = devnet.free_port()
    code, out, err = run(capsys, *[a.replace("{port}", str(port)) for a in args])
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_console_script_prints_no_traceback(tmp_path):
    """The installed `pymargin` entry point, as a user runs it."""
    exe = Path(sys.executable).with_name("pymargin")
    out = subprocess.run([str(exe), "deploy", "--config", str(tmp_path / "x.json"), "--rpc", "http://127.0.0.1:9"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip() == f"pymargin: error: deploy config {tmp_path / 'x.json'} not found"
