"""Credential validation per class: valid payloads pass, each bad field is named, secrets never shown."""

from __future__ import annotations

import base64
import json
import pickle
import secrets

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from eth_account import Account
from solders.keypair import Keypair

from seqkern.errors import CredentialError, UnknownVenue
from seqkern.venues import (
    CREDENTIAL_CLASSES,
    CexCredentials,
    CexPassphraseCredentials,
    EvmDexCredentials,
    HyperliquidCredentials,
    KalshiCredentials,
    PolymarketCredentials,
    SolanaCredentials,
    all_venues,
    credential_class_of,
    validate_credentials,
)


def _pem(key, fmt=serialization.PrivateFormat.PKCS8) -> str:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def keys():
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    evm = Account.create()
    evm2 = Account.create()
    sol = Keypair()
    p256 = ec.generate_private_key(ec.SECP256R1())
    p256_pub = p256.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    return {
        "rsa_pkcs1": _pem(rsa_key, serialization.PrivateFormat.TraditionalOpenSSL),
        "rsa_pkcs8": _pem(rsa_key),
        "rsa_small": _pem(rsa_small),
        "ed25519": _pem(ed25519.Ed25519PrivateKey.generate()),
        "ec_pem": _pem(p256, serialization.PrivateFormat.TraditionalOpenSSL),
        "evm_key": evm.key.hex().removeprefix("0x"),
        "evm_addr": evm.address,
        "evm2_key": "0x" + evm2.key.hex().removeprefix("0x"),
        "sol": sol,
        "sol_b58": str(sol),
        "sol_pub": str(sol.pubkey()),
        "tk_org": "4bd0f6a2-61f1-4e44-8a34-5b61f8a3c1d9",
        "tk_pub": p256_pub.hex(),
        "tk_priv": p256.private_numbers().private_value.to_bytes(32, "big").hex(),
        "hmac_secret": secrets.token_hex(32),
        "kraken_secret": base64.b64encode(secrets.token_bytes(64)).decode(),
        "uuid": "3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b",
        "poly_secret": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "poly_pass": secrets.token_hex(32),
    }


def valid_payloads(k):
    """One valid payload per venue credential class (venue name -> payload)."""
    return {
        "binance": {"api_key": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
                    "api_secret": k["hmac_secret"]},
        "kraken": {"api_key": "kraken-key-1", "api_secret": k["kraken_secret"]},
        "okx": {"api_key": k["uuid"], "api_secret": k["hmac_secret"], "passphrase": "Passw0rd!"},
        "coinbase": {"api_key": "organizations/org/apiKeys/key", "api_secret": k["ec_pem"],
                     "passphrase": "pp"},
        "hyperliquid": {"extra_json": {"signer_private_key": k["evm_key"],
                                       "vault_address": k["evm_addr"]}},
        "kalshi": {"api_key": k["uuid"], "api_secret": k["rsa_pkcs1"],
                   "extra_json": {"subaccount": 3}},
        "polymarket": {"api_key": "", "api_secret": "", "passphrase": "",
                       "extra_json": {"signer_private_key": k["evm_key"]}},
        "dex-arb": {"api_key": k["evm_addr"],
                    "extra_json": {"signer_private_key": "0x" + k["evm_key"]}},
        "dex-sol": {"api_key": k["sol_pub"], "extra_json": {"signer_private_key": k["sol_b58"]}},
    }  # fmt: skip


def secret_values(k) -> list[str]:
    return [
        k["rsa_pkcs1"], k["rsa_pkcs8"], k["ed25519"], k["ec_pem"], k["evm_key"], k["evm2_key"],
        k["sol_b58"], k["tk_priv"], k["hmac_secret"], k["kraken_secret"], k["poly_secret"],
        k["poly_pass"], "Passw0rd!",
    ]  # fmt: skip


def assert_no_secret(text: str, k) -> None:
    for s in secret_values(k):
        assert s not in text
        # also no recognisable fragment of a long secret
        if len(s) >= 40:
            body = s.strip().splitlines()[1] if s.startswith("-----") else s
            assert body[8:32] not in text


def test_every_venue_has_a_credential_class():
    for v in all_venues():
        assert credential_class_of(v.venue_id).name in CREDENTIAL_CLASSES
    assert credential_class_of("okx").name == "cex_passphrase"
    assert credential_class_of("coinbase").name == "cex_passphrase"
    assert credential_class_of("cryptocom").name == "cex_passphrase"
    assert credential_class_of("bitget").name == "cex_passphrase"
    assert credential_class_of("binance").name == "cex"
    assert credential_class_of("dex-sol").name == "solana"


