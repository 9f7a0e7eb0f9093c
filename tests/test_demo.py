"""The demo end to end at small size, on the embedded devnet and on anvil, and its bad input."""

from __future__ import annotations

import json

import pytest

from pymargin.chain import devnet
from cli_support import run_cli as run

SMALL = ["--accounts", "8", "--steps", "4", "--batch-log2", "3", "--workers", "1"]




def _check_outputs(out_dir, summary: dict) -> None:
    assert summary["ok"] is True
    assert summary["crosscheck_mismatches"] == 0 and summary["crosscheck_values"] > 100
    assert all(summary["verifiers"].values()) and len(summary["verifiers"]) == 3
    assert summary["inclusion"] == {"python": True, "on-chain": True}
    assert summary["audit"] == {"root rebuilt from the engine = posted root": True}
    assert summary["reserves_wad"] >= summary["liabilities_wad"] > 0
    assert summary["checkpoint_id"] == 1 and summary["checkpoint_block"] > 0 and summary["fills_after_checkpoint"] > 0
    epoch = json.loads((out_dir / "epoch.json").read_text())
    assert epoch["statement"]["totals"]["liabilities_wad"] == str(summary["liabilities_wad"])
    assert 150_000 < summary["verify_gas"] < 300_000
    for name in ("report.html", "verify.html", "epoch.json", "summary.json", "margin_ratios.png", "price_path.png"):
        assert (out_dir / name).is_file(), name
    assert len(list((out_dir / "inclusion").glob("*.json"))) == 1
    assert json.loads((out_dir / "summary.json").read_text())["root"] == summary["root"]


def test_demo_on_the_embedded_devnet(capsys, tmp_path):
    out_dir = tmp_path / "demo"
    code, out, err = run(capsys, "--json", "demo", *SMALL, "--out", str(out_dir))
    assert code == 0, err
    _check_outputs(out_dir, json.loads(out))
    assert not [p for p in tmp_path.iterdir() if p.name != "demo"], "no temporary folder left behind"


def test_demo_is_reproducible(capsys, tmp_path):
    """Same seed, same book: the same commitment root (the proof itself is randomised)."""
    roots = []
    for name in ("a", "b"):
        code, out, err = run(capsys, "--json", "demo", *SMALL, "--steps", "2", "--out", str(tmp_path / name))
        assert code == 0, err
        roots.append(json.loads(out)["root"])
    assert roots[0] == roots[1]


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
