"""Benchmark: `pymargin commit` of a book of 2^k accounts end to end (read the positions file, leaves, tree,
write the outputs): wall time, CPU time, output bytes and files, for the SQLite proofs file (the default)
and with --json-proofs (one JSON file per account, what commit wrote before proofs.sqlite).

    .venv/bin/python benchmarks/commit_bench.py --sizes 16,20 --out benchmarks/commit_results.md
    .venv/bin/python benchmarks/commit_bench.py --sizes 16 --code /path/to/an/old/checkout  # "before"

The book is tree_bench.py's (1-4 positions per account, 4 markets), written once per size as JSON.
--code runs the pymargin package found in that folder instead of this checkout's (its commit then writes
what that version writes: before proofs.sqlite, one JSON proof per account).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
SECRET_HEX = "ab" * 32


def _book(log2: int, folder: Path) -> Path:
    from tree_bench import make_book

    from pymargin.book import Book, save_book

    path = folder / f"book-{log2}.json"
    if not path.exists():
        accounts, markets = make_book(2**log2)
        save_book(Book(markets, {m: f"M{m}" for m in markets}, accounts), path)
    return path


def _tree_size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def run_commit(book: Path, out: Path, extra: list[str], code: Path | None) -> dict:
    env = dict(os.environ, PYMARGIN_COMMIT_SECRET=SECRET_HEX)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pymargin", "--json", "commit", str(book), "--epoch", "1",
                           "--out", str(out), "--workers", "2", *extra], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"commit failed: {proc.stderr.strip()}")
    data = json.loads(proc.stdout)
    size, files = _tree_size(out)
    return {"wall_s": round(wall, 2), "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2),
            "build_s": data.get("build_seconds"), "output_bytes": size, "output_files": files,
            "root": data["root"]["hash"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="16,20")
    parser.add_argument("--json-proofs", action="store_true", help="also time commit --json-proofs")
    parser.add_argument("--code", type=Path, default=None, help="run the pymargin package in this folder")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pymargin-commit-bench")
    parser.add_argument("--out", type=Path, default=None, help="append a Markdown table here")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    modes = [("default", [])] + ([("--json-proofs", ["--json-proofs"])] if args.json_proofs and args.code is None else [])
    rows = []
    for log2 in (int(s) for s in args.sizes.split(",")):
        book = _book(log2, args.work)
        for mode, extra in modes:
            out = args.work / f"out-{log2}"
            shutil.rmtree(out, ignore_errors=True)
            load = os.getloadavg()[0]
            row = {"log2": log2, "mode": mode if args.code is None else f"code at {args.code}", "load_before": round(load, 2),
                   **run_commit(book, out, extra, args.code)}
            shutil.rmtree(out, ignore_errors=True)
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.out:
        command = " ".join(["benchmarks/commit_bench.py", *sys.argv[1:]])
        lines = [f"\n### {time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} CPUs, workers=2\n",
                 f"Command: `.venv/bin/python {command}`\n",
                 "| accounts | outputs | wall (s) | CPU (s) | tree build (s) | output bytes | files | load avg before |",
                 "|---|---|---|---|---|---|---|---|"]
        lines += [f"| 2^{r['log2']} | {r['mode']} | {r['wall_s']} | {r['cpu_s']} | {r['build_s']} | {r['output_bytes']:,} | "
                  f"{r['output_files']:,} | {r['load_before']} |" for r in rows]
        with open(args.out, "a") as handle:
            handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
