"""A portfolio file (perps and options per account, docs/portfolio.md) and each account's portfolio
margin against its per-position margin, exact (spec §4.1–4.2, by :mod:`pymargin.riskbatch`).

Loading checks every field and raises :class:`PortfolioError` (a UserError) naming the file, the
JSON path and the field; a series whose risk array would revert (e.g. a vol outside Black-76's
domain) is named with the revert.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymargin import riskarray as ra
from pymargin import riskbatch
from pymargin.black76 import MAX_TAU_S
from pymargin.book import _errors, _integer, _keys, _owner, _signed
from pymargin.errors import Revert, UserError
from pymargin.fixedpoint import WAD
from pymargin.fsutil import read_json
from pymargin.model import SIZE_BOUND

FORMAT = "pymargin-portfolio-v1"
ID_BOUND = 2**64  # sub-account ids
SERIES_ID_BOUND = 2**63  # series ids (int64 in the batch book)
MAX_PRICE_WAD = 2**128
KINDS = {"perp": ra.InstrumentKind.Perp, "call": ra.InstrumentKind.Call, "put": ra.InstrumentKind.Put}


class PortfolioError(UserError):
    """A portfolio file is malformed; the message names the file, the place and the field."""


@dataclass(frozen=True)
class Portfolio:
    """The accounts ((owner, sub), in file order), their positions as a PortfolioBook whose series
    carry the risk arrays computed from the file's marks, and the initial-margin multiple."""

    accounts: list[tuple[str, int]]
    book: riskbatch.PortfolioBook
    im_multiple_wad: int


@dataclass(frozen=True)
class AccountMargin:
    """One account's requirements in WAD quote units (all rounded up, Ceil, as spec §4.1)."""

    owner: str
    sub: int
    position_count: int
    per_position_wad: int  # Σ of each position's maintenance margined alone
    maintenance_wad: int  # portfolio maintenance (netted per underlying)
    initial_wad: int  # ⌈maintenance · multiple / WAD⌉

    @property
    def saving_wad(self) -> int:
        """per_position − maintenance: what netting saves (≥ 0 per underlying for these rules)."""
        return self.per_position_wad - self.maintenance_wad


def portfolio_from_json(doc: Any, path: str = "<json>") -> Portfolio:
    """A Portfolio from a parsed portfolio document (checked; PortfolioError on the first problem)."""
    err = _wrap(_errors(path))
    _keys(doc, ("im_multiple_wad", "underlyings", "series", "accounts"), ("format",), err("$")(""))
    if "format" in doc and doc["format"] != FORMAT:
        raise err("$")("format")(f"must be {FORMAT!r}, got {doc['format']!r}")
    im_multiple = _integer(doc["im_multiple_wad"], err("$")("im_multiple_wad"), WAD, 2**128, "1e18 <= multiple < 2^128")
    marks = {}
    for i, raw in enumerate(_list(doc, "underlyings", err)):
        place = err(f"$.underlyings[{i}]")
        _keys(raw, ("name", "price_wad", "vol_wad", "price_range_wad", "vol_range_wad", "som_fraction_wad"), (), place(""))
        name = raw["name"]
        if not isinstance(name, str) or not name.strip():
            raise place("name")(f"must be a non-empty string, got {name!r}")
        if name.strip() in marks:
            raise place("name")(f"underlying {name.strip()!r} is defined twice")
        marks[name.strip()] = (
            len(marks),
            _integer(raw["price_wad"], place("price_wad"), 1, MAX_PRICE_WAD + 1, "0 < price <= 2^128"),
            _integer(raw["vol_wad"], place("vol_wad"), 0, 10 * WAD + 1, "0 <= vol <= 10e18"),
            _integer(raw["price_range_wad"], place("price_range_wad"), 0, WAD + 1, "0 <= range <= 1e18"),
            _integer(raw["vol_range_wad"], place("vol_range_wad"), 0, WAD, "0 <= vol range < 1e18"),
            _integer(raw["som_fraction_wad"], place("som_fraction_wad"), 0, WAD + 1, "0 <= fraction <= 1e18"),
        )
    series = {}
    for i, raw in enumerate(_list(doc, "series", err)):
        place = err(f"$.series[{i}]")
        _keys(raw, ("id", "underlying", "kind"), ("strike_wad", "tau_s"), place(""))
        sid = _integer(raw["id"], place("id"), 0, SERIES_ID_BOUND, "0 <= id < 2^63")
        if sid in series:
            raise place("id")(f"series {sid} is defined twice")
        series[sid] = _series(raw, place, marks)
    accounts, rows = [], []
    for i, raw in enumerate(_list(doc, "accounts", err)):
        place = err(f"$.accounts[{i}]")
        _keys(raw, ("owner", "sub", "positions"), (), place(""))
        key = (_owner(raw["owner"], place("owner")), _integer(raw["sub"], place("sub"), 0, ID_BOUND, "0 <= sub < 2^64"))
        if key in accounts:
            raise place("owner")(f"account {key[0]}:{key[1]} appears twice")
        if not isinstance(raw["positions"], list):
            raise place("positions")("must be a list")
        positions = []
        for j, pos in enumerate(raw["positions"]):
            pos_place = err(f"$.accounts[{i}].positions[{j}]")
            _keys(pos, ("series_id", "size"), (), pos_place(""))
            sid = _integer(pos["series_id"], pos_place("series_id"), 0, SERIES_ID_BOUND, "0 <= series_id < 2^63")
            if sid not in series:
                raise pos_place("series_id")(f"series {sid} is not defined in the file's series")
            if sid in (s for s, _ in positions):
                raise pos_place("series_id")(f"account {key[0]}:{key[1]} has two positions in series {sid}")
            size = _signed(pos["size"], pos_place("size"), SIZE_BOUND, "2^94")
            if size == 0:
                raise pos_place("size")("is 0; list open positions only")
            positions.append((sid, size))
        accounts.append(key)
        rows.append(positions)
    return Portfolio(accounts, riskbatch.PortfolioBook.from_accounts(rows, series), im_multiple)


