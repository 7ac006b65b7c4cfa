"""Venue credential classes (the spec's credentials table) and their validation; secrets never shown."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from seqkern.errors import CredentialError
from seqkern.venues.catalog import Venue, resolve_venue

_REDACTED = "<redacted>"
_HEX = re.compile(r"[0-9a-fA-F]+")
_TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no whitespace
_B58 = re.compile(r"[1-9A-HJ-NP-Za-km-z]+")
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@dataclass(frozen=True, repr=False)
class Credentials:
    """Base of every credential class. ``repr``/``str`` show only public fields."""

    venue: str
    CLASS: ClassVar[str] = ""
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset()

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            secret = f.name in self.SECRET_FIELDS
            shown = (_REDACTED if value else "''") if secret else repr(value)
            parts.append(f"{f.name}={shown}")
        return f"{type(self).__name__}({', '.join(parts)})"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # never pickle secrets by accident (logs, multiprocessing)
        raise TypeError(f"{type(self).__name__} holds secrets and cannot be pickled")

    def to_payload(self) -> dict[str, Any]:
        """The normalised POST /v1/credentials body. Holds secrets: for the encrypted store only;
        `validate_credentials(venue, c.to_payload()) == c`."""
        raise TypeError(f"{type(self).__name__} is abstract")


@dataclass(frozen=True, repr=False)
class CexCredentials(Credentials):
    """CEX (most): API key and API secret."""

    api_key: str = ""
    api_secret: str = ""
    CLASS: ClassVar[str] = "cex"
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"api_key", "api_secret"})

    def to_payload(self) -> dict[str, Any]:
        return {"api_key": self.api_key, "api_secret": self.api_secret}


@dataclass(frozen=True, repr=False)
class CexPassphraseCredentials(Credentials):
    """Coinbase, OKX, Crypto.com, Bitget: API key, API secret and passphrase."""

    api_key: str = ""
    api_secret: str = ""
    passphrase: str = ""
    CLASS: ClassVar[str] = "cex_passphrase"
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"api_key", "api_secret", "passphrase"})

    def to_payload(self) -> dict[str, Any]:
        return {
            "api_key": self.api_key,
            "api_secret": self.api_secret,
            "passphrase": self.passphrase,
        }


@dataclass(frozen=True, repr=False)
class HyperliquidCredentials(Credentials):
    """Hyperliquid: an EVM signer (API wallet) key and the account address it acts for."""

    signer_private_key: str = ""
    vault_address: str = ""
    CLASS: ClassVar[str] = "hyperliquid"
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"signer_private_key"})

    def to_payload(self) -> dict[str, Any]:
        return {
            "extra_json": {
                "signer_private_key": self.signer_private_key,
                "vault_address": self.vault_address,
            }
        }


@dataclass(frozen=True, repr=False)
class KalshiCredentials(Credentials):
    """Kalshi: key id (UUID) and the PEM private key (RSA or Ed25519); optional subaccount."""

    api_key: str = ""
    api_secret: str = ""
    subaccount: int | None = None
    key_type: str = ""  # "rsa" | "ed25519", detected from the parsed key (pred-hl.md 1.2)
    CLASS: ClassVar[str] = "kalshi"
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"api_secret"})

    def to_payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {"api_key": self.api_key, "api_secret": self.api_secret}
        if self.subaccount is not None:
            out["extra_json"] = {"subaccount": self.subaccount}
        return out


@dataclass(frozen=True, repr=False)
class PolymarketCredentials(Credentials):
    """Polymarket: EVM signer always; L2 API credentials either derived by the edge or supplied."""

    signer_private_key: str = ""
    api_key: str = ""
    api_secret: str = ""
    passphrase: str = ""
    proxy_address: str | None = None
    builder: str | None = None
    signature_type: int | None = None   # 0 EOA, 1 POLY_PROXY, 2 POLY_GNOSIS_SAFE, 3 POLY_1271; None: by proxy
    CLASS: ClassVar[str] = "polymarket"
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"signer_private_key", "api_key", "api_secret", "passphrase"}
    )

    @property
    def derive_l2(self) -> bool:
        """True on the recommended path: the edge derives L2 creds via /auth/derive-api-key."""
        return not self.api_key

    def to_payload(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"signer_private_key": self.signer_private_key}
        if self.proxy_address:
            extra["proxy_address"] = self.proxy_address
        if self.builder:
            extra["builder"] = self.builder
        if self.signature_type is not None:
            extra["signature_type"] = self.signature_type
        return {
            "api_key": self.api_key,
            "api_secret": self.api_secret,
            "passphrase": self.passphrase,
            "extra_json": extra,
        }


@dataclass(frozen=True, repr=False)
class TurnkeySigner:
    """A Turnkey API key that signs with the wallet (`signWith` = the wallet address/pubkey)."""

    organization_id: str
    api_public_key: str
    api_private_key: str = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"TurnkeySigner(organization_id={self.organization_id!r}, "
            f"api_public_key={self.api_public_key!r}, api_private_key={_REDACTED})"
        )

    __str__ = __repr__

    def to_extra(self) -> dict[str, str]:
        return {
            "turnkey_organization_id": self.organization_id,
            "turnkey_api_public_key": self.api_public_key,
            "turnkey_api_private_key": self.api_private_key,
        }


def _signer_extra(key: str | None, turnkey: TurnkeySigner | None) -> dict[str, Any]:
    if turnkey is not None:
        return turnkey.to_extra()
    return {"signer_private_key": key}


@dataclass(frozen=True, repr=False)
class EvmDexCredentials(Credentials):
    """DEX (EVM): wallet address plus signer_private_key or a Turnkey signer."""

    wallet_address: str = ""
    signer_private_key: str | None = None
    turnkey: TurnkeySigner | None = None
    CLASS: ClassVar[str] = "dex_evm"
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"signer_private_key"})

    def to_payload(self) -> dict[str, Any]:
        return {
            "api_key": self.wallet_address,
            "extra_json": _signer_extra(self.signer_private_key, self.turnkey),
        }


@dataclass(frozen=True, repr=False)
class SolanaCredentials(Credentials):
    """Solana: wallet pubkey plus signer_private_key or a Turnkey signer."""

    wallet_pubkey: str = ""
    signer_private_key: str | None = None
    turnkey: TurnkeySigner | None = None
    CLASS: ClassVar[str] = "solana"
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"signer_private_key"})

    def to_payload(self) -> dict[str, Any]:
        return {
            "api_key": self.wallet_pubkey,
            "extra_json": _signer_extra(self.signer_private_key, self.turnkey),
        }


@dataclass(frozen=True, slots=True)
class CredentialClass:
    """One row of the spec's credentials table, for docs and `seqkern venues`."""

    name: str
    applies_to: str
    api_key: str
    api_secret: str
    passphrase: str
    extra_json: str
    type: type[Credentials]

    def summary(self) -> str:
        parts = [
            f"{k}={v}"
            for k, v in (
                ("api_key", self.api_key),
                ("api_secret", self.api_secret),
                ("passphrase", self.passphrase),
            )
            if v != "-"
        ]
        if self.extra_json != "-":
            parts.append(f"extra_json{{{self.extra_json}}}")
        return "; ".join(parts)


