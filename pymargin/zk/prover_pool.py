"""Long-lived provers: worker processes (or Ray actors) that keep each proving key loaded between jobs.

Loading a groth16py development key is most of a cold proof (benchmarks/zk_results.md, "Key
loading"): groth16py's ``ProvingKey.load`` checks every curve point of the CRS, ~6 MB/s. A
:class:`ProverPool` loads a key once per worker and reuses it for every later batch and epoch
proven through the same pool, and reports the seconds its workers spent loading keys apart from
the seconds spent proving.

* ``workers == 1``, no Ray and no CLI interrupt guard: jobs run in this process (its key cache lives
  as long as it does).
* otherwise locally: that many spawned worker processes (:func:`pymargin.interrupts.worker_pool`),
  alive until :meth:`ProverPool.close`.
* ``ray_address``: that many Ray actors (one CPU each) on the cluster (``"local"`` starts one here).
  Ray runs its workers at niceness 15: on a machine busy with other work, set
  ``RAY_worker_niceness=0`` in the environment before a local cluster starts, or they starve.
"""

from __future__ import annotations

import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pymargin.errors import UserError
from pymargin.interrupts import guarded, worker_pool
from pymargin.zk.backends import get_backend
from pymargin.zk.circom import Circuit
from pymargin.zk.inputs import BatchInput
from pymargin.zk.proof import Proof
from pymargin.zk.setup import Keys
from pymargin.zk.witness import WitnessError, compute_witness


@dataclass(frozen=True)
class BatchResult:
    """One proven batch and where its worker's time went (seconds)."""

    proof: Proof
    key_load_s: float  # 0 when the worker already held the key
    witness_s: float
    prove_s: float  # the proof alone, key loading excluded
    worker: int  # the worker's process id
    peak_rss_bytes: int  # the worker process's peak resident memory so far (key and prover; not the witness generator)


def prove_batch(circuit: Circuit, keys: Keys, backend: str, batch: BatchInput, work_dir: str, accounts: str = "") -> BatchResult:
    """Witness (the circuit's generator) and proof of one batch, with the key loaded once per process.
    ``accounts`` names the batch's accounts in the error if its inputs do not satisfy the circuit."""
    wtns = Path(work_dir) / f"batch-{batch.index}-{os.getpid()}.wtns"
    prover = get_backend(backend)
    key_load_s = prover.load(keys)
    try:
        started = time.perf_counter()
        try:
            compute_witness(circuit, batch.inputs, wtns)
        except WitnessError as exc:
            raise WitnessError(f"batch {batch.index}{' (' + accounts + ')' if accounts else ''}: {exc}") from None
        witness_s = time.perf_counter() - started
        started = time.perf_counter()
        proof = prover.prove(keys, wtns)
        prove_s = time.perf_counter() - started
    finally:
        wtns.unlink(missing_ok=True)
    if proof.public != batch.public:
        raise UserError(f"batch {batch.index}: the circuit's public signals differ from the Python statement's")
    peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    return BatchResult(proof, key_load_s, witness_s, prove_s, os.getpid(), peak_rss_bytes)


class _RayProver:
    """A Ray actor proving batches; its process keeps the keys it loaded."""

    def prove(self, *job) -> BatchResult:
        return prove_batch(*job)


class ProverPool:
    """Workers that prove batches and keep their proving keys loaded until :meth:`close` (or the
    end of a ``with`` block). ``key_load_s`` and ``prove_s`` add up every job's seconds so far."""

    def __init__(self, workers: int = 1, ray_address: str | None = None):
        if workers < 1:
            raise UserError(f"workers must be at least 1, got {workers}")
        self.workers, self.ray_address = workers, ray_address
        self.key_load_s = self.witness_s = self.prove_s = 0.0
        self.jobs = 0
        self.key_loads = 0  # jobs that loaded a key (at most one per worker and key)
        self.worker_ids: set[int] = set()  # process ids of the workers that ran a job
        self.peak_rss_bytes = 0  # the largest peak resident memory of one worker
        self._executor: ProcessPoolExecutor | None = None
        self._actors: list | None = None
        self._ray_started = False

    def __enter__(self) -> "ProverPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run(self, jobs: list[tuple]) -> list[Proof]:
        """Prove every job ``(circuit, keys, backend, batch, work_dir)``; the proofs in job order."""
        if self.ray_address:
            results = self._run_ray(jobs)
        elif self.workers == 1 and not guarded():
            results = [prove_batch(*job) for job in jobs]
        else:  # under the CLI's interrupt guard always in workers: Ctrl-C never waits for a prover holding this process
            if self._executor is None:
                self._executor = worker_pool(self.workers)
            results = list(self._executor.map(prove_batch, *zip(*jobs)))
        for r in results:
            self.jobs += 1
            self.worker_ids.add(r.worker)
            self.peak_rss_bytes = max(self.peak_rss_bytes, r.peak_rss_bytes)
            self.key_load_s += r.key_load_s
            self.witness_s += r.witness_s
            self.prove_s += r.prove_s
            self.key_loads += r.key_load_s > 0
        return [r.proof for r in results]

    def _run_ray(self, jobs: list[tuple]) -> list[BatchResult]:
        try:
            import ray
            from ray.util import ActorPool
        except ImportError:
            raise UserError("proving on Ray needs the optional package: pip install 'pymargin[ray]'") from None
        if self._actors is None:
            if not ray.is_initialized():
                if self.ray_address == "local":
                    ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False)
                else:
                    ray.init(address=self.ray_address, log_to_driver=False)
                self._ray_started = True
            actor = ray.remote(num_cpus=1)(_RayProver)
            self._actors = [actor.remote() for _ in range(self.workers)]
        return list(ActorPool(self._actors).map(lambda a, job: a.prove.remote(*job), jobs))

    def close(self) -> None:
        """Stop the workers (and the Ray session this pool started)."""
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None
        if self._actors is not None:
            import ray

            for a in self._actors:
                ray.kill(a)
            self._actors = None
            if self._ray_started:
                ray.shutdown()
                self._ray_started = False