def test_valid_payloads(keys):
    out = {name: validate_credentials(name, p) for name, p in valid_payloads(keys).items()}
    assert isinstance(out["binance"], CexCredentials)
    assert isinstance(out["okx"], CexPassphraseCredentials) and out["okx"].passphrase == "Passw0rd!"
    assert isinstance(out["coinbase"], CexPassphraseCredentials)
    hl = out["hyperliquid"]
    assert isinstance(hl, HyperliquidCredentials) and hl.vault_address == keys["evm_addr"]
    ks = out["kalshi"]
    assert isinstance(ks, KalshiCredentials) and ks.subaccount == 3 and ks.key_type == "rsa"
    pm = out["polymarket"]
    assert isinstance(pm, PolymarketCredentials) and pm.derive_l2
    dex = out["dex-arb"]
    assert isinstance(dex, EvmDexCredentials) and dex.wallet_address == keys["evm_addr"]
    sol = out["dex-sol"]
    assert isinstance(sol, SolanaCredentials) and sol.wallet_pubkey == keys["sol_pub"]


def test_kalshi_accepts_pkcs8_rsa_and_ed25519(keys):
    for pem, kind in ((keys["rsa_pkcs8"], "rsa"), (keys["ed25519"], "ed25519")):
        c = validate_credentials("kalshi", {"api_key": keys["uuid"], "api_secret": pem})
        assert c.key_type == kind and c.subaccount is None


def test_extra_json_as_string(keys):
    p = {"extra_json": json.dumps({"signer_private_key": keys["evm_key"],
                                   "vault_address": keys["evm_addr"].lower()})}  # fmt: skip
    c = validate_credentials("hyperliquid", p)
    assert c.vault_address == keys["evm_addr"]  # normalised to the checksummed form


def test_polymarket_pre_derived_l2(keys):
    p = {"api_key": keys["uuid"], "api_secret": keys["poly_secret"], "passphrase": keys["poly_pass"],
         "extra_json": {"signer_private_key": keys["evm_key"], "proxy_address": keys["evm_addr"],
                        "builder": "0x" + "00" * 31 + "01"}}  # fmt: skip
    c = validate_credentials("polymarket", p)
    assert not c.derive_l2 and c.proxy_address == keys["evm_addr"]


def test_turnkey_signers(keys):
    tk = {"turnkey_organization_id": keys["tk_org"], "turnkey_api_public_key": keys["tk_pub"],
          "turnkey_api_private_key": keys["tk_priv"]}  # fmt: skip
    c = validate_credentials("dex-eth", {"api_key": keys["evm_addr"], "extra_json": tk})
    assert c.signer_private_key is None and c.turnkey.organization_id == keys["tk_org"]
    s = validate_credentials("dex-sol", {"api_key": keys["sol_pub"], "extra_json": tk})
    assert s.turnkey is not None
    assert_no_secret(repr(c) + str(s), keys)


def test_solana_key_forms(keys):
    kp = keys["sol"]
    for form in (list(bytes(kp)), json.dumps(list(bytes(kp))), bytes(kp)[:32].hex()):
        c = validate_credentials(
            "dex-sol", {"api_key": keys["sol_pub"], "extra_json": {"signer_private_key": form}}
        )
        assert c.signer_private_key == keys["sol_b58"]


