"""Compile a circom circuit with groth16py's in-process circom compiler (native code), for circuits too large for circom2.

The pinned circom2 is circom 2.2.3 built to WebAssembly: at ~1 M constraints and above it is slow
and its memory is capped by 32-bit WebAssembly. groth16py (the ``fast`` extra) links the circom
2.2.3 compiler crates natively, but only behind ``setup_circom``, which compiles into a temporary
folder, runs a single-party setup and deletes the folder. So this module runs ``setup_circom`` in a
child process whose temporary folder is ours, hard-links the files as they appear, and kills the
child once they are written (before its setup). It then assembles a build folder like circom2's:

* ``main.r1cs``: byte-identical to circom2 ``--O2`` (checked in tests/test_circom_native.py);
* ``main_js/main.wasm``: the crates write the witness generator as WebAssembly *text* with legacy
  mnemonics (``get_local``); they are renamed and the text assembled by ``wat2wasm`` (Debian's
  ``wabt``). The witness it computes is byte-identical to circom2's;
* no ``main.sym`` (the crates do not write one), so :func:`pymargin.zk.witness.signal_indices`
  does not work on such a build.

Chosen with ``PYMARGIN_CIRCOM=groth16py`` (:func:`pymargin.zk.circom.compile_circuit`).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from pymargin.errors import UserError

POLL_S = 0.2
# setup_circom's output, relative to its temporary folder -> our build folder's layout
FILES = {
    "circuit.r1cs": "main.r1cs",
    "js/circuit.wasm": "main_js/main.wat",
    "js/generate_witness.js": "main_js/generate_witness.js",
    "js/witness_calculator.js": "main_js/witness_calculator.js",  # written last
}
LEGACY_MNEMONICS = {
    "get_local": "local.get", "set_local": "local.set", "tee_local": "local.tee",
    "get_global": "global.get", "set_global": "global.set",
    "i32.wrap/i64": "i32.wrap_i64", "i64.extend_u/i32": "i64.extend_i32_u", "i64.extend_s/i32": "i64.extend_i32_s",
}
_LEGACY = re.compile("|".join(r"(?<![\w.])" + re.escape(old) + r"(?![\w/])" for old in LEGACY_MNEMONICS))


class NativeCompileError(UserError):
    """groth16py's circom compiler rejected the circuit, or a tool it needs is missing."""


def compile_native(source: Path, include_dirs: list[Path], out_dir: Path) -> None:
    """Compile ``source`` into ``out_dir`` (main.r1cs, main_js/main.wasm and its node scripts)."""
    wat2wasm = shutil.which("wat2wasm")
    if wat2wasm is None:
        raise NativeCompileError("PYMARGIN_CIRCOM=groth16py needs wat2wasm: install Debian's wabt package (apt-get install wabt)")
    tmp = out_dir / "tmp"
    tmp.mkdir(parents=True)
    _capture(source, include_dirs, tmp, out_dir)
    shutil.rmtree(tmp)
    wat = out_dir / "main_js" / "main.wat"
    wat.write_text(_LEGACY.sub(lambda m: LEGACY_MNEMONICS[m[0]], wat.read_text()))
    done = subprocess.run([wat2wasm, str(wat), "-o", str(out_dir / "main_js" / "main.wasm")], capture_output=True, text=True)
    if done.returncode != 0:
        raise NativeCompileError(f"wat2wasm failed on groth16py's witness generator: {(done.stderr or done.stdout).strip()[:500]}")
    wat.unlink()


def _capture(source: Path, include_dirs: list[Path], tmp: Path, out_dir: Path) -> None:
    """Run setup_circom with TMPDIR=tmp; hard-link FILES into out_dir as they appear; kill it once all are written."""
    code = "import sys, groth16py; groth16py.setup_circom(sys.argv[1], sys.argv[2:])"
    log = tmp / "compile.log"
    with open(log, "w") as out:
        child = subprocess.Popen([sys.executable, "-c", code, str(source), *map(str, include_dirs)],
                                 env=os.environ | {"TMPDIR": str(tmp)}, stdout=out, stderr=subprocess.STDOUT)
    try:
        linked: set[str] = set()
        while child.poll() is None:
            for folder in tmp.glob(".tmp*"):
                for name, target in FILES.items():
                    if target not in linked and (folder / name).is_file():
                        (out_dir / target).parent.mkdir(parents=True, exist_ok=True)
                        os.link(folder / name, out_dir / target)
                        linked.add(target)
            if len(linked) == len(FILES) and not _writing(child.pid, str(tmp.resolve() / ".tmp")):
                return
            time.sleep(POLL_S)
        text = log.read_text().replace("\x1b[31m", "").replace("\x1b[0m", "").strip()
        raise NativeCompileError(f"groth16py's circom compiler failed on {source}:\n{text[-2000:]}")
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
        child.wait()


def _writing(pid: int, prefix: str) -> bool:
    """Whether process ``pid`` holds a file whose path starts with ``prefix`` open for writing."""
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        for fd in fd_dir.iterdir():
            target = os.readlink(fd)
            if target.startswith(prefix):
                flags = int((Path(f"/proc/{pid}/fdinfo") / fd.name).read_text().split("flags:")[1].split()[0], 8)
                if flags & (os.O_WRONLY | os.O_RDWR):
                    return True
    except (FileNotFoundError, ProcessLookupError):
        return True  # the fd went away while looking: look again next poll
    return False
