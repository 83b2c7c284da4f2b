"""Search benchmark on analog-rich libraries: every algorithm, novel queries, top-10 and top-50.

Libraries (``--sizes``, default 10k and 100k) are generated from the 3,430 real SWGDRUG 3.9
EI spectra (../shared/data).  15 % of the SWGDRUG compounds are held out; the others are
the *bases* of analog families.  Each library entry is one base, either as measured
(``REPLICATE_COPIES`` copies per base, so a replicate query has a few twins, not hundreds)
or as an analog: every peak above a cut mass shifted by a substituent mass (``LIB_SHIFTS``
Da: CH2, O, F-H, Cl-H, Br-H, ...; cut at one of ``CUTS`` of the spectrum's mass range), the
way analog series shift the fragments that keep the substituent.  Every entry, and every
query, is then perturbed independently: log-normal intensity noise (sigma 0.1), peaks
below 5 % of the base peak dropped with probability 0.3, 0-5 small peaks (0.2-3 % of the
base peak) added at random masses of the spectrum's range.

Queries (``--queries`` of each kind, another seed):

* ``replicate``: a base that is in the library (its family and its copies too);
* ``analog``: a base shifted by a substituent mass the library never uses
  (``QUERY_SHIFTS``), i.e. a new analog whose family is in the library but not itself;
* ``unrelated``: a held-out SWGDRUG compound (not in the library in any form).

Engines are timed query by query, alternated (ours, then the baseline, for the same
query), so a load change on the machine hits both alike:

* identity / reverse / similarity: ``SearchIndex.search`` top-10 and top-50 against the
  compiled full scan (every entry scored with the exact compiled walk,
  ``nist_many(arange(n))``, then ranked);
* entropy (0.02 Da): ours top-10/top-50 against ms_entropy ``FlashEntropySearch``
  (open search, same cleaning) up to ``--flash-max`` entries;
* cosine (0.5 Da and 0.01 Da, sqrt preset): ours top-10/top-50 against matchms
  ``CosineGreedy`` (same powers, same tolerance; ``--cosine-queries`` per kind, up to
  ``--matchms-max`` entries).  matchms is not a fentid dependency (it pins an older
  scipy): install it (``pip install matchms``) or point ``--matchms-path`` at a
  ``pip install --target DIR matchms`` directory; without it the column says so.

``--verify`` checks every top list against an exact reference: NIST factors against the
compiled full scan (equal entries and factors), entropy against the unpruned scan of
every window (and top-10 against Flash), cosine against matchms's top-10 and, up to
``--brute-max`` entries, against ``brute_force_search`` (the pair function per entry).

Also (``--real-path N``): the library written to disk with the library writer, opened
in a fresh process with :class:`fentid.searching.LibrarySearcher`: open time, RSS after
one query, and the identity top-50 median through the file, against the in-memory index.

Run: ``nice -n 10 python benchmarks/bench_search.py --sizes 10000,100000 --verify``.
Prints median / p90 / p99 per query kind (ms) and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from fentid.reference_library.search import _NIST_MODES, SearchIndex, _rank, brute_force_search
from fentid.spectra import scores_ms as sm
from fentid.spectra.model import PeakList

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SWGDRUG = DATA / "ms" / "SWGDRUG-3.9_NIST-MS_conversion_tools" / "SWGDRUG39.msp"
ENTROPY_TOL = 0.02
COSINE_TOLS = (0.5, 0.01)
COSINE_POWERS = sm.COSINE_PRESETS["sqrt"]
KINDS = ("replicate", "analog", "unrelated")
HELD_OUT = 0.15
REPLICATE_COPIES = 2
#: substituent mass shifts (Da) of the library's analogs: CH2, O, F-H, C2H4, CH2O, S,
#: Cl-H, C2H2O, CO2, C3H6, F2-2H, OCH3-H+..., Br-H, ...
LIB_SHIFTS = np.array([14, 16, 18, 28, 30, 32, 34, 36, 42, 44, 46, 50, 60, 64, 78, 80])
#: shifts of the query analogs: none of them is in LIB_SHIFTS
QUERY_SHIFTS = np.array([12, 26, 40, 54, 68])
#: cut masses as fractions of the spectrum's m/z range
CUTS = np.array([0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
DEPTHS = (10, 50)


# ----------------------------------------------------------------------------------
# Library and queries
# ----------------------------------------------------------------------------------
def load_swgdrug():
    """Flat (mz, intensity, offsets) of SWGDRUG 3.9, read with fentid's MSP driver."""
    from fentid.drivers import read

    items = [s for s in read(SWGDRUG).items if s.axis.size]
    mz = np.concatenate([s.axis for s in items])
    it = np.concatenate([s.intensities for s in items])
    off = np.concatenate(([0], np.cumsum([s.axis.size for s in items])))
    return mz, it, off


