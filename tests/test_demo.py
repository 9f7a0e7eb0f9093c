"""The demo end to end at small size, on the embedded devnet and on anvil, and its bad input."""

from __future__ import annotations

import json

import pytest

from pymargin.chain import devnet
from cli_support import run_cli as run
from output_rules import check_output

SMALL = ["--accounts", "8", "--steps", "4", "--batch-log2", "3", "--workers", "1"]




def _check_outputs(out_dir, summary: dict) -> None:
    assert summary["ok"] is True
    assert summary["crosscheck_mismatch_count"] == "0" and int(summary["crosscheck_value_count"]) > 100
    assert all(summary["verifiers"].values()) and len(summary["verifiers"]) == 3
    assert summary["inclusion"] == {"python": True, "on_chain": True}
    assert summary["audit"] == {"root_rebuilt_equals_posted": True}
    assert int(summary["reserves_wad"]) >= int(summary["liabilities_wad"]) > 0
    assert summary["checkpoint_id"] == "1" and int(summary["checkpoint_block"]) > 0 and int(summary["fill_count_after_checkpoint"]) > 0
    epoch = json.loads((out_dir / "epoch.json").read_text())
    assert epoch["statement"]["totals"]["liabilities_wad"] == summary["liabilities_wad"]
    assert epoch["statement"]["root"]["hash"] == summary["root"]
    assert 150_000 < int(summary["verify_gas"]) < 300_000
    for name in ("report.html", "verify.html", "epoch.json", "summary.json", "margin_ratios.png", "price_path.png"):
        assert (out_dir / name).is_file(), name
    assert len(list((out_dir / "inclusion").glob("*.json"))) == 1
    written = json.loads((out_dir / "summary.json").read_text())
    assert written == {k: v for k, v in summary.items() if k != "report"}, "summary.json is what --json prints"
    _check_options(summary["options"])
    _check_report(out_dir, written)


def _check_options(options: dict) -> None:
    """Two calls and a put traded and settled at expiry (each paid out to its 2 holders); the hedged book
    (a collar) needs less than its positions apart, the naked call its own requirement; the chain's numbers
    are the mirror's."""
    assert options["trade_count"] == "3" and options["settlement_count"] == "6"
    assert [s["kind"] for s in options["series"]] == ["call", "call", "put"] and all(s["settled"] for s in options["series"])
    rows = {row["role"]: row for row in options["accounts"]}
    assert set(rows) == {"hedged", "naked", "market maker"} and all(r["chain_equals_mirror"] for r in rows.values())
    for row in rows.values():
        assert int(row["saving_wad"]) == int(row["standalone_mm_wad"]) - int(row["portfolio_mm_wad"])
    assert 0 < int(rows["hedged"]["portfolio_mm_wad"]) < int(rows["hedged"]["standalone_mm_wad"])
    assert rows["naked"]["saving_wad"] == "0" and int(rows["naked"]["portfolio_mm_wad"]) > 0


