"""WadMath.sol and Black76.sol against their Python mirrors (bit for bit, reverts included, on the
fast EVM) and against a 50-digit mpmath reference (the error bounds of docs/spec.md §2.1–2.2).

The default run drives 1,000 random Black-76 series; ``-m slow`` drives 10,000 more.
"""

from __future__ import annotations

import random
from collections import Counter

import mpmath as mp
import pytest

from pymargin import black76 as b76
from pymargin import wadmath as wm
from pymargin.chain.fastevm import FastEVM
from pymargin.chain.tx import ContractRevert
from pymargin.errors import Revert
from pymargin.fixedpoint import INT256_MAX, INT256_MIN, UINT256_MAX, WAD, Rounding, mul_div

mp.mp.dps = 50
SEED = 20261201
PRICE_BOUND_WEI = 2  # |price − exact| ≤ PRICE_BOUND_WEI · (1 + (F + K)/WAD), spec §2.2


def outcome(fn, *args):
    try:
        return ("value", fn(*args))
    except (Revert, ContractRevert) as exc:
        return ("revert", exc.name, tuple(exc.args_))


def kind_of(out) -> str:
    return "value" if out[0] == "value" else out[1]


def full_precision(rng: random.Random, low: int, high: int) -> int:
    """A value in [low, high) with all its digits (never a round number)."""
    return rng.randrange(low, high) | 1


def rand_exp_arg(rng):
    k = rng.random()
    if k < 0.05:
        return rng.choice((0, 1, -1, wm.EXP_MAX_WAD, wm.EXP_MAX_WAD + 1, wm.EXP_MIN_WAD, wm.EXP_MIN_WAD - 1, INT256_MIN, INT256_MAX))
    if k < 0.1:
        return rng.randrange(INT256_MIN, INT256_MAX)
    return full_precision(rng, -45 * WAD, 137 * WAD) * rng.choice((1, -1))


def rand_ln_arg(rng):
    if rng.random() < 0.05:
        return rng.choice((0, 1, WAD - 1, WAD, WAD + 1, UINT256_MAX))
    return rng.getrandbits(rng.randrange(1, 257))


def rand_sqrt_args(rng):
    x = rng.getrandbits(rng.randrange(1, 257)) if rng.random() < 0.5 else rng.getrandbits(rng.randrange(1, 200))
    return x, rng.choice(list(Rounding))


def rand_cdf_arg(rng):
    k = rng.random()
    if k < 0.05:
        return rng.choice((0, 1, -1, 3 * WAD, -3 * WAD, 9 * WAD, -9 * WAD, 9 * WAD - 1, -(9 * WAD - 1), INT256_MIN, INT256_MAX))
    return full_precision(rng, -10 * WAD, 10 * WAD)


