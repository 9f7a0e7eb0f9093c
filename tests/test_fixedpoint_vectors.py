"""tests/vectors/fixedpoint.json run against every implementation of the fixed-point library.

One table, several implementations (as py_ecc runs one test module over its curves): the Solidity
library through its harness on the fast EVM, and pymargin.fixedpoint. The expectations were derived
from exact rationals by tests/vectors/generate.py, not from the code under test.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from pymargin import fixedpoint as fp
from pymargin.chain.fastevm import FastEVM
from pymargin.chain.tx import ContractRevert
from pymargin.errors import Revert

VECTOR_DIR = Path(__file__).resolve().parent / "vectors"
VECTORS = json.loads((VECTOR_DIR / "fixedpoint.json").read_text())["vectors"]
PYTHON = {
    "mulDiv": fp.mul_div,
    "sMulDiv": fp.smul_div,
    "mulWad": fp.mul_wad,
    "sMulWad": fp.smul_wad,
    "divWad": fp.div_wad,
    "sDivWad": fp.sdiv_wad,
    "divRounded": fp.div_rounded,
    "sDivRounded": fp.sdiv_rounded,
    "sdiv": fp.sdiv,
    "smod": fp.smod,
    "toInt256": fp.to_int256,
    "toUint256": fp.to_uint256,
}


def load_generator():
    spec = importlib.util.spec_from_file_location("vector_generator", VECTOR_DIR / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def decode_args(args: list[str]) -> list:
    return [fp.Rounding[a] if a in fp.Rounding.__members__ else int(a) for a in args]


def expected(vector: dict) -> tuple:
    e = vector["expect"]
    return ("value", int(e["value"])) if "value" in e else ("revert", e["error"], tuple(int(a) for a in e["args"]))


def outcome(fn, *args) -> tuple:
    try:
        return ("value", fn(*args))
    except (Revert, ContractRevert) as exc:
        return ("revert", exc.name, tuple(exc.args_))


@pytest.fixture(scope="module", params=["solidity", "python"])
def implementation(request):
    """fn name -> callable, for one implementation."""
    if request.param == "python":
        return PYTHON.__getitem__
    request.getfixturevalue("artifacts")
    harness = FastEVM().deploy("FixedPointMathHarness")
    return lambda name: lambda *args: harness.call(name, *args)


@pytest.mark.parametrize("name", list(PYTHON))
def test_vectors(implementation, name):
    vectors = [v for v in VECTORS if v["fn"] == name]
    assert len(vectors) >= 30
    fn = implementation(name)
    wrong = [(v["args"], expected(v), got) for v in vectors if (got := outcome(fn, *decode_args(v["args"]))) != expected(v)]
    assert not wrong, f"{len(wrong)} of {len(vectors)} vectors differ, first: {wrong[:3]}"


def test_vector_files_are_generated():
    """The JSON files are exactly what the generator produces (no hand edits, no stale tables)."""
    for name, content in load_generator().build().items():
        assert json.loads((VECTOR_DIR / name).read_text()) == content, f"{name} is stale: run tests/vectors/generate.py"
