"""Chemical-shift referencing of NMR spectra (IUPAC unified scale, TMS = 0 ppm).

Order of preference, first that applies:

1. ``metadata["referenced"] == "vendor"``: the spectrum (or FID carrier) is
   already referenced by the vendor software; nothing to do.
2. ``metadata["vendor_reference"]`` with ``sf_mhz`` (Bruker ``SF``: the
   frequency of 0 ppm): the axis is recomputed exactly as TopSpin does,
   ``ppm = (f - SF) / SF``.  ``shift_ppm`` (a plain offset) is accepted too.
3. An internal standard (TMS, DSS or TSP, all 0 ppm): the tallest line of
   the right-most group of significant peaks (at least 2 % of the tallest
   line: the standard's 13C and 29Si satellites are smaller and ignored),
   within :data:`STANDARD_WINDOW_PPM` of 0.
4. The residual solvent signal from :data:`SOLVENT_SHIFTS` (Fulmer et al.,
   Organometallics 2010, 29, 2176), when the solvent is known and a peak is
   found within :data:`SOLVENT_WINDOW_PPM` of its expected shift.
5. Otherwise the spectrometer's own scale is kept (``referenced =
   "spectrometer"``) with a :class:`DataQualityWarning`.

When the file could not place the carrier at all (``metadata["carrier_known"]
is False``, e.g. an nmrML that records no carrier offset) the unreferenced
axis can be several ppm off, so the internal standard is looked for over the
whole spectrum, and accepted only if it is a singlet (no line above
:data:`SINGLET_NEIGHBOUR_FRACTION` of it within :data:`SINGLET_HALF_WIDTH_HZ`);
a warning says the reference was assumed.  If none is found the spectrum is
``referenced = "unreferenced"`` with a warning.  Every warning names the file.
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
#: Peaks below this fraction of the tallest line are not candidates for the standard
#: (its own satellites are 0.55 % (13C) and 2.3 % (29Si, TMS) of it).
STANDARD_MIN_FRACTION = 0.02
#: Peaks this close (ppm) to the right-most candidate belong to its group.
STANDARD_GROUP_PPM = 0.05
#: Singlet test (carrier unknown): no other line within this many Hz ...
SINGLET_HALF_WIDTH_HZ = 20.0
#: ... taller than this fraction of the candidate (29Si satellites of TMS: 2.3 %).
SINGLET_NEIGHBOUR_FRACTION = 0.05


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
    carrier_known = meta.get("carrier_known", True) is not False
    attempts = {"vendor": _vendor, "standard": _standard, "solvent": _solvent}
    if not carrier_known:
        # an axis that may be ppm off: a solvent window would catch the wrong line
        attempts.pop("solvent")
    order = list(attempts) if method == "auto" else [method] if method in attempts else []
    for name in order:
        new_axis = attempts[name](spectrum, solvent)
        if new_axis is not None:
            if name == "standard" and not carrier_known:
                where = float(spectrum.axis[0] - new_axis[0])
                _warn(spectrum, "the file does not place the carrier, so the spectrum was "
                      f"referenced by taking its right-most strong singlet ({where:.3f} ppm "
                      "on the unreferenced scale) as the internal standard (TMS/DSS/TSP, "
                      "0 ppm): check that the sample holds one")
            return _apply(spectrum, new_axis, name)
    if method == "none":
        return _apply(spectrum, spectrum.axis, "spectrometer")
    if not carrier_known:
        _warn(spectrum, "the file does not place the carrier and no internal-standard "
              "singlet was found: the ppm axis is unreferenced (carrier put at 0 ppm) and "
              "chemical shifts are not comparable with references")
        return _apply(spectrum, spectrum.axis, "unreferenced")
    _warn(spectrum, "no chemical-shift reference found (no vendor reference, internal "
          "standard or known solvent signal); spectrometer scale kept")
    return _apply(spectrum, spectrum.axis, "spectrometer")


def _warn(spectrum: Spectrum, message: str) -> None:
    """A :class:`DataQualityWarning` naming the file the spectrum came from."""
    source = spectrum.provenance.source
    warnings.warn(f"{source}: {message}" if source else message, DataQualityWarning,
                  stacklevel=3)


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
    carrier_known = spectrum.metadata.get("carrier_known", True) is not False
    idx, heights = _peaks(spectrum)
    if idx.size == 0:
        return None
    strong = heights >= STANDARD_MIN_FRACTION * heights.max()
    axis = spectrum.axis
    # TMS/DSS/TSP is the right-most (lowest ppm) significant line; its satellites
    # and anything within a coupling of it form its group, whose tallest line it is
    lowest = axis[idx[strong][0]]
    group = strong & (axis[idx] <= lowest + STANDARD_GROUP_PPM)
    k = int(np.flatnonzero(group)[np.argmax(heights[group])])
    pos = axis[idx[k]]
    if carrier_known and abs(pos) > window:
        return None
    if not carrier_known and not _is_singlet(spectrum, idx, heights, k):
        return None
    return axis - pos


def _is_singlet(spectrum: Spectrum, idx: np.ndarray, heights: np.ndarray, k: int) -> bool:
    """True when no other peak within :data:`SINGLET_HALF_WIDTH_HZ` rises above
    :data:`SINGLET_NEIGHBOUR_FRACTION` of peak ``k``."""
    obs = spectrum.metadata.get("obs_mhz") or spectrum.metadata.get(
        "spectrometer_frequency_mhz")
    if not obs:
        return False
    axis = spectrum.axis
    near = np.abs(axis[idx] - axis[idx[k]]) * obs <= SINGLET_HALF_WIDTH_HZ
    near[k] = False
    return not np.any(heights[near] > SINGLET_NEIGHBOUR_FRACTION * heights[k])


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