def _ranges(starts, ends):
    lengths = ends - starts
    base = np.concatenate(([0], np.cumsum(lengths)))
    return np.arange(base[-1]) + np.repeat(starts - base[:-1], lengths)


def perturbed_variants(base, src, shift, cut_frac, seed):
    """Spectra ``k``: base ``src[k]``, peaks above the cut shifted by ``shift[k]``, perturbed.

    Vectorised over all ``src.size`` spectra.  Returns flat (mz, intensity, offsets).
    """
    bmz, bit, boff = base
    rng = np.random.default_rng(seed)
    n, nb = src.size, boff.size - 1
    bent = np.repeat(np.arange(nb), np.diff(boff))
    bmax = np.zeros(nb)
    np.maximum.at(bmax, bent, bit)
    lo, hi = bmz[boff[:-1]], bmz[boff[1:] - 1]
    idx = _ranges(boff[src], boff[src + 1])
    ent = np.repeat(np.arange(n), np.diff(boff)[src])
    cut = np.floor(lo[src] + cut_frac * (hi - lo)[src])
    mz = bmz[idx] + np.where(bmz[idx] > cut[ent], shift[ent], 0)
    rel = bit[idx] / bmax[bent[idx]]
    keep = (rel > 0.05) | (rng.random(idx.size) > 0.3)
    idx, ent, mz = idx[keep], ent[keep], mz[keep]
    it = bit[idx] * np.exp(rng.normal(0, 0.1, idx.size))
    extra = rng.integers(0, 6, n)
    eent = np.repeat(np.arange(n), extra)
    span = (hi - lo)[src][eent] + shift[eent]
    emz = np.floor(lo[src][eent] + rng.random(eent.size) * (span + 1))
    eit = rng.uniform(0.002, 0.03, eent.size) * bmax[src][eent]
    ent = np.concatenate((ent, eent))
    mz = np.concatenate((mz, emz))
    it = np.concatenate((it, eit))
    key = ent.astype(np.int64) * 1_000_000 + np.rint(mz * 100).astype(np.int64)
    order = np.argsort(key, kind="stable")
    key, ent, mz, it = key[order], ent[order], mz[order], it[order]
    first = np.r_[True, key[1:] != key[:-1]]  # an added peak on an existing mass: keep one
    ent, mz, it = ent[first], mz[first], it[first]
    off = np.concatenate(([0], np.cumsum(np.bincount(ent, minlength=n))))
    return mz, it, off


def split_bases(nb, seed=7):
    """(library bases, held-out bases) of the SWGDRUG spectra."""
    perm = np.random.default_rng(seed).permutation(nb)
    k = round(HELD_OUT * nb)
    return np.sort(perm[k:]), np.sort(perm[:k])


def make_library(base, n, seed):
    """``n`` entries: ``REPLICATE_COPIES`` of every library base, the rest analogs.

    Entries are shuffled, so the replicates of a base sit anywhere in the library.
    """
    nb = base[2].size - 1
    lib_bases, _ = split_bases(nb)
    rng = np.random.default_rng(seed)
    copies = np.tile(lib_bases, REPLICATE_COPIES)[:n]
    m = n - copies.size
    src = np.concatenate((copies, rng.choice(lib_bases, m)))
    shift = np.concatenate((np.zeros(copies.size), rng.choice(LIB_SHIFTS, m)))
    cut = np.concatenate((np.zeros(copies.size), rng.choice(CUTS, m)))
    perm = rng.permutation(n)
    return perturbed_variants(base, src[perm], shift[perm], cut[perm], seed + 1)


