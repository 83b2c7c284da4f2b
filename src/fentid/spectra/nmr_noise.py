"""Noise estimates and signal masks for 1-D spectra (shared by baseline correction and peak picking)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: Number of segments the spectrum is cut into for the noise estimate.
NOISE_SEGMENTS = 64


def estimate_noise(values: np.ndarray, segments: int = NOISE_SEGMENTS) -> float:
    """Standard deviation of the noise of a spectrum, robust to peaks and baseline.

    The spectrum is cut into ``segments`` pieces; in each a straight line is
    removed (a slowly varying baseline) and the noise is the scaled MAD of
    the residual.  Peaks inflate the estimate only in the segments that hold
    them, so the 25th percentile over segments is returned.  First
    differences are not used because zero filling and apodisation correlate
    neighbouring points, which makes difference-based estimates several
    times too low.

    Parameters
    ----------
    values : ndarray, shape (n,)
        Real intensities.
    segments : int
        Number of segments.

    Returns
    -------
    float
        Noise standard deviation in intensity units (0 only for constant input).
    """
    y = np.asarray(values, dtype=np.float64)
    if y.size < 8:
        return float(np.std(y))
    segments = max(1, min(segments, y.size // 32))
    usable = y[: y.size - y.size % segments].reshape(segments, -1)
    m = usable.shape[1]
    t = np.linspace(-1.0, 1.0, m)
    # least-squares line per segment, removed
    slope = usable @ t / (t @ t)
    resid = usable - usable.mean(axis=1, keepdims=True) - slope[:, None] * t[None, :]
    med = np.median(resid, axis=1, keepdims=True)
    mad = np.median(np.abs(resid - med), axis=1) * 1.4826
    positive = mad[mad > 0]
    if positive.size == 0:
        return float(np.std(np.diff(y)) / np.sqrt(2.0))
    return float(np.percentile(positive, 25))


#: Line-broadening kernels up to this many spectrum points wide keep :data:`NOISE_SEGMENTS`.
NARROW_KERNEL_POINTS = 2.0
#: Otherwise each noise segment spans at least this many kernel widths.
SEGMENT_KERNEL_WIDTHS = 128


def noise_segments(points: int, point_hz: float | None, lb_hz: float | None) -> int:
    """Number of noise segments for a spectrum smoothed by ``lb_hz`` of line broadening.

    Line broadening correlates neighbouring noise values over a kernel ``w =
    lb_hz / point_hz`` points wide; within segments only a few kernels long
    the straight-line fit and MAD of :func:`estimate_noise` read the noise
    low.  Measured on white noise (8192 points, Lorentzian kernels, mean of
    10 seeds; estimate / true standard deviation):

    ====  ====  ====  ====  ====
    w     64    16    8     4     segments
    ====  ====  ====  ====  ====
    1     0.90  0.95  0.97  0.98
    5     0.73  0.90  0.94  0.97
    10    0.62  0.85  0.91  0.96
    20    0.47  0.76  0.86  0.95
    ====  ====  ====  ====  ====

    Segments of about 100 kernel widths read it as unsmoothed noise reads
    (0.9), so segments span :data:`SEGMENT_KERNEL_WIDTHS` widths (4 to
    :data:`NOISE_SEGMENTS` of them).  Kernels up to
    :data:`NARROW_KERNEL_POINTS` wide (every default line broadening on the
    shared samples) keep :data:`NOISE_SEGMENTS`.

    Parameters
    ----------
    points : int
        Number of spectrum points.
    point_hz : float or None
        Spacing of the spectrum points, Hz.
    lb_hz : float or None
        Line broadening applied, Hz.
    """
    if not point_hz or not lb_hz or lb_hz <= 0 or point_hz <= 0:
        return NOISE_SEGMENTS
    width = lb_hz / point_hz
    if width <= NARROW_KERNEL_POINTS:
        return NOISE_SEGMENTS
    return int(np.clip(points / (SEGMENT_KERNEL_WIDTHS * width), 4, NOISE_SEGMENTS))


def signal_mask(values: np.ndarray, noise: float | None = None, threshold: float = 4.0,
                smooth_points: int = 5, grow_points: int | None = None) -> np.ndarray:
    """Boolean mask of points that belong to peaks (True) rather than baseline.

    A point is signal when the smoothed absolute first derivative exceeds
    ``threshold`` times its noise level (Dietrich-style classification: a
    baseline may be offset or curved but is flat on the scale of a few
    points), or when it stands ``threshold`` noise levels above a running
    median.  The mask is then grown on both sides so peak feet are included.

    Parameters
    ----------
    values : ndarray, shape (n,)
    noise : float, optional
        Noise standard deviation; estimated when omitted.
    threshold : float
        In noise standard deviations.
    smooth_points : int
        Width of the moving average applied to the derivative.
    grow_points : int, optional
        Points added on each side of every signal run (default n / 1000, at least 8).

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    y = np.asarray(values, dtype=np.float64)
    n = y.size
    if noise is None:
        noise = estimate_noise(y)
    if noise <= 0:
        return np.zeros(n, dtype=bool)
    deriv = np.abs(np.gradient(y))
    deriv = ndimage.uniform_filter1d(deriv, smooth_points, mode="nearest")
    # the smoothed |derivative| of pure noise has mean ~ 0.8*sigma*sqrt(2)/sqrt(smooth)
    d_noise = np.median(deriv) * 1.5
    mask = deriv > threshold * max(d_noise, 1e-300)
    running = ndimage.median_filter(y[:: max(1, n // 8192)], size=31, mode="nearest")
    if running.size != n:
        running = np.interp(np.arange(n), np.linspace(0, n - 1, running.size), running)
    mask |= np.abs(y - running) > threshold * noise
    grow = grow_points if grow_points is not None else max(8, n // 1000)
    if grow > 0:
        # dilation as a moving sum: O(n) whatever the width
        mask = ndimage.uniform_filter1d(mask.astype(np.float32), 2 * grow + 1,
                                        mode="constant") > 0.25 / (2 * grow + 1)
    return mask
