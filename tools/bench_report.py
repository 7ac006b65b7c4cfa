#!/usr/bin/env python3
"""Runs the benchmarks, prints each figure beside its peer as a ratio, and checks the budgets.

    python tools/bench_report.py                 # run every benchmark in bench/, check all budgets
    python tools/bench_report.py bench/test_book.py   # run some files; budgets whose benchmarks
                                                 # did not run are listed as "not run"
    python tools/bench_report.py --json out.json # check an existing pytest-benchmark JSON

Exit status: 0 when every budget whose benchmarks ran is met, 1 otherwise (2 on usage errors).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGETS = ROOT / "bench" / "budgets.toml"


@dataclass(frozen=True)
class Figure:
    name: str
    median_ns: float    # per operation
    p99_ns: float | None
    ops: int


def load_figures(path: Path) -> dict[str, Figure]:
    data = json.loads(path.read_text())
    out: dict[str, Figure] = {}
    for b in data.get("benchmarks", []):
        extra = b.get("extra_info", {})
        # per operation: "ops" (calls, orders, messages) or "frames_per_call" (CC-LINK)
        ops = int(extra.get("ops") or extra.get("frames_per_call") or 1)
        stats = b["stats"]
        p99 = b.get("extra_info", {}).get("p99_ns")
        out[b["name"]] = Figure(b["name"], stats["median"] * 1e9 / ops,
                                float(p99) if p99 is not None else None, ops)
    return out


def fmt_ns(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} us"
    return f"{ns:.1f} ns"


def check(figures: dict[str, Figure], budgets: dict) -> tuple[list[str], int]:
    lines, failures = [], 0
    for name, b in budgets.get("budget", {}).items():
        subj = figures.get(b["subject"])
        peer = figures.get(b.get("peer", "")) if b.get("peer") else None
        if subj is None or (b.get("peer") and peer is None):
            lines.append(f"  {name:38s} not run")
            continue
        parts, ok = [f"{fmt_ns(subj.median_ns)}/op"], True
        if peer is not None:
            ratio = peer.median_ns / subj.median_ns
            parts.append(f"peer {fmt_ns(peer.median_ns)}/op  ratio {ratio:.1f}x")
            if "min_ratio" in b:
                parts.append(f"(need >= {b['min_ratio']}x)")
                ok &= ratio >= float(b["min_ratio"])
        if "max_median_ns" in b:
            parts.append(f"(need <= {b['max_median_ns']} ns)")
            ok &= subj.median_ns <= float(b["max_median_ns"])
        failures += not ok
        lines.append(f"  {'ok  ' if ok else 'MISS'} {name:33s} " + "  ".join(parts))
    return lines, failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*", help="benchmark files or directories (default: bench/)")
    ap.add_argument("--json", type=Path, help="use this pytest-benchmark JSON instead of running")
    ap.add_argument("--budgets", type=Path, default=BUDGETS)
    args = ap.parse_args(argv)

    if args.json is None:
        tmp = Path(tempfile.mkdtemp(prefix="seqkern-bench-")) / "bench.json"
        cmd = [sys.executable, "-m", "pytest", *(args.paths or ["bench"]), "-q",
               "-p", "no:cacheprovider", "--benchmark-enable", f"--benchmark-json={tmp}",
               "--benchmark-columns=median,iqr,rounds", "-o", "testpaths=bench"]
        print("$", " ".join(cmd), flush=True)
        rc = subprocess.call(cmd, cwd=ROOT)
        if not tmp.exists():
            print(f"bench_report: the benchmark run produced no results (pytest exit {rc})",
                  file=sys.stderr)
            return 1
        args.json = tmp
    else:
        rc = 0
    figures = load_figures(args.json)
    budgets = tomllib.loads(args.budgets.read_text())

    print("\nPer-operation medians (same run):")
    for f in sorted(figures.values(), key=lambda f: f.name):
        p99 = f"  p99 {fmt_ns(f.p99_ns)}" if f.p99_ns is not None else ""
        print(f"  {f.name:60s} {fmt_ns(f.median_ns):>12s}{p99}  (ops/round {f.ops})")
    lines, failures = check(figures, budgets)
    print("\nBudgets (bench/budgets.toml):")
    print("\n".join(lines))
    print(f"\n{failures} budget(s) missed" if failures else "\nall budgets that ran are met")
    if rc != 0:
        print(f"bench_report: some benchmarks failed (pytest exit {rc}); see above", file=sys.stderr)
    return 1 if failures or rc != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
