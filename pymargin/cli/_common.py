"""Shared CLI plumbing: global options, output as a table or JSON, one-line errors."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, Sequence

import click


@dataclass
class Context:
    """Global options every subcommand sees as ``ctx.obj``."""

    debug: bool = False
    quiet: bool = False
    verbose: bool = False
    as_json: bool = False

    def info(self, message: str) -> None:
        """Progress and status lines (stderr, hidden by -q and --json)."""
        if not self.quiet and not self.as_json:
            click.echo(message, err=True)

    @property
    def progress(self):
        """A :class:`pymargin.progress.Progress` for library calls: bars on stderr, silent with -q or --json."""
        from pymargin.progress import SILENT, ConsoleProgress

        return SILENT if self.quiet or self.as_json else ConsoleProgress()


def fail(message: str, code: int = 2) -> None:
    """Print ``pymargin: error: <message>`` (first line only unless it is a compiler listing) and exit."""
    click.echo(f"pymargin: error: {message}", err=True)
    sys.exit(code)


def emit(ctx: Context, data: Any, table: tuple[Sequence[str], Sequence[Sequence[Any]]] | None = None, title: str | None = None) -> None:
    """Print ``data`` as JSON (with --json) or ``table`` (headers, rows) as a rich table."""
    if ctx.as_json or table is None:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    headers, rows = table
    out = Table(title=title)
    for header in headers:
        out.add_column(header, overflow="fold")
    for row in rows:
        out.add_row(*(str(cell) for cell in row))
    Console().print(out)


def short_address(address: str) -> str:
    """An address or hash for an 80-column table: ``0x12ab…cdef``."""
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address