# (venue, payload mutation, field named in the error, code)
def _bad_cases(k):
    base = valid_payloads(k)

    def mut(venue, **changes):
        p = json.loads(json.dumps(base[venue]))
        for key, value in changes.items():
            if key.startswith("x_"):
                p.setdefault("extra_json", {})
                if value is None:
                    p["extra_json"].pop(key[2:], None)
                else:
                    p["extra_json"][key[2:]] = value
            elif value is None:
                p.pop(key, None)
            else:
                p[key] = value
        return p

    m, bad = "MISSING_CREDENTIAL", "MALFORMED_CREDENTIAL"
    tk = {"x_turnkey_organization_id": k["tk_org"], "x_turnkey_api_public_key": k["tk_pub"],
          "x_turnkey_api_private_key": k["tk_priv"]}  # fmt: skip
    return [
        ("binance", mut("binance", api_key=None), "api_key", m),
        ("binance", mut("binance", api_key="   "), "api_key", m),
        ("binance", mut("binance", api_secret=None), "api_secret", m),
        ("binance", mut("binance", api_secret="has space inside"), "api_secret", bad),
        ("binance", mut("binance", api_key="ключ"), "api_key", bad),
        ("binance", mut("binance", api_key=12345), "api_key", bad),
        ("binance", mut("binance", passphrase="unused"), "passphrase", bad),
        ("binance", mut("binance", api_secret="-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"), "api_secret", bad),
        ("binance", mut("binance", x_signer_private_key="ab"), "extra_json.signer_private_key", bad),
        ("binance", {**base["binance"], "apikey": "x"}, "apikey", bad),
        ("kraken", mut("kraken", api_secret=k["hmac_secret"] + "!"), "api_secret", bad),
        ("okx", mut("okx", passphrase=None), "passphrase", m),
        ("okx", mut("okx", passphrase=""), "passphrase", m),
        ("cryptocom", mut("okx", passphrase=None), "passphrase", m),
        ("bitget", mut("okx", api_secret=None), "api_secret", m),
        ("hyperliquid", mut("hyperliquid", x_signer_private_key=None), "extra_json.signer_private_key", m),
        ("hyperliquid", mut("hyperliquid", x_signer_private_key=k["evm_key"][:-1]), "extra_json.signer_private_key", bad),
        ("hyperliquid", mut("hyperliquid", x_signer_private_key="zz" + k["evm_key"][2:]), "extra_json.signer_private_key", bad),
        ("hyperliquid", mut("hyperliquid", x_signer_private_key="00" * 32), "extra_json.signer_private_key", bad),
        ("hyperliquid", mut("hyperliquid", x_signer_private_key="ff" * 32), "extra_json.signer_private_key", bad),
        ("hyperliquid", mut("hyperliquid", x_vault_address=None), "extra_json.vault_address", m),
        ("hyperliquid", mut("hyperliquid", x_vault_address=k["evm_addr"][:-2]), "extra_json.vault_address", bad),
        ("hyperliquid", mut("hyperliquid", x_vault_address=k["evm_addr"][:2] + k["evm_addr"][2:].swapcase()), "extra_json.vault_address", bad),
        ("hyperliquid", mut("hyperliquid", api_key="k"), "api_key", bad),
        ("hyperliquid", mut("hyperliquid", x_vault="0x0"), "extra_json.vault", bad),
        ("hyperliquid", {"extra_json": "{not json"}, "extra_json", bad),
        ("hyperliquid", {"extra_json": [1, 2]}, "extra_json", bad),
        ("kalshi", mut("kalshi", api_key="not-a-uuid"), "api_key", bad),
        ("kalshi", mut("kalshi", api_key=None), "api_key", m),
        ("kalshi", mut("kalshi", api_secret=None), "api_secret", m),
        ("kalshi", mut("kalshi", api_secret=k["hmac_secret"]), "api_secret", bad),
        ("kalshi", mut("kalshi", api_secret=k["rsa_pkcs1"].replace("A", "B", 5)), "api_secret", bad),
        ("kalshi", mut("kalshi", api_secret=k["rsa_small"]), "api_secret", bad),
        ("kalshi", mut("kalshi", api_secret=k["ec_pem"]), "api_secret", bad),
        ("kalshi", mut("kalshi", x_subaccount=64), "extra_json.subaccount", bad),
        ("kalshi", mut("kalshi", x_subaccount="one"), "extra_json.subaccount", bad),
        ("kalshi", mut("kalshi", x_subaccount=True), "extra_json.subaccount", bad),
        ("polymarket", mut("polymarket", x_signer_private_key=None), "extra_json.signer_private_key", m),
        ("polymarket", mut("polymarket", api_key=k["uuid"]), "api_secret", m),
        ("polymarket", mut("polymarket", api_key=k["uuid"], api_secret=k["poly_secret"]), "passphrase", m),
        ("polymarket", mut("polymarket", api_key="nope", api_secret=k["poly_secret"], passphrase=k["poly_pass"]), "api_key", bad),
        ("polymarket", mut("polymarket", api_key=k["uuid"], api_secret="***", passphrase=k["poly_pass"]), "api_secret", bad),
        ("polymarket", mut("polymarket", x_proxy_address="0x1234"), "extra_json.proxy_address", bad),
        ("polymarket", mut("polymarket", x_builder="builder-1"), "extra_json.builder", bad),
        ("dex-eth", mut("dex-arb", api_key=None), "api_key", m),
        ("dex-eth", mut("dex-arb", api_key="0xnothex"), "api_key", bad),
        ("dex-eth", mut("dex-arb", x_signer_private_key=None), "extra_json.signer_private_key", m),
        ("dex-eth", mut("dex-arb", x_signer_private_key=k["evm2_key"]), "extra_json.signer_private_key", bad),
        ("dex-eth", mut("dex-arb", **tk), "extra_json", bad),
        ("dex-eth", mut("dex-arb", x_signer_private_key=None, **{**tk, "x_turnkey_api_private_key": None}), "extra_json.turnkey_api_private_key", m),
        ("dex-eth", mut("dex-arb", x_signer_private_key=None, **{**tk, "x_turnkey_organization_id": "org"}), "extra_json.turnkey_organization_id", bad),
        ("dex-eth", mut("dex-arb", x_signer_private_key=None, **{**tk, "x_turnkey_api_public_key": "04" + "00" * 32}), "extra_json.turnkey_api_public_key", bad),
        ("dex-eth", mut("dex-arb", x_signer_private_key=None, **{**tk, "x_turnkey_api_private_key": k["evm_key"]}), "extra_json.turnkey_api_private_key", bad),
        ("dex-eth", mut("dex-arb", api_secret="x"), "api_secret", bad),
        ("dex-sol", mut("dex-sol", api_key="0OIl"), "api_key", bad),
        ("dex-sol", mut("dex-sol", api_key=k["evm_addr"]), "api_key", bad),
        ("dex-sol", mut("dex-sol", x_signer_private_key="not a key"), "extra_json.signer_private_key", bad),
        ("dex-sol", mut("dex-sol", x_signer_private_key=str(Keypair())), "extra_json.signer_private_key", bad),
        ("dex-sol", mut("dex-sol", x_signer_private_key=list(range(64))), "extra_json.signer_private_key", bad),
        ("dex-sol", mut("dex-sol", x_signer_private_key=None), "extra_json.signer_private_key", m),
    ]  # fmt: skip


