"""Polymarket signing: CLOB V2 EIP-712 orders (EOA, proxy, Safe, POLY_1271), L1/L2 auth, relayer and Polygon transactions.

Built once per signer: domain separators and type hashes are precomputed; an order costs one
struct hash, one digest and one secp256k1 signature (coincurve). Facts: pred-hl.md 2.4/2.5 (P-MIG,
py-clob-client-v2 config.py / order_utils / signing / headers); POLY_1271 = the ERC-7739
``TypedDataSign`` envelope of py-clob-client-v2 ``exchange_order_builder_v2``; relayer SAFE/PROXY
hashes from Polymarket's builder-relayer-client (``builder/safe``, ``builder/proxy``, ``derive``);
EIP-1559 transactions per EIP-2718/1559 (RLP).
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
SIG_EOA, SIG_POLY_PROXY, SIG_POLY_GNOSIS_SAFE, SIG_POLY_1271 = 0, 1, 2, 3

# POLY_1271 (deposit wallets): the order is wrapped in ERC-7739 TypedDataSign with the wallet's domain
_TYPED_DATA_SIGN_TYPEHASH = keccak256(b"TypedDataSign(Order contents,string name,string version,uint256 chainId,"
                                      b"address verifyingContract,bytes32 salt)" + ORDER_TYPE_V2)
DEPOSIT_WALLET_NAME, DEPOSIT_WALLET_VERSION = b"DepositWallet", b"1"

# relayer wallets (builder-relayer-client config for chain 137)
SAFE_FACTORY = "0xaacFeEa03eb1561C4e67d661e40682Bd20E3541b"
SAFE_MULTISEND = "0xA238CBeb142c10Ef7Ad8442C6D1f9E89e07e7761"
SAFE_INIT_CODE_HASH = "0x2bce2127ff07fb632d16c8347c4ebf501f4841168bed00d9e6ef715ddb6fcecf"
PROXY_FACTORY = "0xaB45c5A4B0c941a2F231C04C3f49182e1A254052"
RELAY_HUB = "0xD216153c06E857cD7f72665E0aF1d7D82172F494"
PROXY_INIT_CODE_HASH = "0xd21df8dc65880a8606f09fe0ce3df9b8869287ab0b058be05aa9e8af6330a00b"
ZERO_ADDRESS = "0x" + "00" * 20
_SAFE_DOMAIN_TYPEHASH = keccak256(b"EIP712Domain(uint256 chainId,address verifyingContract)")
_SAFE_TX_TYPEHASH = keccak256(b"SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,"
                              b"uint256 baseGas,uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)")


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


def _raw_addr(a: str) -> bytes:
    return _addr(a)[12:]


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


def poly1271_digest(order: OrderV2, app_domain_separator: bytes, chain_id: int = CHAIN_ID) -> bytes:
    """The digest a deposit-wallet owner signs for a POLY_1271 order (ERC-7739 TypedDataSign).

    ``keccak(0x1901 || exchangeDomainSeparator || hashStruct(TypedDataSign(contents = the order,
    name "DepositWallet", version "1", chainId, verifyingContract = the wallet = order.signer, salt 0)))``.
    """
    inner = keccak256(_TYPED_DATA_SIGN_TYPEHASH + order.struct_hash() + keccak256(DEPOSIT_WALLET_NAME)
                      + keccak256(DEPOSIT_WALLET_VERSION) + _u256(chain_id) + _addr(order.signer) + bytes(32))
    return keccak256(b"\x19\x01" + app_domain_separator + inner)


def poly1271_envelope(inner_sig: bytes, app_domain_separator: bytes, contents_hash: bytes) -> str:
    """``r || s || v || appDomainSeparator || contentsHash || contentsType || uint16(len(contentsType))``."""
    return "0x" + (inner_sig + app_domain_separator + contents_hash + ORDER_TYPE_V2
                   + len(ORDER_TYPE_V2).to_bytes(2, "big")).hex()


def recover_poly1271(order: OrderV2, signature: str, app_domain_separator: bytes, chain_id: int = CHAIN_ID) -> str:
    """The EOA behind a POLY_1271 signature, after checking the envelope names this order and exchange."""
    raw = bytes.fromhex(signature.removeprefix("0x"))
    if len(raw) < 65 + 64 + 2:
        raise ValueError("POLY_1271 signature too short")
    n = int.from_bytes(raw[-2:], "big")
    if len(raw) != 65 + 64 + n + 2:
        raise ValueError("POLY_1271 signature length does not match its contents type")
    sep, contents, ctype = raw[65:97], raw[97:129], raw[129:129 + n]
    if sep != app_domain_separator or contents != order.struct_hash() or ctype != ORDER_TYPE_V2:
        raise ValueError("POLY_1271 envelope does not match the order")
    return recover(poly1271_digest(order, app_domain_separator, chain_id), "0x" + raw[:65].hex())


def personal_digest(message32: bytes) -> bytes:
    """EIP-191 ``personal_sign`` digest of a 32-byte message (what ``signMessage(bytes32)`` signs)."""
    return keccak256(b"\x19Ethereum Signed Message:\n32" + message32)


def create2_address(factory: str, salt: bytes, init_code_hash: str) -> str:
    return to_checksum("0x" + keccak256(b"\xff" + _raw_addr(factory) + salt + _b32(init_code_hash))[12:].hex())


def derive_safe(owner: str, factory: str = SAFE_FACTORY) -> str:
    """The Polymarket Safe of an EOA: CREATE2 from the Safe factory, salt ``keccak(abi.encode(owner))``."""
    return create2_address(factory, keccak256(_addr(owner)), SAFE_INIT_CODE_HASH)


def derive_proxy(owner: str, factory: str = PROXY_FACTORY) -> str:
    """The Polymarket proxy wallet of an EOA: CREATE2 from the proxy factory, salt ``keccak(owner 20 bytes)``."""
    return create2_address(factory, keccak256(_raw_addr(owner)), PROXY_INIT_CODE_HASH)


def safe_tx_digest(safe: str, to: str, data: bytes, nonce: int, *, value: int = 0, operation: int = 0,
                   safe_tx_gas: int = 0, base_gas: int = 0, gas_price: int = 0, gas_token: str = ZERO_ADDRESS,
                   refund_receiver: str = ZERO_ADDRESS, chain_id: int = CHAIN_ID) -> bytes:
    """Gnosis Safe ``SafeTx`` EIP-712 digest, domain ``{chainId, verifyingContract: safe}``."""
    dom = keccak256(_SAFE_DOMAIN_TYPEHASH + _u256(chain_id) + _addr(safe))
    struct = keccak256(_SAFE_TX_TYPEHASH + _addr(to) + _u256(value) + keccak256(data) + _u256(operation)
                       + _u256(safe_tx_gas) + _u256(base_gas) + _u256(gas_price) + _addr(gas_token)
                       + _addr(refund_receiver) + _u256(nonce))
    return keccak256(b"\x19\x01" + dom + struct)


def proxy_relay_hash(from_: str, to: str, data: bytes, tx_fee: int, gas_price: int, gas_limit: int, nonce: int,
                     relay_hub: str, relay: str) -> bytes:
    """The RelayHub request hash of a proxy-wallet call: ``keccak("rlx:" || from || to || data || fee ||
    gasPrice || gasLimit || nonce || relayHub || relay)`` (addresses 20 bytes, numbers 32)."""
    return keccak256(b"rlx:" + _raw_addr(from_) + _raw_addr(to) + data + _u256(tx_fee) + _u256(gas_price)
                     + _u256(gas_limit) + _u256(nonce) + _raw_addr(relay_hub) + _raw_addr(relay))


def recover_safe_signature(safe_tx_hash: bytes, signature: str) -> str:
    """Owner behind a packed Safe signature: v 31/32 = ``eth_sign`` over the hash (v - 4), v 27/28 = direct."""
    raw = bytes.fromhex(signature.removeprefix("0x"))
    if len(raw) != 65:
        raise ValueError("Safe signature must be 65 bytes")
    if raw[64] in (31, 32):
        return recover(personal_digest(safe_tx_hash), "0x" + raw[:64].hex() + format(raw[64] - 4, "02x"))
    return recover(safe_tx_hash, signature)


# ---- Polygon transactions (EIP-1559, type 2) ------------------------------------------------

def rlp_encode(item: bytes | int | list) -> bytes:
    """RLP of bytes, non-negative ints (minimal big-endian) and nested lists."""
    if isinstance(item, int):
        item = item.to_bytes((item.bit_length() + 7) // 8, "big") if item else b""
    if isinstance(item, bytes):
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _rlp_len(len(item), 0x80) + item
    body = b"".join(rlp_encode(x) for x in item)
    return _rlp_len(len(body), 0xC0) + body


def _rlp_len(n: int, offset: int) -> bytes:
    if n < 56:
        return bytes([offset + n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(b)]) + b


def rlp_decode(data: bytes) -> bytes | list:
    item, end = _rlp_item(data, 0)
    if end != len(data):
        raise ValueError("trailing bytes after RLP item")
    return item


def _rlp_item(d: bytes, i: int) -> tuple[bytes | list, int]:
    if i >= len(d):
        raise ValueError("truncated RLP")
    b = d[i]
    if b < 0x80:
        return d[i:i + 1], i + 1
    if b < 0xC0:
        n, start = (b - 0x80, i + 1) if b < 0xB8 else (int.from_bytes(d[i + 1:i + b - 0xB6], "big"), i + b - 0xB6)
        if start + n > len(d):
            raise ValueError("truncated RLP string")
        return d[start:start + n], start + n
    n, start = (b - 0xC0, i + 1) if b < 0xF8 else (int.from_bytes(d[i + 1:i + b - 0xF6], "big"), i + b - 0xF6)
    end, out, j = start + n, [], start
    if end > len(d):
        raise ValueError("truncated RLP list")
    while j < end:
        x, j = _rlp_item(d, j)
        out.append(x)
    if j != end:
        raise ValueError("RLP list length mismatch")
    return out, end


@dataclass(frozen=True)
class Eip1559Tx:
    """An EIP-1559 (type 2) transaction without access list entries."""

    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas: int
    to: str
    value: int
    data: bytes

    def _fields(self) -> list:
        return [self.chain_id, self.nonce, self.max_priority_fee_per_gas, self.max_fee_per_gas, self.gas,
                _raw_addr(self.to), self.value, self.data, []]

    def signing_hash(self) -> bytes:
        return keccak256(b"\x02" + rlp_encode(self._fields()))

    def raw(self, sig65: bytes) -> bytes:
        """``0x02 || rlp([..., yParity, r, s])`` from a 65-byte r || s || recovery-id signature."""
        return b"\x02" + rlp_encode([*self._fields(), sig65[64], int.from_bytes(sig65[:32], "big"),
                                      int.from_bytes(sig65[32:64], "big")])

    @classmethod
    def decode(cls, raw: bytes) -> tuple[Eip1559Tx, str]:
        """(transaction, sender) of a signed raw type-2 transaction; the sender is recovered."""
        if not raw or raw[0] != 2:
            raise ValueError("not an EIP-1559 (type 2) transaction")
        f = rlp_decode(raw[1:])
        if not isinstance(f, list) or len(f) != 12 or not all(isinstance(x, bytes) for x in f[:8] + f[9:]):
            raise ValueError("EIP-1559 transaction must have 12 fields")
        n = [int.from_bytes(x, "big") for x in f[:5]]
        if len(f[5]) != 20:
            raise ValueError("contract creation is not a redemption")
        tx = cls(n[0], n[1], n[2], n[3], n[4], to_checksum("0x" + f[5].hex()), int.from_bytes(f[6], "big"), f[7])
        y, r, s = (int.from_bytes(x, "big") for x in f[9:12])
        if y > 1:
            raise ValueError("yParity must be 0 or 1")
        sig = "0x" + r.to_bytes(32, "big").hex() + s.to_bytes(32, "big").hex() + format(27 + y, "02x")
        return tx, recover(tx.signing_hash(), sig)


def clob_auth_digest(address: str, timestamp: str, nonce: int = 0, chain_id: int = CHAIN_ID) -> bytes:
    dom = keccak256(_AUTH_DOMAIN_TYPEHASH + keccak256(b"ClobAuthDomain") + keccak256(b"1") + _u256(chain_id))
    struct = keccak256(_AUTH_TYPEHASH + _addr(address) + keccak256(timestamp.encode()) + _u256(nonce)
                       + keccak256(CLOB_AUTH_MESSAGE.encode()))
    return keccak256(b"\x19\x01" + dom + struct)


class PolySigner:
    """One EVM key; domain separators of both V2 exchanges precomputed. ``repr`` hides the key."""

    __slots__ = ("_dom", "_key", "_raw", "address", "chain_id")

    def __init__(self, private_key_hex: str, chain_id: int = CHAIN_ID) -> None:
        try:
            self._key = PrivateKey(bytes.fromhex(private_key_hex.removeprefix("0x")))
        except (ValueError, TypeError):
            raise CredentialError("Polymarket signer_private_key is not a 32-byte hex key",
                                  code="BAD_CREDENTIALS") from None
        self.address = address_of(self._key)
        self._raw = RecoverableSigner(self._key)
        self.chain_id = chain_id
        self._dom = {False: exchange_domain_separator(EXCHANGE_V2, chain_id=chain_id),
                     True: exchange_domain_separator(NEG_RISK_EXCHANGE_V2, chain_id=chain_id)}

    def __repr__(self) -> str:
        return f"PolySigner(address={self.address})"

    def sign_order(self, order: OrderV2, *, neg_risk: bool = False) -> str:
        if order.signature_type == SIG_POLY_1271:
            dom = self._dom[neg_risk]
            return poly1271_envelope(self.sign_digest(poly1271_digest(order, dom, self.chain_id)), dom,
                                     order.struct_hash())
        digest = eip712_digest(self._dom[neg_risk], order.struct_hash())
        return _sig_hex(self._raw.sign(digest))

    def sign_digest(self, digest: bytes) -> bytes:
        """65 bytes r || s || v (v 27/28) over a 32-byte digest."""
        sig = self._raw.sign(digest)
        return sig[:64] + bytes((27 + sig[64],))

    def personal_sign(self, message32: bytes) -> bytes:
        """EIP-191 ``signMessage`` of 32 raw bytes: 65 bytes, v 27/28."""
        return self.sign_digest(personal_digest(message32))

    def sign_transaction(self, tx: Eip1559Tx) -> bytes:
        """The raw signed transaction for ``eth_sendRawTransaction``."""
        return tx.raw(self._raw.sign(tx.signing_hash()))

    def l1_headers(self, timestamp: int | None = None, nonce: int = 0) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = _sig_hex(self._key.sign_recoverable(clob_auth_digest(self.address, ts, nonce, self.chain_id),
                                                 hasher=None))
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
