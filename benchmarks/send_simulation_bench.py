"""Cost of simulating every fixed-gas transaction before sending it (pymargin.chain.tx.send).

Sends 40 `mint` transactions with explicit gas on the embedded chain and on anvil, with the eth_call
simulation and with it replaced by a no-op, and prints the time per transaction.

    .venv/bin/python benchmarks/send_simulation_bench.py
"""

from __future__ import annotations

import time

from pymargin.chain import devnet, tx
from pymargin.chain.engine_devnet import TX_GAS, default_markets, deploy_engine

SENDS = 40


def main() -> None:
    for kind in ("embedded", "anvil"):
        chain = devnet.embedded() if kind == "embedded" else devnet.start_anvil()
        owner = tx.node_signer(chain, 0)
        dep = deploy_engine(chain, owner, default_markets())
        real = tx.simulate
        try:
            for label, simulate in (("with simulation", real), ("without", lambda *args, **kwargs: b"")):
                tx.simulate = simulate
                started = time.perf_counter()
                for i in range(SENDS):
                    dep.token.transact("mint", owner.address, 10**6 + i, sender=owner, gas=TX_GAS)
                print(f"{kind:8} {label:16} {(time.perf_counter() - started) / SENDS * 1000:6.1f} ms per fixed-gas transaction")
        finally:
            tx.simulate = real
            chain.close()


if __name__ == "__main__":
    main()