def test_each_bad_field_is_named_and_secrets_are_never_shown(keys):
    cases = _bad_cases(keys)
    assert len(cases) > 50
    for venue, payload, fieldname, code in cases:
        with pytest.raises(CredentialError) as err:
            validate_credentials(venue, payload)
        e = err.value
        assert e.field == fieldname, (venue, fieldname, str(e))
        assert e.code == code, (venue, fieldname, e.code)
        assert fieldname in str(e)
        assert e.__cause__ is None and (e.__context__ is None or e.__suppress_context__)
        assert_no_secret(str(e) + repr(e) + repr(e.args), keys)


def test_payload_must_be_an_object():
    with pytest.raises(CredentialError):
        validate_credentials("binance", ["api_key"])


def test_unknown_venue():
    with pytest.raises(UnknownVenue):
        validate_credentials("ftx", {"api_key": "a", "api_secret": "b"})


def test_repr_and_str_redact_secrets(keys):
    for name, payload in valid_payloads(keys).items():
        c = validate_credentials(name, payload)
        text = repr(c) + str(c) + f"{c}" + f"{c!r}"
        assert "<redacted>" in text
        assert_no_secret(text, keys)
        for f in type(c).SECRET_FIELDS:
            value = getattr(c, f)
            if isinstance(value, str) and value:
                assert value not in text
        with pytest.raises(TypeError):
            pickle.dumps(c)
    # public fields stay visible
    hl = validate_credentials("hyperliquid", valid_payloads(keys)["hyperliquid"])
    assert keys["evm_addr"] in repr(hl)


def test_to_payload_round_trips(keys):
    tk = {"turnkey_organization_id": keys["tk_org"], "turnkey_api_public_key": keys["tk_pub"],
          "turnkey_api_private_key": keys["tk_priv"]}  # fmt: skip
    payloads = {
        **valid_payloads(keys),
        "dex-base": {"api_key": keys["evm_addr"], "extra_json": tk},
        "polymarket": {"api_key": keys["uuid"], "api_secret": keys["poly_secret"],
                       "passphrase": keys["poly_pass"],
                       "extra_json": {"signer_private_key": keys["evm_key"],
                                      "proxy_address": keys["evm_addr"]}},
    }  # fmt: skip
    for venue, payload in payloads.items():
        c = validate_credentials(venue, payload)
        assert validate_credentials(venue, c.to_payload()) == c, venue
