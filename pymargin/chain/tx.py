"""Signers, EIP-1559 transactions, receipts with a timeout, and reverts decoded to custom errors.

A revert from the chain becomes :class:`ContractRevert` carrying the custom error's name and its
decoded arguments, the same shape the Python mirror raises, so parity tests compare them directly.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from eth_abi import decode as abi_decode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3
from web3.exceptions import TimeExhausted

from pymargin.chain.devnet import EMBEDDED_GAS_LIMIT, Chain
from pymargin.errors import UserError
from pymargin.fsutil import read_json

RECEIPT_TIMEOUT_S = 180
GAS_HEADROOM = 1.25  # multiplier on eth_estimateGas where estimation is trusted


class ContractRevert(Exception):
    """A call or transaction reverted; ``name`` is the custom error (or Error/Panic), ``args`` its values."""

    def __init__(self, name: str, args: tuple = (), data: bytes = b"", simulated: bool = False):
        self.name = name
        self.args_ = tuple(args)
        self.data = data
        self.simulated = simulated  # raised by a simulation before sending: no transaction was sent
        super().__init__(f"{name}{self.args_}" if self.args_ else name)


class SignerError(UserError):
    """No usable signer (missing key, unreadable keystore, unfunded account)."""


@dataclass(frozen=True)
class Signer:
    """Who sends transactions: an unlocked node account (devnets) or a local private key."""

    address: str
    private_key: bytes | None = None  # None: the node signs (unlocked dev account)

    def __repr__(self) -> str:  # never print a key
        return f"Signer({self.address}, {'local key' if self.private_key else 'node account'})"


def node_signer(chain: Chain, index: int = 0) -> Signer:
    """The devnet's ``index``-th unlocked, funded account."""
    if not chain.accounts:
        raise SignerError("this node has no unlocked accounts: set PYMARGIN_PRIVATE_KEY or use --keystore")
    return Signer(Web3.to_checksum_address(chain.accounts[index]))


ANVIL_MNEMONIC = "test test test test test test test test test test test junk"  # anvil's default accounts


def devnet_key(chain: Chain, index: int) -> bytes:
    """The private key of the devnet's ``index``-th unlocked account (eth-tester's account keys; anvil's
    default mnemonic, path m/44'/60'/0'/0/index), checked against the node's address."""
    address = node_signer(chain, index).address
    if chain.kind == "embedded":
        key = chain.w3.provider.ethereum_tester.backend.account_keys[index].to_bytes()
    else:
        Account.enable_unaudited_hdwallet_features()
        key = bytes(Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}").key)
    if Account.from_key(key).address != address:
        raise SignerError(f"account {index} of this node ({address}) is not a default devnet account: its key is unknown")
    return key


def key_signer(private_key: str | bytes) -> Signer:
    """A signer from a hex private key."""
    try:
        account = Account.from_key(private_key)
    except Exception:
        raise SignerError("the private key is not a 32-byte hex string") from None
    return Signer(account.address, bytes(account.key))


def env_signer(var: str = "PYMARGIN_PRIVATE_KEY") -> Signer | None:
    """A signer from the private key in environment variable ``var`` (None if it is unset)."""
    value = os.environ.get(var)
    return key_signer(value) if value else None


def keystore_signer(path: Path, password_var: str = "PYMARGIN_KEYSTORE_PASSWORD") -> Signer:
    """A signer from an encrypted JSON keystore; the password comes from ``password_var``."""
    password = os.environ.get(password_var)
    if password is None:
        raise SignerError(f"keystore {path} needs its password in the environment variable {password_var}")
    keyfile = read_json(path, "keystore", SignerError)
    if not isinstance(keyfile, dict) or "version" not in keyfile or not {"crypto", "Crypto"} & keyfile.keys():
        raise SignerError(f"{path} is not an Ethereum JSON keystore (it needs the fields version and crypto)")
    try:
        key = Account.decrypt(keyfile, password)
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise SignerError(f"wrong password for keystore {path} (from {password_var})") from None
        raise SignerError(f"{path} is not a usable Ethereum JSON keystore: {exc}") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise SignerError(f"{path} is not a usable Ethereum JSON keystore: {type(exc).__name__} {exc}") from None
    return key_signer(key)


