#!/usr/bin/env bash
# Make the checkout ready to run: a Python virtualenv in .venv with pymargin installed (editable,
# with test extras) and the pinned node tools in node_modules (npm). Idempotent: each step runs
# only when its lock input (pyproject.toml, package-lock.json) changed, so a warm run takes
# milliseconds. Sourced by scripts/demo.sh and scripts/test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "pymargin: error: '$1' not found on PATH: install $2, then run this again" >&2; exit 2; }
}
need python3 "Python 3.10 or newer"
need node "Node.js 18 or newer"
need npm "npm (it comes with Node.js)"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || { echo "pymargin: error: Python 3.10 or newer is needed, found $(python3 --version)" >&2; exit 2; }

stamp() { cat "$@" | python3 -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:16])'; }

if [ ! -x .venv/bin/python ]; then
  echo "pymargin: creating .venv" >&2
  python3 -m venv .venv
fi
want="$(stamp pyproject.toml)"
if [ "$(cat .venv/.pymargin-stamp 2>/dev/null || true)" != "$want" ]; then
  echo "pymargin: installing Python packages into .venv (first run: about a minute)" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
  echo "$want" > .venv/.pymargin-stamp
fi
want="$(stamp package-lock.json)"
if [ "$(cat node_modules/.pymargin-stamp 2>/dev/null || true)" != "$want" ]; then
  echo "pymargin: installing the pinned node tools (npm, from package-lock.json)" >&2
  # `npm install --no-save` rather than `npm ci`: the lock lists anvil's native package for this
  # platform only (the registry mirror here has no other platforms' packages), which `npm ci`
  # rejects as out of sync; this installs exactly the locked versions and never rewrites the lock.
  npm install --no-save --no-audit --no-fund --loglevel=error
  echo "$want" > node_modules/.pymargin-stamp
fi
