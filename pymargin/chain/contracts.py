"""A deployed contract: its artifact, address and chain, with calls and transactions that raise
:class:`~pymargin.chain.tx.ContractRevert` (the custom error's name and args) on a revert."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import function_signature_to_4byte_selector
from web3 import Web3

from pymargin.chain import tx as txmod
from pymargin.chain.compile import OUT_DIR, load_artifact
from pymargin.chain.devnet import Chain
from pymargin.chain.tx import ContractRevert, ErrorDecoder, Signer
from pymargin.errors import UserError


@dataclass
class Contract:
    """A contract at ``address`` on ``chain``, built from the Foundry-shaped ``artifact``."""

    chain: Chain
    name: str
    address: str
    artifact: dict
    decoder: ErrorDecoder = field(default_factory=ErrorDecoder)
    deploy_tx_hash: bytes | None = None  # the deployment's transaction, when this process deployed it

    def __post_init__(self) -> None:
        self.decoder.add(self.artifact["abi"])
        self._web3 = self.chain.w3.eth.contract(address=self.address, abi=self.artifact["abi"])

    @property
    def functions(self):
        return self._web3.functions

    @property
    def events(self):
        return self._web3.events

    def call(self, fn: str, *args: Any, block: Any = "latest") -> Any:
        """Call view/pure function ``fn``; a revert raises ContractRevert."""
        try:
            return getattr(self._web3.functions, fn)(*abi_args(args)).call(block_identifier=block)
        except Exception as exc:
            data = txmod.revert_data(exc)
            if data is None:
                raise
            raise self.decoder.decode(data) from None

    def transact(self, fn: str, *args: Any, sender: Signer, value: int = 0, gas: int | None = None):
        """Send a transaction to ``fn``; return the receipt or raise ContractRevert."""
        data = getattr(self._web3.functions, fn)(*abi_args(args))._encode_transaction_data()
        return txmod.send(
            self.chain, sender, {"to": self.address, "data": data, "value": value}, decoder=self.decoder, gas=gas
        )

    def simulate(self, fn: str, *args: Any, sender: Signer, value: int = 0) -> bytes:
        """Execute a transaction to ``fn`` from ``sender`` with eth_call (nothing is sent); return its
        raw output or raise ContractRevert (``simulated`` set)."""
        data = getattr(self._web3.functions, fn)(*abi_args(args))._encode_transaction_data()
        return txmod.simulate(self.chain, sender, {"to": self.address, "data": data, "value": value}, self.decoder)

    def decode_logs(self, receipt) -> list[tuple[str, dict]]:
        """(event name, args) for every log of this contract in ``receipt``, in order."""
        out = []
        for log in receipt["logs"]:
            if log["address"].lower() != self.address.lower():
                continue
            for event in self._web3.events:
                try:
                    decoded = event.process_log(log)
                except Exception:
                    continue
                out.append((decoded.event, dict(decoded.args)))
                break
        return out


def contract_at(chain: Chain, name: str, address: str, artifact: dict, option: str) -> Contract:
    """The contract ``name`` at ``address``; UserError naming ``option`` if ``address`` is not an address,
    holds no code, or its code lacks a function of ``artifact``'s ABI (a dispatcher pushes every external
    function's selector: ``PUSHn selector``, leading zero bytes dropped)."""
    if not Web3.is_address(address):
        raise UserError(f"{option} {address!r} is not an address")
    address = Web3.to_checksum_address(address)
    code = bytes(chain.w3.eth.get_code(address))
    if not code:
        raise UserError(f"{option} {address}: no contract at this address on chain {chain.chain_id}")
    missing = [signature for signature, selector in _selectors(artifact).items() if _push(selector) not in code]
    if missing:
        raise UserError(f"{option} {address} is not a {name} of this version: its code lacks "
                        f"{len(missing)} of its functions, e.g. {missing[0]}")
    return Contract(chain, name, address, artifact)


def _selectors(artifact: dict) -> dict[str, bytes]:
    """{signature: 4-byte selector} of every function in the artifact's ABI."""
    out = {}
    for item in artifact["abi"]:
        if item.get("type") == "function":
            signature = f"{item['name']}({','.join(txmod._abi_type(i) for i in item['inputs'])})"
            out[signature] = function_signature_to_4byte_selector(signature)
    return out


def _push(selector: bytes) -> bytes:
    value = selector.lstrip(b"\0")
    return bytes([0x5F + len(value)]) + value


def abi_args(args: Any) -> Any:
    """Arguments as web3 encodes them: named tuples (structs such as ``Order``) become plain tuples."""
    if isinstance(args, (list, tuple)):
        return tuple(abi_args(a) for a in args)
    return args


def deploy_contract(
    chain: Chain,
    name: str,
    *args: Any,
    sender: Signer,
    out_dir: Path = OUT_DIR,
    decoder: ErrorDecoder | None = None,
    gas: int | None = None,
) -> tuple[Contract, Any]:
    """Deploy artifact ``name`` with constructor ``args``; return (Contract, receipt)."""
    artifact = load_artifact(name, out_dir)
    decoder = decoder or ErrorDecoder()
    decoder.add(artifact["abi"])
    factory = chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"]["object"])
    data = factory.constructor(*args).data_in_transaction
    receipt = txmod.send(chain, sender, {"data": data}, decoder=decoder, gas=gas)
    return Contract(chain, name, receipt.contractAddress, artifact, decoder, bytes(receipt.transactionHash)), receipt


__all__ = ["Contract", "ContractRevert", "abi_args", "contract_at", "deploy_contract"]
