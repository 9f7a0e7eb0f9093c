"""The positions file: a book = market views + accounts, as JSON or CSV (docs/positions.md).

Used by ``pymargin margin``, ``commit``, ``prove`` and ``demo``. Every integer is written as a
decimal string (JSON numbers lose precision past 2^53). Loading checks every value against its
bound (docs/spec.md §3) and every cross-reference, and reports the first problem as one
:class:`~pymargin.errors.UserError` naming the file, the JSON path or CSV row, and the field.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from eth_utils import is_hex_address, to_checksum_address

from pymargin.errors import UserError
from pymargin.fsutil import atomic_write_text, read_json
from pymargin.model import (
    COLLATERAL_BOUND,
    COST_BASIS_BOUND,
    FUNDING_INDEX_BOUND,
    MAX_POSITIONS,
    PRICE_BOUND,
    SIZE_BOUND,
    WAD,
    Account,
    MarketView,
    Position,
)

FORMAT = "pymargin-positions-v1"
ID_BOUND = 2**64  # market ids and sub-account ids
CSV_COLUMNS = ("record", "owner", "sub", "collateral", "market_id", "name", "price_wad", "funding_index_wad",
               "imf_wad", "mmf_wad", "size", "cost_basis", "funding_index")
CSV_RECORD_COLUMNS = {
    "market": ("market_id", "name", "price_wad", "funding_index_wad", "imf_wad", "mmf_wad"),
    "account": ("owner", "sub", "collateral"),
    "position": ("owner", "sub", "market_id", "size", "cost_basis", "funding_index"),
}
_DECIMAL = re.compile(r"-?[0-9]+\Z")
MAX_DIGITS = 78  # digits of 2^256; every bound of a book is smaller


class BookError(UserError):
    """A positions file is malformed; the message names the file, the place and the field."""


@dataclass
class Book:
    """Market views by market id, market names, and accounts (in file order)."""

    markets: dict[int, MarketView] = field(default_factory=dict)
    market_names: dict[int, str] = field(default_factory=dict)
    accounts: list[Account] = field(default_factory=list)


# ---------------------------------------------------------------- value checks

def _integer(value: Any, err: Callable[[str], BookError], lo: int | None = None, hi: int | None = None,
             what: str = "") -> int:
    """A decimal-string integer with lo <= x < hi (bounds optional); more than MAX_DIGITS digits is out
    of range (every bound is below 2^256) and never converted (Python refuses above 4300 digits)."""
    if not isinstance(value, str) or not _DECIMAL.match(value.strip()):
        raise err(f"must be an integer written as a decimal string (e.g. \"-12\"), got {value!r:.40}")
    digits = len(value.strip().lstrip("-"))
    if digits > MAX_DIGITS:
        raise err(f"has {digits} digits: out of range{' (' + what + ')' if what else ''}")
    x = int(value.strip())
    if (lo is not None and x < lo) or (hi is not None and x >= hi):
        raise err(f"{x} is out of range{' (' + what + ')' if what else ''}")
    return x


def _signed(value: Any, err: Callable[[str], BookError], bound: int, bits: str) -> int:
    return _integer(value, err, -bound + 1, bound, f"|x| < {bits}")


def _owner(value: Any, err: Callable[[str], BookError]) -> str:
    if not isinstance(value, str) or not is_hex_address(value.strip()):
        raise err(f"must be an account address 0x + 40 hex digits, got {value!r}")
    return to_checksum_address(value.strip())


def _market(raw: dict, err: Callable[[str], Callable[[str], BookError]], id_field: str = "id") -> tuple[int, str, MarketView]:
    market_id = _integer(raw[id_field], err(id_field), 0, ID_BOUND, f"0 <= {id_field} < 2^64")
    name = raw["name"]
    if not isinstance(name, str) or not name.strip():
        raise err("name")(f"must be a non-empty string, got {name!r}")
    price = _integer(raw["price_wad"], err("price_wad"), 1, PRICE_BOUND, "0 < price < 2^94")
    funding = _signed(raw["funding_index_wad"], err("funding_index_wad"), FUNDING_INDEX_BOUND, "2^100")
    imf = _integer(raw["imf_wad"], err("imf_wad"), 0, WAD + 1, "0 <= imf <= 1e18")
    mmf = _integer(raw["mmf_wad"], err("mmf_wad"), 0, WAD + 1, "0 <= mmf <= 1e18")
    if mmf > imf:
        raise err("mmf_wad")(f"maintenance fraction {mmf} exceeds the initial fraction {imf}")
    return market_id, name.strip(), MarketView(price, funding, imf, mmf)


def _position(raw: dict, err: Callable[[str], Callable[[str], BookError]], markets: dict[int, MarketView]) -> Position:
    market_id = _integer(raw["market_id"], err("market_id"), 0, ID_BOUND, "0 <= market_id < 2^64")
    if market_id not in markets:
        raise err("market_id")(f"market {market_id} is not defined in the file's markets")
    size = _signed(raw["size"], err("size"), SIZE_BOUND, "2^94")
    if size == 0:
        raise err("size")("is 0; list open positions only")
    cost = _signed(raw["cost_basis"], err("cost_basis"), COST_BASIS_BOUND, "2^130")
    funding = _signed(raw["funding_index"], err("funding_index"), FUNDING_INDEX_BOUND, "2^100")
    return Position(market_id, size, cost, funding)


def _add_position(account: Account, pos: Position, err: Callable[[str], BookError]) -> None:
    if pos.market_id in account.positions:
        raise err(f"account {account.account_id} has two positions in market {pos.market_id}")
    if len(account.positions) >= MAX_POSITIONS:
        raise err(f"account {account.account_id} has more than {MAX_POSITIONS} positions")
    if account.is_isolated and account.positions:
        raise err(f"isolated sub-account {account.account_id} holds more than one market")
    account.positions[pos.market_id] = pos


def _errors(path: str, csv_rows: bool = False) -> Callable[[str], Callable[[str], Callable[[str], BookError]]]:
    """err(place)(field)(message) -> BookError("<file>: <place>.<field>: <message>") for a JSON path,
    "<file>: row N, column <field>: <message>" for a CSV row."""
    joiner = ", column " if csv_rows else "."
    return lambda place: lambda fieldname: lambda message: BookError(
        f"{path}: {place}{joiner + fieldname if fieldname else ''}: {message}")


def _keys(raw: Any, required: tuple[str, ...], optional: tuple[str, ...], err: Callable[[str], BookError]) -> dict:
    if not isinstance(raw, dict):
        raise err(f"must be an object, got {type(raw).__name__}")
    missing = [k for k in required if k not in raw]
    if missing:
        raise err(f"missing field {missing[0]!r}")
    unknown = sorted(set(raw) - set(required) - set(optional))
    if unknown:
        raise err(f"unknown field {unknown[0]!r} (expected {', '.join(required + optional)})")
    return raw


# ---------------------------------------------------------------- JSON

def book_from_json(doc: Any, path: str = "<json>") -> Book:
    """A Book from a parsed positions JSON document (checked; BookError on the first problem)."""
    err = _errors(path)
    _keys(doc, ("markets", "accounts"), ("format",), err("$")(""))
    if "format" in doc and doc["format"] != FORMAT:
        raise err("$")("format")(f"must be {FORMAT!r}, got {doc['format']!r}")
    book = Book()
    if not isinstance(doc["markets"], list):
        raise err("$")("markets")("must be a list")
    for i, raw in enumerate(doc["markets"]):
        place = f"$.markets[{i}]"
        _keys(raw, ("id", "name", "price_wad", "funding_index_wad", "imf_wad", "mmf_wad"), (), err(place)(""))
        market_id, name, view = _market(raw, err(place))
        if market_id in book.markets:
            raise err(place)("id")(f"market {market_id} is defined twice")
        book.markets[market_id], book.market_names[market_id] = view, name
    if not isinstance(doc["accounts"], list):
        raise err("$")("accounts")("must be a list")
    seen: set[str] = set()
    for i, raw in enumerate(doc["accounts"]):
        place = f"$.accounts[{i}]"
        _keys(raw, ("owner", "sub", "collateral"), ("positions",), err(place)(""))
        owner = _owner(raw["owner"], err(place)("owner"))
        sub = _integer(raw["sub"], err(place)("sub"), 0, ID_BOUND, "0 <= sub < 2^64")
        account = Account(owner, sub, _signed(raw["collateral"], err(place)("collateral"), COLLATERAL_BOUND, "2^128"))
        if account.account_id in seen:
            raise err(place)("owner")(f"account {account.account_id} appears twice")
        seen.add(account.account_id)
        positions = raw.get("positions", [])
        if not isinstance(positions, list):
            raise err(place)("positions")("must be a list")
        for j, raw_pos in enumerate(positions):
            pos_place = f"{place}.positions[{j}]"
            _keys(raw_pos, ("market_id", "size", "cost_basis", "funding_index"), (), err(pos_place)(""))
            _add_position(account, _position(raw_pos, err(pos_place), book.markets), err(pos_place)(""))
        book.accounts.append(account)
    return book


def book_to_json(book: Book) -> dict:
    """The positions JSON document of ``book`` (integers as decimal strings, positions by market id)."""
    return {
        "format": FORMAT,
        "markets": [
            {"id": str(mid), "name": book.market_names.get(mid, f"market-{mid}"), "price_wad": str(v.price_wad),
             "funding_index_wad": str(v.funding_index_wad), "imf_wad": str(v.imf_wad), "mmf_wad": str(v.mmf_wad)}
            for mid, v in sorted(book.markets.items())
        ],
        "accounts": [
            {"owner": a.owner, "sub": str(a.sub), "collateral": str(a.collateral),
             "positions": [{"market_id": str(p.market_id), "size": str(p.size), "cost_basis": str(p.cost_basis),
                            "funding_index": str(p.funding_index)} for _, p in sorted(a.positions.items())]}
            for a in book.accounts
        ],
    }


# ---------------------------------------------------------------- CSV

def book_from_csv(text: str, path: str = "<csv>") -> Book:
    """A Book from positions CSV text: one row per market, account or position (``record`` column)."""
    err = _errors(path, csv_rows=True)
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise err("header")("")(f"missing column {missing[0]!r} (expected {','.join(CSV_COLUMNS)})")
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if unknown:
        raise err("header")("")(f"unknown column {unknown[0]!r}")
    book = Book()
    accounts: dict[str, Account] = {}
    positions: list[tuple[str, int, dict]] = []
    for row in reader:
        place = f"row {reader.line_num}"
        if None in row:
            raise err(place)("")("has more cells than the header")
        kind = (row["record"] or "").strip()
        if kind not in CSV_RECORD_COLUMNS:
            raise err(place)("record")(f"must be one of market, account, position, got {kind!r}")
        used = CSV_RECORD_COLUMNS[kind]
        stray = [c for c in CSV_COLUMNS[1:] if c not in used and (row[c] or "").strip()]
        if stray:
            raise err(place)(stray[0])(f"must be empty in a {kind} row")
        empty = [c for c in used if row[c] is None or not row[c].strip()]
        if empty:
            raise err(place)(empty[0])(f"is required in a {kind} row")
        if kind == "market":
            market_id, name, view = _market(row, err(place), "market_id")
            if market_id in book.markets:
                raise err(place)("market_id")(f"market {market_id} is defined twice")
            book.markets[market_id], book.market_names[market_id] = view, name
        elif kind == "account":
            owner = _owner(row["owner"], err(place)("owner"))
            sub = _integer(row["sub"], err(place)("sub"), 0, ID_BOUND, "0 <= sub < 2^64")
            account = Account(owner, sub, _signed(row["collateral"], err(place)("collateral"), COLLATERAL_BOUND, "2^128"))
            if account.account_id in accounts:
                raise err(place)("owner")(f"account {account.account_id} appears twice")
            accounts[account.account_id] = account
        else:
            owner = _owner(row["owner"], err(place)("owner"))
            sub = _integer(row["sub"], err(place)("sub"), 0, ID_BOUND, "0 <= sub < 2^64")
            positions.append((place, reader.line_num, {**row, "account_id": f"{owner}:{sub}"}))
    for place, _, row in positions:  # markets may follow positions in the file
        account = accounts.get(row["account_id"])
        if account is None:
            raise err(place)("owner")(f"no account row for {row['account_id']}")
        _add_position(account, _position(row, err(place), book.markets), err(place)(""))
    book.accounts = list(accounts.values())
    return book


def book_to_csv(book: Book) -> str:
    """Positions CSV text of ``book``: markets, then each account followed by its positions."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for mid, v in sorted(book.markets.items()):
        writer.writerow({"record": "market", "market_id": mid, "name": book.market_names.get(mid, f"market-{mid}"),
                         "price_wad": v.price_wad, "funding_index_wad": v.funding_index_wad,
                         "imf_wad": v.imf_wad, "mmf_wad": v.mmf_wad})
    for a in book.accounts:
        writer.writerow({"record": "account", "owner": a.owner, "sub": a.sub, "collateral": a.collateral})
        for _, p in sorted(a.positions.items()):
            writer.writerow({"record": "position", "owner": a.owner, "sub": a.sub, "market_id": p.market_id,
                             "size": p.size, "cost_basis": p.cost_basis, "funding_index": p.funding_index})
    return out.getvalue()


# ---------------------------------------------------------------- files

def load_book(path: Path) -> Book:
    """Load a positions file, JSON (``.json``) or CSV (``.csv``)."""
    path = Path(path)
    if path.suffix.lower() not in (".json", ".csv"):
        raise BookError(f"{path}: a positions file must end in .json or .csv")
    if path.suffix.lower() == ".json":
        return book_from_json(read_json(path, "positions file", BookError), str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BookError(f"positions file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BookError(f"cannot read positions file {path}: {exc}") from None
    return book_from_csv(text, str(path))


def save_book(book: Book, path: Path) -> None:
    """Write ``book`` atomically as JSON or CSV, by the file's suffix."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        atomic_write_text(path, book_to_csv(book))
    elif path.suffix.lower() == ".json":
        atomic_write_text(path, json.dumps(book_to_json(book), indent=1) + "\n")
    else:
        raise BookError(f"{path}: a positions file must end in .json or .csv")
