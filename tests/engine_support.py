"""Test support for the margin engine: the lockstep driver of :mod:`pymargin.crosscheck` (every
operation on the deployed contract AND the Python reference engine at the same block timestamp;
outcomes, reverts, events, stored state and every view compared), under the names the engine tests
use."""

from pymargin.crosscheck import DualEngine, Outcome, ParityError, deploy_view_batch as deploy_batch, fund, norm, snake

__all__ = ["DualEngine", "Outcome", "ParityError", "deploy_batch", "err", "fund", "mirror_at_deploy", "norm", "ok", "snake"]


def mirror_at_deploy(system):
    """``system`` (a deployed engine ``dep`` and view batch ``batch``) with a fresh lockstep driver ``d``
    whose Python mirror holds the deployed markets' prices."""
    system.d = DualEngine(system.dep, system.batch)
    for market_id, spec in enumerate(system.dep.specs):
        system.d.set_price(market_id, spec.price_wad)
    return system


def ok(outcome):
    """The events of an operation that succeeded on both sides."""
    assert outcome.ok, outcome.error
    return outcome.events


def err(outcome, name, *args):
    """An operation refused on both sides with the custom error ``name(*args)``."""
    assert outcome.error == (name, tuple(args)), outcome.error
