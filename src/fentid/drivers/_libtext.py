"""Interpreting the text fields of MS library records (shared by the MSP and MassBank drivers).

Format notes
------------
Not a driver: helpers that turn what library writers put in text fields
(``Ion_mode: P``, ``COLLISION_ENERGY 10 eV``, ``CAS#: 481298``,
``AC$INSTRUMENT_TYPE: LC-ESI-QTOF``) into fentid's well-known metadata keys,
the MSP header-to-metadata mapping (:func:`msp_metadata`), text decoding
(UTF-8, latin-1 fallback) and a vectorised parser for the unsigned decimal
numbers of peak lists (:func:`parse_unsigned_many`, bit-identical to
``float()``).  Sources: NIST MS Search manual, MassBank record format 2.6
(MassBank-web ``Record_Format``), matchms metadata filters.
"""

from __future__ import annotations

import re

import numpy as np

#: Ionisation names recognised in ionisation fields and instrument types, longest first.
IONIZATIONS = ("MALDI", "APCI", "APPI", "DART", "DESI", "ESI", "FAB", "EI", "CI", "FD", "FI")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ENERGY = re.compile(r"\s*(?:CE\s*=?\s*)?([-+]?\d+(?:\.\d+)?)\s*(?:eV|ev|EV|V)?\s*")
_MS_LEVEL = re.compile(r"MS(\d+)|MS(?:/MS)*|(\d+)")


def ionization_of(*texts: str | None) -> str | None:
    """The ionisation technique named in any of ``texts`` (``GC-EI-TOF`` -> ``"EI"``).

    Parameters
    ----------
    *texts : str or None
        Ionisation fields, instrument types, in order of trust.

    Returns
    -------
    str or None
        One of :data:`IONIZATIONS`; None when no text names one (EI is never
        assumed).
    """
    for text in texts:
        if not text:
            continue
        words = set(re.split(r"[^A-Z]+", text.upper()))
        for name in IONIZATIONS:
            # "EI+", "ESI-", "ESIP" (NIST $:10 tags) and "GC-EI-TOF" all name the source
            if name in words or f"{name}P" in words or f"{name}N" in words:
                return name
        if "ELECTROSPRAY" in words:
            return "ESI"
        if "ELECTRON" in words and ("IMPACT" in words or "IONIZATION" in words):
            return "EI"
    return None


def polarity_of(ion_mode: str | None, *charged: str | None) -> str | None:
    """``"positive"`` or ``"negative"``.

    Parameters
    ----------
    ion_mode : str or None
        An ion-mode field (``POSITIVE``, ``Negative``, ``P``, ``N``, ``+``).
    *charged : str or None
        Fallbacks whose trailing sign is the charge (``[M+H]+``, ``EI+``).
    """
    if ion_mode:
        mode = ion_mode.strip().lower()
        if mode.startswith("p") or mode == "+":
            return "positive"
        if mode.startswith("n") or mode == "-":
            return "negative"
    for text in charged:
        if text:
            tail = text.strip().rstrip("*")
            if tail.endswith("+"):
                return "positive"
            if tail.endswith("-"):
                return "negative"
    return None


def ms_level_of(spectrum_type: str | None, ionization: str | None,
                precursor_mz: float | None) -> int:
    """MS level: what the file says, else 1 for EI, else 2 with a precursor, else 1.

    Parameters
    ----------
    spectrum_type : str or None
        ``MS1``, ``MS2``, ``MS/MS``, ``2``, ``in-source``; other values (``Centroid``)
        say nothing about the level.
    ionization : str or None
        Result of :func:`ionization_of`.
    precursor_mz : float or None
        Precursor m/z in Da/e when the record gives one (0 counts as none).
    """
    if spectrum_type:
        st = spectrum_type.strip().upper().replace(" ", "")
        m = _MS_LEVEL.fullmatch(st)
        if m:
            digits = m.group(1) or m.group(2)
            return int(digits) if digits else st.count("MS")
        if st.replace("-", "") == "INSOURCE":
            return 1
    if ionization == "EI":
        return 1
    return 2 if precursor_mz else 1


def energy_ev(text: str | None) -> float | None:
    """An energy in eV: ``"40"``, ``"10 eV"``, ``"70eV"``, ``"CE=20"`` -> float.

    Percent (normalised) energies, ramps, spreads and anything else return
    None; callers keep the verbatim text.
    """
    if not text:
        return None
    m = _ENERGY.fullmatch(text)
    return float(m.group(1)) if m else None


