"""Chains to run on: the embedded in-process devnet, a managed anvil node, or any RPC URL.

* ``embedded()``: web3's EthereumTesterProvider on py-evm, in this process. Its gas estimation is
  slow and wrong for pairing checks, so every transaction on it carries explicit gas.
* ``start_anvil()``: the pinned anvil binary on a free loopback port; stopped by pid when the
  chain is closed, at interpreter exit, and on SIGTERM.
* ``connect(url)``: any node by RPC URL (testnets, a node you run yourself).

All three give a :class:`Chain` with the same interface, including ``snapshot``/``revert`` on
devnets so tests get a clean state each.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from web3 import HTTPProvider, Web3

from pymargin import tools
from pymargin.errors import UserError
from pymargin.interrupts import guarded

EMBEDDED_GAS_LIMIT = 25_000_000  # per-transaction gas on the embedded chain (block limit is ~30M)
ANVIL_CHAIN_ID = 31337
ANVIL_START_TIMEOUT_S = 20.0


class ChainError(UserError):
    """A chain cannot be reached or is not the expected one."""


@dataclass
class AnvilProcess:
    """A running anvil child process, stopped by pid on :meth:`stop`."""

    popen: subprocess.Popen
    url: str
    port: int

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self, timeout_s: float = 5.0) -> None:
        """Terminate anvil (SIGTERM, then SIGKILL after ``timeout_s``) and reap it."""
        if self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=timeout_s)
        _RUNNING.discard(self)

    def __hash__(self) -> int:
        return self.pid


_RUNNING: set[AnvilProcess] = set()


def _stop_all() -> None:
    for proc in list(_RUNNING):
        proc.stop()


atexit.register(_stop_all)


def _install_sigterm_handler() -> None:
    """Outside the CLI's interrupt guard (which kills every child itself), stop anvil on SIGTERM."""
    if getattr(_install_sigterm_handler, "done", False) or guarded():
        return
    previous = signal.getsignal(signal.SIGTERM)

    def handler(signum, frame):  # stop children first, then behave as before
        _stop_all()
        if callable(previous):
            previous(signum, frame)
        else:
            raise SystemExit(128 + signum)

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread
        return
    _install_sigterm_handler.done = True


@dataclass
class Chain:
    """A connected chain: ``w3``, its kind, and for devnets the node's unlocked accounts."""

    w3: Web3
    kind: str  # "embedded" | "anvil" | "rpc"
    url: str | None = None
    anvil: AnvilProcess | None = None
    accounts: list[str] = field(default_factory=list)

    @property
    def chain_id(self) -> int:
        return self.w3.eth.chain_id

    @property
    def is_devnet(self) -> bool:
        return self.kind in ("embedded", "anvil")

    def snapshot(self) -> Any:
        """Save the chain state (devnets only); pass the result to :meth:`revert`."""
        return self.w3.provider.make_request("evm_snapshot", [])["result"]

    def revert(self, snapshot_id: Any) -> None:
        """Return to a state saved by :meth:`snapshot`."""
        response = self.w3.provider.make_request("evm_revert", [snapshot_id])
        if response.get("error") or response.get("result") is False:
            raise ChainError(f"evm_revert({snapshot_id}) failed: {response}")

    def mine(self, timestamp: int | None = None) -> None:
        """Mine one block, at ``timestamp`` if given (devnets only)."""
        if self.kind == "embedded":
            tester = self.w3.provider.ethereum_tester
            if timestamp is not None:
                tester.time_travel(timestamp)
            else:
                tester.mine_blocks(1)
        else:
            params = [timestamp] if timestamp is not None else []
            self.w3.provider.make_request("evm_mine", params)

    def close(self) -> None:
        """Stop anvil if this chain started it."""
        if self.anvil is not None:
            self.anvil.stop()
            self.anvil = None

    def __enter__(self) -> "Chain":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_block(chain: Chain, block: int, option: str = "--block") -> int:
    """``block`` if the chain has it (0..latest), else ChainError naming the range."""
    head = chain.w3.eth.block_number
    if not 0 <= block <= head:
        raise ChainError(f"{option} {block} is out of range: the chain's blocks are 0..{head}")
    return block


