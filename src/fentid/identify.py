"""read -> process -> pick -> search -> report; shared by the CLI, the daemon and the GUI.

This module holds the glue only: drivers read, :mod:`fentid.spectra` processes
and picks, :mod:`fentid.reference_library` searches.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from fentid.drivers import read
from fentid.errors import FormatError
from fentid.spectra.model import Dataset, Fid, PeakList, Run, Spectrum


@dataclass(frozen=True)
class Component:
    """One thing to identify: an NMR peak list, a GC-MS component or one MS spectrum.

    Attributes
    ----------
    name : str
        Name from the file (MSP ``Name:``), or ``"<file> @ <rt> s"`` for GC-MS.
    peaks : PeakList
    retention_time_s : float or None
    area : float or None
        Chromatographic area (GC-MS components), intensity x seconds.
    spectrum : Spectrum or None
        The processed spectrum the peaks came from (for display and NMR scores).
    """

    name: str
    peaks: PeakList
    retention_time_s: float | None = None
    area: float | None = None
    spectrum: Spectrum | None = None


def nmr_components(ds: Dataset, snr: float | None = None,
                   min_relative_height: float | None = None) -> list[Component]:
    """Process every 1-D NMR item of ``ds`` and pick its peaks."""
    from fentid.spectra import nmr, peaks

    out = []
    has_fid = any(isinstance(i, Fid) and i.ndim == 1 for i in ds.items)
    for item in ds.items:
        if isinstance(item, Fid) and item.ndim > 1:
            continue  # 2-D data is read and described, not identified
        if has_fid and isinstance(item, Spectrum):
            continue  # the vendor's processed copy of the same FID (nmrML): process the FID
        spectrum = nmr.process_default(item)
        picked = peaks.pick_peaks(spectrum, snr=snr, min_relative_height=min_relative_height)
        name = item.metadata.get("name") or os.path.basename(ds.path.rstrip("/"))
        out.append(Component(name=name, peaks=picked, spectrum=spectrum))
    if not out:
        raise FormatError("no 1-D NMR data to pick peaks from (2-D data is described only)",
                          ds.path)
    return out


def ms_components(ds: Dataset, snr: float | None = None) -> list[Component]:
    """GC/LC-MS runs to component spectra; stored MS spectra to one component each."""
    from fentid.spectra import gcms

    out = []
    base = os.path.basename(ds.path.rstrip("/"))
    has_scan = any(isinstance(i, Run) and i.metadata.get("acquisition_mode") != "SIM"
                   for i in ds.items)
    for index, item in enumerate(ds.items, start=1):
        if isinstance(item, Run):
            if has_scan and item.metadata.get("acquisition_mode") == "SIM":
                continue  # a few selected ions (Agilent dataSim.ms) are no full EI spectrum
            for comp in gcms.extract_components(item):
                out.append(Component(
                    name=f"{base} @ {comp.retention_time_s:.2f} s", peaks=comp.peaks,
                    retention_time_s=comp.retention_time_s, area=comp.area))
        elif isinstance(item, Spectrum):
            picked = gcms.spectrum_to_peaks(item)
            out.append(Component(
                name=item.metadata.get("name") or f"{base} #{index}", peaks=picked,
                retention_time_s=item.metadata.get("retention_time_s"), spectrum=item))
    return out


def components_of(ds: Dataset, snr: float | None = None) -> list[Component]:
    """Everything in a dataset that can be searched, processed and picked."""
    if ds.technique == "nmr":
        return nmr_components(ds, snr=snr)
    return ms_components(ds, snr=snr)


def peaks_report(path: str | os.PathLike, snr: float | None = None,
                 min_relative_height: float | None = None) -> dict:
    """``fentid peaks``: process and pick one file.

    ``min_relative_height`` (NMR only) drops lines below that fraction of the tallest
    non-solvent line (see :func:`fentid.spectra.peaks.pick_peaks`).

    Returns
    -------
    dict
        NMR: ``{"path", "unit": "ppm", "nucleus", "peaks": [{"position", "intensity",
        "width", "snr", "area"}]}`` (several 1-D items add ``"spectra"``).
        MS: ``{"path", "components": [{"name", "retention_time_s", "area",
        "peaks": [{"mz", "intensity"}]}]}``.
    """
    ds = read(path, **_component_read_options(path))
    if ds.technique == "nmr":
        comps = nmr_components(ds, snr=snr, min_relative_height=min_relative_height)
    else:
        comps = ms_components(ds, snr=snr)
    if ds.technique == "nmr":
        first = comps[0].peaks
        report = {"path": ds.path, "unit": first.unit, "nucleus": first.nucleus,
                  "peaks": _nmr_peak_rows(first)}
        if len(comps) > 1:
            report["spectra"] = [{"name": c.name, "peaks": _nmr_peak_rows(c.peaks)}
                                 for c in comps]
        return report
    return {"path": ds.path, "components": [
        {"name": c.name, "retention_time_s": c.retention_time_s, "area": c.area,
         "peaks": [{"mz": float(m), "intensity": float(i)}
                   for m, i in zip(c.peaks.position, c.peaks.intensity, strict=True)]}
        for c in comps]}


def _component_read_options(path) -> dict:
    """Driver options for component extraction only.

    mzML/mzXML runs too large to keep as stored are binned to nominal mass
    while they stream: all that component extraction uses, bit-identical, and
    a few MB whatever the run's size (see the fentid.drivers.mzml docstring).
    """
    from fentid.drivers import find_driver
    from fentid.spectra.chromatography import NOMINAL_BOUNDARY

    if find_driver(path).name in ("mzml", "mzxml"):
        return {"nominal_boundary": NOMINAL_BOUNDARY}
    return {}


def _nmr_peak_rows(pl: PeakList) -> list[dict]:
    # NMR peaks are listed high to low ppm, as spectroscopists read them
    rows = []
    for k in range(len(pl) - 1, -1, -1):
        rows.append({"position": round(float(pl.position[k]), 5),
                     "intensity": float(pl.intensity[k]),
                     "width": _finite(pl.width[k]), "snr": _finite(pl.snr[k]),
                     "area": _finite(pl.area[k])})
    return rows


def _finite(value):
    value = float(value)
    return value if math.isfinite(value) else None


def format_peaks_text(report: dict) -> str:
    """Human-readable ``fentid peaks`` output."""
    lines = [report["path"]]
    if "components" in report:
        lines.append(f"  {len(report['components'])} components")
        for c in report["components"]:
            rt = c["retention_time_s"]
            top = sorted(c["peaks"], key=lambda p: -p["intensity"])[:8]
            ions = " ".join(f"{p['mz']:.0f}" for p in top)
            where = f"RT {rt:8.2f} s" if rt is not None else c["name"]
            area = f"  area {c['area']:.4g}" if c.get("area") is not None else ""
            lines.append(f"  {where}{area}  {len(c['peaks'])} peaks; strongest m/z {ions}")
        return "\n".join(lines) + "\n"
    lines.append(f"  nucleus {report['nucleus']}, {len(report['peaks'])} peaks (ppm, high to low)")
    lines.append(f"  {'ppm':>10} {'intensity':>12} {'width':>9} {'snr':>8} {'area':>12}")
    for p in report["peaks"]:
        width = f"{p['width']:.4f}" if p["width"] is not None else "-"
        snr = f"{p['snr']:.1f}" if p["snr"] is not None else "-"
        area = f"{p['area']:.4g}" if p["area"] is not None else "-"
        lines.append(f"  {p['position']:>10.4f} {p['intensity']:>12.4g} {width:>9} "
                     f"{snr:>8} {area:>12}")
    return "\n".join(lines) + "\n"


# --- search ------------------------------------------------------------------------------

#: Score used when the user does not choose one, per library technique.
DEFAULT_ALGORITHM = {"ei": "identity", "ms1": "identity", "msms": "entropy"}

#: MS/MS library entries must have the query's precursor m/z within this (Da + ppm):
#: product-ion spectra of different precursors can look alike (codeine and
#: diphenhydramine share their fragment pattern at high energy), and a spectrum of
#: another precursor mass is never the same compound.
PRECURSOR_TOLERANCE_DA = 0.01
PRECURSOR_TOLERANCE_PPM = 10.0
#: How many MS/MS hits to rank before the precursor filter (then cut to ``top``).
PRECURSOR_CANDIDATES = 500


def query_technique(component: Component) -> str:
    """Library technique a component is searched against (ei, ms1, msms, nmr_1h, ...)."""
    from fentid.curation import technique_of

    return technique_of(component.peaks)


class LibrarySearcher:
    """An open library with one search index per technique, reused across queries.

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
        self._entries: dict = {}
        self._nmr: dict = {}
        self._retired: dict = {}

    def close(self) -> None:
        self.library.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def entries(self, technique: str) -> list[dict]:
        """Every entry of a technique as a dict (one per entry: for small tables only)."""
        if technique not in self._entries:
            self._entries[technique] = self.library.entries(technique)
        return self._entries[technique]

    def columns(self, technique: str) -> dict:
        """The technique's entry table as numpy columns (no Python object per entry)."""
        return self.library.entry_columns(technique)

    def live_compound_rows(self, technique: str):
        """Compound rows with at least one entry of ``technique`` that is not retired."""
        import numpy as np

        cols = self.columns(technique)
        return np.unique(cols["compound"][cols["retired"] == 0])

    def has(self, technique: str) -> bool:
        return technique in self.library.techniques()

    def search(self, component: Component, algorithm: str | None = None,
               top: int = 10) -> tuple[str, str, list[dict]]:
        """Search one component.

        Returns
        -------
        technique, algorithm, hits
            ``hits`` best first, as dicts with ``rank, entry_id, compound, inchikey,
            score, mf, rmf, source_record`` (plus ``isomer_group``, ``formula``,
            ``technique`` for the conclusion).
        """
        technique = query_technique(component)
        if not self.has(technique):
            return technique, algorithm or "", []
        if technique.startswith("nmr"):
            return technique, "nmr", self._search_nmr(component, technique, top)
        algorithm = algorithm or DEFAULT_ALGORITHM.get(technique, "identity")
        if technique not in self._index:
            self._index[technique] = self.library.search_index(technique)
        cols = self.columns(technique)
        if technique not in self._retired:
            self._retired[technique] = int(cols["retired"].sum())
        retired = self._retired[technique]
        precursor = component.peaks.metadata.get("precursor_mz")
        filtered = technique == "msms" and precursor is not None
        want = top + retired + (PRECURSOR_CANDIDATES if filtered else 0)
        raw = self._index[technique].search(component.peaks, algorithm=algorithm, top=want)
        hits = []
        for h in raw:
            row = h.entry_index
            if cols["retired"][row]:
                continue
            if filtered and not _same_precursor(precursor, float(cols["precursor_mz"][row])):
                continue
            entry = self.library.entry_at(technique, row)  # dicts for hits only
            hits.append(self._hit_row(entry, h.score, h.mf, h.rmf, len(hits) + 1))
            if len(hits) == top:
                break
        return technique, algorithm, hits

    def _search_nmr(self, component: Component, technique: str, top: int) -> list[dict]:
        from fentid.spectra import scores_nmr

        if technique not in self._nmr:
            self._nmr[technique] = [
                (e, self.library.entry_peaklist(e["entry_id"]))
                for e in self.entries(technique) if not e["retired"]]
        # fields from the query spectrum and the entry (picked peak lists do not carry them)
        q_meta = component.spectrum.metadata if component.spectrum else {}
        q_mhz = _finite_or_none(q_meta.get("spectrometer_frequency_mhz"))
        scored = []
        for e, ref in self._nmr[technique]:
            # both sides lose the signals of both solvents (a record may not state its own)
            solvents = (q_meta.get("solvent"), e.get("solvent"))
            score = scores_nmr.nmr_peak_similarity(
                without_solvent(component.peaks, *solvents), without_solvent(ref, *solvents),
                query_mhz=q_mhz, reference_mhz=_finite_or_none(e.get("field_mhz")))
            scored.append((score, e))
        scored.sort(key=lambda se: (-se[0], se[1]["entry_id"]))
        return [self._hit_row(e, s, None, None, k)
                for k, (s, e) in enumerate(scored[:top], start=1) if s > 0]

    def _hit_row(self, entry: dict, score, mf, rmf, rank: int) -> dict:
        comp = self.library.compound_row(entry["compound_id"])
        return {"rank": rank, "entry_id": int(entry["entry_id"]), "compound": entry["compound"],
                "inchikey": entry["inchikey"] or None, "score": _round(score),
                "mf": _round(mf), "rmf": _round(rmf), "source_record": entry["source_record"],
                "source": entry.get("source"), "isomer_group": comp.get("isomer_group") or None,
                "formula": comp.get("formula") or None}


