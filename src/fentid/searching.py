"""An open reference library that searches components: one object, opened once, reused.

:class:`LibrarySearcher` keeps the library file open with one search index per technique,
the compound knowledge the conclusion rules need, and per-hit evidence (how much of each
reference spectrum the query shows, :mod:`fentid.spectra.match_evidence`).  The CLI, the
viewer, the watch-folder service and archive re-screening all search through it.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from typing import NamedTuple

from fentid.errors import DataQualityWarning

#: Score used when the user does not choose one, per library technique.
DEFAULT_ALGORITHM = {"ei": "identity", "ms1": "entropy", "msms": "entropy"}
#: NIST factors: EI scores, used for EI data only.
NIST_ALGORITHMS = ("identity", "reverse", "similarity")

#: MS/MS library entries must have the query's precursor m/z within this (Da + ppm):
#: product-ion spectra of different precursors can look alike (codeine and
#: diphenhydramine share their fragment pattern at high energy), and a spectrum of
#: another precursor mass is never the same compound.
PRECURSOR_TOLERANCE_DA = 0.01
PRECURSOR_TOLERANCE_PPM = 10.0
#: How many MS/MS hits to rank before the precursor filter (then cut to ``top``).
PRECURSOR_CANDIDATES = 500
#: Hits (best first) that get match evidence computed (the conclusion reads the best).
EVIDENCE_HITS = 10

#: Half-width (ppm) of the window around the residual solvent signal left out of NMR search,
#: per nucleus; HDO is broad and moves with temperature, so D2O gets a wider window.
SOLVENT_WINDOW_PPM = {"1H": 0.03, "13C": 1.0, "d2o": 0.12}
#: Half-width (ppm) around 0 ppm (TMS, DSS, TSP internal standards) left out of NMR search.
STANDARD_WINDOW_PPM = {"1H": 0.03, "13C": 0.5}

#: Keys of a hit in the JSON reports (internal helper keys are dropped).
HIT_KEYS = ("rank", "entry_id", "compound", "record_name", "inchikey", "score", "mf", "rmf",
            "source_record", "source", "licence", "evidence")


def query_technique(component) -> str:
    """Library technique a component's peaks are searched against (ei, ms1, msms, nmr_1h...)."""
    from fentid.spectra.technique import technique_of

    return technique_of(component.peaks)


