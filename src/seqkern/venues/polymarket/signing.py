"""Polymarket signing: CLOB V2 EIP-712 orders, ClobAuth (L1) headers, L2 HMAC headers.

Built once per signer: domain separators and type hashes are precomputed; an order costs one
struct hash, one digest and one secp256k1 signature (coincurve). Facts: pred-hl.md 2.4/2.5 (P-MIG,
py-clob-client-v2 config.py / order_utils / signing / headers).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

from coincurve import PrivateKey, PublicKey

from seqkern._evmhash import eip712_digest, keccak256
from seqkern.errors import CredentialError
from seqkern.venues.evm_sign import RecoverableSigner

CHAIN_ID = 137
EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE_V2 = "0xe2222d279d744050d28e00520010520000310F59"
EXCHANGE_V1 = "0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E"       # legacy (V1 orders refused since 2026-04-28)
ZERO32 = "0x" + "00" * 32
CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"

ORDER_TYPE_V2 = (b"Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,"
                 b"uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,"
                 b"bytes32 builder)")
_ORDER_TYPEHASH = keccak256(ORDER_TYPE_V2)
_DOMAIN_TYPEHASH = keccak256(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_AUTH_DOMAIN_TYPEHASH = keccak256(b"EIP712Domain(string name,string version,uint256 chainId)")
_AUTH_TYPEHASH = keccak256(b"ClobAuth(address address,string timestamp,uint256 nonce,string message)")

BUY, SELL = 0, 1
SIG_EOA, SIG_POLY_PROXY, SIG_POLY_GNOSIS_SAFE = 0, 1, 2


def _u256(x: int) -> bytes:
    return int(x).to_bytes(32, "big")


def _addr(a: str) -> bytes:
    raw = bytes.fromhex(a.removeprefix("0x"))
    if len(raw) != 20:
        raise ValueError(f"not an address: {a}")
    return bytes(12) + raw


def _b32(h: str) -> bytes:
    raw = bytes.fromhex(h.removeprefix("0x"))
    if len(raw) != 32:
        raise ValueError(f"not bytes32: {h}")
    return raw


def exchange_domain_separator(verifying_contract: str, version: str = "2", chain_id: int = CHAIN_ID) -> bytes:
    return keccak256(_DOMAIN_TYPEHASH + keccak256(b"Polymarket CTF Exchange") + keccak256(version.encode())
                     + _u256(chain_id) + _addr(verifying_contract))


@dataclass(frozen=True)
class OrderV2:
    """The signed V2 order struct (amounts in 6-decimal units; side 0 BUY / 1 SELL)."""

    salt: int
    maker: str
    signer: str
    token_id: int
    maker_amount: int
    taker_amount: int
    side: int
    signature_type: int
    timestamp: int
    metadata: str = ZERO32
    builder: str = ZERO32

    def struct_hash(self) -> bytes:
        return keccak256(_ORDER_TYPEHASH + _u256(self.salt) + _addr(self.maker) + _addr(self.signer)
                         + _u256(self.token_id) + _u256(self.maker_amount) + _u256(self.taker_amount)
                         + _u256(self.side) + _u256(self.signature_type) + _u256(self.timestamp)
                         + _b32(self.metadata) + _b32(self.builder))

    def wire(self, signature: str, expiration: int = 0) -> dict[str, Any]:
        """The ``order`` object of POST /order (expiration is sent but not signed in V2)."""
        return {"salt": self.salt, "maker": self.maker, "signer": self.signer, "tokenId": str(self.token_id),
                "makerAmount": str(self.maker_amount), "takerAmount": str(self.taker_amount),
                "side": "BUY" if self.side == BUY else "SELL", "expiration": str(expiration),
                "signatureType": self.signature_type, "timestamp": str(self.timestamp),
                "metadata": self.metadata, "builder": self.builder, "signature": signature}

    @classmethod
    def from_wire(cls, w: dict[str, Any]) -> OrderV2:
        side = w["side"]
        return cls(int(w["salt"]), str(w["maker"]), str(w["signer"]), int(w["tokenId"]), int(w["makerAmount"]),
                   int(w["takerAmount"]), BUY if side in ("BUY", 0) else SELL, int(w["signatureType"]),
                   int(w["timestamp"]), str(w.get("metadata", ZERO32)), str(w.get("builder", ZERO32)))


def address_of(key: PrivateKey) -> str:
    return to_checksum("0x" + keccak256(key.public_key.format(compressed=False)[1:])[-20:].hex())


def to_checksum(addr: str) -> str:
    """EIP-55 mixed-case address."""
    a = addr.lower().removeprefix("0x")
    h = keccak256(a.encode()).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(h[i], 16) >= 8 else c for i, c in enumerate(a))


def _sig_hex(sig: bytes) -> str:
    return "0x" + sig[:64].hex() + format(27 + sig[64], "02x")


def recover(digest: bytes, signature: str) -> str:
    raw = bytes.fromhex(signature.removeprefix("0x"))
    if len(raw) != 65 or raw[64] not in (27, 28):
        raise ValueError("signature must be 65 bytes with v 27/28")
    pub = PublicKey.from_signature_and_message(raw[:64] + bytes([raw[64] - 27]), digest, hasher=None)
    return to_checksum("0x" + keccak256(pub.format(compressed=False)[1:])[-20:].hex())


def order_digest(order: OrderV2, verifying_contract: str, version: str = "2") -> bytes:
    return keccak256(b"\x19\x01" + exchange_domain_separator(verifying_contract, version) + order.struct_hash())


def clob_auth_digest(address: str, timestamp: str, nonce: int = 0, chain_id: int = CHAIN_ID) -> bytes:
    dom = keccak256(_AUTH_DOMAIN_TYPEHASH + keccak256(b"ClobAuthDomain") + keccak256(b"1") + _u256(chain_id))
    struct = keccak256(_AUTH_TYPEHASH + _addr(address) + keccak256(timestamp.encode()) + _u256(nonce)
                       + keccak256(CLOB_AUTH_MESSAGE.encode()))
    return keccak256(b"\x19\x01" + dom + struct)


class PolySigner:
    """One EVM key; domain separators of both V2 exchanges precomputed. ``repr`` hides the key."""

    __slots__ = ("_dom", "_key", "_raw", "address")

    def __init__(self, private_key_hex: str) -> None:
        try:
            self._key = PrivateKey(bytes.fromhex(private_key_hex.removeprefix("0x")))
        except (ValueError, TypeError):
            raise CredentialError("Polymarket signer_private_key is not a 32-byte hex key",
                                  code="BAD_CREDENTIALS") from None
        self.address = address_of(self._key)
        self._raw = RecoverableSigner(self._key)
        self._dom = {False: exchange_domain_separator(EXCHANGE_V2), True: exchange_domain_separator(NEG_RISK_EXCHANGE_V2)}

    def __repr__(self) -> str:
        return f"PolySigner(address={self.address})"

    def sign_order(self, order: OrderV2, *, neg_risk: bool = False) -> str:
        digest = eip712_digest(self._dom[neg_risk], order.struct_hash())
        return _sig_hex(self._raw.sign(digest))

    def l1_headers(self, timestamp: int | None = None, nonce: int = 0) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = _sig_hex(self._key.sign_recoverable(clob_auth_digest(self.address, ts, nonce), hasher=None))
        return {"POLY_ADDRESS": self.address, "POLY_SIGNATURE": sig, "POLY_TIMESTAMP": ts, "POLY_NONCE": str(nonce)}


def l2_signature(secret_b64: str, timestamp: str, method: str, request_path: str, body: str = "") -> str:
    """urlsafe_b64(HMAC-SHA256(urlsafe_b64decode(secret), ts + METHOD + path + body)), padded."""
    key = base64.urlsafe_b64decode(secret_b64)
    msg = f"{timestamp}{method.upper()}{request_path}{body.replace(chr(39), chr(34))}"
    return base64.urlsafe_b64encode(hmac.new(key, msg.encode(), hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class ApiCreds:
    api_key: str
    secret: str
    passphrase: str

    def __repr__(self) -> str:
        return f"ApiCreds(api_key={self.api_key[:8]}..., secret=<hidden>)"

    def l2_headers(self, address: str, method: str, request_path: str, body: str = "",
                   timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        return {"POLY_ADDRESS": address, "POLY_SIGNATURE": l2_signature(self.secret, ts, method, request_path, body),
                "POLY_TIMESTAMP": ts, "POLY_API_KEY": self.api_key, "POLY_PASSPHRASE": self.passphrase}
