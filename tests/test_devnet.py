"""Devnets: anvil starts on a free port and is stopped by pid; snapshots; unreachable RPCs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from pymargin.chain import devnet


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it is dead for our purpose
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


@pytest.mark.anvil
def test_anvil_starts_answers_and_stops():
    chain = devnet.start_anvil()
    pid = chain.anvil.pid
    assert chain.chain_id == devnet.ANVIL_CHAIN_ID and len(chain.accounts) == 10
    assert chain.url.startswith("http://127.0.0.1:")
    chain.close()
    assert not _alive(pid)


@pytest.mark.anvil
def test_anvil_is_stopped_when_the_process_is_terminated(tmp_path):
    script = textwrap.dedent(
        """
        import sys, time
        from pymargin.chain import devnet
        chain = devnet.start_anvil()
        print(chain.anvil.pid, flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pid = int(child.stdout.readline())
    assert _alive(pid)
    child.send_signal(signal.SIGTERM)
    child.wait(timeout=20)
    assert not _alive(pid)


@pytest.mark.anvil
def test_anvil_is_stopped_when_a_test_run_fails(tmp_path):
    """A failing test run (an exception unwinding the interpreter) still stops anvil at exit."""
    script = "from pymargin.chain import devnet\nchain = devnet.start_anvil()\nprint(chain.anvil.pid, flush=True)\nraise SystemExit('test failed')\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert not _alive(int(out.stdout.split()[0]))


def test_snapshot_and_revert(chain):
    before = chain.w3.eth.block_number
    snap = chain.snapshot()
    chain.mine()
    chain.mine()
    assert chain.w3.eth.block_number == before + 2
    chain.revert(snap)
    assert chain.w3.eth.block_number == before


def test_unreachable_rpc_is_one_clear_error():
    port = devnet.free_port()
    with pytest.raises(devnet.ChainError, match=f"cannot reach the RPC at http://127.0.0.1:{port}"):
        devnet.connect(f"http://127.0.0.1:{port}")


def test_non_http_rpc_is_refused():
    with pytest.raises(devnet.ChainError, match="must start with http"):
        devnet.connect("ws://localhost:1")


@pytest.mark.anvil
def test_connect_checks_the_expected_chain_id(anvil_chain):
    assert devnet.connect(anvil_chain.url, expected_chain_id=31337).kind == "anvil"
    with pytest.raises(devnet.ChainError, match="is chain 31337, but 5 was expected"):
        devnet.connect(anvil_chain.url, expected_chain_id=5)
