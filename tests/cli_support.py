"""Test support: run the `pymargin` command line in-process, as a user would from a shell."""

from __future__ import annotations

from pymargin.cli import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run `pymargin argv...` in-process; return (exit code, stdout, stderr)."""
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err
