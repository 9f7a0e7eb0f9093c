"""Compute a circuit's witness with its circom ``.wasm`` generator (run by node), and read it back.

The input is a JSON object of signal name -> integer or nested list of integers (decimal
strings, so no precision is lost). A failing ``===`` or range check in the circuit makes the
generator fail: :class:`WitnessError` then says which assertion, and no ``.wtns`` is left behind.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from pymargin import tools
from pymargin.errors import UserError
from pymargin.fsutil import atomic_write_bytes
from pymargin.zk.circom import Circuit

WITNESS_TIMEOUT_S = 1800


class WitnessError(UserError):
    """The inputs do not satisfy the circuit (an assertion failed while computing the witness)."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    raise TypeError(f"circuit inputs are integers or lists of integers, got {type(value).__name__}")


def compute_witness(circuit: Circuit, inputs: dict[str, Any], wtns_path: Path) -> Path:
    """Run the circuit's witness generator on ``inputs`` and write ``wtns_path`` (atomically)."""
    wtns_path = Path(wtns_path)
    wtns_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=wtns_path.parent, prefix=".wtns-") as tmp:
        input_path = Path(tmp) / "input.json"
        input_path.write_text(json.dumps({k: _jsonable(v) for k, v in inputs.items()}))
        out = Path(tmp) / "out.wtns"
        cmd = [tools.node(), str(circuit.witness_script), str(circuit.wasm), str(input_path), str(out)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=WITNESS_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise WitnessError(f"witness generation for {circuit.name} took longer than {WITNESS_TIMEOUT_S} s") from None
        if done.returncode != 0 or not out.is_file():
            raise WitnessError(f"{circuit.name}: the inputs do not satisfy the circuit: {_first_error(done.stderr + done.stdout)}")
        atomic_write_bytes(wtns_path, out.read_bytes())
    return wtns_path


def _first_error(text: str) -> str:
    """The generator's own message in node's output (not the JavaScript source line it quotes): e.g.
    "Assert Failed in template SolvencyBatch line 313" (circom's numeric template suffix dropped)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    where = next((m for m in map(_TEMPLATE_LINE.search, lines) if m), None)
    for line in lines:
        if line.startswith("Error:") or "Not enough values" in line or "Too many values" in line:
            message = line.removeprefix("Error:").strip().removeprefix("Error:").strip().rstrip(".")
            if message.startswith("Error in template"):
                message = "Assert Failed"
            return f"{message} in template {where[1]} line {where[2]}" if where else message
    return lines[0] if lines else "no output"


_TEMPLATE_LINE = re.compile(r"Error in template (\w+?)(?:_\d+)? line: (\d+)")


def read_wtns(path: Path) -> list[int]:
    """The witness values of a ``.wtns`` file (w[0] = 1, then outputs, public inputs, the rest)."""
    data = Path(path).read_bytes()
    if data[:4] != b"wtns":
        raise UserError(f"{path} is not a .wtns file")
    (count,) = struct.unpack_from("<I", data, 8)
    offset = 12
    header = body = b""
    for _ in range(count):
        kind, size = struct.unpack_from("<IQ", data, offset)
        offset += 12
        if kind == 1:
            header = data[offset : offset + size]
        elif kind == 2:
            body = data[offset : offset + size]
        offset += size
    (n8,) = struct.unpack_from("<I", header, 0)
    (n,) = struct.unpack_from("<I", header, 4 + n8)
    return [int.from_bytes(body[i * n8 : (i + 1) * n8], "little") for i in range(n)]


def write_wtns(path: Path, witness: list[int]) -> None:
    """Write ``witness`` as a ``.wtns`` file (version 2, BN254), e.g. a tampered one for a soundness test."""
    from pymargin.zk.field import FIELD_P

    n8 = 32
    header = struct.pack("<I", n8) + FIELD_P.to_bytes(n8, "little") + struct.pack("<I", len(witness))
    if not all(0 <= v < FIELD_P for v in witness):
        raise UserError("witness values must be field elements in [0, p)")
    body = b"".join(v.to_bytes(n8, "little") for v in witness)
    data = b"wtns" + struct.pack("<II", 2, 2)
    data += struct.pack("<IQ", 1, len(header)) + header + struct.pack("<IQ", 2, len(body)) + body
    atomic_write_bytes(Path(path), data)


def public_signals(witness: list[int], n_public: int) -> list[int]:
    """The public signals (outputs, then public inputs) of a witness: w[1 : 1 + n_public]."""
    return witness[1 : 1 + n_public]


def signal_indices(circuit: Circuit) -> dict[str, int]:
    """{signal name as in main.sym (e.g. "main.div.out"): witness index} for signals kept in the witness."""
    out = {}
    for line in circuit.sym.read_text().splitlines():
        _label, wire, _component, name = line.split(",", 3)
        if int(wire) >= 0:
            out[name] = int(wire)
    return out
