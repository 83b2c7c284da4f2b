"""MSP reading: fentid's driver against a naive pure-Python line parser (the baseline).

There is no MSP reader in pyteomics, and matchms is not a dependency, so the
baseline is the parser most scripts contain: read line by line, ``Key: value``
into a dict, split peak lines on ``;`` and whitespace, ``float()`` each number,
one pair of numpy arrays per record at the blank line.  It handles less than
fentid does (no brackets, quotes, latin-1, bad-record reports) and builds no
``Spectrum`` objects, so the ratio understates fentid's advantage.

Both readers run on SWGDRUG39.msp (3,430 EI spectra, 3.7 MB) in the same
process, alternating; peaks are checked identical before timing.  Prints median wall time
over ``--repeat`` runs, spectra/s and MB/s for both, and the ratio
(baseline time / fentid time).

Usage::

    python benchmarks/bench_msp_read.py [--repeat 7] [--file PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FENTID_SHARED_DATA", ROOT.parent / "shared" / "data"))
SWGDRUG39 = DATA / "ms/SWGDRUG-3.9_NIST-MS_conversion_tools/SWGDRUG39.msp"


def read_naive(path) -> list[tuple[dict, np.ndarray, np.ndarray]]:
    """The baseline: a straightforward line-by-line MSP parser."""
    records, meta, mz, inten = [], {}, [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                if meta:
                    records.append((meta, np.array(mz), np.array(inten)))
                    meta, mz, inten = {}, [], []
                continue
            if line[0].isdigit():
                for pair in line.split(";"):
                    parts = pair.split()
                    if len(parts) >= 2:
                        mz.append(float(parts[0]))
                        inten.append(float(parts[1]))
            elif ":" in line:
                key, value = line.split(":", 1)
                meta[key.strip().lower()] = value.strip()
    if meta:
        records.append((meta, np.array(mz), np.array(inten)))
    return records


def read_fentid(path):
    from fentid.drivers import msp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return msp.read(Path(path))


def _median_seconds(fns, path, repeat: int) -> list[float]:
    """Median wall time of each reader; runs alternate so load changes hit both alike."""
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, bucket in zip(fns, times):
            start = time.perf_counter()
            fn(path)
            bucket.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--file", type=Path, default=SWGDRUG39)
    args = parser.parse_args()

    ours, naive = read_fentid(args.file), read_naive(args.file)
    if len(ours.items) != len(naive):
        raise SystemExit(f"readers disagree: {len(ours.items)} vs {len(naive)} spectra")
    for spec, (_, mz, inten) in zip(ours.items, naive):
        order = np.argsort(mz, kind="stable")
        if not (np.array_equal(spec.axis, mz[order])
                and np.array_equal(spec.intensities, inten[order])):
            raise SystemExit(f"peaks differ for {spec.metadata['name']!r}")

    n, mb = len(naive), args.file.stat().st_size / 1e6
    t_naive, t_ours = _median_seconds((read_naive, read_fentid), args.file, args.repeat)
    print(f"{args.file.name}: {n} spectra, {mb:.2f} MB, median of {args.repeat} runs")
    print(f"  naive line parser (baseline): {t_naive * 1e3:8.1f} ms  {n / t_naive:9.0f} "
          f"spectra/s  {mb / t_naive:6.1f} MB/s")
    print(f"  fentid msp driver:            {t_ours * 1e3:8.1f} ms  {n / t_ours:9.0f} "
          f"spectra/s  {mb / t_ours:6.1f} MB/s")
    print(f"  ratio (baseline / fentid): {t_naive / t_ours:.2f}x")


if __name__ == "__main__":
    main()
