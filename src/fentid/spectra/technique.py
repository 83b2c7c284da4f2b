"""Which library technique a spectrum belongs to: ei, ms1, msms, nmr_1h, nmr_13c, nmr_19f.

One decision for the curator's import and the search: EI factors and thresholds are for EI
data only, so an ESI or APCI full scan is ``ms1`` whatever else it looks like.
"""

from __future__ import annotations

import math

import numpy as np

from fentid.errors import ValidationError

_NUCLEUS_TECH = {"1H": "nmr_1h", "13C": "nmr_13c", "19F": "nmr_19f"}


def technique_of(item) -> str:
    """Library technique of a driver item (ei, ms1, msms, nmr_1h, nmr_13c, nmr_19f).

    Raises
    ------
    ValidationError
        For items that are not a peak list or stick spectrum (FIDs, runs, profile spectra).
    """
    from fentid.spectra.model import Fid, PeakList, Run, Spectrum

    if isinstance(item, Fid):
        raise ValidationError("raw NMR FID: process it and pick peaks before adding it")
    if isinstance(item, Run):
        raise ValidationError("a GC/LC-MS run holds many scans: extract the component "
                              "spectrum (fentid peaks) and add that")
    if not isinstance(item, Spectrum | PeakList):
        raise ValidationError(f"cannot store a {type(item).__name__}")
    meta = item.metadata
    if item.technique == "nmr":
        tech = _NUCLEUS_TECH.get(item.nucleus or "")
        if tech is None:
            raise ValidationError(f"nucleus {item.nucleus!r} is not stored (1H, 13C, 19F)")
        if isinstance(item, Spectrum) and not item.centroided:
            raise ValidationError("NMR profile spectrum without a peak list: pick peaks first")
        return tech
    if isinstance(item, Spectrum) and not item.centroided:
        raise ValidationError("profile (not centroided) mass spectrum: centroid it first")
    level = meta.get("ms_level") or 1
    if level >= 2 or _finite(meta.get("precursor_mz")):
        return "msms"
    # ionization is a normalised code (fentid.spectra.ionization) or None
    ion = meta.get("ionization")
    if ion is None:
        # a record that names no source (SWGDRUG, NIST MSP) is EI when its masses are
        # nominal; accurate-mass full scans without a source are not compared with EI
        pos, _ = _peaks(item)
        nominal = pos.size == 0 or bool(np.all(np.abs(pos - np.round(pos)) < 1e-6))
        return "ei" if nominal else "ms1"
    return "ei" if ion == "EI" else "ms1"


def _finite(value) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _peaks(item) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(item, "position"):
        return np.asarray(item.position), np.asarray(item.intensity)
    return np.asarray(item.axis), np.asarray(item.intensities)
