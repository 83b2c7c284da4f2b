"""Chromatogram building blocks for GC/LC-MS runs: centroiding, nominal binning, noise,
baseline, column-bleed removal and chromatographic peak detection.

All functions are vectorised over a whole run: a run is turned once into a dense
(scans x nominal masses) matrix, which for a 3,000-scan GC-MS run over m/z
35-550 is 12 MB of float64.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import ndimage, signal

from fentid.errors import ProcessingError
from fentid.spectra.centroid import (  # noqa: F401 (re-exported)
    NOMINAL_BOUNDARY,
    centroid_arrays,
    centroid_scan,
    nominal_mass,
    nominal_scan,
)

#: Polydimethylsiloxane column-bleed ions (EI), the classic 73/207/281/355/429 series.
BLEED_IONS = (73, 207, 281, 355, 429)
#: MAD -> standard deviation for a normal distribution.
_MAD_TO_SD = 1.4826


def nominal_matrix(offsets: np.ndarray, mz: np.ndarray, intensity: np.ndarray,
                   boundary: float = NOMINAL_BOUNDARY):
    """Sum centroided scans into a dense (scans x nominal masses) matrix.

    Parameters
    ----------
    offsets : ndarray of int64, shape (n_scans + 1,)
    mz, intensity : ndarray of float64, shape (n_points,)
    boundary : float
        See :func:`nominal_mass`.

    Returns
    -------
    masses : ndarray of int64, shape (n_masses,)
        Nominal masses that occur in the run, ascending.
    matrix : ndarray of float64, shape (n_scans, n_masses)
        Summed intensity per scan and nominal mass.
    """
    n_scans = offsets.size - 1
    if mz.size == 0:
        return np.zeros(0, np.int64), np.zeros((n_scans, 0))
    nominal = nominal_mass(mz, boundary)
    masses, column = np.unique(nominal, return_inverse=True)
    row = np.repeat(np.arange(n_scans), np.diff(offsets))
    flat = np.bincount(row * masses.size + column, weights=intensity,
                       minlength=n_scans * masses.size)
    return masses, flat.reshape(n_scans, masses.size)


def noise_sd(matrix: np.ndarray, floor: float | None = None) -> np.ndarray:
    """Noise standard deviation of each column from the MAD of first differences.

    Differences remove slow baseline drift, and the median ignores the few
    points inside chromatographic peaks, so this estimates the scan-to-scan
    noise of each extracted-ion chromatogram (AMDIS does the same in spirit).

    Parameters
    ----------
    matrix : ndarray, shape (n_scans, n_columns)
    floor : float, optional
        Lowest value returned (columns that are mostly zero have MAD 0);
        default: 5 % of the median non-zero column noise, at least 1e-12.

    Returns
    -------
    ndarray, shape (n_columns,)
    """
    if matrix.shape[0] < 3:
        return np.full(matrix.shape[1], 1.0 if floor is None else floor)
    diffs = np.abs(np.diff(matrix, axis=0))
    sd = np.median(diffs, axis=0) * _MAD_TO_SD / np.sqrt(2.0)
    # sparse EICs (an ion seen in a few scans) have MAD 0: use the mean absolute step
    zero = sd <= 0
    if zero.any():
        sd[zero] = diffs[:, zero].mean(axis=0) * np.sqrt(np.pi / 2) / np.sqrt(2.0)
    if floor is None:
        positive = sd[sd > 0]
        floor = max(0.05 * float(np.median(positive)) if positive.size else 1.0, 1e-12)
    return np.maximum(sd, floor)


def baseline(matrix: np.ndarray, window_scans: int) -> np.ndarray:
    """Slowly varying background of each column (morphological opening, then smoothing).

    The opening (minimum then maximum filter over ``window_scans``) removes
    every feature narrower than the window - chromatographic peaks - and keeps
    the background: column bleed, air/water ions, solvent tail.

    Parameters
    ----------
    matrix : ndarray, shape (n_scans, n_columns)
    window_scans : int
        Wider than the widest chromatographic peak, in scans.

    Returns
    -------
    ndarray, same shape
    """
    window = max(3, int(window_scans) | 1)
    if matrix.shape[0] < window:
        return np.repeat(matrix.min(axis=0, keepdims=True), matrix.shape[0], axis=0)
    opened = ndimage.minimum_filter1d(matrix, window, axis=0, mode="nearest")
    opened = ndimage.maximum_filter1d(opened, window, axis=0, mode="nearest")
    return ndimage.uniform_filter1d(opened, max(3, window // 2) | 1, axis=0, mode="nearest")


def segment_breaks(tic: np.ndarray, factor: float = 3.0, run_scans: int = 5) -> np.ndarray:
    """Scan indices where the acquisition changes level (time segments of the method).

    GC-MS methods switch scan ranges, SIM groups or thresholds at set times;
    the TIC then jumps by a large factor and stays there. A break is placed
    after scan ``i`` when the background levels (10th percentiles) of the
    ``run_scans`` scans before and after differ by more than ``factor`` and
    the TIC itself steps at ``i`` (a chromatographic peak rises over several
    scans, not one). Choose ``run_scans`` about twice the widest peak.

    Returns
    -------
    ndarray of int
        Start index of every segment after the first.
    """
    n = tic.size
    if n < 2 * run_scans + 2:
        return np.zeros(0, np.int64)
    level = np.log(np.maximum(tic, 0) + 1.0)
    step = np.abs(np.diff(level))
    windows = np.lib.stride_tricks.sliding_window_view(level, run_scans)
    # low quantile = background level; peaks on either side do not move it
    med = np.quantile(windows, 0.1, axis=1)  # med[j]: of level[j:j+run_scans]
    i = np.arange(run_scans - 1, n - run_scans)  # break between i and i+1
    jump = np.abs(med[i + 1] - med[i - run_scans + 1])
    big = (jump > np.log(factor)) & (step[i] > 0.5 * np.log(factor))
    breaks = i[big] + 1
    # one break per step: keep the largest step in each run of neighbours
    keep = []
    for b in breaks:
        if keep and b - keep[-1] <= run_scans:
            if step[b - 1] > step[keep[-1] - 1]:
                keep[-1] = b
            continue
        keep.append(int(b))
    return np.asarray(keep, dtype=np.int64)


def segmented_baseline(matrix: np.ndarray, window_scans: int, breaks: np.ndarray) -> np.ndarray:
    """:func:`baseline` computed separately in each acquisition segment."""
    edges = np.r_[0, breaks, matrix.shape[0]].astype(int)
    out = np.empty_like(matrix)
    for lo, hi in itertools.pairwise(edges):
        out[lo:hi] = baseline(matrix[lo:hi], window_scans)
    return out


def bleed_columns(masses: np.ndarray, matrix: np.ndarray, background: np.ndarray,
                  ions=BLEED_IONS, min_fraction: float = 0.5) -> np.ndarray:
    """Columns that are column bleed: siloxane ions whose signal tracks the baseline.

    A bleed ion rises with oven temperature as a slow background; a
    siloxane-containing analyte (rare in drug work) gives peaks instead.
    An ion of ``ions`` is bleed when its background accounts for at least
    ``min_fraction`` of its total signal.

    Returns
    -------
    ndarray of bool, shape (n_masses,)
    """
    total = matrix.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(total > 0, background.sum(axis=0) / total, 0.0)
    return np.isin(masses, np.asarray(ions)) & (fraction >= min_fraction)


def find_chromatographic_peaks(trace: np.ndarray, noise: float, snr: float = 10.0,
                               min_distance_scans: int = 2) -> np.ndarray:
    """Apex scan indices of peaks in one chromatogram (TIC or EIC).

    Parameters
    ----------
    trace : ndarray, shape (n_scans,)
        Baseline-corrected chromatogram.
    noise : float
        Noise standard deviation of ``trace``.
    snr : float
        Minimum prominence in units of ``noise``.
    min_distance_scans : int
        Closest two apexes may be.

    Returns
    -------
    ndarray of int
    """
    if trace.ndim != 1:
        raise ProcessingError("a chromatogram must be 1-D")
    peaks, _ = signal.find_peaks(trace, prominence=snr * noise,
                                 distance=max(1, min_distance_scans))
    return peaks


def local_maxima(smoothed: np.ndarray, threshold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scan and column of every EIC apex above ``threshold`` (vectorised over columns).

    Parameters
    ----------
    smoothed : ndarray, shape (n_scans, n_columns)
    threshold : ndarray, shape (n_columns,)

    Returns
    -------
    scans, columns : ndarray of int
    """
    s = smoothed
    if s.shape[0] < 3:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    core = s[1:-1]
    mask = (core > s[:-2]) & (core >= s[2:]) & (core > threshold[None, :])
    scans, cols = np.nonzero(mask)
    return scans + 1, cols
