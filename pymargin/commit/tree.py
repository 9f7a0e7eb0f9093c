"""The Merkle sum tree over leaf nodes (docs/spec.md §6.3).

A node is ``(hash, equity, mm)`` where a leaf's ``equity`` sum is the account's liability
max(equity, 0) (what it can claim; bad debt counts 0) and ``mm`` its maintenance margin; a parent is

    (Poseidon_6(L.hash, L.equity, L.mm, R.hash, R.equity, R.mm), L.equity + R.equity, L.mm + R.mm)

so both children's sums are hashed separately. The tree has 2^depth leaf positions; the real
leaves fill indices 0..n-1 and padding fills the rest. Padding subtrees are never hashed leaf by
leaf: ``Z_0`` is the padding leaf node and ``Z_{k+1} = parent(Z_k, Z_k)``.

Storage: level k is one ``bytearray`` of 96-byte records (hash, equity, mm as 32-byte big-endian)
for its nodes that are not wholly padding, which is also the form the native Poseidon takes; a
2^20-leaf tree holds ~200 MB. Building splits the bottom levels into subtrees hashed in worker
processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from pymargin.jsonvalues import hash_hex
from pymargin.commit.leaf import LEAF_SUM_BOUND, PADDING_LEAF, Leaf
from pymargin.commit.poseidon import P, NotAFieldElement, poseidon, poseidon_be
from pymargin.errors import Revert, UserError
from pymargin.interrupts import worker_pool

MAX_DEPTH = 32
SUM_BOUND = 2**172  # every sum that enters a node hash is below 2^(140 + 32)
RECORD = 96  # bytes per stored node
PARALLEL_MIN_LEAVES = 4096  # below this, worker processes cost more than they save


class SumOutOfRange(Revert):
    """A sum entering a node hash is >= 2^172."""


class DepthOutOfRange(Revert):
    """The depth (number of siblings) is not in 1..32."""


class IndexOutOfRange(Revert):
    """The leaf index is >= 2^depth."""


@dataclass(frozen=True)
class Node:
    """A tree node: Poseidon hash and the exact sums below it (WAD quote) of the accounts' liabilities
    max(equity, 0) (field ``equity``, the name the contract's ABI keeps) and maintenance margins."""

    hash: int
    equity: int
    mm: int

    def record(self) -> bytes:
        """The 96-byte storage record: hash, equity, mm as 32-byte big-endian."""
        return self.hash.to_bytes(32, "big") + self.equity.to_bytes(32, "big") + self.mm.to_bytes(32, "big")

    @classmethod
    def from_record(cls, record: bytes) -> "Node":
        return cls(*(int.from_bytes(record[i : i + 32], "big") for i in (0, 32, 64)))

    def to_json(self) -> dict:
        """{"hash": 0x + 64 hex digits, "equity", "mm": decimal strings} (docs/output.md)."""
        return {"hash": hash_hex(self.hash), "equity": str(self.equity), "mm": str(self.mm)}

    def output_json(self) -> dict:
        """The node in a command's --json output: {"hash", "liabilities_wad", "mm_wad"} (docs/output.md)."""
        return {"hash": hash_hex(self.hash), "liabilities_wad": str(self.equity), "mm_wad": str(self.mm)}


def parent(left: Node, right: Node) -> Node:
    """The parent node of ``left`` and ``right``; checks its six hash inputs in order (hashes < p: NotAFieldElement,
    sums < 2^172: SumOutOfRange), exactly as the contract does."""
    for value, is_sum in ((left.hash, False), (left.equity, True), (left.mm, True),
                          (right.hash, False), (right.equity, True), (right.mm, True)):
        if is_sum and not 0 <= value < SUM_BOUND:
            raise SumOutOfRange(value)
        if not is_sum and not 0 <= value < P:
            raise NotAFieldElement(value)
    digest = poseidon([left.hash, left.equity, left.mm, right.hash, right.equity, right.mm])
    return Node(digest, left.equity + right.equity, left.mm + right.mm)


@lru_cache(maxsize=1)
def zero_nodes() -> tuple[Node, ...]:
    """Z_0..Z_32: the roots of all-padding subtrees of height 0..32 (sums 0)."""
    zeros = [Node(PADDING_LEAF.hash(), 0, 0)]
    for _ in range(MAX_DEPTH):
        zeros.append(parent(zeros[-1], zeros[-1]))
    return tuple(zeros)


def default_depth(leaves: int) -> int:
    """The smallest depth >= 1 with 2^depth >= leaves."""
    return max(1, (leaves - 1).bit_length())


def _check_path(index: int, depth: int) -> None:
    if not 1 <= depth <= MAX_DEPTH:
        raise DepthOutOfRange(depth)
    if not 0 <= index < 2**depth:
        raise IndexOutOfRange(index, depth)


def _walk(node: Node, index: int, siblings: Sequence[Node]) -> Node:
    for level, sibling in enumerate(siblings):
        node = parent(sibling, node) if (index >> level) & 1 else parent(node, sibling)
    return node


def root_from_path(leaf: Node, index: int, siblings: Sequence[Node]) -> Node:
    """The root reached from leaf node ``leaf`` at ``index`` through ``siblings`` (level 0 first): bit k of
    index set means the path node at level k is the right child. DepthOutOfRange, IndexOutOfRange, then
    each parent's checks."""
    _check_path(index, len(siblings))
    return _walk(leaf, index, siblings)


def compute_root(leaf: Leaf, equity: int, mm: int, index: int, siblings: Sequence[Node]) -> Node:
    """The contract's ``computeRoot``: the same result and the same errors in the same order (depth,
    index, the leaf's bounds, then each parent's inputs)."""
    _check_path(index, len(siblings))
    return _walk(Node(leaf.hash(), equity, mm), index, siblings)


def _next_level(level: bytes, zero: bytes) -> bytearray:
    """The parents of a level's records (the last one paired with the padding record ``zero`` if odd)."""
    out = bytearray()
    count = len(level) // RECORD
    for i in range(0, count, 2):
        left = level[i * RECORD : (i + 1) * RECORD]
        right = level[(i + 1) * RECORD : (i + 2) * RECORD] if i + 1 < count else zero
        digest = poseidon_be([left[0:32], left[32:64], left[64:96], right[0:32], right[32:64], right[64:96]])
        equity = int.from_bytes(left[32:64], "big") + int.from_bytes(right[32:64], "big")
        mm = int.from_bytes(left[64:96], "big") + int.from_bytes(right[64:96], "big")
        out += digest.to_bytes(32, "big") + equity.to_bytes(32, "big") + mm.to_bytes(32, "big")
    return out


def _subtree_levels(leaves: bytes, height: int, first_level: int = 0) -> list[bytes]:
    """Levels first_level+1 .. first_level+height above ``leaves`` (records at level ``first_level``)."""
    zeros = zero_nodes()
    levels = []
    current = leaves
    for k in range(first_level, first_level + height):
        current = bytes(_next_level(current, zeros[k].record()))
        levels.append(current)
    return levels


class SumTree:
    """A Merkle sum tree of depth ``depth`` over leaf records; :attr:`root`, :meth:`node`, :meth:`siblings`."""

    def __init__(self, leaf_records: bytes, depth: int | None = None, workers: int = 1):
        """Build the tree over ``leaf_records`` (96 bytes per leaf, real leaves only, in index order).

        Each leaf must have hash < p and sums in [0, 2^140): with depth <= 32 no sum can then reach
        2^172. ``workers`` > 1 hashes the bottom levels in that many processes.
        """
        if len(leaf_records) % RECORD:
            raise ValueError("leaf records must be 96 bytes each")
        count = len(leaf_records) // RECORD
        self.depth = default_depth(count) if depth is None else depth
        if not 1 <= self.depth <= MAX_DEPTH:
            raise UserError(f"tree depth must be 1..{MAX_DEPTH}, got {self.depth}")
        if count > 2**self.depth:
            raise UserError(f"{count} accounts do not fit a tree of depth {self.depth} ({2**self.depth} leaves)")
        self.size = count
        for i in range(count):
            node = Node.from_record(leaf_records[i * RECORD : (i + 1) * RECORD])
            if node.hash >= P:
                raise NotAFieldElement(node.hash)
            if node.equity >= LEAF_SUM_BOUND or node.mm >= LEAF_SUM_BOUND:
                raise SumOutOfRange(max(node.equity, node.mm))
        self.levels: list[bytes] = [bytes(leaf_records)]
        self.levels += self._build(self.levels[0], workers)

    @classmethod
    def from_nodes(cls, leaves: Sequence[Node], depth: int | None = None, workers: int = 1) -> "SumTree":
        """The tree over leaf nodes given as :class:`Node` objects."""
        return cls(b"".join(node.record() for node in leaves), depth, workers)

    def _build(self, leaves: bytes, workers: int) -> list[bytes]:
        if workers <= 1 or self.size < PARALLEL_MIN_LEAVES:
            return _subtree_levels(leaves, self.depth)
        # 4 subtrees per worker at most, each of height `height`, aligned on 2^height leaves
        split = min(self.depth - 1, (4 * workers - 1).bit_length())
        height = self.depth - split
        width = RECORD << height
        chunks = [leaves[i : i + width] for i in range(0, len(leaves), width)]
        zero_nodes()  # computed once here, inherited by the forked workers
        with worker_pool(workers, "fork") as pool:
            parts = list(pool.map(_subtree_levels, chunks, [height] * len(chunks)))
        levels = [b"".join(part[k] for part in parts) for k in range(height)]
        return levels + _subtree_levels(levels[-1], split, height)

    @property
    def root(self) -> Node:
        """The top node: (root hash, total equity, total maintenance margin)."""
        return self.node(self.depth, 0)

    def node(self, level: int, index: int) -> Node:
        """Node ``index`` of ``level`` (0 = leaves); a padding subtree root Z_level past the real nodes."""
        records = self.levels[level]
        if index * RECORD < len(records):
            return Node.from_record(records[index * RECORD : (index + 1) * RECORD])
        if not 0 <= index < 2 ** (self.depth - level):
            raise IndexError(f"node {index} is outside level {level} of a depth-{self.depth} tree")
        return zero_nodes()[level]

    def siblings(self, index: int) -> list[Node]:
        """The siblings on the path of leaf ``index``, level 0 first."""
        if not 0 <= index < 2**self.depth:
            raise IndexError(f"leaf {index} is outside a depth-{self.depth} tree")
        return [self.node(level, (index >> level) ^ 1) for level in range(self.depth)]


def cpu_workers() -> int:
    """Worker processes to use by default: the CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
