"""Deploy contracts once per chain and record them in ``deployments/<chainId>.json``.

:class:`Deployer` deploys a contract or sends a setup call only if the manifest does not already
record it: a contract whose manifest entry has the same artifact, init code and runtime code on
chain is reused, and a call already recorded is not sent again. Every transaction is simulated
(``eth_call``) before it is sent, and the manifest is rewritten after each one, so a failed run keeps
what it did. What a full venue deploys is :mod:`pymargin.chain.full_set`; the manifest format is
described in docs/deploy.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from eth_utils import keccak

from pymargin.chain.compile import OUT_DIR, find_compiler, load_artifact
from pymargin.chain.contracts import Contract, abi_args
from pymargin.chain.devnet import Chain
from pymargin.chain.tx import ErrorDecoder, Signer, SignerError, send
from pymargin.errors import UserError
from pymargin.fsutil import atomic_write_text, read_json

DEFAULT_DEPLOYMENTS_DIR = Path("deployments")


def manifest_path(chain_id: int, directory: Path = DEFAULT_DEPLOYMENTS_DIR) -> Path:
    return Path(directory) / f"{chain_id}.json"


def load_manifest(chain_id: int, directory: Path = DEFAULT_DEPLOYMENTS_DIR) -> dict:
    """The recorded deployments for ``chain_id`` (an empty manifest if none); UserError naming the file if
    it is not a manifest: an object whose ``contracts`` maps names to objects with a string ``address``."""
    path = manifest_path(chain_id, directory)
    if not path.is_file():
        return {"chain_id": chain_id, "contracts": {}, "calls": []}
    manifest = read_json(path, "deployment manifest")
    contracts = manifest.get("contracts") if isinstance(manifest, dict) else None
    if not isinstance(contracts, dict) or not all(isinstance(c, dict) and isinstance(c.get("address"), str) for c in contracts.values()) \
            or not isinstance(manifest.get("calls", []), list):
        raise UserError(f"{path} is not a deployment manifest: it needs 'contracts' mapping each name to an object "
                        "with an 'address' (and 'calls' a list); move it away or fix it")
    manifest.setdefault("calls", [])
    return manifest


def recorded_address(chain_id: int, artifact: str, directory: Path = DEFAULT_DEPLOYMENTS_DIR, option: str = "") -> str:
    """The address of the one ``artifact`` contract recorded for ``chain_id``; UserError naming ``option``
    (the command-line option that overrides it) when none or several are recorded."""
    manifest = load_manifest(chain_id, directory)
    found = [r["address"] for r in manifest["contracts"].values() if r.get("artifact") == artifact]
    if len(found) != 1:
        hint = f": pass {option} ADDRESS" if option else ""
        raise UserError(f"{manifest_path(chain_id, directory)} records {len(found)} {artifact} deployments{hint}")
    return found[0]


def _runtime_keccak(code: bytes) -> str:
    return "0x" + keccak(code).hex()


def require_funded(chain: Chain, signer: Signer) -> None:
    """SignerError (one line) if ``signer`` holds no native token on ``chain``: nothing can be sent."""
    if chain.w3.eth.get_balance(signer.address) == 0:
        raise SignerError(f"account {signer.address} holds no ETH on chain {chain.chain_id}: fund it first; nothing was sent")


class Deployer:
    """Deploys contracts and sends setup calls at most once per chain, recording each in the manifest.

    With ``deployments_dir`` None nothing is recorded or reused (every :meth:`deploy` deploys).
    """

    def __init__(self, chain: Chain, signer: Signer, deployments_dir: Path | None = DEFAULT_DEPLOYMENTS_DIR,
                 progress: Callable[[str], None] = lambda _msg: None):
        self.chain, self.signer, self.progress = chain, signer, progress
        self.path = manifest_path(chain.chain_id, deployments_dir) if deployments_dir is not None else None
        self.manifest = load_manifest(chain.chain_id, deployments_dir) if deployments_dir is not None else \
            {"chain_id": chain.chain_id, "contracts": {}, "calls": []}
        self.decoder = ErrorDecoder()
        self.deployed: list[str] = []
        self.reused: list[str] = []
        self.calls_sent = 0
        self._compiler: str | None = None

    def deploy(self, name: str, artifact_name: str, *args: Any, out_dir: Path = OUT_DIR, gas: int | None = None) -> Contract:
        """The contract recorded as ``name`` if the chain still holds it with this init code, else a new
        deployment of ``artifact_name`` with constructor ``args`` (simulated first), recorded as ``name``."""
        artifact = load_artifact(artifact_name, out_dir)
        self.decoder.add(artifact["abi"])
        factory = self.chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"]["object"])
        init_code = factory.constructor(*abi_args(args)).data_in_transaction
        init_keccak = "0x" + keccak(hexstr=init_code).hex()
        record = self.manifest["contracts"].get(name)
        if record and record.get("init_code_keccak") == init_keccak and record.get("artifact") == artifact_name:
            code = bytes(self.chain.w3.eth.get_code(record["address"]))
            if code and _runtime_keccak(code) == record["runtime_keccak"]:
                self.reused.append(name)
                self.progress(f"reused {name} at {record['address']}")
                return Contract(self.chain, artifact_name, record["address"], artifact, self.decoder,
                                bytes.fromhex(record["tx_hash"].removeprefix("0x")))
        self.progress(f"deploying {name} ({artifact_name})")
        receipt = send(self.chain, self.signer, {"data": init_code}, decoder=self.decoder, gas=gas)
        address = receipt.contractAddress
        self.manifest["contracts"][name] = {
            "artifact": artifact_name,
            "address": address,
            "tx_hash": "0x" + bytes(receipt.transactionHash).hex(),
            "block": receipt.blockNumber,
            "deployer": self.signer.address,
            "compiler": artifact.get("generatedBy") or self._compiler_version(),  # circomlibjs hashers: their generator
            "init_code_keccak": init_keccak,
            "runtime_keccak": _runtime_keccak(bytes(self.chain.w3.eth.get_code(address))),
        }
        self.deployed.append(name)
        self.save()
        return Contract(self.chain, artifact_name, address, artifact, self.decoder, bytes(receipt.transactionHash))

    def call(self, target: Contract, fn: str, *args: Any, gas: int | None = None) -> bool:
        """Send ``target.fn(*args)`` unless the manifest records this exact call (same address and
        calldata); simulated first. Returns whether it was sent."""
        data = getattr(target.functions, fn)(*abi_args(args))._encode_transaction_data()
        key = "0x" + keccak(bytes.fromhex(target.address[2:]) + bytes.fromhex(data[2:])).hex()
        if key in self.manifest["calls"]:
            return False
        self.decoder.add(target.artifact["abi"])
        self.progress(f"calling {target.name}.{fn}")
        send(self.chain, self.signer, {"to": target.address, "data": data}, decoder=self.decoder, gas=gas)
        self.manifest["calls"].append(key)
        self.calls_sent += 1
        self.save()
        return True

    def save(self) -> None:
        """Rewrite the manifest (atomically); nothing when not recording."""
        if self.path is not None:
            atomic_write_text(self.path, json.dumps(self.manifest, indent=2, sort_keys=True) + "\n")

    def _compiler_version(self) -> str:
        if self._compiler is None:
            self._compiler = find_compiler().version
        return self._compiler


@dataclass(frozen=True)
class BytecodeCheck:
    name: str
    address: str
    ok: bool
    reason: str


def _mask_immutables(code: bytes, artifact: dict) -> bytes:
    masked = bytearray(code)
    for refs in artifact["deployedBytecode"].get("immutableReferences", {}).values():
        for ref in refs:
            masked[ref["start"] : ref["start"] + ref["length"]] = bytes(ref["length"])
    return bytes(masked)


def verify_deployment(chain: Chain, deployments_dir: Path = DEFAULT_DEPLOYMENTS_DIR, out_dir: Path = OUT_DIR) -> list[BytecodeCheck]:
    """Re-read the chain: does every recorded address hold exactly its artifact's runtime code?

    Immutable variables (filled in by the constructor) are masked out before the comparison; the
    full on-chain code must also still hash to the recorded ``runtime_keccak``.
    """
    manifest = load_manifest(chain.chain_id, deployments_dir)
    if not manifest["contracts"]:
        raise UserError(f"no deployments recorded for chain {chain.chain_id} in {manifest_path(chain.chain_id, deployments_dir)}")
    checks = []
    for name, record in sorted(manifest["contracts"].items()):
        artifact = load_artifact(record["artifact"], out_dir)
        expected = bytes.fromhex(artifact["deployedBytecode"]["object"][2:])
        code = bytes(chain.w3.eth.get_code(record["address"]))
        if not code:
            checks.append(BytecodeCheck(name, record["address"], False, "no code at this address"))
        elif _runtime_keccak(code) != record["runtime_keccak"]:
            checks.append(BytecodeCheck(name, record["address"], False, "code differs from the recorded runtime_keccak"))
        elif len(code) != len(expected) or _mask_immutables(code, artifact) != _mask_immutables(expected, artifact):
            checks.append(BytecodeCheck(name, record["address"], False, f"code differs from the artifact {record['artifact']} (recompiled since?)"))
        else:
            checks.append(BytecodeCheck(name, record["address"], True, "runtime bytecode matches the artifact"))
    return checks
