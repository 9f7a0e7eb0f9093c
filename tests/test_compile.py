"""Compiling with the pinned solc: Foundry-shaped artifacts, determinism, incremental builds, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pymargin.chain import compile as comp
from pymargin.errors import UserError

FIXTURES = Path(__file__).parent / "fixtures" / "contracts"


@pytest.fixture
def src(tmp_path):
    dst = tmp_path / "contracts"
    shutil.copytree(FIXTURES, dst)
    return dst


def test_artifacts_have_foundry_shape(src, tmp_path):
    built = comp.compile_contracts(src, tmp_path / "out")
    assert set(built) == {"Counter", "Owned"}
    art = json.loads((tmp_path / "out" / "Counter.sol" / "Counter.json").read_text())
    assert {"abi", "bytecode", "deployedBytecode", "methodIdentifiers", "rawMetadata", "metadata"} <= set(art)
    assert art["bytecode"]["object"].startswith("0x6") and len(art["bytecode"]["object"]) > 100
    assert art["methodIdentifiers"]["add(uint256)"] == "1003e2d2"
    assert art["metadata"]["compiler"]["version"].startswith(comp.SOLC_VERSION + "+")
    assert art["metadata"]["settings"]["evmVersion"] == comp.EVM_VERSION
    assert art["deployedBytecode"]["immutableReferences"], "the immutable `step` must be listed"


def test_compilation_is_deterministic(src, tmp_path):
    comp.compile_contracts(src, tmp_path / "a")
    comp.compile_contracts(src, tmp_path / "b", force=True)
    a = (tmp_path / "a" / "Counter.sol" / "Counter.json").read_bytes()
    b = (tmp_path / "b" / "Counter.sol" / "Counter.json").read_bytes()
    assert a == b


def test_incremental_recompiles_only_changed_sources_and_their_importers(src, tmp_path):
    out = tmp_path / "out"
    comp.compile_contracts(src, out)
    counter = out / "Counter.sol" / "Counter.json"
    owned = out / "Owned.sol" / "Owned.json"
    before = {p: p.stat().st_mtime_ns for p in (counter, owned)}
    comp.compile_contracts(src, out)
    assert {p: p.stat().st_mtime_ns for p in (counter, owned)} == before, "nothing changed: nothing rewritten"

    text = (src / "Counter.sol").read_text().replace("times > 100", "times > 99")
    (src / "Counter.sol").write_text(text)
    comp.compile_contracts(src, out)
    assert counter.stat().st_mtime_ns != before[counter]
    assert owned.stat().st_mtime_ns == before[owned], "Owned.sol does not import Counter.sol"

    (src / "Owned.sol").write_text((src / "Owned.sol").read_text() + "\n// touched\n")
    mid = counter.stat().st_mtime_ns
    comp.compile_contracts(src, out)
    assert counter.stat().st_mtime_ns != mid, "Counter.sol imports Owned.sol, so it is rebuilt"


def test_deleted_source_removes_its_artifacts(src, tmp_path):
    out = tmp_path / "out"
    (src / "Extra.sol").write_text("// SPDX-License-Identifier: MIT\npragma solidity 0.8.37;\ncontract Extra {}\n")
    comp.compile_contracts(src, out)
    assert (out / "Extra.sol" / "Extra.json").is_file()
    (src / "Extra.sol").unlink()
    built = comp.compile_contracts(src, out)
    assert "Extra" not in built and not (out / "Extra.sol" / "Extra.json").exists()


def test_compile_error_names_file_and_line(src, tmp_path):
    (src / "Broken.sol").write_text("// SPDX-License-Identifier: MIT\npragma solidity 0.8.37;\ncontract Broken {\n  function f() external { uint x = ; }\n}\n")
    with pytest.raises(comp.CompileError) as err:
        comp.compile_contracts(src, tmp_path / "out")
    message = str(err.value)
    assert "Broken.sol:4:" in message and "Expected primary expression" in message


def test_missing_node_is_a_clear_error(src, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    comp.tools.node.cache_clear()
    comp.find_compiler.cache_clear()  # found once per process
    try:
        with pytest.raises(UserError, match="Node.js not found"):
            comp.compile_contracts(src, tmp_path / "out")
    finally:
        comp.tools.node.cache_clear()
        comp.find_compiler.cache_clear()


def test_no_sources_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no .sol files"):
        comp.compile_contracts(tmp_path / "empty", tmp_path / "out")


def test_engine_contracts_fit_eip170(artifacts):
    """MarginEngine and OptionsEngine deploy on Ethereum: runtime code ≤ 24,576 bytes (EIP-170)."""
    from pymargin.chain.compile import load_artifact

    for name in ("MarginEngine", "OptionsEngine"):
        size = len(bytes.fromhex(load_artifact(name)["deployedBytecode"]["object"].removeprefix("0x")))
        assert size <= 24_576, (name, size)
