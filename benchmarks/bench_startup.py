"""Start-up cost of the commands a user runs first, against the code before issue 11.

Whole processes, timed from outside (what a user waits for), alternated between the two code
trees in one run so machine load affects both alike:

* ``fentid --help``;
* ``fentid search ONE.msp`` (the NIST fentanyl replicate) with the packaged default library
  (the baseline code has no default library: it is given the same file with --library);
* the first ``fentid identify`` of a GC-MS run in a fresh environment: an empty numba cache
  directory (``NUMBA_CACHE_DIR``) for each run, so compiled kernels cannot come from a cache.

Baseline: the code at ``--baseline-ref`` (default ff3209f, the last commit before issues
10-11), checked out in a temporary git worktree.  Prints medians and ratios.

Run: python benchmarks/bench_startup.py [--repeat 7] [--baseline-ref REF]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
QUERY = DATA / "ms/NIST-FentanylClassifier/ExampleQuerySpectra/FentanylReplicates/250541.MSP"
RUN = DATA / "formats/netcdf_andi/HP_MS.CDF"
LIBRARY = ROOT / "src/fentid/data/default-library.h5"


def timed(src: Path, args: list[str], env_extra: dict | None = None) -> float:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONWARNINGS": "ignore", **(env_extra or {})}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "fentid.cli", *args], capture_output=True,
                          text=True, env=env, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 2):
        raise SystemExit(f"{src}: fentid {' '.join(args)} failed: {proc.stderr.strip()}")
    return elapsed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--baseline-ref", default="ff3209f")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base),
                        args.baseline_ref], check=True, capture_output=True)
        try:
            trees = {"now": ROOT / "src", "baseline": base / "src"}
            cases = {
                "fentid --help": lambda src, k: ["--help"],
                "fentid search ONE.msp (default library)": lambda src, k: (
                    ["search", str(QUERY), "-q"] if src == trees["now"]
                    else ["-q", "search", str(QUERY), "--library", str(LIBRARY)]),
                "first identify (empty numba cache)": lambda src, k: (
                    ["identify", str(RUN), "-q", "--library", str(LIBRARY)] if src ==
                    trees["now"] else ["-q", "identify", str(RUN), "--library", str(LIBRARY)]),
            }
            times = {(c, t): [] for c in cases for t in trees}
            for src in trees.values():  # warm the file cache and .pyc files once
                timed(src, ["--help"])
            for k in range(args.repeat):
                for case, argf in cases.items():
                    for name, src in trees.items():
                        extra = None
                        if case.startswith("first identify"):
                            extra = {"NUMBA_CACHE_DIR": str(Path(tmp) / f"numba-{name}-{k}")}
                        times[(case, name)].append(timed(src, argf(src, k), extra))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                           capture_output=True, check=False)
    print(f"Start-up, whole process, median of {args.repeat} (alternated; baseline "
          f"{args.baseline_ref})\n")
    print("| command | baseline s | now s | baseline/now |")
    print("|---|---|---|---|")
    for case in cases:
        b = statistics.median(times[(case, "baseline")])
        n = statistics.median(times[(case, "now")])
        print(f"| {case} | {b:.2f} | {n:.2f} | {b / n:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
