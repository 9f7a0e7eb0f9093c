"""Shared fixtures: compiled artifacts, a chain per test worker, a clean chain state per test.

Chain tests run on the embedded devnet by default and on anvil with ``--anvil``.
"""

from __future__ import annotations

import pytest

from pymargin.chain import devnet
from pymargin.chain.compile import compile_contracts


def pytest_addoption(parser):
    parser.addoption("--anvil", action="store_true", help="run chain tests on anvil instead of the embedded devnet")


@pytest.fixture(scope="session")
def artifacts():
    """{contract name: artifact path} after compiling contracts/ (incremental, locked)."""
    return compile_contracts()


@pytest.fixture(scope="session")
def chain_session(request):
    """One chain per test worker: anvil with --anvil, else the embedded devnet."""
    chain = devnet.start_anvil() if request.config.getoption("--anvil") else devnet.embedded()
    yield chain
    chain.close()


@pytest.fixture
def chain(chain_session):
    """The worker's chain, reverted to a snapshot after the test: every test starts clean."""
    snapshot = chain_session.snapshot()
    yield chain_session
    chain_session.revert(snapshot)


@pytest.fixture
def anvil_chain():
    """A fresh anvil node for this test only, stopped afterwards."""
    chain = devnet.start_anvil()
    yield chain
    chain.close()
