"""One vocabulary for ionisation techniques, whatever the file called them.

Drivers write what the file says (``"Electron Impact"`` in ANDI netCDF, the PSI-MS term
``"electron ionization"`` in mzML, ``"EI+"`` in MassLynx headers, ``"GC-EI-TOF"`` as a
MassBank instrument type, ``"ESI"``, ``"Positive CI"``...).  The model normalises the
``ionization`` metadata key once, on construction (:mod:`fentid.spectra.model`), to one of
:data:`CODES`, keeping the file's own words under ``ionization_raw`` when they differ.
Everything downstream (the library technique of a spectrum, nominal-mass binning, which
scores and thresholds apply) reads the code, so two spellings of one technique can never be
treated differently again.
"""

from __future__ import annotations

import re

#: Normalised ionisation codes.  EI and CI are gas-phase sources (GC-MS, unit resolution);
#: the others are LC/ambient sources whose spectra are not comparable with EI references.
CODES = ("EI", "CI", "ESI", "APCI", "APPI", "MALDI", "DART", "DESI", "FAB", "FI", "FD")
#: Sources whose full-scan spectra are compared with EI references by NIST factors.
EI_CODES = frozenset({"EI"})
#: Gas-phase sources of unit-resolution GC-MS (nominal-mass spectra).
GAS_PHASE_CODES = frozenset({"EI", "CI"})

# Phrases first (longest first), so "atmospheric pressure chemical ionization" is APCI,
# not CI, and "electrospray" is ESI.
_PHRASES = (
    ("atmospheric pressure chemical ionization", "APCI"),
    ("atmospheric pressure chemical ionisation", "APCI"),
    ("atmospheric pressure photoionization", "APPI"),
    ("atmospheric pressure photoionisation", "APPI"),
    ("matrix-assisted laser desorption", "MALDI"),
    ("matrix assisted laser desorption", "MALDI"),
    ("desorption electrospray", "DESI"),
    ("direct analysis in real time", "DART"),
    ("fast atom bombardment", "FAB"),
    ("electrospray", "ESI"),
    ("electron ionization", "EI"),
    ("electron ionisation", "EI"),
    ("electron impact", "EI"),
    ("chemical ionization", "CI"),
    ("chemical ionisation", "CI"),
    ("field desorption", "FD"),
    ("field ionization", "FI"),
    ("field ionisation", "FI"),
)
#: PSI-MS accessions of the sources above (mzML writers may give only the accession).
_PSI = {"MS:1000389": "EI", "MS:1000071": "CI", "MS:1000073": "ESI", "MS:1000070": "APCI",
        "MS:1000382": "APPI", "MS:1000075": "MALDI", "MS:1000074": "FAB", "MS:1000258": "FI",
        "MS:1000257": "FD", "MS:1001521": "DART", "MS:1000387": "DESI"}
# Tokens as instrument types and vendor headers write them: "GC-EI-TOF", "ESI+", "ESIP",
# "PCI", "NCI", "nanoESI".
_TOKENS = {"EI": "EI", "CI": "CI", "PCI": "CI", "NCI": "CI", "ECNI": "CI", "NICI": "CI",
           "ESI": "ESI", "NANOESI": "ESI", "NSI": "ESI", "APCI": "APCI", "APPI": "APPI",
           "MALDI": "MALDI", "DART": "DART", "DESI": "DESI", "FAB": "FAB", "FI": "FI",
           "FD": "FD"}
_SPLIT = re.compile(r"[^A-Z]+")


def normalize_ionization(text) -> str | None:
    """The ionisation code (:data:`CODES`) that ``text`` names, or None.

    Parameters
    ----------
    text : str or None
        An ionisation field, a PSI-MS term or accession, a vendor header value or an
        instrument type (``"LC-ESI-QTOF"``).

    Returns
    -------
    str or None
        ``"EI"``, ``"CI"``, ``"ESI"``, ``"APCI"``...; None when the text names no known
        source (EI is never assumed here).

    Examples
    --------
    >>> [normalize_ionization(t) for t in ("Electron Impact", "electron ionization", "EI+",
    ...  "GC-EI-TOF", "Positive CI", "ESI", "atmospheric pressure chemical ionization")]
    ['EI', 'EI', 'EI', 'EI', 'CI', 'ESI', 'APCI']
    """
    if text is None:
        return None
    raw = str(text).strip()
    if not raw:
        return None
    if raw in CODES:
        return raw
    accession = re.search(r"MS:\d{7}", raw)
    if accession and accession.group(0) in _PSI:
        return _PSI[accession.group(0)]
    low = raw.lower()
    for phrase, code in _PHRASES:
        if phrase in low:
            return code
    for word in _SPLIT.split(raw.upper()):
        if not word:
            continue
        if word in _TOKENS:
            return _TOKENS[word]
        # polarity suffixes: ESIP / ESIN (NIST tags), EIP
        if word[-1] in "PN" and word[:-1] in _TOKENS:
            return _TOKENS[word[:-1]]
    return None


def normalized_metadata(metadata) -> dict:
    """``metadata`` with ``ionization`` as a code; the file's words kept in ``ionization_raw``.

    Unrecognised text is kept as ``ionization_raw`` and ``ionization`` becomes None, so no
    consumer can mistake an unknown source for a known one.
    """
    meta = dict(metadata)
    raw = meta.get("ionization")
    if raw is None or raw in CODES:
        return meta
    code = normalize_ionization(raw)
    meta["ionization"] = code
    meta.setdefault("ionization_raw", raw)
    return meta