TURNKEY_FIELDS = ("turnkey_organization_id", "turnkey_api_public_key", "turnkey_api_private_key")

CREDENTIAL_CLASSES: dict[str, CredentialClass] = {
    c.name: c
    for c in (
        CredentialClass("cex", "CEX (most)", "API key", "API secret", "-", "-", CexCredentials),
        CredentialClass(
            "cex_passphrase", "Coinbase, OKX, Crypto.com, Bitget", "API key", "API secret",
            "passphrase", "-", CexPassphraseCredentials,
        ),
        CredentialClass(
            "hyperliquid", "Hyperliquid", "-", "-", "-", "signer_private_key, vault_address",
            HyperliquidCredentials,
        ),
        CredentialClass(
            "kalshi", "Kalshi", "key id (UUID)", "PEM private key (RSA or Ed25519)", "-",
            "subaccount?", KalshiCredentials,
        ),
        CredentialClass(
            "polymarket", "Polymarket", '"" or L2 API key', '"" or L2 secret (b64)',
            '"" or L2 passphrase', "signer_private_key, proxy_address?, builder?",
            PolymarketCredentials,
        ),
        CredentialClass(
            "dex_evm", "DEX (EVM)", "wallet address", "-", "-",
            "signer_private_key | turnkey_*", EvmDexCredentials,
        ),
        CredentialClass(
            "solana", "Solana", "wallet pubkey", "-", "-", "signer_private_key | turnkey_*",
            SolanaCredentials,
        ),
    )
}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Field checks. Every error names the field and the expected form, never the value.


