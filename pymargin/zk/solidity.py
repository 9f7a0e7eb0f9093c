"""Generate the Groth16 verifier contract of a verifying key with snarkjs's own Solidity template.

``snarkjs zkey export solidityverifier`` renders ``templates/verifier_groth16.sol.ejs`` with the
verifying key; this renders the same template with any snarkjs-format key (also groth16py's), so
every setup gets the reference verifier. Generated sources go to a git-ignored build folder and
are compiled there (never into contracts/).
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
    if "contract Groth16Verifier {" not in source:
        raise UserError("the snarkjs verifier template changed: contract Groth16Verifier not found")
    return source.replace("contract Groth16Verifier {", f"contract {contract_name} {{", 1)


def write_verifier(vk: VerifyingKey, folder: Path, contract_name: str) -> Path:
    """Write ``<folder>/<contract_name>.sol`` (atomically) and return its path."""
    path = Path(folder) / f"{contract_name}.sol"
    atomic_write_text(path, verifier_source(vk, contract_name))
    return path
