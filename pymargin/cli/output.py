"""The output convention (docs/output.md): JSON values, JSON errors under --json, 80-column tables, short addresses.

Every command prints through :func:`emit`; :func:`pymargin.cli.main` prints errors through
:func:`emit_error` under --json. The JSON values themselves follow :mod:`pymargin.jsonvalues`.
"""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

import click

from pymargin.jsonvalues import dumps, json_value, snake_case

TABLE_WIDTH = 80
SHORT_CELL = 15  # a column of shortened addresses this short never wraps (an account id 0x12ab…cdef:0 is 13)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}(?![0-9a-fA-F])")


def short_address(text: str) -> str:
    """Every full address in ``text`` shortened to ``0x12ab…cdef`` (first 4 and last 4 hex digits)."""
    return _ADDRESS.sub(lambda m: f"{m.group(0)[:6]}…{m.group(0)[-4:]}", text)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None,
                 width: int = TABLE_WIDTH) -> str:
    """A rich table, addresses shortened, that fits ``width`` columns (long cells wrap inside their column)."""
    from rich.console import Console
    from rich.table import Table

    cells = [[short_address(str(cell)) for cell in row] for row in rows]
    table = Table(title=short_address(title) if title else None)
    for i, header in enumerate(headers):
        column = [row[i] for row in cells if i < len(row)]
        longest = max(map(len, column), default=0)
        keep = longest <= SHORT_CELL and any("…" in cell for cell in column)  # a shortened address stays on one line
        table.add_column(header, overflow="fold", no_wrap=keep)
    for row in cells:
        table.add_row(*row)
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


def emit_line(data: Any) -> None:
    """``data`` as one line of JSON, for a command that keeps running after it (``devnet``)."""
    click.echo(json.dumps(json_value(data), sort_keys=True))


def error_code(exc: BaseException) -> str:
    """The snake_case kind of an error for ``{"code": ...}``: its class name (``InclusionError`` → ``inclusion_error``)."""
    return snake_case(type(exc).__name__)


def emit_error(message: str, code: str) -> None:
    """``{"error": <first line>, "code": <code>}`` on stdout: the error under --json."""
    first = message.strip().splitlines()[0] if message.strip() else "error"
    click.echo(json.dumps({"error": first, "code": code}, sort_keys=True))
