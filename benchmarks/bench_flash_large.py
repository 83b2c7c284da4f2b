"""Entropy search at one large library size: fentid vs ms_entropy's FlashEntropySearch.

``bench_search.py`` builds both indexes in one process and so runs Flash only up to
100k spectra.  Here the two run one after the other (fentid's index is dropped
before Flash builds), so a 1,000,000-spectrum comparison fits in memory.  Same
generated library, queries, tolerance (0.02 Da) and cleaning as ``bench_search.py``.

Run: ``python benchmarks/bench_flash_large.py [--n 1000000] [--queries 20]``.
Prints medians per query, the ratio, whether the top-10 lists agree, build
times and resident memory after each phase; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np
from bench_search import (
    TOL_DA,
    flash_top10,
    load_swgdrug,
    make_library,
    make_queries,
    median_time,
    same_top,
)

from fentid.reference_library.search import SearchIndex


def rss_mb() -> tuple[float, float]:
    """Current and peak resident memory of this process (MiB)."""
    fields = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            fields[key] = value
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def entropy_top10(index: SearchIndex, query) -> list[tuple[int, float]]:
    return [(h.entry_index, h.score)
            for h in index.search(query, "entropy", top=10, tolerance_da=TOL_DA)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=20)
    args = parser.parse_args(argv)
    base = load_swgdrug()
    queries = make_queries(base, args.queries, seed=12345)
    mz, it, off = make_library(base, args.n, seed=args.n)

    t0 = time.perf_counter()
    index = SearchIndex.build(mz, it, off)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    index.search(queries[0], "entropy", top=10, tolerance_da=TOL_DA)  # entropy view
    view_s = time.perf_counter() - t0
    ours_s, ours = median_time(lambda q: entropy_top10(index, q), queries)
    ours_rss = rss_mb()
    index = None  # drop fentid's index before Flash builds its own
    gc.collect()

    from ms_entropy import FlashEntropySearch

    t0 = time.perf_counter()
    flash = FlashEntropySearch(max_ms2_tolerance_in_da=TOL_DA)
    flash.build_index([{"precursor_mz": 1e4, "peaks": np.c_[mz[off[k]:off[k + 1]],
                                                               it[off[k]:off[k + 1]]]}
                       for k in range(args.n)],
                      precursor_ions_removal_da=None, min_ms2_difference_in_da=2 * TOL_DA)
    flash_build_s = time.perf_counter() - t0
    flash_s, theirs = median_time(lambda q: flash_top10(flash, q), queries)
    flash_rss = rss_mb()
    agree = sum(same_top(o, t) for o, t in zip(ours, theirs)) / len(queries)
    print(f"\nEntropy search, {args.n:,} generated EI spectra ({mz.size:,} peaks), "
          f"{args.queries} queries, tolerance {TOL_DA} Da\n")
    print("| engine | build s | first-use view s | median ms per query | RSS after (peak) MiB |")
    print("|---|---|---|---|---|")
    print(f"| fentid | {build_s:.1f} | {view_s:.1f} | {ours_s * 1e3:.2f} "
          f"| {ours_rss[0]:.0f} ({ours_rss[1]:.0f}) |")
    print(f"| FlashEntropySearch | {flash_build_s:.1f} | - | {flash_s * 1e3:.2f} "
          f"| {flash_rss[0]:.0f} ({flash_rss[1]:.0f}) |")
    print(f"\nFlash/fentid per query: {flash_s / ours_s:.2f}x; same top-10: {agree:.0%}")


if __name__ == "__main__":
    main()
