"""An in-process fast EVM (pyrevm, revm in Rust) for calling pure and view functions by the thousand.

Randomised parity tests call a contract's pure functions tens of thousands of times; the embedded
devnet (py-evm) answers 40–200 calls/s, this EVM 8,000–60,000 (ABI included; measured in
benchmarks/fixedpoint_results.md). It runs the same bytecode as the
chains (solc's artifacts, hardfork Cancun) and reports a revert as the same
:class:`~pymargin.chain.tx.ContractRevert` (custom error name and decoded args), so a test compares
it with the Python mirror's :class:`~pymargin.errors.Revert` directly. ``tests/test_fixedpoint_parity``
shows on a sample that it answers exactly as the embedded devnet does.

pyrevm's memory grows by ~0.4 KB per call, so :class:`FastEVM` starts a fresh EVM every
``calls_per_evm`` calls and deploys the same contracts again, at the same addresses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.grammar import BasicType, TupleType, parse
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from eth_utils.abi import collapse_if_tuple
from pyrevm import EVM

from pymargin.chain.compile import OUT_DIR, load_artifact
from pymargin.chain.tx import ContractRevert, ErrorDecoder
from pymargin.errors import UserError

SPEC_ID = "CANCUN"  # the hardfork the contracts are compiled for (compile.EVM_VERSION)
DEPLOYER = "0x" + "d0" * 20
CALL_GAS = 30_000_000
CALLS_PER_EVM = 20_000  # a fresh EVM after this many calls keeps memory flat (~8 MB per EVM)
_REVERT_OUTPUT = re.compile(r"Revert \{[^}]*output: 0x([0-9a-fA-F]*)")


@dataclass(frozen=True)
class _Function:
    selector: bytes
    input_types: list[str]
    output_types: list[str]
    encode: Callable[[list], bytes]


Encoder = Callable[[Any], bytes]


def args_encoder(types: list[str]) -> Callable[[list], bytes]:
    """An ABI encoder for arguments of ``types``: a fast path for integers, bools, static tuples
    and dynamic arrays of them (~6x eth-abi's speed), eth-abi's ``encode`` for anything else.
    Both reject a value outside its type."""
    parsed = [parse(t) for t in types]
    heads = [None if t.is_dynamic else _static_encoder(t) for t in parsed]
    tails = [_array_encoder(t) if t.is_dynamic else None for t in parsed]
    if any(h is None and a is None for h, a in zip(heads, tails)):
        return lambda args: abi_encode(types, args)
    head_size = 32 * sum(1 if h is None else _static_words(t) for h, t in zip(heads, parsed))

    def encode(args: list) -> bytes:
        if len(args) != len(types):
            raise TypeError(f"expected {len(types)} arguments, got {len(args)}")
        head, tail = [], []
        offset = head_size
        for value, static, array in zip(args, heads, tails):
            if static is not None:
                head.append(static(value))
            else:
                encoded = array(value)
                head.append(offset.to_bytes(32, "big"))
                tail.append(encoded)
                offset += len(encoded)
        return b"".join(head) + b"".join(tail)

    return encode


def _static_words(t) -> int:
    return sum(_static_words(c) for c in t.components) if isinstance(t, TupleType) else 1


def _static_encoder(t) -> Encoder | None:
    """Encoder of a static integer, bool or tuple of them; None for other types (eth-abi handles them)."""
    if t.arrlist:
        return None
    if isinstance(t, TupleType):
        parts = [_static_encoder(c) for c in t.components]
        if any(p is None for p in parts):
            return None

        def tuple_encoder(value) -> bytes:
            if len(value) != len(parts):
                raise TypeError(f"expected a tuple of {len(parts)} values, got {len(value)}")
            return b"".join(p(v) for p, v in zip(parts, value))

        return tuple_encoder
    if isinstance(t, BasicType) and t.base in ("uint", "int"):
        bits = int(t.sub)
        signed = t.base == "int"
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1)) if signed else (0, 2**bits)

        def int_encoder(value) -> bytes:
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value < high:
                raise TypeError(f"{value!r} is not a {t.base}{bits}")
            return value.to_bytes(32, "big", signed=signed)

        return int_encoder
    if isinstance(t, BasicType) and t.base == "bool":

        def bool_encoder(value) -> bytes:
            if type(value) is not bool:
                raise TypeError(f"{value!r} is not a bool")
            return value.to_bytes(32, "big")

        return bool_encoder
    return None


def _array_encoder(t) -> Encoder | None:
    """Encoder of a dynamic array ``T[]`` of a static T; None for other dynamic types."""
    if t.arrlist != ((),):
        return None
    item = _static_encoder(t.item_type)
    if item is None:
        return None
    return lambda values: len(values).to_bytes(32, "big") + b"".join(item(v) for v in values)


class FastEVM:
    """A pyrevm EVM with deployed contracts, renewed every ``calls_per_evm`` calls."""

    def __init__(self, calls_per_evm: int = CALLS_PER_EVM):
        self.calls_per_evm = calls_per_evm
        self.calls = 0  # calls on the current EVM
        self.renewals = 0
        self._deployments: list[tuple[bytes, str]] = []  # (init code, address), in deployment order
        self._evm = self._new_evm()

    def deploy(self, name: str, *args: Any, out_dir=OUT_DIR) -> "FastContract":
        """Deploy the compiled contract ``name`` (from ``out/``) with constructor ``args``."""
        artifact = load_artifact(name, out_dir)
        init_code = bytes.fromhex(artifact["bytecode"]["object"].removeprefix("0x"))
        if not init_code:
            raise UserError(f"{name} has no bytecode (an abstract contract, interface or library?)")
        ctor = next((item for item in artifact["abi"] if item["type"] == "constructor"), None)
        if ctor is not None:
            init_code += abi_encode([collapse_if_tuple(i) for i in ctor["inputs"]], list(args))
        elif args:
            raise UserError(f"{name} has no constructor arguments, got {len(args)}")
        address = self._deploy(self._evm, init_code)
        self._deployments.append((init_code, address))
        return FastContract(self, name, address, artifact)

    def call(self, address: str, calldata: bytes) -> bytes:
        """The return data of a static call; a revert raises ContractRevert with the raw data in ``.data``."""
        if self.calls >= self.calls_per_evm:
            self._renew()
        self.calls += 1
        try:
            return bytes(self._evm.message_call(DEPLOYER, address, calldata, gas=CALL_GAS, is_static=True))
        except RuntimeError as exc:
            match = _REVERT_OUTPUT.search(str(exc))
            if match is None:  # a halt: out of gas, invalid opcode, ...
                raise ContractRevert("Halt", (str(exc),)) from None
            raise ContractRevert("RawRevert", (), bytes.fromhex(match.group(1))) from None

    def _new_evm(self) -> EVM:
        evm = EVM(spec_id=SPEC_ID)
        evm.set_balance(DEPLOYER, 10**30)
        return evm

    def _deploy(self, evm: EVM, init_code: bytes) -> str:
        try:
            return to_checksum_address(evm.deploy(DEPLOYER, init_code, gas=CALL_GAS))
        except RuntimeError as exc:
            raise UserError(f"deployment failed on the fast EVM: {exc}") from None

    def _renew(self) -> None:
        """A fresh EVM with every contract deployed again in the same order (same addresses)."""
        evm = self._new_evm()
        for init_code, address in self._deployments:
            again = self._deploy(evm, init_code)
            assert again == address, f"redeployment moved a contract: {address} -> {again}"
        self._evm = evm
        self.calls = 0
        self.renewals += 1


class FastContract:
    """A contract deployed on a :class:`FastEVM`; :meth:`call` ABI-encodes, calls and decodes."""

    def __init__(self, evm: FastEVM, name: str, address: str, artifact: dict):
        self.evm = evm
        self.name = name
        self.address = address
        self.artifact = artifact
        self.decoder = ErrorDecoder([artifact["abi"]])
        self._functions: dict[str, _Function] = {}
        by_name: dict[str, list[_Function]] = {}
        for item in artifact["abi"]:
            if item["type"] != "function":
                continue
            inputs = [collapse_if_tuple(i) for i in item["inputs"]]
            fn = _Function(
                function_signature_to_4byte_selector(f"{item['name']}({','.join(inputs)})"),
                inputs,
                [collapse_if_tuple(o) for o in item["outputs"]],
                args_encoder(inputs),
            )
            self._functions[f"{item['name']}({','.join(inputs)})"] = fn
            by_name.setdefault(item["name"], []).append(fn)
        for fn_name, overloads in by_name.items():
            if len(overloads) == 1:  # unambiguous: callable by bare name too
                self._functions[fn_name] = overloads[0]

    def call(self, fn: str, *args: Any) -> Any:
        """Call ``fn`` (a name, or ``name(types)`` if overloaded) with ``args``; decode the result.

        One output is returned as a value, several as a tuple. A revert raises ContractRevert with
        the custom error's name and args, decoded from this contract's ABI (Error, Panic too).
        """
        try:
            function = self._functions[fn]
        except KeyError:
            raise UserError(f"{self.name} has no function {fn!r} (or it is overloaded: give name(types))") from None
        calldata = function.selector + function.encode(list(args))
        try:
            out = self.evm.call(self.address, calldata)
        except ContractRevert as exc:
            if exc.name != "RawRevert":
                raise
            raise self.decoder.decode(exc.data) from None
        values = abi_decode(function.output_types, out)
        return values[0] if len(values) == 1 else values
