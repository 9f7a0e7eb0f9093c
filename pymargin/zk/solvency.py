"""Prove and verify a solvency epoch: every batch of the committed book, chained (docs/spec.md §7).

:func:`prove_epoch` splits the tree into batches of 2^k leaves, computes each batch's witness with
the circuit's generator and proves it with a backend, through a
:class:`~pymargin.zk.prover_pool.ProverPool`: worker processes on this machine (``workers``) or Ray
actors on a cluster (``ray_address``; ``"local"`` starts one here) running the same job function. Groth16 proofs are randomised, so two runs give different proofs of the
same public signals; every proof verifies.

An :class:`EpochProof` saved as JSON (format 4) holds the statement (:mod:`pymargin.zk.statement`),
the chain states and every batch's proof: anyone with the verifying key re-verifies it with
:func:`verify_epoch` (py-ecc, all batches in one batched pairing check as the registry does), which
takes the circuit's shape from the key's setup metadata (:func:`recorded_shape`), never from the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pymargin.commit.commitment import Commitment
from pymargin.errors import UserError
from pymargin.fsutil import atomic_write_text, read_json
from pymargin.interrupts import temporary_dir
from pymargin.zk import circuits
from pymargin.zk.backends import get_backend
from pymargin.zk.inputs import batch_inputs, state_hash
from pymargin.zk.proof import Proof, VerifyingKey
from pymargin.zk.prover_pool import ProverPool
from pymargin.zk.setup import Keys, ensure_fast_zkey
from pymargin.zk.statement import Shape, Statement, batch_public_signals, check_statement, context_hash, statement_from_json, statement_json
from pymargin.zk.verify import verify_batch
from pymargin.zk.wellformed import proof_defect

EPOCH_FORMAT = "pymargin-solvency-epoch/4"
EPOCH_OPTIONS_FORMAT = "pymargin-solvency-epoch/5"
# /4: four public signals per batch (ctx, k, state_k, state_{k+1}); /5: the same with a statement over a book with
# options (its option tables, spec §7.9), so /4 readers refuse it in one line; a perp-only epoch stays /4. /2 and
# /3 hold proofs of the one-signal circuit, which no current key verifies, so they are not read
READABLE_EPOCH_FORMATS = (EPOCH_FORMAT, EPOCH_OPTIONS_FORMAT)


@dataclass(frozen=True)
class EpochProof:
    """An epoch's proofs: the statement, chain states S_0..S_n, one proof per batch (batch i: S_i -> S_i+1)."""

    statement: Statement
    states: tuple[int, ...]  # state hashes; batch i goes from states[i] to states[i + 1]
    proofs: tuple[Proof, ...]
    circuit: str
    setup_id: str

    def to_json(self) -> dict:
        return {
            "format": EPOCH_FORMAT if self.statement.options is None else EPOCH_OPTIONS_FORMAT, "circuit": self.circuit, "setup": self.setup_id,
            "statement": statement_json(self.statement),
            "states": [str(s) for s in self.states],
            "batches": [{"proof": p.snarkjs_json(), "public": [str(x) for x in p.public]} for p in self.proofs],
        }

    @classmethod
    def from_json(cls, data: dict) -> "EpochProof":
        if not isinstance(data, dict) or data.get("format") not in READABLE_EPOCH_FORMATS:
            raise UserError(f"not a {EPOCH_FORMAT} or {EPOCH_OPTIONS_FORMAT} file")
        try:
            statement = statement_from_json(data["statement"])
            if (statement.options is None) != (data["format"] == EPOCH_FORMAT):
                raise ValueError(f"a {data['format']} statement {'without' if statement.options is None else 'with'} option tables")
            proofs = tuple(Proof.from_snarkjs(b["proof"], b["public"]) for b in data["batches"])
            return cls(statement, tuple(int(s) for s in data["states"]), proofs, str(data["circuit"]), str(data["setup"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UserError(f"malformed epoch proof: {type(exc).__name__}: {exc}") from None

    def save(self, path: Path) -> None:
        atomic_write_text(Path(path), json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> "EpochProof":
        """Read an epoch proof file (one-line UserError if missing, malformed or not an epoch proof)."""
        return cls.from_json(read_json(path, "epoch proof"))

    def expected_publics(self) -> list[tuple[int, ...]]:
        """The public signals each batch must prove, recomputed from the statement and the chain states."""
        ctx_h = context_hash(self.statement)
        return [batch_public_signals(ctx_h, i, self.states[i], self.states[i + 1]) for i in range(len(self.proofs))]


def recorded_shape(vk_path: Path) -> Shape:
    """The shape (K, T, M) of the SolvencyBatch circuit a verifying key was made for, from the setup
    metadata (setup.json) beside it; UserError if there is none or it is not a SolvencyBatch key."""
    meta_path = Path(vk_path).parent / "setup.json"
    meta = read_json(meta_path, "setup metadata")
    shape = circuits.solvency_shape(meta.get("circuit", "") if isinstance(meta, dict) else "")
    if shape is None:
        raise UserError(f"{meta_path}: not the setup of a SolvencyBatch circuit")
    return shape


def verify_epoch(epoch: EpochProof, vk: VerifyingKey, shape: Shape) -> list[str]:
    """Problems found (empty: valid). ``shape`` is the verifying key's circuit (:func:`recorded_shape`),
    never the file's: the statement must have that shape, be consistent (:func:`check_statement`), the
    chain must have 2^T proofs and 2^T + 1 states, each batch's public signals must be (ctx of the
    statement, its index, its states) and its proof well formed (:func:`~pymargin.zk.wellformed.proof_defect`),
    and all proofs together must pass the batched py-ecc pairing check (:func:`~pymargin.zk.verify.verify_batch`)."""
    s = epoch.statement
    if s.shape != shape:
        return [f"the file claims K={s.shape.k}, T={s.shape.t}, M={s.shape.m}; the verifying key's circuit is "
                f"K={shape.k}, T={shape.t}, M={shape.m}"]
    problems = check_statement(s)
    if problems:
        return problems
    batches = 1 << shape.t
    if len(epoch.proofs) != batches or len(epoch.states) != batches + 1:
        return [f"the chain has {len(epoch.proofs)} proofs and {len(epoch.states)} states; the circuit needs {batches} and {batches + 1}"]
    for i, (proof, want) in enumerate(zip(epoch.proofs, epoch.expected_publics())):
        if proof.public != want:
            problems.append(f"batch {i}: public signals are not (ctx of the statement, {i}, state_{i}, state_{i + 1})")
        elif why := proof_defect(proof, vk.n_public):
            problems.append(f"batch {i}: malformed proof: {why}")
    if not problems and not verify_batch(vk, list(epoch.proofs)):
        problems.append(f"the batched Groth16 pairing check of the {len(epoch.proofs)} proofs fails")
    return problems


def _batch_accounts(commitment: Commitment, index: int, k: int) -> str:
    """"accounts OWNER:SUB to OWNER:SUB" of batch ``index`` (2^k leaves), or that it holds only padding."""
    accounts = commitment.accounts[index << k : (index + 1) << k]
    if not accounts:
        return "padding leaves only"
    first, last = accounts[0].account_id, accounts[-1].account_id
    return f"account {first}" if len(accounts) == 1 else f"accounts {first} to {last}"


def prove_epoch(
    commitment: Commitment,
    secret: bytes,
    statement: Statement,
    backend: str,
    ptau: Path | None = None,
    workers: int = 1,
    ray_address: str | None = None,
    pool: ProverPool | None = None,
    fast_zkey: bool = False,
) -> tuple[EpochProof, Keys]:
    """Prove every batch of the committed book against ``statement``; return the epoch proof and the keys.

    The circuit is SolvencyBatch(k, m, t) of the statement's shape (with options, SolvencyBatch(k, m, t, u, r, p)
    of its tables' shape too); keys come from the backend's cached
    development setup, or from the ceremony ``ptau``. The batches are proven by ``pool`` (its workers
    keep their keys loaded for later epochs), else by a pool of ``workers`` processes here, or of Ray
    actors with ``ray_address``, closed on return. ``fast_zkey``: first write a groth16py development key
    as a fast-loading zkey (:func:`~pymargin.zk.setup.ensure_fast_zkey`, once per key).
    """
    shape = statement.shape
    batches = batch_inputs(commitment, secret, statement)
    if statement.options is None:
        circuit = circuits.solvency(shape.k, shape.m, shape.t)
    else:  # a book with options (docs/spec.md §7.9)
        o = statement.options.tables.shape
        circuit = circuits.solvency_options(shape.k, shape.m, shape.t, o.u, o.k, o.p)
    keys = get_backend(backend).setup(circuit, ptau)
    if fast_zkey and backend == "groth16py":
        ensure_fast_zkey(keys)
    with temporary_dir(prefix="pymargin-prove-") as work:
        jobs = [(circuit, keys, backend, batch, str(work), _batch_accounts(commitment, batch.index, shape.k)) for batch in batches]
        if pool is not None:
            proofs = pool.run(jobs)
        else:
            with ProverPool(workers, ray_address) as own:
                proofs = own.run(jobs)
    states = [state_hash(batches[0].state_in)] + [state_hash(b.state_out) for b in batches]
    return EpochProof(statement, tuple(states), tuple(proofs), circuit.name, keys.setup_id), keys
