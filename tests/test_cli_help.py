"""Every command and subcommand of `pymargin` has --help that teaches: a description and an example."""

from __future__ import annotations

import click
import pytest

from pymargin.cli import cli


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))


ALL = list(_commands(cli))


def test_the_cli_has_the_commands_the_toolkit_promises():
    names = {" ".join(path) for path, _ in ALL}
    expected = {"compile", "devnet", "deploy", "verify-deployment", "margin", "crosscheck", "commit", "check-inclusion",
                "prove", "verify", "post-epoch", "demo", "risk", "risk calibrate", "risk backtest", "risk benchmark", "risk mining"}
    assert expected <= names, expected - names


@pytest.mark.parametrize("path, command", ALL, ids=[" ".join(p) for p, _ in ALL])
def test_help_has_a_description_and_an_example(path, command):
    # the root group's settings (-h as well as --help): click caches a command's help option on first use
    ctx = click.Context(command, info_name=" ".join(("pymargin",) + path), **cli.context_settings)
    text = command.get_help(ctx)
    assert len((command.help or "").strip()) > 40, "a description of what the command does"
    if not isinstance(command, click.Group):
        assert "Example" in text and "pymargin " in text.split("Example", 1)[1], "an example command line"
