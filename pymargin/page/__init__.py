"""The verification page (docs/spec.md §6.6): one self-contained HTML file a user opens from disk or any
static host to check their inclusion proof in their own browser.

:func:`page_html` inlines the page's scripts (``keccak.js``, ``poseidon.js`` with circomlibjs's
constants from ``poseidon_constants.json``, ``verify.js``, ``ui.js``) into ``verify.html`` and pins
them with a Content-Security-Policy hash, so the browser runs no other script and loads nothing;
the only network requests are the user's JSON-RPC reads (``connect-src``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pymargin.errors import UserError
from pymargin.fsutil import atomic_write_text, check_out_dir, check_out_file

PAGE_NAME = "verify.html"
_SCRIPTS = ("keccak.js", "poseidon.js", "verify.js", "ui.js")


def _text(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def page_html(registry: str | None = None) -> str:
    """The page's HTML, scripts inlined, the registry address pre-filled if given."""
    constants = json.dumps(json.loads(_text("poseidon_constants.json")), separators=(",", ":"))
    script = f"const POSEIDON_CONSTANTS = {constants};\n" + "\n".join(_text(name) for name in _SCRIPTS)
    if "</script" in script.lower():
        raise AssertionError("a page script contains </script")
    script = f"\n{script}\n"  # the element's whole text, which the CSP hash covers
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    try:
        release = version("pymargin")
    except PackageNotFoundError:
        release = "(source tree)"
    html = _text(PAGE_NAME)
    html = html.replace("@SCRIPT_HASH@", f"sha256-{digest}").replace("@VERSION@", release)
    html = html.replace("@REGISTRY@", registry or "")
    return html.replace("@SCRIPT@", script)


def write_page(out_dir: Path, registry: str | None = None, force: bool = False) -> Path:
    """Write ``out_dir/verify.html`` (``out_dir`` may exist and hold an epoch's other files; created if
    missing). UserError, before writing anything, if ``registry`` is not a 0x address, ``out_dir`` is a
    file or cannot be written in, or verify.html exists and not ``force``."""
    if registry is not None:
        from web3 import Web3

        if not Web3.is_address(registry):
            raise UserError(f"--registry {registry!r} is not an address")
        registry = Web3.to_checksum_address(registry)
    out_dir = check_out_dir(out_dir, existing_ok=True)
    path = check_out_file(out_dir / PAGE_NAME, force=force)
    html = page_html(registry)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, html)
    return path
