"""Signed orders (docs/spec.md §5.3): the EIP-712 ``Order`` the engine fills, its digest, signing and
signature recovery, exactly as ``contracts/MarginEngine.sol`` and OpenZeppelin's ``SignatureChecker``.

Typed data: domain ``{name: "pymargin MarginEngine", version: "1", chainId, verifyingContract}``
(the engine's address), primary type ``Order`` with the fields of :class:`Order`. The digest is
``keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(order))``, computed here with eth-account's
``encode_typed_data``; owners sign it with their private key (65 bytes r ‖ s ‖ v).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_keys import keys
from eth_utils import to_checksum_address

DOMAIN_NAME = "pymargin MarginEngine"
DOMAIN_VERSION = "1"
ORDER_FIELDS = (
    ("owner", "address"), ("sub", "uint256"), ("marketId", "uint256"), ("sizeWad", "int256"),
    ("limitPriceWad", "uint256"), ("maxFeeWad", "uint256"), ("nonce", "uint256"), ("expiry", "uint256"),
)
SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0  # OZ ECDSA's bound on s
NEVER_EXPIRES = 2**64 - 1  # expiry (unix seconds) for orders that stand until filled or cancelled


class Order(NamedTuple):
    """The contract's ``Order`` struct, field for field (ABI-encodes as the tuple it is).

    ``size_wad`` > 0 buys, < 0 sells; ``|size_wad|`` is the full size. ``limit_price_wad``: a buy
    fills at ≤ limit, a sell at ≥ limit. ``max_fee_wad``: the highest fee rate (WAD fraction) the
    owner accepts. ``nonce`` ≥ the owner's minNonce; ``expiry`` in unix seconds (inclusive).
    """

    owner: str
    sub: int
    market_id: int
    size_wad: int
    limit_price_wad: int
    max_fee_wad: int
    nonce: int
    expiry: int


def typed_data(order: Order, chain_id: int, engine: str, name: str = DOMAIN_NAME) -> dict:
    """The order as EIP-712 typed data (the ``full_message`` form of eth-account) under the domain
    ``name`` (the engine's; the options module signs the same Order type under its own name)."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"},
            ],
            "Order": [{"name": n, "type": t} for n, t in ORDER_FIELDS],
        },
        "primaryType": "Order",
        "domain": {"name": name, "version": DOMAIN_VERSION, "chainId": chain_id,
                   "verifyingContract": to_checksum_address(engine)},
        "message": {name: value for (name, _), value in zip(ORDER_FIELDS, order)},
    }


def order_digest(order: Order, chain_id: int, engine: str, name: str = DOMAIN_NAME) -> bytes:
    """The 32-byte EIP-712 digest the owner signs (``MarginEngine.orderDigest``; ``OptionsEngine.orderDigest``
    with the options module's address and name)."""
    order = Order(to_checksum_address(order[0]), *order[1:])
    return bytes(_hash_eip191_message(encode_typed_data(full_message=typed_data(order, chain_id, engine, name))))


def sign_digest(digest: bytes, private_key: bytes) -> bytes:
    """A 65-byte ECDSA signature r ‖ s ‖ v (v ∈ {27, 28}, low s) of ``digest``."""
    return bytes(Account._sign_hash(digest, private_key).signature)


def sign_order(order: Order, private_key: bytes, chain_id: int, engine: str, name: str = DOMAIN_NAME) -> bytes:
    """The owner's signature of ``order`` (65 bytes)."""
    return sign_digest(order_digest(order, chain_id, engine, name), private_key)


def recover_signer(digest: bytes, signature: bytes) -> str | None:
    """OpenZeppelin ``ECDSA.tryRecover``: the signer of a 65-byte signature, or None where it reports
    an error (length ≠ 65, s > n/2, v ∉ {27, 28}, no point / ecrecover gives the zero address)."""
    if len(signature) != 65:
        return None
    r, s, v = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"), signature[64]
    if s > SECP256K1_HALF_N or v not in (27, 28):
        return None
    try:
        public_key = keys.Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest)
    except Exception:  # r or s out of range, or no curve point: ecrecover returns the zero address
        return None
    return public_key.to_checksum_address()


class OrderSigner:
    """Makes and signs orders for traders whose keys it holds, under one engine's domain.

    ``keys`` maps an owner address to the private key that signs for it: an EOA's own key, or, for
    a contract wallet that accepts its signer's ECDSA signatures (ERC-1271), that signer's key.
    Nonces come from a counter (``next_nonce``), so every order made here has its own digest.
    """

    def __init__(self, chain_id: int, engine: str, keys_by_owner: Mapping[str, bytes], first_nonce: int = 0,
                 name: str = DOMAIN_NAME):
        self.chain_id = chain_id
        self.name = name
        self.engine = to_checksum_address(engine)
        self.keys = {to_checksum_address(a): k for a, k in keys_by_owner.items()}
        self.next_nonce = first_nonce

    def order(self, owner: str, sub: int, market_id: int, size_wad: int, limit_price_wad: int, *,
              max_fee_wad: int = 10**18, nonce: int | None = None, expiry: int = NEVER_EXPIRES) -> Order:
        """An order with the next nonce unless one is given."""
        if nonce is None:
            nonce, self.next_nonce = self.next_nonce, self.next_nonce + 1
        return Order(to_checksum_address(owner), sub, market_id, size_wad, limit_price_wad, max_fee_wad, nonce, expiry)

    def sign(self, order: Order) -> bytes:
        """The signature of ``order`` by the key held for its owner (KeyError if none)."""
        return sign_order(order, self.keys[to_checksum_address(order.owner)], self.chain_id, self.engine, self.name)

    def digest(self, order: Order) -> bytes:
        return order_digest(order, self.chain_id, self.engine, self.name)

    def fill(self, market_id: int, taker: str, taker_sub: int, maker: str, maker_sub: int, size_wad: int,
             price_wad: int) -> tuple[Order, bytes, Order, bytes, int, int]:
        """``trade`` arguments for a fill of ``size_wad`` (the taker's side) at ``price_wad``: two fresh
        orders of exactly that size, limits at the price, fee caps at 100%, signed by their owners."""
        t = self.order(taker, taker_sub, market_id, size_wad, price_wad)
        m = self.order(maker, maker_sub, market_id, -size_wad, price_wad)
        return t, self.sign(t), m, self.sign(m), size_wad, price_wad


__all__ = [
    "DOMAIN_NAME", "DOMAIN_VERSION", "NEVER_EXPIRES", "Order", "OrderSigner", "order_digest", "recover_signer",
    "sign_digest", "sign_order", "typed_data",
]
