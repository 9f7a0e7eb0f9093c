"""Shared CLI plumbing: global options, one-line errors; output goes through :mod:`pymargin.cli.output`."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import click

from pymargin.cli.output import emit_error


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


def _json_mode() -> bool:
    """True inside a command run with the global --json."""
    current = click.get_current_context(silent=True)
    obj = current.find_object(Context) if current is not None else None
    return bool(obj and obj.as_json)


def fail(message: str, code: int = 2, kind: str = "user_error", as_json: bool | None = None) -> None:
    """Exit with ``code`` after one line: ``pymargin: error: <message>`` on stderr, or under --json
    ``{"error": <message>, "code": <kind>}`` on stdout."""
    if _json_mode() if as_json is None else as_json:
        emit_error(message, kind)
    else:
        click.echo(f"pymargin: error: {message}", err=True)
    sys.exit(code)
