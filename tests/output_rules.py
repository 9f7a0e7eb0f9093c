"""Test support: check a command's --json output (or a file it writes) against docs/output.md — its JSON
Schema in docs/schemas/ and the rules walked generically over the whole document."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"
SNAKE = re.compile(r"[a-z][a-z0-9_]*\Z")
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}(:(0|[1-9][0-9]*))?\Z")  # an address, or an account id <owner>:<sub>
WORD = re.compile(r"0x[0-9a-f]{64}\Z")
BYTES = re.compile(r"0x(?:[0-9a-f]{2})*\Z")
HASH_KEYS = re.compile(r"(hash|root|digest)\Z")  # keys whose 0x value must be a 256-bit word
DATA_KEYS = ("evidence", "states", "by_underlying", "timings_s", "markets")  # objects keyed by data (market names or ids, step names)


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def rule_violations(doc, path: str = "$", data_keys: bool = False) -> list[str]:
    """Every place ``doc`` breaks the convention: a camelCase (non snake_case) key, an integer as a JSON
    number, a malformed 0x string (hash-named keys: 0x + 64 hex; else an address or even-length hex)."""
    out = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if not data_keys and not SNAKE.match(key):
                out.append(f"{path}: key {key!r} is not snake_case")
            out += rule_violations(value, f"{path}.{key}", key in DATA_KEYS)
            if isinstance(value, str) and value.startswith("0x") and HASH_KEYS.search(key) and not WORD.match(value):
                out.append(f"{path}.{key}: {value!r} is not 0x and 64 hex digits")
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += rule_violations(value, f"{path}[{i}]")
    elif isinstance(doc, int) and not isinstance(doc, bool):
        out.append(f"{path}: the integer {doc} is a JSON number, not a decimal string")
    elif isinstance(doc, str) and doc.startswith("0x") and not (ADDRESS.match(doc) or BYTES.match(doc)):
        out.append(f"{path}: {doc!r} is not well-formed 0x hex")
    return out


def check_output(name: str, text: str) -> dict | list:
    """Parse a command's stdout, validate it against docs/schemas/<name>.schema.json and the rules; return it."""
    doc = json.loads(text)
    jsonschema.validate(doc, schema(name))
    assert rule_violations(doc) == [], rule_violations(doc)
    return doc
