"""Generate the test vectors in this folder: inputs -> expected value or expected error.

The expectations are derived here, independently of the code under test: every quotient is an
exact ``fractions.Fraction`` rounded by ``math.floor`` / ``math.ceil`` / ``int`` (truncation) as the
spec names, type ranges are checked against the spec's bounds, and the few margin reverts are
stated by hand from the spec's order of checked steps (each with its reason). Nothing here imports
pymargin's fixed-point or margin code.

Run: .venv/bin/python tests/vectors/generate.py   (rewrites fixedpoint.json and margin.json)
"""

from __future__ import annotations

import json
import math
import random
import sys
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
WAD = 10**18
UINT_MAX = 2**256 - 1
INT_MAX = 2**255 - 1
INT_MIN = -(2**255)
ROUNDINGS = ("Floor", "Ceil", "Trunc", "Expand")


class Expected(Exception):
    """An expected revert: the custom error's name and args."""

    def __init__(self, name: str, *args: int):
        super().__init__(name)
        self.name, self.args_ = name, list(args)


def rounded(q: Fraction, rounding: str) -> int:
    if rounding == "Floor":
        return math.floor(q)
    if rounding == "Ceil":
        return math.ceil(q)
    if rounding == "Trunc":
        return int(q)  # int() of a Fraction truncates toward zero
    return math.ceil(q) if q > 0 else math.floor(q)  # Expand: away from zero


def fits_uint(v: int) -> int:
    if not 0 <= v <= UINT_MAX:
        raise Expected("MulDivOverflow")
    return v


def fits_int(v: int) -> int:
    if not INT_MIN <= v <= INT_MAX:
        raise Expected("MulDivOverflow")
    return v


def mul_div(x, y, d, r):
    if d == 0:
        raise Expected("DivisionByZero")
    return fits_uint(rounded(Fraction(x * y, d), r))


def smul_div(x, y, d, r):
    if d == 0:
        raise Expected("DivisionByZero")
    return fits_int(rounded(Fraction(x * y, d), r))


def sdiv(x, y):
    if y == 0:
        raise Expected("Panic", 0x12)
    q = int(Fraction(x, y))
    if q > INT_MAX:
        raise Expected("Panic", 0x11)
    return q


def smod(x, y):
    if y == 0:
        raise Expected("Panic", 0x12)
    return x - y * int(Fraction(x, y))


def to_int(x):
    if x > INT_MAX:
        raise Expected("SafeCastOverflow")
    return x


def to_uint(x):
    if x < 0:
        raise Expected("SafeCastOverflow")
    return x


# Solidity name -> (oracle, argument kinds: u = uint256, i = int256, r = rounding)
FIXEDPOINT = {
    "mulDiv": (mul_div, "uuur"),
    "sMulDiv": (smul_div, "iiir"),
    "mulWad": (lambda x, y, r: mul_div(x, y, WAD, r), "uur"),
    "sMulWad": (lambda x, y, r: smul_div(x, y, WAD, r), "iir"),
    "divWad": (lambda x, y, r: mul_div(x, WAD, y, r), "uur"),
    "sDivWad": (lambda x, y, r: smul_div(x, WAD, y, r), "iir"),
    "divRounded": (lambda x, d, r: mul_div(x, 1, d, r), "uur"),
    "sDivRounded": (lambda x, d, r: smul_div(x, 1, d, r), "iir"),
    "sdiv": (sdiv, "ii"),
    "smod": (smod, "ii"),
    "toInt256": (to_int, "u"),
    "toUint256": (to_uint, "i"),
}

