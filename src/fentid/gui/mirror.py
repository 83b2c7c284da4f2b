"""What a mirror plot shows: query and reference peaks, each marked matched or not.

Qt-free (numpy only), so the tests and the case report use the same sets the viewer draws.

A peak is *matched* when the other spectrum has a peak at the same place:

- EI (unit resolution): the same nominal mass (bin boundary 0.649, as the NIST factors bin);
- accurate-mass MS (MS1, MS/MS): within 0.02 Da + 10 ppm (as the match evidence counts);
- NMR: within the nucleus tolerance of the peak-list score (1H 0.03 ppm, 13C 0.5 ppm).

Intensities are scaled to 100 % of each spectrum's base peak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Accurate-mass pairing tolerance: the one :func:`fentid.spectra.match_evidence.accurate_evidence`
#: uses.
TOLERANCE_DA = 0.02
TOLERANCE_PPM = 10.0
#: NMR pairing tolerance (ppm) per nucleus, from the peak-list score's defaults.
NMR_TOLERANCE_PPM = {"1H": 0.03, "13C": 0.5, "19F": 0.3}


@dataclass(frozen=True)
class MirrorData:
    """Both sides of a head-to-tail plot.

    Attributes
    ----------
    query_position, query_intensity : ndarray of float64, shape (n,)
        Query peaks (m/z or ppm) and their intensity in % of the query's base peak.
    query_matched : ndarray of bool, shape (n,)
    reference_position, reference_intensity, reference_matched : ndarray, shape (m,)
        The same for the reference (library entry).
    range_mz : tuple of float or None
        The m/z range the query's run scanned, as the hit's evidence states it (``high`` may
        be inf: unknown); None for NMR.
    unit : str
        ``m/z`` or ``ppm``.
    solvents : tuple of str or None
        NMR: the query's and the reference's solvent.  Intensities are then scaled to the
        tallest peak outside the residual solvent signal (HDO can dwarf the compound).
    """

    query_position: np.ndarray
    query_intensity: np.ndarray
    query_matched: np.ndarray
    reference_position: np.ndarray
    reference_intensity: np.ndarray
    reference_matched: np.ndarray
    range_mz: tuple[float, float] | None
    unit: str
    solvents: tuple[str | None, str | None] = (None, None)

    @property
    def n_matched(self) -> int:
        """Reference peaks the query also shows."""
        return int(self.reference_matched.sum())


def solvent_mask(axis, solvent: str | None, nucleus: str | None) -> np.ndarray:
    """Points of ``axis`` (ppm) inside the residual solvent window (as the search leaves it
    out); all False when the solvent or its shift is unknown."""
    from fentid.searching import SOLVENT_WINDOW_PPM
    from fentid.spectra.nmr_reference import SOLVENT_SHIFTS, solvent_key

    axis = np.asarray(axis, float)
    key = solvent_key(solvent) if solvent else None
    shift = SOLVENT_SHIFTS.get(key or "", {}).get(nucleus or "")
    if shift is None:
        return np.zeros(axis.size, bool)
    half = SOLVENT_WINDOW_PPM["d2o"] if key == "d2o" and nucleus == "1H" \
        else SOLVENT_WINDOW_PPM.get(nucleus or "", 0.0)
    return np.abs(axis - shift) <= half


def signal_top(axis, intensity, solvent: str | None, nucleus: str | None) -> float:
    """The tallest line outside the solvent signal (the scale an analyst wants: HDO can be
    ten times taller than the compound)."""
    y = np.asarray(intensity, float)
    keep = ~solvent_mask(axis, solvent, nucleus)
    top = float(y[keep].max()) if keep.any() else float(y.max(initial=0.0))
    return top if top > 0 else 1.0


def _percent(intensity, position=None, solvent=None, nucleus=None) -> np.ndarray:
    y = np.asarray(intensity, dtype=np.float64)
    keep = np.ones(y.size, bool)
    if solvent is not None:
        keep = ~solvent_mask(position, solvent, nucleus)
    top = y[keep].max() if keep.any() else (y.max() if y.size else 0.0)
    return y / top * 100.0 if top > 0 else y


def nominal(mz) -> np.ndarray:
    """Nominal mass of each m/z (the NIST binning)."""
    from fentid.spectra.scores_ms import nominal_mass

    return np.asarray(nominal_mass(np.asarray(mz, dtype=np.float64)), dtype=np.int64)


def _near(a: np.ndarray, b: np.ndarray, tol) -> np.ndarray:
    """For each value of ``a``, is a value of ``b`` within ``tol`` (scalar or per-a array)?"""
    if b.size == 0 or a.size == 0:
        return np.zeros(a.size, bool)
    bs = np.sort(b)
    j = np.clip(np.searchsorted(bs, a), 1, bs.size) - 1
    k = np.minimum(j + 1, bs.size - 1)
    d = np.minimum(np.abs(bs[j] - a), np.abs(bs[k] - a))
    return d <= tol


def matched_masks(query_pos, reference_pos, technique: str, nucleus: str | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Matched flags of the query's and of the reference's peaks.

    Parameters
    ----------
    query_pos, reference_pos : array_like of float
        Peak positions (m/z or ppm).
    technique : str
        Library technique: ``ei``, ``ms1``, ``msms`` or ``nmr_*``.
    nucleus : str, optional
        NMR nucleus (tolerance), e.g. ``"1H"``.
    """
    q = np.asarray(query_pos, dtype=np.float64)
    r = np.asarray(reference_pos, dtype=np.float64)
    if technique == "ei":
        qn, rn = nominal(q), nominal(r)
        return np.isin(qn, rn), np.isin(rn, qn)
    if technique.startswith("nmr"):
        tol = NMR_TOLERANCE_PPM.get(nucleus or "1H", 0.03)
        return _near(q, r, tol), _near(r, q, tol)
    return (_near(q, r, TOLERANCE_DA + np.abs(q) * TOLERANCE_PPM * 1e-6),
            _near(r, q, TOLERANCE_DA + np.abs(r) * TOLERANCE_PPM * 1e-6))


def mirror_data(query, reference, technique: str, evidence: dict | None = None,
                solvents: tuple = (None, None)) -> MirrorData:
    """The head-to-tail plot of ``query`` against ``reference``.

    Parameters
    ----------
    query, reference : PeakList
        The component's peaks and the library entry's peaks.
    technique : str
        The library technique searched (``ei``, ``msms``, ``nmr_1h``...).
    evidence : dict, optional
        The hit's ``evidence`` (its ``range_mz`` is the scanned range shaded).
    solvents : (str or None, str or None)
        NMR: the query's and the reference's solvent (see :class:`MirrorData`).
    """
    qm, rm = matched_masks(query.position, reference.position, technique,
                           getattr(query, "nucleus", None))
    rng = None
    if evidence and evidence.get("range_mz") and not technique.startswith("nmr"):
        lo, hi = evidence["range_mz"]
        rng = (float(lo), math.inf if hi is None else float(hi))
    nucleus = getattr(query, "nucleus", None)
    q_solvent, r_solvent = solvents
    return MirrorData(np.asarray(query.position, float),
                      _percent(query.intensity, query.position, q_solvent, nucleus), qm,
                      np.asarray(reference.position, float),
                      _percent(reference.intensity, reference.position,
                               r_solvent or q_solvent, nucleus), rm,
                      rng, "ppm" if technique.startswith("nmr") else "m/z", solvents)
