"""The reference margin engine: ``contracts/MarginEngine.sol`` in exact Python (docs/spec.md §5).

* :mod:`~pymargin.engine.core`: :class:`Engine`, the state machine (operations, views, exports).
* :mod:`~pymargin.engine.errors`: its custom errors, named as the contract's.
* :mod:`~pymargin.engine.orders`: signed orders (EIP-712 typed data, digest, signing, recovery).
* :mod:`~pymargin.engine.oracles`: price feeds (devnet oracle, Chainlink adapter) as the engine reads them.
* :mod:`~pymargin.engine.persist`: loading from a deployed contract, saving to and loading from JSON.
"""

from pymargin.engine.core import AccountState, Engine, EngineState, Event, MarketState, RiskParams
from pymargin.engine.oracles import ChainlinkAdapter, DevOracle, PriceFeed, RevertingFeed, SequencerFeed, chainlink_price_wad
from pymargin.engine.orders import Order, OrderSigner

__all__ = [
    "AccountState", "ChainlinkAdapter", "DevOracle", "Engine", "EngineState", "Event", "MarketState",
    "Order", "OrderSigner", "PriceFeed", "RevertingFeed", "RiskParams", "SequencerFeed", "chainlink_price_wad",
]