def rand_series(rng):
    """(kind, forward, strike, vol, tau, rate): mostly in range at full precision, some outside."""
    kind = rng.choice(list(b76.OptionKind))
    forward = full_precision(rng, 1, 10 ** rng.randrange(1, 39))
    if rng.random() < 0.6:  # near the money: K ∈ [F/5, 5F)
        strike = max(forward * full_precision(rng, WAD // 5, 5 * WAD) // WAD, 1)
    else:
        strike = full_precision(rng, 1, 10 ** rng.randrange(1, 39))
    vol = full_precision(rng, 0, b76.MAX_VOL_WAD)
    tau = full_precision(rng, 0, b76.MAX_TAU_S)
    rate = 0 if rng.random() < 0.3 else full_precision(rng, 0, b76.MAX_RATE_WAD)
    if rng.random() < 0.03:
        vol, tau = rng.choice(((0, tau), (vol, 0), (0, 0)))
    if rng.random() < 0.05:  # outside the domain
        which = rng.randrange(5)
        bad = [0, b76.MAX_PRICE_WAD + 1, b76.MAX_VOL_WAD + 1, b76.MAX_TAU_S + 1, b76.MAX_RATE_WAD + 1]
        values = [forward, strike, vol, tau, rate]
        values[which] = bad[1] if which < 2 and rng.random() < 0.5 else (0 if which < 2 else bad[which])
        forward, strike, vol, tau, rate = values
    return kind, min(forward, 2**129), min(strike, 2**129), vol, tau, rate


# name -> (Python mirror, argument generator, outcomes that must be reached)
FUNCTIONS = {
    "expWad": (wm.exp_wad, lambda rng: (rand_exp_arg(rng),), {"value", "ExpOverflow"}),
    "lnWad": (wm.ln_wad, lambda rng: (rand_ln_arg(rng),), {"value", "LnOfZero"}),
    "sqrtWad": (wm.sqrt_wad, rand_sqrt_args, {"value", "Panic"}),
    "sqrt": (wm.sqrt, lambda rng: (rng.getrandbits(rng.randrange(1, 257)), rng.choice(list(Rounding))), {"value"}),
    "normCdfWad": (wm.norm_cdf_wad, lambda rng: (rand_cdf_arg(rng),), {"value"}),
    "black76Price": (b76.price, rand_series, {"value", "OptionInputOutOfRange"}),
}


@pytest.fixture(scope="module")
def harness(artifacts):
    return FastEVM().deploy("OptionMathHarness")


def _parity(harness, name: str, n: int, seed: int) -> Counter:
    py, gen, _ = FUNCTIONS[name]
    rng = random.Random(f"{seed}:{name}")
    seen = Counter()
    mismatches = []
    for _ in range(n):
        args = gen(rng)
        expected = outcome(harness.call, name, *args)
        seen[kind_of(expected)] += 1
        got = outcome(py, *args)
        if got != expected:
            mismatches.append((args, expected, got))
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:3]}"
    return seen


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_parity_with_solidity(harness, name):
    seen = _parity(harness, name, 1_000 if name == "black76Price" else 3_000, SEED)
    assert FUNCTIONS[name][2] <= set(seen), dict(seen)


@pytest.mark.slow
def test_black76_parity_10k(harness):
    seen = _parity(harness, "black76Price", 10_000, SEED + 1)
    assert seen["value"] > 9_000, dict(seen)


# ----------------------------------------------------------------------- accuracy


def test_exp_error_below_bound():
    """|expWad(x) − e^x| < 1 wei + 1e-18·e^x (relative), spec §2.1."""
    rng = random.Random(f"{SEED}:exp-acc")
    for _ in range(1_500):
        x = full_precision(rng, wm.EXP_MIN_WAD - WAD, wm.EXP_MAX_WAD)
        exact = mp.exp(mp.mpf(x) / WAD) * WAD
        assert abs(wm.exp_wad(x) - exact) < 1 + exact * mp.mpf("1e-18"), x


def test_ln_and_cdf_error_below_one_wei():
    rng = random.Random(f"{SEED}:ln-cdf-acc")
    for _ in range(1_500):
        x = rng.getrandbits(rng.randrange(1, 257)) or 1
        assert abs(wm.ln_wad(x) - mp.log(mp.mpf(x) / WAD) * WAD) < 1, x
        z = full_precision(rng, -12 * WAD, 12 * WAD)
        assert abs(wm.norm_cdf_wad(z) - mp.ncdf(mp.mpf(z) / WAD) * WAD) < 1, z
        assert wm.norm_cdf_wad(z) + wm.norm_cdf_wad(-z) == WAD