def _same_precursor(query_mz: float, library_mz) -> bool:
    """True when the library entry's precursor is unknown or within tolerance of the query's."""
    if library_mz is None or math.isnan(library_mz):  # NaN: the record did not say
        return True
    tol = PRECURSOR_TOLERANCE_DA + abs(query_mz) * PRECURSOR_TOLERANCE_PPM * 1e-6
    return abs(float(library_mz) - float(query_mz)) <= tol


#: Half-width (ppm) of the window around the residual solvent signal left out of NMR search,
#: per nucleus; HDO is broad and moves with temperature, so D2O gets a wider window.
SOLVENT_WINDOW_PPM = {"1H": 0.03, "13C": 1.0, "d2o": 0.12}
#: Half-width (ppm) around 0 ppm (TMS, DSS, TSP internal standards) left out of NMR search.
STANDARD_WINDOW_PPM = {"1H": 0.03, "13C": 0.5}


def without_solvent(peaks: PeakList, *solvents: str | None) -> PeakList:
    """NMR peaks without the residual solvent signal and the 0 ppm internal standard.

    They are in every sample of that solvent and say nothing about the compound, yet
    they can carry most of the picked intensity (HDO is about half of the 1H intensity of
    20 mM GABA in D2O), so a peak-list score normalised to total intensity is capped by
    them.  Query and references are treated alike.
    """
    import numpy as np

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


