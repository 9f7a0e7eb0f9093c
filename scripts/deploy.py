#!/usr/bin/env python3
"""Deploy entry point: `scripts/deploy.py --config deployments/example.anvil.json --rpc URL`.

The same as `pymargin deploy ...` (see `pymargin deploy --help`); kept as a script for CI jobs
and deploy pipelines that call a file rather than a console script.
"""

import sys

from pymargin.cli import main

if __name__ == "__main__":
    main(["deploy", *sys.argv[1:]])