def reference_price(kind, forward, strike, vol, tau, rate):
    """Black-76 at 50 digits from the same WAD inputs (real numbers, no rounding)."""
    f, k = mp.mpf(forward), mp.mpf(strike)
    t = mp.mpf(tau) / b76.YEAR_S
    s = mp.mpf(vol) / WAD * mp.sqrt(t)
    discount = mp.exp(-mp.mpf(rate) / WAD * t)
    if s == 0:
        return discount * max(f - k if kind == b76.OptionKind.Call else k - f, 0)
    d1 = (mp.log(f / k) + s * s / 2) / s
    d2 = d1 - s
    if kind == b76.OptionKind.Call:
        return discount * (f * mp.ncdf(d1) - k * mp.ncdf(d2))
    return discount * (k * mp.ncdf(-d2) - f * mp.ncdf(-d1))


def test_black76_error_and_put_call_parity_within_bound():
    """|price − exact| ≤ 2·(1 + (F + K)/WAD) wei, and C − P = D·(F − K) within the same bound."""
    rng = random.Random(f"{SEED}:b76-acc")
    worst = 0
    for _ in range(600):
        _, forward, strike, vol, tau, rate = rand_series(rng)
        try:
            call = b76.price(b76.OptionKind.Call, forward, strike, vol, tau, rate)
        except b76.OptionInputOutOfRange:
            continue
        put = b76.price(b76.OptionKind.Put, forward, strike, vol, tau, rate)
        bound = PRICE_BOUND_WEI * (1 + mp.mpf(forward + strike) / WAD)
        for kind, price in ((b76.OptionKind.Call, call), (b76.OptionKind.Put, put)):
            err = abs(price - reference_price(kind, forward, strike, vol, tau, rate))
            worst = max(worst, err / bound)
            assert err <= bound, (kind, forward, strike, vol, tau, rate, float(err))
        discount = mp.exp(-mp.mpf(rate) / WAD * mp.mpf(tau) / b76.YEAR_S)
        assert abs(call - put - discount * (forward - strike)) <= bound
    assert worst > 0.05  # the bound is not vacuous: errors of its order occur


def test_black76_known_values():
    """ATM one-year 80 % vol on F = K = 100: 100·(2N(0.4) − 1) = 31.084348..."""
    price = b76.price(b76.OptionKind.Call, 100 * WAD, 100 * WAD, 8 * WAD // 10, b76.YEAR_S, 0)
    exact = 100 * WAD * (2 * mp.ncdf(mp.mpf("0.4")) - 1)
    assert abs(price - exact) <= 2 * (1 + 200)
    assert b76.price(b76.OptionKind.Put, 90 * WAD, 100 * WAD, 0, b76.YEAR_S, 0) == 10 * WAD


def test_black76_no_arbitrage_bounds():
    """D·max(F − K, 0) − bound ≤ call ≤ D·F and D·max(K − F, 0) − bound ≤ put ≤ D·K; a call does not
    fall as F rises nor a put as K rises (beyond the error bound)."""
    rng = random.Random(f"{SEED}:b76-bounds")
    for _ in range(400):
        _, forward, strike, vol, tau, rate = rand_series(rng)
        try:
            b76.check_domain(forward, strike, vol, tau, rate)
        except b76.OptionInputOutOfRange:
            continue
        if forward >= b76.MAX_PRICE_WAD // 2 or strike >= b76.MAX_PRICE_WAD // 2:
            continue
        bound = PRICE_BOUND_WEI * (1 + (2 * forward + 2 * strike) // WAD)
        discount = wm.exp_wad(-mul_div(rate, tau, b76.YEAR_S, Rounding.Ceil))
        call = b76.price(b76.OptionKind.Call, forward, strike, vol, tau, rate)
        put = b76.price(b76.OptionKind.Put, forward, strike, vol, tau, rate)
        assert discount * max(forward - strike, 0) // WAD - bound <= call <= discount * forward // WAD + bound
        assert discount * max(strike - forward, 0) // WAD - bound <= put <= discount * strike // WAD + bound
        bump = max(forward // 997, 1)
        assert b76.price(b76.OptionKind.Call, forward + bump, strike, vol, tau, rate) >= call - bound
        assert b76.price(b76.OptionKind.Put, forward, strike + bump, vol, tau, rate) >= put - bound
