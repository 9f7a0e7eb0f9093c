"""Three verifiers, one verdict: py-ecc (pymargin.zk.verify), snarkjs (through pymargin's wrapper) and
the EVM verifier (pymargin's snarkjs-generated Solidity verifier, on revm and on the test chain) get
the same honest, malformed and tampered proofs of one small circuit and must all answer the same;
randomly tampered proofs must get the same verdict from py-ecc and the EVM verifier. The same kinds,
each placed beside an honest proof, get the same verdict from the batched checks (py-ecc's
``verify_batch`` and the EVM ``Groth16BatchVerifier``) and from snarkjs proof by proof.

Every kind of proof carries the answer it must get and, from :func:`proof_defect`, the reason it is
malformed (None: well formed, the pairing decides). Malformed proofs are rejected before any
pairing: in Python the pairing and snarkjs are never reached; on chain an encoding defect returns
before the first precompile call, and a point off the curve or outside G2 fails the pairing
precompile's input check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.optimized_bn128 import G1, add, b2, curve_order, multiply, normalize

from pymargin.chain import solvency as onchain
from pymargin.chain.compile import compile_contracts
from pymargin.chain.fastevm import FastEVM
from pymargin.chain.tx import ContractRevert, node_signer, send
from pymargin.zk import backends, setup, solidity
from pymargin.zk import verify as pyecc
from pymargin.zk.calldata import verify_batch_calldata, verify_proof_calldata
from pymargin.zk.field import FIELD_P as R
from pymargin.zk.field import to_field
from pymargin.zk.proof import Proof, ProofFormatError, VerifyingKey, load_artifact, save_artifact
from pymargin.zk.verify import BATCH_ABI_TYPES
from pymargin.zk.wellformed import BASE_FIELD_Q as Q
from pymargin.zk.wellformed import proof_defect
from pymargin.zk.witness import compute_witness
from zk_small import A, B, mulwad_circuit

EARLY_REJECT_GAS = 40_000  # 21,000 intrinsic + ~5,000 calldata + the encoding checks
PAIRING_GAS = 45_000 + 4 * 34_000  # the 4-pair pairing precompile alone (EIP-1108)
BATCH_COEFFICIENTS_SIGNATURE = "batchCoefficients((uint256[2],uint256[2][2],uint256[2])[],uint256[])"
OTHER_A, OTHER_B = 2 * 10**18 + 718281828459045235, -(1 * 10**18 + 414213562373095048)  # a second statement
THIRD_A, THIRD_B = 3 * 10**18 + 718281828459045235, 1 * 10**18 + 414213562373095048  # a third statement


@dataclass(frozen=True)
class Case:
    kind: str
    proof: Proof
    valid: bool  # the verdict every verifier must give
    defect: str | None  # proof_defect's reason; None: well formed, the pairing decides


@pytest.fixture(scope="module")
def keys():
    return setup.dev_setup_groth16py(mulwad_circuit())


@pytest.fixture(scope="module")
def proofs(keys, tmp_path_factory):
    """Honest proofs of two statements: (A, B) and (OTHER_A, OTHER_B)."""
    folder = tmp_path_factory.mktemp("wtns")
    out = []
    for i, (a, b) in enumerate(((A, B), (OTHER_A, OTHER_B))):
        wtns = compute_witness(keys.circuit, {"a": to_field(a), "b": to_field(b)}, folder / f"{i}.wtns")
        out.append(backends.Groth16pyBackend().prove(keys, wtns))
    return out


@pytest.fixture(scope="module")
def revm_verifier(keys):
    """(revm, pymargin's verifier of ``keys`` deployed there)."""
    evm = FastEVM()
    return evm, evm.deploy(onchain.VERIFIER_CONTRACT, out_dir=onchain.verifier_artifacts(keys))


@pytest.fixture(scope="module")
def third_proof(keys, tmp_path_factory):
    wtns = compute_witness(keys.circuit, {"a": to_field(THIRD_A), "b": to_field(THIRD_B)}, tmp_path_factory.mktemp("wtns3") / "3.wtns")
    return backends.Groth16pyBackend().prove(keys, wtns)


@pytest.fixture(scope="module")
def revm_batch_verifier(keys):
    """(revm, pymargin's batch verifier of ``keys`` deployed there)."""
    evm = FastEVM()
    return evm, evm.deploy(onchain.BATCH_VERIFIER_CONTRACT, out_dir=onchain.verifier_artifacts(keys))


def _evm_batch_verdict(evm, verifier, proofs: list[Proof]) -> str:
    return _evm_verdict(lambda: evm.call(verifier.address, verify_batch_calldata(proofs)))


def _neg_g1(p):
    return p[0], (Q - p[1]) % Q


def _neg_g2(p):
    return p[0], ((Q - p[1][0]) % Q, (Q - p[1][1]) % Q)


def _affine_g1(p) -> tuple[int, int]:
    x, y = normalize(p)
    return int(x), int(y)


def _fq2_sqrt(a: FQ2) -> FQ2 | None:
    """A square root in F_q² (q ≡ 3 mod 4; Adj and Rodríguez-Henríquez, algorithm 9), or None."""
    a1 = a ** ((Q - 3) // 4)
    alpha = a1 * a1 * a
    x0 = a1 * a
    if alpha == -FQ2.one():
        root = FQ2([0, 1]) * x0
    else:
        root = (FQ2.one() + alpha) ** ((Q - 1) // 2) * x0
    return root if root * root == a else None


def _twist_point_outside_g2():
    """A point of the twist y² = x³ + 3/(9 + i) that is not in the order-r subgroup G2."""
    for k in range(1, 1000):
        x = FQ2([k, 1])
        y = _fq2_sqrt(x * x * x + b2)
        if y is not None and multiply((x, y, FQ2.one()), curve_order)[2] != FQ2.zero():
            return (int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1]))
    raise AssertionError("no twist point outside G2 found")


def _malleable_ays(y: int) -> list[int]:
    """The non-canonical A.y values (≥ q, < 2^256) that snarkjs's template negates to −A: Y ≡ y + 2^256 (mod q)."""
    first = (y + 2**256) % Q + Q
    return list(range(first, 2**256, Q))


def _cases(proof: Proof, other: Proof) -> list[Case]:
    a, b, c, pub = proof.a, proof.b, proof.c, proof.public
    (bx0, bx1), (by0, by1) = b
    not_below_q = "{} is not below the base-field modulus q"
    cases = [
        Case("honest proof", proof, True, None),
        Case("honest proof of another statement", other, True, None),
        Case("A and B both negated (e(-A, -B) = e(A, B))", Proof(_neg_g1(a), _neg_g2(b), c, pub), True, None),
        Case("pi_a.x + q", Proof((a[0] + Q, a[1]), b, c, pub), False, not_below_q.format("pi_a.x")),
        Case("pi_a.y + q", Proof((a[0], a[1] + Q), b, c, pub), False, not_below_q.format("pi_a.y")),
        Case("pi_b.x.c0 + q", Proof(a, ((bx0 + Q, bx1), (by0, by1)), c, pub), False, not_below_q.format("pi_b.x.c0")),
        Case("pi_b.x.c1 + q", Proof(a, ((bx0, bx1 + Q), (by0, by1)), c, pub), False, not_below_q.format("pi_b.x.c1")),
        Case("pi_b.y.c0 + q", Proof(a, ((bx0, bx1), (by0 + Q, by1)), c, pub), False, not_below_q.format("pi_b.y.c0")),
        Case("pi_b.y.c1 + q", Proof(a, ((bx0, bx1), (by0, by1 + Q)), c, pub), False, not_below_q.format("pi_b.y.c1")),
        Case("pi_c.x + q", Proof(a, b, (c[0] + Q, c[1]), pub), False, not_below_q.format("pi_c.x")),
        Case("pi_c.y + q", Proof(a, b, (c[0], c[1] + Q), pub), False, not_below_q.format("pi_c.y")),
        Case("pi_c.x + 2q", Proof(a, b, (c[0] + 2 * Q, c[1]), pub), False, not_below_q.format("pi_c.x")),
        Case("public signal 0 + r", Proof(a, b, c, (pub[0] + R, pub[1])), False, "public signal 0 is not below the scalar-field modulus r"),
        Case("public signal 1 + r", Proof(a, b, c, (pub[0], pub[1] + R)), False, "public signal 1 is not below the scalar-field modulus r"),
        Case("public signal 0 wrong (output + 1)", Proof(a, b, c, ((pub[0] + 1) % R, pub[1])), False, None),
        Case("public signal 1 wrong (input + 1)", Proof(a, b, c, (pub[0], (pub[1] + 1) % R)), False, None),
        Case("public signals swapped", Proof(a, b, c, (pub[1], pub[0])), False, None),
        Case("one public signal missing", Proof(a, b, c, pub[:1]), False, "1 public signals, the key takes 2"),
        Case("one public signal too many", Proof(a, b, c, pub + (0,)), False, "3 public signals, the key takes 2"),
        Case("pi_b coordinates in Ethereum order [c1, c0]", Proof(a, ((bx1, bx0), (by1, by0)), c, pub), False, "pi_b is not on the twist curve"),
        Case("A negated", Proof(_neg_g1(a), b, c, pub), False, None),
        Case("B negated", Proof(a, _neg_g2(b), c, pub), False, None),
        Case("C negated", Proof(a, b, _neg_g1(c), pub), False, None),
        Case("A and C swapped", Proof(c, b, a, pub), False, None),
        Case("A is the generator of G1", Proof(_affine_g1(G1), b, c, pub), False, None),
        Case("A off the curve (y + 1)", Proof((a[0], (a[1] + 1) % Q), b, c, pub), False, "pi_a is not on the curve"),
        Case("C off the curve (x + 1)", Proof(a, b, ((c[0] + 1) % Q, c[1]), pub), False, "pi_c is not on the curve"),
        Case("B off the twist (y.c0 + 1)", Proof(a, ((bx0, bx1), ((by0 + 1) % Q, by1)), c, pub), False, "pi_b is not on the twist curve"),
        Case("B on the twist, outside G2", Proof(a, _twist_point_outside_g2(), c, pub), False, "pi_b is not in the order-r subgroup of G2"),
        Case("A at infinity", Proof((0, 0), b, c, pub), False, "pi_a is the point at infinity"),
        Case("B at infinity", Proof(a, ((0, 0), (0, 0)), c, pub), False, "pi_b is the point at infinity"),
        Case("C at infinity", Proof(a, b, (0, 0), pub), False, "pi_c is the point at infinity"),
        Case("another statement's proof, this statement's signals", Proof(other.a, other.b, other.c, pub), False, None),
        Case("this proof, another statement's signals", Proof(a, b, c, other.public), False, None),
        Case("A taken from another proof", Proof(other.a, b, c, pub), False, None),
    ]
    cases += [Case(f"pi_a.y ≡ y + 2^256 (mod q), + {i}q: the template negates it to -A", Proof((a[0], y), b, c, pub), False, not_below_q.format("pi_a.y"))
              for i, y in enumerate(_malleable_ays(a[1]), start=1)]
    return cases


def _evm_verdict(call) -> str:
    """"accept" / "reject" from a verifyProof call's return data (on revm); "reject (revert)" if it reverts."""
    try:
        out = call()
    except ContractRevert as exc:
        if exc.name == "Halt":  # out of gas or an invalid opcode is no verdict
            raise
        return "reject (revert)"
    assert len(out) == 32 and int.from_bytes(out, "big") in (0, 1), out
    return "accept" if out[-1] == 1 else "reject"


def _verdict(ok: bool) -> str:
    return "accept" if ok else "reject"


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows)


