"""seqkern: a Python-first, low-latency multi-venue trading kernel.

The hot path (order books, BBO matrix, SOR, CC-LINK framing, fixed-point parsing) is compiled
Cython; there is deliberately no pure-Python fallback, so a missing build fails loudly here.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_COMPILED = ("_fixed", "_book", "_sor", "_cclink", "_wire", "_predwire", "_evmhash")

for _name in _COMPILED:
    try:
        importlib.import_module(f"seqkern.{_name}")
    except ImportError as _exc:  # pragma: no cover - exercised by the build, not the tests
        raise ImportError(
            f"seqkern's compiled module seqkern.{_name} is not built or failed to load ({_exc}). "
            "Build it with `./run build` (or `pip install .`); seqkern has no pure-Python fallback."
        ) from _exc

del _name