def _check_report(out_dir, summary: dict) -> None:
    """report.html shows what an auditor needs, with summary.json's values."""
    import html

    text = html.unescape((out_dir / "report.html").read_text())
    quote_of = lambda value: f"{int(value) / 10**18:,.2f}"  # noqa: E731
    quote = lambda key: quote_of(summary[key])  # noqa: E731
    block = int(summary["checkpoint_block"])
    assert f"checkpoint block</td><td>{block:,}<" in text
    assert f"unix {summary['checkpoint_time_s']})" in text
    for key in ("checkpoint_tx_hash", "post_epoch_tx_hash", "vk_hash", "verifier_code_hash", "circuit", "root"):
        assert summary[key] and summary[key] in text, key
    assert len(summary["contracts"]) >= 10  # token, engine, 4 oracles, verifier, hashers, registry, book, options
    for contract in summary["contracts"]:
        assert contract["address"] in text and contract["deploy_tx_hash"] in text, contract["name"]
    for name, key in (("Σ initial margin (IM)", "total_im_wad"), ("Σ maintenance margin (MM)", "total_mm_wad"),
                      ("liabilities L (Σ max(equity, 0))", "liabilities_wad"), ("deficit (Σ max(−equity, 0))", "deficit_wad"),
                      ("shortfall (Σ max(mm − equity, 0))", "shortfall_wad")):
        assert f"<td>{name}</td><td>{quote(key)}</td>" in text, name
    for market in summary["markets"]:
        assert f"<td>{market['name']}</td><td>{int(market['price_wad']) / 10**18:,.2f}</td>" in text, market["name"]
        assert f"{int(market['imf_wad']) / 10**18:.2%}" in text
    assert "margin ratio (equity / MM)" in text
    for row in summary["options"]["accounts"]:
        shown = [quote_of(row[k]) for k in ("portfolio_mm_wad", "standalone_mm_wad", "saving_wad")]
        assert f"<td>{row['role']}</td>" in text and "</td><td>".join(shown) in text, row["role"]
    for series in summary["options"]["series"]:
        assert f"<td>{series['name']}</td><td>{quote_of(series['strike_wad'])}</td>" in text
    assert f"of {int(summary['account_count']):,} accounts shown" in text


def test_demo_on_the_embedded_devnet(capsys, tmp_path):
    out_dir = tmp_path / "demo"
    code, out, err = run(capsys, "--json", "demo", *SMALL, "--out", str(out_dir))
    assert code == 0, err
    _check_outputs(out_dir, check_output("demo", out))
    assert not [p for p in tmp_path.iterdir() if p.name != "demo"], "no temporary folder left behind"


def test_demo_is_reproducible(capsys, tmp_path):
    """Same seed, same book: the same commitment root and the same option trades, settlements and margins
    (the proof itself is randomised; block times follow the wall clock they start from)."""
    runs = []
    for name in ("a", "b"):
        code, out, err = run(capsys, "--json", "demo", *SMALL, "--steps", "2", "--out", str(tmp_path / name))
        assert code == 0, err
        runs.append(json.loads(out))
    assert runs[0]["root"].startswith("0x") and len(runs[0]["root"]) == 66
    assert runs[0]["root"] == runs[1]["root"]
    options = [r["options"] | {"series": [{k: v for k, v in s.items() if k != "expiry_s"} for s in r["options"]["series"]]} for r in runs]
    assert options[0]["series"] and options[0] == options[1], "the same trades, payoffs and margins (expiry is a unix time)"


@pytest.mark.anvil
def test_demo_on_anvil(capsys, tmp_path):
    code, out, err = run(capsys, "--json", "demo", *SMALL, "--anvil", "--out", str(tmp_path / "demo"))
    assert code == 0, err
    summary = json.loads(out)
    assert summary["chain"].startswith("anvil (chain id 31337)")
    _check_outputs(tmp_path / "demo", summary)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--accounts", "1"], "Invalid value for '--accounts'"),
        (["--anvil", "--rpc", "http://127.0.0.1:9"], "give either --rpc URL or --anvil, not both"),
        (["--rpc", "http://127.0.0.1:{port}"], "cannot reach the RPC at http://127.0.0.1:"),
    ],
)
def test_demo_bad_input(capsys, tmp_path, args, message):
    port = devnet.free_port()
    code, out, err = run(capsys, "demo", *[a.replace("{port}", str(port)) for a in args], "--out", str(tmp_path / "d"))
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "d").exists()
    assert not list(tmp_path.iterdir()), "nothing written"


def test_demo_refuses_a_chain_without_devnet_time_control(tmp_path):
    """On a public testnet the demo cannot set block timestamps: one clear error before anything is sent."""
    from pymargin.chain.devnet import Chain
    from pymargin.demo import DemoConfig, run_demo
    from pymargin.errors import UserError

    testnet = Chain(w3=None, kind="rpc", url="https://rpc.sepolia.example")
    with pytest.raises(UserError, match="needs a devnet"):
        run_demo(DemoConfig(out_dir=tmp_path / "d"), testnet)
    assert not list(tmp_path.iterdir())
