"""Engine checkpoints on a chain: the CheckpointData of an id (from its event, hash checked), the
checkpoint taken in a block, and the engine's book at a checkpoint (docs/spec.md §5.11).

The book is the engine's state at the end of ``checkpointBlock(id)``, read with ``eth_call`` at that
block and valued at the checkpoint's market views. If a state change later in that block moved the
aggregates away from the checkpoint's, :func:`book_at_checkpoint` says so: that epoch cannot be proved.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from pymargin.chain.compile import compile_contracts, load_artifact
from pymargin.chain.contracts import Contract, contract_at
from pymargin.chain.devnet import Chain, check_block
from pymargin.chain.logs import read_logs
from pymargin.chain.tx import ContractRevert
from pymargin.engine import CheckpointData, Engine, book_aggregates, checkpoint_digest
from pymargin.errors import UserError
from pymargin.model import Account, MarketView


def engine_at(chain: Chain, address: str) -> Contract:
    """The MarginEngine at ``address``; UserError if it is not an address, has no code, or is not a
    MarginEngine of this version (:func:`~pymargin.chain.contracts.contract_at`)."""
    compile_contracts()
    return contract_at(chain, "MarginEngine", address, load_artifact("MarginEngine"), "--engine")


_POSTED_ROOT_ABI = [
    {"type": "function", "name": "rootOf", "stateMutability": "view",
     "inputs": [{"name": "epoch", "type": "uint256"}],
     "outputs": [{"name": "root", "type": "tuple", "components": [
         {"name": "hash", "type": "uint256"}, {"name": "equity", "type": "uint256"}, {"name": "mm", "type": "uint256"}]}]},
    {"type": "function", "name": "engine", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "address"}]},
    {"type": "function", "name": "treeDepth", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint256"}]},  # a SolvencyRegistry's (registry_depth)
    {"type": "error", "name": "UnknownEpoch", "inputs": [{"name": "epoch", "type": "uint256"}]},
]


def posted_root_hash(chain: Chain, registry: str, epoch: int) -> int:
    """The root hash a registry (SolvencyRegistry or CommitmentRegistry: both have ``rootOf(epoch)``)
    holds for ``epoch``; UserError if none is posted."""
    contract = _registry(chain, registry)
    try:
        return contract.call("rootOf", epoch)[0]
    except ContractRevert:
        raise UserError(f"the registry at {contract.address} has no root for epoch {epoch}") from None


def registry_engine(chain: Chain, registry: str) -> str:
    """The engine address a SolvencyRegistry checks (its ``engine()``); UserError if it has none."""
    contract = _registry(chain, registry)
    try:
        return contract.call("engine")
    except Exception:
        raise UserError(f"the contract at {contract.address} has no engine(): give --engine ADDRESS") from None


def registry_depth(chain: Chain, registry: str) -> int | None:
    """The tree depth a SolvencyRegistry's circuit proves (its ``treeDepth()``); None for a registry
    without one (a CommitmentRegistry accepts roots of any depth)."""
    contract = _registry(chain, registry)
    try:
        return contract.call("treeDepth")
    except Exception:
        return None


def _registry(chain: Chain, address: str) -> Contract:
    if not Web3.is_address(address):
        raise UserError(f"--registry {address!r} is not an address")
    address = Web3.to_checksum_address(address)
    if not chain.w3.eth.get_code(address):
        raise UserError(f"no contract at {address} on chain {chain.chain_id}")
    return Contract(chain, "Registry", address, {"abi": _POSTED_ROOT_ABI})


def checkpoint_data(engine: Contract, checkpoint_id: int) -> CheckpointData:
    """The CheckpointData of ``checkpoint_id`` from its CheckpointTaken event; UserError if the id is
    unknown or the event's data does not hash to ``checkpointHash(id)``."""
    return checkpoint_event(engine, checkpoint_id)[0]


