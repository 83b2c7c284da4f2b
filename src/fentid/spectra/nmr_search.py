"""The query side of NMR search: a component (peak list, or picked spectrum) as signals.

Decisions
---------
* A peak list (nmrshiftdb2, BMRB, NMReDATA, a JCAMP peak table) is searched as the peak
  list it is: never re-picked (:func:`fentid.components.nmr_components` passes it through).
* Signals of the residual solvent and of the 0 ppm standard are removed first
  (:func:`fentid.searching.without_solvent`).
* A D2O spectrum with no internal-standard line at 0 ppm is taken as referenced to HDO
  (TopSpin's ``.SHIFT REFERENCE INTERNAL, D2O`` habit, 4.70-4.80 ppm): the global offset
  searched against DSS/TSP-referenced lists widens to 0.1 ppm.
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


def query_signals(component) -> M.Signals:
    """Signals of a component's peaks, with its solvent, field and referencing."""
    from fentid.searching import without_solvent

    meta = dict(component.spectrum.metadata) if component.spectrum is not None else {}
    meta.update({k: v for k, v in component.peaks.metadata.items() if v is not None})
    solvent = meta.get("solvent")
    peaks = without_solvent(component.peaks, solvent)
    try:
        field = float(meta.get("spectrometer_frequency_mhz"))
    except (TypeError, ValueError):
        field = None
    hdo = M.canonical_solvent(solvent) == "d2o" and (
        meta.get("referenced") == "solvent" or (component.spectrum is not None
                                                and not _has_standard(component.peaks)))
    kind = meta.get("list_kind") if component.spectrum is None else "lines"
    return M.to_signals(peaks.position, peaks.intensity, component.peaks.nucleus or "1H",
                        field, solvent, hdo, kind)