def test_three_verifiers_one_verdict(chain, keys, proofs, third_proof, revm_verifier, revm_batch_verifier):
    """Every kind alone, and placed first or second in a batch beside an honest proof: py-ecc
    (``verify``, ``verify_batch``), snarkjs (each proof: a batch is valid iff all are) and the EVM
    verifiers (single and batch on revm; on the test chain the single one always, the batch one for
    a sample, its pairing being py_ecc's) give the kind's verdict, and proof_defect its reason."""
    vk = keys.verifying_key()
    revm, on_revm = revm_verifier
    batch_revm, on_batch_revm = revm_batch_verifier
    on_chain, _ = onchain.deploy_verifier(chain, keys, node_signer(chain))
    batch_on_chain, _ = onchain.deploy_batch_verifier(chain, keys, node_signer(chain))
    honest_snarkjs = backends.SnarkjsBackend.verify(vk, third_proof)
    assert honest_snarkjs
    cases = _cases(*proofs)
    assert len({c.kind for c in cases}) == len(cases) >= 20
    rows = [("kind", "expected", "py-ecc", "snarkjs", "EVM (revm)", "EVM (chain)", "batch at", "py-ecc batch",
             "snarkjs batch", "EVM batch (revm)", "EVM batch (chain)", "reason")]
    disagreements = []
    for n, case in enumerate(cases):
        data = verify_proof_calldata(case.proof)
        snarkjs_says = backends.SnarkjsBackend.verify(vk, case.proof)
        verdicts = [
            _verdict(pyecc.verify(vk, case.proof)),
            _verdict(snarkjs_says),
            _evm_verdict(lambda: revm.call(on_revm.address, data)),
            _verdict(onchain.verify_onchain(on_chain, case.proof)),
        ]
        position = n % 2
        batch = [third_proof] * position + [case.proof] + [third_proof] * (1 - position)
        batch_verdicts = [
            _verdict(pyecc.verify_batch(vk, batch)),
            _verdict(snarkjs_says and honest_snarkjs),
            _evm_batch_verdict(batch_revm, on_batch_revm, batch),
            _verdict(onchain.verify_batch_onchain(batch_on_chain, batch)) if n % 10 == 0 else "-",
        ]
        defect = proof_defect(case.proof, vk.n_public)
        rows.append((case.kind, _verdict(case.valid), *verdicts, str(position), *batch_verdicts, defect or "-"))
        if any(v.split()[0] not in (_verdict(case.valid), "-") for v in verdicts + batch_verdicts) or defect != case.defect:
            disagreements.append(case.kind)
    table = _table(rows)
    print("\n" + table)
    assert not disagreements, f"verifiers disagree or misclassify: {disagreements}\n{table}"


