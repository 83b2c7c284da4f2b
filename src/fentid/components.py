"""Datasets to the things fentid identifies: NMR peak lists, GC/LC-MS components, MS spectra.

Read by drivers, processed and picked by :mod:`fentid.spectra`; searched and concluded on by
:mod:`fentid.pipeline`.  Heavy modules (scipy.signal through the GC-MS code, NMR processing)
are imported only for the data that need them, so an MSP query never pays for them.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from fentid.errors import FormatError
from fentid.spectra.model import Dataset, Fid, PeakList, Run, Spectrum


@dataclass(frozen=True)
class Chromatogram:
    """Total-ion chromatogram of a run: what a viewer draws under the components.

    Attributes
    ----------
    retention_time_s : ndarray of float64, shape (n_scans,)
    tic : ndarray of float64, shape (n_scans,)
    run : Run
        The run itself (extracted-ion traces are computed from it on demand).
    """

    retention_time_s: np.ndarray
    tic: np.ndarray
    run: Run

    def eic(self, mz: float, tolerance_da: float = 0.5) -> np.ndarray:
        """Extracted-ion current at ``mz`` +- ``tolerance_da``, one value per scan."""
        run = self.run
        inside = np.abs(run.mz - mz) <= tolerance_da
        scan_of = np.repeat(np.arange(run.n_scans), np.diff(run.offsets))
        return np.bincount(scan_of[inside], weights=run.intensity[inside],
                           minlength=run.n_scans).astype(np.float64)


@dataclass(frozen=True)
class Component:
    """One thing to identify: an NMR peak list, a GC-MS component or one MS spectrum.

    Attributes
    ----------
    name : str
        Name from the file (MSP ``Name:``), or ``"<file> @ <rt> s"`` for GC-MS.
    peaks : PeakList
        What is searched (nominal-mass or cleaned MS peaks, or NMR peaks in ppm).
    retention_time_s : float or None
        Apex retention time (GC/LC-MS), seconds.
    area : float or None
        Chromatographic area (GC-MS components), intensity x seconds.
    spectrum : Spectrum or None
        The processed spectrum the peaks came from (NMR scores, display).
    start_s, stop_s : float or None
        Extent of the component's chromatographic peak, seconds.
    chromatogram : Chromatogram or None
        The run it came from (GC/LC-MS).
    """

    name: str
    peaks: PeakList
    retention_time_s: float | None = None
    area: float | None = None
    spectrum: Spectrum | None = None
    start_s: float | None = None
    stop_s: float | None = None
    chromatogram: Chromatogram | None = None


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
        if isinstance(item, PeakList):
            out.append(Component(name=item.metadata.get("name") or _base(ds), peaks=item))
            continue
        if isinstance(item, Spectrum) and item.centroided:
            # a peak table (JCAMP ##PEAK TABLE): searched as the peak list it is, not
            # re-picked as if it were a profile spectrum
            out.append(Component(name=item.metadata.get("name") or _base(ds), peaks=PeakList(
                item.axis, item.intensities, unit=item.unit, technique="nmr",
                nucleus=item.nucleus, metadata=item.metadata, provenance=item.provenance)))
            continue
        spectrum = nmr.process_default(item)
        picked = peaks.pick_peaks(spectrum, snr=snr, min_relative_height=min_relative_height)
        name = item.metadata.get("name") or _base(ds)
        out.append(Component(name=name, peaks=picked, spectrum=spectrum))
    if not out:
        raise FormatError("no 1-D NMR data to pick peaks from (2-D data is described only)",
                          ds.path)
    return out


def _base(ds: Dataset) -> str:
    return os.path.basename(ds.path.rstrip("/"))


def ms_components(ds: Dataset, snr: float | None = None) -> list[Component]:
    """GC/LC-MS runs to component spectra; stored MS spectra to one component each."""
    out = []
    base = _base(ds)
    has_scan = any(isinstance(i, Run) and i.metadata.get("acquisition_mode") != "SIM"
                   for i in ds.items)
    for index, item in enumerate(ds.items, start=1):
        if isinstance(item, Run):
            if has_scan and item.metadata.get("acquisition_mode") == "SIM":
                continue  # a few selected ions (Agilent dataSim.ms) are no full EI spectrum
            out.extend(_run_components(item, base))
        elif isinstance(item, Spectrum):
            from fentid.spectra.ms_peaks import spectrum_to_peaks

            picked = spectrum_to_peaks(item)
            out.append(Component(
                name=item.metadata.get("name") or f"{base} #{index}", peaks=picked,
                retention_time_s=item.metadata.get("retention_time_s"), spectrum=item))
        elif isinstance(item, PeakList):
            out.append(Component(name=item.metadata.get("name") or f"{base} #{index}",
                                 peaks=item, retention_time_s=item.metadata.get(
                                     "retention_time_s")))
    return out


def _run_components(run: Run, base: str) -> list[Component]:
    from fentid.spectra import gcms

    chrom = Chromatogram(np.asarray(run.retention_time_s), run.tic(), run)
    return [Component(name=f"{base} @ {c.retention_time_s:.2f} s", peaks=c.peaks,
                      retention_time_s=c.retention_time_s, area=c.area,
                      start_s=_finite(c.start_s), stop_s=_finite(c.stop_s),
                      chromatogram=chrom)
            for c in gcms.extract_components(run)]


def components_of(ds: Dataset, snr: float | None = None) -> list[Component]:
    """Everything in a dataset that can be searched, processed and picked."""
    if ds.technique == "nmr":
        return nmr_components(ds, snr=snr)
    return ms_components(ds, snr=snr)


def component_read_options(path) -> dict:
    """Driver options for component extraction only.

    mzML/mzXML runs too large to keep as stored are binned to nominal mass
    while they stream: all that component extraction uses, bit-identical, and
    a few MB whatever the run's size (see the fentid.drivers.mzml docstring).
    """
    from fentid.drivers import find_driver

    if find_driver(path).name in ("mzml", "mzxml"):
        from fentid.spectra.centroid import NOMINAL_BOUNDARY

        return {"nominal_boundary": NOMINAL_BOUNDARY}
    return {}


def _finite(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


# --- fentid peaks ----------------------------------------------------------------------------

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
        "peaks": [{"mz", "intensity"}]}]}``.  Both carry ``problems`` (records of a
        multi-record file that could not be read: ``{"record", "name", "reason"}``).
    """
    from fentid.drivers import read

    ds = read(path, **component_read_options(path))
    problems = [p.as_dict() for p in ds.problems]
    if ds.technique == "nmr":
        comps = nmr_components(ds, snr=snr, min_relative_height=min_relative_height)
        first = comps[0].peaks
        report = {"path": ds.path, "unit": first.unit, "nucleus": first.nucleus,
                  "peaks": _nmr_peak_rows(first)}
        if len(comps) > 1:
            report["spectra"] = [{"name": c.name, "peaks": _nmr_peak_rows(c.peaks)}
                                 for c in comps]
        report["problems"] = problems
        return report
    comps = ms_components(ds, snr=snr)
    return {"path": ds.path, "components": [
        {"name": c.name, "retention_time_s": _round(c.retention_time_s, 3),
         "area": _round(c.area, 6, significant=True),
         "peaks": [{"mz": round(float(m), 5), "intensity": round(float(i), 4)}
                   for m, i in zip(c.peaks.position, c.peaks.intensity, strict=True)]}
        for c in comps], "problems": problems}


