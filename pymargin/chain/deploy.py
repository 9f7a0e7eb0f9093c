"""Deploy a contract set from a config file and record it in ``deployments/<chainId>.json``.

Config (JSON)::

    {
      "chain_id": 31337,
      "contracts": [
        {"name": "Collateral", "artifact": "TestToken", "args": ["Test USD", "tUSD", 6]},
        {"name": "Engine", "artifact": "MarginEngine", "args": ["{Collateral}", "{deployer}"]}
      ],
      "calls": [
        {"contract": "Engine", "function": "setKeeper", "args": ["{deployer}", true]}
      ]
    }

``"{Name}"`` is the address of a contract deployed earlier in the list, ``"{deployer}"`` the
signer's address; integers may be written as strings ("1000000000000000000", "0x10"). Re-running
is idempotent: a contract whose manifest entry has the same artifact, init code and runtime code on
chain is reused, and a call already recorded in the manifest is not sent again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from eth_utils import keccak
from web3 import Web3

from pymargin.chain.compile import OUT_DIR, find_compiler, load_artifact
from pymargin.chain.contracts import Contract
from pymargin.chain.devnet import Chain, ChainError
from pymargin.chain.tx import ErrorDecoder, Signer, send
from pymargin.errors import UserError
from pymargin.fsutil import atomic_write_text, read_json

DEFAULT_DEPLOYMENTS_DIR = Path("deployments")


class ConfigError(UserError):
    """The deploy config is missing or malformed."""


@dataclass(frozen=True)
class DeployResult:
    """What a deployment run did: {name: Contract}, and which names were newly deployed or reused."""

    contracts: dict[str, Contract]
    deployed: list[str]
    reused: list[str]
    calls_sent: int
    manifest_path: Path


def load_config(path: Path) -> dict:
    """Read and check a deploy config; raises ConfigError naming the file and the field."""
    path = Path(path)
    config = read_json(path, "deploy config", ConfigError)
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the top level must be an object with 'chain_id' and 'contracts'")
    if not isinstance(config.get("chain_id"), int):
        raise ConfigError(f"{path}: 'chain_id' must be an integer (the chain this config is for)")
    contracts = config.get("contracts")
    if not isinstance(contracts, list) or not contracts:
        raise ConfigError(f"{path}: 'contracts' must be a non-empty list")
    for i, entry in enumerate(contracts):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(entry.get("artifact"), str):
            raise ConfigError(f"{path}: contracts[{i}] needs string fields 'name' and 'artifact'")
        if not isinstance(entry.get("args", []), list):
            raise ConfigError(f"{path}: contracts[{i}].args must be a list")
    for i, call in enumerate(config.get("calls", [])):
        if not isinstance(call, dict) or not all(isinstance(call.get(k), str) for k in ("contract", "function")):
            raise ConfigError(f"{path}: calls[{i}] needs string fields 'contract' and 'function'")
    return config


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
    return manifest


def _resolve(value: Any, abi_type: str, names: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        key = value[1:-1]
        if key not in names:
            raise ConfigError(f"unknown reference {value}: name a contract listed earlier, or {{deployer}}")
        return names[key]
    if isinstance(value, str) and (abi_type.startswith("uint") or abi_type.startswith("int")):
        try:
            return int(value, 0)
        except ValueError:
            raise ConfigError(f"{value!r} is not an integer (for an {abi_type} argument)") from None
    if isinstance(value, list) and abi_type.endswith("]"):
        inner = abi_type[: abi_type.rindex("[")]
        return [_resolve(v, inner, names) for v in value]
    if abi_type == "address" and isinstance(value, str):
        return Web3.to_checksum_address(value)
    return value


def _inputs(abi: list[dict], kind: str, name: str | None = None) -> list[dict]:
    for item in abi:
        if item.get("type") == kind and (name is None or item.get("name") == name):
            return item.get("inputs", [])
    if kind == "constructor":
        return []
    raise ConfigError(f"the contract has no function {name!r}")


def _runtime_keccak(code: bytes) -> str:
    return "0x" + keccak(code).hex()


def deploy_from_config(
    chain: Chain,
    signer: Signer,
    config: dict,
    *,
    deployments_dir: Path = DEFAULT_DEPLOYMENTS_DIR,
    out_dir: Path = OUT_DIR,
    progress: Callable[[str], None] = lambda _msg: None,
) -> DeployResult:
    """Deploy (or reuse) every contract in ``config``, send its calls, and write the manifest."""
    chain_id = chain.chain_id
    if config["chain_id"] != chain_id:
        raise ChainError(f"the config is for chain {config['chain_id']} but the RPC is chain {chain_id}: nothing was sent")
    compiler = find_compiler().version
    manifest = load_manifest(chain_id, deployments_dir)
    path = manifest_path(chain_id, deployments_dir)
    decoder = ErrorDecoder()
    names: dict[str, str] = {"deployer": signer.address}
    contracts: dict[str, Contract] = {}
    deployed, reused = [], []
    try:
        for entry in config["contracts"]:
            artifact = load_artifact(entry["artifact"], out_dir)
            decoder.add(artifact["abi"])
            args = [
                _resolve(v, inp["type"], names)
                for v, inp in zip(entry.get("args", []), _inputs(artifact["abi"], "constructor"), strict=False)
            ]
            if len(args) != len(_inputs(artifact["abi"], "constructor")):
                raise ConfigError(f"{entry['name']}: constructor of {entry['artifact']} takes {len(_inputs(artifact['abi'], 'constructor'))} arguments")
            factory = chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"]["object"])
            init_code = factory.constructor(*args).data_in_transaction
            init_keccak = "0x" + keccak(hexstr=init_code).hex()
            record = manifest["contracts"].get(entry["name"])
            if record and record.get("init_code_keccak") == init_keccak:
                code = bytes(chain.w3.eth.get_code(record["address"]))
                if code and _runtime_keccak(code) == record["runtime_keccak"]:
                    contracts[entry["name"]] = Contract(chain, entry["artifact"], record["address"], artifact, decoder)
                    names[entry["name"]] = record["address"]
                    reused.append(entry["name"])
                    progress(f"reused {entry['name']} at {record['address']}")
                    continue
            progress(f"deploying {entry['name']} ({entry['artifact']})")
            receipt = send(chain, signer, {"data": init_code}, decoder=decoder)
            address = receipt.contractAddress
            code = bytes(chain.w3.eth.get_code(address))
            manifest["contracts"][entry["name"]] = {
                "artifact": entry["artifact"],
                "address": address,
                "tx_hash": "0x" + bytes(receipt.transactionHash).hex(),
                "block": receipt.blockNumber,
                "deployer": signer.address,
                "compiler": compiler,
                "init_code_keccak": init_keccak,
                "runtime_keccak": _runtime_keccak(code),
            }
            names[entry["name"]] = address
            contracts[entry["name"]] = Contract(chain, entry["artifact"], address, artifact, decoder)
            deployed.append(entry["name"])
        calls_sent = 0
        done = set(manifest.get("calls", []))
        for call in config.get("calls", []):
            if call["contract"] not in contracts:
                raise ConfigError(f"call to unknown contract {call['contract']!r}")
            target = contracts[call["contract"]]
            inputs = _inputs(target.artifact["abi"], "function", call["function"])
            args = [_resolve(v, inp["type"], names) for v, inp in zip(call.get("args", []), inputs, strict=False)]
            data = getattr(target.functions, call["function"])(*args)._encode_transaction_data()
            key = "0x" + keccak(bytes.fromhex(target.address[2:]) + bytes.fromhex(data[2:])).hex()
            if key in done:
                continue
            progress(f"calling {call['contract']}.{call['function']}")
            send(chain, signer, {"to": target.address, "data": data}, decoder=decoder)
            manifest.setdefault("calls", []).append(key)
            done.add(key)
            calls_sent += 1
    finally:  # record what was deployed even if a later step failed
        if deployed or manifest.get("calls"):
            atomic_write_text(path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return DeployResult(contracts, deployed, reused, calls_sent, path)


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
