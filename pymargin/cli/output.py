"""The output convention (docs/output.md): JSON values, JSON errors under --json, 80-column tables, short addresses.

Every command prints through :func:`emit`; :func:`pymargin.cli.main` prints errors through
:func:`emit_error` under --json. Files the commands write use :func:`dumps` and :func:`hash_hex` too.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Any, Sequence

import click

TABLE_WIDTH = 80
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}(?![0-9a-fA-F])")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def hash_hex(value: int) -> str:
    """A 256-bit hash, root or field element as ``0x`` + 64 lower-case hex digits."""
    if not 0 <= value < 2**256:
        raise ValueError(f"{value} is not a 256-bit value")
    return f"0x{value:064x}"


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


def short_address(text: str) -> str:
    """Every full address in ``text`` shortened to ``0x12ab…cdef`` (first 4 and last 4 hex digits)."""
    return _ADDRESS.sub(lambda m: f"{m.group(0)[:6]}…{m.group(0)[-4:]}", text)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None,
                 width: int = TABLE_WIDTH) -> str:
    """A rich table, addresses shortened, that fits ``width`` columns (long cells wrap inside their column)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=short_address(title) if title else None)
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*(short_address(str(cell)) for cell in row))
    console = Console(width=width, force_terminal=False, color_system=None, soft_wrap=False)
    with console.capture() as captured:
        console.print(table)
    return captured.get()


def emit(ctx, data: Any, table: tuple[Sequence[str], Sequence[Sequence[Any]]] | None = None, title: str | None = None) -> None:
    """Print ``data`` as JSON (with --json, or when there is no table) or ``table`` (headers, rows) in 80 columns."""
    if ctx.as_json or table is None:
        click.echo(dumps(data))
        return
    headers, rows = table
    click.echo(render_table(headers, rows, title), nl=False)


def error_code(exc: BaseException) -> str:
    """The snake_case kind of an error for ``{"code": ...}``: its class name (``InclusionError`` → ``inclusion_error``)."""
    return snake_case(type(exc).__name__)


def emit_error(message: str, code: str) -> None:
    """``{"error": <first line>, "code": <code>}`` on stdout: the error under --json."""
    first = message.strip().splitlines()[0] if message.strip() else "error"
    click.echo(json.dumps({"error": first, "code": code}, sort_keys=True))
