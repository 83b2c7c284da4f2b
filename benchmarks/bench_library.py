"""Reference-library benchmarks (issue 4): import, open-for-search and add-one at 1M spectra.

Run: ``python benchmarks/bench_library.py [--n 1000000] [--workdir /tmp]``

Prints medians and ratios against baselines measured in the same run:

* SWGDRUG39.msp import (target < 10 s) vs. the MSP driver's parse alone.
* A generated library of N EI spectra (perturbed SWGDRUG copies, generated as arrays):
  open for search (``Library.open`` + ``search_index("ei")``, target < 2 s) and its peak RSS,
  measured in a fresh process; vs. rebuilding the index from the peaks.
* Adding one spectrum (copy + append + new index segment + replace, target < 5 s) vs. the
  naive alternative of rebuilding the index from all peaks.
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FENTID_SHARED_DATA", ROOT.parent / "shared" / "data"))
SWGDRUG = DATA / "ms" / "SWGDRUG-3.9_NIST-MS_conversion_tools" / "SWGDRUG39.msp"


def median_time(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_import(workdir: Path) -> None:
    from fentid import drivers
    from fentid.curation import import_sources
    from fentid.reference_library import create

    parse = median_time(lambda: drivers.read(SWGDRUG))
    counter = iter(range(100))

    def run():
        path = workdir / f"swg{next(counter)}.h5"
        create(path)
        report = import_sources(path, [SWGDRUG])
        assert report.imported == 3430
        path.unlink()

    full = median_time(run)
    print(f"SWGDRUG39 import (3430 spectra): median {full:.2f} s (target < 10 s); "
          f"MSP parse alone {parse:.2f} s; import/parse = {full / parse:.1f}x")


def generate(path: Path, n: int, seed: int = 0) -> None:
    """Write a library of ``n`` perturbed SWGDRUG EI spectra (vectorised, no per-peak objects).

    Perturbation: each copy's intensities get 10 % log-normal noise and its peaks below 2 % of
    the base peak are dropped with probability 0.3 (the base peak is always kept).
    """
    from fentid import drivers
    from fentid.reference_library import create, edit

    items = drivers.read(SWGDRUG).items
    counts = np.array([len(s.axis) for s in items])
    mz = np.concatenate([s.axis for s in items]).astype(np.float32)
    inten = np.concatenate([s.intensities for s in items]).astype(np.float32)
    starts = np.concatenate(([0], np.cumsum(counts)))
    rng = np.random.default_rng(seed)
    src = np.arange(n) % len(items)
    lengths = counts[src]
    # gather every copy's peaks in one go
    first = np.repeat(starts[src], lengths)
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    take = first + within
    del first, within
    pos = mz[take]
    val = inten[take] * rng.lognormal(0.0, 0.1, take.size).astype(np.float32)
    entry = np.repeat(np.arange(n), lengths)
    base = np.maximum.reduceat(val, np.concatenate(([0], np.cumsum(lengths)[:-1])))
    small = val < 0.02 * base[entry]
    keep = ~(small & (rng.random(take.size) < 0.3))
    del take, small
    pos, val, entry = pos[keep], val[keep], entry[keep]
    offsets = np.concatenate(([0], np.cumsum(np.bincount(entry, minlength=n))))
    del entry, keep
    create(path, name=f"generated {n}")
    with edit(path, curator="bench") as w:
        compounds = {c["inchikey"]: i for i, c in enumerate(w.compounds())}
        comp = np.array([compounds.get(s.metadata.get("inchikey") or "", 0) for s in items])
        w.add_entries("ei", pos, val, offsets,
                      {"compound": comp[src], "source": "generated from SWGDRUG39.msp",
                       "source_record": src + 1})


OPEN_SCRIPT = """
import sys, time

def peak_rss_mib():
    # VmHWM starts afresh at exec (ru_maxrss would include the parent's peak before fork)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

t0 = time.perf_counter()
from fentid.reference_library import Library
lib = Library.open(sys.argv[1])
index = lib.search_index("ei")
t1 = time.perf_counter()
rss_open = peak_rss_mib()
query = lib.entry_peaklist(int(sys.argv[2]))
t2 = time.perf_counter()
hits = index.search(query, algorithm="identity", top=10)
t3 = time.perf_counter()
rss = peak_rss_mib()
print(t1 - t0, t3 - t2, rss_open, rss, hits[0].score)
"""


def bench_open(path: Path, n: int) -> None:
    runs = []
    for k in range(3):
        out = subprocess.run([sys.executable, "-c", OPEN_SCRIPT, str(path), str(1 + 7 * k)],
                             capture_output=True, text=True, check=True).stdout.split()
        runs.append([float(v) for v in out])
    t_open = statistics.median(r[0] for r in runs)
    t_search = statistics.median(r[1] for r in runs)
    rss_open = statistics.median(r[2] for r in runs)
    rss = statistics.median(r[3] for r in runs)
    size = path.stat().st_size / 2**20
    from fentid.reference_library import Library, search

    with Library.open(path) as lib:
        pos, inten, offsets = lib.peaks("ei")
    peak_mb = (pos.nbytes + inten.nbytes + offsets.nbytes) / 2**20
    t0 = time.perf_counter()
    search.SearchIndex.build(pos.astype(np.float64), inten.astype(np.float64), offsets)
    rebuild = time.perf_counter() - t0
    del pos, inten, offsets
    print(f"open {n:,}-spectrum library for search (fresh process, incl. imports): median "
          f"{t_open:.2f} s (target < 2 s); peak RSS after open {rss_open:.0f} MiB "
          f"(file {size:.0f} MiB, peak arrays {peak_mb:.0f} MiB); after one identity "
          f"top-10 search {t_search * 1e3:.0f} ms: {rss:.0f} MiB")
    print(f"  baseline: rebuilding the index from the peaks instead {rebuild:.1f} s; "
          f"rebuild/open = {rebuild / t_open:.1f}x")
    return rebuild


def bench_add(path: Path, rebuild: float) -> None:
    from fentid.reference_library import Library, edit

    with Library.open(path) as lib:
        query = lib.entry_peaklist(5)

    def add():
        with edit(path, curator="bench") as w:
            w.add_entries("ei", query.position, query.intensity, [0, len(query)],
                          {"compound": [0], "source": "bench add"})

    t_copy = median_time(lambda: _copy_only(path))
    t_add = median_time(add)
    print(f"add one spectrum to the library: median {t_add:.2f} s (target < 5 s); of which "
          f"the copy of the file alone {t_copy:.2f} s; baseline naive index rebuild "
          f"{rebuild:.1f} s, rebuild/add = {rebuild / t_add:.1f}x")
    with Library.open(path) as lib:
        assert lib.search_index("ei").n_entries == lib.entry_columns("ei")["entry_id"].size


def _copy_only(path: Path) -> None:
    import shutil

    tmp = path.with_suffix(".copy")
    shutil.copyfile(path, tmp)
    tmp.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    parser.add_argument("--keep", action="store_true", help="keep the generated library")
    parser.add_argument("--skip-import", action="store_true", help="skip the SWGDRUG import")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="fentid-bench-", dir=args.workdir))
    if not args.skip_import:
        bench_import(workdir)
    path = workdir / f"generated_{args.n}.h5"
    t0 = time.perf_counter()
    generate(path, args.n)
    print(f"generated {args.n:,} spectra in {time.perf_counter() - t0:.1f} s "
          f"({path.stat().st_size / 2**20:.0f} MiB)")
    rebuild = bench_open(path, args.n)
    bench_add(path, rebuild)
    if not args.keep:
        for p in workdir.iterdir():
            p.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
