"""Python Poseidon (light-poseidon, and the batched optimised-rounds hasher poseidon_opt) against the
references: circomlibjs on >= 1,000 random inputs per arity in one node process, and circomlibjs's
generated EVM hashers on the fast EVM."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from pymargin import tools
from pymargin.commit.poseidon import P, NotAFieldElement, poseidon
from pymargin.commit.poseidon_opt import OPT_ARITIES, TILE, poseidon_many
from pymargin.chain.commitments import HASHER_ARITIES, LEAF_ARITY, hasher_artifact, hasher_name

ARITIES = (1, 2, *HASHER_ARITIES, LEAF_ARITY)  # the commitment arities, plus two the circuits may use
CASES_PER_ARITY = 1000

_CIRCOMLIBJS = """
import { buildPoseidon } from "circomlibjs";
const poseidon = await buildPoseidon();
let data = "";
for await (const chunk of process.stdin) data += chunk;
const out = JSON.parse(data).map((xs) => poseidon.F.toString(poseidon(xs.map(BigInt))));
process.stdout.write(JSON.stringify(out));
"""


def _random_input(rng: random.Random) -> int:
    kind = rng.randrange(4)
    if kind == 0:
        return rng.randrange(P)
    if kind == 1:
        return rng.randrange(2**rng.randrange(1, 254)) % P
    if kind == 2:
        return P - 1 - rng.randrange(1000)
    return rng.randrange(3)


def _cases(seed: int, arities, per_arity: int) -> list[list[int]]:
    rng = random.Random(seed)
    return [[_random_input(rng) for _ in range(n)] for n in arities for _ in range(per_arity)]


def _circomlibjs(cases: list[list[int]]) -> list[int]:
    proc = subprocess.run(
        [tools.node(), "--input-type=module", "-e", _CIRCOMLIBJS],
        input=json.dumps([[str(x) for x in xs] for xs in cases]),
        cwd=tools.node_modules().parent, capture_output=True, text=True, timeout=300, check=True,
    )
    return [int(h) for h in json.loads(proc.stdout)]


def test_poseidon_equals_circomlibjs_on_random_inputs():
    cases = _cases(20261121, ARITIES, CASES_PER_ARITY)
    expected = _circomlibjs(cases)
    mismatches = [(xs, want) for xs, want in zip(cases, expected) if poseidon(xs) != want]
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ, first {mismatches[0]}"
    assert len({len(xs) for xs in cases}) == len(ARITIES)


def _many(arity: int, rows: list[list[int]]) -> list[int]:
    out = poseidon_many(arity, b"".join(x.to_bytes(32, "big") for xs in rows for x in xs))
    return [int.from_bytes(out[32 * k: 32 * k + 32], "big") for k in range(len(rows))]


def test_batched_poseidon_equals_circomlibjs_on_random_inputs():
    arities = OPT_ARITIES
    cases = _cases(20261201, arities, CASES_PER_ARITY)  # 1,000 per arity: 3 full tiles and a partial one
    expected = _circomlibjs(cases)
    for n in arities:
        rows = [xs for xs in cases if len(xs) == n]
        want = [h for xs, h in zip(cases, expected) if len(xs) == n]
        got = _many(n, rows)
        bad = [k for k in range(len(rows)) if got[k] != want[k]]
        assert not bad, f"Poseidon_{n}: {len(bad)} of {len(rows)} differ, first {rows[bad[0]]}"
    assert CASES_PER_ARITY % TILE


def test_batched_poseidon_known_vector_and_edge_sizes():
    assert _many(2, [[1, 2]]) == [7853200120776062878684798364095072458815029376092732009249414926327459813530]
    assert poseidon_many(6, b"") == b""
    rows = [[k, P - 1 - k, 3, 0, 2**200 + k, k * k] for k in range(TILE + 1)]  # one full tile and one of 1
    assert _many(6, rows) == [poseidon(xs) for xs in rows]


@pytest.mark.parametrize("bad", [P, P + 1, 2**256 - 1])
def test_batched_poseidon_rejects_the_first_input_outside_the_field(bad):
    rows = [[1, 2, 3, 4], [5, bad, 7, P + 9], [P - 1, 0, 0, 0]]
    with pytest.raises(NotAFieldElement) as info:
        _many(4, rows)
    assert info.value.args_ == (bad,)
    with pytest.raises(ValueError, match="128 bytes per hash"):
        poseidon_many(4, b"\0" * 100)


def test_batched_poseidon_kernels_module_is_generated():
    script = Path(__file__).resolve().parent.parent / "scripts" / "gen_poseidon_kernels.py"
    subprocess.run([sys.executable, str(script), "--check"], check=True, timeout=60)


def test_generated_poseidon_contracts_are_up_to_date():
    """contracts/commit/Poseidon8.sol and Poseidon11.sol are what scripts/gen_poseidon_contract.py writes (its layout
    of the data contracts is pymargin.chain.commitments.wide_poseidon_parts, which the deploy uses)."""
    import importlib.util

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("gen_poseidon_contract", root / "scripts" / "gen_poseidon_contract.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    for n in (8, 11):
        assert generator.source(n) == (root / "contracts" / "commit" / f"Poseidon{n}.sol").read_text(), n


def test_poseidon_known_vector():
    # circomlib's test vector (test/poseidoncircuit.js): Poseidon([1, 2])
    assert poseidon([1, 2]) == 7853200120776062878684798364095072458815029376092732009249414926327459813530


@pytest.mark.parametrize("bad", [P, P + 1, 2**256 - 1, -1])
def test_inputs_outside_the_field_are_rejected_not_reduced(bad):
    with pytest.raises(NotAFieldElement) as info:
        poseidon([5, bad])
    assert info.value.args_ == (bad,)


def test_poseidon_equals_the_on_chain_hashers(artifacts):
    """circomlibjs's generated hashers and the leaf's Poseidon11 (contracts/commit/Poseidon11.sol) = Python."""
    from commit_books import fast_leaf_hasher

    from pymargin.chain.fastevm import FastEVM

    evm = FastEVM()
    cases = _cases(7, (*HASHER_ARITIES, LEAF_ARITY), 200) + [[0] * LEAF_ARITY, [P - 1] * LEAF_ARITY]
    hashers = {}
    for n in HASHER_ARITIES:
        hasher_artifact(n)
        hashers[n] = evm.deploy(hasher_name(n))
    hashers[LEAF_ARITY] = fast_leaf_hasher(evm)
    for xs in cases:
        n = len(xs)
        assert hashers[n].call(f"poseidon(uint256[{n}])", xs) == poseidon(xs), xs
