"""Search benchmark: identity-MF and entropy top-10 search on 10k / 100k / 1M EI spectra.

Libraries are generated from SWGDRUG 3.9 (../shared/data) by realistic perturbation:
each entry is a random SWGDRUG spectrum with log-normal intensity noise (sigma 0.1),
peaks below 5 % of the base peak dropped with probability 0.3, and 0-5 added small
peaks (0.2-3 % of base) at random masses within the spectrum's range.  Queries are
further perturbed SWGDRUG spectra (another seed).

Baselines measured in the same run:

* brute force: every entry scored with the pair function (on a subsample of entries,
  extrapolated linearly to the library size and labelled as such);
* ms_entropy's FlashEntropySearch (open search, same tolerance 0.02 Da, same cleaning)
  for entropy similarity, up to ``--flash-max`` entries (its Python-level index build
  needs tens of GB at 1M).

Also measured: fentid's real search path (library file written by the library writer,
opened in a fresh process, :class:`fentid.searching.LibrarySearcher`) at the largest size.

Run: ``python benchmarks/bench_search.py [--sizes 10000 100000 1000000] [--queries 20]
[--real-path N] [--verify]``.
Prints medians per query and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from fentid.reference_library.search import _NIST_MODES, SearchIndex, brute_force_search
from fentid.reference_library.search_ball import BALL_KEYS
from fentid.spectra import scores_ms as sm
from fentid.spectra.model import PeakList

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SWGDRUG = DATA / "ms" / "SWGDRUG-3.9_NIST-MS_conversion_tools" / "SWGDRUG39.msp"
TOL_DA = 0.02


def load_swgdrug():
    """Flat (mz, intensity, offsets) of SWGDRUG 3.9, read with fentid's MSP driver."""
    from fentid.drivers import read

    items = read(SWGDRUG).items
    mz = np.concatenate([s.axis for s in items])
    it = np.concatenate([s.intensities for s in items])
    off = np.concatenate(([0], np.cumsum([s.axis.size for s in items])))
    return mz, it, off


def _ranges(starts, ends):
    lengths = ends - starts
    base = np.concatenate(([0], np.cumsum(lengths)))
    return np.arange(base[-1]) + np.repeat(starts - base[:-1], lengths)


def make_library(base, n, seed):
    """``n`` perturbed copies of random base spectra, vectorised. Returns flat arrays."""
    bmz, bit, boff = base
    rng = np.random.default_rng(seed)
    nb = boff.size - 1
    bent = np.repeat(np.arange(nb), np.diff(boff))
    bmax = np.zeros(nb)
    np.maximum.at(bmax, bent, bit)
    lo = bmz[boff[:-1]]
    hi = bmz[boff[1:] - 1]
    src = rng.integers(0, nb, n)
    idx = _ranges(boff[src], boff[src + 1])
    ent = np.repeat(np.arange(n), np.diff(boff)[src])
    rel = bit[idx] / bmax[bent[idx]]
    keep = (rel > 0.05) | (rng.random(idx.size) > 0.3)
    idx, ent = idx[keep], ent[keep]
    mz = bmz[idx]
    it = bit[idx] * np.exp(rng.normal(0, 0.1, idx.size))
    extra = rng.integers(0, 6, n)
    eent = np.repeat(np.arange(n), extra)
    span = (hi - lo)[src][eent]
    emz = np.floor(lo[src][eent] + rng.random(eent.size) * (span + 1))
    eit = rng.uniform(0.002, 0.03, eent.size) * bmax[src][eent]
    ent = np.concatenate((ent, eent))
    mz = np.concatenate((mz, emz))
    it = np.concatenate((it, eit))
    key = ent.astype(np.int64) * 8192 + np.rint(mz * 4).astype(np.int64)
    order = np.argsort(key, kind="stable")
    key, ent, mz, it = key[order], ent[order], mz[order], it[order]
    first = np.r_[True, key[1:] != key[:-1]]  # an added peak on an existing mass: keep one
    ent, mz, it = ent[first], mz[first], it[first]
    off = np.concatenate(([0], np.cumsum(np.bincount(ent, minlength=n))))
    return mz, it, off


