"""The positions file: JSON and CSV round trips, the JSON Schema, and one clear error per mistake."""

from __future__ import annotations

import json

import jsonschema
import pytest
from commit_books import random_book

from pymargin import tools
from pymargin.book import Book, BookError, book_from_csv, book_from_json, book_to_csv, book_to_json, load_book, save_book

SCHEMA = json.loads((tools.REPO_ROOT / "docs" / "positions.schema.json").read_text())
OWNER = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


def _book(seed: int = 1, accounts: int = 25, extreme: bool = True) -> Book:
    accounts_, markets = random_book(seed, accounts, extreme)
    return Book(markets, {m: f"M{m}" for m in markets}, accounts_)


def _same(a: Book, b: Book) -> bool:
    return (a.markets, a.market_names, [(x.owner, x.sub, x.collateral, x.positions) for x in a.accounts]) == \
        (b.markets, b.market_names, [(x.owner, x.sub, x.collateral, x.positions) for x in b.accounts])


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_round_trip(tmp_path, suffix):
    book = _book()
    path = tmp_path / f"book{suffix}"
    save_book(book, path)
    assert _same(load_book(path), book)


def test_written_json_matches_the_schema():
    jsonschema.validate(book_to_json(_book()), SCHEMA)


def test_lowercase_owner_is_checksummed():
    doc = {"markets": [], "accounts": [{"owner": OWNER.lower(), "sub": "0", "collateral": "5"}]}
    assert book_from_json(doc).accounts[0].owner == OWNER


def _doc() -> dict:
    return {
        "format": "pymargin-positions-v1",
        "markets": [{"id": "0", "name": "ETH", "price_wad": "3000", "funding_index_wad": "-1", "imf_wad": "100",
                     "mmf_wad": "50"},
                    {"id": "1", "name": "BTC", "price_wad": "9", "funding_index_wad": "0", "imf_wad": "0", "mmf_wad": "0"}],
        "accounts": [{"owner": OWNER, "sub": "0", "collateral": "10",
                      "positions": [{"market_id": "0", "size": "-2", "cost_basis": "-6", "funding_index": "0"}]}],
    }


BAD_JSON = [
    (lambda d: d["accounts"][0]["positions"][0].update(size=str(2**94)), r"\$\.accounts\[0\]\.positions\[0\]\.size: .*out of range"),
    (lambda d: d["accounts"][0]["positions"][0].update(size="0"), r"\$\.accounts\[0\]\.positions\[0\]\.size: is 0"),
    (lambda d: d["accounts"][0]["positions"][0].update(size=2), r"\$\.accounts\[0\]\.positions\[0\]\.size: must be an integer written as a decimal string"),
    (lambda d: d["accounts"][0]["positions"][0].update(market_id="7"), r"\$\.accounts\[0\]\.positions\[0\]\.market_id: market 7 is not defined"),
    (lambda d: d["accounts"][0]["positions"][0].update(cost_basis=str(-(2**130))), r"\$\.accounts\[0\]\.positions\[0\]\.cost_basis: .*out of range"),
    (lambda d: d["accounts"][0]["positions"][0].update(funding_index="1e5"), r"\$\.accounts\[0\]\.positions\[0\]\.funding_index: must be an integer"),
    (lambda d: d["accounts"][0].update(collateral=str(2**128)), r"\$\.accounts\[0\]\.collateral: .*out of range"),
    (lambda d: d["accounts"][0].update(owner="alice"), r"\$\.accounts\[0\]\.owner: must be an account address"),
    (lambda d: d["accounts"][0].update(sub="-1"), r"\$\.accounts\[0\]\.sub: -1 is out of range"),
    (lambda d: d["accounts"][0].update(colateral="1"), r"\$\.accounts\[0\]: unknown field 'colateral'"),
    (lambda d: d["accounts"][0].pop("collateral"), r"\$\.accounts\[0\]: missing field 'collateral'"),
    (lambda d: d["accounts"].append(dict(d["accounts"][0])), r"\$\.accounts\[1\]\.owner: account .* appears twice"),
    (lambda d: d["accounts"][0]["positions"].append(dict(d["accounts"][0]["positions"][0])),
     r"\$\.accounts\[0\]\.positions\[1\]: account .* has two positions in market 0"),
    (lambda d: d["accounts"][0].update(sub="1", positions=[
        {"market_id": "0", "size": "1", "cost_basis": "1", "funding_index": "0"},
        {"market_id": "1", "size": "1", "cost_basis": "1", "funding_index": "0"}]), r"\$\.accounts\[0\]\.positions\[1\]: isolated sub-account .*:1 holds more than one market"),
    (lambda d: d["markets"][0].update(price_wad="0"), r"\$\.markets\[0\]\.price_wad: 0 is out of range"),
    (lambda d: d["markets"][0].update(mmf_wad="200"), r"\$\.markets\[0\]\.mmf_wad: maintenance fraction 200 exceeds"),
    (lambda d: d["markets"][0].update(imf_wad=str(10**18 + 1)), r"\$\.markets\[0\]\.imf_wad: .*out of range"),
    (lambda d: d["markets"][1].update(id="0"), r"\$\.markets\[1\]\.id: market 0 is defined twice"),
    (lambda d: d["markets"][1].update(name=""), r"\$\.markets\[1\]\.name: must be a non-empty string"),
    (lambda d: d.update(format="v0"), r"\$\.format: must be 'pymargin-positions-v1'"),
    (lambda d: d.pop("markets"), r"\$: missing field 'markets'"),
]


