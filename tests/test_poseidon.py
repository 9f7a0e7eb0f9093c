"""Python Poseidon (light-poseidon) against the references: circomlibjs on >= 1,000 random inputs per
arity in one node process, and circomlibjs's generated EVM hashers on the fast EVM."""

from __future__ import annotations

import json
import random
import subprocess

import pytest

from pymargin import tools
from pymargin.commit.poseidon import P, NotAFieldElement, poseidon
from pymargin.chain.commitments import HASHER_ARITIES, hasher_artifact, hasher_name

ARITIES = (1, 2, *HASHER_ARITIES)  # the commitment arities, plus two the circuits may use
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


def test_poseidon_known_vector():
    # circomlib's test vector (test/poseidoncircuit.js): Poseidon([1, 2])
    assert poseidon([1, 2]) == 7853200120776062878684798364095072458815029376092732009249414926327459813530


@pytest.mark.parametrize("bad", [P, P + 1, 2**256 - 1, -1])
def test_inputs_outside_the_field_are_rejected_not_reduced(bad):
    with pytest.raises(NotAFieldElement) as info:
        poseidon([5, bad])
    assert info.value.args_ == (bad,)


def test_poseidon_equals_the_on_chain_hashers(artifacts):
    from pymargin.chain.fastevm import FastEVM

    evm = FastEVM()
    cases = _cases(7, HASHER_ARITIES, 200)
    hashers = {}
    for n in HASHER_ARITIES:
        hasher_artifact(n)
        hashers[n] = evm.deploy(hasher_name(n))
    for xs in cases:
        n = len(xs)
        assert hashers[n].call(f"poseidon(uint256[{n}])", xs) == poseidon(xs), xs
