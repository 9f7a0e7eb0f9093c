"""Ctrl-C and SIGTERM stop a command within two seconds: every child killed, no temporary folder left.

Each test runs the real `pymargin` command line in a subprocess, waits until it is in the stage
under test (proving, or running on anvil), sends the signal and measures how long the process takes
to exit. Then it checks that none of the processes it had started survives and that no temporary
or staged folder remains (TMPDIR is a folder of the test's own, and the output's parent and the
circuit build cache are compared with their state before the run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pymargin.interrupts import descendants
from pymargin.zk.circom import build_root

EXIT_BOUND_S = 5.0  # a functional bound; the measured stop is ~0.5 s (the watchdog's deadline is 1.5 s)
STAGE_TIMEOUT_S = 240.0
PYMARGIN = [sys.executable, "-m", "pymargin"]


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _hidden_dirs(root: Path) -> set[Path]:
    """Dot-folders (work folders of compiles and setups) under the circuit build cache, two levels deep."""
    if not root.is_dir():
        return set()
    found = set()
    for level in (root.glob(".*"), root.glob("*/.*"), root.glob("*/*/.*")):
        found |= {p for p in level if p.is_dir()}
    return found


def _wait_for(proc: subprocess.Popen, stage) -> list[int]:
    """Poll the process tree until ``stage(descendant cmdlines)`` holds; return the descendants' pids."""
    deadline = time.monotonic() + STAGE_TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"pymargin exited early ({proc.returncode}): {proc.stderr.read()}"
        pids = descendants(proc.pid)
        if stage([_cmdline(p) for p in pids]):
            return pids
        time.sleep(0.05)
    proc.kill()
    pytest.fail("pymargin did not reach the stage under test")


def _interrupt(proc: subprocess.Popen, signum: int, started: list[int]) -> tuple[float, str]:
    """Send ``signum``; return (seconds until exit, stderr). Also collects the children started since."""
    started += [p for p in descendants(proc.pid) if p not in started]
    sent = time.monotonic()
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    elapsed = time.monotonic() - sent
    print(f"{signal.Signals(signum).name}: pymargin exited {elapsed:.2f} s after the signal")  # shown with pytest -s
    return elapsed, err


