"""How much of a reference spectrum a query actually shows: the evidence behind a score.

A match factor alone can be high on very little: the NIST identity factor compares only
masses at or above the unknown's lowest peak, so a component of three peaks, or one from a
run that scanned only m/z 100-299, can score 850 against a library spectrum whose base peak
it never saw.  The conclusion rules (:mod:`fentid.conclude`) therefore also look at

* ``matched_peaks``: library peaks of at least :data:`MATCH_FLOOR` of the base peak that the
  query also has;
* ``library_in_range``: the fraction of the library spectrum's intensity inside the m/z range
  the instrument scanned (what the query could have shown at all);
* ``explained``: the fraction of the library intensity *inside that range* found at masses the
  query has (intensity-weighted coverage).

A component is judged against the scanned range, not against its own lowest peak: masses the
instrument scanned but the component lacks count against it, masses never scanned do not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fentid.spectra.model import PeakList

#: Library peaks weaker than this fraction of the base peak are not counted as matchable
#: (their presence in a query is within noise for most instruments).
MATCH_FLOOR = 0.01


@dataclass(frozen=True)
class MatchEvidence:
    """Coverage of one reference spectrum by one query.

    Attributes
    ----------
    query_peaks : int
        Peaks of the query (at or above ``MATCH_FLOOR`` of its base peak).
    matched_peaks : int
        Library peaks (>= ``MATCH_FLOOR`` of base, inside the range) the query also has.
    reference_peaks : int
        Library peaks (>= ``MATCH_FLOOR`` of base) inside the range: the most that can match.
    library_in_range : float
        Fraction (0-1) of the library intensity inside the scanned range.
    explained : float
        Fraction (0-1) of the in-range library intensity at masses the query has.
    range_mz : tuple of float
        The range judged, (low, high) m/z; ``high`` is inf when unknown.
    range_source : str
        ``"file"`` (recorded scan range), ``"observed"`` (ions detected in the run) or
        ``"query"`` (the query's lowest peak, NIST's rule, when nothing else is known).
    """

    query_peaks: int
    matched_peaks: int
    reference_peaks: int
    library_in_range: float
    explained: float
    range_mz: tuple[float, float]
    range_source: str

    def as_dict(self) -> dict:
        return {"query_peaks": self.query_peaks, "matched_peaks": self.matched_peaks,
                "reference_peaks": self.reference_peaks,
                "library_in_range": round(self.library_in_range, 3),
                "explained": round(self.explained, 3),
                "range_mz": [round(self.range_mz[0], 2),
                             None if math.isinf(self.range_mz[1]) else
                             round(self.range_mz[1], 2)],
                "range_source": self.range_source}


def judged_range(query: PeakList) -> tuple[tuple[float, float], str]:
    """The m/z range a query is judged over, and where it came from.

    The acquisition's scanned range when the component carries it (``scan_range_mz``
    metadata, from the run); else from the query's lowest peak upward (NIST's rule).
    """
    rng = query.metadata.get("scan_range_mz")
    if rng is not None and len(rng) == 2:
        return (float(rng[0]), float(rng[1])), str(query.metadata.get("scan_range_source")
                                                   or "file")
    low = float(query.position[0]) if len(query) else 0.0
    return (low, math.inf), "query"


def nominal_evidence(query: PeakList, reference: PeakList) -> MatchEvidence:
    """Evidence for unit-resolution (EI) spectra: peaks compared at nominal mass.

    Parameters
    ----------
    query, reference : PeakList
        m/z and intensities (any scale); binned to nominal mass as NIST does.
    """
    from fentid.spectra.scores_ms import nist_preprocess

    (low, high), source = judged_range(query)
    qm, qc = nist_preprocess(query.position, query.intensity)
    lm, lc = nist_preprocess(reference.position, reference.intensity)
    # a range stated in m/z: nominal masses inside it (m/z 100.1 scanned -> mass 100)
    inside = (lm >= math.floor(low + 0.35)) & (lm <= (high if math.isinf(high)
                                                        else math.ceil(high - 0.35)))
    return _evidence(qm, qc, lm, lc, inside, np.isin(lm, qm), (low, high), source)


def accurate_evidence(query: PeakList, reference: PeakList, *, tolerance_da: float = 0.02,
                      tolerance_ppm: float = 10.0) -> MatchEvidence:
    """Evidence for accurate-mass spectra (MS/MS): a library peak is matched when a query peak
    lies within ``tolerance_da + tolerance_ppm`` of it."""
    (low, high), source = judged_range(query)
    qm, qc = np.asarray(query.position), np.asarray(query.intensity)
    lm, lc = np.asarray(reference.position), np.asarray(reference.intensity)
    inside = (lm >= low - tolerance_da) & (lm <= high + tolerance_da)
    if qm.size:
        j = np.clip(np.searchsorted(qm, lm), 1, qm.size) - 1
        near = np.minimum(np.abs(qm[j] - lm),
                          np.abs(qm[np.minimum(j + 1, qm.size - 1)] - lm))
        hit = near <= tolerance_da + np.abs(lm) * tolerance_ppm * 1e-6
    else:
        hit = np.zeros(lm.size, bool)
    return _evidence(qm, qc, lm, lc, inside, hit, (low, high), source)


def _evidence(qm, qc, lm, lc, inside, hit, rng, source) -> MatchEvidence:
    qc = np.asarray(qc, float)
    lc = np.asarray(lc, float)
    q_floor = MATCH_FLOOR * qc.max() if qc.size else 0.0
    l_floor = MATCH_FLOOR * lc.max() if lc.size else 0.0
    total = float(lc.sum())
    in_range = float(lc[inside].sum())
    explained = float(lc[inside & hit].sum())
    return MatchEvidence(
        query_peaks=int(np.count_nonzero(qc >= q_floor)) if qc.size else 0,
        matched_peaks=int(np.count_nonzero(inside & hit & (lc >= l_floor))),
        reference_peaks=int(np.count_nonzero(inside & (lc >= l_floor))),
        library_in_range=in_range / total if total > 0 else 0.0,
        explained=explained / in_range if in_range > 0 else 0.0,
        range_mz=(float(rng[0]), float(rng[1])), range_source=source)
