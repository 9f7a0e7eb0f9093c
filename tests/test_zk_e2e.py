"""End to end: deploy the MarginEngine, trade, commit the engine's state, prove, post the epoch to the
SolvencyRegistry, verify on-chain, check reserves and a user's inclusion.

A 16-account book (8 users × 2 sub-accounts, 3 markets) in two chained batches of 8. The library
path runs on the test chain (embedded, or anvil with --anvil); the CLI path (`pymargin prove`,
`verify --rpc`, `post-epoch`) runs against a fresh anvil node.
"""

from __future__ import annotations

import json
import random

from pymargin.chain import tx
from pymargin.chain.compile import compile_contracts
from pymargin.chain.engine_devnet import TX_GAS, default_markets, deploy_engine, mirror, order_signer
from pymargin.cli import main as cli_main
from pymargin.chain import commitments as commit_onchain
from pymargin.commit.commitment import commit_accounts
from pymargin.fixedpoint import WAD
from pymargin.chain import solvency as onchain
from pymargin.zk import circuits, inputs
from pymargin.zk.backends import Groth16pyBackend
from pymargin.zk.solvency import prove_epoch

K, M, DEPTH = 3, 4, 4
SECRET = bytes(range(100, 132))
ANVIL_KEY_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # well-known anvil test key


def _trade_book(chain, seed: int = 1):
    """Deploy the engine with 3 markets, 8 users × subs 0 and 1 deposit and trade: 16 accounts."""
    signers = [tx.node_signer(chain, i) for i in range(10)]
    owner, operator, users = signers[0], signers[1], signers[2:10]
    dep = deploy_engine(chain, owner, default_markets(), operators=(operator.address,))
    rng = random.Random(seed)
    orders = order_signer(dep)
    for user in users:
        dep.token.transact("mint", user.address, 10**12, sender=user, gas=TX_GAS)
        dep.token.transact("approve", dep.engine.address, 2**256 - 1, sender=user, gas=TX_GAS)
        for sub in (0, 1):
            dep.engine.transact("deposit", sub, rng.randrange(10**10, 10**11), sender=user, gas=TX_GAS)
    for i in range(0, 8, 2):  # pairs trade in every market, cross (sub 0) and isolated (sub 1 in market 1 only)
        taker, maker = users[i], users[i + 1]
        for market_id, spec in enumerate(dep.specs):
            size = rng.randrange(1, 20) * WAD // 10
            dep.engine.transact("trade", *orders.fill(market_id, taker.address, 0, maker.address, 0, size, spec.price_wad), sender=operator, gas=TX_GAS)
        dep.engine.transact("trade", *orders.fill(1, taker.address, 1, maker.address, 1, -WAD // 100, dep.specs[1].price_wad), sender=operator, gas=TX_GAS)
    return dep, owner, operator


def _deploy_registry(chain, owner, operator, engine_address):
    circuit = circuits.solvency(K, M, DEPTH - K)
    keys = Groth16pyBackend().setup(circuit)
    verifier, _ = onchain.deploy_verifier(chain, keys, owner)
    hashers = commit_onchain.deploy_hashers(chain, owner)
    registry = onchain.deploy_registry(chain, owner, verifier, engine_address, hashers, k=K, m=M, depth=DEPTH, operator=operator.address)
    return keys, verifier, registry


def test_engine_to_verified_epoch(chain):
    compile_contracts()
    dep, owner, operator = _trade_book(chain)
    engine = mirror(dep)
    accounts, views = engine.accounts(), engine.market_views()
    assert len(accounts) == 16 and sum(len(a.positions) for a in accounts) >= 20
    commitment = commit_accounts(accounts, views, SECRET, epoch=1, depth=DEPTH)
    keys, verifier, registry = _deploy_registry(chain, owner, operator, dep.engine.address)
    ctx = inputs.EpochContext(1, chain.chain_id, int(registry.address, 16), DEPTH, inputs.market_table(views, M), commitment.root)
    epoch, _ = prove_epoch(commitment, SECRET, ctx, K, M, "groth16py")
    assert all(onchain.verify_onchain(verifier, p) for p in epoch.proofs)
    receipt = onchain.post_epoch(registry, epoch, operator)
    reserves = dep.engine.call("reservesWad")
    posted = registry.call("epochs", 1)
    assert tuple(posted[:4]) == (commitment.root.hash, commitment.root.equity, commitment.root.mm, reserves)
    assert reserves >= commitment.root.equity > 0
    assert receipt.gasUsed < onchain.POST_GAS_BASE + onchain.POST_GAS_PER_BATCH * 2
    # a user checks their own account against the posted root
    index = commitment.index_of(accounts[3].account_id)
    leaf = commitment.leaf(index, SECRET)
    node = commitment.tree.node(0, index)
    siblings = [commit_onchain.node_arg(n) for n in commitment.tree.siblings(index)]
    assert registry.call("verifyInclusionAt", 1, commit_onchain.leaf_arg(leaf), node.equity, node.mm, index, siblings)


def test_cli_prove_verify_post_on_anvil(anvil_chain, tmp_path, monkeypatch):
    chain = anvil_chain
    compile_contracts()
    dep, owner, operator = _trade_book(chain, seed=2)
    engine = mirror(dep)
    keys, verifier, registry = _deploy_registry(chain, owner, operator, dep.engine.address)
    book = {
        "markets": [{"id": str(i), "name": s.name, "price_wad": str(v.price_wad), "funding_index_wad": str(v.funding_index_wad),
                     "imf_wad": str(v.imf_wad), "mmf_wad": str(v.mmf_wad)} for (i, v), s in zip(engine.market_views().items(), dep.specs)],
        "accounts": [{"owner": a.owner, "sub": str(a.sub), "collateral": str(a.collateral),
                      "positions": [{"market_id": str(p.market_id), "size": str(p.size), "cost_basis": str(p.cost_basis),
                                     "funding_index": str(p.funding_index)} for p in a.positions.values()]} for a in engine.accounts()],
    }
    (tmp_path / "book.json").write_text(json.dumps(book))
    (tmp_path / "secret.hex").write_text(SECRET.hex())
    out = tmp_path / "epoch.json"
    cli_main(["prove", str(tmp_path / "book.json"), "--epoch", "5", "--depth", str(DEPTH), "--batch-log2", str(K),
              "--chain-id", str(chain.chain_id), "--registry", registry.address, "--secret-file", str(tmp_path / "secret.hex"),
              "--out", str(out), "--backend", "groth16py", "--workers", "2"])
    cli_main(["verify", str(out), "--vk", str(keys.vk_path), "--rpc", chain.url, "--verifier", verifier.address])
    monkeypatch.setenv("PYMARGIN_PRIVATE_KEY", ANVIL_KEY_1)  # the operator is anvil's account 1
    cli_main(["post-epoch", str(out), "--rpc", chain.url, "--registry", registry.address])
    assert registry.call("lastEpoch") == 5 and registry.call("hasEpoch")