def test_malformed_proofs_are_rejected_before_any_pairing(monkeypatch, chain, keys, proofs):
    """py-ecc never reaches its pairing, the wrapper never calls snarkjs, and the EVM verifier returns
    without a pairing (its gas is far below the precompile's) for every encoding defect; off-curve and
    off-subgroup points are the pairing precompile's own input checks, done before it pairs."""
    vk = keys.verifying_key()
    malformed = [c for c in _cases(*proofs) if c.defect is not None]
    signer = node_signer(chain)
    verifier, _ = onchain.deploy_verifier(chain, keys, signer)
    honest_gas = send(chain, signer, {"to": verifier.address, "data": verify_proof_calldata(proofs[0])}, gas=onchain.VERIFY_GAS).gasUsed

    def reached(*_args, **_kwargs):
        raise AssertionError("a malformed proof reached the pairing")

    monkeypatch.setattr(pyecc, "pairing_check", reached)
    monkeypatch.setattr(setup, "snarkjs", reached)
    for case in malformed:
        assert not pyecc.verify(vk, case.proof), case.kind
        assert not backends.SnarkjsBackend.verify(vk, case.proof), case.kind
    encoding = [c for c in malformed if "not below" in c.defect or "infinity" in c.defect]
    assert len(encoding) >= 12
    for case in encoding:
        gas = send(chain, signer, {"to": verifier.address, "data": verify_proof_calldata(case.proof)}, gas=onchain.VERIFY_GAS).gasUsed
        assert gas < EARLY_REJECT_GAS < PAIRING_GAS < honest_gas, (case.kind, gas, honest_gas)


