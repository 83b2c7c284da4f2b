"""mzML reading: fentid's streaming scanner against pyteomics (the baseline), same files.

Prints, per file, the median wall time of reading every spectrum's arrays,
throughput in MB/s and spectra/s for both readers, and the ratio
(pyteomics time / fentid time; target >= 2). Arrays are checked identical
(dtype and values) before timing. pyteomics runs offline: psims' vendored
ontology, ``obo_cache.use_remote = False``.

Then it writes a ~1 GB synthetic profile mzML under a temporary folder
(``make_big_mzml.py``), reads it in a fresh subprocess with
``fentid.drivers.mzml.iter_spectra`` and reports the peak resident memory
(VmHWM; target < 300 MB), and deletes the file.

Usage::

    python benchmarks/bench_mzml_read.py [--repeat 5] [--big-gb 1.0] [--medium-mb 64]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
DATA = Path(os.environ.get("FENTID_SHARED_DATA", ROOT.parent / "shared" / "data"))
REAL = DATA / "formats/mzml/mzdata/small.mzML"

from make_big_mzml import write_big_mzml


def _pyteomics():
    from psims.controlled_vocabulary.controlled_vocabulary import obo_cache

    obo_cache.use_remote = False  # no network, ever
    from pyteomics import mzml

    return mzml


def read_pyteomics(path) -> list[tuple[np.ndarray, np.ndarray]]:
    mzml = _pyteomics()
    with mzml.MzML(str(path)) as reader:
        return [(s["m/z array"], s["intensity array"]) for s in reader]


def read_fentid(path) -> list[tuple[np.ndarray, np.ndarray]]:
    from fentid.drivers._mzml_fast import iter_records

    return [(r.mz, r.intensity) for r in iter_records(path)]


def _check_identical(path) -> int:
    ours, ref = read_fentid(path), read_pyteomics(path)
    if len(ours) != len(ref):
        raise SystemExit(f"{path}: {len(ours)} spectra vs pyteomics {len(ref)}")
    for (a, b), (c, d) in zip(ours, ref):
        if not (a.dtype == c.dtype and b.dtype == d.dtype
                and np.array_equal(a, c) and np.array_equal(b, d)):
            raise SystemExit(f"{path}: arrays differ from pyteomics")
    return len(ours)


def _median_time(fn, path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(path)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def throughput(path: Path, repeat: int) -> None:
    n = _check_identical(path)
    mb = path.stat().st_size / 1e6
    t_ours = _median_time(read_fentid, path, repeat)
    t_ref = _median_time(read_pyteomics, path, repeat)
    print(f"{path.name}: {mb:.1f} MB, {n} spectra, arrays identical to pyteomics: yes")
    for label, t in (("fentid  ", t_ours), ("pyteomics", t_ref)):
        print(f"  {label} median {t * 1e3:8.1f} ms  {mb / t:8.1f} MB/s  {n / t:9.1f} spectra/s")
    print(f"  ratio pyteomics/fentid: {t_ref / t_ours:.2f}x (target >= 2x)")


# Peak RSS from /proc/self/status VmHWM: unlike ru_maxrss, it belongs to the new address
# space after exec, so it does not inherit the (large) RSS of this parent process.
_PEAK_RSS = """
def peak_rss_mb():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

_MEMORY_CODE = _PEAK_RSS + """
import sys, time
from fentid.drivers.mzml import iter_spectra
t0 = time.perf_counter(); n = pts = 0
for s in iter_spectra(sys.argv[1]):
    n += 1; pts += len(s)
dt = time.perf_counter() - t0
print(n, pts, dt, peak_rss_mb())
"""

_BASELINE_CODE = _PEAK_RSS + """
import fentid.drivers.mzml
print(peak_rss_mb())
"""


def peak_memory(size_gb: float, keep_dir: str | None) -> None:
    tmp = tempfile.mkdtemp(prefix="fentid_bigmzml_", dir=keep_dir or "/tmp")
    path = Path(tmp) / "big_profile.mzML"
    try:
        t0 = time.perf_counter()
        n = write_big_mzml(path, int(size_gb * (1 << 30)))
        size_mb = path.stat().st_size / 1e6
        print(f"\ngenerated {path} ({size_mb:.0f} MB, {n} profile spectra) in "
              f"{time.perf_counter() - t0:.1f} s")
        base = float(subprocess.run([sys.executable, "-c", _BASELINE_CODE], check=True,
                                    capture_output=True, text=True).stdout)
        out = subprocess.run([sys.executable, "-c", _MEMORY_CODE, str(path)], check=True,
                             capture_output=True, text=True).stdout.split()
        count, points, secs, rss = int(out[0]), int(out[1]), float(out[2]), float(out[3])
        print(f"  iter_spectra: {count} spectra, {points} points in {secs:.1f} s "
              f"({size_mb / secs:.0f} MB/s)")
        print(f"  peak RSS {rss:.0f} MB (interpreter + imports alone: {base:.0f} MB); "
              f"target < 300 MB")
    finally:
        shutil.rmtree(tmp)
        print(f"  deleted {tmp}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--medium-mb", type=float, default=64,
                        help="also compare on a generated profile file of this size (0: skip)")
    parser.add_argument("--big-gb", type=float, default=1.0,
                        help="size of the generated file for the memory test (0: skip)")
    parser.add_argument("--tmp", default=None, help="folder for generated files (default /tmp)")
    args = parser.parse_args()
    throughput(REAL, args.repeat)
    if args.medium_mb:
        tmp = tempfile.mkdtemp(prefix="fentid_medmzml_", dir=args.tmp or "/tmp")
        try:
            path = Path(tmp) / "medium_profile.mzML"
            write_big_mzml(path, int(args.medium_mb * 1e6))
            throughput(path, max(1, args.repeat // 2))
        finally:
            shutil.rmtree(tmp)
    if args.big_gb:
        peak_memory(args.big_gb, args.tmp)


if __name__ == "__main__":
    main()
