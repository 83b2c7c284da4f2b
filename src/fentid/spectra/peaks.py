"""NMR peak picking and integration on processed (real, ascending-ppm) spectra."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
from scipy import signal

from fentid.errors import ProcessingError
from fentid.spectra.model import PeakList, Spectrum
from fentid.spectra.nmr_noise import estimate_noise

#: Default minimum signal-to-noise ratio (height over noise standard deviation).
DEFAULT_SNR = 10.0
#: A local maximum must rise at least this many noise levels (and half the
#: SNR threshold) above its surroundings (scipy "prominence"), so noise
#: ripples on a large peak are not peaks.
MIN_PROMINENCE_NOISE = 3.0
#: Integration window on each side of a peak, in FWHM, unless a valley comes first.
AREA_HALF_WINDOW_FWHM = 3.0


def pick_peaks(spectrum: Spectrum, snr: float | None = None) -> PeakList:
    """Pick the positive peaks of a processed spectrum.

    Parameters
    ----------
    spectrum : Spectrum
        Real spectrum on a uniform ascending axis (ppm for NMR).
    snr : float, optional
        Minimum height over the noise standard deviation (default
        :data:`DEFAULT_SNR`).

    Returns
    -------
    PeakList
        ``position`` (interpolated apex, axis units), ``intensity`` (height),
        ``width`` (FWHM, axis units), ``area`` (integral between the valleys
        next to the peak, at most :data:`AREA_HALF_WINDOW_FWHM` FWHM on each
        side; intensity x axis units), ``snr``.  ``metadata`` holds ``noise``
        (standard deviation) and ``snr_threshold``.

    Notes
    -----
    The noise is the spectrum's ``metadata["noise"]`` when baseline correction
    measured it, otherwise :func:`estimate_noise` (robust MAD of the first
    difference over quiet segments).
    """
    snr = DEFAULT_SNR if snr is None else float(snr)
    if not np.isfinite(snr) or snr <= 0:
        raise ProcessingError(f"snr must be a positive number, not {snr!r}")
    y = spectrum.intensities
    axis = spectrum.axis
    noise = float(spectrum.metadata.get("noise") or 0.0) or estimate_noise(y)
    params = {"snr": snr}
    empty = {"position": [], "intensity": [], "width": [], "area": [], "snr": []}
    if y.size < 3 or noise <= 0:
        return _peaklist(spectrum, empty, noise, snr, params)
    # noise maxima on the flank of a broad peak are high but not prominent
    prominence = max(MIN_PROMINENCE_NOISE, snr / 2) * noise
    idx, _ = signal.find_peaks(y, height=snr * noise, prominence=prominence)
    if idx.size == 0:
        return _peaklist(spectrum, empty, noise, snr, params)
    step = (axis[-1] - axis[0]) / (axis.size - 1)
    offset = _parabolic_offset(y, idx)
    position = axis[0] + (idx + offset) * step
    widths_pts = signal.peak_widths(y, idx, rel_height=0.5)[0]
    height = y[idx]
    area = _areas(y, idx, widths_pts, step)
    values = {"position": position, "intensity": height, "width": widths_pts * abs(step),
              "area": area, "snr": height / noise}
    return _peaklist(spectrum, values, noise, snr, params)


def _peaklist(spectrum, values, noise, snr, params) -> PeakList:
    meta = {"noise": noise, "snr_threshold": snr}
    if spectrum.name:
        meta["name"] = spectrum.name
    return PeakList.from_unsorted(
        values["position"], values["intensity"], width=values["width"], area=values["area"],
        snr=values["snr"], unit=spectrum.unit, technique=spectrum.technique,
        nucleus=spectrum.nucleus, metadata=meta,
        provenance=spectrum.provenance.with_step("pick_peaks", params))


def _parabolic_offset(y: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Sub-point apex offset (-0.5..0.5) from a parabola through three points."""
    left = y[np.maximum(idx - 1, 0)]
    mid = y[idx]
    right = y[np.minimum(idx + 1, y.size - 1)]
    denom = left - 2 * mid + right
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.where(denom < 0, 0.5 * (left - right) / denom, 0.0)
    return np.clip(off, -0.5, 0.5)


def _areas(y: np.ndarray, idx: np.ndarray, widths_pts: np.ndarray, step: float) -> np.ndarray:
    """Integral of each peak between the neighbouring valleys (or a few FWHM)."""
    cum = np.concatenate([[0.0], np.cumsum((y[1:] + y[:-1]) * 0.5)])
    valleys = np.array([a + int(np.argmin(y[a:b + 1])) for a, b in pairwise(idx)], int)
    left_valley = np.concatenate([[0], valleys])
    right_valley = np.concatenate([valleys, [y.size - 1]])
    reach = np.ceil(AREA_HALF_WINDOW_FWHM * widths_pts).astype(int) + 1
    lo = np.maximum(left_valley, idx - reach)
    hi = np.minimum(right_valley, idx + reach)
    return (cum[hi] - cum[lo]) * abs(step)


def integrate(spectrum: Spectrum, regions: Sequence[tuple[float, float]]) -> np.ndarray:
    """Integrals of a spectrum over axis regions (trapezoid rule).

    Parameters
    ----------
    spectrum : Spectrum
        Real spectrum, ascending axis.
    regions : sequence of (float, float)
        Region limits in axis units (ppm); either order.

    Returns
    -------
    ndarray of float64, shape (n_regions,)
        Integrals in intensity x axis units.  Divide by one of them for
        relative integrals, as TopSpin's ``integrals.txt`` lists them.
    """
    x, y = spectrum.axis, spectrum.intensities
    cum = np.concatenate([[0.0], np.cumsum((y[1:] + y[:-1]) * 0.5 * np.diff(x))])
    out = np.empty(len(regions))
    for k, (a, b) in enumerate(regions):
        lo, hi = sorted((float(a), float(b)))
        out[k] = np.interp(hi, x, cum) - np.interp(lo, x, cum)
    return out
