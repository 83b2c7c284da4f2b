"""Chemical-shift referencing of NMR spectra (IUPAC unified scale, TMS = 0 ppm).

Order of preference, first that applies:

1. ``metadata["referenced"] == "vendor"``: the spectrum (or FID carrier) is
   already referenced by the vendor software; nothing to do.
2. ``metadata["vendor_reference"]`` with ``sf_mhz`` (Bruker ``SF``: the
   frequency of 0 ppm): the axis is recomputed exactly as TopSpin does,
   ``ppm = (f - SF) / SF``.  ``shift_ppm`` (a plain offset) is accepted too.
3. An internal standard (TMS, DSS or TSP, all 0 ppm): a strong narrow singlet
   that is the right-most significant peak, within :data:`STANDARD_WINDOW_PPM`
   of 0.
4. The residual solvent signal from :data:`SOLVENT_SHIFTS` (Fulmer et al.,
   Organometallics 2010, 29, 2176), when the solvent is known and a peak is
   found within :data:`SOLVENT_WINDOW_PPM` of its expected shift.
5. Otherwise the spectrometer's own scale is kept (``referenced =
   "spectrometer"``) with a :class:`DataQualityWarning`.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
from scipy import signal

from fentid.errors import DataQualityWarning
from fentid.spectra.model import Spectrum
from fentid.spectra.nmr_noise import estimate_noise

#: Residual solvent shifts (ppm) by nucleus: 1H residual protio signal, 13C solvent carbon.
SOLVENT_SHIFTS = {
    "cdcl3": {"1H": 7.26, "13C": 77.16},
    "dmso": {"1H": 2.50, "13C": 39.52},
    "cd3od": {"1H": 3.31, "13C": 49.00},
    "d2o": {"1H": 4.79},
    "c6d6": {"1H": 7.16, "13C": 128.06},
    "acetone": {"1H": 2.05, "13C": 29.84},
    "cd3cn": {"1H": 1.94, "13C": 1.32},
    "cd2cl2": {"1H": 5.32, "13C": 53.84},
    "thf": {"1H": 3.58, "13C": 67.21},
    "toluene": {"1H": 2.08, "13C": 20.43},
    "pyridine": {"1H": 8.74, "13C": 150.35},
}
_ALIASES = {"chloroform": "cdcl3", "dmso-d6": "dmso", "dmsod6": "dmso", "meod": "cd3od",
            "methanol": "cd3od", "methanol-d4": "cd3od", "h2o+d2o": "d2o", "h2o/d2o": "d2o",
            "water": "d2o", "benzene": "c6d6", "acetone-d6": "acetone", "acetonitrile": "cd3cn",
            "dcm": "cd2cl2", "thf-d8": "thf", "toluene-d8": "toluene", "tol": "toluene",
            "pyr": "pyridine", "pyridine-d5": "pyridine"}
#: How far (ppm) from 0 an internal standard may sit on the unreferenced scale.
STANDARD_WINDOW_PPM = {"1H": 0.3, "13C": 3.0}
#: How far (ppm) from its table value the solvent signal may sit.
SOLVENT_WINDOW_PPM = {"1H": 0.3, "13C": 3.0}
#: Minimum SNR of a reference peak.
REFERENCE_SNR = 20.0


def solvent_key(name: str | None) -> str | None:
    """Normalise a solvent name (``"DMSO-d6"``, ``"CDCl3"``...) to a :data:`SOLVENT_SHIFTS` key."""
    if not name:
        return None
    key = re.sub(r"\s+", "", str(name).lower())
    if key in SOLVENT_SHIFTS:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    for known in SOLVENT_SHIFTS:
        if key.startswith(known):
            return known
    return None


def reference(spectrum: Spectrum, *, method: str = "auto", solvent: str | None = None
              ) -> Spectrum:
    """Put the ppm axis on the IUPAC scale.

    Parameters
    ----------
    spectrum : Spectrum
    method : {"auto", "vendor", "standard", "solvent", "none"}
        ``auto`` tries vendor, internal standard, solvent in that order.
    solvent : str, optional
        Overrides ``metadata["solvent"]``.

    Returns
    -------
    Spectrum
        ``metadata["referenced"]`` says how (``vendor``, ``standard``,
        ``solvent``, ``spectrometer``); ``metadata["reference_shift_ppm"]``
        the shift applied.
    """
    meta = spectrum.metadata
    if meta.get("referenced") == "vendor" and method in ("auto", "vendor"):
        return spectrum.evolve("reference", {"method": "vendor", "shift_ppm": 0.0})
    attempts = {"vendor": _vendor, "standard": _standard, "solvent": _solvent}
    order = list(attempts) if method == "auto" else [method] if method in attempts else []
    for name in order:
        new_axis = attempts[name](spectrum, solvent)
        if new_axis is not None:
            return _apply(spectrum, new_axis, name)
    if method not in ("none",):
        warnings.warn("no chemical-shift reference found (no vendor reference, internal "
                      "standard or known solvent signal); spectrometer scale kept",
                      DataQualityWarning, stacklevel=2)
    return _apply(spectrum, spectrum.axis, "spectrometer")


def _apply(spectrum: Spectrum, axis: np.ndarray, how: str) -> Spectrum:
    shift = float(np.mean(axis - spectrum.axis)) if len(spectrum) else 0.0
    meta = dict(spectrum.metadata)
    meta["referenced"] = how
    meta["reference_shift_ppm"] = shift
    return spectrum.evolve("reference", {"method": how, "shift_ppm": round(shift, 6)},
                           axis=axis, metadata=meta)


def _vendor(spectrum: Spectrum, solvent) -> np.ndarray | None:
    ref = spectrum.metadata.get("vendor_reference") or {}
    if "shift_ppm" in ref:
        return spectrum.axis + float(ref["shift_ppm"])
    sf = ref.get("sf_mhz")
    obs = spectrum.metadata.get("obs_mhz")
    carrier = spectrum.metadata.get("carrier_ppm")
    if not sf or not obs or carrier is None:
        return None
    # absolute frequency (Hz) of every point, then ppm against SF, as TopSpin does
    freq_hz = obs * 1e6 + (spectrum.axis - carrier) * obs
    return (freq_hz - sf * 1e6) / sf


def _peaks(spectrum: Spectrum):
    y = spectrum.intensities
    noise = estimate_noise(y) or 1.0
    idx, props = signal.find_peaks(y, height=REFERENCE_SNR * noise,
                                   prominence=REFERENCE_SNR * noise / 2)
    return idx, props["peak_heights"]


def _standard(spectrum: Spectrum, solvent) -> np.ndarray | None:
    window = STANDARD_WINDOW_PPM.get(spectrum.nucleus or "")
    if window is None or not len(spectrum):
        return None
    idx, heights = _peaks(spectrum)
    if idx.size == 0:
        return None
    # TMS/DSS/TSP is the right-most (lowest ppm) significant peak
    low = idx[0]
    pos = spectrum.axis[low]
    if abs(pos) > window or heights[0] < 0.02 * heights.max():
        return None
    return spectrum.axis - pos


def _solvent(spectrum: Spectrum, solvent) -> np.ndarray | None:
    key = solvent_key(solvent or spectrum.metadata.get("solvent"))
    expected = SOLVENT_SHIFTS.get(key or "", {}).get(spectrum.nucleus or "")
    window = SOLVENT_WINDOW_PPM.get(spectrum.nucleus or "")
    if expected is None or window is None:
        return None
    idx, heights = _peaks(spectrum)
    near = np.abs(spectrum.axis[idx] - expected) <= window
    if not near.any():
        return None
    best = idx[near][np.argmax(heights[near])]
    return spectrum.axis + (expected - spectrum.axis[best])