class ErrorDecoder:
    """Decodes revert data into (error name, args) from the ABIs' custom errors, Error and Panic."""

    def __init__(self, abis: Iterable[list[dict]] = ()):
        self._errors: dict[bytes, tuple[str, list[str]]] = {
            function_signature_to_4byte_selector("Error(string)"): ("Error", ["string"]),
            function_signature_to_4byte_selector("Panic(uint256)"): ("Panic", ["uint256"]),
        }
        for abi in abis:
            self.add(abi)

    def add(self, abi: list[dict]) -> None:
        for item in abi:
            if item.get("type") == "error":
                types = [_abi_type(inp) for inp in item["inputs"]]
                signature = f"{item['name']}({','.join(types)})"
                self._errors[function_signature_to_4byte_selector(signature)] = (item["name"], types)

    def decode(self, data: bytes) -> ContractRevert:
        if len(data) < 4:
            return ContractRevert("EmptyRevert", (), data)
        entry = self._errors.get(data[:4])
        if entry is None:
            return ContractRevert("UnknownError", (data.hex(),), data)
        name, types = entry
        values = abi_decode(types, data[4:])
        values = [Web3.to_checksum_address(v) if t == "address" else v for t, v in zip(types, values)]
        return ContractRevert(name, tuple(values), data)


def _abi_type(inp: dict) -> str:
    if inp["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in inp["components"]) + ")" + inp["type"][5:]
    return inp["type"]


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert data inside an exception from web3 / eth-tester / an RPC node, if any."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if isinstance(data, bytes):
        return data
    message = str(exc.args[0]) if exc.args else ""
    prefix = "execution reverted: "
    if message.startswith(prefix):  # eth-tester: "execution reverted: b'...'"
        rest = message[len(prefix):]
        try:
            value = ast.literal_eval(rest)
        except (ValueError, SyntaxError):
            return None
        if isinstance(value, bytes):
            return value
    if message.startswith("execution reverted") or "revert" in message.lower():
        return b""
    return None


def _fees(chain: Chain) -> dict[str, int]:
    block = chain.w3.eth.get_block("latest")
    base = block.get("baseFeePerGas") or 0
    try:
        tip = chain.w3.eth.max_priority_fee
    except Exception:
        tip = 10**9
    return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}


def send(
    chain: Chain,
    signer: Signer,
    tx: dict[str, Any],
    *,
    decoder: ErrorDecoder | None = None,
    gas: int | None = None,
    timeout_s: float = RECEIPT_TIMEOUT_S,
):
    """Send an EIP-1559 transaction and wait for its receipt; raise ContractRevert if it reverts.

    Nothing is broadcast that would revert or that the sender cannot pay for: the transaction is
    executed first by the node (``eth_estimateGas``, or ``eth_call`` when the gas is fixed), and a
    revert there raises ContractRevert with the decoded custom error before any gas is spent; a
    sender whose balance is below gas × max fee + value gets a SignerError.

    Gas: explicit if given; on the embedded chain a fixed limit (its estimation is slow and wrong
    for pairing checks); elsewhere ``eth_estimateGas`` × GAS_HEADROOM.
    """
    w3 = chain.w3
    decoder = decoder or ErrorDecoder()
    tx = {"from": signer.address, "value": 0, **tx, "type": 2, "chainId": chain.chain_id}
    tx.update(_fees(chain))
    if gas is not None or chain.kind == "embedded":
        tx["gas"] = EMBEDDED_GAS_LIMIT if gas is None else gas
        simulate(chain, signer, tx, decoder)
    else:
        try:
            tx["gas"] = int(w3.eth.estimate_gas(tx) * GAS_HEADROOM) + 10_000
        except Exception as exc:
            data = revert_data(exc)
            if data is None:
                raise _send_error(exc, signer, chain, tx) from None
            raise _simulated(decoder.decode(data)) from None
    _check_funds(chain, signer, tx)
    tx["nonce"] = w3.eth.get_transaction_count(signer.address, "pending")
    try:
        if signer.private_key is None:
            tx_hash = w3.eth.send_transaction(tx)
        else:
            signed = w3.eth.account.sign_transaction(tx, signer.private_key)
            tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    except Exception as exc:
        data = revert_data(exc)
        if data is not None:
            raise decoder.decode(data) from None
        raise _send_error(exc, signer, chain, tx) from None
    try:
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout_s, poll_latency=0.05)
    except TimeExhausted:
        raise UserError(f"transaction 0x{bytes(tx_hash).hex()} not mined within {timeout_s:.0f} s: check the node and the fees") from None
    if receipt.status != 1:
        raise _replay_revert(chain, tx, receipt, decoder)
    return receipt


