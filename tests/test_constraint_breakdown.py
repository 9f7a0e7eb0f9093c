"""benchmarks/constraint_breakdown.py: SolvencyBatch's per-account parts, each compiled alone, add up to
what the batch pays per account (its slope from K = 1 to 2, T = 0) with no residual, and AccountMargins
to its measured parts: the recorded breakdown covers every constraint and counts none twice.

Slow (~60 s CPU on a cold build cache: two SolvencyBatch compiles and ~20 small circuits).
"""

from __future__ import annotations

import importlib.util

import pytest

from pymargin import tools


def _breakdown():
    path = tools.REPO_ROOT / "benchmarks" / "constraint_breakdown.py"
    spec = importlib.util.spec_from_file_location("constraint_breakdown", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_parts_add_up_to_the_batch_slope():
    breakdown = _breakdown()
    parts = breakdown.batch_parts()
    assert parts["slope_per_account"] * 2 == parts["solvency_batch_k2_t0"] - parts["solvency_batch_k1_t0"]
    assert parts["residual"] == 0, parts
    assert parts["leaf_hash"] == breakdown.poseidon(11)  # the leaf is one Poseidon_11 (docs/spec.md §6.2)


@pytest.mark.slow
def test_account_figures_add_up_to_their_parts():
    breakdown = _breakdown()
    parts = breakdown.account_parts()
    assert parts["account_margins_residual"] == 0, parts
    # the difference row holds what its label says: per slot 2 empty-slot checks, size * f and
    # (M - 1) one-hot products for each of long, size, cost, size * f
    assert parts["empty_slot_checks_and_aggregates"] == 4 * (2 + 1 + 4 * (breakdown.M - 1)), parts