def make_queries(base, count, seed=12345):
    """``count`` queries of each kind: {kind: [PeakList]}."""
    nb = base[2].size - 1
    lib_bases, held = split_bases(nb)
    rng = np.random.default_rng(seed)
    out = {}
    for k, kind in enumerate(KINDS):
        pool = held if kind == "unrelated" else lib_bases
        src = rng.choice(pool, count, replace=False)
        shift = rng.choice(QUERY_SHIFTS, count) if kind == "analog" else np.zeros(count)
        cut = rng.choice(CUTS[:-1], count) if kind == "analog" else np.zeros(count)
        mz, it, off = perturbed_variants(base, src, shift.astype(float), cut, seed + 10 + k)
        out[kind] = [PeakList(mz[off[i]:off[i + 1]], it[off[i]:off[i + 1]])
                     for i in range(count)]
    return out


# ----------------------------------------------------------------------------------
# Engines
# ----------------------------------------------------------------------------------
def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def ours(index, algorithm, top, params):
    def run(q):
        return [(h.entry_index, h.score) for h in index.search(q, algorithm, top=top, **params)]
    return run


def compiled_scan(index, algorithm, top):
    """Every entry scored with the exact compiled walk, then ranked (the baseline)."""
    segs = index._segments
    mode = _NIST_MODES[algorithm]

    def run(q):
        qm, qc = sm.nist_preprocess(q.position, q.intensity)
        scores = np.concatenate([s.nist_many(qm, qc, np.arange(s.n), mode) for s in segs])
        idx, sc = _rank(np.arange(scores.size), scores, top)
        return list(zip(idx.tolist(), sc.tolist()))
    return run


def entropy_exact(index, top):
    """The unpruned window scan of every query peak (exact reference for entropy)."""
    seg = index._segments[0]
    defaults = (*sm._tolerance(ENTROPY_TOL, None), True, 0.01)

    def run(q):
        idx, sc = seg.entropy_scores(q, *defaults, top=None)
        idx, sc = _rank(idx, sc, top)
        return list(zip(idx.tolist(), sc.tolist()))
    return run


def flash_engine(lib, top):
    from ms_entropy import FlashEntropySearch

    mz, it, off = lib
    flash = FlashEntropySearch(max_ms2_tolerance_in_da=ENTROPY_TOL)
    flash.build_index([{"precursor_mz": 1e4, "peaks": np.c_[mz[off[k]:off[k + 1]],
                                                           it[off[k]:off[k + 1]]]}
                       for k in range(off.size - 1)],
                      precursor_ions_removal_da=None, min_ms2_difference_in_da=2 * ENTROPY_TOL)

    def run(q):
        peaks = np.c_[q.position, q.intensity].astype(np.float32)
        clean = flash.clean_spectrum_for_search(precursor_mz=1e4, peaks=peaks,
                                                precursor_ions_removal_da=None,
                                                min_ms2_difference_in_da=2 * ENTROPY_TOL)
        scores = flash.search(precursor_mz=1e4, peaks=clean, ms2_tolerance_in_da=ENTROPY_TOL,
                              method="open")["open_search"]
        idx, sc = _rank(np.arange(scores.size), scores, top)
        return list(zip(idx.tolist(), sc.tolist()))
    return run


def matchms_engine(lib, tol, top):
    from matchms import Spectrum
    from matchms.similarity import CosineGreedy

    mz, it, off = lib
    refs = [Spectrum(mz=mz[off[k]:off[k + 1]].astype(float),
                     intensities=it[off[k]:off[k + 1]].astype(float),
                     metadata={}, metadata_harmonization=False) for k in range(off.size - 1)]
    cg = CosineGreedy(tolerance=tol, mz_power=COSINE_POWERS[0],
                      intensity_power=COSINE_POWERS[1])

    def run(q):
        query = Spectrum(mz=q.position.astype(float), intensities=q.intensity.astype(float),
                         metadata={}, metadata_harmonization=False)
        scores = cg.matrix(refs, [query], progress_bar=False)["score"][:, 0]
        idx, sc = _rank(np.arange(scores.size), scores, top)
        return list(zip(idx.tolist(), sc.tolist()))
    return run