def checkpoint_event(engine: Contract, checkpoint_id: int) -> tuple[CheckpointData, bytes]:
    """(CheckpointData, hash of the transaction that took it) of ``checkpoint_id``, checked as :func:`checkpoint_data`."""
    block = None
    if 0 <= checkpoint_id < 2**256:  # a uint256, else it does not exist
        try:
            block = engine.call("checkpointBlock", checkpoint_id)
            digest = bytes(engine.call("checkpointHash", checkpoint_id))
        except ContractRevert:
            block = None
    if block is None:
        count = engine.call("checkpointCount")
        taken = f"checkpoints 1..{count}" if count else "no checkpoint yet"
        raise UserError(f"checkpoint {checkpoint_id} does not exist: the engine has {taken}")
    logs = [log for log in read_logs(engine, ("CheckpointTaken",), block, from_block=block) if log["args"]["id"] == checkpoint_id]
    if len(logs) != 1:
        raise UserError(f"block {block} holds {len(logs)} CheckpointTaken events for checkpoint {checkpoint_id}, expected 1")
    data = CheckpointData.from_abi(logs[0]["args"]["data"])
    if checkpoint_digest(data) != digest:
        raise UserError(f"checkpoint {checkpoint_id}: the event's data does not hash to the stored checkpointHash")
    return data, bytes(logs[0]["transactionHash"])


def checkpoint_in_block(engine: Contract, block: int) -> int:
    """The id of the last checkpoint taken in ``block``; UserError if the block is out of range or has none."""
    check_block(engine.chain, block)
    logs = read_logs(engine, ("CheckpointTaken",), block, from_block=block)
    if not logs:
        raise UserError(f"no checkpoint was taken in block {block}: give a block holding a CheckpointTaken event, or --checkpoint ID")
    return logs[-1]["args"]["id"]


@dataclass
class CheckpointBook:
    """The engine's book at a checkpoint: its data, the accounts at its block, its market views."""

    data: CheckpointData
    accounts: list[Account]
    markets: dict[int, MarketView]

    def aggregate_mismatches(self, accounts: list[Account] | None = None) -> list[str]:
        """Each aggregate of ``accounts`` (default: this book's) that differs from the checkpoint's, named
        as in the contract (``accountCount``, ``collateralSumWad``, ``longSizeWad[m]`` ...)."""
        count, collateral, aggregates = book_aggregates(self.accounts if accounts is None else accounts,
                                                        len(self.data.markets))
        d = self.data
        pairs = [("accountCount", d.account_count, count), ("collateralSumWad", d.collateral_sum_wad, collateral)]
        for m, (want, got) in enumerate(zip(d.aggregates, aggregates)):
            pairs += [(f"longSizeWad[{m}]", want.long_size_wad, got.long_size_wad),
                      (f"costBasisWad[{m}]", want.cost_basis_wad, got.cost_basis_wad),
                      (f"sizeFundingWad2[{m}]", want.size_funding_wad2, got.size_funding_wad2)]
        return [f"{name}: checkpoint {want}, book {got}" for name, want, got in pairs if want != got]


def book_at_checkpoint(engine: Contract, checkpoint_id: int) -> CheckpointBook:
    """Every account of the engine at the end of the checkpoint's block, with the checkpoint's market views.

    UserError if the state at that block does not match the checkpoint's aggregates (a state change
    later in the same block: the epoch cannot be proved; take a new checkpoint)."""
    data = checkpoint_data(engine, checkpoint_id)
    state = Engine.from_chain(engine, data.block_number)
    book = CheckpointBook(data, state.accounts(), dict(enumerate(data.markets)))
    mismatches = book.aggregate_mismatches()
    if mismatches:
        raise UserError(f"checkpoint {checkpoint_id}: the engine's state changed later in block {data.block_number} "
                        f"({mismatches[0]}), so this epoch cannot be proved: take a new checkpoint")
    return book