def _missing(name: str) -> CredentialError:
    return CredentialError(
        f"missing credential field {name}", field=name, code="MISSING_CREDENTIAL"
    )


def _bad(name: str, why: str) -> CredentialError:
    return CredentialError(
        f"malformed credential field {name}: {why}", field=name, code="MALFORMED_CREDENTIAL"
    )


class _Payload:
    """The POST /v1/credentials/{venue} body: api_key, api_secret, passphrase, extra_json."""

    TOP = ("api_key", "api_secret", "passphrase", "extra_json")

    def __init__(self, payload: Mapping[str, Any]) -> None:
        if not isinstance(payload, Mapping):
            raise CredentialError(
                "credentials payload must be a JSON object", field=None, code="MALFORMED_CREDENTIAL"
            )
        for key in payload:
            if key not in self.TOP:
                raise _bad(str(key), f"unknown field; expected {', '.join(self.TOP)}")
        self.top = payload
        extra = payload.get("extra_json")
        if extra is None or extra == "":
            extra = {}
        elif isinstance(extra, str | bytes):
            try:
                extra = json.loads(extra)
            except ValueError:
                raise _bad("extra_json", "not valid JSON") from None
        if not isinstance(extra, Mapping):
            raise _bad("extra_json", "must be a JSON object")
        self.extra = extra

    def get(self, name: str) -> Any:
        if name.startswith("extra_json."):
            return self.extra.get(name[len("extra_json.") :])
        return self.top.get(name)

    def text(self, name: str, *, required: bool = True) -> str:
        """A string field, stripped of surrounding whitespace; '' when absent and optional."""
        value = self.get(name)
        if value is None:
            if required:
                raise _missing(name)
            return ""
        if not isinstance(value, str):
            raise _bad(name, "must be a string")
        value = value.strip()
        if required and not value:
            raise _missing(name)
        return value

    def unused(self, *names: str) -> None:
        """Fields the class does not take must be absent or empty."""
        for name in names:
            value = self.get(name)
            if value not in (None, ""):
                raise _bad(name, "not used by this credential class; leave it empty")

    def extra_only(self, allowed: tuple[str, ...]) -> None:
        for key in self.extra:
            if key not in allowed:
                raise _bad(
                    f"extra_json.{key}",
                    f"unknown field; expected {', '.join(allowed) or 'no extra_json'}",
                )


def _token(p: _Payload, name: str, *, max_len: int = 512) -> str:
    value = p.text(name)
    if len(value) > max_len:
        raise _bad(name, f"longer than {max_len} characters")
    if not _TOKEN.fullmatch(value):
        raise _bad(name, "must be printable ASCII without spaces")
    return value


