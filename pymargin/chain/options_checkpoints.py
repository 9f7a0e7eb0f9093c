"""Options checkpoints on a chain: the OptionsCheckpointData of an engine checkpoint (from its event,
hash checked) and the options book at that checkpoint (docs/spec.md §5.13 Checkpoint).

The options book is every engine cross account's option positions at the end of the checkpoint's
block, read with ``eth_call`` at that block; if an options trade or settlement later in that block
moved the series aggregates away from the checkpoint's, :func:`options_book_at_checkpoint` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from pymargin.chain.compile import compile_contracts, load_artifact
from pymargin.chain.contracts import Contract, contract_at
from pymargin.chain.devnet import Chain
from pymargin.chain.logs import read_logs
from pymargin.chain.tx import ContractRevert
from pymargin.engine.options_checkpoint import OptionsCheckpointData, aggregate_mismatches, options_checkpoint_digest
from pymargin.errors import UserError
from pymargin.chain.checkpoints import CheckpointBook
from pymargin.commit.commitment import Commitment
from pymargin.zk.options import OptionTables, checkpoint_series_sums, commit_option_book, option_tables_from_checkpoint
from pymargin.zk.portfolio import PortfolioShape
from pymargin.zk.statement import Statement


def options_engine_at(chain: Chain, address: str) -> Contract:
    """The OptionsEngine at ``address``; UserError if it is not one of this version."""
    compile_contracts()
    return contract_at(chain, "OptionsEngine", address, load_artifact("OptionsEngine"), "--options")


def options_checkpoint_id(options: Contract, engine_checkpoint_id: int) -> int:
    """The options checkpoint taken with engine checkpoint ``engine_checkpoint_id``; UserError if none."""
    if 0 <= engine_checkpoint_id < 2**256:  # a uint256, else it does not exist
        try:
            return options.call("optionsCheckpointOf", engine_checkpoint_id)
        except ContractRevert:
            pass
    count = options.call("optionsCheckpointCount")
    raise UserError(f"engine checkpoint {engine_checkpoint_id} was not taken through the options module at "
                    f"{options.address} ({count} options checkpoint(s)): take checkpoints with its checkpoint()")


def options_checkpoint_event(options: Contract, engine_checkpoint_id: int) -> tuple[OptionsCheckpointData, bytes]:
    """(OptionsCheckpointData, hash of the transaction that took it) of the options checkpoint taken with
    engine checkpoint ``engine_checkpoint_id``; UserError if there is none or its event's data does not
    hash to ``optionsCheckpointHash(id)``."""
    checkpoint_id = options_checkpoint_id(options, engine_checkpoint_id)
    block = options.call("optionsCheckpointBlock", checkpoint_id)
    digest = bytes(options.call("optionsCheckpointHash", checkpoint_id))
    logs = [log for log in read_logs(options, ("OptionsCheckpointTaken",), block, from_block=block)
            if log["args"]["id"] == checkpoint_id]
    if len(logs) != 1:
        raise UserError(f"block {block} holds {len(logs)} OptionsCheckpointTaken events for options checkpoint "
                        f"{checkpoint_id}, expected 1")
    data = OptionsCheckpointData.from_abi(logs[0]["args"]["data"])
    if options_checkpoint_digest(data) != digest or data.engine_checkpoint_id != engine_checkpoint_id:
        raise UserError(f"options checkpoint {checkpoint_id}: the event's data does not hash to the stored optionsCheckpointHash")
    return data, bytes(logs[0]["transactionHash"])


@dataclass
class OptionsCheckpointBook:
    """The options book at a checkpoint: its data and every engine cross account's positions at its block."""

    data: OptionsCheckpointData
    positions: dict[str, dict[int, int]]  # owner -> series id -> size (WAD, long > 0), owners holding options only

    def aggregate_mismatches(self) -> list[str]:
        """Each series aggregate of the positions that differs from the checkpoint's (``longSizeWad[series 3]: ...``)."""
        return aggregate_mismatches(self.data, [(sid, size) for held in self.positions.values() for sid, size in held.items()])


def options_book_at_checkpoint(options: Contract, engine_checkpoint_id: int) -> OptionsCheckpointBook:
    """The options checkpoint of engine checkpoint ``engine_checkpoint_id`` and the option positions of every
    engine cross account at the end of its block (``eth_call`` at that block).

    UserError if the engine's checkpoint is not in the same block, or the positions do not match the
    checkpoint's series aggregates (a state change later in the same block: the epoch cannot be proved)."""
    data, _ = options_checkpoint_event(options, engine_checkpoint_id)
    block = data.block_number
    engine = Contract(options.chain, "MarginEngine", options.call("engine", block=block), load_artifact("MarginEngine"))
    if engine.call("checkpointBlock", engine_checkpoint_id, block=block) != block:
        raise UserError(f"engine checkpoint {engine_checkpoint_id} is not in block {block} of its options checkpoint")
    owners = {engine.call("accountAt", i, block=block)[0] for i in range(engine.call("accountCount", block=block))}
    positions = {}
    for owner in sorted(owners):
        series = options.call("optionSeries", owner, block=block)
        if series:
            positions[owner] = {sid: options.call("optionSize", owner, sid, block=block) for sid in series}
    book = OptionsCheckpointBook(data, positions)
    mismatches = book.aggregate_mismatches()
    if mismatches:
        raise UserError(f"engine checkpoint {engine_checkpoint_id}: the options book changed later in block {block} "
                        f"({mismatches[0]}), so this epoch cannot be proved: take a new checkpoint")
    return book


def commit_options_epoch(engine_book: CheckpointBook, options_book: OptionsCheckpointBook, shape: PortfolioShape,
                         depth: int | None = None) -> tuple[Commitment, OptionTables]:
    """The commitment of an engine book with options at one checkpoint (salt 0, as every engine book) and the
    option tables of its options checkpoint (:func:`pymargin.zk.options.option_tables_from_checkpoint`); UserError
    if the two books are not of the same checkpoint or an option holder is not an engine cross account."""
    data = options_book.data
    if data.engine_checkpoint_id != engine_book.data.id:
        raise UserError(f"the options checkpoint is of engine checkpoint {data.engine_checkpoint_id}, the book of {engine_book.data.id}")
    tables = option_tables_from_checkpoint(data, len(engine_book.data.markets), shape)
    cross = {a.owner.lower(): a.account_id for a in engine_book.accounts if a.sub == 0}
    options = {}
    for owner, held in options_book.positions.items():
        if owner.lower() not in cross:
            raise UserError(f"{owner} holds options but has no cross account in the engine's book")
        options[cross[owner.lower()]] = sorted(held.items())
    commitment = commit_option_book(engine_book.accounts, options, engine_book.markets, tables, None, engine_book.data.id, depth)
    return commitment, tables


def series_sums_mismatch(statement: Statement, data: OptionsCheckpointData) -> str | None:
    """The first row whose proven option sums differ from the options checkpoint's (None: all equal), in words."""
    want = checkpoint_series_sums(data, statement.options.tables)
    for row, (got, expected) in enumerate(zip(statement.options.aggregates, want)):
        if got != expected:
            return f"option row {row}: the book sums (long, short) = ({got.long_size_wad}, {got.short_size_wad}), " \
                   f"the options checkpoint ({expected.long_size_wad}, {expected.short_size_wad})"
    return None


__all__ = ["commit_options_epoch", "series_sums_mismatch", "OptionsCheckpointBook", "options_book_at_checkpoint", "options_checkpoint_event", "options_checkpoint_id",
           "options_engine_at"]