class LibrarySearcher:
    """An open library with one search index per technique, reused across queries.

    Thread-safe for searching (indexes are built under a lock; a search reads only).

    Parameters
    ----------
    path : path-like
        The library file.
    """

    def __init__(self, path: str | os.PathLike):
        from fentid.reference_library import Library

        self.path = str(path)
        self.library = Library.open(path)
        self._index: dict = {}
        self._nmr: dict = {}
        self._retired: dict = {}
        self._knowledge: dict = {}
        self._lock = threading.Lock()

    # --- library facts ------------------------------------------------------------------
    def close(self) -> None:
        self.library.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def library_version(self) -> int:
        return self.library.library_version

    @property
    def checksum(self) -> str:
        return self.library.checksum

    def entries(self, technique: str) -> list[dict]:
        """Every entry of a technique as a dict (one per entry: for small tables only)."""
        return self.library.entries(technique)

    def columns(self, technique: str) -> dict:
        """The technique's entry table as numpy columns (no Python object per entry)."""
        return self.library.entry_columns(technique)

    def live_compound_rows(self, technique: str):
        """Compound rows with at least one entry of ``technique`` that is not retired."""
        import numpy as np

        cols = self.columns(technique)
        return np.unique(cols["compound"][cols["retired"] == 0])

    def has(self, technique: str) -> bool:
        """The library holds live (not retired) entries of ``technique``."""
        if technique not in self.library.techniques():
            return False
        return bool((self.columns(technique)["retired"] == 0).any())

    def summary(self) -> str:
        """One line on what the library holds (for reports)."""
        parts = []
        for tech in self.library.techniques():
            n_live = int((self.columns(tech)["retired"] == 0).sum())
            parts.append(f"{n_live} {tech} spectra of {self.live_compound_rows(tech).size} "
                         "compounds")
        return f"library {os.path.basename(self.path)}: " + ", ".join(parts)

    def knowledge(self, technique: str):
        """Compound knowledge for the conclusion rules (cached per technique)."""
        from fentid.conclude import Knowledge

        if technique not in self._knowledge:
            covered = []
            if technique in self.library.techniques():
                covered = [self.library.compound_row(int(r))["name"]
                           for r in self.live_compound_rows(technique)]
            self._knowledge[technique] = Knowledge.from_compounds(self.library.compounds(),
                                                                  covered)
        return self._knowledge[technique]

    # --- search -------------------------------------------------------------------------
    def plan(self, component, algorithm: str | None = None) -> tuple[str, str, bool]:
        """(library technique, algorithm, cross_level) to search ``component`` with.

        EI data use the NIST factors against EI references; other full-scan MS1 data
        (ESI, APCI, CI...) are searched against MS1 references of the library, else against
        its MS/MS references (``cross_level``: at most tentative), never as EI.
        """
        technique = query_technique(component)
        if technique.startswith("nmr"):
            return technique, "nmr", False
        cross = False
        if technique == "ms1" and not self.has("ms1") and self.has("msms"):
            technique, cross = "msms", True
        if algorithm in NIST_ALGORITHMS and technique != "ei":
            ion = component.peaks.metadata.get("ionization") or "non-EI"
            warnings.warn(f"{component.name}: the NIST {algorithm} factor is an EI score; "
                          f"this {ion} spectrum is searched with "
                          f"{DEFAULT_ALGORITHM[technique]} instead", DataQualityWarning,
                          stacklevel=2)
            algorithm = None
        return technique, algorithm or DEFAULT_ALGORITHM.get(technique, "identity"), cross

    def search(self, component, algorithm: str | None = None,
               top: int = 10) -> tuple[str, str, list[dict]]:
        """Search one component.

        Returns
        -------
        technique, algorithm, hits
            ``hits`` best first, as dicts with ``rank, entry_id, compound, record_name,
            inchikey, score, mf, rmf, source_record, source, licence`` and, for the best
            :data:`EVIDENCE_HITS`, ``evidence``; plus ``compound_id``, ``isomer_group``,
            ``formula`` for the conclusion.
        """
        technique, algorithm, cross = self.plan(component, algorithm)
        if not self.has(technique):
            return technique, algorithm, []
        if technique.startswith("nmr"):
            return technique, "nmr", self._search_nmr(component, technique, top)
        cols = self.columns(technique)
        precursor = component.peaks.metadata.get("precursor_mz")
        filtered = technique == "msms" and precursor is not None and not cross
        if algorithm in NIST_ALGORITHMS and self._small(technique):
            raw = self._scan_small(component.peaks, technique, algorithm)
        else:
            index = self._search_index(technique)
            want = top + self._retired[technique] + (PRECURSOR_CANDIDATES if filtered else 0)
            raw = index.search(component.peaks, algorithm=algorithm, top=want)
        hits = []
        for h in raw:
            row = h.entry_index
            if cols["retired"][row]:
                continue
            if filtered and not _same_precursor(precursor, float(cols["precursor_mz"][row])):
                continue
            entry = self.library.entry_at(technique, row)  # dicts for hits only
            hit = self._hit_row(entry, h.score, h.mf, h.rmf, len(hits) + 1)
            if len(hits) < EVIDENCE_HITS:
                hit["evidence"] = self._evidence(component, technique, row)
            hits.append(hit)
            if len(hits) == top:
                break
        return technique, algorithm, hits

    def _small(self, technique: str) -> bool:
        from fentid.spectra.nist_numpy import SMALL_LIBRARY

        return self.columns(technique)["entry_id"].size <= SMALL_LIBRARY

    def _scan_small(self, query, technique: str, algorithm: str) -> list:
        """Every entry scored with numpy (a small library: no index load, no numba start-up;
        the same hits as the index, tested), best first, ties by entry row."""
        import numpy as np

        from fentid.spectra import nist_numpy
        from fentid.spectra.scores_ms import nist_preprocess

        with self._lock:
            if ("view", technique) not in self._index:
                pos, inten, off = self.library.peaks(technique)
                self._index[("view", technique)] = nist_numpy.nominal_view(pos, inten, off)
            lm, lc, loff = self._index[("view", technique)]
        qm, qc = nist_preprocess(query.position, query.intensity)
        modes = {"identity": (False, True, True), "reverse": (True, True, True),
                 "similarity": (False, False, False)}
        scores = {}
        for name in {algorithm, "identity", "reverse"}:
            rev, weighted, ratio = modes[name]
            scores[name] = nist_numpy.nist_factors_all(qm, qc, lm, lc, loff, reverse=rev,
                                                       mass_weighted=weighted, ratio=ratio)
        score = scores[algorithm]
        idx = np.flatnonzero(score > 0)
        idx = idx[np.lexsort((idx, -score[idx]))]
        return [_Hit(int(i), float(score[i]), float(scores["identity"][i]),
                     float(scores["reverse"][i])) for i in idx[:PRECURSOR_CANDIDATES]]

    def _search_index(self, technique: str):
        with self._lock:
            if technique not in self._index:
                self._index[technique] = self.library.search_index(technique)
                self._retired[technique] = int(self.columns(technique)["retired"].sum())
            return self._index[technique]

    def _evidence(self, component, technique: str, row: int) -> dict:
        from fentid.spectra import match_evidence as me
        from fentid.spectra.model import PeakList

        pos, inten = self.library.entry_peaks(technique, row)
        ref = PeakList.from_unsorted(pos, inten)
        fn = me.nominal_evidence if technique == "ei" else me.accurate_evidence
        return fn(component.peaks, ref).as_dict()

    def _search_nmr(self, component, technique: str, top: int) -> list[dict]:
        from fentid.spectra.nmr_search import query_signals

        with self._lock:
            if technique not in self._nmr:
                from fentid.reference_library.search_nmr import NmrIndex

                self._nmr[technique] = NmrIndex(self.library, technique)
        index = self._nmr[technique]
        found = index.search(query_signals(component), top)
        hits = []
        for k, (score, e, m) in enumerate(found, start=1):
            hit = self._hit_row(e, score, None, None, k)
            hit["nmr_evidence"] = {"matched_signals": len(m.pairs),
                               "reference_signals": int(index.signals[
                                   index.entries.index(e)].n),
                               "query_signals": len(m.pairs) + len(m.unmatched_query),
                               "coverage": round(m.coverage, 4),
                               "offset_ppm": round(m.offset_ppm, 4),
                               "solvent": e.get("solvent") or None,
                               "field_mhz": _finite_or_none(e.get("field_mhz")),
                               "predicted": bool(_conditions(e).get("predicted"))}
            hits.append(hit)
        return hits

    def _hit_row(self, entry: dict, score, mf, rmf, rank: int) -> dict:
        comp = self.library.compound_row(entry["compound_id"])
        return {"rank": rank, "entry_id": int(entry["entry_id"]), "compound": entry["compound"],
                "record_name": entry.get("record_name") or entry["compound"],
                "inchikey": entry["inchikey"] or None, "score": _round(score),
                "mf": _round(mf), "rmf": _round(rmf), "source_record": entry["source_record"],
                "source": entry.get("source") or None, "licence": entry.get("licence") or None,
                "evidence": None, "compound_id": int(entry["compound_id"]),
                "isomer_group": comp.get("isomer_group") or None,
                "formula": comp.get("formula") or None}


