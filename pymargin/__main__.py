"""``python -m pymargin``: the same command line as the ``pymargin`` script."""

from pymargin.cli import main

main()