def same_top(got, expected, tol) -> bool:
    """Same entries in the same order, where entries whose scores tie within ``tol`` may swap."""
    if len(got) != len(expected):
        return False
    for (kg, sg), (ke, se) in zip(got, expected):
        if abs(sg - se) > tol:
            return False
        if kg != ke and not any(abs(s - sg) <= tol for k, s in expected if k == kg):
            return False
    return True


# ----------------------------------------------------------------------------------
# Measurement
# ----------------------------------------------------------------------------------
def pct(times_s) -> tuple[float, float, float]:
    t = np.asarray(times_s) * 1e3
    return float(np.median(t)), float(np.percentile(t, 90)), float(np.percentile(t, 99))


def race(queries, engines, verify=None):
    """Time every engine on every query, alternated per query.

    ``engines``: {name: fn(query) -> top list}; ``verify``: {label: (name, reference name,
    depth, tol)}, comparing the first ``depth`` hits (tol 0: identical lists).
    Returns ({name: {kind: [seconds]}}, {label: "agree/total"}).
    """
    times = {name: {kind: [] for kind in queries} for name in engines}
    warm = queries[KINDS[0]][-1]
    for fn in engines.values():  # compile (numba) and build lazy views outside the timing
        fn(warm)
    agree = {label: [0, 0] for label in (verify or {})}
    for kind, qs in queries.items():
        for q in qs:
            results = {}
            for name, fn in engines.items():
                dt, results[name] = timed(fn, q)
                times[name][kind].append(dt)
            for label, (name, ref, depth, tol) in (verify or {}).items():
                got, expected = results[name][:depth], results[ref][:depth]
                ok = got == expected if tol == 0 else same_top(got, expected, tol)
                agree[label][0] += ok
                agree[label][1] += 1
    return times, {k: f"{a}/{b}" for k, (a, b) in agree.items()}


def fmt_row(label, times, base=None):
    cells = [label]
    for kind in KINDS:
        if kind not in times:
            cells.append("-")
            continue
        med, p90, p99 = pct(times[kind])
        ratio = ""
        if base is not None and kind in base:
            ratio = f" ({np.median(base[kind]) / np.median(times[kind]):.1f}x)"
        cells.append(f"{med:.2f} / {p90:.2f} / {p99:.2f}{ratio}")
    return "| " + " | ".join(cells) + " |"


def bench_size(base, n, args, queries):
    out = []
    t0 = time.perf_counter()
    lib = make_library(base, n, seed=n)
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = SearchIndex.build(*lib)
    build_s = time.perf_counter() - t0
    out.append(f"\n### {n:,} entries ({lib[0].size:,} peaks; generated in {gen_s:.1f} s, "
               f"index built in {build_s:.1f} s)\n")
    out.append("median / p90 / p99 ms per query; (Nx) = baseline median / our median\n")
    out.append("| engine | " + " | ".join(KINDS) + " |")
    out.append("|---|---|---|---|")
    checks = []
    for algorithm in [a for a in ("identity", "reverse", "similarity") if a in args.algorithms]:
        engines = {f"ours top-{d}": ours(index, algorithm, d, {}) for d in DEPTHS}
        engines["compiled scan"] = compiled_scan(index, algorithm, max(DEPTHS))
        # the scan's top-50 cut to d is its top-d (same ranking)
        verify = {f"{algorithm} top-{d} = compiled scan": (f"ours top-{d}", "compiled scan",
                                                           d, 0) for d in DEPTHS}
        times, agree = race(queries, engines, verify)
        checks += [f"{k}: {v}" for k, v in agree.items()]
        for name, t in times.items():
            base_t = times["compiled scan"] if name != "compiled scan" else None
            out.append(fmt_row(f"{algorithm} {name}", t, base_t))
        print(f"# {n}: {algorithm} done", file=sys.stderr, flush=True)

    if "entropy" in args.algorithms:
        checks += bench_entropy(index, lib, n, args, queries, out)
    if "cosine" in args.algorithms:
        checks += bench_cosine(index, lib, n, args, queries, out)
    if checks:
        out.append("\nChecks: " + "; ".join(checks))
    return "\n".join(out)


