"""Shared rig of the prediction/on-chain edge tests: keys, a waiting helper, a recording sink."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa


def rsa_pem() -> tuple[str, str]:
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    priv = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                           serialization.NoEncryption()).decode()
    pub = k.public_key().public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return priv, pub


def ed25519_pem() -> tuple[str, str]:
    k = ed25519.Ed25519PrivateKey.generate()
    priv = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption()).decode()
    pub = k.public_key().public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return priv, pub


async def until(cond: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    """Poll ``cond`` until true (bounded); fails the test with ``what`` on timeout."""
    end = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def ladder(book, side: int, n: int = 1000) -> list[tuple[int, int]]:
    bp, bq, ap, aq = book.top(n)
    if side == 0:
        return [(int(p), int(q)) for p, q in zip(bp, bq, strict=True) if q > 0]
    return [(int(p), int(q)) for p, q in zip(ap, aq, strict=True) if q > 0]


async def settled(sim, cond: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    """Pause the simulator's market (no new events), wait until ``cond`` holds, resume.

    Book equality is only defined between messages: with the market paused the edge drains what
    was sent, so the check cannot race the venue's next tick on a loaded machine.
    """
    was = sim.paused
    sim.paused = True
    try:
        await until(cond, timeout_s, what)
    finally:
        sim.paused = was


def shared_venues() -> Path:
    """The shared venue fact folder (doc examples, recorded messages): $SEQKERN_SHARED_DIR, or
    ``shared/`` beside the repository (CI's layout), or the workplace's /work/shared. Tests that
    read it are skipped with a clear reason when none is present."""
    import pytest

    repo = Path(__file__).resolve().parents[2]
    for cand in (os.environ.get("SEQKERN_SHARED_DIR", ""), str(repo.parent / "shared"), "/work/shared"):
        if cand and (Path(cand) / "venues" / "doc-examples").is_dir():
            return Path(cand) / "venues"
    pytest.skip("shared/venues (doc examples, recorded messages) not found beside the repository")
    raise AssertionError("unreachable")
