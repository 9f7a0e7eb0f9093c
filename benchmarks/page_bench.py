"""The verification page's size and speed (docs/spec.md §6.6).

Usage (from the checkout; writes benchmarks/page_results.md and prints it):

    .venv/bin/python benchmarks/page_bench.py

Runs the page's own inline script in node (the same JavaScript engine family as Chromium's V8):
the offline check of one inclusion proof at depths 3, 20 and 32 (a random six-account book, the
account with four positions), and one Poseidon_6. Chromium adds its start-up (~1-3 s per load).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from commit_books import random_book  # noqa: E402

from pymargin.commit.commitment import commit_accounts  # noqa: E402
from pymargin.commit.inclusion import proof_document  # noqa: E402
from pymargin.page import page_html  # noqa: E402

SECRET = bytes(range(32))
RUNS = 5
DRIVER = """
(async () => {
  const out = {};
  for (const [depth, doc] of Object.entries(DATA)) {
    await runVerification(doc, "", "");  // warm-up (parses the constants once)
    const start = process.hrtime.bigint();
    for (let i = 0; i < %d; i++) if (!(await runVerification(doc, "", "")).result.ok) throw new Error("proof failed");
    out[depth] = Number(process.hrtime.bigint() - start) / 1e6 / %d;
  }
  const start = process.hrtime.bigint();
  for (let i = 0; i < 200; i++) poseidon([1n, 2n, 3n, 4n, 5n, 6n]);
  out.poseidon6 = Number(process.hrtime.bigint() - start) / 1e6 / 200;
  console.log(JSON.stringify(out));
})();
""" % (RUNS, RUNS)


def main() -> None:
    html = page_html()
    (script,) = re.findall(r"<script>(.*)</script>", html, re.S)
    accounts, markets = random_book(4, 6)
    docs = {}
    for depth in (3, 20, 32):
        commitment = commit_accounts(accounts, markets, SECRET, epoch=1, depth=depth)
        index = max(range(len(accounts)), key=lambda i: len(commitment.accounts[i].positions))
        docs[depth] = proof_document(commitment, index, SECRET)
    source = "globalThis.window = { addEventListener() {} };\n" + script + f"\nconst DATA = {json.dumps(docs)};\n" + DRIVER
    run = subprocess.run(["node", "-"], input=source, capture_output=True, text=True, cwd=ROOT, check=True)
    ms = json.loads(run.stdout)
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Verification page: size and speed",
        "",
        f"`.venv/bin/python benchmarks/page_bench.py` (node {node}, mean of {RUNS} runs after a warm-up, one core).",
        "",
        f"- verify.html: {len(html.encode()):,} bytes, self-contained (Poseidon constants for t = 5, 6, 7 inlined)",
        f"- one Poseidon_6 (BigInt, reference permutation): {ms['poseidon6']:.2f} ms",
        "",
        "| tree depth | offline check of one proof (ms) |",
        "|---:|---:|",
        *(f"| {d} | {ms[str(d)]:.1f} |" for d in (3, 20, 32)),
        "",
    ]
    text = "\n".join(lines)
    (ROOT / "benchmarks" / "page_results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