UINT_PICKS = [0, 1, 2, 3, 7, WAD - 1, WAD, WAD + 1, 3 * WAD // 2, 10**36, 2**128, 2**255 - 1, 2**255, UINT_MAX - 1, UINT_MAX]
INT_PICKS = [0, 1, -1, 2, -2, 3, -3, 7, -7, WAD, -WAD, WAD + 1, -(WAD + 1), 3 * WAD // 2, -(3 * WAD // 2), INT_MAX, INT_MIN, INT_MIN + 1]


# Hand-picked arguments reaching every branch: sign combinations under each rounding, the type limits.
_R = ROUNDINGS
EXPLICIT = {
    "mulDiv": [(7, 1, 2, r) for r in _R] + [(UINT_MAX, UINT_MAX, UINT_MAX, r) for r in _R]
    + [(UINT_MAX, 2, 1, "Floor"), (2**255, 3, 2, "Ceil"), (2**255, 4, 2, "Floor"), (1, 1, 0, "Floor"), (0, 0, 0, "Ceil")],
    "sMulDiv": [(x, 1, d, r) for x in (7, -7) for d in (2, -2) for r in _R]
    + [(INT_MIN, 1, 1, "Floor"), (INT_MIN, -1, 1, "Floor"), (INT_MIN, 1, -1, "Ceil"), (INT_MIN + 1, 1, -1, "Trunc"),
       (INT_MIN, 3, 2, "Floor"), (INT_MAX, INT_MAX, INT_MAX, "Expand"), (INT_MIN, INT_MIN, INT_MIN, "Floor"), (1, 1, 0, "Floor")],
    "mulWad": [(3 * WAD // 2, 1, r) for r in _R] + [(UINT_MAX, WAD, "Floor"), (UINT_MAX, WAD + 1, "Floor"), (2**256 // 3, 3 * WAD, "Ceil")],
    "sMulWad": [(x, 1, r) for x in (3 * WAD // 2, -(3 * WAD // 2)) for r in _R] + [(INT_MIN, WAD, "Floor"), (INT_MIN, -WAD, "Floor"), (INT_MAX, -WAD, "Ceil")],
    "divWad": [(1, 3, r) for r in _R] + [(1, 0, "Floor"), (UINT_MAX, WAD, "Ceil"), (UINT_MAX, WAD - 1, "Floor"), (2**200, 1, "Floor")],
    "sDivWad": [(x, y, r) for x in (1, -1) for y in (3, -3) for r in _R] + [(1, 0, "Floor"), (INT_MIN, WAD, "Floor"), (INT_MIN, -WAD, "Floor"), (INT_MIN, 1, "Ceil")],
    "divRounded": [(7, 2, r) for r in _R] + [(1, 0, "Ceil"), (UINT_MAX, 1, "Expand"), (UINT_MAX, 2, "Ceil")],
    "sDivRounded": [(x, d, r) for x in (7, -7) for d in (2, -2) for r in _R]
    + [(INT_MIN, -1, r) for r in _R] + [(INT_MIN, 1, "Floor"), (INT_MIN, 2, "Ceil"), (5, 0, "Trunc")],
    "sdiv": [(7, 2), (-7, 2), (7, -2), (-7, -2), (INT_MIN, -1), (INT_MIN, 1), (INT_MAX, -1), (1, 0), (0, 0)],
    "smod": [(7, 2), (-7, 2), (7, -2), (-7, -2), (INT_MIN, -1), (INT_MIN, 2), (INT_MIN, 3), (1, 0)],
    "toInt256": [(0,), (INT_MAX,), (INT_MAX + 1,), (UINT_MAX,)],
    "toUint256": [(0,), (-1,), (INT_MIN,), (INT_MAX,)],
}


def _outcome(fn, args) -> dict:
    try:
        return {"value": str(fn(*args))}
    except Expected as exc:
        return {"error": exc.name, "args": [str(a) for a in exc.args_]}


def fixedpoint_vectors(rng: random.Random) -> list[dict]:
    vectors = []
    for name, (fn, kinds) in FIXEDPOINT.items():
        cases = dict.fromkeys(EXPLICIT[name])  # an insertion-ordered set
        numeric = [k for k in kinds if k != "r"]
        for _ in range(25 if "r" in kinds else 60):  # edge picks mixed with random values, every rounding
            args = []
            for k in numeric:
                picks = UINT_PICKS if k == "u" else INT_PICKS
                v = rng.choice(picks) if rng.random() < 0.7 else rng.getrandbits(rng.randrange(1, 255))
                if k == "i" and v > INT_MAX:
                    v -= 2**255
                args.append(v if k == "u" or rng.random() < 0.5 or v == INT_MIN else -v)
            if "r" in kinds:
                for r in ROUNDINGS:
                    cases[(*args, r)] = None
            else:
                cases[tuple(args)] = None
        for args in cases:
            vectors.append({"fn": name, "args": [a if isinstance(a, str) else str(a) for a in args], "expect": _outcome(fn, args)})
    return vectors


# ------------------------------------------------------------------------------- margin


def margin_oracle(collateral: int, positions: list[dict]) -> dict:
    """Every formula of spec §4 for an account inside the bounds, from exact rationals."""
    value = sum(p["size"] * (p["price"] - (p["market_index"] - p["index"])) for p in positions)
    cost = sum(p["cost"] for p in positions)
    equity = collateral - cost + math.floor(Fraction(value, WAD))
    im = math.ceil(Fraction(sum(abs(p["size"]) * p["price"] * p["imf"] for p in positions), WAD * WAD))
    mm = math.ceil(Fraction(sum(abs(p["size"]) * p["price"] * p["mmf"] for p in positions), WAD * WAD))
    return {
        "equity": equity,
        "unrealisedPnl": math.floor(Fraction(sum(p["size"] * p["price"] for p in positions), WAD)) - cost,
        "pendingFunding": math.floor(Fraction(-sum(p["size"] * (p["market_index"] - p["index"]) for p in positions), WAD)),
        "initialMargin": im,
        "maintenanceMargin": mm,
        "freeCollateral": equity - im,
        "marginRatio": INT_MAX if mm == 0 else math.floor(Fraction(equity * WAD, mm)),
        "isLiquidatable": equity < mm,
    }


def pos(size, cost, price, imf=WAD // 10, mmf=WAD // 20, market_index=0, index=0) -> dict:
    return {"size": size, "cost": cost, "index": index, "price": price, "market_index": market_index, "imf": imf, "mmf": mmf}


B94, B100, B130, B128 = 2**94 - 1, 2**100 - 1, 2**130 - 1, 2**128 - 1

MARGIN_CASES = [
    ("no positions", 1000 * WAD, []),
    ("negative collateral, no positions", -5, []),
    ("long 2 at 3000, bought at 2500", 1000 * WAD, [pos(2 * WAD, 5000 * WAD, 3000 * WAD)]),
    ("short 2 at 3000, sold at 2500", 1000 * WAD, [pos(-2 * WAD, -5000 * WAD, 3000 * WAD)]),
    ("PnL rounds down: 3 wei long at price 0.5 (1.5 wei)", 0, [pos(3, 0, WAD // 2, imf=WAD, mmf=WAD)]),
    ("tiny short: value −0.5 wei floors to −1", 0, [pos(-1, 0, WAD // 2)]),
    ("funding owed rounds up (floor of −0.5)", 0, [pos(1, 0, WAD, market_index=WAD // 2)]),
    ("funding received rounds down", 0, [pos(-1, 0, WAD, market_index=WAD // 2)]),
    ("funding index fell: longs receive", 10 * WAD, [pos(3 * WAD, 3 * WAD, WAD, market_index=-7 * WAD // 10, index=WAD // 10)]),
    ("IM and MM round up from a fraction of a wei", 0, [pos(1, 0, 1, imf=1, mmf=1)]),
    ("equity exactly at MM: not liquidatable", 50 * WAD, [pos(10 * WAD, 1000 * WAD, 100 * WAD, imf=WAD // 10, mmf=WAD // 20)]),
    ("equity one wei below MM: liquidatable", 50 * WAD - 1, [pos(10 * WAD, 1000 * WAD, 100 * WAD, imf=WAD // 10, mmf=WAD // 20)]),
    ("margin ratio exactly 1.0", 50 * WAD, [pos(-10 * WAD, -1000 * WAD, 100 * WAD)]),
    ("zero mmf: ratio is INT256_MAX", 7 * WAD, [pos(WAD, WAD, WAD, imf=0, mmf=0)]),
    ("zero size: cost still counts", 100, [pos(0, 40, 5 * WAD)]),
    (
        "one floor over four positions exceeds the sum of parts",
        0,
        [pos(1, 0, WAD // 2 + 1), pos(1, 0, WAD // 2 + 1), pos(1, 0, WAD // 2 + 1), pos(1, 0, WAD // 2 + 1)],
    ),
    (
        "cross margin: long and short offset",
        10_000 * WAD,
        [pos(5 * WAD, 150_000 * WAD, 31_000 * WAD, market_index=3 * WAD, index=WAD), pos(-40 * WAD, -80_000 * WAD, 1_900 * WAD, imf=WAD // 5, mmf=WAD // 10)],
    ),
    (
        "every value at its bound (long)",
        B128,
        [pos(B94, B130, B94, imf=WAD, mmf=WAD, market_index=B100, index=-B100)] * 4,
    ),
    (
        "every value at its bound (short)",
        -B128,
        [pos(-B94, -B130, B94, imf=WAD, mmf=WAD, market_index=-B100, index=B100)] * 4,
    ),
]

# Reverts outside the bounds, stated from the contract's order of checked steps (spec §4).
MARGIN_REVERTS = [
    (
        "price above int256: equity's cast fails first",
        0,
        [pos(1, 0, 2**255)],
        {"equity": ("SafeCastOverflow",), "unrealisedPnl": ("SafeCastOverflow",), "freeCollateral": ("SafeCastOverflow",),
         "marginRatio": ("SafeCastOverflow",), "isLiquidatable": ("SafeCastOverflow",)},
    ),
    (
        "size·price overflows int256 (2^200 · 2^60)",
        0,
        [pos(2**200, 0, 2**60, imf=0, mmf=0)],
        {"equity": ("Panic", 0x11), "unrealisedPnl": ("Panic", 0x11), "freeCollateral": ("Panic", 0x11),
         "marginRatio": ("Panic", 0x11), "isLiquidatable": ("Panic", 0x11)},
    ),
    (
        "|size|·price·imf overflows uint256 (2^100 · 2^100 · 2^60)",
        0,
        [pos(2**100, 0, 2**100, imf=2**60, mmf=2**60)],
        {"initialMargin": ("Panic", 0x11), "maintenanceMargin": ("Panic", 0x11), "freeCollateral": ("Panic", 0x11),
         "marginRatio": ("Panic", 0x11), "isLiquidatable": ("Panic", 0x11)},
    ),
    (
        "collateral − cost overflows int256",
        INT_MIN,
        [pos(0, 1, WAD)],
        {"equity": ("Panic", 0x11), "freeCollateral": ("Panic", 0x11), "marginRatio": ("Panic", 0x11), "isLiquidatable": ("Panic", 0x11)},
    ),
    (
        "F − f overflows int256",
        0,
        [pos(1, 0, WAD, market_index=INT_MAX, index=-1)],
        {"equity": ("Panic", 0x11), "pendingFunding": ("Panic", 0x11), "freeCollateral": ("Panic", 0x11),
         "marginRatio": ("Panic", 0x11), "isLiquidatable": ("Panic", 0x11)},
    ),
    (
        "huge equity over MM = 1: the ratio overflows int256",
        2**250,
        [pos(1, 0, 1, imf=1, mmf=1)],
        {"marginRatio": ("MulDivOverflow",)},
    ),
]

MARGIN_FUNCTIONS = ("equity", "unrealisedPnl", "pendingFunding", "initialMargin", "maintenanceMargin", "freeCollateral", "marginRatio", "isLiquidatable")


def _encode_account(collateral, positions) -> dict:
    return {"collateral": str(collateral), "positions": [{k: str(v) for k, v in p.items()} for p in positions]}


def margin_vectors(rng: random.Random) -> list[dict]:
    cases = list(MARGIN_CASES)
    for k in range(40):  # random accounts inside the bounds, random widths
        n = rng.randrange(0, 5)
        cases.append(
            (
                f"random account {k}",
                rng.choice((1, -1)) * rng.getrandbits(rng.randrange(1, 128)),
                [
                    pos(
                        rng.choice((1, -1)) * rng.getrandbits(rng.randrange(1, 94)),
                        rng.choice((1, -1)) * rng.getrandbits(rng.randrange(1, 130)),
                        rng.getrandbits(rng.randrange(1, 94)),
                        imf=rng.randrange(WAD + 1),
                        mmf=rng.randrange(WAD + 1),
                        market_index=rng.choice((1, -1)) * rng.getrandbits(rng.randrange(1, 100)),
                        index=rng.choice((1, -1)) * rng.getrandbits(rng.randrange(1, 100)),
                    )
                    for _ in range(n)
                ],
            )
        )
    vectors = []
    for note, collateral, positions in cases:
        expect = margin_oracle(collateral, positions)
        vectors.append(
            {
                "note": note,
                "account": _encode_account(collateral, positions),
                "expect": {fn: {"value": str(v).lower() if isinstance(v, bool) else str(v)} for fn, v in expect.items()},
            }
        )
    for note, collateral, positions, errors in MARGIN_REVERTS:
        expect = {}
        for fn in MARGIN_FUNCTIONS:
            if fn in errors:
                name, *args = errors[fn]
                expect[fn] = {"error": name, "args": [str(a) for a in args]}
        vectors.append({"note": note, "account": _encode_account(collateral, positions), "expect": expect})
    return vectors


def build() -> dict[str, dict]:
    """The vector files' contents, by file name."""
    header = "Generated by tests/vectors/generate.py from exact rationals (fractions.Fraction); do not edit by hand."
    return {
        "fixedpoint.json": {
            "description": header + " Integers are decimal strings; rounding names are FixedPointMath.Rounding's.",
            "vectors": fixedpoint_vectors(random.Random(1)),
        },
        "margin.json": {
            "description": header
            + " Each position carries its market view (price, market_index = F, imf, mmf); values are WAD integers"
            " as decimal strings; 'expect' lists every formula whose outcome the vector fixes.",
            "vectors": margin_vectors(random.Random(2)),
        },
    }


def main() -> None:
    for name, content in build().items():
        (HERE / name).write_text(json.dumps(content, indent=1) + "\n")
        print(f"wrote {HERE / name}: {len(content['vectors'])} vectors", file=sys.stderr)


if __name__ == "__main__":
    main()
