"""A whole venue on one chain: collateral token, oracles, MarginEngine with its markets and roles, and the
proof-of-solvency contracts (Groth16 verifier, Poseidon hashers, SolvencyRegistry).

:func:`load_config` reads a ``pymargin-deploy/1`` config (schema: ``deploy.schema.json`` beside this
module, docs/deploy.schema.json; prose: docs/deploy.md) into a :class:`VenueSpec`; :func:`deploy_venue`
deploys it through a :class:`~pymargin.chain.deploy.Deployer` (recorded, reused on a re-run, every
transaction simulated first). The demo deploys its venue with the same function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Callable

from web3 import Web3

from pymargin.chain.deploy import Deployer
from pymargin.chain.devnet import Chain
from pymargin.chain.engine_devnet import DEVNET_MAX_ANSWER_AGE_S, EngineDeployment, MarketSpec, default_params, deploy_engine
from pymargin.chain.solvency import SolvencyContracts, deploy_solvency
from pymargin.engine.core import ZERO_ADDRESS
from pymargin.errors import UserError
from pymargin.fixedpoint import WAD
from pymargin.fsutil import read_json
from pymargin.model import CONFIG_PARAM_FIELDS
from pymargin.zk.setup import Keys
from pymargin.zk.statement import Shape

SCHEMA_PATH = Path(__file__).with_name("deploy.schema.json")
DEFAULT_BATCH_LOG2 = 6
DEFAULT_TOKEN_DECIMALS = 6
DEPLOYER = "deployer"  # the config's name for the signing account


class ConfigError(UserError):
    """The deploy config is missing, malformed, or does not follow the schema."""


@dataclass(frozen=True)
class SolvencySpec:
    """The proof-of-solvency contracts to deploy: circuit shape, epoch poster, key setup."""

    shape: Shape
    operator: str = DEPLOYER
    backend: str | None = None  # None: the fastest installed prover backend
    ptau: Path | None = None  # None: a DEVELOPMENT setup made on this machine


@dataclass(frozen=True)
class VenueSpec:
    """A venue to deploy. Accounts may be ``"deployer"`` (the signer's address)."""

    chain_id: int
    markets: list[MarketSpec]
    token_decimals: int = DEFAULT_TOKEN_DECIMALS
    token_address: str | None = None  # None: deploy a TestToken
    keepers: tuple[str, ...] = (DEPLOYER,)
    operators: tuple[str, ...] = (DEPLOYER,)
    solvency: SolvencySpec | None = None


@dataclass
class Venue:
    """What :func:`deploy_venue` deployed (or reused)."""

    engine: EngineDeployment
    solvency: SolvencyContracts | None = None
    shape: Shape | None = None
    keys: Keys | None = None
    addresses: dict[str, str] = field(default_factory=dict)  # role -> address, as recorded under "venue"


def validate_config(config: object, path: Path) -> None:
    """ConfigError (one line naming the bad field, e.g. ``markets[1].oracle.kind``) unless ``config``
    follows deploy.schema.json."""
    import jsonschema
    from jsonschema.exceptions import best_match

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    error = best_match(validator.iter_errors(config))
    if error is None:
        return
    while error.context:  # a oneOf/anyOf: the branch that came closest
        error = best_match(error.context)
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".") or "top level"
    raise ConfigError(f"{path}: {where}: {error.message}")


def _wad(text: str) -> int:
    """A schema-checked decimal string as WAD, exact."""
    return int(Decimal(text) * WAD)


def _account(value: str) -> str:
    return value if value == DEPLOYER else Web3.to_checksum_address(value)


def _market(entry: dict, index: int, path: Path) -> MarketSpec:
    oracle = entry["oracle"]
    overrides = {}
    for key, value in entry.get("params", {}).items():
        overrides[CONFIG_PARAM_FIELDS[key]] = value if key == "max_price_age_s" else _wad(value)
    params = default_params(**overrides)
    if oracle["kind"] in ("dev", "mock_chainlink") and "price" not in entry:
        raise ConfigError(f"{path}: markets[{index}].price: a {oracle['kind']} oracle needs a first price")
    if oracle["kind"] == "chainlink" and "price" in entry:
        raise ConfigError(f"{path}: markets[{index}].price: a chainlink oracle reads its feed; drop the price")
    price_wad = _wad(entry["price"]) if "price" in entry else 0
    if oracle["kind"] == "dev":
        return MarketSpec(entry["name"], params, price_wad)
    if oracle["kind"] == "mock_chainlink":
        return MarketSpec(entry["name"], params, price_wad, chainlink_decimals=oracle["decimals"],
                          max_answer_age_s=oracle.get("max_answer_age_s", DEVNET_MAX_ANSWER_AGE_S))
    return MarketSpec(entry["name"], params, 0, feed=Web3.to_checksum_address(oracle["feed"]),
                      max_answer_age_s=oracle["max_answer_age_s"],
                      sequencer_feed=Web3.to_checksum_address(oracle.get("sequencer_feed", ZERO_ADDRESS)),
                      grace_period_s=oracle.get("grace_period_s", 0))


