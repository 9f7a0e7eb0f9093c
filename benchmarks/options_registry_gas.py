"""Gas of posting an epoch over a book with options (OptionsSolvencyRegistry.postEpochWithOptions) against a
perp-only postEpoch of the same engine checkpoint (docs/spec.md §7.5, §7.9).

Usage (from the checkout; prints the Markdown table for benchmarks/registry_gas.md, "Epochs with options"):

    .venv/bin/python benchmarks/options_registry_gas.py

Embedded devnet (py-evm; gas is the same on anvil). K = 1, T = 1 (2 batches), M = 4, one engine market; the
engine and the options module are TestEngineCheckpoints and TestOptionsCheckpoints (they store the checkpoints'
keccak256 as the real ones do: one external call and one SLOAD each), the verifier TestBatchVerifier for both
posts: the Groth16 batch check costs the same with or without options (four public signals per batch), so the
difference between the two columns is the options part of the statement — the options checkpoint's calldata
and keccak256, the module's two views and OptionsStatement's hashes (per row two Poseidon8, one Poseidon_4,
two Poseidon_3; the perp rows' Poseidon_2). Options data: U = 1 underlying, R rows, every row a series
(random full-precision arrays; none settled, so every row hashes its array), transaction gas incl. 21,000.
"""

from __future__ import annotations

import random
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_options_epoch import random_options_data  # noqa: E402
from test_registry import FakeProof, random_checkpoint, random_totals  # noqa: E402

from pymargin.chain import devnet  # noqa: E402
from pymargin.chain import solvency as onchain  # noqa: E402
from pymargin.chain.commitments import deploy_hashers  # noqa: E402
from pymargin.chain.compile import compile_contracts  # noqa: E402
from pymargin.chain.contracts import deploy_contract  # noqa: E402
from pymargin.chain.tx import node_signer  # noqa: E402
from pymargin.commit.poseidon import P  # noqa: E402
from pymargin.commit.tree import Node  # noqa: E402
from pymargin.zk import statement as st  # noqa: E402
from pymargin.zk.portfolio import PortfolioShape  # noqa: E402
from pymargin.zk.solvency import EpochProof  # noqa: E402

SHAPE = st.Shape(k=1, t=1, m=4)
ROWS = (2, 4, 8)


def main() -> None:
    compile_contracts()
    chain = devnet.embedded()
    owner = node_signer(chain, 0)
    hashers = onchain.deploy_options_hashers(chain, owner, deploy_hashers(chain, owner))
    engine, _ = deploy_contract(chain, "TestEngineCheckpoints", 4, sender=owner)
    module, _ = deploy_contract(chain, "TestOptionsCheckpoints", sender=owner)
    verifier, _ = deploy_contract(chain, "TestBatchVerifier", sender=owner)
    poseidon8 = hashers[8]
    p8 = onchain.send(chain, owner, {"to": poseidon8.address, "data": poseidon8.functions.poseidon([P - 1 - i for i in range(8)])
                                      ._encode_transaction_data()}, gas=3_000_000).gasUsed
    rng = random.Random(20261202)
    rows = []
    for r in ROWS:
        oshape = PortfolioShape(u=1, k=r, p=2)
        registry = onchain.deploy_options_registry(chain, owner, verifier, verifier, engine.address, hashers, SHAPE, oshape)
        cp = random_checkpoint(rng, 2 * r, markets=1)
        engine.transact("record", cp.to_abi(), sender=owner)
        data = random_options_data(rng, cp.id, 1, 1, r)
        data = replace(data, series=tuple(replace(s, settled=False) for s in data.series))
        while len(data.series) < r:  # every row a series
            last = data.series[-1]
            data = replace(data, series=data.series + (replace(last, series_id=last.series_id + 1),))
        module.transact("record", data.to_abi(), sender=owner)
        totals = random_totals(rng, onchain.user_reserves_wad(cp) // 2)
        root = Node(rng.randrange(P), totals.liabilities_wad, totals.mm_wad)
        chain_id, reg, eng = chain.chain_id, int(registry.address, 16), int(engine.address, 16)
        perp = onchain.registry_statement(SHAPE, chain_id, reg, eng, cp, root, totals)
        with_options = onchain.registry_options_statement(SHAPE, oshape, chain_id, reg, eng, cp, data, root, totals)
        gas = {}
        for name, statement in (("perp", perp), ("options", with_options)):
            states = tuple(rng.randrange(P) for _ in range(3))
            ctx = st.context_hash(statement)
            for k in range(2):
                verifier.transact("accept", list(st.batch_public_signals(ctx, k, states[k], states[k + 1])), sender=owner)
            epoch = EpochProof(statement, states, (FakeProof(),) * 2, "bench", "bench")
            snapshot = chain.snapshot()
            engine.transact("setOptionsModule", module.address if name == "options" else "0x" + "00" * 20, sender=owner)
            post = onchain.post_epoch if name == "perp" else lambda *a: onchain.post_epoch_with_options(*a[:3], data, a[3])
            gas[name] = post(registry, epoch, cp, owner).gasUsed
            chain.revert(snapshot)
        rows.append((r, gas["perp"], gas["options"]))
    print(f"Poseidon8 (contracts/commit/Poseidon8.sol) transaction: {p8:,} gas\n")
    print("| U | R (rows) | postEpoch (perp-only) | postEpochWithOptions | difference | per row |")
    print("|---|---|---|---|---|---|")
    for r, perp_gas, options_gas in rows:
        print(f"| 1 | {r} | {perp_gas:,} | {options_gas:,} | {options_gas - perp_gas:,} | {(options_gas - perp_gas) // r:,} |")


if __name__ == "__main__":
    main()
