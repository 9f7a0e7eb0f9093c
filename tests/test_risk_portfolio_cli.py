"""`pymargin risk portfolio`: a hedged and a naked book, each number checked against the library's
exact path (risk.scenario.scenario_margin_wad over pymargin.riskarray), in JSON and in the table;
bad files end in one line (JSON under --json) and a non-zero exit."""

from __future__ import annotations

import json

import pytest

from cli_support import run_cli
from output_rules import check_output
from pymargin.fixedpoint import WAD
from pymargin.riskarray import InstrumentKind as Kind
from pymargin.risk import scenario

HEDGER = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
WRITER = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
IM_MULTIPLE = 1_333_333_333_333_333_333
SOM = {"ETH": 100_000_000_000_000_001, "BTC": 150_000_000_000_000_007}
MARKS = {
    "ETH": scenario.UnderlyingWad(3_141_592_653_589_793_238_462, 628_318_530_717_958_647, 271_828_182_845_904_523, 161_803_398_874_989_485),
    "BTC": scenario.UnderlyingWad(61_803_398_874_989_484_820_458, 577_215_664_901_532_861, 141_421_356_237_309_505, 223_606_797_749_978_969),
}
SERIES = {  # id: (underlying, kind, strike, tau)
    0: ("ETH", Kind.Perp, 0, 0),
    1: ("ETH", Kind.Call, 3_300_000_000_000_000_000_001, 2_718_281),
    2: ("ETH", Kind.Put, 2_900_000_000_000_000_000_003, 5_436_563),
    3: ("BTC", Kind.Perp, 0, 0),
    4: ("BTC", Kind.Call, 65_000_000_000_000_000_000_007, 1_234_567),
}
SIZE = 3_718_281_828_459_045_235
BOOKS = {
    (HEDGER, 0): [(0, SIZE), (1, -SIZE), (3, -1_414_213_562_373_095_049), (4, 1_414_213_562_373_095_049)],  # hedged
    (WRITER, 7): [(1, -2_718_281_828_459_045_235), (2, -1_618_033_988_749_894_849), (4, -577_215_664_901_532_861)],  # naked
}


def portfolio_doc() -> dict:
    def series(sid, name, kind, strike, tau):
        row = {"id": str(sid), "underlying": name, "kind": kind.name.lower()}
        return row | ({"strike_wad": str(strike), "tau_s": str(tau)} if kind != Kind.Perp else {})

    return {
        "format": "pymargin-portfolio-v1",
        "im_multiple_wad": str(IM_MULTIPLE),
        "underlyings": [
            {"name": n, "price_wad": str(m.price_wad), "vol_wad": str(m.vol_wad), "price_range_wad": str(m.price_range_wad),
             "vol_range_wad": str(m.vol_range_wad), "som_fraction_wad": str(SOM[n])}
            for n, m in MARKS.items()
        ],
        "series": [series(sid, *spec) for sid, spec in SERIES.items()],
        "accounts": [
            {"owner": owner, "sub": str(sub), "positions": [{"series_id": str(s), "size": str(z)} for s, z in positions]}
            for (owner, sub), positions in BOOKS.items()
        ],
    }


def expected(positions) -> tuple[int, int]:
    """(portfolio maintenance, per-position sum) by the library, underlying by underlying (each has its own som)."""
    mm = alone = 0
    for name in MARKS:
        ins = [scenario.InstrumentWad(name, z, *SERIES[s][1:]) for s, z in positions if SERIES[s][0] == name]
        if ins:
            r = scenario.scenario_margin_wad(ins, {name: MARKS[name]}, SOM[name])
            mm, alone = mm + r.maintenance_wad, alone + r.standalone_sum_wad
    return mm, alone


@pytest.fixture
def book_file(tmp_path):
    path = tmp_path / "book.json"
    path.write_text(json.dumps(portfolio_doc()))
    return path