class _Hit(NamedTuple):
    """A hit of the small-library scan (the fields of reference_library.search.Hit, without
    importing the index and its compiled kernels)."""

    entry_index: int
    score: float
    mf: float
    rmf: float


def public_hits(hits: list[dict]) -> list[dict]:
    """Hits as the JSON reports show them (:data:`HIT_KEYS`)."""
    return [{k: h.get(k) for k in HIT_KEYS} for h in hits]


def _same_precursor(query_mz: float, library_mz) -> bool:
    """True when the library entry's precursor is unknown or within tolerance of the query's."""
    if library_mz is None or math.isnan(library_mz):  # NaN: the record did not say
        return True
    tol = PRECURSOR_TOLERANCE_DA + abs(query_mz) * PRECURSOR_TOLERANCE_PPM * 1e-6
    return abs(float(library_mz) - float(query_mz)) <= tol


def without_solvent(peaks, *solvents: str | None):
    """NMR peaks without the residual solvent signal and the 0 ppm internal standard.

    They are in every sample of that solvent and say nothing about the compound, yet
    they can carry most of the picked intensity (HDO is about half of the 1H intensity of
    20 mM GABA in D2O), so a peak-list score normalised to total intensity is capped by
    them.  Query and references are treated alike.
    """
    import numpy as np

    from fentid.spectra.model import PeakList
    from fentid.spectra.nmr_reference import SOLVENT_SHIFTS, solvent_key

    nucleus = peaks.nucleus or ""
    pos = peaks.position
    keep = np.abs(pos) > STANDARD_WINDOW_PPM.get(nucleus, 0.0)
    for solvent in solvents:
        key = solvent_key(solvent) if solvent else None
        shift = SOLVENT_SHIFTS.get(key or "", {}).get(nucleus)
        if shift is not None:
            half = SOLVENT_WINDOW_PPM["d2o"] if key == "d2o" and nucleus == "1H" \
                else SOLVENT_WINDOW_PPM.get(nucleus, 0.0)
            keep &= np.abs(pos - shift) > half
    if keep.all() or not keep.any():
        return peaks
    return PeakList(pos[keep], peaks.intensity[keep], width=peaks.width[keep],
                    area=peaks.area[keep], snr=peaks.snr[keep], unit=peaks.unit,
                    technique=peaks.technique, nucleus=peaks.nucleus, metadata=peaks.metadata,
                    provenance=peaks.provenance)


def _conditions(entry: dict) -> dict:
    from fentid.curation_nmr import entry_conditions

    return entry_conditions(entry)


def _finite_or_none(value):
    """A positive finite float, or None (NaN, missing, 0: the record did not say)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def _round(value):
    return None if value is None else round(float(value), 4)
