"""Credentials: validation field by field, AES-256-GCM at rest, never returned or logged."""

from __future__ import annotations

import logging
import os

import pytest

from seqkern.cc.journal import Journal
from seqkern.cc.vault import CredentialVault, load_master_key
from seqkern.errors import MasterKeyError
from tests.cc.harness import http

SECRET = "S3cr3t-value-that-must-never-leak-0123456789"


def test_store_list_delete_never_returns_secrets(cc, caplog):
    caplog.set_level(logging.DEBUG)
    body = {"api_key": "AKIA-" + SECRET, "api_secret": SECRET}
    st, doc = http("POST", cc.url + "/v1/credentials/binance", body, key=cc.admin)
    assert st == 201 and doc["venue"] == "binance"
    assert SECRET not in str(doc)
    st, lst = http("GET", cc.url + "/v1/credentials", key=cc.admin)
    assert st == 200 and [x["venue"] for x in lst] == ["binance"]
    assert lst[0]["fields"] == ["api_key", "api_secret"]
    assert SECRET not in str(lst)
    # encrypted at rest: the journal file holds no plaintext
    with open(cc.cc.journal.path, "rb") as f:
        data = f.read()
    wal = cc.cc.journal.path + "-wal"
    if os.path.exists(wal):
        with open(wal, "rb") as f:
            data += f.read()
    assert SECRET.encode() not in data
    # the vault decrypts for the edge link
    assert cc.call(lambda: cc.cc.vault.get("binance"))["api_secret"] == SECRET
    assert SECRET not in repr(cc.cc.vault)
    assert SECRET not in caplog.text
    st, doc = http("DELETE", cc.url + "/v1/credentials/binance", key=cc.admin)
    assert st == 200
    st, doc = http("DELETE", cc.url + "/v1/credentials/binance", key=cc.admin)
    assert st == 404 and doc["error"]["code"] == "NO_CREDENTIALS"


@pytest.mark.parametrize(("venue", "body", "field"), [
    ("binance", {"api_key": "k"}, "api_secret"),
    ("okx", {"api_key": "k", "api_secret": SECRET}, "passphrase"),
    ("coinbase", {"api_key": "k", "api_secret": SECRET, "passphrase": ""}, "passphrase"),
    ("hyperliquid", {"api_key": SECRET}, "api_key"),
    ("hyperliquid", {"extra_json": {"vault_address": ""}}, "signer_private_key"),
    ("hyperliquid", {"extra_json": {"signer_private_key": SECRET}}, "signer_private_key"),
    ("kalshi", {"api_key": "not-a-uuid", "api_secret": SECRET}, "api_key"),
])  # fmt: skip
def test_validation_names_the_field_not_the_value(cc, caplog, venue, body, field):
    caplog.set_level(logging.DEBUG)
    st, doc = http("POST", cc.url + f"/v1/credentials/{venue}", body, key=cc.admin)
    assert st == 400, doc
    assert doc["error"]["code"] in ("MISSING_CREDENTIAL", "MALFORMED_CREDENTIAL")
    assert field in doc["error"]["message"]
    assert SECRET not in str(doc) and SECRET not in caplog.text
    st, lst = http("GET", cc.url + "/v1/credentials", key=cc.admin)
    assert lst == []


def test_unknown_venue_and_bad_body(cc):
    st, doc = http("POST", cc.url + "/v1/credentials/nasdaq", {"api_key": "a"}, key=cc.admin)
    assert st == 404 and doc["error"]["code"] == "UNKNOWN_VENUE"
    st, doc = http("POST", cc.url + "/v1/credentials/binance", ["a"], key=cc.admin)
    assert st == 400


def test_master_key_sources(tmp_path):
    assert load_master_key(None, environ={"SEQKERN_MASTER_KEY": "11" * 32}) == b"\x11" * 32
    with pytest.raises(MasterKeyError):
        load_master_key(None, environ={"SEQKERN_MASTER_KEY": "tooshort"})
    with pytest.raises(MasterKeyError):
        load_master_key(None, environ={})
    p = str(tmp_path / "master.key")
    k = load_master_key(p, create=True, environ={})
    assert len(k) == 32 and oct(os.stat(p).st_mode & 0o777) == "0o600"
    assert load_master_key(p, environ={}) == k
    os.chmod(p, 0o644)
    with pytest.raises(MasterKeyError, match="readable by others"):
        load_master_key(p, environ={})


def test_wrong_master_key_does_not_decrypt(tmp_path):
    j = Journal(str(tmp_path / "j.sqlite"))
    CredentialVault(j, b"a" * 32).put("bybit", {"api_key": "k", "api_secret": SECRET})
    with pytest.raises(MasterKeyError):
        CredentialVault(j, b"b" * 32).get("bybit")
    assert CredentialVault(j, b"a" * 32).get("bybit")["api_secret"] == SECRET
