"""The query side of NMR search: a component (peak list, or picked spectrum) as signals.

Decisions
---------
* A peak list (nmrshiftdb2, BMRB, NMReDATA, a JCAMP peak table) is searched as the peak
  list it is: never re-picked (:func:`fentid.components.nmr_components` passes it through).
* Signals of the residual solvent and of the 0 ppm standard are removed first
  (the windows of :func:`fentid.spectra.nmr_match.solvent_windows`, as
  :func:`fentid.searching.without_solvent` uses).
* A D2O spectrum with no internal-standard line at 0 ppm is taken as referenced to HDO
  (TopSpin's ``.SHIFT REFERENCE INTERNAL, D2O`` habit, 4.70-4.80 ppm).  When its HDO line
  dominates, the axis is corrected by putting HDO where it sits on the DSS scale at the
  sample's temperature (:func:`hdo_offset`: 4.79 ppm at 25 C,
  -0.0119 ppm/K); otherwise the global offset searched against DSS/TSP-referenced lists
  widens to 0.1 ppm.
"""

from __future__ import annotations

import numpy as np

from fentid.spectra import nmr_match as M

#: A line within this (ppm) of 0 and at least this fraction of the tallest line is an
#: internal standard (DSS, TSP, TMS).
STANDARD_PPM = 0.03
STANDARD_FRACTION = 0.01


def _has_standard(peaks) -> bool:
    pos, inten = peaks.position, peaks.intensity
    if pos.size == 0 or inten.max() <= 0:
        return False
    near = np.abs(pos) <= STANDARD_PPM
    return bool(near.any() and inten[near].max() >= STANDARD_FRACTION * inten.max())


#: HDO on the DSS scale at 298.15 K (ppm) and its temperature coefficient (ppm/K)
#: (Gottlieb, Kotlyar, Nudelman, J. Org. Chem. 1997, 62, 7512: 4.79 at 25 C, -0.0119/K).
HDO_PPM_298K = 4.79
HDO_PPM_PER_K = -0.0119


def hdo_offset(spectrum) -> float | None:
    """Offset (ppm) that puts an HDO-referenced D2O spectrum on the DSS scale: where HDO
    should be at the sample's temperature minus where its tallest line in 4.5-5.1 ppm is;
    None when no such line dominates the spectrum."""
    axis, y = spectrum.axis, spectrum.intensities
    window = (axis >= 4.5) & (axis <= 5.1)
    if not window.any() or y[window].max() < 0.5 * y.max():
        return None
    where = float(axis[window][np.argmax(y[window])])
    try:
        temp = float(spectrum.metadata.get("temperature_k") or 298.15)
    except (TypeError, ValueError):
        temp = 298.15
    return HDO_PPM_298K + HDO_PPM_PER_K * (temp - 298.15) - where


def _without_solvent(peaks, solvent):
    """The peaks outside the solvent and standard windows (all of them if none remain)."""
    from fentid.spectra.model import PeakList

    keep = M.outside_windows(peaks.position, peaks.nucleus or "", solvent)
    if keep.all() or not keep.any():
        return peaks
    return PeakList(peaks.position[keep], peaks.intensity[keep], width=peaks.width[keep],
                    area=peaks.area[keep], snr=peaks.snr[keep], unit=peaks.unit,
                    technique=peaks.technique, nucleus=peaks.nucleus, metadata=peaks.metadata,
                    provenance=peaks.provenance)


def hdo_referenced(component) -> bool:
    """A D2O component whose axis was set on HDO (solvent referencing, or a spectrum
    without an internal-standard line at 0 ppm)."""
    meta = dict(component.spectrum.metadata) if component.spectrum is not None else {}
    meta.update({k: v for k, v in component.peaks.metadata.items() if v is not None})
    return M.canonical_solvent(meta.get("solvent")) == "d2o" and (
        meta.get("referenced") == "solvent" or (component.spectrum is not None
                                                and not _has_standard(component.peaks)))


def query_signals(component) -> M.Signals:
    """Signals of a component's peaks, with its solvent, field and referencing."""
    meta = dict(component.spectrum.metadata) if component.spectrum is not None else {}
    meta.update({k: v for k, v in component.peaks.metadata.items() if v is not None})
    solvent = meta.get("solvent")
    peaks = _without_solvent(component.peaks, solvent)
    try:
        field = float(meta.get("spectrometer_frequency_mhz"))
    except (TypeError, ValueError):
        field = None
    hdo = hdo_referenced(component)
    kind = meta.get("list_kind") if component.spectrum is None else "lines"
    position = peaks.position
    if hdo and component.spectrum is not None and component.peaks.nucleus == "1H":
        shift = hdo_offset(component.spectrum)
        if shift is not None:
            # corrected: the HDO line put where it sits on the DSS scale at this temperature
            position, hdo = position + shift, False
    mult = meta.get("multiplicity") if component.spectrum is None else None
    if mult is not None and len(mult) == len(component.peaks) and len(peaks) != len(mult):
        keep = np.isin(component.peaks.position, peaks.position)
        mult = [m for m, k in zip(mult, keep) if k]
    return M.to_signals(position, peaks.intensity, component.peaks.nucleus or "1H",
                        field, solvent, hdo, kind, mult)
