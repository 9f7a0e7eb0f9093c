"""The JSON value convention of every output and file (docs/output.md): integers as decimal strings,
hashes and roots as 0x + 64 hex digits, addresses as 0x + 40 hex digits, snake_case keys."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Any

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def hash_hex(value: int) -> str:
    """A 256-bit hash, root or field element as ``0x`` + 64 lower-case hex digits."""
    if not 0 <= value < 2**256:
        raise ValueError(f"{value} is not a 256-bit value")
    return f"0x{value:064x}"


def bytes_hex(data: bytes) -> str:
    """Bytes (a transaction hash, a digest, a signature) as ``0x`` + their hex digits."""
    return "0x" + bytes(data).hex()


def address_hex(value: int) -> str:
    """A 160-bit address held as an integer, as ``0x`` + 40 lower-case hex digits (leading zeros kept)."""
    if not 0 <= value < 2**160:
        raise ValueError(f"{value} is not a 160-bit address")
    return f"0x{value:040x}"


def parse_int(text: str) -> int:
    """An integer written as a decimal string or as ``0x`` hex (files of both conventions load); ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"expected a string, got {text!r}")
    if text[:2] in ("0x", "0X"):
        return int(text[2:], 16)
    return int(text, 10)


def snake_case(name: str) -> str:
    """``marginRatio`` → ``margin_ratio``."""
    return _CAMEL.sub("_", name).lower()


def json_value(value: Any) -> Any:
    """``value`` under the convention: ints (not bools) as decimal strings, bytes as 0x hex, paths as text,
    tuples as lists, dataclasses as objects, NaN and infinities as null. Keys are kept as given."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_value(dataclasses.asdict(value))
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return json_value(value.tolist())
    return str(value)


def dumps(data: Any) -> str:
    """``data`` as JSON text under the convention (indented, keys sorted)."""
    return json.dumps(json_value(data), indent=2, sort_keys=True, allow_nan=False)