def make_queries(base, count, seed):
    mz, it, off = make_library(base, count, seed)
    return [PeakList(mz[off[k]:off[k + 1]], it[off[k]:off[k + 1]]) for k in range(count)]


def median_time(fn, items):
    times, results = [], []
    for item in items:
        t0 = time.perf_counter()
        results.append(fn(item))
        times.append(time.perf_counter() - t0)
    return statistics.median(times), results


def index_bytes(index: SearchIndex) -> int:
    return sum(arr.nbytes for seg in index._segments for arr in seg.a.values())


def flash_top10(flash, query: PeakList):
    peaks = np.c_[query.position, query.intensity].astype(np.float32)
    clean = flash.clean_spectrum_for_search(precursor_mz=1e4, peaks=peaks,
                                            precursor_ions_removal_da=None,
                                            min_ms2_difference_in_da=2 * TOL_DA)
    scores = flash.search(precursor_mz=1e4, peaks=clean, ms2_tolerance_in_da=TOL_DA,
                          method="open")["open_search"]
    top = np.argpartition(-scores, 10)[:10]
    top = top[np.lexsort((top, -scores[top]))]
    return [(int(k), float(scores[k])) for k in top if scores[k] > 0]


def same_top(ours, theirs, tol=1e-5) -> bool:
    """Same top-10 entries in the same order, where scores differ by more than ``tol``."""
    if len(ours) != len(theirs):
        return False
    for (ko, so), (kt, st) in zip(ours, theirs):
        if abs(so - st) > tol:
            return False
        if ko != kt and not any(abs(s - so) <= tol for k, s in theirs if k == ko):
            return False
    return True


def verify_identity(index: SearchIndex, queries) -> str:
    """Identity top-10 of every query against scoring every entry (compiled exact walk)."""
    seg = index._segments[0]
    agree = 0
    for q in queries:
        qm, qc = sm.nist_preprocess(q.position, q.intensity)
        scores = seg.nist_many(qm, qc, np.arange(seg.n), _NIST_MODES["identity"])
        order = np.lexsort((np.arange(seg.n), -scores))[:10]
        expected = [(int(k), float(scores[k])) for k in order if scores[k] > 0]
        got = [(h.entry_index, h.score) for h in index.search(q, "identity", top=10)]
        agree += got == expected
    return f"{agree}/{len(queries)}"


