"""NMR peak picking and integration on processed (real, ascending-ppm) spectra."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
from scipy import signal

from fentid.errors import DataQualityWarning, ProcessingError
from fentid.spectra.model import PeakList, Spectrum
from fentid.spectra.nmr_noise import estimate_noise
from fentid.spectra.nmr_reference import SOLVENT_SHIFTS, SOLVENT_WINDOW_PPM, solvent_key

#: Default minimum signal-to-noise ratio (height over noise standard deviation).
DEFAULT_SNR = 10.0
#: A local maximum must rise at least this many noise levels (and half the
#: SNR threshold) above its surroundings (scipy "prominence"), so noise
#: ripples on a large peak are not peaks.
MIN_PROMINENCE_NOISE = 3.0
#: Integration window on each side of a peak, in FWHM, unless a valley comes first.
AREA_HALF_WINDOW_FWHM = 3.0
#: Default minimum height relative to the tallest non-solvent line (TopSpin's
#: ``MI`` idea as a fraction): off.  No single value serves every file: GABA
#: 1H (D2O), picked by TopSpin with MI=0, lists 13C satellites at 0.04 % of
#: its tallest non-solvent line, while aspirin 1H's baseline bumps sit at
#: 0.005-0.03 % of its CH3 and its TopSpin list stops at 3 %.  A default that
#: needs ``metadata["solvent"]`` would also make twins differ (the nmrML copy
#: of GABA carries no solvent, so its tallest line is HDO).  ``1e-3`` gives a
#: TopSpin-sized aspirin list (43 lines).
DEFAULT_MIN_RELATIVE_HEIGHT = 0.0
#: Ripple test: a maximum whose prominence is below this fraction of its
#: height ...
RIPPLE_MAX_PROMINENCE = 0.15
#: ... and whose contour (the connected stretch above ``(1 - prominence
#: fraction) x height``) climbs to a line this many times taller is a wiggle
#: on that line's flank (sinc ripple, shoulder), not a line.
RIPPLE_MIN_RATIO = 20.0
#: Resolution test: a maximum dipping less than this fraction of its height
#: before a taller maximum is not resolved from it; the taller one stands
#: for both (a 10 % dip is about what the eye calls resolved).
UNRESOLVED_MAX_PROMINENCE = 0.10


def pick_peaks(spectrum: Spectrum, snr: float | None = None, *,
               min_relative_height: float | None = None) -> PeakList:
    """Pick the positive peaks of a processed spectrum.

    Parameters
    ----------
    spectrum : Spectrum
        Real spectrum on a uniform ascending axis (ppm for NMR).
    snr : float, optional
        Minimum height over the noise standard deviation (default
        :data:`DEFAULT_SNR`).
    min_relative_height : float, optional
        Minimum height as a fraction of the tallest line outside the residual
        solvent window (``metadata["solvent"]``, shifts and windows of
        :mod:`fentid.spectra.nmr_reference`); default
        :data:`DEFAULT_MIN_RELATIVE_HEIGHT` (off); e.g. ``1e-3`` for a
        TopSpin-like list.

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

    Artefacts are dropped, so the list is what an analyst reads off the
    spectrum: maxima not resolved from a taller neighbour
    (:data:`UNRESOLVED_MAX_PROMINENCE`), ripples on the flank of a much taller
    line (:data:`RIPPLE_MAX_PROMINENCE`, :data:`RIPPLE_MIN_RATIO`) and lines
    below ``min_relative_height``.  On Bruker aspirin 1H the default list
    drops from 245 to 132 lines (TopSpin's own list: 23;
    ``min_relative_height=1e-3`` gives 43) while every TopSpin line of aspirin
    and GABA stays within 0.01 ppm (GABA's 1.9874 ppm line is 8.8 noise
    levels: it needs ``snr=8``).
    """
    snr = DEFAULT_SNR if snr is None else float(snr)
    if not np.isfinite(snr) or snr <= 0:
        raise ProcessingError(f"snr must be a positive number, not {snr!r}")
    rel = DEFAULT_MIN_RELATIVE_HEIGHT if min_relative_height is None else float(min_relative_height)
    if not np.isfinite(rel) or not 0 <= rel < 1:
        raise ProcessingError(f"min_relative_height must be in [0, 1), not {min_relative_height!r}")
    y = spectrum.intensities
    axis = spectrum.axis
    noise = float(spectrum.metadata.get("noise") or 0.0) or estimate_noise(y)
    params = {"snr": snr, "min_relative_height": rel}
    empty = {"position": [], "intensity": [], "width": [], "area": [], "snr": []}
    if y.size < 3 or noise <= 0:
        _warn_empty(spectrum, "the spectrum is flat (no noise, no lines)")
        return _peaklist(spectrum, empty, noise, snr, params)
    # noise maxima on the flank of a broad peak are high but not prominent
    prominence = max(MIN_PROMINENCE_NOISE, snr / 2) * noise
    idx, props = signal.find_peaks(y, height=snr * noise, prominence=prominence)
    if idx.size:
        idx = idx[_is_line(spectrum, idx, props["prominences"], rel)]
    if idx.size == 0:
        top = int(np.argmax(y))
        _warn_empty(spectrum, f"no peak reaches SNR {snr:g} (the tallest point, at "
                              f"{axis[top]:.4g} {spectrum.unit}, is {y[top] / noise:.1f} noise "
                              "levels high)")
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


def _warn_empty(spectrum: Spectrum, why: str) -> None:
    """An empty peak list is never silent: say why, naming the file."""
    source = spectrum.provenance.source
    warnings.warn(f"{source + ': ' if source else ''}0 peaks picked: {why}",
                  DataQualityWarning, stacklevel=3)


def _is_line(spectrum: Spectrum, idx: np.ndarray, prominences: np.ndarray,
             min_relative_height: float) -> np.ndarray:
    """Mask of the maxima that are lines rather than ripples, shoulders or specks."""
    y = spectrum.intensities
    height = y[idx]
    fraction = prominences / height
    keep = np.ones(idx.size, bool)
    for k in np.flatnonzero(fraction < max(RIPPLE_MAX_PROMINENCE, UNRESOLVED_MAX_PROMINENCE)):
        ratio = _contour_max(y, int(idx[k]), fraction[k]) / height[k]
        keep[k] = not ((fraction[k] < RIPPLE_MAX_PROMINENCE and ratio > RIPPLE_MIN_RATIO)
                       or (fraction[k] < UNRESOLVED_MAX_PROMINENCE and ratio > 1.0))
    if min_relative_height > 0:
        keep &= height >= min_relative_height * _tallest_non_solvent(spectrum, idx)
    return keep


def _contour_max(y: np.ndarray, k: int, fraction: float) -> float:
    """Highest point of the connected stretch around ``k`` above ``(1 - fraction) y[k]``.

    Slightly below the prominence col, so the stretch reaches the taller
    maximum that the col leads to (and the line a ripple train climbs to).
    """
    level = (1.0 - 1.01 * fraction) * y[k]
    below_left = np.flatnonzero(y[:k] < level)
    below_right = np.flatnonzero(y[k:] < level)
    lo = below_left[-1] + 1 if below_left.size else 0
    hi = k + below_right[0] if below_right.size else y.size
    return float(y[lo:hi].max())


def _tallest_non_solvent(spectrum: Spectrum, idx: np.ndarray) -> float:
    """Height of the tallest maximum outside the residual-solvent window (all if none)."""
    height = spectrum.intensities[idx]
    key = solvent_key(spectrum.metadata.get("solvent"))
    shift = SOLVENT_SHIFTS.get(key or "", {}).get(spectrum.nucleus or "")
    window = SOLVENT_WINDOW_PPM.get(spectrum.nucleus or "")
    if shift is None or window is None:
        return float(height.max())
    outside = np.abs(spectrum.axis[idx] - shift) > window
    return float(height[outside].max() if outside.any() else height.max())


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
