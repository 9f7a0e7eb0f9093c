"""The solvency statement over books with options (docs/spec.md §6.2, §7.9): SolvencyBatch(K, M, T, U, R, P).

Figures: each account's (E, MM, IM) from pymargin.zk.options equals the engine's (the options module
mirror's ``portfolio_margin`` with §4's equity, as ``Engine._margins``) on random full-precision books
mixing perp-only, hedged (long perp + short call), naked, settled-option and mixed accounts; the
circuit's public signals of every batch equal Python's, and its per-account equity and IM equal
Python's; docs/risk.md's hedge needs less than its legs apart in the statement, the same integers.
P = 0 is the perp-only circuit, constraint for constraint. Soundness: a smaller MM for an options
holder, the perp-only formula for it, an option slot dropped from its leaf, a wrong value v and other
tables have no witness (or another ctx); forged signals break the r1cs. One Groth16 proof of a batch
with options is accepted by py-ecc, snarkjs and the EVM verifier; edited ones are rejected by all three.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from option_books import IM_MULTIPLE, NOW, option_world
from pymargin import black76
from pymargin import riskarray as ra
from pymargin.chain import solvency as onchain
from pymargin.chain.fastevm import FastEVM
from pymargin.commit.leaf import leaf_margins
from pymargin.errors import UserError
from pymargin.model import Account, MarketView, Position
from pymargin.riskbatch import RiskSeries
from pymargin.zk import backends, circuits, inputs, setup
from pymargin.zk import options as zo
from pymargin.zk import portfolio as zp
from pymargin.zk import verify as pyecc
from pymargin.zk.calldata import verify_proof_calldata
from pymargin.zk.field import FIELD_P, from_field
from pymargin.zk.r1cs import read_r1cs
from pymargin.zk.solvency import prove_epoch, verify_epoch
from pymargin.zk.statement import SeriesAggregate, Shape, context_hash
from pymargin.zk.witness import WitnessError, compute_witness, read_wtns, signal_indices, write_wtns
from test_risk_arrays import PRICE, PRICE_RANGE, SIZE, STRIKE, TAU, VOL, VOL_RANGE, example_figures
from test_risk_arrays import SOM_FRACTION as EXAMPLE_SOM_FRACTION

SHAPE = Shape(k=1, t=2, m=2)  # 2 accounts per batch, 4 batches, 2 market slots
OPTIONS = zp.PortfolioShape(u=1, k=4, p=2)  # one underlying, 4 rows (perp, two calls, the settled put), 2 option slots
MARKET_COUNT = 2
CHECKPOINT = 9
CHAIN_ID, REGISTRY, ENGINE = 31337, 0xC0FFEE, 0xE9E
SECRET = bytes(range(32))


def _epoch(world, shape=OPTIONS, epoch_shape=SHAPE):
    tables = zo.option_tables(world.book, world.module.state.perp_series, MARKET_COUNT, NOW, shape)
    commitment = zo.commit_option_book(world.accounts, world.options, world.markets, tables, SECRET, CHECKPOINT, depth=epoch_shape.depth)
    statement = inputs.epoch_statement(commitment, SECRET, epoch_shape, CHAIN_ID, REGISTRY, ENGINE, CHECKPOINT, MARKET_COUNT, tables)
    return tables, commitment, statement


@pytest.fixture(scope="module")
def world():
    book = option_world(11, 7)
    tables, commitment, statement = _epoch(book)
    circuit = circuits.solvency_options(SHAPE.k, SHAPE.m, SHAPE.t, OPTIONS.u, OPTIONS.k, OPTIONS.p)
    return dict(book=book, tables=tables, commitment=commitment, statement=statement, circuit=circuit,
                batches=inputs.batch_inputs(commitment, SECRET, statement))


def _leaves(commitment):
    return [commitment.leaf(i, SECRET) for i in range(len(commitment.accounts))]


def _copy(values: dict) -> dict:
    return json.loads(json.dumps(values))


def _refused(circuit, values, tmp_path):
    with pytest.raises(WitnessError):
        compute_witness(circuit, values, tmp_path / "bad.wtns")


# --- figures: the engine's ----------------------------------------------------------------------

@pytest.mark.parametrize("underlyings", [1, 2])
@pytest.mark.parametrize("seed", range(3))
def test_figures_equal_the_engine_mirror_on_random_books(seed, underlyings):
    book = option_world(seed, 9, underlyings)
    shape = zp.PortfolioShape(underlyings, 4 if underlyings == 1 else 3, 2)
    tables, commitment, statement = _epoch(book, shape, Shape(k=2, t=2, m=2))
    leaves = _leaves(commitment)
    figures = zo.account_figures(tables, leaves, book.markets)
    differs = 0
    for account, leaf, mine in zip(commitment.accounts, leaves, figures):
        assert mine == book.engine_margins(account), account.account_id
        assert leaf.holds_options == (account.account_id in book.options)
        differs += leaf.holds_options and mine != leaf_margins(leaf, book.markets)
    assert differs >= 4  # hedged, naked, settled and mixed: the perp-only formula would be wrong for each
    held = [(sid, size) for positions in book.options.values() for sid, size in positions]
    for sid, row in tables.risk.row_of.items():
        mine = [size for s, size in held if s == sid]
        assert statement.options.aggregates[row] == SeriesAggregate(sum(max(v, 0) for v in mine), sum(max(-v, 0) for v in mine))
    settled = book.book.series[book.series["put0"]]
    assert settled.settled and tables.value[tables.risk.row_of[book.series["put0"]]] == settled.payoff_wad > 0
    assert set(tables.risk.array[tables.risk.row_of[book.series["put0"]]]) == {0}
    assert statement.totals.below_mm_count >= 1


def test_an_options_holder_changes_its_leaf_a_perp_only_account_keeps_it(world):
    commitment, tables = world["commitment"], world["tables"]
    plain = [dataclasses.replace(leaf, options=()) for leaf in _leaves(commitment)]
    for leaf, bare in zip(_leaves(commitment), plain):
        assert (leaf.hash() == bare.hash()) == (not leaf.holds_options)
    with pytest.raises(UserError, match="has no row"):
        zo.option_slots(tables, [(99, 1)])
    with pytest.raises(UserError, match="market 1 has no perp series"):
        zo.option_tables(world["book"].book, {0: 0}, MARKET_COUNT, NOW, OPTIONS)


# --- the circuit computes the same figures -------------------------------------------------------

def test_circuit_public_signals_and_figures_equal_python(world, tmp_path):
    circuit, commitment, tables = world["circuit"], world["commitment"], world["tables"]
    names = signal_indices(circuit)
    leaves = _leaves(commitment) + [None] * ((1 << SHAPE.depth) - len(commitment.accounts))
    holders = 0
    for batch in world["batches"]:
        witness = read_wtns(compute_witness(circuit, batch.inputs, tmp_path / f"{batch.index}.wtns"))
        assert tuple(witness[1:5]) == batch.public
        for i in range(1 << SHAPE.k):
            leaf = leaves[(batch.index << SHAPE.k) + i]
            if leaf is None or not leaf.holds_options:
                continue
            equity, mm, im = zo.account_figures(tables, [leaf], commitment.markets)[0]
            at = f"main.options[{i}]."
            assert (witness[names[at + "initial.a"]], witness[names[at + "initial.out"]]) == (mm, im)
            assert witness[names[at + "holds"]] == 1
            if at + "equity" in names:  # --O2 folds the last account's equity into the sums
                assert from_field(witness[names[at + "equity"]]) == equity
            holders += 1
    assert holders == len(world["book"].options) >= 4
    assert world["batches"][0].public[0] == context_hash(world["statement"])


def test_perp_only_circuit_is_unchanged():
    """SolvencyBatch(1, 4, 1) (test_zk_solvency's) = SolvencyBatch(1, 4, 1, 0, 0, 0): as compiled from commit 3ef992b
    before §7.9 (17,928 constraints, 17,885 wires, 113 private inputs, the same four public signals) less, per
    account, the order step the engine-index order removed (§6.3: 496 constraints, 495 wires) and the two-level
    leaf hash the one Poseidon_11 replaced (§6.2: 450 constraints, 450 wires)."""
    info = circuits.solvency(1, 4, 1).info
    assert (info["constraints"], info["wires"], info["private_inputs"], info["outputs"], info["public_inputs"]) == \
        (17928 - 2 * (496 + 450), 17885 - 2 * (495 + 450), 113, 4, 0)


def test_hedge_needs_less_margin_in_the_statement(tmp_path):
    """docs/risk.md's example in the statement: e units long the perp with e calls written needs less
    than the call written alone plus the perp alone (portfolio MM), the same integers as riskarray."""
    perp = ra.risk_array(ra.InstrumentKind.Perp, 0, 0, PRICE, VOL, PRICE_RANGE, VOL_RANGE)
    call = ra.risk_array(ra.InstrumentKind.Call, STRIKE, TAU, PRICE, VOL, PRICE_RANGE, VOL_RANGE)
    som = ra.short_option_minimum(ra.InstrumentKind.Call, PRICE, EXAMPLE_SOM_FRACTION)
    series = {0: RiskSeries(0, tuple(perp), 0), 1: RiskSeries(0, tuple(call), som)}
    risk = zp.risk_tables(series, OPTIONS, IM_MULTIPLE)
    value = black76.price(black76.OptionKind.Call, PRICE, STRIKE, VOL, TAU, 0)
    tables = zo.OptionTables(risk, (0, value, 0, 0), (1, 2, 0, 0), (0, 0))
    views = {j: MarketView(PRICE, 0, 10**17, 5 * 10**16) for j in range(2)}
    hedged = Account(f"0x{1:040x}", 0, 10**24, {0: Position(0, SIZE, SIZE * PRICE // 10**18, 0)})
    naked = Account(f"0x{2:040x}", 0, 10**24, {})
    options = {hedged.account_id: [(1, -SIZE)], naked.account_id: [(1, -SIZE)]}
    commitment = zo.commit_option_book([hedged, naked], options, views, tables, SECRET, CHECKPOINT, depth=SHAPE.depth)
    statement = inputs.epoch_statement(commitment, SECRET, SHAPE, CHAIN_ID, REGISTRY, ENGINE, CHECKPOINT, MARKET_COUNT, tables)
    batch = inputs.batch_inputs(commitment, SECRET, statement)[0]
    circuit = circuits.solvency_options(SHAPE.k, SHAPE.m, SHAPE.t, OPTIONS.u, OPTIONS.k, OPTIONS.p)
    witness = read_wtns(compute_witness(circuit, batch.inputs, tmp_path / "hedge.wtns"))
    assert tuple(witness[1:5]) == batch.public
    names = signal_indices(circuit)
    mm = {commitment.accounts[i].account_id: witness[names[f"main.options[{i}].initial.a"]] for i in range(2)}
    figures = example_figures()
    assert (mm[hedged.account_id], mm[naked.account_id]) == (figures["hedged"], figures["call_alone"])
    assert mm[hedged.account_id] < figures["perp_alone"] + mm[naked.account_id]
    assert statement.totals.mm_wad == figures["hedged"] + figures["call_alone"]


# --- soundness -------------------------------------------------------------------------------------

def _lying_epoch(world, monkeypatch, lie):
    """The epoch committed and stated with ``lie(leaf, honest figures)`` as an options holder's figures."""
    honest = zo.account_figures

    def figures(tables, leaves, markets):
        return [lie(leaf, f) if leaf.holds_options else f for leaf, f in zip(leaves, honest(tables, leaves, markets))]

    monkeypatch.setattr(zo, "account_figures", figures)
    monkeypatch.setattr(inputs, "account_figures", figures)
    return _epoch(world["book"])


@pytest.mark.parametrize("lie", ["smaller_mm", "perp_only_formula", "smaller_im", "value_left_out"])
def test_an_options_holder_stated_with_other_figures_has_no_witness(world, monkeypatch, tmp_path, lie):
    markets = world["commitment"].markets
    lies = {
        "smaller_mm": lambda leaf, f: (f[0], f[1] - 1, f[2]),
        "perp_only_formula": lambda leaf, f: leaf_margins(leaf, markets),
        "smaller_im": lambda leaf, f: (f[0], f[1], f[2] - 1),
        "value_left_out": lambda leaf, f: (leaf_margins(leaf, markets)[0], f[1], f[2]),
    }
    _, commitment, statement = _lying_epoch(world, monkeypatch, lies[lie])
    assert statement != world["statement"]
    holder = next(i for i in range(len(commitment.accounts)) if commitment.leaf(i, SECRET).holds_options)
    batch = inputs.batch_inputs(commitment, SECRET, statement)[holder >> SHAPE.k]
    try:  # the holder's batch: no witness, or (IM, not in the tree) not the chain state the lying statement needs
        witness = read_wtns(compute_witness(world["circuit"], batch.inputs, tmp_path / "lie.wtns"))
    except WitnessError:
        assert lie != "smaller_im"
    else:
        assert lie == "smaller_im" and tuple(witness[1:4]) == batch.public[:3] and witness[4] != batch.public[3]


def test_an_option_slot_dropped_from_the_leaf(world, tmp_path):
    """Dropped with the holder's figures kept: no witness. Dropped consistently (the account shown
    perp-only): the per-row option sums change, which the registry compares with the module's open
    interest; kept at the honest sums: no witness."""
    book, honest = world["book"], world["statement"]
    owner = next(a for a in world["commitment"].accounts if a.account_id in book.options and a.positions)
    index = world["commitment"].index_of(owner.account_id)
    batch = _copy(world["batches"][index >> SHAPE.k].inputs)
    batch["optionSize"][index % 2] = [0] * OPTIONS.p
    _refused(world["circuit"], batch, tmp_path)
    hidden = {k: v for k, v in book.options.items() if k != owner.account_id}
    tables = honest.options.tables
    commitment = zo.commit_option_book(book.accounts, hidden, book.markets, tables, SECRET, CHECKPOINT, depth=SHAPE.depth)
    shown = inputs.epoch_statement(commitment, SECRET, SHAPE, CHAIN_ID, REGISTRY, ENGINE, CHECKPOINT, MARKET_COUNT, tables)
    assert shown.options.aggregates != honest.options.aggregates
    last = _copy(inputs.batch_inputs(commitment, SECRET, shown)[-1].inputs)
    last.update(inputs.statement_inputs(dataclasses.replace(shown, options=honest.options)))
    _refused(world["circuit"], last, tmp_path)


@pytest.mark.parametrize("change", ["value", "array", "som", "perp_row", "multiple"])
def test_other_tables_have_no_witness_or_another_ctx(world, tmp_path, change):
    """The batch of the hedged account with one table entry changed: no witness against the committed
    root (its liability or MM changes); the multiple (IM only, not in the tree) changes the batch's
    chain state and ctx. A statement with other tables has another ctx, which every verifier compares
    with the proof's."""
    tables, statement = world["tables"], world["statement"]
    hedged = world["book"].accounts[1].account_id
    index = world["commitment"].index_of(hedged)
    bad = _copy(world["batches"][index >> SHAPE.k].inputs)
    call = tables.risk.row_of[world["book"].series["call0"]]
    if change == "value":
        bad["value"][call] *= 2
    elif change == "array":
        bad["array"][call] = [(v * 2) % FIELD_P for v in bad["array"][call]]
    elif change == "som":
        bad["som"][call] *= 1000
    elif change == "multiple":
        bad["multiple"] += 10**17
    else:
        bad["perpRow"][0] = tables.risk.row_of[world["book"].series["call1"]]
    if change != "multiple":
        _refused(world["circuit"], bad, tmp_path)
    else:
        witness = read_wtns(compute_witness(world["circuit"], bad, tmp_path / "m.wtns"))
        honest = world["batches"][index >> SHAPE.k].public
        assert witness[1] != honest[0] and witness[4] != honest[3] and witness[3] == honest[2]
    other = dataclasses.replace(tables, value=tuple(v + (row == call) for row, v in enumerate(tables.value)))
    assert context_hash(dataclasses.replace(statement, options=dataclasses.replace(statement.options, tables=other))) != context_hash(statement)


def test_forged_signals_break_the_r1cs(world, tmp_path):
    circuit, batches = world["circuit"], world["batches"]
    # a holder in slot 0 of its batch: --O2 substitutes some named wires of the batch's last account away
    holder = next(i for i, leaf in enumerate(_leaves(world["commitment"])) if leaf.holds_options and i % 2 == 0)
    batch, slot = batches[holder >> SHAPE.k], holder % 2
    witness = read_wtns(compute_witness(circuit, batch.inputs, tmp_path / "w.wtns"))
    system, names = read_r1cs(circuit.r1cs), signal_indices(circuit)
    touching: dict[int, list[int]] = {}
    for c, (a, b, cc) in enumerate(system.constraints):
        for wire in set(a) | set(b) | set(cc):
            touching.setdefault(wire, []).append(c)

    def breaks(forged: list[int], wire: int) -> bool:
        dot = lambda term: sum(k * forged[w] for w, k in term.items()) % FIELD_P  # noqa: E731
        return any(dot(system.constraints[c][0]) * dot(system.constraints[c][1]) % FIELD_P != dot(system.constraints[c][2])
                   for c in touching.get(wire, []))

    for name in (f"main.options[{slot}].initial.a", f"main.options[{slot}].equity", f"main.options[{slot}].im",
                 f"main.options[{slot}].holds", f"main.options[{slot}].valueTerm[1]", f"main.options[{slot}].agg[1][1]",
                 f"main.standing[{slot}].below"):
        wire = names[name]
        assert not breaks(witness, wire), name
        forged = list(witness)
        forged[wire] = (forged[wire] + (1 if name.endswith("holds") else -1)) % FIELD_P
        assert breaks(forged, wire), name


# --- Groth16: three verifiers agree ----------------------------------------------------------------

@pytest.fixture(scope="module")
def proven(world, tmp_path_factory):
    circuit = world["circuit"]
    keys = setup.dev_setup_groth16py(circuit)
    batch = world["batches"][1]
    wtns = compute_witness(circuit, batch.inputs, tmp_path_factory.mktemp("opt") / "b.wtns")
    proof = backends.Groth16pyBackend().prove(keys, wtns)
    evm = FastEVM()
    verifier = evm.deploy(onchain.VERIFIER_CONTRACT, out_dir=onchain.verifier_artifacts(keys))
    return dict(keys=keys, batch=batch, wtns=wtns, proof=proof, evm=evm, verifier=verifier)


def _verdicts(proven, proof) -> tuple[bool, bool, bool]:
    vk = proven["keys"].verifying_key()
    out = proven["evm"].call(proven["verifier"].address, verify_proof_calldata(proof))
    return pyecc.verify(vk, proof), backends.SnarkjsBackend.verify(vk, proof), int.from_bytes(out, "big") == 1


def test_a_batch_with_options_is_proven_and_accepted_by_all_three(world, proven):
    assert proven["proof"].public == proven["batch"].public
    assert _verdicts(proven, proven["proof"]) == (True, True, True)


def test_edited_public_signals_are_rejected_by_all_three(world, proven):
    proof = proven["proof"]
    ctx, index, state_in, state_out = proof.public
    tables = world["tables"]
    other = dataclasses.replace(tables, value=tuple(v + 1 for v in tables.value))
    other_ctx = context_hash(dataclasses.replace(world["statement"], options=dataclasses.replace(world["statement"].options, tables=other)))
    for public in ((other_ctx, index, state_in, state_out), (ctx, index, state_in, (state_out + 1) % FIELD_P)):
        assert _verdicts(proven, dataclasses.replace(proof, public=public)) == (False, False, False)


@pytest.mark.slow
def test_a_proof_of_an_edited_witness_is_rejected_by_all_three(proven, tmp_path):
    """groth16py proves a witness that breaks the constraints (the chain state out one unit lower)."""
    witness = read_wtns(proven["wtns"])
    witness[signal_indices(proven["keys"].circuit)["main.stateOut"]] -= 1
    forged_path = tmp_path / "forged.wtns"
    write_wtns(forged_path, witness)
    forged = backends.Groth16pyBackend().prove(proven["keys"], forged_path)
    assert forged.public[3] == proven["proof"].public[3] - 1
    assert _verdicts(proven, forged) == (False, False, False)


@pytest.mark.slow
def test_two_underlyings_every_batch_equals_python(tmp_path):
    """SolvencyBatch(1, 2, 2, 2, 3, 2): two underlyings (no credit between them), every batch's witness."""
    book = option_world(5, 8, 2)
    shape = zp.PortfolioShape(2, 3, 2)
    _, commitment, statement = _epoch(book, shape)
    circuit = circuits.solvency_options(SHAPE.k, SHAPE.m, SHAPE.t, shape.u, shape.k, shape.p)
    for batch in inputs.batch_inputs(commitment, SECRET, statement):
        witness = read_wtns(compute_witness(circuit, batch.inputs, tmp_path / f"{batch.index}.wtns"))
        assert tuple(witness[1:5]) == batch.public


@pytest.mark.slow
def test_an_epoch_with_options_is_proven_and_verified(world):
    """prove_epoch (groth16py) over every batch of the book with options; verify_epoch's batched check."""
    epoch, keys = prove_epoch(world["commitment"], SECRET, world["statement"], "groth16py")
    assert verify_epoch(epoch, keys.verifying_key(), SHAPE) == []
    assert [p.public for p in epoch.proofs] == [b.public for b in world["batches"]]
