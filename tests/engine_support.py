"""Test support for the margin engine: the lockstep driver of :mod:`pymargin.crosscheck` (every
operation on the deployed contract AND the Python reference engine at the same block timestamp;
outcomes, reverts, events, stored state and every view compared), under the names the engine tests
use."""

from pymargin.crosscheck import DualEngine, Outcome, ParityError, deploy_view_batch as deploy_batch, fund, norm, snake

__all__ = ["DualEngine", "Outcome", "ParityError", "deploy_batch", "fund", "norm", "snake"]
