#!/usr/bin/env bash
# Run the end-to-end demo on the embedded devnet (bootstrapping .venv and node_modules first).
# Extra arguments go to `pymargin demo`, e.g. `scripts/demo.sh --anvil --accounts 64`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
exec .venv/bin/pymargin demo "$@"
