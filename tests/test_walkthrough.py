"""The README's "Walkthrough on anvil", run exactly as written: the lines are parsed from the README's
block (so the README cannot drift), each `pymargin ...` line runs through the CLI entry point in-process,
and each step's outcome is checked on the chain or on disk.

The test starts its own anvil on a free port in place of `pymargin devnet --port 8545 &` and points
`PYMARGIN_RPC_URL` at it. The default run goes from deploy to the checkpoint; the whole walkthrough
(commit, prove, post, audit, check inclusion) is marked slow.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account import Account

from cli_support import run_cli
from pymargin import tools
from pymargin.chain import devnet
from pymargin.chain.compile import load_artifact
from pymargin.chain.contracts import Contract
from pymargin.engine import Engine

README = tools.REPO_ROOT / "README.md"
EXAMPLE = tools.REPO_ROOT / "deployments" / "example.anvil.json"
WAD = 10**18


def walkthrough_lines() -> list[str]:
    """The lines of the README's shell block that follows the walkthrough marker."""
    text = README.read_text()
    marker = text.index("<!-- walkthrough")
    block = re.search(r"```sh\n(.*?)```", text[marker:], re.S)
    assert block, "the README's walkthrough block is missing"
    return [line for line in block.group(1).splitlines() if line.strip()]