def parse_config(config: dict, path: Path) -> VenueSpec:
    """A :class:`VenueSpec` from a config dict (validated first; ConfigError naming the field)."""
    validate_config(config, path)
    markets = [_market(entry, i, path) for i, entry in enumerate(config["markets"])]
    names = [m.name for m in markets]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: markets: names must be distinct, got {names}")
    token = config["token"]
    solvency = None
    if "solvency" in config:
        s = config["solvency"]
        shape = Shape(s.get("batch_log2", DEFAULT_BATCH_LOG2), s.get("batch_count_log2", 0), s.get("circuit_markets", 4))
        if not 1 <= shape.depth <= 32:
            raise ConfigError(f"{path}: solvency: batch_log2 + batch_count_log2 must be in 1..32, got {shape.depth}")
        ptau = Path(s["ptau"]) if "ptau" in s else None
        if ptau is not None and not ptau.is_file():
            raise ConfigError(f"{path}: solvency.ptau: no file {ptau}")
        solvency = SolvencySpec(shape, _account(s.get("operator", DEPLOYER)), s.get("backend"), ptau)
    return VenueSpec(
        chain_id=config["chain_id"],
        markets=markets,
        token_decimals=token.get("deploy", {}).get("decimals", DEFAULT_TOKEN_DECIMALS),
        token_address=Web3.to_checksum_address(token["address"]) if "address" in token else None,
        keepers=tuple(_account(a) for a in config.get("keepers", [DEPLOYER])),
        operators=tuple(_account(a) for a in config.get("operators", [DEPLOYER])),
        solvency=solvency,
    )


def load_config(path: Path) -> VenueSpec:
    """Read and check a deploy config file; ConfigError (one line, naming the file and the field)."""
    path = Path(path)
    return parse_config(read_json(path, "deploy config", ConfigError), path)


def solvency_keys(spec: SolvencySpec, progress: Callable[[str], None] = lambda _msg: None) -> Keys:
    """The Groth16 keys of SolvencyBatch(K, M, T) for ``spec`` (compiled and set up once, then cached)."""
    from pymargin.zk import circuits
    from pymargin.zk.backends import default_backend_name, get_backend

    k, t, m = spec.shape.k, spec.shape.t, spec.shape.m
    backend = spec.backend or default_backend_name()
    progress(f"Groth16 keys for SolvencyBatch(K={k}, M={m}, T={t}) with {backend} (compiled and set up once, then cached)")
    return get_backend(backend).setup(circuits.solvency(k, m, t), spec.ptau)


def deploy_venue(chain: Chain, spec: VenueSpec, deployer: Deployer, keys: Keys | None = None) -> Venue:
    """Deploy (or reuse) every contract of ``spec`` on ``chain`` through ``deployer``; record the venue's
    addresses under the manifest's ``venue`` key. ``keys``: the solvency circuit's keys if already made."""
    if spec.chain_id != chain.chain_id:
        raise ConfigError(f"the config is for chain {spec.chain_id} but the RPC is chain {chain.chain_id}: nothing was sent")
    me = deployer.signer.address
    resolve = lambda account: me if account == DEPLOYER else account  # noqa: E731
    engine = deploy_engine(chain, deployer.signer, spec.markets, decimals=spec.token_decimals,
                           keepers=tuple(map(resolve, spec.keepers)), operators=tuple(map(resolve, spec.operators)),
                           token_address=spec.token_address, deployer=deployer)
    venue = Venue(engine)
    venue.addresses = {"token": engine.token.address, "engine": engine.engine.address}
    if spec.solvency is not None:
        venue.keys = keys or solvency_keys(spec.solvency, deployer.progress)
        venue.shape = spec.solvency.shape
        venue.solvency = deploy_solvency(deployer, venue.keys, engine.engine.address, spec.solvency.shape,
                                         resolve(spec.solvency.operator))
        venue.addresses |= {"verifier": venue.solvency.verifier.address, "registry": venue.solvency.registry.address}
    deployer.manifest["venue"] = venue.addresses | {
        "markets": [{"id": i, "name": s.name, "oracle": o.address} for i, (s, o) in enumerate(zip(engine.specs, engine.oracles))],
        **({"shape": {"batch_log2": venue.shape.k, "batch_count_log2": venue.shape.t, "circuit_markets": venue.shape.m},
            "setup": venue.keys.setup_id, "development_setup": venue.keys.development} if venue.shape else {}),
    }
    deployer.save()
    return venue
