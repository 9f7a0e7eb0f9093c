"""Prove and verify a solvency epoch: every batch of the committed book, chained (docs/spec.md §7).

:func:`prove_epoch` splits the tree into batches of 2^k leaves, computes each batch's witness with
the circuit's generator and proves it with a backend, in parallel worker processes on this
machine (``workers``) or on a Ray cluster (``ray_address``; ``"local"`` starts one here) through
the same job function. Groth16 proofs are randomised, so two runs give different proofs of the
same public signals; every proof verifies.

An :class:`EpochProof` saved as JSON holds the epoch context, the chain states and every batch's
proof: anyone with the verifying key re-verifies it with :func:`verify_epoch` (py-ecc).
"""

from __future__ import annotations

import json
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from pymargin.commit.commitment import Commitment
from pymargin.commit.tree import Node
from pymargin.errors import UserError
from pymargin.fsutil import atomic_write_text, read_json
from pymargin.model import MarketView
from pymargin.zk import circuits
from pymargin.zk.backends import get_backend
from pymargin.zk.circom import Circuit
from pymargin.zk.inputs import BatchInput, EpochContext, batch_inputs, batch_public_hash, context_hash, state_hash
from pymargin.zk.proof import Proof, VerifyingKey
from pymargin.zk.setup import Keys
from pymargin.zk.verify import pairing_check
from pymargin.zk.wellformed import proof_defect
from pymargin.zk.witness import compute_witness

EPOCH_FORMAT = "pymargin-solvency-epoch/1"


