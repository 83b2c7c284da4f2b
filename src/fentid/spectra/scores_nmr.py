"""NMR similarity scores: peak lists (optimal assignment) and full spectra (correlation).

Peak-list similarity
--------------------
Both peak lists (ppm) are normalised to unit total intensity.  A query peak
``i`` and a reference peak ``j`` may pair when, after a global shift ``delta``
of the query, ``d = |q_i + delta - r_j| <= tolerance``; the pair gains
``sqrt(p_i * p_j) * (1 - (d / tolerance)**2)``.  Each peak pairs at most once:
the pairing maximising the total gain is found with the Hungarian algorithm
(``scipy.optimize.linear_sum_assignment``), and ``delta`` is searched on a grid
(step tolerance/5) within ``max_offset_ppm``.  The score is the best total gain:
1 for identical lists, 0 when nothing pairs (Cauchy-Schwarz bounds it by 1).
The global shift absorbs referencing, solvent and concentration offsets; the
per-peak tolerance absorbs local ones (pH-sensitive groups).

Defaults per nucleus (:data:`NUCLEUS_DEFAULTS`): 1H tolerance 0.03 ppm, shifts up
to 0.05 ppm; 13C 0.5 ppm and 2.5 ppm (DSS- and TMS-referenced
lists in D2O differ by about 2 ppm); 19F 0.3 ppm and 1.0 ppm.

Field awareness: a multiplet's lines are J Hz apart at any field, so at 60 MHz
they spread ~7 times wider in ppm than at 400 MHz, and neighbouring multiplets
overlap.  When the two spectrometer frequencies differ by more than 1.5x, both
lists are first reduced to multiplet centroids (lines closer than
``multiplet_hz`` at their own field merged, intensities summed, positions
intensity-weighted), then centroids the lower field could not resolve (closer
than ``multiplet_hz`` at that field) are merged on both sides, and the pairing
tolerance grows to half that distance (merged positions are no better known).

Full-spectrum correlation
-------------------------
Both spectra are interpolated on a common ppm grid over their overlap, the
sharper one is broadened to the other's line width (Gaussian, from the given
resolutions in Hz), and the best Pearson correlation over shifts within
``max_offset_ppm`` is returned (-1..1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.optimize import linear_sum_assignment

from fentid.errors import SpectrumError
from fentid.spectra.model import PeakList, Spectrum

NUCLEUS_DEFAULTS = {
    "1H": {"tolerance_ppm": 0.03, "max_offset_ppm": 0.05},
    "13C": {"tolerance_ppm": 0.5, "max_offset_ppm": 2.5},
    "19F": {"tolerance_ppm": 0.3, "max_offset_ppm": 1.0},
}


@dataclass(frozen=True)
class NmrMatch:
    """Result of a peak-list comparison.

    Attributes
    ----------
    score : float
        0..1.
    offset_ppm : float
        Global shift added to the query that gave the best score.
    pairs : tuple of (int, int)
        Matched (query, reference) peak indices, into the lists as compared
        (after any multiplet merging).
    """

    score: float
    offset_ppm: float
    pairs: tuple


def _nucleus_of(query, reference) -> str:
    for p in (query, reference):
        if p.technique != "nmr" or p.unit != "ppm":
            raise SpectrumError("NMR scores need NMR data in ppm")
    if query.nucleus != reference.nucleus:
        raise SpectrumError(f"cannot compare a {query.nucleus} query with a "
                            f"{reference.nucleus} reference")
    return query.nucleus


def _field(peaks, given) -> float | None:
    if given is not None:
        return float(given)
    value = peaks.metadata.get("spectrometer_frequency_mhz")
    return float(value) if value else None


def merge_lines(position, intensity, gap_ppm: float):
    """Merge runs of lines closer than ``gap_ppm`` (summed intensity, weighted position).

    Parameters
    ----------
    position, intensity : ndarray, shape (n,)
        Ascending ppm and non-negative intensities.
    gap_ppm : float
        Lines whose neighbour is closer than this (ppm) join its group.

    Returns
    -------
    position, intensity : ndarray
    """
    position = np.asarray(position, float)
    intensity = np.asarray(intensity, float)
    if position.size < 2 or gap_ppm <= 0:
        return position, intensity
    group = np.concatenate(([0], np.cumsum(np.diff(position) >= gap_ppm)))
    total = np.bincount(group, weights=intensity)
    # zero-intensity groups keep their plain mean position
    wsum = np.bincount(group, weights=intensity * position)
    mean = np.bincount(group, weights=position) / np.bincount(group)
    pos = np.where(total > 0, wsum / np.where(total > 0, total, 1), mean)
    return pos, total


def _prepare(query, reference, query_mhz, reference_mhz, multiplet_hz, tol):
    qp, qi = query.position, np.clip(query.intensity, 0, None)
    rp, ri = reference.position, np.clip(reference.intensity, 0, None)
    fq, fr = _field(query, query_mhz), _field(reference, reference_mhz)
    if fq and fr and max(fq, fr) / min(fq, fr) > 1.5:
        low = min(fq, fr)
        qp, qi = merge_lines(qp, qi, multiplet_hz / fq)
        rp, ri = merge_lines(rp, ri, multiplet_hz / fr)
        # what the lower field cannot resolve is merged on both sides, and merged
        # positions are only known to about half the merge distance
        qp, qi = merge_lines(qp, qi, multiplet_hz / low)
        rp, ri = merge_lines(rp, ri, multiplet_hz / low)
        tol = max(tol, 0.5 * multiplet_hz / low)
    return qp, _unit_sum(qi), rp, _unit_sum(ri), tol


def _unit_sum(values):
    total = values.sum()
    # peak lists without intensities count every peak equally
    return values / total if total > 0 else np.full(values.size, 1.0 / max(values.size, 1))


def _assign(qp, qw, rp, rw, delta, tol):
    d = np.abs(qp[:, None] + delta - rp[None, :])
    gain = np.sqrt(qw[:, None] * rw[None, :]) * np.clip(1 - (d / tol) ** 2, 0, None)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    ok = gain[rows, cols] > 0
    return float(gain[rows, cols][ok].sum()), tuple(zip(rows[ok].tolist(), cols[ok].tolist()))


def nmr_peak_match(query: PeakList, reference: PeakList, *, tolerance_ppm: float | None = None,
                   max_offset_ppm: float | None = None, query_mhz: float | None = None,
                   reference_mhz: float | None = None, multiplet_hz: float = 12.0) -> NmrMatch:
    """Best one-to-one pairing of two NMR peak lists under a global shift.

    Parameters
    ----------
    query, reference : PeakList
        NMR peaks in ppm, same nucleus (1H, 13C, 19F, ...).
    tolerance_ppm, max_offset_ppm : float, optional
        Pairing window and largest global shift searched; defaults per nucleus.
    query_mhz, reference_mhz : float, optional
        Spectrometer frequencies; default from ``metadata["spectrometer_frequency_mhz"]``.
    multiplet_hz : float
        Line spacing (Hz) below which lines are one multiplet when fields differ.

    Returns
    -------
    NmrMatch
    """
    nucleus = _nucleus_of(query, reference)
    defaults = NUCLEUS_DEFAULTS.get(nucleus, NUCLEUS_DEFAULTS["13C"])
    tol = float(tolerance_ppm if tolerance_ppm is not None else defaults["tolerance_ppm"])
    span = float(max_offset_ppm if max_offset_ppm is not None else defaults["max_offset_ppm"])
    if tol <= 0 or span < 0:
        raise ValueError("tolerance_ppm must be positive and max_offset_ppm not negative")
    qp, qw, rp, rw, tol = _prepare(query, reference, query_mhz, reference_mhz, multiplet_hz,
                                   tol)
    if qp.size == 0 or rp.size == 0:
        return NmrMatch(0.0, 0.0, ())
    steps = int(np.ceil(span / (tol / 5)))
    offsets = np.linspace(-span, span, 2 * steps + 1) if steps else np.zeros(1)
    # visit offsets nearest zero first so ties keep the smallest shift
    best = NmrMatch(-1.0, 0.0, ())
    for delta in offsets[np.argsort(np.abs(offsets), kind="stable")]:
        score, pairs = _assign(qp, qw, rp, rw, delta, tol)
        if score > best.score + 1e-12:
            best = NmrMatch(min(1.0, score), float(delta), pairs)
    return best


def nmr_peak_similarity(query: PeakList, reference: PeakList, **kwargs) -> float:
    """Score of :func:`nmr_peak_match` (0..1); same parameters."""
    return nmr_peak_match(query, reference, **kwargs).score


def spectrum_correlation(query: Spectrum, reference: Spectrum, *,
                         max_offset_ppm: float | None = None,
                         query_resolution_hz: float = 1.0,
                         reference_resolution_hz: float = 1.0,
                         query_mhz: float | None = None, reference_mhz: float | None = None,
                         points: int = 16384) -> float:
    """Best Pearson correlation of two NMR spectra over small global shifts.

    Parameters
    ----------
    query, reference : Spectrum
        Processed spectra in ppm, same nucleus.
    max_offset_ppm : float, optional
        Largest shift searched (default per nucleus).
    query_resolution_hz, reference_resolution_hz : float
        Line widths (Hz); the sharper spectrum is broadened to the other's.
    query_mhz, reference_mhz : float, optional
        Spectrometer frequencies (default from metadata).
    points : int
        Grid size over the overlapping ppm range.

    Returns
    -------
    float
        -1..1 (0 when the spectra do not overlap or one is flat).
    """
    nucleus = _nucleus_of(query, reference)
    span = float(max_offset_ppm if max_offset_ppm is not None
                 else NUCLEUS_DEFAULTS.get(nucleus, NUCLEUS_DEFAULTS["13C"])["max_offset_ppm"])
    lo = max(query.axis[0], reference.axis[0])
    hi = min(query.axis[-1], reference.axis[-1])
    if not hi > lo:
        return 0.0
    grid = np.linspace(lo, hi, int(points))
    step = grid[1] - grid[0]
    q = np.interp(grid, query.axis, query.intensities)
    r = np.interp(grid, reference.axis, reference.intensities)
    fq, fr = _field(query, query_mhz), _field(reference, reference_mhz)
    if fq and fr:
        wq, wr = query_resolution_hz / fq, reference_resolution_hz / fr  # ppm
        extra = np.sqrt(abs(wq**2 - wr**2)) / 2.355 / step  # FWHM -> sigma, in points
        if wq > wr and extra > 0.3:
            r = gaussian_filter1d(r, extra)
        elif wr > wq and extra > 0.3:
            q = gaussian_filter1d(q, extra)
    shift = round(span / step)
    best = None
    for k in range(-shift, shift + 1):
        a = q[max(0, k):q.size + min(0, k)]
        b = r[max(0, -k):r.size + min(0, -k)]
        if a.size < 3 or np.std(a) == 0 or np.std(b) == 0:
            continue
        value = float(np.corrcoef(a, b)[0, 1])
        best = value if best is None else max(best, value)
    return 0.0 if best is None else best