def _round(value, digits: int, significant: bool = False):
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        return None
    if significant and value != 0:
        digits = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return round(value, digits)


def _nmr_peak_rows(pl: PeakList) -> list[dict]:
    # NMR peaks are listed high to low ppm, as spectroscopists read them
    rows = []
    for k in range(len(pl) - 1, -1, -1):
        rows.append({"position": round(float(pl.position[k]), 5),
                     "intensity": float(pl.intensity[k]),
                     "width": _finite(pl.width[k]), "snr": _finite(pl.snr[k]),
                     "area": _finite(pl.area[k])})
    return rows


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
    else:
        lines.append(f"  nucleus {report['nucleus']}, {len(report['peaks'])} peaks "
                     "(ppm, high to low)")
        lines.append(f"  {'ppm':>10} {'intensity':>12} {'width':>9} {'snr':>8} {'area':>12}")
        for p in report["peaks"]:
            width = f"{p['width']:.4f}" if p["width"] is not None else "-"
            snr = f"{p['snr']:.1f}" if p["snr"] is not None else "-"
            area = f"{p['area']:.4g}" if p["area"] is not None else "-"
            lines.append(f"  {p['position']:>10.4f} {p['intensity']:>12.4g} {width:>9} "
                         f"{snr:>8} {area:>12}")
    for prob in report.get("problems") or ():
        lines.append(f"  unreadable record {prob['record']}: {prob['reason']}")
    return "\n".join(lines) + "\n"
