"""The Solidity invariant tests of the MarginEngine (tests/forge), run by forge from the default suite.

forge must compile with the solc and settings of ``pymargin compile`` (foundry.toml is held to
``pymargin.chain.compile``), build the same MarginEngine code (metadata aside), and pass every test
of tests/forge with the configured number of runs and calls. The ``slow`` test runs the larger
``slow`` profile of foundry.toml.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import tomllib
from pathlib import Path

import pytest

from pymargin import tools
from pymargin.chain import compile as comp

ROOT = tools.REPO_ROOT
CONFIG = tomllib.loads((ROOT / "foundry.toml").read_text())["profile"]
FORGE_OUT = ROOT / CONFIG["default"]["out"]


def _forge_test(profile: str, *args: str) -> dict:
    """``forge test --json`` under ``profile``: {test name: result}; fails the test on a build error."""
    env = {**os.environ, "FOUNDRY_PROFILE": profile, "PYMARGIN_NODE_MODULES": str(tools.node_modules())}
    run = subprocess.run(
        [str(tools.forge_binary()), "test", "--root", str(ROOT), "--json", *args],
        capture_output=True, text=True, env=env, timeout=900,
    )
    try:
        suites = json.loads(run.stdout)
    except ValueError:
        pytest.fail(f"forge test did not run (exit {run.returncode}):\n{run.stderr[-4000:]}{run.stdout[-4000:]}")
    return {name: result for suite in suites.values() for name, result in suite["test_results"].items()}


def _without_metadata(bytecode: str) -> str:
    """Runtime or creation code without solc's CBOR metadata trailer (its length is the last 2 bytes)."""
    code = bytecode.removeprefix("0x")
    return code[: -2 * (int(code[-4:], 16) + 2)]


def _sequence(counterexample: dict | None) -> str:
    """forge's shrunk call sequence, one handler call per line."""
    steps = (counterexample or {}).get("Sequence", [0, []])[1]
    return "".join(f"\n    {step['signature']} {step['raw_args']}" for step in steps)


def _check_results(results: dict, profile: str) -> None:
    failures = [
        f"{name}: {r['reason']}{_sequence(r.get('counterexample'))}"
        for name, r in results.items() if r["status"] != "Success"
    ]
    assert not failures, "forge invariant tests failed:\n" + "\n".join(failures)
    invariant = CONFIG.get(profile, {}).get("invariant") or CONFIG["default"]["invariant"]
    campaigns = [r["kind"]["Invariant"] for r in results.values() if "Invariant" in r["kind"]]
    assert campaigns, "forge ran no invariant test"
    for campaign in campaigns:
        assert campaign["runs"] == invariant["runs"]
        assert campaign["calls"] == invariant["runs"] * invariant["depth"]
        assert campaign["reverts"] == 0, "the handler reverted (fail_on_revert)"


def test_foundry_config_is_pymargin_compile():
    """foundry.toml: the project's solc shim (pinned npm solc) and exactly the settings of `pymargin compile`."""
    forge = CONFIG["default"]
    assert (ROOT / forge["solc"]).resolve() == (Path(comp.__file__).parent / "bin" / "solc").resolve()
    assert forge["evm_version"] == comp.SETTINGS["evmVersion"]
    assert forge["optimizer"] is comp.SETTINGS["optimizer"]["enabled"]
    assert forge["optimizer_runs"] == comp.SETTINGS["optimizer"]["runs"]
    assert forge["via_ir"] is comp.SETTINGS["viaIR"]
    assert forge["bytecode_hash"] == comp.SETTINGS["metadata"]["bytecodeHash"]
    assert forge["offline"] is True


def test_forge_invariants(artifacts):
    """`forge test` passes (default profile: runs × depth calls, no handler revert), and forge's
    MarginEngine is byte for byte the one `pymargin compile` builds, but for the metadata hash."""
    _check_results(_forge_test("default"), "default")
    ours = json.loads(artifacts["MarginEngine"].read_text())
    forges = json.loads((FORGE_OUT / "MarginEngine.sol" / "MarginEngine.json").read_text())
    for key in ("bytecode", "deployedBytecode"):
        assert _without_metadata(forges[key]["object"]) == _without_metadata(ours[key]["object"]), key
    assert forges["metadata"]["compiler"]["version"] == ours["metadata"]["compiler"]["version"]


@pytest.mark.slow
def test_forge_invariants_large():
    """The slow profile of foundry.toml (more and longer sequences), with a fresh random seed."""
    seed = hex(random.getrandbits(256))
    print(f"forge fuzz seed {seed}")
    _check_results(_forge_test("slow", "--fuzz-seed", seed), "slow")
