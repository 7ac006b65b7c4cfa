"""The credentials vault: venue credentials validated, encrypted at rest with AES-256-GCM, and
never returned, logged or shown in a repr."""

from __future__ import annotations

import base64
import binascii
import os
import stat
from collections.abc import Mapping
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from seqkern.cc.journal import Journal, now_ns
from seqkern.cc.venueinfo import validate_credentials, venue_name
from seqkern.errors import CredentialError, MasterKeyError

MASTER_KEY_ENV = "SEQKERN_MASTER_KEY"


def _decode_key(text: str, origin: str) -> bytes:
    text = text.strip()
    raw: bytes | None = None
    if len(text) == 64:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = None
    if raw is None:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != 32:
        raise MasterKeyError(f"the master key from {origin} must be 32 bytes, as 64 hex digits or base64")
    return raw


def load_master_key(key_file: str | None = None, *, create: bool = False,
                    environ: Mapping[str, str] | None = None) -> bytes:
    """The 32-byte master key: from $SEQKERN_MASTER_KEY, else from a key file readable by its owner
    only (a group- or world-readable file is refused); ``create`` writes a fresh 0600 file."""
    env = os.environ if environ is None else environ
    if env.get(MASTER_KEY_ENV):
        return _decode_key(env[MASTER_KEY_ENV], f"${MASTER_KEY_ENV}")
    if not key_file:
        raise MasterKeyError(f"no master key: set ${MASTER_KEY_ENV} or give a key file")
    if not os.path.exists(key_file):
        if not create:
            raise MasterKeyError(f"master key file {key_file} does not exist")
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
    st = os.stat(key_file)
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MasterKeyError(
            f"master key file {key_file} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
            "chmod 600 it")
    with open(key_file) as f:
        return _decode_key(f.read(), key_file)


class CredentialVault:
    """Venue credentials in the journal's ``credentials`` table, one AES-256-GCM blob per venue
    (96-bit random nonce, the venue name as associated data)."""

    def __init__(self, journal: Journal, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise MasterKeyError("the master key must be 32 bytes")
        self._journal = journal
        self._aead = AESGCM(master_key)

    def __repr__(self) -> str:
        return f"CredentialVault(venues={self.venues()})"

    def put(self, venue: str | int, payload: Any) -> dict[str, Any]:
        """Validate and store; returns the public description (venue, class, field names)."""
        if not isinstance(payload, dict):
            raise CredentialError("the credentials body must be a JSON object")
        name = venue_name(venue)
        info = validate_credentials(name, payload)
        nonce = os.urandom(12)
        blob = self._aead.encrypt(nonce, orjson.dumps(payload), name.encode())
        with self._journal.tx() as db:
            db.execute(
                "INSERT INTO credentials(venue, nonce, ciphertext, fields, updated_ns) VALUES(?,?,?,?,?) "
                "ON CONFLICT(venue) DO UPDATE SET nonce=excluded.nonce, ciphertext=excluded.ciphertext, "
                "fields=excluded.fields, updated_ns=excluded.updated_ns",
                (name, nonce, blob, ",".join(sorted(k for k, v in payload.items() if v not in ("", None))),
                 now_ns()))
        return {"venue": name, **info}

    def get(self, venue: str | int) -> dict[str, Any]:
        """The decrypted payload, for the edge that signs orders (never for the API)."""
        name = venue_name(venue)
        row = self._journal.db.execute(
            "SELECT nonce, ciphertext FROM credentials WHERE venue=?", (name,)).fetchone()
        if row is None:
            raise CredentialError(f"no credentials stored for {name}", code="NO_CREDENTIALS")
        try:
            return orjson.loads(self._aead.decrypt(row[0], row[1], name.encode()))
        except InvalidTag as exc:
            raise MasterKeyError(
                f"the stored credentials of {name} do not decrypt with this master key") from exc

    def has(self, venue: str | int) -> bool:
        return self._journal.db.execute(
            "SELECT 1 FROM credentials WHERE venue=?", (venue_name(venue),)).fetchone() is not None

    def delete(self, venue: str | int) -> bool:
        with self._journal.tx() as db:
            cur = db.execute("DELETE FROM credentials WHERE venue=?", (venue_name(venue),))
        return cur.rowcount > 0

    def venues(self) -> list[str]:
        return [r[0] for r in self._journal.db.execute("SELECT venue FROM credentials ORDER BY venue")]

    def listing(self) -> list[dict[str, Any]]:
        return [{"venue": v, "fields": f.split(",") if f else [], "updated_ns": t}
                for v, f, t in self._journal.db.execute(
                    "SELECT venue, fields, updated_ns FROM credentials ORDER BY venue")]
