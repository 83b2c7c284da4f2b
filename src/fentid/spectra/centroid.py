"""Centroiding and nominal-mass binning of MS scans: numpy only, cheap to import.

Used by single-spectrum processing (:mod:`fentid.spectra.ms_peaks`) and by the GC/LC-MS
chromatography (:mod:`fentid.spectra.chromatography`), which re-exports these names.
"""

from __future__ import annotations

import numpy as np

#: Runs with fewer MS1 scans have no chromatography: each scan is one component.
MIN_SCANS = 5

#: NIST/AMDIS nominal-mass bin boundary: m/z in (n - 0.351, n + 0.649] belongs to n,
#: because organic ions have a positive mass defect that grows with mass.
NOMINAL_BOUNDARY = 0.649


def nominal_mass(mz, boundary: float = NOMINAL_BOUNDARY) -> np.ndarray:
    """Nominal (integer) mass of each m/z: ``ceil(mz - boundary)``.

    Parameters
    ----------
    mz : array_like of float
        m/z values.
    boundary : float
        Fractional m/z where one nominal bin ends and the next starts
        (0.649 as in NIST MS Search and AMDIS; 0.5 is plain rounding).

    Returns
    -------
    ndarray of int64
    """
    return np.ceil(np.asarray(mz, dtype=np.float64) - boundary).astype(np.int64)


def centroid_arrays(offsets: np.ndarray, mz: np.ndarray, intensity: np.ndarray,
                    max_gap_da: float = 0.5):
    """Profile to centroid for concatenated scans, vectorised over all scans.

    Each local maximum of a profile scan becomes one centroid: position is the
    intensity-weighted mean m/z of the maximum and its two neighbours, and
    intensity their sum (proportional to the peak area for evenly sampled
    profiles, the convention of vendor centroiders).

    Parameters
    ----------
    offsets : ndarray of int64, shape (n_scans + 1,)
    mz, intensity : ndarray of float64, shape (n_points,)
        Profile points, m/z ascending within each scan.
    max_gap_da : float
        Neighbours farther than this in m/z (a gap in the profile) do not count.

    Returns
    -------
    offsets, mz, intensity : ndarray
        Centroided scans in the same layout.
    """
    n = mz.size
    counts = np.diff(offsets)
    if n == 0:
        return offsets.copy(), mz.copy(), intensity.copy()
    scan = np.repeat(np.arange(counts.size), counts)
    same = (scan[1:] == scan[:-1]) & (np.diff(mz) <= max_gap_da)
    has_left = np.r_[False, same]
    has_right = np.r_[same, False]
    left = np.where(has_left, np.r_[0.0, intensity[:-1]], 0.0)
    right = np.where(has_right, np.r_[intensity[1:], 0.0], 0.0)
    is_peak = (intensity > 0) & (intensity > left) & (intensity >= right)
    mz_left = np.r_[mz[0], mz[:-1]]
    mz_right = np.r_[mz[1:], mz[-1]]
    total = left + intensity + right
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = (mz_left * left + mz * intensity + mz_right * right) / total
    keep = np.flatnonzero(is_peak)
    new_counts = np.bincount(scan[keep], minlength=counts.size)
    new_offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(new_counts, out=new_offsets[1:])
    return new_offsets, centre[keep], total[keep]


def centroid_scan(mz: np.ndarray, intensity: np.ndarray, max_gap_da: float = 0.5):
    """Profile to centroid for one scan, for readers that centroid while streaming.

    Bit-identical to the same scan's part of :func:`centroid_arrays` on a
    whole run (that function never looks across scan boundaries), so a
    reader may centroid scan by scan and keep only the centroids.

    Parameters
    ----------
    mz, intensity : ndarray of float64, shape (n_points,)
        One profile scan, m/z ascending.
    max_gap_da : float
        See :func:`centroid_arrays`.

    Returns
    -------
    mz, intensity : ndarray of float64, shape (n_centroids,)
    """
    _, c_mz, c_int = centroid_arrays(np.array([0, mz.size], dtype=np.int64), mz, intensity,
                                     max_gap_da)
    return c_mz, c_int


def nominal_scan(mz: np.ndarray, intensity: np.ndarray, boundary: float = NOMINAL_BOUNDARY):
    """Sum one centroided scan into nominal masses, for readers that bin while streaming.

    Each nominal mass's sum adds the same values in the same order as that
    scan's row of :func:`nominal_matrix` on the whole run, so the results are
    bit-identical; masses with centroids summing to zero are kept, so the set
    of masses of a run is unchanged too.

    Parameters
    ----------
    mz, intensity : ndarray of float64, shape (n_points,)
    boundary : float
        See :func:`nominal_mass`.

    Returns
    -------
    masses : ndarray of float64, shape (n_masses,)
        Nominal masses present in the scan, ascending (integer values).
    sums : ndarray of float64, shape (n_masses,)
    """
    if mz.size == 0:
        return np.zeros(0), np.zeros(0)
    masses, column = np.unique(nominal_mass(mz, boundary), return_inverse=True)
    sums = np.bincount(column, weights=intensity, minlength=masses.size)
    return masses.astype(np.float64), sums