@dataclass(frozen=True)
class EpochProof:
    """An epoch's proofs: context, batch size 2^k, markets m, chain states S_0..S_n, one proof per batch."""

    ctx: EpochContext
    k: int
    m: int
    states: tuple[int, ...]  # state hashes; batch i goes from states[i] to states[i + 1]
    proofs: tuple[Proof, ...]
    circuit: str
    setup_id: str

    def to_json(self) -> dict:
        ctx = self.ctx
        return {
            "format": EPOCH_FORMAT, "circuit": self.circuit, "setup": self.setup_id, "k": self.k, "m": self.m,
            "context": {
                "epoch": str(ctx.epoch), "chain_id": str(ctx.chain_id), "registry": hex(ctx.registry), "depth": ctx.depth,
                "markets": [{"price_wad": str(v.price_wad), "funding_index_wad": str(v.funding_index_wad),
                             "imf_wad": str(v.imf_wad), "mmf_wad": str(v.mmf_wad)} for v in ctx.markets],
                "root": ctx.root.to_json(),
            },
            "states": [str(s) for s in self.states],
            "batches": [{"proof": p.snarkjs_json(), "public": [str(x) for x in p.public]} for p in self.proofs],
        }

    @classmethod
    def from_json(cls, data: dict) -> "EpochProof":
        if not isinstance(data, dict) or data.get("format") != EPOCH_FORMAT:
            raise UserError(f"not a {EPOCH_FORMAT} file")
        try:
            c = data["context"]
            ctx = EpochContext(
                int(c["epoch"]), int(c["chain_id"]), int(c["registry"], 16), int(c["depth"]),
                tuple(MarketView(int(v["price_wad"]), int(v["funding_index_wad"]), int(v["imf_wad"]), int(v["mmf_wad"])) for v in c["markets"]),
                Node(int(c["root"]["hash"]), int(c["root"]["equity"]), int(c["root"]["mm"])),
            )
            proofs = tuple(Proof.from_snarkjs(b["proof"], b["public"]) for b in data["batches"])
            return cls(ctx, int(data["k"]), int(data["m"]), tuple(int(s) for s in data["states"]), proofs, data["circuit"], data["setup"])
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"malformed epoch proof: {type(exc).__name__}: {exc}") from None

    def save(self, path: Path) -> None:
        atomic_write_text(Path(path), json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> "EpochProof":
        """Read an epoch proof file (one-line UserError if missing, malformed or not an epoch proof)."""
        return cls.from_json(read_json(path, "epoch proof"))

    def expected_publics(self) -> list[int]:
        """The public signal each batch must prove, recomputed from the context and the chain states."""
        ctx_h = context_hash(self.ctx)
        return [batch_public_hash(ctx_h, i, self.states[i], self.states[i + 1]) for i in range(len(self.proofs))]


def verify_epoch(epoch: EpochProof, vk: VerifyingKey) -> list[str]:
    """Problems found (empty: valid): chain length, each batch's public signal, its well-formedness and its py-ecc pairing check."""
    problems = []
    batches = 1 << (epoch.ctx.depth - epoch.k)
    if len(epoch.proofs) != batches or len(epoch.states) != batches + 1:
        problems.append(f"the chain has {len(epoch.proofs)} proofs and {len(epoch.states)} states; a depth-{epoch.ctx.depth} tree in batches of 2^{epoch.k} needs {batches} and {batches + 1}")
        return problems
    for i, (proof, want) in enumerate(zip(epoch.proofs, epoch.expected_publics())):
        if proof.public != (want,):
            problems.append(f"batch {i}: public signal is not the hash of the context and chain states")
        elif why := proof_defect(proof, vk.n_public):
            problems.append(f"batch {i}: malformed proof: {why}")
        elif not pairing_check(vk, proof):
            problems.append(f"batch {i}: the Groth16 pairing check fails")
    return problems


def prove_batch(circuit: Circuit, keys: Keys, backend: str, batch: BatchInput, work_dir: str) -> Proof:
    """Witness (the circuit's generator) and proof of one batch: the job run by every worker."""
    wtns = Path(work_dir) / f"batch-{batch.index}-{os.getpid()}.wtns"
    try:
        compute_witness(circuit, batch.inputs, wtns)
        proof = get_backend(backend).prove(keys, wtns)
    finally:
        wtns.unlink(missing_ok=True)
    if proof.public != (batch.public,):
        raise UserError(f"batch {batch.index}: the circuit's public signal differs from the Python public hash")
    return proof


def _run_local(jobs: list[tuple], workers: int) -> list[Proof]:
    if workers <= 1:
        return [prove_batch(*job) for job in jobs]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        return list(pool.map(prove_batch, *zip(*jobs)))


def _run_ray(jobs: list[tuple], address: str, workers: int) -> list[Proof]:
    try:
        import ray
    except ImportError:
        raise UserError("proving on Ray needs the optional package: pip install 'pymargin[ray]'") from None
    started = not ray.is_initialized()
    if started:
        if address == "local":
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(prove_batch)
        return ray.get([remote.remote(*job) for job in jobs])
    finally:
        if started:
            ray.shutdown()


def prove_epoch(
    commitment: Commitment,
    secret: bytes,
    ctx: EpochContext,
    k: int,
    m: int,
    backend: str,
    ptau: Path | None = None,
    workers: int = 1,
    ray_address: str | None = None,
) -> tuple[EpochProof, Keys]:
    """Prove every batch of the committed book; return the epoch proof and the keys used.

    The circuit is SolvencyBatch(k, m, depth - k); keys come from the backend's cached development
    setup, or from the ceremony ``ptau``. ``workers`` processes prove batches in parallel here;
    with ``ray_address`` the same jobs run as Ray tasks instead.
    """
    t = commitment.tree.depth - k
    if t < 0:
        raise UserError(f"batches of 2^{k} accounts exceed the tree ({2 ** commitment.tree.depth} leaves): use a smaller batch")
    circuit = circuits.solvency(k, m, t)
    keys = get_backend(backend).setup(circuit, ptau)
    batches = batch_inputs(commitment, secret, ctx, k)
    with tempfile.TemporaryDirectory(prefix="pymargin-prove-") as work:
        jobs = [(circuit, keys, backend, batch, work) for batch in batches]
        proofs = _run_ray(jobs, ray_address, workers) if ray_address else _run_local(jobs, workers)
    states = [state_hash(*batches[0].state_in)] + [state_hash(*b.state_out) for b in batches]
    return EpochProof(ctx, k, m, tuple(states), tuple(proofs), circuit.name, keys.setup_id), keys