@pytest.mark.parametrize("mutate, message", BAD_JSON)
def test_bad_json_names_path_and_field(mutate, message):
    doc = _doc()
    book_from_json(doc, "book.json")
    mutate(doc)
    with pytest.raises(BookError, match=r"^book\.json: " + message):
        book_from_json(doc, "book.json")


def test_more_than_four_positions():
    doc = _doc()
    doc["markets"] = [{"id": str(i), "name": f"M{i}", "price_wad": "1", "funding_index_wad": "0", "imf_wad": "0",
                       "mmf_wad": "0"} for i in range(5)]
    doc["accounts"][0]["positions"] = [{"market_id": str(i), "size": "1", "cost_basis": "0", "funding_index": "0"}
                                       for i in range(5)]
    with pytest.raises(BookError, match=r"positions\[4\]: account .* has more than 4 positions"):
        book_from_json(doc, "book.json")


def test_schema_rejects_the_form_errors_the_loader_rejects():
    checked = 0
    for mutate, message in BAD_JSON:
        doc = _doc()
        mutate(doc)
        if any(word in message for word in ("decimal string", "unknown field", "missing field", "address", "non-empty")):
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(doc, SCHEMA)
            checked += 1
    assert checked >= 6
    jsonschema.validate(_doc(), SCHEMA)


def _csv_text() -> str:
    return book_to_csv(book_from_json(_doc()))


@pytest.mark.parametrize("edit, message", [
    (lambda rows: rows[3].__setitem__(10, "x"), r"row 4, column size: must be an integer"),
    (lambda rows: rows[3].__setitem__(4, "5"), r"row 4, column market_id: market 5 is not defined"),
    (lambda rows: rows[1].__setitem__(1, OWNER), r"row 2, column owner: must be empty in a market row"),
    (lambda rows: rows[2].__setitem__(3, ""), r"row 3, column collateral: is required in a account row"),
    (lambda rows: rows[2].__setitem__(0, "acount"), r"row 3, column record: must be one of"),
    (lambda rows: rows.pop(2) and None, r"row 3, column owner: no account row for"),
    (lambda rows: rows[0].__setitem__(3, "collat"), r"header: missing column 'collateral'"),
])
def test_bad_csv_names_row_and_column(edit, message):
    rows = [line.split(",") for line in _csv_text().splitlines()]
    assert [r[0] for r in rows] == ["record", "market", "market", "account", "position"]
    rows = rows[:1] + [rows[1], rows[3], rows[4], rows[2]]  # market rows may come after the positions
    book_from_csv("\n".join(",".join(r) for r in rows), "book.csv")
    edit(rows)
    with pytest.raises(BookError, match=r"^book\.csv: " + message):
        book_from_csv("\n".join(",".join(r) for r in rows), "book.csv")


def test_file_level_errors(tmp_path):
    with pytest.raises(BookError, match="must end in .json or .csv"):
        load_book(tmp_path / "book.txt")
    with pytest.raises(BookError, match="positions file .*missing.json not found"):
        load_book(tmp_path / "missing.json")
    with pytest.raises(BookError, match="positions file .*missing.csv not found"):
        load_book(tmp_path / "missing.csv")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(BookError, match="bad.json: malformed JSON at line 1 column 2"):
        load_book(bad)


def test_save_is_atomic_and_does_not_leave_temporaries(tmp_path):
    path = tmp_path / "book.json"
    save_book(_book(accounts=3), path)
    save_book(_book(seed=2, accounts=3), path)
    assert [p.name for p in tmp_path.iterdir()] == ["book.json"]
    assert _same(load_book(path), _book(seed=2, accounts=3))
