"""Reading a contract's events from any RPC: from its deployment block, in block-range chunks, halving a
chunk the RPC refuses (docs/spec.md §5.12).

Public RPCs refuse an ``eth_getLogs`` spanning more than some blocks (often 10,000 or 50,000) or
returning more than some logs; every reader of events in pymargin goes through :func:`read_logs`.

Calls for a history of ``n`` blocks since deployment, read up to block ``head`` in chunks of ``c``:
``ceil(n / c)`` ``eth_getLogs`` (one per chunk, all the events asked for in one query), plus one more
per refusal (the refused range is retried at half the size, and the smaller size is kept); plus 2
``eth_getCode`` checking the block ``deployments/<chainId>.json`` (in the working folder) records for
the contract or, without one, ``1 + ceil(log2(head + 1))`` to find it (25 for a chain of 10 million
blocks). The search needs an RPC that serves
code at old blocks (an archive node) and a contract whose code, once deployed, stays.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from pymargin.errors import UserError
from pymargin.progress import SILENT, Progress

CHUNK_ENV = "PYMARGIN_LOG_CHUNK"
DEFAULT_CHUNK_BLOCKS = 10_000
# How common providers say a range or a result is too large (lower case): Infura (-32005, "query
# returned more than 10000 results"), Alchemy ("... up to a 2K block range"), Ankr ("block range is
# too wide"), Cloudflare ("exceeded maximum block range"), QuickNode ("limited to a 10,000 range").
TOO_LARGE_MARKERS = ("block range", "query returned more than", "limit exceeded", "-32005",
                     "range is too", "range too large", "response size", "limited to a")


@dataclass(frozen=True)
class LogOptions:
    """How :func:`read_logs` reads when its caller does not say: the chunk size in blocks (None: from
    ``PYMARGIN_LOG_CHUNK``, else :data:`DEFAULT_CHUNK_BLOCKS`) and where progress goes."""

    chunk_blocks: int | None = None
    progress: Progress = SILENT


_OPTIONS: contextvars.ContextVar[LogOptions] = contextvars.ContextVar("pymargin_log_options", default=LogOptions())


@contextlib.contextmanager
def using(options: LogOptions) -> Iterator[None]:
    """Within the block, :func:`read_logs` uses ``options`` when its caller gives none (the CLI's ``--log-chunk``)."""
    token = _OPTIONS.set(options)
    try:
        yield
    finally:
        _OPTIONS.reset(token)


def chunk_blocks_setting() -> int:
    """The chunk size in blocks: the one :func:`using` sets, else ``PYMARGIN_LOG_CHUNK``, else 10,000."""
    chosen = _OPTIONS.get().chunk_blocks
    if chosen is not None:
        return chosen
    text = os.environ.get(CHUNK_ENV, "").strip()
    if not text:
        return DEFAULT_CHUNK_BLOCKS
    if not text.isdigit() or int(text) < 1:
        raise UserError(f"{CHUNK_ENV}={text!r} is not a positive whole number of blocks")
    return int(text)


def read_logs(contract: Any, event_names: Sequence[str], to_block: Any = "latest", *, from_block: int | None = None,
              chunk_blocks: int | None = None, progress: Progress | None = None) -> list[Any]:
    """The decoded events ``event_names`` of ``contract`` (a :class:`pymargin.chain.contracts.Contract`)
    in blocks ``from_block..to_block``, in chain order.

    ``from_block`` defaults to the contract's deployment block (:func:`deployment_block`). Reads in
    chunks of ``chunk_blocks`` (default :func:`chunk_blocks_setting`); a chunk the RPC refuses as too
    large is halved and retried, down to one block; any other RPC error, or a refusal of one block,
    is a UserError."""
    from eth_utils import event_abi_to_log_topic

    w3 = contract.chain.w3
    head = _block_number(w3, to_block)
    start = deployment_block(contract.chain, contract.address, head) if from_block is None else from_block
    events = {event_abi_to_log_topic(e.abi): e for e in (getattr(contract.events, name)() for name in event_names)}
    query = {"address": contract.address, "topics": [list(events)]}
    window = chunk_blocks or chunk_blocks_setting()
    progress = progress or _OPTIONS.get().progress
    windows = range(start, head + 1, window)
    if len(windows) > 1:
        progress.info(f"reading {', '.join(event_names)} of {contract.address} in blocks {start:,}..{head:,}, "
                      f"{window:,} blocks per request")
    raw: list[Any] = []
    size = window
    for window_start in progress.track(windows, "reading events", total=len(windows)):
        window_end = min(window_start + window - 1, head)
        lo = window_start
        while lo <= window_end:
            hi = min(lo + size - 1, window_end)
            try:
                raw += w3.eth.get_logs({**query, "fromBlock": lo, "toBlock": hi})
            except Exception as exc:
                message = _one_line(exc)
                if not any(marker in message.lower() for marker in TOO_LARGE_MARKERS):
                    raise UserError(f"eth_getLogs of blocks {lo:,}..{hi:,} failed: {message}") from None
                if hi == lo:
                    raise UserError(f"the RPC refuses eth_getLogs even for block {lo:,} alone: {message}") from None
                size = max(1, (hi - lo + 1) // 2)
                progress.info(f"the RPC refused blocks {lo:,}..{hi:,} ({message}): reading {size:,} blocks per request")
                continue
            lo = hi + 1
    return [events[bytes(log["topics"][0])].process_log(log) for log in raw]


def deployment_block(chain: Any, address: str, head: int, deployments_dir: Path | None = None) -> int:
    """The block that created the contract at ``address`` (code present at ``head``): the ``block``
    that ``deployments/<chainId>.json`` records for it (checked by 2 ``eth_getCode``), else the first
    block with code, found by a binary search on ``eth_getCode`` (``1 + ceil(log2(head + 1))`` calls)."""
    recorded = _recorded_block(chain.chain_id, address, deployments_dir)
    if recorded is not None and recorded <= head and _created_in(chain.w3, address, recorded):
        return recorded
    if not _has_code(chain.w3, address, head):
        raise UserError(f"no contract at {address} at block {head:,}")
    lo, hi = 0, head  # invariant: code at hi; none before lo
    while lo < hi:
        mid = (lo + hi) // 2
        if _has_code(chain.w3, address, mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def search_calls(head: int) -> int:
    """The ``eth_getCode`` calls :func:`deployment_block`'s search makes up to block ``head``, at most."""
    return 1 + math.ceil(math.log2(head + 1))


def _recorded_block(chain_id: int, address: str, deployments_dir: Path | None) -> int | None:
    from pymargin.chain.deploy import DEFAULT_DEPLOYMENTS_DIR, load_manifest

    manifest = load_manifest(chain_id, DEFAULT_DEPLOYMENTS_DIR if deployments_dir is None else deployments_dir)
    for record in manifest.get("contracts", {}).values():
        block = record.get("block")
        if str(record.get("address", "")).lower() == address.lower() and isinstance(block, int) and block >= 0:
            return block
    return None


def _created_in(w3: Any, address: str, block: int) -> bool:
    """Whether the contract's code first appears in ``block`` (2 ``eth_getCode``; a manifest left over
    from an earlier devnet can name the same address at another block). True when the RPC keeps no
    state that old: the record is all there is."""
    try:
        return _has_code(w3, address, block) and (block == 0 or not _has_code(w3, address, block - 1))
    except UserError:
        return True


def _has_code(w3: Any, address: str, block: int) -> bool:
    try:
        return len(w3.eth.get_code(address, block_identifier=block)) > 0
    except Exception as exc:
        raise UserError(f"cannot find the deployment block of {address}: eth_getCode at block {block:,} failed "
                        f"({_one_line(exc)}); use an archive RPC or record the contract in deployments/<chainId>.json") from None


def _block_number(w3: Any, block: Any) -> int:
    if isinstance(block, int) and not isinstance(block, bool):
        return block
    return w3.eth.get_block(block)["number"]


def _one_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
