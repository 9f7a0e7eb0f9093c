"""Project a 10^6-account epoch from the measured figures in benchmarks/zk_results.json.

Usage (from the checkout; writes benchmarks/epoch_projection.md):

    .venv/bin/python benchmarks/epoch_projection.py [--accounts 1000000] [--cores 2]

Every figure is a formula over inputs read from zk_results.json (written by zk_bench.py,
batch_size_bench.py and epoch_at_scale.py), so re-running those benchmarks (after a circuit with
fewer constraints, or a batched postEpoch) and then this script updates the projection.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK_GAS_LIMIT = 30_000_000  # anvil's default block gas limit (Ethereum mainnet: 36M in 2026)


def _default_row(results: dict) -> tuple[str, dict]:
    """(key, row): the measured batch at the default K with a groth16py rate, side-by-side rows (one
    development zkey for both provers) first, then the largest T."""
    k = results["default_k"]
    for key in ("batch_sizes_side_by_side", "batch_sizes"):
        rows = [r for r in results.get(key, []) if r["k"] == k and "groth16py_accounts_per_cpu_s" in r]
        if rows:
            return key, max(rows, key=lambda r: r["t"])
    raise SystemExit(f"no measured batch at default_k = {k} in zk_results.json")


def _gas_line(results: dict, batches: int) -> tuple[int, str, str]:
    """(postEpoch gas for ``batches`` batches, the formula, where its inputs come from)."""
    fit = (results.get("post_epoch_gas_by_batches") or {}).get("fit")
    if fit:
        fixed, per = fit["base_gas"], fit["per_batch_gas"]
        return (round(fixed + per * batches), f"{fixed:,} + {per:,} × batches (the batched postEpoch, fitted on 1–64 batches)",
                "post_epoch_gas_by_batches.fit")
    e = results.get("epoch_at_scale")
    if e:
        per = int(e["post_epoch_gas"]) / e["batch_count"]
        return round(per * batches), f"{per:,.0f} per batch × batches (the measured postEpoch of {e['batch_count']} batches, fixed part spread over them)", "epoch_at_scale.post_epoch_gas"
    book = results["book"]
    per = book["postEpoch_gas_per_batch"]
    return round(per * batches), f"{per:,.0f} per batch × batches (the measured postEpoch of {book['batches']} batches, fixed part spread over them)", "book.postEpoch_gas_per_batch"


def _transactions_line(results: dict, batches: int) -> tuple[str, str] | None:
    """(formula, value) of the transactions that post ``batches`` batches in parts of at most one 30M-gas
    block each, from the fitted beginEpoch / continueEpoch lines (``post_epoch_parts``); None if unmeasured."""
    parts = results.get("post_epoch_parts")
    if not parts:
        return None
    b0, b1, c0, c1 = (parts[key] for key in ("begin_fixed_gas", "begin_per_batch_gas", "continue_fixed_gas", "continue_per_batch_gas"))
    first = min((BLOCK_GAS_LIMIT - b0) // b1, batches)
    per_part = (BLOCK_GAS_LIMIT - c0) // c1
    later = -(-(batches - first) // per_part)  # Ceil
    gas = b0 + b1 * first + c0 * later + c1 * (batches - first)
    formula = (f"1 beginEpoch of ⌊({BLOCK_GAS_LIMIT / 1e6:.0f}M − {b0:,}) / {b1:,}⌋ = {first:,} batches, then continueEpoch parts "
               f"of ⌊({BLOCK_GAS_LIMIT / 1e6:.0f}M − {c0:,}) / {c1:,}⌋ = {per_part:,} (`post_epoch_parts`)")
    return formula, f"**{1 + later:,} transactions**, {gas:,} gas in all"


def project(results: dict, n: int, cores: int) -> str:
    row_key, row = _default_row(results)
    e = results.get("epoch_at_scale")
    k = results["default_k"]
    batch = 1 << k
    batches = math.ceil(n / batch)
    measured = results["accounts_per_s_per_core"]
    cpa_then, cpa_now = measured["constraints_per_account"], results["constraints_per_account"]
    rate_core = measured["value"] * cpa_then / cpa_now  # proving time ∝ constraints: rescaled to today's circuit
    prove_h = n / (rate_core * cores) / 3600
    workers_1h = math.ceil(n / (rate_core * 3600))
    commit_s = results.get("commit_2_20_s")
    commit_note = "commit_2_20_s (2^20 accounts, measured)"
    if isinstance(commit_s, dict):  # {wall_s, cpu_s, load_avg_before, idle_wall_s, …}: the idle measurement when there is one
        idle = "idle_wall_s" in commit_s
        commit_note = (f"commit_2_20_s.{'idle_wall_s' if idle else 'wall_s'} × {n:,} / 2^20 (2^20 accounts measured on 2 cores, "
                       f"load average {commit_s.get('idle_load_before' if idle else 'load_avg_before')}; linear)")
        commit_s = commit_s["idle_wall_s" if idle else "wall_s"] * n / 2**20
    if commit_s is None:
        src = e or {"commit_s": results["book"]["commit_s"], "account_count": results["book"]["book_accounts"]}
        commit_s = src["commit_s"] * n / src["account_count"]
        commit_note = (f"commit_s × {n:,} / {src['account_count']:,} (linear, from {'epoch_at_scale' if e else 'book'}; wall seconds"
                       + (f" at load average {e['commit_load_avg']}" if e else "") + ")")
    rss = int(row["groth16py_peak_rss_bytes"])
    gas, gas_formula, gas_source = _gas_line(results, batches)
    txs = _transactions_line(results, batches)
    calldata_per_batch = int(e["post_epoch_calldata_bytes"]) / e["batch_count"] if e else None
    calldata = round(calldata_per_batch * batches) if e else None
    key_after = results["key_load_s"].get("after_s")
    key_after = (f"{row['groth16py_key_load_cpu_s']} CPU s at K = {k} (`{row_key}`)" if "groth16py_key_load_cpu_s" in row
                 else f"{key_after} s" if key_after is not None else "not measured at K = 6 today")
    lines = [
        "# A 10^6-account epoch, projected from measured rates",
        "",
        "Generated by `.venv/bin/python benchmarks/epoch_projection.py"
        + (f" --accounts {n}" if n != 10**6 else "") + (f" --cores {cores}" if cores != 2 else "") + "` from",
        "`benchmarks/zk_results.json`; re-run it after re-measuring. Inputs (key in zk_results.json, the command that measured it):",
        "",
        "| input | value | key | command |",
        "|---|---|---|---|",
        f"| accounts per batch (default K = {k}) | {batch} | `default_k` | chosen in zk_results.md |",
        f"| constraints per batch circuit at K = {k} (measured) | {row['constraints']:,} | `{row_key}[k={k}].constraints` | `{row['command']}` |",
        f"| accounts/s per core measured (witness + proof, CPU seconds) | {measured['value']} at {cpa_then:,} constraints per account | `accounts_per_s_per_core` | `{measured['command']}` |",
        f"| constraints per account now | {cpa_now:,} | `constraints_per_account` | `benchmarks/zk_bench.py` (zk_results.md) |",
        f"| accounts/s per core now | measured × {cpa_then:,} / {cpa_now:,} = {rate_core:.3f} | (proving time ∝ constraints) | |",
        f"| peak memory of one proof at K = {k} | {rss / 2**20:,.0f} MiB | `{row_key}[k={k}].groth16py_peak_rss_bytes` | `{row['command']}` |",
        f"| key load of a fresh worker | {results['key_load_s']['before_cpu_s']} CPU s (proving_key.bin); development zkey (import_zkey): "
        + key_after + f" | `key_load_s` | `{results['key_load_s']['command']}` |",
        f"| commit of the book | {commit_s:,.1f} s | {commit_note} | zk_results.md |",
        f"| postEpoch gas | see formula | `{gas_source}` | zk_results.md |",
        (f"| beginEpoch / continueEpoch gas | see formula | `post_epoch_parts` | `{results['post_epoch_parts']['command']}` |"
         if txs else "| beginEpoch / continueEpoch gas | not measured | `post_epoch_parts` | |"),
        (f"| postEpoch calldata | {int(e['post_epoch_calldata_bytes']):,} bytes for {e['batch_count']} batches | `epoch_at_scale.post_epoch_calldata_bytes` | `{e['command']}` |"
         if e else "| postEpoch calldata | not measured (epoch_at_scale did not finish) | | |"),
        "",
        f"## Projection for N = {n:,} accounts",
        "",
        "| figure | formula | value |",
        "|---|---|---|",
        f"| batches | ⌈N / 2^K⌉ | {batches:,} |",
        f"| proving hours on {cores} cores | N / (accounts/s per core × {cores}) / 3600 | **{prove_h:,.1f} h** |",
        f"| Ray workers (1 core each) to prove in one hour | ⌈N / (accounts/s per core × 3600)⌉ | **{workers_1h:,}** |",
        f"| memory per worker | peak RSS of one K = {k} proof (key held) | **{rss / 2**30:,.2f} GiB** |",
        f"| commit (leaves + tree) | see input | {commit_s / 60:,.1f} min |",
        f"| postEpoch gas per epoch | {gas_formula} | **{gas:,}** ({gas / BLOCK_GAS_LIMIT:,.1f} blocks of {BLOCK_GAS_LIMIT / 1e6:.0f}M gas) |",
        (f"| posted in parts (one transaction ≤ one {BLOCK_GAS_LIMIT / 1e6:.0f}M-gas block) | {txs[0]} | {txs[1]} |" if txs
         else "| posted in parts | (needs `registry_gas.py --parts`) | — |"),
        (f"| postEpoch calldata per epoch | {calldata_per_batch:,.0f} bytes per batch × batches | **{calldata / 2**20:,.2f} MiB** |"
         if e else "| postEpoch calldata per epoch | (needs epoch_at_scale) | — |"),
        f"| gas per account | gas per epoch / N | {gas / n:,.0f} |",
        "",
        "Caveats: rates are CPU-second rates measured on a machine shared with seven other engineers",
        "(load averages recorded beside each figure in zk_results.json), so hours are upper bounds for an idle",
        "core; the projection is linear in N (proving is per batch; the tree adds one level per doubling).",
        "The gas and calldata lines are the batched registry's, measured (epoch_at_scale: one postEpoch of",
        f"{e['batch_count'] if e else '—'} batches); a transaction also has the EIP-7825 cap of 2^24 gas since Osaka, under",
        "which an epoch takes about twice as many transactions (58 at K = 6: benchmarks/registry_gas.md, `post-epoch --max-gas-per-tx`).",
        (f"The end-to-end run of {e['account_count']:,} accounts proved at {e['accounts_per_s']} accounts/s on 2 cores at load average"
         f" {e['prove_load_avg']} (zk_results.md), i.e. {e['account_count'] / e['accounts_per_s'] / 3600:.2f} h; the CPU rate above is the idle-core figure." if e else ""),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=10**6)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "zk_results.json")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "epoch_projection.md")
    args = parser.parse_args()
    text = project(json.loads(args.results.read_text()), args.accounts, args.cores)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