def test_json_numbers_equal_the_library(capsys, book_file):
    code, out, err = run_cli(capsys, "--json", "risk", "portfolio", "--positions", str(book_file))
    assert code == 0, err
    report = check_output("risk-portfolio", out)  # its JSON Schema and the output convention
    assert report["account_count"] == "2" and len(report["accounts"]) == 2
    totals = {"maintenance_wad": 0, "per_position_maintenance_wad": 0, "initial_wad": 0}
    for row, ((owner, sub), positions) in zip(report["accounts"], BOOKS.items()):
        mm, alone = expected(positions)
        im = -(-mm * IM_MULTIPLE // WAD)
        assert (row["owner"], row["sub"], row["position_count"]) == (owner, str(sub), str(len(positions)))
        assert row["maintenance_wad"] == str(mm) and row["per_position_maintenance_wad"] == str(alone)
        assert row["saving_wad"] == str(alone - mm) and row["initial_wad"] == str(im)
        for key, value in (("maintenance_wad", mm), ("per_position_maintenance_wad", alone), ("initial_wad", im)):
            totals[key] += value
    hedged, naked = report["accounts"]
    assert int(hedged["saving_wad"]) > int(hedged["maintenance_wad"]) > 0  # the hedge more than halves the margin
    assert int(naked["maintenance_wad"]) > 0 and int(naked["saving_wad"]) >= 0
    for key, value in totals.items():
        assert report[f"total_{key}"] == str(value)


def test_table_shows_exact_decimals_in_80_columns(capsys, book_file):
    code, out, _ = run_cli(capsys, "risk", "portfolio", "-p", str(book_file))
    assert code == 0
    mm, alone = expected(BOOKS[(HEDGER, 0)])
    assert f"{mm // WAD:,}.{mm % WAD:018d}".rstrip("0") in out
    assert f"{(alone - mm) // WAD:,}.{(alone - mm) % WAD:018d}".rstrip("0") in out
    assert "0x5aAe…eAed:0" in out and "0xfB69…d359:7" in out
    assert max(map(len, out.splitlines())) <= 80


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["accounts"][0]["positions"][0].update(series_id="9"), "series 9 is not defined"),
        (lambda d: d["accounts"][1]["positions"][0].update(size="1.5"), "positions[0].size: must be an integer"),
        (lambda d: d["series"][1].pop("tau_s"), "missing field 'tau_s'"),
        (lambda d: d["underlyings"][0].update(vol_wad="9000000000000000000"), "risk array reverts OptionInputOutOfRange"),
        (lambda d: d.update(im_multiple_wad="999999999999999999"), "im_multiple_wad: 999999999999999999 is out of range"),
        (lambda d: d["series"][0].update(id=str(2**63)), "id: 9223372036854775808 is out of range (0 <= id < 2^63)"),
        (lambda d: d["accounts"][0]["positions"].append({"series_id": "0", "size": "1"}), "has two positions in series 0"),
    ],
)
def test_bad_files_end_in_one_line(capsys, tmp_path, mutate, message):
    doc = portfolio_doc()
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    code, out, err = run_cli(capsys, "risk", "portfolio", "-p", str(path))
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    code, out, err = run_cli(capsys, "--json", "risk", "portfolio", "-p", str(path))
    error = check_output("error", out)
    assert code == 2 and error["code"] == "portfolio_error" and message in error["error"]


def test_help_teaches_the_file_and_the_numbers(capsys):
    code, out, _ = run_cli(capsys, "risk", "portfolio", "-h")
    assert code == 0
    for word in ("docs/portfolio.md", "per position", "saving", "short-option minimum", "--json"):
        assert word in out


def test_docs_example_prints_the_documented_table(capsys, tmp_path):
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "portfolio.md").read_text()
    blocks = text.split("```")
    example = next(b for b in blocks if b.startswith("json\n"))[len("json\n"):]
    table = next(b for b in blocks if "quote units (exact)" in b).strip("\n")
    path = tmp_path / "example.json"
    path.write_text(example)
    code, out, err = run_cli(capsys, "risk", "portfolio", "-p", str(path))
    assert code == 0, err
    assert out.strip("\n") == table