def bench_entropy(index, lib, n, args, queries, out):
    checks = []
    index.search(queries["replicate"][0], "entropy", top=10)  # builds our entropy view
    engines = {f"ours top-{d}": ours(index, "entropy", d, {"tolerance_da": ENTROPY_TOL})
               for d in DEPTHS}
    verify = {}
    if args.verify:
        engines["exact scan (unpruned)"] = entropy_exact(index, max(DEPTHS))
        verify["entropy top-50 = unpruned scan"] = ("ours top-50", "exact scan (unpruned)",
                                                    50, 1e-6)
    flash_s = None
    if n <= args.flash_max:
        t0 = time.perf_counter()
        engines["FlashEntropySearch"] = flash_engine(lib, max(DEPTHS))
        flash_s = time.perf_counter() - t0
        verify["entropy top-10 = Flash top-10"] = ("ours top-10", "FlashEntropySearch", 10,
                                                   1e-5)
    times, agree = race(queries, engines, verify)
    base_t = times.get("FlashEntropySearch")
    for name, t in times.items():
        out.append(fmt_row(f"entropy {name}", t, base_t if name.startswith("ours") else None))
    checks += [f"{k}: {v}" for k, v in agree.items()]
    if flash_s is not None:
        checks.append(f"(FlashEntropySearch index build {flash_s:.1f} s)")
    del engines
    gc.collect()
    print(f"# {n}: entropy done", file=sys.stderr, flush=True)
    return checks


def bench_cosine(index, lib, n, args, queries, out):
    checks = []
    cq = {kind: qs[:args.cosine_queries] for kind, qs in queries.items()}
    have_matchms = _matchms_available(args)
    for tol in COSINE_TOLS:
        params = {"tolerance_da": tol}
        engines = {f"ours top-{d}": ours(index, "cosine", d, params) for d in DEPTHS}
        verify = {}
        if have_matchms and n <= args.matchms_max:
            engines["matchms CosineGreedy"] = matchms_engine(lib, tol, 10)
            verify[f"cosine {tol} Da top-10 = matchms top-10"] = (
                "ours top-10", "matchms CosineGreedy", 10, 1e-6)
        times, agree = race(cq, engines, verify)
        base_t = times.get("matchms CosineGreedy")
        for name, t in times.items():
            out.append(fmt_row(f"cosine {tol} Da {name}", t,
                               base_t if name.startswith("ours") else None))
        checks += [f"{k}: {v}" for k, v in agree.items()]
        if not have_matchms:
            checks.append("matchms not installed: cosine baseline not run")
        if args.verify and n <= args.brute_max:
            got = total = 0
            for qs in cq.values():
                for q in qs[:2]:
                    fast = index.search(q, "cosine", top=10, **params)
                    slow = brute_force_search(q, *lib, "cosine", 10, **params)
                    got += same_top([(h.entry_index, h.score) for h in fast],
                                    [(h.entry_index, h.score) for h in slow], 1e-9)
                    total += 1
            checks.append(f"cosine {tol} Da top-10 = brute_force_search: {got}/{total}")
        print(f"# {n}: cosine {tol} done", file=sys.stderr, flush=True)
    return checks


def _matchms_available(args) -> bool:
    if args.matchms_path:
        sys.path.insert(0, args.matchms_path)
    try:
        import matchms  # noqa: F401
    except ImportError:
        return False
    return True


# ----------------------------------------------------------------------------------
# The real path: library file -> fresh process -> LibrarySearcher
# ----------------------------------------------------------------------------------
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
import json, resource, statistics, sys, time
t0 = time.perf_counter()
import numpy as np
from fentid.components import Component
from fentid.searching import LibrarySearcher
from fentid.spectra.model import PeakList
q = np.load(sys.argv[2])
comps = [Component(name=str(k), peaks=PeakList(q["mz"][q["offsets"][k]:q["offsets"][k + 1]],
                                                q["intensity"][q["offsets"][k]:q["offsets"][k + 1]]))
         for k in range(q["offsets"].size - 1)]
