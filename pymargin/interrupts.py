"""Prompt, clean stops on Ctrl-C and SIGTERM: every child process killed, no temporary folder left.

The CLI runs each command under :func:`guard`. On SIGINT or SIGTERM:

1. every descendant process (anvil, node running snarkjs / circom / a witness generator, prover
   worker processes and their own children, a local Ray cluster) is killed at once with SIGKILL —
   found by walking ``/proc`` (Linux), so children of children are found even when they lead their
   own process groups;
2. :class:`Stopped` is raised in the main thread, so every ``finally`` block runs: temporary and
   staged folders are removed and nothing half-written is published;
3. a watchdog thread, woken by the signal even while the main thread is inside native code, ends
   the process GRACE_S after the signal if the main thread has not, removing first the temporary
   folders registered with :func:`temporary_dir`.

Native work that holds the main thread for long (groth16py's setup and proving: up to a minute on a
large key) runs in a worker process while a guard is active (:func:`guarded`), so the main thread
stays interruptible.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context, resource_tracker
from pathlib import Path
from typing import Iterator

GRACE_S = 1.5  # after a signal, the watchdog ends the process if the main thread has not by then
SIGNALS = (signal.SIGINT, signal.SIGTERM)

_temporary: set[Path] = set()
_lock = threading.Lock()
_guard_pid: int | None = None


class Stopped(BaseException):
    """Raised in the main thread on SIGINT or SIGTERM once the children are killed.

    A BaseException (like KeyboardInterrupt) so that ``except Exception`` does not swallow it."""

    def __init__(self, signum: int):
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


def guarded() -> bool:
    """Whether this process runs under :func:`guard` (the CLI): long native work then goes to a worker."""
    return _guard_pid == os.getpid()


def descendants(pid: int | None = None) -> list[int]:
    """Pids of every live descendant of ``pid`` (default: this process), from ``/proc``; [] elsewhere."""
    root = os.getpid() if pid is None else pid
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:  # exited meanwhile
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if fields[0] != b"Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_descendants() -> list[int]:
    """SIGKILL every descendant process (and the process group each one leads) but multiprocessing's
    resource tracker, which ends by itself with this process after freeing what the workers left;
    return the pids killed."""
    spared = getattr(resource_tracker._resource_tracker, "_pid", None)
    pids = [pid for pid in descendants() if pid != spared]
    own_group = os.getpgid(0)
    for pid in pids:
        try:
            if os.getpgid(pid) == pid and pid != own_group:
                os.killpg(pid, signal.SIGKILL)
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return pids


def register_temporary(path: Path) -> Path:
    """Have the watchdog remove ``path`` (a temporary folder) if a signal ends the process before the
    code that made it can; the caller still removes it itself (or renames it into place)."""
    with _lock:
        _temporary.add(Path(path))
    return Path(path)


@contextmanager
def temporary_dir(prefix: str, suffix: str = "", dir: Path | None = None) -> Iterator[Path]:
    """A new empty folder (``tempfile.mkdtemp``), removed when the block ends however it ends —
    also by the watchdog if a signal ends the process before the block can."""
    path = register_temporary(Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=dir)))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        with _lock:
            _temporary.discard(path)


def _remove_temporary() -> None:
    with _lock:
        paths = list(_temporary)
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def _watchdog(read_fd: int, done: threading.Event) -> None:
    """Wakes on a signal (the wakeup fd), kills the children, and ends the process GRACE_S later
    unless the guarded block has ended by then (the main thread was stuck in native code)."""
    try:
        _watch(read_fd, done)
    finally:
        os.close(read_fd)


def _watch(read_fd: int, done: threading.Event) -> None:
    while True:
        try:
            data = os.read(read_fd, 1)
        except OSError:
            return
        if not data:
            return
        signum = data[0]
        if signum not in SIGNALS:
            continue
        kill_descendants()
        if done.wait(GRACE_S):
            return
        kill_descendants()
        _remove_temporary()
        os.write(2, f"pymargin: error: interrupted by {signal.Signals(signum).name}\n".encode())
        os._exit(128 + signum)


@contextmanager
def guard() -> Iterator[None]:
    """Run the block so that SIGINT and SIGTERM stop it within GRACE_S (see the module docstring).

    Main thread only; a no-op elsewhere. The previous handlers are restored afterwards."""
    global _guard_pid
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping: list[int] = []

    def handler(signum, frame):
        if stopping:  # a second Ctrl-C must not break the cleanup of the first
            return
        stopping.append(signum)
        kill_descendants()
        raise Stopped(signum)

    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    for s in SIGNALS:
        signal.signal(s, handler)
    done = threading.Event()
    threading.Thread(target=_watchdog, args=(read_fd, done), name="pymargin-stop-watchdog", daemon=True).start()
    _guard_pid = os.getpid()
    try:
        yield
    finally:
        done.set()
        _guard_pid = None
        for s, h in previous.items():
            signal.signal(s, h)
        signal.set_wakeup_fd(previous_fd)
        os.close(write_fd)  # the watchdog reads EOF and ends
        if stopping:
            kill_descendants()


def worker_pool(workers: int, method: str = "spawn") -> ProcessPoolExecutor:
    """A process pool whose workers lead their own process groups and ignore SIGINT: Ctrl-C at a
    terminal reaches only the CLI process, which kills the workers and their children itself."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context(method), initializer=_worker_start)


def _worker_start() -> None:
    try:
        os.setsid()
    except OSError:  # already a group leader
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker inherits the guard's handler
    signal.set_wakeup_fd(-1)
