"""read -> process -> pick -> search -> report; shared by the CLI, the daemon and the GUI.

This module holds the glue only: drivers read, :mod:`fentid.spectra` processes
and picks, :mod:`fentid.reference_library` searches.
"""

from __future__ import annotations

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


def nmr_components(ds: Dataset, snr: float | None = None) -> list[Component]:
    """Process every 1-D NMR item of ``ds`` and pick its peaks."""
    from fentid.spectra import nmr, peaks

    out = []
    for item in ds.items:
        if isinstance(item, Fid) and item.ndim > 1:
            continue  # 2-D data is read and described, not identified
        spectrum = nmr.process_default(item)
        picked = peaks.pick_peaks(spectrum, snr=snr)
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
    for index, item in enumerate(ds.items, start=1):
        if isinstance(item, Run):
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


def peaks_report(path: str | os.PathLike, snr: float | None = None) -> dict:
    """``fentid peaks``: process and pick one file.

    Returns
    -------
    dict
        NMR: ``{"path", "unit": "ppm", "nucleus", "peaks": [{"position", "intensity",
        "width", "snr", "area"}]}`` (several 1-D items add ``"spectra"``).
        MS: ``{"path", "components": [{"name", "retention_time_s", "area",
        "peaks": [{"mz", "intensity"}]}]}``.
    """
    ds = read(path)
    comps = components_of(ds, snr=snr)
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
    return value if value == value and abs(value) != float("inf") else None


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