def _words(proof: Proof) -> list[int]:
    """The proof's eight words in the EVM's order, then its public signals."""
    a, b, c = proof.eth_words()
    return [*a, *b[0], *b[1], *c, *proof.public]


def _from_words(w: list[int]) -> Proof:
    return Proof((w[0], w[1]), ((w[3], w[2]), (w[5], w[4])), (w[6], w[7]), tuple(w[8:]))


def _word_values(original: int) -> st.SearchStrategy[int]:
    """Values for one word: uniform in the EVM word or below q, the field boundaries, the original
    plus multiples of q or r, and the values the template's negation confuses with the original."""
    boundaries = [0, 1, Q - 1, Q, Q + 1, R - 1, R, R + 1, 2**256 - 1]
    shifted = [original + k * m for m in (Q, R) for k in range(1, 6) if original + k * m < 2**256]
    return st.one_of(
        st.integers(0, 2**256 - 1), st.integers(0, Q - 1), st.sampled_from(boundaries),
        st.sampled_from(shifted + _malleable_ays(original % Q)), st.just((Q - original) % Q),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_words_get_the_same_verdict_from_py_ecc_and_the_evm(data, keys, proofs, revm_verifier):
    """Randomised parity of py-ecc's verifier and the EVM verifier (revm): one to three words of an
    honest proof replaced by values drawn around the fields' boundaries; same verdict every time."""
    vk = keys.verifying_key()
    evm, verifier = revm_verifier
    words = _words(proofs[0])
    for index in data.draw(st.lists(st.integers(0, len(words) - 1), min_size=1, max_size=3, unique=True)):
        words[index] = data.draw(_word_values(words[index]))
    proof = _from_words(words)
    evm_says = _evm_verdict(lambda: evm.call(verifier.address, verify_proof_calldata(proof)))
    assert _verdict(pyecc.verify(vk, proof)) == evm_says, (words, proof_defect(proof, vk.n_public))


def test_snarkjs_template_alone_accepts_non_canonical_a_y(monkeypatch, tmp_path, keys, proofs):
    """The attack the added checks close: snarkjs's template negates A as (q − A.y) mod q in 256-bit
    arithmetic, so every A.y ≥ q with A.y ≡ y + 2^256 (mod q) verifies there; pymargin's verifier
    (the same template plus the encoding checks) rejects them and still accepts the honest proof."""
    honest = proofs[0]
    malleated = [Proof((honest.a[0], y), honest.b, honest.c, honest.public) for y in _malleable_ays(honest.a[1])]
    assert len(malleated) >= 4
    plain_src = tmp_path / "plain" / "src"
    monkeypatch.setattr(solidity, "_CHECK_PROOF_FUNCTIONS", "")
    monkeypatch.setattr(solidity, "_CHECK_PROOF_CALLS", "")
    solidity.write_verifier(keys.verifying_key(), plain_src, onchain.VERIFIER_CONTRACT)
    monkeypatch.undo()
    compile_contracts(src_dir=plain_src, out_dir=tmp_path / "plain" / "out", root=plain_src.parent)
    evm = FastEVM()
    plain = evm.deploy(onchain.VERIFIER_CONTRACT, out_dir=tmp_path / "plain" / "out")
    ours = evm.deploy(onchain.VERIFIER_CONTRACT, out_dir=onchain.verifier_artifacts(keys))
    for verifier in (plain, ours):
        assert _evm_verdict(lambda: evm.call(verifier.address, verify_proof_calldata(honest))) == "accept"
    for proof in malleated:
        assert _evm_verdict(lambda: evm.call(plain.address, verify_proof_calldata(proof))) == "accept"
        assert _evm_verdict(lambda: evm.call(ours.address, verify_proof_calldata(proof))) == "reject"


def test_snarkjs_alone_reduces_coordinates_mod_q(tmp_path, keys, proofs):
    """Why the wrapper checks the encoding itself: snarkjs's own ``groth16 verify`` reads pi_a.x + q
    as pi_a.x and accepts; through the wrapper the same proof is rejected."""
    honest = proofs[0]
    shifted = Proof((honest.a[0] + Q, honest.a[1]), honest.b, honest.c, honest.public)
    paths = [tmp_path / name for name in ("vk.json", "public.json", "proof.json")]
    for path, data in zip(paths, (keys.verifying_key().snarkjs_json(), [str(x) for x in shifted.public], shifted.snarkjs_json())):
        path.write_text(json.dumps(data))
    assert "OK" in setup.snarkjs("groth16", "verify", *(str(p) for p in paths))
    assert not backends.SnarkjsBackend.verify(keys.verifying_key(), shifted)


@pytest.mark.parametrize("bad", ["1_000", " 5", "-3", "0x10", "٣", "", 1.5, True, None, 2**256, str(2**256)])
def test_a_proof_file_coordinate_must_be_an_evm_word_in_decimal(proofs, bad):
    """Parsing accepts a decimal string or JSON integer in [0, 2^256) (what calldata can carry; range
    checks against q and r are the verifiers'); anything else is a one-line format error naming it."""
    data = proofs[0].snarkjs_json()
    data["pi_c"][1] = bad
    with pytest.raises(ProofFormatError, match=r"pi_c\.y"):
        Proof.from_snarkjs(data, [str(x) for x in proofs[0].public])
    with pytest.raises(ProofFormatError, match="public signal 1"):
        Proof.from_snarkjs(proofs[0].snarkjs_json(), [str(proofs[0].public[0]), bad])


def test_a_proof_file_keeps_non_canonical_words_for_the_verifiers_to_reject(tmp_path, keys, proofs):
    honest = proofs[0]
    shifted = Proof(honest.a, honest.b, (honest.c[0], honest.c[1] + Q), (honest.public[0], honest.public[1] + R))
    save_artifact(tmp_path / "p.json", shifted, "test_mulwad")
    loaded, _, _ = load_artifact(tmp_path / "p.json")
    assert loaded == shifted
    assert proof_defect(loaded, 2) == "public signal 1 is not below the scalar-field modulus r"
    data = json.loads((tmp_path / "p.json").read_text())
    del data["public"]
    (tmp_path / "p.json").write_text(json.dumps(data))
    with pytest.raises(ProofFormatError, match="no proof or no public signals"):
        load_artifact(tmp_path / "p.json")


def test_a_malformed_verifying_key_is_refused_with_one_line(keys):
    good = keys.verifying_key().snarkjs_json()
    outside = _twist_point_outside_g2()
    edits = {
        "vk_beta_2 is not in the order-r subgroup of G2": lambda d: d.__setitem__("vk_beta_2", [[str(v) for v in c] for c in outside] + [["1", "0"]]),
        "IC[1].x is not below the base-field modulus q": lambda d: d["IC"][1].__setitem__(0, str(int(d["IC"][1][0]) + Q)),
        "vk_alpha_1 is the point at infinity": lambda d: d.__setitem__("vk_alpha_1", ["0", "0", "1"]),
        "vk_delta_2 is not on the twist curve": lambda d: d["vk_delta_2"][1].__setitem__(0, str((int(d["vk_delta_2"][1][0]) + 1) % Q)),
        "IC is empty": lambda d: d.__setitem__("IC", []),
    }
    assert VerifyingKey.from_snarkjs(good) == keys.verifying_key()
    for reason, edit in edits.items():
        data = json.loads(json.dumps(good))
        edit(data)
        with pytest.raises(ProofFormatError, match=reason.replace("[", r"\[").replace("]", r"\]")):
            VerifyingKey.from_snarkjs(data)


# --- batches: one batched check, the same verdict ----------------------------------------------------------

WORD = st.integers(0, 2**256 - 1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.tuples(st.lists(WORD, min_size=8, max_size=8), st.lists(WORD, min_size=2, max_size=2)), min_size=1, max_size=5))
def test_batch_coefficients_are_the_contracts(batch, revm_batch_verifier):
    """Python's r_i (keccak of every proof and public signal) equal the contract's batchCoefficients on
    random words (any uint256: the coefficients are defined before any range check), 1 to 5 proofs."""
    evm, verifier = revm_batch_verifier
    proofs = [_from_words(words + signals) for words, signals in batch]
    data = function_signature_to_4byte_selector(BATCH_COEFFICIENTS_SIGNATURE) + encode(
        BATCH_ABI_TYPES, [[tuple(p.eth_words()) for p in proofs], [x for p in proofs for x in p.public]])
    (on_chain,) = decode(["uint256[]"], evm.call(verifier.address, data))
    assert list(on_chain) == pyecc.batch_coefficients(proofs)
    assert on_chain[0] == 1 and all(0 <= r < R for r in on_chain)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_words_in_a_batch_get_the_same_verdict_from_py_ecc_and_the_evm(data, proofs, third_proof, keys, revm_batch_verifier):
    """Randomised parity of the batched checks: one or two words of a batch of two honest proofs replaced
    by values around the fields' boundaries; py-ecc's verify_batch and the EVM batch verifier agree."""
    vk = keys.verifying_key()
    evm, verifier = revm_batch_verifier
    words = [_words(proofs[0]), _words(third_proof)]
    for _ in range(data.draw(st.integers(1, 2))):
        i = data.draw(st.integers(0, 1))
        j = data.draw(st.integers(0, len(words[i]) - 1))
        words[i][j] = data.draw(_word_values(words[i][j]))
    batch = [_from_words(w) for w in words]
    assert _verdict(pyecc.verify_batch(vk, batch)) == _evm_batch_verdict(evm, verifier, batch), words


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_changing_any_word_changes_every_coefficient(data, proofs, third_proof):
    """The prover fixes the coefficients by fixing the proofs: changing any one word of any proof or any
    public signal (to any other value) changes every r_i, i ≥ 1 (r_0 = 1 always)."""
    batch = [proofs[0], proofs[1], third_proof]
    words = [_words(p) for p in batch]
    before = pyecc.batch_coefficients(batch)
    i = data.draw(st.integers(0, 2))
    j = data.draw(st.integers(0, len(words[i]) - 1))
    words[i][j] = data.draw(st.integers(0, 2**256 - 1).filter(lambda v: v != words[i][j]))
    after = pyecc.batch_coefficients([_from_words(w) for w in words])
    assert after[0] == before[0] == 1
    assert all(a != b for a, b in zip(after[1:], before[1:]))


