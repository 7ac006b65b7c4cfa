"""Hyperliquid L1 action signing: msgpack(action) + nonce + vault -> keccak -> EIP-712 phantom agent.

The signer is built once (coincurve key, precomputed domain separator and type hash); each order
costs one msgpack, two keccaks and one secp256k1 signature. Facts: pred-hl.md 3.4 (H-DOCS signing,
H-SDK signing.py); vectors from hyperliquid-python-sdk tests/signing_test.py.
"""

from __future__ import annotations

from typing import Any

import msgpack
from coincurve import PrivateKey, PublicKey

from seqkern._evmhash import hl_agent_digest, keccak256
from seqkern._fixed import format_fixed
from seqkern.errors import CredentialError
from seqkern.venues.evm_sign import RecoverableSigner

__all__ = ["DOMAIN_SEPARATOR", "L1Signer", "action_hash", "agent_digest", "fixed_to_wire", "float_to_wire",
           "keccak256", "recover_signer"]


_DOMAIN_TYPE = keccak256(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_AGENT_TYPE = keccak256(b"Agent(string source,bytes32 connectionId)")
# {name:"Exchange", version:"1", chainId:1337, verifyingContract:0x0} (same on testnet)
DOMAIN_SEPARATOR = keccak256(_DOMAIN_TYPE + keccak256(b"Exchange") + keccak256(b"1")
                             + (1337).to_bytes(32, "big") + bytes(32))
_SOURCE = {True: keccak256(b"a"), False: keccak256(b"b")}   # mainnet "a", testnet "b"
_AGENT_PREFIX = {m: _AGENT_TYPE + src for m, src in _SOURCE.items()}


def action_hash(action: dict[str, Any], vault_address: str | None, nonce: int,
                expires_after: int | None = None) -> bytes:
    """keccak256(msgpack(action) || nonce u64 BE || vault flag [+ 20 bytes] || [0x00 || expiresAfter u64 BE])."""
    data = bytearray(msgpack.packb(action))
    data += nonce.to_bytes(8, "big")
    if vault_address is None:
        data += b"\x00"
    else:
        data += b"\x01" + bytes.fromhex(vault_address.removeprefix("0x"))
    if expires_after is not None:
        data += b"\x00" + expires_after.to_bytes(8, "big")
    return keccak256(bytes(data))


def agent_digest(connection_id: bytes, mainnet: bool = True) -> bytes:
    struct = keccak256(_AGENT_TYPE + _SOURCE[mainnet] + connection_id)
    return keccak256(b"\x19\x01" + DOMAIN_SEPARATOR + struct)


def float_to_wire(x: float) -> str:
    """The venue's number format for a float input (8 decimals, exact, no trailing zeros)."""
    rounded = f"{x:.8f}"
    if abs(float(rounded) - x) >= 1e-12:
        raise ValueError(f"float_to_wire causes rounding: {x}")
    if rounded == "-0.00000000":
        rounded = "0.00000000"
    whole, _, frac = rounded.partition(".")
    frac = frac.rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def fixed_to_wire(value: int, digits: int) -> str:
    """A fixed-point value (x 10^digits) in the venue's wire form: shortest exact decimal, max 8 dp."""
    text = format_fixed(value, digits)
    _, _, frac = text.partition(".")
    if len(frac) > 8:
        raise ValueError(f"{text} has more than 8 decimals: Hyperliquid cannot carry it")
    return text


class L1Signer:
    """Signs L1 actions with one secp256k1 key; ``repr`` hides the key."""

    __slots__ = ("_key", "_raw", "address", "mainnet")

    def __init__(self, private_key_hex: str, *, mainnet: bool = True) -> None:
        try:
            raw = bytes.fromhex(private_key_hex.removeprefix("0x"))
            self._key = PrivateKey(raw)
        except (ValueError, TypeError):
            raise CredentialError("Hyperliquid signer_private_key is not a 32-byte hex key",
                                  code="BAD_CREDENTIALS") from None
        pub = self._key.public_key.format(compressed=False)[1:]
        self.address = "0x" + keccak256(pub)[-20:].hex()
        self.mainnet = mainnet
        self._raw = RecoverableSigner(self._key)

    def __repr__(self) -> str:
        return f"L1Signer(address={self.address})"

    def sign_action(self, action: dict[str, Any], nonce: int, vault_address: str | None = None,
                    expires_after: int | None = None) -> dict[str, Any]:
        # one compiled call: msgpack bytes -> connection id -> phantom agent -> EIP-712 digest
        vault = bytes.fromhex(vault_address.removeprefix("0x")) if vault_address is not None else None
        digest = hl_agent_digest(msgpack.packb(action), nonce, vault,
                                 -1 if expires_after is None else expires_after,
                                 _AGENT_PREFIX[self.mainnet], DOMAIN_SEPARATOR)
        sig = self._raw.sign(digest)
        return {"r": hex(int.from_bytes(sig[:32], "big")), "s": hex(int.from_bytes(sig[32:64], "big")),
                "v": 27 + sig[64]}


def recover_signer(action: dict[str, Any], nonce: int, vault_address: str | None, signature: dict[str, Any],
                   *, mainnet: bool = True, expires_after: int | None = None) -> str:
    """The address that signed an action (the simulator's check, as the L1 does it)."""
    digest = agent_digest(action_hash(action, vault_address, nonce, expires_after), mainnet)
    r = int(str(signature["r"]), 16).to_bytes(32, "big")
    s = int(str(signature["s"]), 16).to_bytes(32, "big")
    v = int(signature["v"]) - 27
    if v not in (0, 1):
        raise ValueError("bad v")
    pub = PublicKey.from_signature_and_message(r + s + bytes([v]), digest, hasher=None)
    return "0x" + keccak256(pub.format(compressed=False)[1:])[-20:].hex()