def bench_size(base, n, queries, flash_max, brute_sample, verify=False):
    row = {"n": n}
    t0 = time.perf_counter()
    mz, it, off = make_library(base, n, seed=n)
    row["gen_s"] = time.perf_counter() - t0
    row["peaks"] = int(mz.size)
    t0 = time.perf_counter()
    index = SearchIndex.build(mz, it, off)
    row["build_s"] = time.perf_counter() - t0
    row["index_mb"] = index_bytes(index) / 2**20
    row["ball_mb"] = sum(seg.a[k].nbytes for seg in index._segments for k in BALL_KEYS) / 2**20

    row["identity_ms"], _ = median_time(lambda q: index.search(q, "identity", top=10), queries)
    row["identity_ms"] *= 1e3
    if verify:
        row["verified"] = verify_identity(index, queries)
    row["reverse_ms"], _ = median_time(lambda q: index.search(q, "reverse", top=10), queries)
    row["reverse_ms"] *= 1e3
    evaluated, paths = [], []
    for q in queries:
        index.search(q, "identity", top=10)
        evaluated.append(index.last_stats["evaluated"])
        paths += index.last_stats.get("paths", ())
    row["evaluated"] = statistics.median(evaluated)
    row["ball_share"] = paths.count("balls") / max(len(paths), 1)

    t0 = time.perf_counter()
    index.search(queries[0], "entropy", top=10, tolerance_da=TOL_DA)  # builds the entropy view
    row["entropy_view_s"] = time.perf_counter() - t0
    row["entropy_ms"], ours = median_time(
        lambda q: [(h.entry_index, h.score) for h in index.search(q, "entropy", top=10,
                                                                   tolerance_da=TOL_DA)],
        queries)
    row["entropy_ms"] *= 1e3

    # brute force on a subsample of entries, extrapolated to n
    sub = min(n, brute_sample)
    sm_, si_, so_ = mz[:off[sub]], it[:off[sub]], off[:sub + 1]
    t_brute, _ = median_time(lambda q: brute_force_search(q, sm_, si_, so_, "identity", 10),
                             queries[:3])
    row["brute_ms"] = t_brute * 1e3 * n / sub
    row["brute_extrapolated"] = sub < n

    if n <= flash_max:
        from ms_entropy import FlashEntropySearch

        t0 = time.perf_counter()
        flash = FlashEntropySearch(max_ms2_tolerance_in_da=TOL_DA)
        flash.build_index([{"precursor_mz": 1e4, "peaks": np.c_[mz[off[k]:off[k + 1]],
                                                                   it[off[k]:off[k + 1]]]}
                           for k in range(n)],
                          precursor_ions_removal_da=None, min_ms2_difference_in_da=2 * TOL_DA)
        row["flash_build_s"] = time.perf_counter() - t0
        row["flash_ms"], theirs = median_time(lambda q: flash_top10(flash, q), queries)
        row["flash_ms"] *= 1e3
        row["same_top10"] = sum(same_top(o, t) for o, t in zip(ours, theirs)) / len(queries)
        del flash
    gc.collect()
    return row


WRITE_SCRIPT = """
import sys
import numpy as np
from fentid.reference_library import create, edit
d = np.load(sys.argv[2])
create(sys.argv[1], name="bench_search generated library")
with edit(sys.argv[1], curator="bench_search") as w:
    w.add_entries("ei", d["mz"], d["intensity"], d["offsets"],
                  {"source": "generated from SWGDRUG39.msp"})
"""

SEARCH_SCRIPT = """
import json, statistics, sys, time
t0 = time.perf_counter()
import numpy as np
from fentid.components import Component
from fentid.searching import LibrarySearcher
from fentid.spectra import scores_ms as sm
from fentid.spectra.model import PeakList
q = np.load(sys.argv[2])
comps = [Component(name=str(k), peaks=PeakList(q["mz"][q["offsets"][k]:q["offsets"][k + 1]],
                                                q["intensity"][q["offsets"][k]:q["offsets"][k + 1]]))
         for k in range(q["offsets"].size - 1)]
with LibrarySearcher(sys.argv[1]) as searcher:
    t1 = time.perf_counter()
    searcher.search(comps[0], top=10)  # loads the stored index
    t2 = time.perf_counter()
    times = []
    for comp in comps:
        t = time.perf_counter()
        searcher.search(comp, top=10)
        times.append(time.perf_counter() - t)
print(json.dumps({"open_s": t1 - t0, "first_s": t2 - t1, "median_s": statistics.median(times)}))
"""


