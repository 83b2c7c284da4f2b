"""Automatic baseline correction of real NMR spectra."""

from __future__ import annotations

import numpy as np

from fentid.spectra.model import Spectrum
from fentid.spectra.nmr_noise import estimate_noise, noise_segments, signal_mask

#: Number of bins the baseline points are summarised in before fitting.
BASELINE_BINS = 256


def fit_baseline(values: np.ndarray, *, order: int = 5, noise: float | None = None,
                 iterations: int = 4) -> np.ndarray:
    """Smooth baseline under a real spectrum.

    Points classified as signal (:func:`signal_mask`) are excluded; the
    remaining points are summarised as means in :data:`BASELINE_BINS` bins and fitted with a Chebyshev polynomial of degree
    ``order``.  The fit is repeated without points more than 3 noise levels
    (or 3 robust residual spreads) from it, which drops broad peak feet the
    mask missed and the digital filter's roll-off at the spectrum edges.

    Parameters
    ----------
    values : ndarray, shape (n,)
    order : int
        Polynomial degree.
    noise : float, optional
        Noise standard deviation (estimated when omitted).
    iterations : int
        Reweighting rounds.

    Returns
    -------
    ndarray, shape (n,)
        The baseline (subtract it).
    """
    y = np.asarray(values, dtype=np.float64)
    n = y.size
    if n < 16:
        return np.zeros(n)
    noise = estimate_noise(y) if noise is None else noise
    base_pts = ~signal_mask(y, noise)
    x = np.linspace(-1.0, 1.0, n)
    baseline = np.zeros(n)
    for _ in range(iterations):
        if base_pts.sum() < max(order + 2, n // 50):
            break
        xb, yb = _binned_means(x, y, base_pts)
        if xb.size <= order:
            break
        coef = np.polynomial.chebyshev.chebfit(xb, yb, order)
        baseline = np.polynomial.chebyshev.chebval(x, coef)
        # drop what the fit cannot follow: broad peak feet above it, and steep
        # filter roll-off at the spectrum edges below it
        resid = y - baseline
        spread = 1.4826 * np.median(np.abs(resid[base_pts] - np.median(resid[base_pts])))
        base_pts &= np.abs(resid) < 3.0 * max(noise, spread)
    return baseline


def _binned_means(x, y, keep):
    """Mean x and y of the kept points in each of :data:`BASELINE_BINS` equal bins.

    Means rather than medians: outliers are already excluded by ``keep``,
    and ``bincount`` makes this O(n) without a Python loop.
    """
    idx = np.flatnonzero(keep)
    bins = (idx * BASELINE_BINS) // x.size
    counts = np.bincount(bins, minlength=BASELINE_BINS)
    sx = np.bincount(bins, weights=x[idx], minlength=BASELINE_BINS)
    sy = np.bincount(bins, weights=y[idx], minlength=BASELINE_BINS)
    # bins with only a few baseline points are unreliable
    good = counts >= max(3, int(np.median(counts[counts > 0])) // 8) if idx.size else counts > 0
    return sx[good] / counts[good], sy[good] / counts[good]


def baseline_correct(spectrum: Spectrum, *, order: int = 5) -> Spectrum:
    """Subtract an automatically fitted smooth baseline.

    Parameters
    ----------
    spectrum : Spectrum
        Real spectrum.
    order : int
        Degree of the Chebyshev polynomial (5 follows TopSpin's ``abs`` default).

    Returns
    -------
    Spectrum
        ``metadata["noise"]`` holds the noise standard deviation measured.
    """
    y = spectrum.intensities
    noise = estimate_noise(y, segments=_segments(spectrum))
    baseline = fit_baseline(y, order=order, noise=noise)
    meta = dict(spectrum.metadata)
    meta["noise"] = noise
    return spectrum.evolve("baseline_correct", {"order": order},
                           intensities=y - baseline, metadata=meta)


def _segments(spectrum: Spectrum) -> int:
    """Noise segments for the spectrum's line broadening (see :func:`noise_segments`)."""
    meta = spectrum.metadata
    obs = meta.get("obs_mhz") or meta.get("spectrometer_frequency_mhz")
    n = len(spectrum)
    point_hz = (float(spectrum.axis[-1] - spectrum.axis[0]) / (n - 1) * float(obs)
                if obs and n > 1 else None)
    return noise_segments(n, point_hz, meta.get("line_broadening_hz"))