def _pem_private_key(name: str, value: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    if "-----BEGIN" not in value or "PRIVATE KEY-----" not in value:
        raise _bad(name, "must be a PEM private key (-----BEGIN ... PRIVATE KEY-----)")
    try:
        return load_pem_private_key(value.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeError):
        raise _bad(
            name, "PEM private key does not parse (or is encrypted; supply it unencrypted)"
        ) from None
    except Exception:  # cryptography's UnsupportedAlgorithm and friends
        raise _bad(name, "PEM private key uses an unsupported algorithm") from None


def _cex_secret(p: _Payload, name: str, venue: Venue) -> str:
    """An HMAC secret (one printable token) or, where venues allow key pairs (Binance Ed25519/RSA,
    Coinbase CDP ES256/Ed25519), a PEM private key that must parse."""
    value = p.text(name)
    if value.startswith("-----BEGIN"):
        _pem_private_key(name, value)
        return value
    if len(value) > 4096 or not _TOKEN.fullmatch(value):
        raise _bad(name, "must be a single printable token or a PEM private key")
    if venue.name == "kraken":
        # Kraken signs with HMAC-SHA512 keyed by base64decode(secret) (cex.md 3.5).
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _bad(name, "Kraken secrets are standard base64") from None
    return value


def _uuid(p: _Payload, name: str) -> str:
    value = p.text(name)
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise _bad(name, "must be a UUID (8-4-4-4-12 hex digits)") from None
    if str(parsed) != value.lower():
        raise _bad(name, "must be a UUID in 8-4-4-4-12 form")
    return value


def _hex32(name: str, value: str, *, order: int) -> bytes:
    body = value[2:] if value[:2] in ("0x", "0X") else value
    if len(body) != 64 or not _HEX.fullmatch(body):
        raise _bad(name, "must be 32 bytes of hex (64 hex digits, optional 0x)")
    raw = bytes.fromhex(body)
    if not 0 < int.from_bytes(raw, "big") < order:
        raise _bad(name, "is not a valid private key for its curve")
    return raw


def _evm_private_key(p: _Payload, name: str) -> str:
    value = p.text(name)
    raw = _hex32(name, value, order=_SECP256K1_N)
    return "0x" + raw.hex()


def _evm_address(p: _Payload, name: str, *, required: bool = True) -> str | None:
    value = p.text(name, required=required)
    if not value:
        return None
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
        raise _bad(name, "must be an EVM address (0x + 40 hex digits)")
    from eth_utils import to_checksum_address

    checksummed = to_checksum_address(value)
    body = value[2:]
    if body != body.lower() and body != body.upper() and value != checksummed:
        raise _bad(name, "mixed-case EVM address fails its EIP-55 checksum")
    return checksummed


def _evm_address_of(private_key_hex: str) -> str:
    from eth_account import Account

    return Account.from_key(private_key_hex).address


def _solana_pubkey(p: _Payload, name: str) -> str:
    from solders.pubkey import Pubkey

    value = p.text(name)
    if not _B58.fullmatch(value):
        raise _bad(name, "must be a base58 Solana public key")
    try:
        key = Pubkey.from_string(value)
    except Exception:  # solders raises its own parse errors
        raise _bad(name, "must be a base58 Solana public key (32 bytes)") from None
    if str(key) != value:
        raise _bad(name, "must be a canonical base58 Solana public key")
    return value


def _solana_keypair(p: _Payload, name: str) -> tuple[str, str]:
    """A Solana signer: base58 64-byte keypair (wallet export), a JSON array of 64 bytes
    (solana-keygen file) or a 32-byte hex seed. Returns (normalized base58 keypair, pubkey)."""
    from solders.keypair import Keypair

    value = p.get(name)
    if value is None or value == "" or value == []:
        raise _missing(name)
    try:
        if isinstance(value, list):
            if len(value) != 64 or not all(isinstance(b, int) and 0 <= b < 256 for b in value):
                raise ValueError
            kp = Keypair.from_bytes(bytes(value))
        elif isinstance(value, str):
            text = value.strip()
            body = text[2:] if text[:2] in ("0x", "0X") else text
            if len(body) == 64 and _HEX.fullmatch(body):
                kp = Keypair.from_seed(bytes.fromhex(body))
            elif text.startswith("["):
                arr = json.loads(text)
                if (
                    not isinstance(arr, list)
                    or len(arr) != 64
                    or not all(isinstance(b, int) and 0 <= b < 256 for b in arr)
                ):
                    raise ValueError
                kp = Keypair.from_bytes(bytes(arr))
            elif _B58.fullmatch(text):
                kp = Keypair.from_base58_string(text)
            else:
                raise ValueError
        else:
            raise ValueError
    except Exception:
        raise _bad(
            name,
            "must be a Solana keypair: base58 (64 bytes), a JSON array of 64 bytes, "
            "or a 32-byte hex seed",
        ) from None
    return str(kp), str(kp.pubkey())


def _turnkey(p: _Payload) -> TurnkeySigner | None:
    given = [f for f in TURNKEY_FIELDS if p.extra.get(f) not in (None, "")]
    if not given:
        return None
    for f in TURNKEY_FIELDS:
        if f not in given:
            raise _missing(f"extra_json.{f}")
    org = _uuid(p, "extra_json.turnkey_organization_id")
    pub_name, priv_name = "extra_json.turnkey_api_public_key", "extra_json.turnkey_api_private_key"
    pub_hex = p.text(pub_name)
    if not re.fullmatch(r"0[23][0-9a-fA-F]{64}", pub_hex):
        raise _bad(pub_name, "must be a compressed P-256 public key (66 hex digits, 02/03 first)")
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes.fromhex(pub_hex))
    except ValueError:
        raise _bad(pub_name, "is not a point on P-256") from None
    priv = p.text(priv_name)
    raw = _hex32(priv_name, priv, order=_P256_N)
    derived = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1()).public_key()
    if derived.public_bytes(Encoding.X962, PublicFormat.CompressedPoint).hex() != pub_hex.lower():
        raise _bad(priv_name, "does not match turnkey_api_public_key")
    return TurnkeySigner(org, pub_hex.lower(), raw.hex())


