"""Generate the Groth16 verifier contract of a verifying key with snarkjs's own Solidity template.

``snarkjs zkey export solidityverifier`` renders ``templates/verifier_groth16.sol.ejs`` with the
verifying key; this renders the same template with any snarkjs-format key (also groth16py's), so
every setup gets the reference verifier, plus one addition: the proof's encoding is checked first
(every coordinate < q, no point at infinity; docs/spec.md §7.6). The template alone checks only the
public signals (< r) and leaves the rest to the precompiles, which is not enough: it negates A as
``(q − A.y) mod q`` in 256-bit arithmetic, so four or five non-canonical values A.y ≥ q per proof
also verify. Generated sources go to a git-ignored build folder and are compiled there (never into
contracts/).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from pymargin import tools
from pymargin.errors import UserError
from pymargin.fsutil import atomic_write_text
from pymargin.zk.proof import VerifyingKey

_RENDER = """
const ejs = require(process.argv[1] + '/ejs');
const fs = require('fs');
const template = fs.readFileSync(process.argv[2] + '/templates/verifier_groth16.sol.ejs', 'utf8');
const vk = JSON.parse(fs.readFileSync(0, 'utf8'));
process.stdout.write(ejs.render(template, vk));
"""


_CHECK_FIELD = "            function checkField(v) {\n"
_VALIDATE = "            // Validate all evaluations\n            let isValid := checkPairing(_pA, _pB, _pC, _pubSignals, pMem)\n"
_CHECK_PROOF_FUNCTIONS = """            // pymargin: a proof coordinate must be a canonical base-field element
            function checkBaseField(v) {
                if iszero(lt(v, q)) {
                    mstore(0, 0)
                    return(0, 0x20)
                }
            }

            // pymargin: no proof point may be the point at infinity (all of its coordinates 0)
            function checkFinite(anyCoordinate) {
                if iszero(anyCoordinate) {
                    mstore(0, 0)
                    return(0, 0x20)
                }
            }

"""
_CHECK_PROOF_CALLS = """            // pymargin: a well-formed proof only (docs/spec.md §7.6); the precompiles check the curves and G2's subgroup
            checkBaseField(calldataload(_pA))
            checkBaseField(calldataload(add(_pA, 32)))
            checkBaseField(calldataload(_pB))
            checkBaseField(calldataload(add(_pB, 32)))
            checkBaseField(calldataload(add(_pB, 64)))
            checkBaseField(calldataload(add(_pB, 96)))
            checkBaseField(calldataload(_pC))
            checkBaseField(calldataload(add(_pC, 32)))
            checkFinite(or(calldataload(_pA), calldataload(add(_pA, 32))))
            checkFinite(or(or(calldataload(_pB), calldataload(add(_pB, 32))), or(calldataload(add(_pB, 64)), calldataload(add(_pB, 96)))))
            checkFinite(or(calldataload(_pC), calldataload(add(_pC, 32))))

"""


def verifier_source(vk: VerifyingKey, contract_name: str = "Groth16Verifier") -> str:
    """Solidity source of the snarkjs Groth16 verifier for ``vk``, its contract renamed to ``contract_name``."""
    snarkjs_dir = tools.package_dir("snarkjs")
    done = subprocess.run(
        [tools.node(), "-e", _RENDER, str(tools.node_modules()), str(snarkjs_dir)],
        input=json.dumps(vk.snarkjs_json()), capture_output=True, text=True, timeout=120,
    )
    if done.returncode != 0:
        raise UserError(f"rendering the snarkjs verifier template failed: {done.stderr.strip().splitlines()[-1:]}")
    source = done.stdout
    for marker in ("contract Groth16Verifier {", _CHECK_FIELD, _VALIDATE):
        if source.count(marker) != 1:
            raise UserError(f"the snarkjs verifier template changed: {marker.strip()!r} not found once")
    source = source.replace(_CHECK_FIELD, _CHECK_PROOF_FUNCTIONS + _CHECK_FIELD, 1)
    source = source.replace(_VALIDATE, _CHECK_PROOF_CALLS + _VALIDATE, 1)
    note = "// snarkjs's Groth16 verifier plus pymargin's proof-encoding checks (checkBaseField, checkFinite)\n"
    return source.replace("contract Groth16Verifier {", f"{note}contract {contract_name} {{", 1)


def write_verifier(vk: VerifyingKey, folder: Path, contract_name: str) -> Path:
    """Write ``<folder>/<contract_name>.sol`` (atomically, only if its content changes) and return its path."""
    path = Path(folder) / f"{contract_name}.sol"
    source = verifier_source(vk, contract_name)
    if not path.is_file() or path.read_text() != source:
        atomic_write_text(path, source)
    return path