def embedded() -> Chain:
    """A fresh in-process chain (EthereumTesterProvider on py-evm) with funded, unlocked accounts."""
    from web3 import EthereumTesterProvider

    w3 = Web3(EthereumTesterProvider())
    return Chain(w3=w3, kind="embedded", accounts=list(w3.eth.accounts))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_port_free(port: int) -> None:
    """ChainError unless ``port`` is a TCP port number nothing listens on at 127.0.0.1 (so a node already
    there is never mistaken for the one being started)."""
    if not 0 < port < 65536:
        raise ChainError(f"--port {port} is not a TCP port (1..65535, or 0 for any free port)")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise ChainError(f"port {port} on 127.0.0.1 is in use ({exc.strerror}): choose another --port, or 0 for any free port") from None


def start_anvil(port: int | None = None, chain_id: int = ANVIL_CHAIN_ID, extra_args: list[str] | None = None) -> Chain:
    """Start the pinned anvil on ``port`` (checked to be free) or a free loopback port, and wait until it
    answers ``eth_chainId``."""
    binary = tools.anvil_binary()
    if port:
        check_port_free(port)
    port = port or free_port()
    cmd = [
        str(binary), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id),
        "--silent", "--hardfork", "cancun", "--gas-limit", "60000000", *(extra_args or []),
    ]
    popen = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    proc = AnvilProcess(popen=popen, url=f"http://127.0.0.1:{port}", port=port)
    _RUNNING.add(proc)
    _install_sigterm_handler()
    w3 = Web3(HTTPProvider(proc.url, request_kwargs={"timeout": 60}))
    deadline = time.monotonic() + ANVIL_START_TIMEOUT_S
    while True:
        if popen.poll() is not None:
            err = popen.stderr.read().decode(errors="replace").strip() if popen.stderr else ""
            _RUNNING.discard(proc)
            raise ChainError(f"anvil exited at start (code {popen.returncode}): {err.splitlines()[-1] if err else 'no output'}")
        try:
            if w3.eth.chain_id == chain_id:
                break
        except Exception:  # not listening yet
            pass
        if time.monotonic() > deadline:
            proc.stop()
            raise ChainError(f"anvil did not answer on {proc.url} within {ANVIL_START_TIMEOUT_S:.0f} s")
        time.sleep(0.05)
    return Chain(w3=w3, kind="anvil", url=proc.url, anvil=proc, accounts=list(w3.eth.accounts))


def connect(url: str, expected_chain_id: int | None = None) -> Chain:
    """Connect to a node by HTTP(S) RPC URL; check its chain id if one is expected."""
    if not url.startswith(("http://", "https://")):
        raise ChainError(f"RPC URL must start with http:// or https://, got {url!r}")
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 30}))
    try:
        chain_id = w3.eth.chain_id
    except Exception as exc:
        if "Connection refused" in str(exc):
            raise ChainError(f"cannot reach the RPC at {url}: connection refused (no node listens there): check the URL, or start one with `pymargin devnet`") from None
        raise ChainError(f"cannot reach the RPC at {url}: {type(exc).__name__}: {exc}".split("\n")[0][:300]) from None
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise ChainError(f"{url} is chain {chain_id}, but {expected_chain_id} was expected: check the RPC URL or the config's chain_id")
    try:
        accounts = list(w3.eth.accounts)
    except Exception:
        accounts = []
    kind = "anvil" if _is_anvil(w3) else "rpc"
    return Chain(w3=w3, kind=kind, url=url, accounts=accounts)


def _is_anvil(w3: Web3) -> bool:
    try:
        return "anvil" in w3.client_version.lower()
    except Exception:
        return False


def open_chain(rpc: str | None = None, anvil: bool = False) -> Chain:
    """The chain a command runs on: ``rpc`` if given, else a new anvil if asked, else embedded."""
    if rpc and anvil:
        raise UserError("give either --rpc URL or --anvil, not both")
    if rpc:
        return connect(rpc)
    if anvil:
        return start_anvil()
    return embedded()


def env_rpc() -> str | None:
    """The RPC URL from the environment (PYMARGIN_RPC_URL), if set."""
    return os.environ.get("PYMARGIN_RPC_URL") or None
