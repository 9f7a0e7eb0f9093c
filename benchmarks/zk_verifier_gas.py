"""Benchmark: gas of the snarkjs Groth16 verifier template alone vs pymargin's (the template plus the
proof-encoding checks of docs/spec.md §7.6), on the embedded devnet, for the 2-public-signal test
circuit (MulWadFloor, tests/zk_small.py).

    .venv/bin/python benchmarks/zk_verifier_gas.py

Prints one Markdown row per verifier: deployment gas, an honest verifyProof transaction, and one
with pi_a.x + q (explicit gas VERIFY_GAS; 21,000 intrinsic gas included).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from pymargin.chain import devnet
from pymargin.chain import solvency as onchain
from pymargin.chain.compile import compile_contracts
from pymargin.chain.contracts import deploy_contract
from pymargin.chain.tx import node_signer, send
from pymargin.zk import backends, setup, solidity
from pymargin.zk.calldata import verify_proof_calldata
from pymargin.zk.field import to_field
from pymargin.zk.proof import Proof
from pymargin.zk.wellformed import BASE_FIELD_Q
from pymargin.zk.witness import compute_witness

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from zk_small import A, B, mulwad_circuit  # noqa: E402


def _plain_template_artifacts(keys: setup.Keys, folder: Path) -> Path:
    """Compile snarkjs's template without pymargin's additions into ``folder``/out."""
    saved = solidity._CHECK_PROOF_FUNCTIONS, solidity._CHECK_PROOF_CALLS
    solidity._CHECK_PROOF_FUNCTIONS = solidity._CHECK_PROOF_CALLS = ""
    try:
        solidity.write_verifier(keys.verifying_key(), folder / "src", onchain.VERIFIER_CONTRACT)
    finally:
        solidity._CHECK_PROOF_FUNCTIONS, solidity._CHECK_PROOF_CALLS = saved
    compile_contracts(src_dir=folder / "src", out_dir=folder / "out", root=folder)
    return folder / "out"


def main() -> None:
    keys = setup.dev_setup_groth16py(mulwad_circuit())
    with tempfile.TemporaryDirectory() as tmp:
        wtns = compute_witness(keys.circuit, {"a": to_field(A), "b": to_field(B)}, Path(tmp) / "w.wtns")
        honest = backends.Groth16pyBackend().prove(keys, wtns)
        shifted = Proof((honest.a[0] + BASE_FIELD_Q, honest.a[1]), honest.b, honest.c, honest.public)
        chain = devnet.embedded()
        sender = node_signer(chain)
        print("| verifier | deployment gas | verifyProof gas (honest) | verifyProof gas (pi_a.x + q) |")
        print("|---|---|---|---|")
        for name, out in (("snarkjs template", _plain_template_artifacts(keys, Path(tmp) / "plain")),
                          ("pymargin (template + encoding checks)", onchain.verifier_artifacts(keys))):
            contract, receipt = deploy_contract(chain, onchain.VERIFIER_CONTRACT, sender=sender, out_dir=out, gas=onchain.DEPLOY_GAS)
            gas = [send(chain, sender, {"to": contract.address, "data": verify_proof_calldata(p)}, gas=onchain.VERIFY_GAS).gasUsed
                   for p in (honest, shifted)]
            print(f"| {name} | {receipt.gasUsed:,} | {gas[0]:,} | {gas[1]:,} |")


if __name__ == "__main__":
    main()
