"""Checks NMR drivers share: decoded values must be numbers a spectrometer can write.

A byte-swapped or overwritten data section decodes to NaN, infinities,
magnitudes no digitiser produces (float64 exponents near 1e300) or zeros.  Left in,
they surface much later as numpy ``overflow``/``invalid value`` warnings and
a bare "must be finite" model error that names no file; these checks turn
them into one :class:`~fentid.errors.CorruptDataError` that says which file,
which part and how many values.
"""

from __future__ import annotations

import numpy as np

from fentid.errors import CorruptDataError

#: Largest magnitude accepted in decoded NMR data.  32-bit digitisers summed over
#: a million scans stay below 1e16; float formats scale that, but nothing real
#: comes near 1e100, while swapped float64 bytes routinely give 1e200 or more
#: (and squaring such values, as power spectra do, overflows).
MAX_MAGNITUDE = 1e100


def check_data(values: np.ndarray, path, what: str) -> None:
    """Raise :class:`CorruptDataError` when ``values`` hold NaN, inf, absurd magnitudes or only zeros.

    An all-zero data section is a wiped or never-written file: processed, it
    gives a flat spectrum and an empty peak list that look like "no signal".

    Parameters
    ----------
    values : ndarray
        Decoded data (real or complex), any shape.
    path : path-like
        The file the values come from (named in the message).
    what : str
        Which part of the file (``"fid"``, ``"data section"``...).
    """
    flat = np.asarray(values).ravel()
    parts = (flat.real, flat.imag) if np.iscomplexobj(flat) else (flat,)
    nonfinite = np.zeros(flat.size, dtype=bool)
    huge = np.zeros(flat.size, dtype=bool)
    with np.errstate(all="ignore"):
        for part in parts:
            finite = np.isfinite(part)
            nonfinite |= ~finite
            huge |= finite & (np.abs(part) > MAX_MAGNITUDE)
    bad = nonfinite | huge
    if not bad.any():
        if flat.size and not np.any(flat):
            raise CorruptDataError(f"{what} holds only zeros ({flat.size} values): nothing was "
                                   "recorded, or the data were overwritten", path)
        return
    kinds = []
    if nonfinite.any():
        kinds.append(f"{int(nonfinite.sum())} NaN or infinite")
    if huge.any():
        kinds.append(f"{int(huge.sum())} beyond {MAX_MAGNITUDE:.0e}")
    raise CorruptDataError(
        f"{what} holds {int(bad.sum())} of {flat.size} values that are not data "
        f"({', '.join(kinds)}; the first is value {int(np.argmax(bad))}): the data are "
        "corrupt or were read with the wrong byte order", path)
