"""The reference margin engine: ``contracts/MarginEngine.sol`` in exact Python (docs/spec.md §5).

* :mod:`~pymargin.engine.core`: :class:`Engine`, the state machine (operations, views, exports).
* :mod:`~pymargin.engine.errors`: its custom errors, named as the contract's.
* :mod:`~pymargin.engine.orders`: signed orders (EIP-712 typed data, digest, signing, recovery).
* :mod:`~pymargin.engine.oracles`: price feeds (devnet oracle, Chainlink adapter) as the engine reads them.
* :mod:`~pymargin.engine.persist`: loading from a deployed contract, saving to and loading from JSON.
* :mod:`~pymargin.engine.checkpoint`: what ``checkpoint()`` records, its digest, the aggregates of a book.
* :mod:`~pymargin.engine.options_checkpoint`: what ``OptionsEngine.checkpoint()`` records, its digest, series aggregates.
"""

from pymargin.engine.checkpoint import CheckpointData, MarketAggregate, book_aggregates, checkpoint_digest
from pymargin.engine.core import AccountState, Engine, EngineState, Event, MarketState, RiskParams
from pymargin.engine.oracles import ChainlinkAdapter, DevOracle, PriceFeed, RevertingFeed, SequencerFeed, chainlink_price_wad
from pymargin.engine.orders import Order, OrderSigner

__all__ = [
    "AccountState", "ChainlinkAdapter", "CheckpointData", "DevOracle", "Engine", "EngineState", "Event", "MarketAggregate",
    "MarketState", "Order", "OrderSigner", "PriceFeed", "RevertingFeed", "RiskParams", "SequencerFeed", "book_aggregates",
    "chainlink_price_wad", "checkpoint_digest",
]
