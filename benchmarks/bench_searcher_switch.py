"""One long-lived ``LibrarySearcher`` on the default library: the numpy full scan for every
query (the behaviour before the switch) against moving to the compiled index after
``fentid.searching.SCAN_QUERIES_BEFORE_INDEX`` queries, alternated, same process.

    python benchmarks/bench_searcher_switch.py [--rounds 2]

Queries: the 44 spectra of NIST's single-modification fentanyl library (analogs, most of
them not in the default library), identity top-50, as ``identify`` searches them.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import fentid
from fentid import searching
from fentid.components import Component
from fentid.drivers import read
from fentid.spectra.ms_peaks import spectrum_to_peaks

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FENTID_SHARED_DATA", ROOT.parent / "shared" / "data"))
QUERIES = DATA / "ms/NIST-FentanylClassifier/shiny/Data/SingleModFentanylLibrary.msp"


def run(components, switch_after: int) -> tuple[float, list]:
    """Seconds to search every component with a new searcher, and the hits."""
    searching.SCAN_QUERIES_BEFORE_INDEX = switch_after
    with fentid.open_library() as lib:
        t = time.perf_counter()
        hits = [lib.search(c, "identity", 50)[2] for c in components]
        return time.perf_counter() - t, hits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    default = searching.SCAN_QUERIES_BEFORE_INDEX
    comps = [Component(name=str(k), peaks=spectrum_to_peaks(s))
             for k, s in enumerate(read(QUERIES).items)]
    for _ in range(args.rounds):
        t_scan, h_scan = run(comps, 10**9)
        t_switch, h_switch = run(comps, default)
        same = "same hits" if h_scan == h_switch else "HITS DIFFER"
        print(f"{len(comps)} components, top-50: numpy scan only {t_scan:.2f} s, switch after "
              f"{default} {t_switch:.2f} s: {t_scan / t_switch:.1f}x, {same}")


if __name__ == "__main__":
    main()
