"""`pymargin risk ...`: help with examples, JSON output, atomic PNG/JSON outputs, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from output_rules import check_output
from pymargin.cli import cli
from pymargin.cli.risk_cmds import risk

MAIN = [sys.executable, "-c", "from pymargin.cli import main; main()"]
COMMANDS = ["var", "calibrate", "backtest", "dynamic", "scenario", "benchmark", "margin-call", "mining"]


def _run(args):
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_an_example(command):
    assert "Example:" in _run(["risk", command, "--help"])
    assert command in risk.commands


def test_calibrate_json_writes_config_and_chart(tmp_path):
    out = json.loads(_run(["--json", "risk", "calibrate", "btc", "eth", "--out", str(tmp_path)]))
    written = json.loads((tmp_path / "markets.json").read_text())
    assert written["markets"] == out["markets"]
    assert [m["name"] for m in out["markets"]] == ["btc", "eth"]
    assert all(isinstance(m["imf_wad"], str) and int(m["imf_wad"]) > int(m["mmf_wad"]) for m in out["markets"])  # docs/output.md
    assert (tmp_path / "calibration.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*tmp"))


def test_scenario_uses_the_calibrated_range(tmp_path):
    _run(["--json", "risk", "calibrate", "btc", "--out", str(tmp_path)])
    imf = int(json.loads((tmp_path / "markets.json").read_text())["markets"][0]["imf_wad"]) / 1e18
    out = json.loads(_run(["--json", "risk", "scenario", "-p", "btc:1", "--config", str(tmp_path / "markets.json"), "--out", str(tmp_path / "s")]))
    assert out["states"]["btc"]["price_range"] == pytest.approx(imf)
    assert out["requirement"] == pytest.approx(1.05 * imf * out["states"]["btc"]["price"])
    assert (tmp_path / "s" / "scenario.png").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["risk", "backtest", "btc", "--window", "300", "-m", "historical"],
        ["risk", "margin-call", "btc", "--size", "1", "--start", "2020-02-20", "--days", "30", "--topup", "1000"],
        ["risk", "mining", "--lookback", "400"],
        ["risk", "var", "btc", "eth", "-w", "1", "-w", "-1", "-m", "normal"],
    ],
)
def test_commands_emit_json_and_charts(tmp_path, args):
    data = check_output(f"risk-{args[1]}", _run(["--json", *args, *(["--out", str(tmp_path)] if args[1] != "var" else [])]))
    assert data
    if args[1] != "var":
        assert list(tmp_path.glob("*.png"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["risk", "var", "btc", "-c", "1.5"], "confidence level must be in (0.5, 1)"),
        (["risk", "var", "nosuch.csv"], "not found"),
        (["risk", "backtest", "btc", "--fraction", "2"], "--fraction must be in (0, 1]"),
        (["risk", "scenario", "-p", "btc:x"], "bad position"),
    ],
)
def test_errors_are_one_line(args, message):
    proc = subprocess.run([*MAIN, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pymargin: error:") and message in lines[0]


def test_malformed_data_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,close\n2024-01-01,1\n2024-01-02,oops\n2024-01-03,2\n")
    proc = subprocess.run([*MAIN, "risk", "var", str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "line 3" in proc.stderr
