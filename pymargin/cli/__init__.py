"""The ``pymargin`` command line: one group, one module per family of subcommands.

A user mistake (:class:`~pymargin.errors.UserError`) prints one line and exits 2; a contract revert
exits 1; ``--debug`` shows the traceback instead. Ctrl-C and SIGTERM stop a command within two seconds
(:mod:`pymargin.interrupts`): children killed, temporary folders removed, exit 130 / 143.
"""

from __future__ import annotations

import sys

import click

from pymargin.cli._common import Context, fail
from pymargin.cli.output import error_code
from pymargin.errors import UserError
from pymargin.interrupts import Stopped, guard


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show the full traceback on any error.")
@click.option("-q", "--quiet", is_flag=True, help="Print only results and errors.")
@click.option("-v", "--verbose", is_flag=True, help="Print more detail.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of tables.")
@click.option("--log-chunk", type=click.IntRange(min=1), default=None, metavar="BLOCKS",
              help="Blocks per eth_getLogs request; halved when the RPC refuses [env PYMARGIN_LOG_CHUNK; default 10000].")
@click.version_option(package_name="pymargin")
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool, verbose: bool, as_json: bool, log_chunk: int | None) -> None:
    """pymargin: an on-chain verifiable margin toolkit.

    Mirrors a Solidity margin engine bit for bit in Python, commits to every account in a Merkle
    sum tree, proves solvency with Groth16, and deploys and verifies on an embedded devnet, anvil
    or any testnet.

    \b
    Start here:
      pymargin demo                      # the whole toolkit, end to end, on the embedded devnet
      pymargin compile                   # compile contracts/ into out/
      pymargin devnet                    # run anvil and print its URL and funded accounts
      pymargin <command> --help          # every command's options, with an example
    """
    from pymargin.chain import logs

    ctx.obj = Context(debug=debug, quiet=quiet, verbose=verbose, as_json=as_json)
    ctx.with_resource(logs.using(logs.LogOptions(log_chunk, ctx.obj.progress)))


def _register() -> None:
    """Add the COMMANDS of every ``pymargin/cli/*_cmds.py`` module to the group."""
    import importlib
    import pkgutil

    import pymargin.cli as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.endswith("_cmds"):
            module = importlib.import_module(f"pymargin.cli.{info.name}")
            for command in module.COMMANDS:
                cli.add_command(command)


_register()


def _json_requested(argv: list[str]) -> bool:
    """True if the global --json comes before the command name (the group's options are flags, and
    --log-chunk with its value)."""
    args = iter(argv)
    for arg in args:
        if arg == "--json":
            return True
        if arg == "--log-chunk":
            next(args, None)
        elif not arg.startswith("-"):
            return False
    return False


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: one line (JSON under --json) and a non-zero exit for every user error."""
    args = sys.argv[1:] if argv is None else argv
    debug, as_json = "--debug" in args, _json_requested(args)
    try:
        with guard():
            cli.main(args=args, prog_name="pymargin", standalone_mode=False)
    except Stopped as exc:
        fail(str(exc), exc.exit_code, "interrupted", as_json)
    except (click.exceptions.Abort, KeyboardInterrupt):
        fail("interrupted", 130, "interrupted", as_json)
    except click.ClickException as exc:
        if not as_json:
            exc.show()
            sys.exit(exc.exit_code)
        fail(exc.format_message(), exc.exit_code, error_code(exc), as_json)
    except UserError as exc:
        if debug:
            raise
        fail(str(exc), exc.exit_code, error_code(exc), as_json)
    except Exception as exc:
        revert = sys.modules.get("pymargin.chain.tx")  # loaded if a contract was called
        if debug or revert is None or not isinstance(exc, revert.ContractRevert):
            raise
        fail(f"the contract refused it: {exc} (nothing was sent)" if exc.simulated else f"the contract reverted: {exc}", 1,
             "contract_revert", as_json)