def test_a_pair_that_cancels_under_known_coefficients_is_rejected(chain, keys, proofs, revm_batch_verifier):
    """Attack: with coefficients the prover knows in advance (here r = (1, 1), a plain sum), two invalid
    proofs whose errors cancel pass: C_0 + X and C_1 − X leave Σ r_i·C_i unchanged. With the coefficients
    derived from the proofs, py-ecc, the EVM batch verifier and snarkjs (each proof) reject the pair."""
    vk = keys.verifying_key()
    x = multiply(G1, 0x5EED_2718281828459045235)
    minus_x = (x[0], -x[1], x[2])

    def shifted(proof: Proof, point) -> Proof:
        c = add((FQ(proof.c[0]), FQ(proof.c[1]), FQ.one()), point)
        return Proof(proof.a, proof.b, _affine_g1(c), proof.public)

    crafted = [shifted(proofs[0], x), shifted(proofs[1], minus_x)]
    assert pyecc.batch_pairing_check(vk, proofs, [1, 1])
    assert pyecc.batch_pairing_check(vk, crafted, [1, 1]), "the crafted pair passes a plain sum"
    assert not any(pyecc.verify(vk, p) for p in crafted)
    assert not pyecc.verify_batch(vk, crafted)
    assert not any(backends.SnarkjsBackend.verify(vk, p) for p in crafted)
    evm, verifier = revm_batch_verifier
    assert _evm_batch_verdict(evm, verifier, list(proofs)) == "accept"
    assert _evm_batch_verdict(evm, verifier, crafted) == "reject"


def test_a_batch_is_refused_without_proofs_or_with_a_wrong_signal_count(keys, proofs, revm_batch_verifier):
    """No proofs, or publics not N_PUBLIC per proof: false on chain (and in Python), without a pairing."""
    evm, verifier = revm_batch_verifier
    vk = keys.verifying_key()
    assert not pyecc.verify_batch(vk, [])
    assert _evm_batch_verdict(evm, verifier, []) == "reject"
    short = Proof(proofs[0].a, proofs[0].b, proofs[0].c, proofs[0].public[:1])
    assert not pyecc.verify_batch(vk, [short, proofs[1]])
    assert _evm_batch_verdict(evm, verifier, [short, proofs[1]]) == "reject"
