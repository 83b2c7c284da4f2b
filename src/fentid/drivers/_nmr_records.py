"""Shared helpers of the NMR reference-record drivers (nmrshiftdb2, BMRB, NMReDATA, ASICS).

Not a driver.  Every record these drivers read becomes an NMR :class:`PeakList` (or a
processed :class:`Spectrum` for ASICS) with the same well-known metadata keys, so the
library import records the conditions alike whatever the source:

``name``, ``synonyms``, ``inchikey``, ``inchi``, ``smiles``, ``formula``, ``solvent``,
``spectrometer_frequency_mhz``, ``temperature_k``, ``ph``, ``shift_reference`` (``"DSS"``,
``"TMS"``, ``"TSP"``, ``"solvent"``; None when the record does not say), ``record_id``
(the source's own id, e.g. ``bmse000065#spectral_peak_1H``), ``list_kind`` (``"signals"``:
one row per multiplet or atom; ``"lines"``: peak-picked transitions), ``multiplicity``
(tuple, one letter per peak or ``""``), ``lines`` (tuple of (ppm, intensity) transitions
when the source gives them beside the signals), ``predicted`` (False for the measured
records listed here; the drivers skip predicted spectra).
"""

from __future__ import annotations

import re

import numpy as np

from fentid.spectra.model import PeakList, Provenance

#: Keys every record's metadata has (None when the source does not say).
METADATA_KEYS = ("name", "synonyms", "inchikey", "inchi", "smiles", "formula", "solvent",
                 "spectrometer_frequency_mhz", "temperature_k", "ph", "shift_reference",
                 "record_id", "list_kind", "multiplicity", "lines", "predicted", "licence",
                 "accession")

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def number(text) -> float | None:
    """First number in ``text`` (``"298 K"`` -> 298.0); None for ``"Unreported"``, ``"."``."""
    if text is None:
        return None
    if isinstance(text, int | float):
        return float(text)
    match = _NUMBER.search(str(text))
    return float(match.group()) if match else None


def reference_name(text: str | None) -> str | None:
    """Normalised chemical-shift standard named in ``text`` (DSS, TSP, TMS) or None."""
    low = (text or "").lower()
    for name in ("dss", "tsp", "tms"):
        if name in low:
            return name.upper()
    if "solvent" in low or "residual" in low:
        return "solvent"
    return None


def group_equal(position, intensity, multiplicity=None, decimals: int = 4):
    """Merge rows with the same shift (per-atom lists: a CH3 is listed three times).

    Returns positions (ascending), summed intensities and the first multiplicity of each.
    """
    pos = np.round(np.asarray(position, float), decimals)
    inten = np.asarray(intensity, float)
    mult = list(multiplicity) if multiplicity is not None else [""] * pos.size
    uniq, inverse = np.unique(pos, return_inverse=True)
    total = np.bincount(inverse, weights=inten, minlength=uniq.size)
    first = [""] * uniq.size
    for k in range(pos.size - 1, -1, -1):
        first[inverse[k]] = mult[k]
    return uniq, total, tuple(first)


def peak_list(position, intensity, nucleus: str, metadata: dict, path: str, driver: str,
              sha256: str, record: int) -> PeakList:
    """An NMR peak list in ppm with every :data:`METADATA_KEYS` key present."""
    meta = {key: metadata.get(key) for key in METADATA_KEYS}
    meta.update({k: v for k, v in metadata.items() if k not in meta})
    meta["predicted"] = bool(meta.get("predicted"))
    order = np.argsort(np.asarray(position, float), kind="stable")
    mult = meta.get("multiplicity")
    if mult is not None and len(mult) == order.size:
        meta["multiplicity"] = tuple(mult[k] for k in order)  # follows the sorted peaks
    prov = Provenance(source=str(path), driver=driver, sha256=sha256, record=record)
    return PeakList.from_unsorted(np.asarray(position, float), np.asarray(intensity, float),
                                  unit="ppm", technique="nmr", nucleus=nucleus, metadata=meta,
                                  provenance=prov)


def nucleus_of(text: str) -> str | None:
    """``"1H"``, ``"13C"``, ``"19F"`` from ``"H"``/``"1H"``/``"C"``/``"13C"``..., else None."""
    t = (text or "").strip().upper()
    return {"H": "1H", "1H": "1H", "C": "13C", "13C": "13C", "F": "19F", "19F": "19F"}.get(t)
