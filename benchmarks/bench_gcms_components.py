"""GC-MS run (~3,000 scans) to component spectra: fentid vs a naive per-scan Python loop.

Inputs (real data, ../shared/data/formats):

* ``P071``: the first 3,000 scans of netcdf_andi/P071.CDF (gasoline, GC-EI-MS,
  hundreds of components) - a real run, not tiled;
* ``yellow x3``: agilent_d/yellow.D data.ms (1,307 scans) tiled three times
  in time (3,921 scans) - a run with few, large components.

Baseline: the same algorithm written the straightforward way - points binned
scan by scan in Python, baseline and noise by a per-scan sliding window,
ion apexes found scan by scan, and every ion of every component fitted with
``scipy.optimize.nnls``. Both are timed in this run; the script prints the
median of several repetitions and the ratio. Target: fentid under 2 s.

Run: ``python benchmarks/bench_gcms_components.py``
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy import optimize

from fentid.drivers import read
from fentid.spectra import chromatography as chrom
from fentid.spectra import deconvolution as deconv
from fentid.spectra import gcms
from fentid.spectra.model import Run

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "formats"


def first_scans(run: Run, n: int) -> Run:
    stop = run.offsets[n]
    return Run(run.retention_time_s[:n], run.offsets[:n + 1], run.mz[:stop],
               run.intensity[:stop], metadata=run.metadata)


def tiled(run: Run, times: int) -> Run:
    span = run.retention_time_s[-1] - run.retention_time_s[0] + 1.0
    counts = np.tile(np.diff(run.offsets), times)
    offsets = np.r_[0, np.cumsum(counts)]
    rt = np.concatenate([run.retention_time_s + k * span for k in range(times)])
    return Run(rt, offsets, np.tile(run.mz, times), np.tile(run.intensity, times),
               metadata=run.metadata)


# --- the naive baseline ------------------------------------------------------------------

def naive_components(run: Run, baseline_window_s=30.0, max_peak_half_width_s=15.0,
                     ion_snr=5.0, tic_snr=10.0, component_snr=10.0, min_ions=3):
    """Same steps as gcms.extract_components, written as per-scan / per-ion loops."""
    n = run.n_scans
    lo_mass = int(chrom.nominal_mass(run.mz.min()))
    hi_mass = int(chrom.nominal_mass(run.mz.max()))
    matrix = np.zeros((n, hi_mass - lo_mass + 1))
    for i in range(n):  # bin scan by scan, point by point
        mz, inten = run.scan(i)
        for m, v in zip(mz, inten, strict=True):
            matrix[i, int(np.ceil(m - chrom.NOMINAL_BOUNDARY)) - lo_mass] += v
    present = matrix.any(axis=0)
    masses = np.arange(lo_mass, hi_mass + 1)[present]
    matrix = matrix[:, present]
    interval = float(np.median(np.diff(run.retention_time_s)))
    w = max(3, round(baseline_window_s / interval) | 1)
    half = w // 2
    opened = np.empty_like(matrix)
    for i in range(n):  # sliding-window opening, one scan at a time
        opened[i] = matrix[max(0, i - half):i + half + 1].min(axis=0)
    closed = np.empty_like(matrix)
    for i in range(n):
        closed[i] = opened[max(0, i - half):i + half + 1].max(axis=0)
    background = np.empty_like(matrix)
    q = max(3, w // 2) | 1
    for i in range(n):
        background[i] = closed[max(0, i - q // 2):i + q // 2 + 1].mean(axis=0)
    bleed = chrom.bleed_columns(masses, matrix, background)
    corrected = (matrix - background)[:, ~bleed]
    masses = masses[~bleed]
    noise = chrom.noise_sd(corrected)
    smoothed = np.empty_like(corrected)
    for i in range(n):
        smoothed[i] = corrected[max(0, i - 1):i + 2].mean(axis=0)
    scans, cols = [], []
    for i in range(1, n - 1):  # apexes, scan by scan
        s = smoothed[i]
        ok = (s > smoothed[i - 1]) & (s >= smoothed[i + 1]) & (s > ion_snr * noise) \
            & (corrected[i - 1] > noise) & (corrected[i] > noise) & (corrected[i + 1] > noise)
        for c in np.flatnonzero(ok):
            scans.append(i)
            cols.append(c)
    scans, cols = np.array(scans, dtype=np.int64), np.array(cols, dtype=np.int64)
    tic = corrected.sum(axis=1)
    tic_noise = float(chrom.noise_sd(tic[:, None])[0])
    candidates = deconv.candidate_scans(scans, n, deconv.smooth(tic[:, None])[:, 0], tic_noise,
                                        min(min_ions, masses.size), tic_snr)
    half_width = max(2, round(max_peak_half_width_s / interval))
    models = deconv.build_models(corrected, smoothed, noise, candidates, scans, cols, tic,
                                 half_width, 0.98)
    models = [m for m in models if m.column < 0
              or smoothed[m.apex, m.column] / noise[m.column] >= component_snr]
    out = []
    for k, model in enumerate(models):  # every ion fitted on its own
        members = [models[j] for j in deconv.neighbours(models, k)]
        lo, hi = model.start, model.stop
        design = np.zeros((hi - lo, len(members) + 1))
        for i, m in enumerate(members):
            a, b = max(m.start, lo), min(m.stop, hi)
            design[a - lo:b - lo, i] = m.shape[a - m.start:b - m.start]
        design[:, -1] = 1.0
        spectrum = [optimize.nnls(design, corrected[lo:hi, j])[0][0]
                    for j in range(masses.size)]
        out.append((float(run.retention_time_s[model.apex]), np.array(spectrum)))
    return out


def median_time(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    p071 = first_scans(read(DATA / "netcdf_andi/P071.CDF").items[0], 3000)
    yellow = read(DATA / "agilent_d/yellow.D").items[0]
    cases = {"P071 first 3000 scans": p071, "yellow.D data.ms x3": tiled(yellow, 3)}
    print(f"{'run':<24} {'scans':>6} {'fentid s':>9} {'naive s':>9} {'ratio':>7} "
          f"{'comps':>6} {'naive comps':>11}")
    for name, run in cases.items():
        fast, comps = median_time(lambda run=run: gcms.extract_components(run), 7)
        slow, naive = median_time(lambda run=run: naive_components(run), 3)
        print(f"{name:<24} {run.n_scans:>6} {fast:>9.3f} {slow:>9.3f} {slow / fast:>6.1f}x "
              f"{len(comps):>6} {len(naive):>11}")
    print("target: fentid under 2 s per ~3,000-scan run; "
          "baseline: naive per-scan Python loop (same algorithm)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