def _signer_or_turnkey(p: _Payload) -> tuple[str | None, TurnkeySigner | None]:
    has_key = p.extra.get("signer_private_key") not in (None, "")
    has_turnkey = any(p.extra.get(f) not in (None, "") for f in TURNKEY_FIELDS)
    if has_key and has_turnkey:
        raise _bad("extra_json", "give either signer_private_key or turnkey_*, not both")
    if not has_key and not has_turnkey:
        raise _missing("extra_json.signer_private_key")
    return (None, _turnkey(p)) if has_turnkey else ("key", None)


# ---------------------------------------------------------------------------------------------
# One validator per class.


def _validate_cex(venue: Venue, p: _Payload) -> Credentials:
    p.extra_only(())
    key = _token(p, "api_key")
    secret = _cex_secret(p, "api_secret", venue)
    if venue.credential_class == "cex":
        p.unused("passphrase")
        return CexCredentials(venue.name, key, secret)
    passphrase = _token(p, "passphrase", max_len=256)
    return CexPassphraseCredentials(venue.name, key, secret, passphrase)


def _validate_hyperliquid(venue: Venue, p: _Payload) -> Credentials:
    p.unused("api_key", "api_secret", "passphrase")
    p.extra_only(("signer_private_key", "vault_address"))
    key = _evm_private_key(p, "extra_json.signer_private_key")
    vault = _evm_address(p, "extra_json.vault_address")
    assert vault is not None
    return HyperliquidCredentials(venue.name, key, vault)


def _validate_kalshi(venue: Venue, p: _Payload) -> Credentials:
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    p.unused("passphrase")
    p.extra_only(("subaccount",))
    key_id = _uuid(p, "api_key")
    pem = p.text("api_secret")
    key = _pem_private_key("api_secret", pem)
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise _bad("api_secret", "RSA key shorter than 2048 bits")
        key_type = "rsa"
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        key_type = "ed25519"
    else:
        raise _bad("api_secret", "Kalshi keys are RSA or Ed25519")
    sub = p.extra.get("subaccount")
    subaccount: int | None = None
    if sub not in (None, ""):
        if isinstance(sub, str) and sub.strip().isdigit():
            sub = int(sub.strip())
        if isinstance(sub, bool) or not isinstance(sub, int) or not 0 <= sub <= 63:
            # pred-hl.md 1.6: subaccount 0 = primary, 1-63
            raise _bad("extra_json.subaccount", "must be an integer 0..63")
        subaccount = sub
    return KalshiCredentials(venue.name, key_id, pem, subaccount, key_type)


