"""The compiled Keccak-256 (`seqkern._evmhash`) against the published empty-input digest and an
independent implementation (pycryptodome, which eth-account depends on) across block boundaries."""

from __future__ import annotations

import random

import pytest
from seqkern._evmhash import eip712_digest, keccak256


def test_published_vectors() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"abc").hex() == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"


def test_every_length_around_the_rate_matches_an_independent_keccak() -> None:
    keccak = pytest.importorskip("Crypto.Hash.keccak")
    rng = random.Random(7)
    for n in [*range(0, 300), 407, 408, 409, 543, 544, 545, 4096]:   # rate 136: 135/136/137, 271/272/273, ...
        data = bytes(rng.getrandbits(8) for _ in range(n))
        ref = keccak.new(digest_bits=256)
        ref.update(data)
        assert keccak256(data) == ref.digest(), n


def test_eip712_digest_is_keccak_of_the_prefixed_pair() -> None:
    dom, st = keccak256(b"domain"), keccak256(b"struct")
    assert eip712_digest(dom, st) == keccak256(b"\x19\x01" + dom + st)
    with pytest.raises(ValueError):
        eip712_digest(dom, b"short")