t_imp = time.perf_counter()
with LibrarySearcher(sys.argv[1]) as searcher:
    searcher.search(comps[0], top=50)
    t1 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = []
    for comp in comps:
        t = time.perf_counter()
        searcher.search(comp, top=50)
        times.append(time.perf_counter() - t)
print(json.dumps({"open_first_s": t1 - t_imp, "rss_mb": rss,
                  "median_s": statistics.median(times)}))
"""


def bench_real_path(base, n, queries, workdir):
    """Identity top-50 through the library file, fresh process, against the in-memory index."""
    workdir = Path(workdir)
    lib = make_library(base, n, seed=n)
    np.savez(workdir / "lib.npz", mz=lib[0], intensity=lib[1], offsets=lib[2])
    flat = [q for qs in queries.values() for q in qs]
    qmz = np.concatenate([q.position for q in flat])
    qit = np.concatenate([q.intensity for q in flat])
    qoff = np.concatenate(([0], np.cumsum([q.position.size for q in flat])))
    np.savez(workdir / "queries.npz", mz=qmz, intensity=qit, offsets=qoff)
    path = workdir / "bench.fentid"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", WRITE_SCRIPT, str(path), str(workdir / "lib.npz")],
                   check=True)
    write_s = time.perf_counter() - t0
    (workdir / "lib.npz").unlink()
    res = subprocess.run([sys.executable, "-c", SEARCH_SCRIPT, str(path),
                          str(workdir / "queries.npz")], check=True, capture_output=True,
                         text=True).stdout
    row = json.loads(res.strip().splitlines()[-1])
    index = SearchIndex.build(*lib)
    mem = []
    for q in flat:
        mem.append(timed(index.search, q, "identity", 50)[0])
    row.update(n=n, write_s=write_s, file_mb=path.stat().st_size / 2**20,
               memory_median_s=float(np.median(mem)))
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000",
                        help="comma-separated library sizes (default 10000,100000)")
    parser.add_argument("--queries", type=int, default=20, help="queries of each kind")
    parser.add_argument("--cosine-queries", type=int, default=5,
                        help="cosine queries of each kind (matchms is slow)")
    parser.add_argument("--flash-max", type=int, default=100_000)
    parser.add_argument("--matchms-max", type=int, default=100_000)
    parser.add_argument("--matchms-path", default=None,
                        help="directory holding matchms (pip install --target DIR matchms)")
    parser.add_argument("--brute-max", type=int, default=10_000)
    parser.add_argument("--real-path", type=int, default=0, metavar="N",
                        help="also search a library file of N entries in a fresh process")
    parser.add_argument("--algorithms", default="identity,reverse,similarity,entropy,cosine",
                        help="comma-separated algorithms to measure (default: all)")
    parser.add_argument("--verify", action="store_true",
                        help="check every top list against the exact references")
    args = parser.parse_args(argv)
    args.algorithms = set(args.algorithms.split(","))
    sizes = [int(s) for s in args.sizes.split(",") if s]
    base = load_swgdrug()
    queries = make_queries(base, args.queries)
    print(f"## bench_search: {args.queries} queries of each kind "
          f"({args.cosine_queries} for cosine); libraries from SWGDRUG 3.9 with analog "
          f"families ({REPLICATE_COPIES} replicate copies per base, the rest analogs)")
    for n in sizes:
        print(bench_size(base, n, args, queries), flush=True)
        gc.collect()
    if args.real_path:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="bench_search_") as tmp:
            r = bench_real_path(base, args.real_path, queries, tmp)
        print(f"\nReal path at {r['n']:,} entries: file {r['file_mb']:.0f} MiB written in "
              f"{r['write_s']:.1f} s; fresh process: open + first identity top-50 search "
              f"{r['open_first_s']:.2f} s, peak RSS after it {r['rss_mb']:.0f} MiB; "
              f"LibrarySearcher identity top-50 median {r['median_s'] * 1e3:.2f} ms vs "
              f"in-memory index {r['memory_median_s'] * 1e3:.2f} ms "
              f"({r['median_s'] / r['memory_median_s']:.2f}x)")


if __name__ == "__main__":
    main()