def _finite_or_none(value):
    """A positive finite float, or None (NaN, missing, 0: the record did not say)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def _round(value):
    return None if value is None else round(float(value), 4)


#: Keys of a hit in the JSON reports (internal helper keys are dropped).
HIT_KEYS = ("rank", "entry_id", "compound", "inchikey", "score", "mf", "rmf", "source_record")


def public_hits(hits: list[dict]) -> list[dict]:
    return [{k: h[k] for k in HIT_KEYS} for h in hits]


def search_files(paths, library: str, algorithm: str | None = None, top: int = 10,
                 progress=None) -> list[dict]:
    """``fentid search``: every spectrum of every query file against the library.

    Returns
    -------
    list of dict
        One ``{"query": name, "technique", "algorithm", "hits": [...]}`` per query spectrum.
    """
    out = []
    datasets = [read(p) for p in paths]  # read all first: a bad file fails before any search
    with LibrarySearcher(library) as searcher:
        comps = [(ds, c) for ds in datasets for c in components_of(ds)]
        for k, (ds, comp) in enumerate(comps, start=1):
            technique, algo, hits = searcher.search(comp, algorithm, top)
            out.append({"query": comp.name, "path": ds.path, "technique": technique,
                        "algorithm": algo, "hits": public_hits(hits)})
            if progress:
                progress(k, len(comps), comp.name)
    return out


def format_search_text(results: list[dict]) -> str:
    lines = []
    for r in results:
        lines.append(f"{r['query']}  [{r['technique']}, {r['algorithm']}]")
        if not r["hits"]:
            lines.append("  no hits")
        for h in r["hits"]:
            extra = f"  MF {h['mf']:.0f} RMF {h['rmf']:.0f}" if h["mf"] is not None else ""
            lines.append(f"  {h['rank']:>3}. {h['score']:>9.4g}  {h['compound']}"
                         f"  (entry {h['entry_id']}, record {h['source_record']}){extra}")
    return "\n".join(lines) + "\n"


# --- identify ----------------------------------------------------------------------------

#: Hits the conclusion looks at, whatever ``top`` the report shows.
CONCLUSION_DEPTH = 50


def _knowledge(searcher: LibrarySearcher, technique: str):
    """Catalog isomer groups (library compound table) and which compounds have entries."""
    from fentid.conclude import Knowledge

    groups: dict[str, set[str]] = {}
    for comp in searcher.library.compounds():
        if comp.get("isomer_group"):
            groups.setdefault(comp["isomer_group"], set()).add(comp["name"])
    covered = set()
    if searcher.has(technique):
        covered = {searcher.library.compound_row(r)["name"].lower()
                   for r in searcher.live_compound_rows(technique)}
    return Knowledge(groups=groups, in_library=covered)


def _library_summary(searcher: LibrarySearcher) -> str:
    parts = []
    for tech in searcher.library.techniques():
        n_live = int((searcher.columns(tech)["retired"] == 0).sum())
        parts.append(f"{n_live} {tech} spectra of {searcher.live_compound_rows(tech).size} "
                     "compounds")
    return f"library {os.path.basename(searcher.path)}: " + ", ".join(parts)


def identify_samples(paths, library: str, algorithm: str | None = None, top: int = 10,
                     progress=None) -> dict:
    """``fentid identify``: read, process, search and conclude, for one case.

    Parameters
    ----------
    paths : sequence of path-like
        The samples of one case (e.g. the GC-MS run and the NMR of the same powder).
    library : path-like
        Reference library file.

    Returns
    -------
    dict
        ``{"samples": [{"path", "driver", "sha256", "technique"}], "components": [{"name",
        "sample", "retention_time_s", "technique", "algorithm", "hits",
        "conclusion": {"status", "compound", "inchikey", "isomer_group", "reason",
        "candidates"}}], "case": {...}, "library": {...}}``.
    """
    from fentid import __version__
    from fentid.conclude import combine_case, conclude

    datasets = [read(p) for p in paths]
    samples = [{"path": ds.path, "driver": ds.driver, "sha256": ds.sha256,
                "technique": ds.technique} for ds in datasets]
    components = []
    with LibrarySearcher(library) as searcher:
        work = [(ds, c) for ds in datasets for c in components_of(ds)]
        knowledge = {}
        for k, (ds, comp) in enumerate(work, start=1):
            # conclude on a deep list: a rival within the replicate spread must count even
            # when the user asks to see fewer hits (--top 1 must not turn tentative into
            # identified)
            technique, algo, hits = searcher.search(comp, algorithm, max(top, CONCLUSION_DEPTH))
            if technique not in knowledge:
                knowledge[technique] = _knowledge(searcher, technique)
            conclusion = conclude(hits, algorithm=algo, knowledge=knowledge[technique],
                                  technique="nmr" if technique.startswith("nmr") else "ms")
            if not searcher.has(technique):
                conclusion["reason"] = f"the library has no {technique} spectra to compare with"
            components.append({
                "name": comp.name, "sample": ds.path, "retention_time_s": comp.retention_time_s,
                "area": comp.area, "technique": technique, "algorithm": algo,
                "hits": public_hits(hits[:top]), "conclusion": conclusion})
            if progress:
                progress(k, len(work), comp.name)
        summary = _library_summary(searcher)
        lib_info = {"path": searcher.path, "library_version": searcher.library.library_version,
                    "checksum": searcher.library.checksum}
    case = combine_case(samples, components, summary)
    return {"fentid_version": __version__, "library": lib_info, "samples": samples,
            "components": components, "case": case}


def format_identify_text(report: dict) -> str:
    """The human-readable identification report."""
    lines = ["fentid identification report", "=" * 29, ""]
    lib = report["library"]
    lines.append(f"Library: {lib['path']} (version {lib['library_version']}, "
                 f"checksum {lib['checksum'][:16]})")
    lines.append("Samples:")
    for s in report["samples"]:
        lines.append(f"  {s['path']}  [{s['driver']}, {s['technique']}]  sha256 {s['sha256']}")
    lines.append("")
    for c in report["components"]:
        concl = c["conclusion"]
        rt = f" at {c['retention_time_s']:.2f} s" if (
            c.get("retention_time_s") is not None and " @ " not in c["name"]) else ""
        lines.append(f"Component {c['name']}{rt}  [{c['technique']}, {c['algorithm']}]")
        what = concl["compound"] or "-"
        if concl["status"] == "isomer_group":
            what = f"{concl['isomer_group']} (one of: {', '.join(concl['candidates'])})"
        lines.append(f"  Conclusion: {concl['status'].upper()}: {what}")
        lines.append(f"  Reason: {concl['reason']}")
        for h in c["hits"][:5]:
            mf = f" MF {h['mf']:.0f} RMF {h['rmf']:.0f}" if h["mf"] is not None else ""
            lines.append(f"    {h['rank']:>2}. {h['score']:>8.4g}  {h['compound']}{mf}")
        lines.append("")
    case = report["case"]
    lines.append("Case")
    cats = ", ".join(f"{t} (SWGDRUG category {c})" for t, c in case["swgdrug_categories"].items())
    lines.append(f"  Techniques: {cats}")
    lines.append(f"  Meets SWGDRUG minimum: {'yes' if case['meets_swgdrug_minimum'] else 'no'}"
                 + (f" (for {', '.join(case['supported_compounds'])})"
                    if case["supported_compounds"] else ""))
    lines.append("  Limitations:")
    lines.extend(f"    - {lim}" for lim in case["limitations"])
    return "\n".join(lines) + "\n"