def bench_real_path(base, n, queries, workdir):
    """Per-query time of fentid's own path: Library file on disk -> LibrarySearcher.

    The same library as the in-memory row (same seed) is written with the library
    writer in a child process, then searched in a fresh process (what ``fentid
    identify`` does: open, load the stored index on first use, search).
    """
    import json
    import subprocess

    workdir = Path(workdir)
    mz, it, off = make_library(base, n, seed=n)
    np.savez(workdir / "lib.npz", mz=mz, intensity=it, offsets=off)
    del mz, it, off
    qmz = np.concatenate([q.position for q in queries])
    qit = np.concatenate([q.intensity for q in queries])
    qoff = np.concatenate(([0], np.cumsum([q.position.size for q in queries])))
    np.savez(workdir / "queries.npz", mz=qmz, intensity=qit, offsets=qoff)
    lib = workdir / "bench.fentid"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", WRITE_SCRIPT, str(lib), str(workdir / "lib.npz")],
                   check=True)
    write_s = time.perf_counter() - t0
    (workdir / "lib.npz").unlink()
    out = subprocess.run([sys.executable, "-c", SEARCH_SCRIPT, str(lib),
                          str(workdir / "queries.npz")], check=True, capture_output=True,
                         text=True).stdout
    row = json.loads(out.strip().splitlines()[-1])
    row.update(n=n, write_s=write_s, file_mb=lib.stat().st_size / 2**20)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--flash-max", type=int, default=100_000)
    parser.add_argument("--brute-sample", type=int, default=2_000)
    parser.add_argument("--real-path", type=int, default=None, metavar="N",
                        help="library size for the on-disk LibrarySearcher row "
                             "(default: the largest --sizes; 0: skip)")
    parser.add_argument("--verify", action="store_true",
                        help="also check every identity top-10 against scoring every entry")
    args = parser.parse_args(argv)
    base = load_swgdrug()
    queries = make_queries(base, args.queries, seed=12345)
    rows = []
    for n in args.sizes:
        row = bench_size(base, n, queries, args.flash_max, args.brute_sample, args.verify)
        rows.append(row)
        print(f"# done {n}: {row}", file=sys.stderr, flush=True)
    print(f"\nSearch benchmark ({args.queries} queries, medians per query; library from "
          f"SWGDRUG 3.9 by perturbation)\n")
    print("| entries | peaks | build s | index MB (balls) | identity top-10 ms "
          "| scored per query | ball path | reverse top-10 ms | brute force ms | brute/ours "
          "| entropy ms (ours) "
          "| Flash ms | Flash/ours | same top-10 | Flash build s | our entropy view s |")
    print("|" + "---|" * 16)
    for r in rows:
        brute = f"{r['brute_ms']:.0f}" + (" (extrapolated)" if r["brute_extrapolated"] else "")
        flash = (f"{r['flash_ms']:.2f}", f"{r['flash_ms'] / r['entropy_ms']:.1f}x",
                 f"{r['same_top10']:.0%}", f"{r['flash_build_s']:.1f}") if "flash_ms" in r \
            else ("not run", "-", "-", "-")
        print(f"| {r['n']:,} | {r['peaks']:,} | {r['build_s']:.1f} "
              f"| {r['index_mb']:.0f} ({r['ball_mb']:.0f}) | {r['identity_ms']:.2f} "
              f"| {r['evaluated']:.0f} | {r['ball_share']:.0%} | {r['reverse_ms']:.1f} | {brute} "
              f"| {r['brute_ms'] / r['identity_ms']:.0f}x | {r['entropy_ms']:.2f} "
              f"| {flash[0]} | {flash[1]} | {flash[2]} | {flash[3]} | {r['entropy_view_s']:.1f} |")
    if args.verify:
        print("\nIdentity top-10 equal to scoring every entry: "
              + ", ".join(f"{r['n']:,}: {r['verified']}" for r in rows))
    real_n = max(args.sizes) if args.real_path is None else args.real_path
    if real_n > 0:
        import tempfile

        gc.collect()
        with tempfile.TemporaryDirectory(prefix="bench_search_") as tmp:
            real = bench_real_path(base, real_n, queries, tmp)
        print(f"\nfentid's real path at {real_n:,} entries (library file "
              f"{real['file_mb']:.0f} MiB written in {real['write_s']:.0f} s; fresh process: "
              f"Library open {real['open_s']:.2f} s incl. imports, first search incl. index "
              f"load {real['first_s']:.2f} s): LibrarySearcher.search identity top-10 median "
              f"{real['median_s'] * 1e3:.1f} ms per query")


if __name__ == "__main__":
    main()
