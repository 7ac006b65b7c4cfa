"""secp256k1 recoverable signing shared by the EVM-signing venues (Hyperliquid, Polymarket)."""

from __future__ import annotations

from coincurve import PrivateKey


class RecoverableSigner:
    """secp256k1 recoverable signing of 32-byte digests with libsecp256k1 (coincurve's build).

    Calls the library directly with buffers allocated once (RFC 6979 nonces, as coincurve's
    ``sign_recoverable``); falls back to coincurve's public API when its cffi module is absent.
    Returns 65 bytes r || s || recovery id.
    """

    __slots__ = ("_ctx", "_ffi", "_key", "_lib", "_out", "_recid", "_secret", "_sig")

    def __init__(self, key: PrivateKey) -> None:
        self._key = key
        try:
            from coincurve._libsecp256k1 import ffi, lib
            from coincurve.context import GLOBAL_CONTEXT
        except ImportError:   # pragma: no cover - other coincurve builds
            self._lib = None
            return
        self._ffi, self._lib = ffi, lib
        self._ctx = GLOBAL_CONTEXT.ctx
        self._secret = key.secret
        self._sig = ffi.new("secp256k1_ecdsa_recoverable_signature *")
        self._out = ffi.new("unsigned char[64]")
        self._recid = ffi.new("int *")

    def __repr__(self) -> str:
        return "RecoverableSigner(<key hidden>)"

    def sign(self, digest: bytes) -> bytes:
        lib = self._lib
        if lib is None:   # pragma: no cover
            return self._key.sign_recoverable(digest, hasher=None)
        if not lib.secp256k1_ecdsa_sign_recoverable(self._ctx, self._sig, digest, self._secret,
                                                    self._ffi.NULL, self._ffi.NULL):
            raise ValueError("secp256k1 signing failed")
        lib.secp256k1_ecdsa_recoverable_signature_serialize_compact(self._ctx, self._out, self._recid, self._sig)
        return self._ffi.buffer(self._out, 64)[:] + bytes((self._recid[0],))