def normalise_cas(value: str | None) -> str | None:
    """A CAS registry number with dashes, or None for ``0``/empty.

    NIST writes CAS numbers without dashes (``481298``); they are re-dashed
    (``481-29-8``) when the check digit agrees. Anything else is returned
    verbatim.
    """
    value = (value or "").strip()
    digits = value.replace("-", "")
    if not digits.isdigit():
        return value or None
    if int(digits) == 0:
        return None
    if len(digits) < 5:
        return value
    body, check = digits[:-1], int(digits[-1])
    if sum(int(d) * (i + 1) for i, d in enumerate(reversed(body))) % 10 != check:
        return value
    return f"{digits[:-3]}-{digits[-3:-1]}-{digits[-1]}"


def first_number(value: str | None) -> float | None:
    """The first decimal number in ``value`` (``"SemiStdNP=2528/2/2"`` -> 2528.0), or None."""
    m = _NUMBER.search(value or "")
    return float(m.group()) if m else None


def to_float(value: str | None) -> float | None:
    """``float(value)``, else its first number, else None."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return first_number(value)


def to_int(value: str | None) -> int | None:
    """``int(value)`` or None when it is not an integer."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def decode_text(raw: bytes) -> tuple[str, str]:
    """Decode library text with ``\\n`` line ends: UTF-8 (BOM allowed), else latin-1.

    Returns
    -------
    (str, str)
        The text and the encoding used (``"utf-8"`` or ``"latin-1"``).
    """
    try:
        text, encoding = raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = raw.decode("latin-1"), "latin-1"
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, encoding


# --- MSP header fields -------------------------------------------------------------------

#: ``key=value`` pairs in a comment: quoted, or a bare word before ``=``.
_COMMENT_PAIR = re.compile(r'"([^"=]+)=([^"]*)"|(?<![\w"])([A-Za-z][\w ]*?)=(\S+)')
#: Normalised header key -> metadata key for text fields.
_TEXT_FIELDS = {
    "formula": "formula", "inchikey": "inchikey", "smiles": "smiles", "inchi": "inchi",
    "precursortype": "precursor_type", "iontype": "precursor_type",
    "instrument": "instrument", "instrumenttype": "instrument_type",
    "license": "licence", "licence": "licence", "authors": "authors",
    "dbno": "db_id", "nistno": "nist_id", "accession": "accession", "splash": "splash",
    "id": "id", "ionmode": "ion_mode_raw", "polarity": "ion_mode_raw",
    "spectrumtype": "spectrum_type_raw", "mstype": "spectrum_type_raw",
    "mslevel": "spectrum_type_raw", "ionization": "ionization_raw",
    "ionisation": "ionization_raw", "ionsource": "ionization_raw",
    "collisionenergy": "collision_energy", "ce": "collision_energy",
}
#: Normalised header key -> metadata key for numeric fields.
_FLOAT_FIELDS = {"mw": "mw", "exactmass": "exact_mass", "precursormz": "precursor_mz"}
#: Comment ``key=value`` fields (lower case) that fill metadata keys the header left empty.
_COMMENT_FILL = {
    "license": "licence", "licence": "licence", "smiles": "smiles", "inchi": "inchi",
    "inchikey": "inchikey", "accession": "accession", "instrument": "instrument",
    "instrument type": "instrument_type", "ion type": "precursor_type",
    "precursor type": "precursor_type", "ionization": "ionization_raw",
    "ionization mode": "ion_mode_raw", "ms level": "spectrum_type_raw",
    "collision energy": "collision_energy", "ionization energy": "ionization_energy",
    "precursor m/z": "precursor_mz_raw", "parent": "precursor_mz_raw",
    "molecular formula": "formula", "exact mass": "exact_mass",
}
#: NIST ``$:NN`` synonym tags that fill fields the header left empty.
_NIST_TAGS = {
    "00": "spectrum_type_raw", "03": "precursor_type", "05": "collision_energy",
    "06": "instrument_type", "07": "instrument", "10": "ionization_raw",
    "11": "ion_mode_raw", "28": "inchikey",
}
#: Keys every spectrum's metadata has (None when the record does not say).
MSP_METADATA_KEYS = (
    "name", "synonyms", "formula", "mw", "exact_mass", "inchikey", "smiles", "cas", "nist_id",
    "db_id", "ms_level", "precursor_mz", "precursor_type", "polarity", "ionization",
    "collision_energy_ev", "comments", "retention_index", "licence", "instrument",
    "num_peaks_declared",
)