def _validate_polymarket(venue: Venue, p: _Payload) -> Credentials:
    p.extra_only(("signer_private_key", "proxy_address", "builder", "signature_type"))
    key = _evm_private_key(p, "extra_json.signer_private_key")
    proxy = _evm_address(p, "extra_json.proxy_address", required=False)
    sig_type = p.extra.get("signature_type")
    if sig_type in (None, ""):
        sig_type = None
    else:
        if isinstance(sig_type, str) and sig_type.strip().isdigit():
            sig_type = int(sig_type.strip())
        if isinstance(sig_type, bool) or sig_type not in (0, 1, 2, 3):
            raise _bad("extra_json.signature_type", "must be 0 (EOA), 1 (proxy), 2 (Safe) or 3 (POLY_1271)")
        if sig_type in (1, 2, 3) and not proxy:
            raise _bad("extra_json.proxy_address", "signature_type 1, 2 and 3 trade from a wallet: give its address")
        if sig_type == 0 and proxy:
            raise _bad("extra_json.signature_type", "0 (EOA) trades from the signer itself: drop proxy_address")
    builder = p.text("extra_json.builder", required=False) or None
    if builder is not None and not re.fullmatch(r"0x[0-9a-fA-F]{64}", builder):
        raise _bad("extra_json.builder", "must be a bytes32 builder code (0x + 64 hex digits)")
    flat = {n: p.text(n, required=False) for n in ("api_key", "api_secret", "passphrase")}
    if not any(flat.values()):  # recommended path: the edge derives L2 credentials
        return PolymarketCredentials(venue.name, key, "", "", "", proxy, builder, sig_type)
    for n, v in flat.items():  # pre-derived L2: all three or none
        if not v:
            raise CredentialError(
                f"missing credential field {n}: pre-derived Polymarket L2 credentials need "
                "api_key, api_secret and passphrase (or leave all three empty to derive them)",
                field=n,
                code="MISSING_CREDENTIAL",
            )
    api_key = _uuid(p, "api_key")
    secret = flat["api_secret"]
    try:  # strict: url-safe alphabet with padding, as /auth/derive-api-key returns it
        std = secret.replace("-", "+").replace("_", "/")
        if "+" in secret or "/" in secret or not base64.b64decode(std, validate=True):
            raise ValueError
    except (binascii.Error, ValueError, UnicodeError):
        raise _bad("api_secret", "must be the L2 secret in url-safe base64") from None
    passphrase = _token(p, "passphrase", max_len=256)
    return PolymarketCredentials(venue.name, key, api_key, secret, passphrase, proxy, builder, sig_type)


def _validate_dex_evm(venue: Venue, p: _Payload) -> Credentials:
    p.unused("api_secret", "passphrase")
    p.extra_only(("signer_private_key", *TURNKEY_FIELDS))
    wallet = _evm_address(p, "api_key")
    assert wallet is not None
    mode, turnkey = _signer_or_turnkey(p)
    key = None
    if mode == "key":
        key = _evm_private_key(p, "extra_json.signer_private_key")
        if _evm_address_of(key) != wallet:
            raise _bad(
                "extra_json.signer_private_key", "does not control the wallet address in api_key"
            )
    return EvmDexCredentials(venue.name, wallet, key, turnkey)


def _validate_solana(venue: Venue, p: _Payload) -> Credentials:
    p.unused("api_secret", "passphrase")
    p.extra_only(("signer_private_key", *TURNKEY_FIELDS))
    pubkey = _solana_pubkey(p, "api_key")
    mode, turnkey = _signer_or_turnkey(p)
    key = None
    if mode == "key":
        key, derived = _solana_keypair(p, "extra_json.signer_private_key")
        if derived != pubkey:
            raise _bad(
                "extra_json.signer_private_key", "does not control the wallet pubkey in api_key"
            )
    return SolanaCredentials(venue.name, pubkey, key, turnkey)


_VALIDATORS = {
    "cex": _validate_cex,
    "cex_passphrase": _validate_cex,
    "hyperliquid": _validate_hyperliquid,
    "kalshi": _validate_kalshi,
    "polymarket": _validate_polymarket,
    "dex_evm": _validate_dex_evm,
    "solana": _validate_solana,
}


def credential_class_of(venue: int | str | Venue) -> CredentialClass:
    return CREDENTIAL_CLASSES[resolve_venue(venue).credential_class]


def validate_credentials(venue: int | str | Venue, payload: Mapping[str, Any]) -> Credentials:
    """Check a POST /v1/credentials/{venue} body field by field and return typed credentials.

    Raises seqkern.errors.UnknownVenue for an unknown venue and CredentialError (code
    MISSING_CREDENTIAL or MALFORMED_CREDENTIAL, ``field`` set) naming the first bad field.
    """
    v = resolve_venue(venue)
    return _VALIDATORS[v.credential_class](v, _Payload(payload))