def _assert_nothing_left(started: list[int], tmpdir: Path, out_parent: Path, before: set[Path], cache_before: set[Path]) -> None:
    deadline = time.monotonic() + 2.0  # the kernel's reaping; the processes were killed before the exit
    while any(_alive(p) for p in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [(p, _cmdline(p)) for p in started if _alive(p)] == []
    assert list(tmpdir.iterdir()) == []
    assert set(out_parent.iterdir()) == before
    assert _hidden_dirs(build_root()) <= cache_before


def _book(path: Path) -> Path:
    """A two-account book with full-precision values."""
    book = {
        "markets": [{"id": "0", "name": "ETH-PERP", "price_wad": "3141592653589793238462", "funding_index_wad": "0",
                     "imf_wad": "100000000000000000", "mmf_wad": "50000000000000000"}],
        "accounts": [
            {"owner": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "sub": "0", "collateral": "1718281828459045235360",
             "positions": [{"market_id": "0", "size": "-2718281828459045235", "cost_basis": "-8539734222673567065463",
                            "funding_index": "0"}]},
            {"owner": "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", "sub": "1", "collateral": "2236067977499789696409",
             "positions": [{"market_id": "0", "size": "1414213562373095048", "cost_basis": "4442882938158366247",
                            "funding_index": "0"}]},
        ],
    }
    path.write_text(json.dumps(book))
    return path


def _env(tmpdir: Path) -> dict[str, str]:
    tmpdir.mkdir()
    return dict(os.environ, TMPDIR=str(tmpdir), PYTHONUNBUFFERED="1")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_prove_stops_at_once_while_proving(tmp_path, signum):
    """`prove` of a 64-account batch: the prover worker loads a 270 MB key (~45 s) and proves; before,
    Ctrl-C waited for it (45–63 s). Interrupted while the worker (or, on a fresh cache, circom) runs."""
    out_parent = tmp_path / "out"
    out_parent.mkdir()
    before, cache_before = set(), _hidden_dirs(build_root())
    proc = subprocess.Popen(
        [*PYMARGIN, "prove", str(_book(tmp_path / "book.json")), "--unsalted", "--epoch", "1", "--depth", "6",
         "--batch-log2", "6", "--chain-id", "31337", "--registry", "0x1", "--engine", "0x2",
         "--out", str(out_parent / "epoch.json"), "--backend", "groth16py"],
        env=_env(tmp_path / "tmp"), stderr=subprocess.PIPE, text=True)
    started = _wait_for(proc, lambda cmds: any("multiprocessing.spawn" in c or "circom2" in c for c in cmds))
    time.sleep(0.5)  # into the key load / the compile
    elapsed, err = _interrupt(proc, signum, started)
    assert proc.returncode == 128 + signum, err
    assert elapsed < EXIT_BOUND_S, f"stopped after {elapsed:.1f} s"
    assert err.strip().splitlines()[-1] == f"pymargin: error: interrupted by {signal.Signals(signum).name}"
    assert "Traceback" not in err
    _assert_nothing_left(started, tmp_path / "tmp", out_parent, before, cache_before)


def test_demo_on_anvil_stops_at_once(tmp_path):
    """`demo --anvil`, SIGTERM once anvil runs and the demo works on it: anvil is killed, nothing published."""
    out_parent = tmp_path / "out"
    out_parent.mkdir()
    before, cache_before = set(), _hidden_dirs(build_root())
    proc = subprocess.Popen([*PYMARGIN, "demo", "--anvil", "--accounts", "4", "--batch-log2", "2",
                             "--out", str(out_parent / "demo")],
                            env=_env(tmp_path / "tmp"), stderr=subprocess.PIPE, text=True)
    started = _wait_for(proc, lambda cmds: any("anvil" in c for c in cmds))
    assert any("anvil" in _cmdline(p) for p in started)
    time.sleep(1.0)  # compiling / deploying on anvil
    elapsed, err = _interrupt(proc, signal.SIGTERM, started)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert elapsed < EXIT_BOUND_S, f"stopped after {elapsed:.1f} s"
    assert err.strip().splitlines()[-1] == "pymargin: error: interrupted by SIGTERM" and "Traceback" not in err
    _assert_nothing_left(started, tmp_path / "tmp", out_parent, before, cache_before)


def test_watchdog_ends_a_main_thread_stuck_in_native_code(tmp_path):
    """The main thread blocked in a C call that no signal interrupts (as groth16py holds it): the
    watchdog kills the child and removes the temporary folder, and the process exits 130 in ~1.5 s."""
    script = textwrap.dedent(f"""
        import ctypes, signal, subprocess
        from pymargin.interrupts import guard, temporary_dir
        with guard():
            with temporary_dir(prefix="stuck-", dir={str(tmp_path)!r}) as folder:
                child = subprocess.Popen(["sleep", "60"], start_new_session=True)
                signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT, signal.SIGTERM])  # only the watchdog sees them
                print(child.pid, folder, flush=True)
                ctypes.CDLL(None).sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    child_pid, folder = proc.stdout.readline().split()
    assert Path(folder).is_dir() and _alive(int(child_pid))
    time.sleep(1.0)  # into the C call (a signal while it still runs bytecode is the main thread's to handle)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    elapsed = time.monotonic() - sent
    assert proc.returncode == 130 and err.strip() == "pymargin: error: interrupted by SIGINT"
    assert 1.0 < elapsed < EXIT_BOUND_S
    time.sleep(0.2)
    assert not _alive(int(child_pid)) and not Path(folder).exists()