def msp_metadata(fields: list[tuple[str, str, str]]) -> dict:
    """Map MSP header fields to fentid's metadata keys, verbatim copy under ``vendor``.

    Parameters
    ----------
    fields : list of (key, normalised key, value)
        Header lines in file order; the normalised key is lower case without
        spaces, underscores, and with ``#`` spelled ``no`` (``CAS#`` -> ``casno``).

    Returns
    -------
    dict
        The keys in :data:`MSP_METADATA_KEYS` plus whatever else the record
        states (``synonyms`` tuple, ``nist_tags``, ``comment_fields``, ``vendor``).
    """
    meta: dict = {}
    synonyms, tags, vendor, notes = [], {}, {}, []
    for key, norm, value in fields:
        old = vendor.get(key)
        vendor[key] = value if old is None else (
            (*old, value) if isinstance(old, tuple) else (old, value))
        if norm == "name":
            meta["name"] = value or None
        elif norm in ("synon", "synonym", "synonyms"):
            if value.startswith("$:") and len(value) >= 4:
                tags[value[2:4]] = value[4:].strip()
            elif value:
                synonyms.append(value)
        elif norm == "numpeaks":
            meta["num_peaks_declared"] = to_int(value)
            if meta["num_peaks_declared"] is None:
                notes.append(f"'Num Peaks: {value}' is not a number")
        elif norm in _TEXT_FIELDS:
            if value:
                meta.setdefault(_TEXT_FIELDS[norm], value)
        elif norm in _FLOAT_FIELDS:
            meta[_FLOAT_FIELDS[norm]] = to_float(value)
        elif norm in ("casno", "cas"):
            meta["cas"] = normalise_cas(value)
        elif norm in ("comment", "comments") and value:
            meta["comments"] = f"{meta['comments']}; {value}" if "comments" in meta else value
        elif norm in ("retentionindex", "ri"):
            meta["retention_index"] = first_number(value)
            meta["retention_index_raw"] = value
        elif norm in ("retentiontime", "rt"):
            meta["retention_time_raw"] = value
    meta["synonyms"] = tuple(synonyms)
    if notes:
        meta["notes"] = notes
    _fill_from_comments(meta)
    if tags:
        meta["nist_tags"] = tags
        for code, target in _NIST_TAGS.items():
            if tags.get(code) and not meta.get(target):
                meta[target] = tags[code]
    _derive(meta)
    meta["vendor"] = vendor
    return meta


def _fill_from_comments(meta: dict) -> None:
    """Parse ``"key=value"`` pairs in the comment (MoNA, MassBank exports) into fields."""
    comments = meta.get("comments")
    if not comments or "=" not in comments:
        return
    pairs: dict[str, str] = {}
    for m in _COMMENT_PAIR.finditer(comments):
        key = (m.group(1) or m.group(3)).strip().lower()
        pairs.setdefault(key, (m.group(2) if m.group(1) else m.group(4)).strip())
    if pairs:
        meta["comment_fields"] = pairs
        for key, target in _COMMENT_FILL.items():
            if pairs.get(key) and not meta.get(target):
                meta[target] = pairs[key]


def _derive(meta: dict) -> None:
    """Turn the raw fields into fentid's well-known keys (units in names)."""
    if not meta.get("db_id") and meta.get("id"):
        meta["db_id"] = meta["id"]  # SWGDRUG and the NIST classifier files write ID:
    if meta.get("precursor_mz") is None and meta.get("precursor_mz_raw"):
        meta["precursor_mz"] = to_float(meta["precursor_mz_raw"])
    if isinstance(meta.get("exact_mass"), str):  # filled from a comment
        meta["exact_mass"] = to_float(meta["exact_mass"])
    if not meta.get("precursor_mz"):  # MoNA writes 0 for "none"
        meta["precursor_mz"] = None
    meta["ionization"] = ionization_of(meta.get("ionization_raw"), meta.get("instrument_type"))
    meta["polarity"] = polarity_of(meta.get("ion_mode_raw"), meta.get("precursor_type"),
                                   meta.get("ionization_raw"))
    meta["ms_level"] = ms_level_of(meta.get("spectrum_type_raw"), meta["ionization"],
                                   meta["precursor_mz"])
    if meta["ms_level"] == 1 and meta["precursor_mz"] is not None:
        # an MS1 spectrum has no precursor: RECETOX's GC-EI "PRECURSORMZ" is the molecular ion
        meta["stated_precursor_mz"], meta["precursor_mz"] = meta["precursor_mz"], None
    energy = energy_ev(meta.get("collision_energy"))
    if meta["ionization"] == "EI" and meta["ms_level"] == 1:
        # for EI the stated energy is the electron energy, not a collision energy
        meta["electron_energy_ev"] = energy if energy is not None else energy_ev(
            meta.get("ionization_energy"))
        energy = None
    meta["collision_energy_ev"] = energy
    for key in MSP_METADATA_KEYS:
        meta.setdefault(key, None)
    for key in ("ionization_raw", "ion_mode_raw", "precursor_mz_raw", "spectrum_type_raw"):
        if key in meta:
            meta.setdefault("vendor_fields", {})[key.removesuffix("_raw")] = meta.pop(key)


