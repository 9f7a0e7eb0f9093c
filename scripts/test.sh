#!/usr/bin/env bash
# Run the test suite (bootstrapping .venv and node_modules first). Extra arguments go to pytest,
# e.g. `scripts/test.sh -m slow` for the large sizes or `scripts/test.sh --anvil` to run the
# chain tests on anvil instead of the embedded devnet.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
exec .venv/bin/python -m pytest -n auto "$@"
