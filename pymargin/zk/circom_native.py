"""Compile a circom circuit with groth16py's in-process circom compiler (native code), for circuits too large for circom2.

The pinned circom2 is circom 2.2.3 built to WebAssembly: at ~1 M constraints and above it is slow
and its memory is capped by 32-bit WebAssembly. groth16py (the ``fast`` extra) links the circom
2.2.3 compiler crates natively, but only behind ``setup_circom``, which compiles into a temporary
folder, runs a single-party setup and deletes the folder. So this module runs ``setup_circom`` in a
child process whose temporary folder is ours, under ``strace`` (Debian's package) failing its file
deletions, and kills the child once the files are written (its setup is not needed). It then
assembles a build folder like circom2's:

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
    tools = {name: shutil.which(name) for name in ("wat2wasm", "strace")}
    for name, package in (("wat2wasm", "wabt"), ("strace", "strace")):
        if tools[name] is None:
            raise NativeCompileError(f"PYMARGIN_CIRCOM=groth16py needs {name}: install Debian's {package} package (apt-get install {package})")
    tmp = out_dir / "tmp"
    tmp.mkdir(parents=True)
    folder = _run_setup_circom(tools["strace"], source, include_dirs, tmp)
    for name, target in FILES.items():
        (out_dir / target).parent.mkdir(parents=True, exist_ok=True)
        os.replace(folder / name, out_dir / target)
    shutil.rmtree(tmp)
    wat = out_dir / "main_js" / "main.wat"
    wat.write_text(_LEGACY.sub(lambda m: LEGACY_MNEMONICS[m[0]], wat.read_text()))
    done = subprocess.run([tools["wat2wasm"], str(wat), "-o", str(out_dir / "main_js" / "main.wasm")], capture_output=True, text=True)
    if done.returncode != 0:
        raise NativeCompileError(f"wat2wasm failed on groth16py's witness generator: {(done.stderr or done.stdout).strip()[:500]}")
    wat.unlink()


def _run_setup_circom(strace: str, source: Path, include_dirs: list[Path], tmp: Path) -> Path:
    """Run setup_circom with TMPDIR=tmp under strace, which fails its deletions (so its output stays),
    and kill it once FILES are written (its setup is not needed); the folder holding FILES."""
    code = "import sys, groth16py; groth16py.setup_circom(sys.argv[1], sys.argv[2:])"
    no_delete = "unlink,unlinkat,rmdir"
    cmd = [strace, "-f", "-qq", "--seccomp-bpf", "-o", "/dev/null", "-e", f"trace={no_delete}", "-e", f"inject={no_delete}:error=EPERM",
           sys.executable, "-c", code, str(source), *map(str, include_dirs)]
    log = tmp.parent / "compile.log"
    with open(log, "w") as out:
        tracer = subprocess.Popen(cmd, env=os.environ | {"TMPDIR": str(tmp)}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        while True:
            folders = [f for f in tmp.glob(".tmp*") if all((f / name).is_file() for name in FILES)]
            if tracer.poll() is not None:
                if tracer.returncode == 0 and folders:
                    return folders[0]
                text = log.read_text().replace("\x1b[31m", "").replace("\x1b[32m", "").replace("\x1b[0m", "").strip()
                raise NativeCompileError(f"groth16py's circom compiler failed on {source}:\n{text[-2000:]}")
            compiler = _child(tracer.pid)
            if folders and compiler and not _writing(compiler, str(folders[0].resolve())):
                os.kill(compiler, signal.SIGKILL)  # strace reaps it and exits: its CPU time counts as ours
                tracer.wait()
                return folders[0]
            time.sleep(POLL_S)
    finally:
        if tracer.poll() is None:
            os.killpg(tracer.pid, signal.SIGKILL)
            tracer.wait()
        log.unlink(missing_ok=True)


def _child(pid: int) -> int | None:
    """The first child process of ``pid``, if it has one yet."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return None
    return int(children[0]) if children else None


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
