"""Headless Chromium for looking at the report: a screenshot and the DOM after scripts ran.

Uses Debian's ``chromium`` (or ``chromium-browser`` / ``google-chrome``) with the flags that keep
it from reaching the network, and a fresh profile each time.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from pymargin.errors import UserError

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--allow-file-access-from-files",
]


def find_chromium() -> str | None:
    """Path of a Chromium executable on PATH, or None."""
    for name in _NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(url: str, extra: list[str], timeout_s: float) -> subprocess.CompletedProcess:
    exe = find_chromium()
    if exe is None:
        raise UserError("Chromium not found: install Debian's `chromium` package (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="pymargin-chromium-") as profile:
        return subprocess.run(
            [exe, *_FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True, text=True, timeout=timeout_s,
        )


def screenshot(html_path: Path, png_path: Path, width: int = 1280, height: int = 2400, timeout_s: float = 120) -> Path:
    """Render ``html_path`` in headless Chromium and save a ``width``×``height`` PNG screenshot."""
    result = _run(Path(html_path).resolve().as_uri(), [f"--window-size={width},{height}", f"--screenshot={Path(png_path).resolve()}"], timeout_s)
    if not Path(png_path).is_file():
        raise UserError(f"Chromium made no screenshot (exit {result.returncode}): {result.stderr.strip().splitlines()[-1:] }")
    return Path(png_path)


def dump_dom(html_path: Path, timeout_s: float = 120, fragment: str = "", virtual_time_ms: int = 5000) -> str:
    """The page's DOM after load (scripts run for ``virtual_time_ms`` of virtual time), as Chromium
    serialises it; ``fragment`` is appended to the file URL after ``#``."""
    url = Path(html_path).resolve().as_uri() + (f"#{fragment}" if fragment else "")
    result = _run(url, [f"--virtual-time-budget={virtual_time_ms}", "--dump-dom"], timeout_s)
    return result.stdout
