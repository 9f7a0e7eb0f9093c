"""Inclusion proofs (docs/spec.md §6.4): every account's in one SQLite file (:mod:`pymargin.commit.proofdb`),
one JSON document per account on request, written by ``pymargin commit`` and checked by ``pymargin check-inclusion``.

:func:`verify_proof` recomputes everything a user can check offline — the id hash of ``owner:sub``,
the bounds, the leaf hash, equity, maintenance and initial margin from the positions and the epoch's
market views, the leaf node's sums (liability max(equity, 0), maintenance margin), and the path to the root — and raises :class:`InclusionError` with the first reason it fails.
An options holder's document also holds its option slots (row, size) and the rows of the epoch's option tables its
figures read (:mod:`pymargin.commit.option_rows`); its leaf and figures are §6.2's and §7.9's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymargin.commit.commitment import Commitment
from pymargin.commit.leaf import LEAF_SUM_BOUND, Leaf, OptionSlot, account_id_hash, leaf_margins, leaf_sums, slots_of
from pymargin.commit.option_rows import OptionRow, OptionRows, check_rows, option_figures, rows_json
from pymargin.commit.proofdb import FILENAME as PROOF_DB, ProofDbError, accounts_of_owner, read_account, write_proof_db
from pymargin.commit.tree import Node, root_from_path
from pymargin.errors import Revert, UserError
from pymargin.fixedpoint import INT256_MAX, INT256_MIN, UINT256_MAX
from pymargin.jsonvalues import hash_hex
from pymargin.fsutil import atomic_write_text, read_json
from pymargin.interrupts import register_temporary
from pymargin.model import MarketView, Position

FORMAT = "pymargin-inclusion-v3"
READABLE_FORMATS = (FORMAT, "pymargin-inclusion-v2")  # v2 wrote the hashes in decimal
ROOT_FORMAT = "pymargin-commitment-v2"
_DECIMAL = re.compile(r"-?[0-9]+\Z")
_HASH_HEX = re.compile(r"0x[0-9a-f]{64}\Z")
MAX_DIGITS = 78  # 2^256 has 78 decimal digits
_MARKET_KEY = re.compile(r"(0|[1-9][0-9]*)\Z")  # canonical: one key per market id


class InclusionError(UserError):
    """An inclusion proof is malformed or does not verify; the message says why."""


@dataclass(frozen=True)
class InclusionProof:
    """A parsed inclusion proof."""

    epoch: int
    depth: int
    index: int
    root: Node
    owner: str
    sub: int
    leaf: Leaf
    equity: int  # the account's own equity (negative: bad debt)
    mm: int
    im: int
    liability: int  # the leaf node's sum: max(equity, 0)
    leaf_hash: int
    markets: dict[int, MarketView]
    siblings: tuple[Node, ...]
    option_rows: OptionRows | None = None  # an options holder's rows of the option tables; None: perp-only

    @property
    def account_id(self) -> str:
        return f"{self.owner}:{self.sub}"


def _markets_json(markets: dict[int, MarketView]) -> dict:
    return {str(mid): {"price_wad": str(v.price_wad), "funding_index_wad": str(v.funding_index_wad),
                       "imf_wad": str(v.imf_wad), "mmf_wad": str(v.mmf_wad)} for mid, v in sorted(markets.items())}


def proof_document(commitment: Commitment, index: int, secret: bytes | None) -> dict:
    """The inclusion proof JSON of leaf ``index`` (the account's own salt, no one else's data but sibling nodes)."""
    account = commitment.accounts[index]
    leaf = commitment.leaf(index, secret)
    rows = commitment.option_rows.excerpt(leaf) if leaf.holds_options else None
    return _proof_json(root_document(commitment), index, account.owner, account.sub, leaf,
                       commitment.tree.node(0, index), commitment.tree.siblings(index), commitment.markets, rows)


def proof_document_from_db(path: Path, account: str) -> dict:
    """The inclusion proof JSON of ``account`` (owner:sub, or an owner with one account) from a proofs database:
    the same document :func:`proof_document` gives for it."""
    if ":" not in account:
        ids = accounts_of_owner(path, account)
        if len(ids) != 1:
            raise ProofDbError(f"owner {account} has {len(ids)} accounts in {path}"
                               + (f" ({', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''}): give OWNER:SUB" if ids else ""))
        account = ids[0]
    stored = read_account(path, account)
    markets = {int(mid): MarketView(*(int(v[k]) for k in ("price_wad", "funding_index_wad", "imf_wad", "mmf_wad")))
               for mid, v in stored.root_document["markets"].items()}
    return _proof_json(stored.root_document, stored.index, stored.owner, stored.sub, stored.leaf, stored.node,
                       stored.siblings, markets, stored.option_rows)


def _proof_json(root_doc: dict, index: int, owner: str, sub: int, leaf: Leaf, node: Node, siblings: list[Node],
                markets: dict[int, MarketView], rows: OptionRows | None = None) -> dict:
    """The proof document of the account at leaf ``index`` of the commitment whose root document is ``root_doc``;
    an options holder's (``rows``: the option tables' rows it reads) also holds its option slots and those rows."""
    positions = leaf.positions()
    if rows is None:
        equity, _, im = leaf_margins(leaf, markets, f"{owner}:{sub}")
    else:
        equity, _, im = option_figures(leaf, rows, markets, f"{owner}:{sub}")
    doc = {
        "format": FORMAT,
        "epoch": root_doc["epoch"],
        "depth": root_doc["depth"],
        "index": str(index),
        "root": root_doc["root"],
        "account": {
            "owner": owner, "sub": str(sub), "id_hash": hash_hex(leaf.id_hash), "salt": str(leaf.salt),
            "collateral": str(leaf.collateral),
            "positions": [{"market_id": str(p.market_id), "size": str(p.size), "cost_basis": str(p.cost_basis),
                           "funding_index": str(p.funding_index)} for p in positions],
        },
        "equity": str(equity),
        "mm": str(node.mm),
        "im": str(im),
        "liability": str(node.equity),
        "leaf_hash": hash_hex(node.hash),
        "markets": _markets_json({p.market_id: markets[p.market_id] for p in positions}),
        "siblings": [s.to_json() for s in siblings],
    }
    if rows is not None:
        doc["account"]["options"] = [{"row": str(o.row), "size": str(o.size)} for o in leaf.options if o.size]
        doc = {**{k: v for k, v in doc.items() if k != "siblings"}, "option_tables": rows_json(rows), "siblings": doc["siblings"]}
    return doc


def root_document(commitment: Commitment) -> dict:
    """The root JSON: epoch, depth, number of accounts, root node, and every market view committed at."""
    return {"format": ROOT_FORMAT, "epoch": str(commitment.epoch), "depth": str(commitment.tree.depth),
            "account_count": str(commitment.tree.size), "root": commitment.root.to_json(),
            "markets": _markets_json(commitment.markets)}


def proof_filename(owner: str, sub: int) -> str:
    """``<owner>-<sub>.json``."""
    return f"{owner}-{sub}.json"


def check_new_folder(out_dir: Path) -> None:
    """UserError unless ``out_dir`` does not exist or is an empty folder."""
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise UserError(f"{out_dir} exists and is not an empty folder: choose a new --out folder")


def write_commitment(commitment: Commitment, secret: bytes | None, out_dir: Path, json_proofs: list[str] | None = None,
                     extra: dict[str, str] | None = None, workers: int = 1) -> list[Path]:
    """Write ``out_dir/root.json``, ``out_dir/proofs.sqlite`` (every account's proof, :mod:`pymargin.commit.proofdb`),
    ``out_dir/proofs/<owner>-<sub>.json`` for the ids in ``json_proofs`` (none if None; all if it holds ``"*"``)
    and the ``extra`` files (name → text), in ``workers`` processes. All or nothing: the files are written into a temporary folder renamed
    to ``out_dir``, which must not exist or be empty. Returns the JSON proof paths."""
    out_dir = Path(out_dir)
    check_new_folder(out_dir)
    if json_proofs is None:
        indices = []
    elif "*" in json_proofs:
        indices = range(len(commitment.accounts))
    else:
        indices = [commitment.index_of(a) for a in json_proofs]
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = register_temporary(Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent)))
    try:
        root_doc = root_document(commitment)
        atomic_write_text(tmp / "root.json", json.dumps(root_doc, indent=1) + "\n")
        write_proof_db(commitment, secret, tmp / PROOF_DB, root_doc, workers)
        for name, text in (extra or {}).items():
            atomic_write_text(tmp / name, text)
        names = []
        if indices:
            (tmp / "proofs").mkdir()
        for i in indices:
            account = commitment.accounts[i]
            name = proof_filename(account.owner, account.sub)
            atomic_write_text(tmp / "proofs" / name, json.dumps(proof_document(commitment, i, secret), indent=1) + "\n")
            names.append(name)
        os.replace(tmp, out_dir)  # replaces an empty folder atomically
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out_dir / "proofs" / name for name in names]


# ---------------------------------------------------------------- parsing

def _field(obj: Any, key: str, path: str) -> Any:
    """obj[key]; InclusionError naming ``path.key`` if obj is not an object or lacks it."""
    if not isinstance(obj, dict):
        raise InclusionError(f"proof: {path or 'the document'} must be an object")
    if key not in obj:
        raise InclusionError(f"proof: missing field {path + '.' if path else ''}{key}")
    return obj[key]


def _int(obj: Any, key: str, path: str) -> int:
    """obj[key] as an integer written as a decimal string of at most MAX_DIGITS digits."""
    return _decimal(_field(obj, key, path), f"{path + '.' if path else ''}{key}")


def _decimal(value: Any, name: str) -> int:
    """``value`` (the field ``name``) as an integer written as a decimal string of at most MAX_DIGITS digits."""
    if not isinstance(value, str) or not _DECIMAL.match(value):
        raise InclusionError(f"proof: {name} must be an integer as a decimal string, got {value!r}")
    if len(value.lstrip("-")) > MAX_DIGITS:
        raise InclusionError(f"proof: {name} has {len(value.lstrip('-'))} digits, more than any 256-bit value ({MAX_DIGITS})")
    return int(value)


def _hash(obj: Any, key: str, path: str) -> int:
    """obj[key]: a hash as 0x + 64 lower-case hex digits (v3), or as a decimal string (v2 files)."""
    value = _field(obj, key, path)
    if isinstance(value, str) and _HASH_HEX.match(value):
        return int(value, 16)
    if isinstance(value, str) and _DECIMAL.match(value):
        return _int(obj, key, path)
    raise InclusionError(f"proof: {path + '.' if path else ''}{key} must be a hash as 0x and 64 hex digits, got {value!r}")


def _list(obj: Any, key: str, path: str) -> list:
    value = _field(obj, key, path)
    if not isinstance(value, list):
        raise InclusionError(f"proof: {path + '.' if path else ''}{key} must be a list")
    return value


def _node(obj: Any, path: str) -> Node:
    return Node(_hash(obj, "hash", path), _int(obj, "equity", path), _int(obj, "mm", path))


def _market_view(obj: Any, path: str) -> MarketView:
    """A market view: price, imf and mmf uint256, the funding index int256 (the contract's types)."""
    view = MarketView(*(_int(obj, k, path) for k in ("price_wad", "funding_index_wad", "imf_wad", "mmf_wad")))
    for key, value in (("price_wad", view.price_wad), ("imf_wad", view.imf_wad), ("mmf_wad", view.mmf_wad)):
        if not 0 <= value <= UINT256_MAX:
            raise InclusionError(f"proof: {path}.{key} must be a uint256, got {value}")
    if not INT256_MIN <= view.funding_index_wad <= INT256_MAX:
        raise InclusionError(f"proof: {path}.funding_index_wad must be an int256, got {view.funding_index_wad}")
    return view


def _option_rows(doc: Any) -> OptionRows:
    """The ``option_tables`` object; InclusionError if malformed or outside the tables' bounds."""
    raw = _field(doc, "option_tables", "")
    rows_raw = _field(raw, "rows", "option_tables")
    perp_raw = _field(raw, "perp_rows", "option_tables")
    for key, value in (("rows", rows_raw), ("perp_rows", perp_raw)):
        if not isinstance(value, dict) or not all(_MARKET_KEY.match(k) for k in value):
            raise InclusionError(f"proof: option_tables.{key} must be an object keyed by decimal integers without leading zeros")
    rows = {}
    for r, row in sorted(rows_raw.items(), key=lambda kv: int(kv[0])):
        at = f"option_tables.rows.{r}"
        array = _list(row, "array_wad", at)
        rows[int(r)] = OptionRow(_int(row, "series_id", at), tuple(_decimal(a, f"{at}.array_wad[{k}]") for k, a in enumerate(array)),
                                 _int(row, "som_wad", at), _int(row, "value_wad", at))
    perp_rows = {int(m): _int(perp_raw, m, "option_tables.perp_rows") for m in sorted(perp_raw, key=int)}
    parsed = OptionRows(_int(raw, "slots", "option_tables"), _int(raw, "rows_per_underlying", "option_tables"),
                        _int(raw, "multiple_wad", "option_tables"), rows, perp_rows)
    reason = check_rows(parsed)
    if reason:
        raise InclusionError(f"proof: {reason}")
    return parsed


def _option_slots(account: Any, slots: int, where: str) -> tuple[OptionSlot, ...]:
    """The leaf's ``slots`` option slots from ``account.options`` (increasing rows, sizes not 0), then empty ones."""
    options = [OptionSlot(_int(raw, "row", f"account.options[{i}]"), _int(raw, "size", f"account.options[{i}]"))
               for i, raw in enumerate(_list(account, "options", "account"))]
    if not options:
        raise InclusionError("proof: account.options is empty (a perp-only proof has no options field)")
    if len(options) > slots:
        raise InclusionError(f"proof: {where}: {len(options)} option positions, a leaf holds {slots}")
    for prev, option in zip(options, options[1:]):
        if option.row <= prev.row:
            raise InclusionError(f"proof: {where}: option rows must increase, got {prev.row} then {option.row}")
    for option in options:
        if option.size == 0:
            raise InclusionError(f"proof: {where}: option position in row {option.row} has size 0")
    return tuple(options) + (OptionSlot(),) * (slots - len(options))


def parse_proof(doc: Any) -> InclusionProof:
    """An :class:`InclusionProof` from a proof JSON document; InclusionError if a field is missing or malformed."""
    if not isinstance(doc, dict) or doc.get("format") not in READABLE_FORMATS:
        raise InclusionError(f"proof: not a {FORMAT} document")
    account = _field(doc, "account", "")
    owner = _field(account, "owner", "account")
    if not isinstance(owner, str):
        raise InclusionError("proof: account.owner must be a string")
    sub = _int(account, "sub", "account")
    positions = [
        Position(*(_int(raw, k, f"account.positions[{i}]") for k in ("market_id", "size", "cost_basis", "funding_index")))
        for i, raw in enumerate(_list(account, "positions", "account"))
    ]
    try:
        slots = slots_of(positions, f"{owner}:{sub}")
    except UserError as exc:
        raise InclusionError(f"proof: {exc}") from None
    markets_raw = _field(doc, "markets", "")
    if not isinstance(markets_raw, dict) or not all(_MARKET_KEY.match(k) for k in markets_raw):
        raise InclusionError("proof: markets must be an object {\"<market id>\": view}, ids in decimal without leading zeros")
    markets = {int(mid): _market_view(view, f"markets.{mid}") for mid, view in sorted(markets_raw.items(), key=lambda kv: int(kv[0]))}
    rows, options = None, ()
    if isinstance(account, dict) and "options" in account:
        rows = _option_rows(doc)
        options = _option_slots(account, rows.slots, f"{owner}:{sub}")
    return InclusionProof(
        epoch=_int(doc, "epoch", ""), depth=_int(doc, "depth", ""), index=_int(doc, "index", ""),
        root=_node(_field(doc, "root", ""), "root"), owner=owner, sub=sub,
        leaf=Leaf(_hash(account, "id_hash", "account"), _int(account, "salt", "account"),
                  _int(account, "collateral", "account"), slots, options),
        equity=_int(doc, "equity", ""), mm=_int(doc, "mm", ""), im=_int(doc, "im", ""),
        liability=_int(doc, "liability", ""), leaf_hash=_hash(doc, "leaf_hash", ""), markets=markets,
        siblings=tuple(_node(raw, f"siblings[{k}]") for k, raw in enumerate(_list(doc, "siblings", ""))),
        option_rows=rows,
    )


def load_proof(path: Path) -> InclusionProof:
    """Read and parse a proof file; InclusionError naming the file if it cannot be read or parsed."""
    path = Path(path)
    doc = read_json(path, "proof file", InclusionError)
    try:
        return parse_proof(doc)
    except InclusionError as exc:
        raise InclusionError(f"{path}: {exc}") from None


# ---------------------------------------------------------------- verification

def verify_proof(proof: InclusionProof) -> Node:
    """Check ``proof`` offline and return its root; InclusionError with the first reason it fails."""
    expected_id = account_id_hash(proof.account_id)
    if proof.leaf.id_hash != expected_id:
        raise InclusionError(f"id_hash {proof.leaf.id_hash} is not the hash of account {proof.account_id} ({expected_id})")
    try:
        leaf_hash = proof.leaf.hash()
    except Revert as exc:
        raise InclusionError(f"account data out of bounds: {exc}") from None
    if leaf_hash != proof.leaf_hash:
        raise InclusionError(f"leaf_hash {proof.leaf_hash} does not match the account data (it hashes to {leaf_hash})")
    try:
        if proof.option_rows is None:
            equity, mm, im = leaf_margins(proof.leaf, proof.markets, proof.account_id)
            liability, _ = leaf_sums(proof.leaf, proof.markets, proof.account_id)
        else:
            equity, mm, im = option_figures(proof.leaf, proof.option_rows, proof.markets, proof.account_id)
            liability = max(equity, 0)
            if liability >= LEAF_SUM_BOUND or mm >= LEAF_SUM_BOUND:
                raise UserError(f"{proof.account_id}: liability {liability} or maintenance margin {mm} is not below 2^140")
    except (UserError, Revert) as exc:  # a market unknown, a sum >= 2^140, or MarginMath's overflow
        raise InclusionError(f"cannot recompute the account's margin: {exc}") from None
    if (equity, mm, im, liability) != (proof.equity, proof.mm, proof.im, proof.liability):
        raise InclusionError(f"equity/mm/im/liability in the proof ({proof.equity}, {proof.mm}, {proof.im}, {proof.liability}) "
                             f"differ from those recomputed from the positions at the proof's market views ({equity}, {mm}, {im}, {liability})")
    if len(proof.siblings) != proof.depth:
        raise InclusionError(f"{len(proof.siblings)} siblings for a tree of depth {proof.depth}")
    try:
        root = root_from_path(Node(leaf_hash, liability, mm), proof.index, proof.siblings)
    except Revert as exc:
        raise InclusionError(f"the path is malformed: {exc}") from None
    if root.hash != proof.root.hash:
        raise InclusionError(f"the path from leaf {proof.index} leads to root hash {root.hash}, not the committed "
                             f"root {proof.root.hash}: a sibling, the index or the leaf differs from the tree")
    if (root.equity, root.mm) != (proof.root.equity, proof.root.mm):
        raise InclusionError(f"the root totals in the proof ({proof.root.equity}, {proof.root.mm}) differ from the path's "
                             f"({root.equity}, {root.mm})")
    return root