def _wrap(errors):
    """book.py's err(place)(field)(message) builder, raising PortfolioError."""
    return lambda place: lambda fieldname: lambda message: PortfolioError(str(errors(place)(fieldname)(message)))


def _list(doc: dict, key: str, err) -> list:
    if not isinstance(doc[key], list):
        raise err("$")(key)("must be a list")
    return doc[key]


def _series(raw: dict, place, marks: dict) -> riskbatch.RiskSeries:
    """A series' RiskSeries: its risk array (§4.1) at its underlying's mark and its som per short unit."""
    name = raw["underlying"]
    if not isinstance(name, str) or name.strip() not in marks:
        raise place("underlying")(f"{name!r} is not defined in the file's underlyings")
    kind = KINDS.get(raw["kind"]) if isinstance(raw["kind"], str) else None
    if kind is None:
        raise place("kind")(f"must be one of {', '.join(KINDS)}, got {raw['kind']!r}")
    uid, price, vol, price_range, vol_range, som_fraction = marks[name.strip()]
    if kind == ra.InstrumentKind.Perp:
        if "strike_wad" in raw or "tau_s" in raw:
            raise place("kind")("a perp has no strike_wad or tau_s")
        strike = tau = 0
    else:
        for key in ("strike_wad", "tau_s"):
            if key not in raw:
                raise place("")(f"missing field {key!r} (an option needs strike_wad and tau_s)")
        strike = _integer(raw["strike_wad"], place("strike_wad"), 1, MAX_PRICE_WAD + 1, "0 < strike <= 2^128")
        tau = _integer(raw["tau_s"], place("tau_s"), 1, MAX_TAU_S + 1, "0 < tau_s <= 10 years")
    try:
        array = ra.risk_array(kind, strike, tau, price, vol, price_range, vol_range)
    except Revert as exc:
        raise place("")(f"its risk array reverts {exc.name}{tuple(exc.args_)} (check its underlying's vol and ranges)") from None
    return riskbatch.RiskSeries(uid, tuple(array), ra.short_option_minimum(kind, price, som_fraction))


def load_portfolio(path: Path) -> Portfolio:
    """Load and check a portfolio file (JSON)."""
    path = Path(path)
    return portfolio_from_json(read_json(path, "portfolio file", PortfolioError), str(path))


def account_margins(portfolio: Portfolio) -> list[AccountMargin]:
    """Every account's per-position and portfolio maintenance and its initial margin, exact (inside
    the loader's bounds nothing reverts, spec §4.1: the batch's fast path serves every account)."""
    book = portfolio.book
    mm = riskbatch.maintenance_margin(book)
    alone = riskbatch.standalone_margin(book)
    im = riskbatch.initial_margin(book, portfolio.im_multiple_wad)
    out = []
    for i, (owner, sub) in enumerate(portfolio.accounts):
        out.append(AccountMargin(owner, sub, len(book.account(i)[0]), int(alone[i]), int(mm[i]), int(im[i])))
    return out