def simulate(chain: Chain, signer: Signer, tx: dict[str, Any], decoder: ErrorDecoder | None = None) -> bytes:
    """Execute ``tx`` from ``signer`` with ``eth_call`` on the pending block (nothing is sent); return its
    output, or raise ContractRevert with the decoded custom error (UserError if the node refuses it)."""
    call = {k: tx[k] for k in ("to", "data", "value", "gas") if k in tx} | {"from": signer.address}
    try:
        return chain.w3.eth.call(call, "pending")
    except Exception as exc:
        data = revert_data(exc)
        if data is None and "outofgas" in str(exc).lower().replace(" ", "").replace("_", "") and "gas" in tx:
            raise _simulated(ContractRevert("OutOfGas", (tx["gas"],))) from None
        if data is None:
            raise _send_error(exc, signer, chain, tx) from None
        raise _simulated((decoder or ErrorDecoder()).decode(data)) from None


def _simulated(revert: ContractRevert) -> ContractRevert:
    revert.simulated = True
    return revert


def _check_funds(chain: Chain, signer: Signer, tx: dict) -> None:
    """SignerError unless the sender holds gas × max fee per gas + value (what the node reserves)."""
    needed = tx["gas"] * tx["maxFeePerGas"] + tx.get("value", 0)
    balance = chain.w3.eth.get_balance(signer.address)
    if balance < needed:
        raise SignerError(f"account {signer.address} holds {balance} wei but the transaction may cost {needed} wei "
                          f"(gas {tx['gas']} × max fee {tx['maxFeePerGas']} + value): fund it with the chain's native token first")


def _send_error(exc: BaseException, signer: Signer, chain: Chain, tx: dict) -> UserError:
    """The one-line error for a transaction the node refused (an unfunded sender named as such)."""
    text = str(exc).split("\n")[0]
    try:
        balance = chain.w3.eth.get_balance(signer.address)
    except Exception:
        balance = None
    needed = tx.get("gas", 21_000) * tx.get("maxFeePerGas", 0) + tx.get("value", 0)
    if (balance is not None and balance < max(needed, 1)) or "insufficient funds" in text.lower():
        return SignerError(f"account {signer.address} cannot pay for gas: fund it with the chain's native token first")
    return UserError(f"sending the transaction failed: {text}")


def _replay_revert(chain: Chain, tx: dict, receipt, decoder: ErrorDecoder) -> ContractRevert:
    call = {k: tx[k] for k in ("from", "to", "data", "value", "gas") if k in tx}
    try:
        chain.w3.eth.call(call, receipt.blockNumber - 1)
    except Exception as exc:
        data = revert_data(exc)
        if data is not None:
            return decoder.decode(data)
    if receipt.gasUsed >= tx["gas"]:
        return ContractRevert("OutOfGas", (tx["gas"],))
    return ContractRevert("EmptyRevert")