# --- fast numbers ----------------------------------------------------------------------------

_ZERO = 48
#: Byte classes: whitespace 0, digit 1, dot 2, "|" (text separator) 3, anything else 4.
_C_WS, _C_DIGIT, _C_DOT, _C_BAR, _C_BAD = 0, 1, 2, 3, 4
_CLASS = np.full(256, _C_BAD, dtype=np.uint8)
_CLASS[[9, 10, 11, 12, 13, 32]] = _C_WS
_CLASS[48:58] = _C_DIGIT
_CLASS[ord(".")] = _C_DOT
_CLASS[ord("|")] = _C_BAR
#: Digits per token the fast path handles exactly (mantissa < 2**53).
_MAX_DIGITS = 15
_POW10 = 10.0 ** np.arange(_MAX_DIGITS + 1)


def parse_unsigned_many(texts: list[str]) -> list[np.ndarray | None]:
    """Parse whitespace-separated unsigned decimals of many texts at once.

    Library peak lists are almost always plain ``123`` or ``123.4567``
    numbers; converting them one Python ``float()`` at a time is the slowest
    part of reading a large MSP file.  This parses every text in one pass of
    vectorised byte arithmetic: the digits of a token form an integer
    mantissa (exact in float64 up to 15 digits) that is divided by
    ``10**decimals``, an exactly rounded IEEE division, so each value is
    bit-identical to ``float(token)``.

    Parameters
    ----------
    texts : list of str
        One text per record; tokens separated by ASCII whitespace.

    Returns
    -------
    list
        Per text, a float64 array of its numbers, or None when the text holds
        anything else (signs, exponents, letters, two dots, more than 15
        digits): the caller parses those with the general, slower path.
    """
    if not texts:
        return []
    # "|" separates the texts below, so a text holding one must not shift the others
    texts = [t.replace("|", "?") if "|" in t else t for t in texts]
    buf = np.frombuffer("|".join(texts).encode("ascii", "replace"), dtype=np.uint8)
    # few passes over the whole buffer, small dtypes: this is memory-bound on a busy machine
    cls = _CLASS[buf]
    bars = np.flatnonzero(cls == _C_BAR)
    ok = np.ones(len(texts), dtype=bool)
    ok[np.searchsorted(bars, np.flatnonzero(cls == _C_BAD))] = False
    in_token = (cls - np.uint8(1)) < 2  # digit or dot (uint8 wraps 0 to 255)
    edges = np.diff(in_token.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    lengths = np.flatnonzero(edges == -1) - starts
    n_tokens = starts.size
    # token characters only from here on
    chars = np.flatnonzero(in_token)
    token_of = np.repeat(np.arange(n_tokens, dtype=np.int32), lengths)
    is_digit = cls[chars] == _C_DIGIT
    digits_so_far = np.cumsum(is_digit, dtype=np.int32)
    digits_at_end = digits_so_far[np.cumsum(lengths) - 1]
    d_token, d_rank = token_of[is_digit], digits_so_far[is_digit]
    p_token, p_rank = token_of[~is_digit], digits_so_far[~is_digit]
    n_digits = np.bincount(d_token, minlength=n_tokens)
    bad = (n_digits == 0) | (n_digits > _MAX_DIGITS) | (np.bincount(p_token, minlength=n_tokens) > 1)
    token_record = np.searchsorted(bars, starts)
    ok[token_record[bad]] = False
    exponent = np.minimum(digits_at_end[d_token] - d_rank, _MAX_DIGITS)  # clipped: bad only
    mantissa = np.bincount(d_token, minlength=n_tokens,
                           weights=(buf[chars[is_digit]] - _ZERO) * _POW10[exponent])
    decimals = np.zeros(n_tokens, dtype=np.int32)
    decimals[p_token] = np.minimum(digits_at_end[p_token] - p_rank, _MAX_DIGITS)
    values = mantissa / _POW10[decimals]
    counts = np.bincount(token_record, minlength=len(texts))
    pieces = np.split(values, np.cumsum(counts)[:-1])
    return [piece if good else None for piece, good in zip(pieces, ok)]
