"""MassBank record files (``MSBNK-*.txt``).

Format notes
------------
Layout
    Plain UTF-8 text, one ``TAG: value`` per line, in the order fixed by the
    MassBank record format (2.x): ``ACCESSION`` first, then ``RECORD_TITLE``,
    ``DATE``, ``AUTHORS``, ``LICENSE``, ``COMMENT``..., the chemical block
    ``CH$NAME`` (repeated: the first is the name, the others synonyms),
    ``CH$FORMULA``, ``CH$EXACT_MASS``, ``CH$SMILES``, ``CH$IUPAC`` (the
    InChI), ``CH$LINK: <DATABASE> <id>`` (``INCHIKEY``, ``CAS``,
    ``PUBCHEM``...), the acquisition block ``AC$INSTRUMENT``,
    ``AC$INSTRUMENT_TYPE`` (``LC-ESI-QTOF``), ``AC$MASS_SPECTROMETRY: <SUBTAG>
    <value>`` (``MS_TYPE``, ``ION_MODE``, ``IONIZATION``, ``COLLISION_ENERGY``),
    ``AC$CHROMATOGRAPHY: <SUBTAG> <value>``, ``MS$FOCUSED_ION: <SUBTAG>
    <value>`` (``PRECURSOR_M/Z``, ``PRECURSOR_TYPE``), and the peak block
    ``PK$NUM_PEAK: n`` and ``PK$PEAK: m/z int. rel.int.`` followed by one
    indented line per peak.  ``//`` ends the record.  ``PK$ANNOTATION`` is
    multi-line the same way.
Decisions
    * Intensities are the absolute ``int.`` column (``rel.int.`` is rounded
      to 0..999 and loses small peaks).
    * ``PRECURSOR_M/Z 235/86`` (MS3) gives ``precursor_mz`` 235 (the ion of
      the compound, what a library search filters on) and
      ``precursor_mz_chain`` (235, 86).  ``NA`` means none.
    * ``RETENTION_TIME`` becomes ``retention_time_s`` when it has a unit
      (``min``, ``s``/``sec``); a bare number is kept only verbatim.
    * A file may hold several records separated by ``//`` lines (old dumps);
      each becomes a spectrum with its 1-based ``provenance.record``, and a
      bad one a :class:`~fentid.spectra.model.RecordProblem`.  When no record
      can be read the file raises :class:`~fentid.errors.CorruptDataError`.
    * A wrong ``PK$NUM_PEAK`` is noted in ``metadata["notes"]`` with a
      :class:`~fentid.errors.DataQualityWarning`; the peaks present are read.
    * Folders are not claimed: pass the record files (``MSBNK-*.txt``) to
      ``fentid info`` or ``fentid library import``.
    * ``licence`` and ``accession`` are always in the metadata (None when the
      record has no ``LICENSE``), so a library keeps them per entry.

Sources
    MassBank record format documentation (MassBank-web, ``Record_Format``
    2.6); MassBank-data records in ``../shared/data/ms/MassBank-data``.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path

import numpy as np

from fentid.drivers._libtext import (
    decode_text,
    energy_ev,
    ionization_of,
    ms_level_of,
    normalise_cas,
    polarity_of,
    to_float,
    to_int,
)
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError, DataQualityWarning
from fentid.spectra.model import Dataset, Provenance, RecordProblem, Spectrum

NAME = "massbank"

#: Tags whose value is ``SUBTAG value``; kept as ``{SUBTAG: value}`` under the tag.
_SUBTAGGED = ("CH$LINK", "AC$MASS_SPECTROMETRY", "AC$CHROMATOGRAPHY", "AC$GENERAL",
              "MS$FOCUSED_ION", "MS$DATA_PROCESSING", "SP$LINK")
#: Tags followed by indented continuation lines.
_MULTILINE = ("PK$PEAK", "PK$ANNOTATION")
_RECORD_END = re.compile(r"^//[ \t]*$", re.MULTILINE)
_TIME = re.compile(r"\s*([-+]?\d+(?:\.\d+)?)\s*(min|minutes?|s|sec|seconds?)\s*", re.IGNORECASE)
#: Keys every spectrum's metadata has (None when the record does not say).
METADATA_KEYS = (
    "accession", "name", "synonyms", "record_title", "formula", "exact_mass", "smiles",
    "inchi", "inchikey", "cas", "instrument", "instrument_type", "ms_level", "polarity",
    "ionization", "collision_energy", "collision_energy_ev", "precursor_mz",
    "precursor_type", "retention_time_s", "licence", "authors", "copyright", "date",
    "comments", "num_peaks_declared",
)


def sniff(path: Path, head: bytes) -> bool:
    """True when the first non-blank line is ``ACCESSION:``.

    Parameters
    ----------
    path : Path
        Unused.
    head : bytes
        First bytes of the file.
    """
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"ACCESSION:")


def read(path: Path) -> Dataset:
    """Read a MassBank record file (one record, or several separated by ``//``).

    Parameters
    ----------
    path : Path
        The record file.

    Returns
    -------
    Dataset
        One centroided :class:`Spectrum` per record (m/z ascending, unit
        ``"m/z"``, intensities from the ``int.`` column) with the keys in
        :data:`METADATA_KEYS` plus ``links``, ``vendor`` (every tag verbatim)
        and ``provenance.record``.

    Raises
    ------
    CorruptDataError
        When no record in the file can be read (the reasons are named).
    """
    path = Path(path)
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    text, encoding = decode_text(raw)
    chunks = [c for c in _RECORD_END.split(text) if c.strip()]
    terminated = _RECORD_END.search(text.rstrip()[-3:]) is not None
    items, problems, noted = [], [], []
    for number, chunk in enumerate(chunks, start=1):
        result = parse_record(chunk, terminated or number < len(chunks))
        if isinstance(result, str):
            name = next((ln.split(":", 1)[1].strip() for ln in chunk.split("\n")
                         if ln.startswith("ACCESSION:")), None)
            problems.append(RecordProblem(number, result, name))
            continue
        mz, inten, meta = result
        if "notes" in meta:
            noted.append(number)
        prov = Provenance(source=str(path), driver=NAME, sha256=sha, record=number)
        items.append(Spectrum(mz, inten, unit="m/z", technique="ms", centroided=True,
                              metadata=meta, provenance=prov))
    if not items:
        reasons = "; ".join(str(p) for p in problems[:5]) or "the file is blank"
        raise CorruptDataError(f"no readable MassBank record: {reasons}", path)
    if noted:
        warnings.warn(f"{path}: PK$NUM_PEAK disagrees with the peaks in record(s) "
                      f"{', '.join(map(str, noted[:10]))}; see metadata['notes']",
                      DataQualityWarning, stacklevel=2)
    return Dataset(path=str(path), driver=NAME, technique="ms", items=tuple(items),
                   problems=tuple(problems), sha256=sha,
                   metadata={"n_records": len(chunks), "n_problems": len(problems),
                             "encoding": encoding})


def parse_record(text: str, terminated: bool = True
                 ) -> tuple[np.ndarray, np.ndarray, dict] | str:
    """Parse one record's text (without the ``//`` line).

    Parameters
    ----------
    text : str
        The record.
    terminated : bool
        Whether a ``//`` line followed it.  An unterminated record with fewer
        peaks than ``PK$NUM_PEAK`` is a truncated file, not a miscount.

    Returns
    -------
    (mz, intensity, metadata) or str
        m/z ascending, or the reason the record cannot be used.
    """
    parsed = _tags(text)
    if isinstance(parsed, str):
        return parsed
    tags, blocks = parsed
    if "ACCESSION" not in tags:
        return "no ACCESSION line (not a MassBank record)"
    if "PK$PEAK" not in tags:
        return "no PK$PEAK block"
    peaks = _peaks(tags["PK$PEAK"][0], blocks.get("PK$PEAK", []))
    if isinstance(peaks, str):
        return peaks
    mz, inten = peaks
    meta = _metadata(tags)
    notes = []
    declared = meta["num_peaks_declared"]
    if declared is not None and declared != mz.size:
        if not terminated:
            return (f"record ends without '//' after {mz.size} of {declared} peaks "
                    "(file truncated?)")
        notes.append(f"PK$NUM_PEAK: {declared} but {mz.size} peaks read")
    if mz.size > 1 and (mz[1:] <= mz[:-1]).any():
        order = np.argsort(mz, kind="stable")
        mz, inten = mz[order], inten[order]
        if (mz[1:] == mz[:-1]).any():
            uniq, index = np.unique(mz, return_inverse=True)
            summed = np.zeros(uniq.size)
            np.add.at(summed, index, inten)
            notes.append(f"{mz.size - uniq.size} duplicate m/z value(s) merged by summing")
            mz, inten = uniq, summed
    if notes:
        meta["notes"] = tuple(notes)
    return mz, inten, meta


def _tags(text: str):
    """Lines -> ({tag: [values]}, {multi-line tag: [continuation lines]}) or a reason."""
    tags: dict[str, list[str]] = {}
    blocks: dict[str, list[str]] = {}
    current = None
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        if line.startswith("  ") and current is not None:
            blocks[current].append(line.strip())
            continue
        tag, colon, value = line.partition(":")
        if not colon or not re.fullmatch(r"[A-Z][A-Z0-9_$]*", tag):
            return f"line {number} {line.strip()[:60]!r} is not 'TAG: value'"
        tags.setdefault(tag, []).append(value.strip())
        current = tag if tag in _MULTILINE else None
        if current:
            blocks.setdefault(current, [])
    return tags, blocks


def _peaks(header: str, lines: list[str]) -> tuple[np.ndarray, np.ndarray] | str:
    """Peak lines under ``PK$PEAK: m/z int. rel.int.`` -> (mz, absolute intensity)."""
    columns = header.split()
    if not lines:
        return "no peaks (PK$PEAK is empty or N/A)"
    if not columns or columns[0] != "m/z":
        return f"PK$PEAK header {header!r} does not start with m/z"
    width = len(columns)
    try:
        values = np.array(" ".join(lines).split(), dtype=np.float64)
    except ValueError:
        bad = next(ln for ln in lines if not _all_numbers(ln))
        return f"peak line {bad[:60]!r} is not {width} numbers"
    if values.size % width:
        return f"{values.size} peak values do not fill rows of {width} ({header})"
    table = values.reshape(-1, width)
    mz = table[:, 0]
    # the absolute "int." column when present, else the only intensity column
    col = columns.index("int.") if "int." in columns else 1
    inten = table[:, col] if width > 1 else np.ones(mz.size)
    if not (np.isfinite(mz).all() and np.isfinite(inten).all()):
        return "peak values must be finite"
    if (mz <= 0).any() or (inten < 0).any():
        return "m/z must be positive and intensities not negative"
    return mz, inten


def _all_numbers(line: str) -> bool:
    try:
        [float(t) for t in line.split()]
    except ValueError:
        return False
    return True


def _subtags(values: list[str]) -> dict[str, str]:
    """``["ION_MODE POSITIVE", "MS_TYPE MS2"]`` -> ``{"ION_MODE": "POSITIVE", ...}``."""
    out: dict[str, str] = {}
    for value in values:
        key, _, rest = value.partition(" ")
        out.setdefault(key, rest.strip())
    return out


def _none(value: str | None) -> str | None:
    return None if value is None or value.strip() in ("", "N/A", "NA") else value.strip()


def _metadata(tags: dict[str, list[str]]) -> dict:
    def first(tag: str) -> str | None:
        return _none(tags.get(tag, [None])[0])

    links = _subtags(tags.get("CH$LINK", []))
    ms = _subtags(tags.get("AC$MASS_SPECTROMETRY", []))
    chrom = _subtags(tags.get("AC$CHROMATOGRAPHY", []))
    focused = _subtags(tags.get("MS$FOCUSED_ION", []))
    names = [n for n in tags.get("CH$NAME", []) if n]
    chain = tuple(v for v in (to_float(p) for p in (_none(focused.get("PRECURSOR_M/Z")) or "")
                              .split("/")) if v)
    instrument_type = first("AC$INSTRUMENT_TYPE")
    ionization = ionization_of(_none(ms.get("IONIZATION")), instrument_type)
    precursor_type = _none(focused.get("PRECURSOR_TYPE")) or _none(focused.get("ION_TYPE"))
    meta = {
        "accession": first("ACCESSION"),
        "name": names[0] if names else None,
        "synonyms": tuple(names[1:]),
        "record_title": first("RECORD_TITLE"),
        "formula": first("CH$FORMULA"),
        "exact_mass": to_float(first("CH$EXACT_MASS")),
        "smiles": first("CH$SMILES"),
        "inchi": first("CH$IUPAC"),
        "inchikey": _none(links.get("INCHIKEY")),
        "cas": normalise_cas(links.get("CAS")),
        "links": links,
        "instrument": first("AC$INSTRUMENT"),
        "instrument_type": instrument_type,
        "ionization": ionization,
        "polarity": polarity_of(ms.get("ION_MODE"), precursor_type),
        "collision_energy": _none(ms.get("COLLISION_ENERGY")),
        "precursor_mz": chain[0] if chain else None,
        "precursor_type": precursor_type,
        "retention_time_s": _seconds(chrom.get("RETENTION_TIME")),
        "licence": first("LICENSE"),
        "authors": first("AUTHORS"),
        "copyright": first("COPYRIGHT"),
        "date": first("DATE"),
        "comments": "; ".join(tags.get("COMMENT", [])) or None,
        "num_peaks_declared": to_int(first("PK$NUM_PEAK")),
        "splash": first("PK$SPLASH"),
    }
    if len(chain) > 1:
        meta["precursor_mz_chain"] = chain
    meta["ms_level"] = ms_level_of(ms.get("MS_TYPE"), ionization, meta["precursor_mz"])
    if meta["ms_level"] == 1 and meta["precursor_mz"] is not None:
        meta["stated_precursor_mz"], meta["precursor_mz"] = meta["precursor_mz"], None
    energy = energy_ev(meta["collision_energy"])
    if ionization == "EI" and meta["ms_level"] == 1:
        meta["electron_energy_ev"] = energy_ev(ms.get("IONIZATION_ENERGY")) or energy
        energy = None
    meta["collision_energy_ev"] = energy
    meta["vendor"] = {tag: (vals[0] if len(vals) == 1 else tuple(vals))
                      for tag, vals in tags.items() if tag not in _MULTILINE}
    return meta


def _seconds(text: str | None) -> float | None:
    """``"4.8 min"`` -> 288.0; ``"35 sec"`` -> 35.0; no unit or N/A -> None."""
    m = _TIME.fullmatch(text or "")
    if not m:
        return None
    value = float(m.group(1))
    return value * 60.0 if m.group(2).lower().startswith("min") else value


register(Driver(
    name=NAME, sniff=sniff, read=read, technique="ms",
    description="MassBank record file (MSBNK-*.txt)",
    extensions=(".txt",),
))