class Walkthrough:
    """Runs README lines in ``cwd`` with the shell variables they set, against ``chain``."""

    def __init__(self, chain, cwd: Path, capsys, monkeypatch):
        self.chain, self.cwd, self.capsys, self.monkeypatch = chain, cwd, capsys, monkeypatch
        self.vars: dict[str, str] = {}
        self.results: list[tuple[list[str], dict[str, str], int, str, str]] = []

    def _expand(self, word: str) -> str:
        return re.sub(r"\$(\w+)", lambda m: self.vars[m.group(1)], word)

    def run(self, line: str) -> None:
        words = shlex.split(line, comments=True)
        if words[:2] == ["pymargin", "devnet"]:  # the test's own anvil stands in for the user's
            assert words[-1] == "&"
            return
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            value = self.chain.url if name == "PYMARGIN_RPC_URL" else value
            self.monkeypatch.setenv(name, value)
            return
        env = {}
        while "=" in words[0] and re.fullmatch(r"\w+=.*", words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = self._expand(value)
            if not words:  # a shell variable
                self.vars.update(env)
                return
        if words[0] != "pymargin":
            subprocess.run(["bash", "-c", line], cwd=self.cwd, check=True)
            return
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        args = [self._expand(w) for w in words[1:]]
        code, out, err = run_cli(self.capsys, *args)
        for name in env:
            self.monkeypatch.delenv(name)
        self.results.append((args, env, code, out, err))
        assert code == 0, f"`{line}` exited {code}: {err.strip()[-600:]}"
        if args[0] != "check-inclusion":  # the last step; every other names the next
            assert "next:" in err, f"`{line}` does not name the next step"


def _contract(chain, name: str, address: str) -> Contract:
    return Contract(chain, name, chain.w3.to_checksum_address(address), load_artifact(name))


def _address(key: str) -> str:
    return Account.from_key(key).address


def _check_step(w: Walkthrough, args: list[str], env: dict[str, str]) -> None:
    """The outcome of one README step, read back from the chain or the disk."""
    chain, command = w.chain, args[0]
    manifest = json.loads((w.cwd / "deployments" / f"{chain.chain_id}.json").read_text())
    venue = manifest["venue"]
    engine = _contract(chain, "MarginEngine", venue["engine"])
    signer = _address(env["PYMARGIN_PRIVATE_KEY"]) if "PYMARGIN_PRIVATE_KEY" in env else chain.accounts[0]
    if command == "deploy":
        artifacts = {r["artifact"] for r in manifest["contracts"].values()}
        assert {"TestToken", "MarginEngine", "DevOracle", "MockAggregatorV3", "ChainlinkAdapter", "Groth16BatchVerifier",
                "CircomlibPoseidon4", "CircomlibPoseidon5", "CircomlibPoseidon6", "SolvencyRegistry"} <= artifacts
        registry = _contract(chain, "SolvencyRegistry", venue["registry"])
        assert registry.call("engine") == engine.address and registry.call("treeDepth") == 3
        assert engine.call("marketCount") == 3 and engine.call("collateralToken") == venue["token"]
        assert chain.accounts[0] in engine.call("keepers") and chain.accounts[0] in engine.call("operators")
    elif command == "deposit":
        assert engine.call("collateral", signer, 0) == int(Decimal(args[1]) * WAD)
    elif command == "sign-order":
        doc = json.loads((w.cwd / args[args.index("--out") + 1]).read_text())
        assert doc["order"]["owner"] == signer and doc["engine"] == engine.address
    elif command == "fill-orders":
        taker = json.loads((w.cwd / args[1]).read_text())["order"]
        maker = json.loads((w.cwd / args[2]).read_text())["order"]
        size_wad = int(Decimal(args[args.index("--size") + 1]) * WAD)
        price_wad = int(Decimal(args[args.index("--price") + 1]) * WAD)
        mirror = Engine.from_chain(engine)
        market = int(taker["market_id"])
        assert mirror.position(taker["owner"], 0, market)[0] == size_wad
        assert mirror.position(maker["owner"], 0, market)[0] == -size_wad
        assert mirror.position(taker["owner"], 0, market)[1] == size_wad * price_wad // WAD  # cost basis, exact here
    elif command == "set-prices":
        rows = (w.cwd / args[args.index("--file") + 1]).read_text().split()[1:]
        names = [engine.call("marketState", m)[1] for m in range(engine.call("marketCount"))]
        for market, price in (r.split(",") for r in rows):
            assert engine.call("marketView", names.index(market))[0] == int(Decimal(price) * WAD)
    elif command == "checkpoint":
        assert engine.call("checkpointCount") == 1
        assert engine.call("checkpointBlock", 1) == chain.w3.eth.block_number
    elif command == "commit":
        out = w.cwd / args[args.index("--out") + 1]
        assert (out / "proofs.sqlite").is_file() and (out / "book.json").is_file()
        assert int(json.loads((out / "root.json").read_text())["epoch"]) == 1
    elif command == "prove":
        assert json.loads((w.cwd / args[args.index("--out") + 1]).read_text())["statement"]
    elif command == "post-epoch":
        registry = _contract(chain, "SolvencyRegistry", venue["registry"])
        assert registry.call("lastEpoch") == 1
        root = json.loads((w.cwd / "epoch-1" / "root.json").read_text())["root"]
        assert registry.call("rootOf", 1)[0] == int(str(root["hash"]), 0)
    elif command == "audit-epoch":
        assert "epoch audited: ok" in w.results[-1][3]
    elif command == "check-inclusion":  # the table's last column ("checks") may wrap over lines
        checks = " ".join(line.split("│")[-2].strip() for line in w.results[-1][3].splitlines() if line.count("│") > 2)
        assert re.search(r"offline ok,\s*on[-_]chain ok", checks), checks
    else:
        raise AssertionError(f"the walkthrough runs `pymargin {command}`, which this test does not check")


def _walk(tmp_path, capsys, monkeypatch, stop_after: str | None) -> list[str]:
    """Run the README's lines (up to the first `pymargin <stop_after>`), checking each step."""
    (tmp_path / "deployments").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "deployments" / EXAMPLE.name)
    monkeypatch.chdir(tmp_path)
    for name in ("PYMARGIN_PRIVATE_KEY", "PYMARGIN_KEYSTORE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    chain = devnet.start_anvil()
    try:
        w = Walkthrough(chain, tmp_path, capsys, monkeypatch)
        commands = []
        for line in walkthrough_lines():
            before = len(w.results)
            w.run(line)
            if len(w.results) > before:
                args, env = w.results[-1][0], w.results[-1][1]
                _check_step(w, args, env)
                commands.append(args[0])
                if args[0] == stop_after:
                    break
        return commands
    finally:
        chain.close()


@pytest.mark.anvil
def test_walkthrough_deploy_to_checkpoint(tmp_path, capsys, monkeypatch):
    commands = _walk(tmp_path, capsys, monkeypatch, stop_after="checkpoint")
    assert commands[0] == "deploy" and commands[-1] == "checkpoint"
    assert {"deposit", "sign-order", "fill-orders", "set-prices"} <= set(commands)


@pytest.mark.anvil
@pytest.mark.slow
def test_walkthrough_whole(tmp_path, capsys, monkeypatch):
    commands = _walk(tmp_path, capsys, monkeypatch, stop_after=None)
    assert commands[-6:] == ["checkpoint", "commit", "prove", "post-epoch", "audit-epoch", "check-inclusion"]
