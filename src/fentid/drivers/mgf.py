"""Mascot Generic Format (MGF) peak lists: one MS/MS spectrum per ``BEGIN IONS`` block.

Format notes
------------
- Layout: text. Optional global ``KEY=value`` lines, then records::

      BEGIN IONS
      TITLE=small.3.3.
      RTINSECONDS=0.6731
      PEPMASS=810.789428710938 183838.71875
      CHARGE=2+
      231.3888397 26.5451126099
      ...
      END IONS

- Keys are case-insensitive. ``PEPMASS`` is the precursor m/z with an optional
  intensity; ``CHARGE`` is written ``2+``, ``+2``, ``2`` or ``2+ and 3+`` (the first
  is used); ``RTINSECONDS`` may be a range ``a-b`` (the start is used); ``MSLEVEL``
  defaults to 2. GNPS exports add ``IONMODE``, ``SOURCE_INSTRUMENT``, ``SMILES``...
  (kept verbatim under ``metadata["vendor"]``). Global parameters apply to every
  record unless the record overrides them.
- Peak lines are ``m/z intensity [charge]`` separated by spaces or tabs; lines
  starting with ``#``, ``;``, ``!`` or ``/`` are comments. Peaks are not
  guaranteed to be sorted (we sort them).
- Problems: a record with an unreadable peak line, a non-finite value, no
  peaks or no ``END IONS`` is reported as a :class:`~fentid.spectra.model.RecordProblem`
  with its 1-based record number and line, and the other records are read.
- Sources: Matrix Science MGF reference; pyteomics.mgf; GNPS library exports.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import numpy as np

from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError
from fentid.spectra.model import Dataset, Provenance, RecordProblem, Spectrum, hash_source

NAME = "mgf"
_COMMENT = ("#", ";", "!", "/")
_BEGIN = re.compile(rb"^[ \t]*BEGIN IONS[ \t]*\r?$", re.MULTILINE | re.IGNORECASE)
_CHARGE = re.compile(r"([+-]?)(\d+)([+-]?)")


def sniff(path: Path, head: bytes) -> bool:
    """A line reading ``BEGIN IONS`` in the first bytes."""
    return b"\0" not in head and _BEGIN.search(head) is not None


def parse_charge(text: str) -> int | None:
    """``"2+"``, ``"+2"``, ``"2-"``, ``"2"``, ``"2+ and 3+"`` -> signed int (first charge)."""
    match = _CHARGE.search(text)
    if not match:
        return None
    value = int(match.group(2))
    return -value if "-" in (match.group(1) + match.group(3)) else value


def _first_float(text: str) -> float | None:
    """First number of a value such as ``"810.79 1838.7"`` or ``"12.3-15.6"``."""
    match = re.match(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)", text)
    return float(match.group(1)) if match else None


class _Record:
    def __init__(self, number: int, line: int, params: dict):
        self.number, self.line = number, line
        self.params = dict(params)
        self.mz: list[float] = []
        self.intensity: list[float] = []
        self.problem: str | None = None


def _parse(lines) -> tuple[list[_Record], int]:
    """Split the text into records; returns (records, number of BEGIN IONS)."""
    globals_: dict = {}
    records: list[_Record] = []
    current: _Record | None = None
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith(_COMMENT):
            continue
        upper = line.upper()
        if upper == "BEGIN IONS":
            if current is not None:
                current.problem = current.problem or f"no END IONS before line {lineno}"
            current = _Record(len(records) + 1, lineno, globals_)
            records.append(current)
            continue
        if upper == "END IONS":
            if current is None:
                raise CorruptDataError(f"line {lineno}: END IONS without BEGIN IONS")
            current = None
            continue
        if "=" in line and not line[0].isdigit():
            key, _, value = line.partition("=")
            (globals_ if current is None else current.params)[key.strip().upper()] = value.strip()
            continue
        if current is None:
            raise CorruptDataError(f"line {lineno}: peak data outside a BEGIN IONS block")
        if current.problem:
            continue
        fields = line.replace(",", " ").split()
        try:
            mz, inten = float(fields[0]), float(fields[1]) if len(fields) > 1 else 0.0
        except ValueError:
            current.problem = f"line {lineno}: unreadable peak {line[:40]!r}"
            continue
        if not (math.isfinite(mz) and math.isfinite(inten)):
            current.problem = f"line {lineno}: non-finite peak {line[:40]!r}"
            continue
        current.mz.append(mz)
        current.intensity.append(inten)
    if current is not None:
        current.problem = current.problem or "no END IONS: the file ends inside this record"
    for rec in records:
        if rec.problem is None and not rec.mz:
            # an empty spectrum would look like a real one that matched nothing
            rec.problem = f"no peaks (the record starting at line {rec.line} has no peak line)"
    return records, len(records)


def _metadata(rec: _Record) -> dict:
    p = rec.params
    title = p.get("TITLE") or p.get("NAME")
    polarity = None
    mode = p.get("IONMODE", "").lower()
    if mode.startswith("pos"):
        polarity = "positive"
    elif mode.startswith("neg"):
        polarity = "negative"
    charge = parse_charge(p["CHARGE"]) if p.get("CHARGE") else None
    if polarity is None and charge:
        polarity = "positive" if charge > 0 else "negative"
    pepmass = p.get("PEPMASS", "").split()
    level = _first_float(p.get("MSLEVEL", "2"))
    return {
        "name": title,
        "ms_level": int(level) if level else 2,
        "precursor_mz": float(pepmass[0]) if pepmass else None,
        "precursor_intensity": float(pepmass[1]) if len(pepmass) > 1 else None,
        "precursor_charge": charge,
        "retention_time_s": _first_float(p["RTINSECONDS"]) if p.get("RTINSECONDS") else None,
        "polarity": polarity,
        "scan_id": p.get("SCANS"),
        "instrument": p.get("SOURCE_INSTRUMENT") or p.get("INSTRUMENT"),
        "vendor": dict(p),
    }


def read(path: Path) -> Dataset:
    """Read every record of an MGF file; unreadable records become ``problems``.

    Raises
    ------
    CorruptDataError
        No ``BEGIN IONS`` block, stray peak lines outside a block, or no readable record.
    """
    with open(path, encoding="utf-8", errors="replace") as fh:
        try:
            records, n_blocks = _parse(fh)
        except CorruptDataError as exc:
            raise CorruptDataError(exc.message, path) from exc
    if not n_blocks:
        raise CorruptDataError("no BEGIN IONS block: not an MGF file", path)
    sha = hash_source(path)
    items, problems = [], []
    for rec in records:
        name = rec.params.get("TITLE") or rec.params.get("NAME")
        if rec.problem:
            problems.append(RecordProblem(rec.number, rec.problem, name))
            continue
        try:
            items.append(_spectrum(rec, _metadata(rec), path, sha))
        except ValueError as exc:  # SpectrumError is a ValueError too
            problems.append(RecordProblem(rec.number, f"invalid value: {exc}", name))
    if not items:
        raise CorruptDataError(
            f"none of the {n_blocks} records could be read; first problem: {problems[0]}", path)
    levels = Counter(s.metadata["ms_level"] for s in items)
    rts = [s.metadata["retention_time_s"] for s in items
           if s.metadata["retention_time_s"] is not None]
    nonempty = [s for s in items if len(s)]
    metadata = {
        "n_spectra": len(items),
        "ms_levels": dict(sorted(levels.items())),
        "n_scans": len(items),
        "retention_time_range_s": [min(rts), max(rts)] if rts else None,
        "mz_range": ([float(min(s.axis[0] for s in nonempty)),
                      float(max(s.axis[-1] for s in nonempty))] if nonempty else None),
        "instrument": next((s.metadata["instrument"] for s in items
                            if s.metadata["instrument"]), None),
        "polarity": "/".join(sorted({s.metadata["polarity"] for s in items
                                     if s.metadata["polarity"]})) or None,
        "n_records": n_blocks,
    }
    return Dataset(path=str(path), driver=NAME, technique="ms", items=tuple(items),
                   problems=tuple(problems), metadata=metadata, sha256=sha)


def _spectrum(rec: _Record, meta: dict, path: Path, sha: str) -> Spectrum:
    mz = np.asarray(rec.mz, dtype=float)
    inten = np.asarray(rec.intensity, dtype=float)
    order = np.argsort(mz, kind="stable")
    prov = Provenance(source=str(path), driver=NAME, sha256=sha, record=rec.number)
    return Spectrum(mz[order], inten[order], unit="m/z", technique="ms", centroided=True,
                    metadata=meta, provenance=prov)


register(Driver(NAME, sniff, read, "ms", "Mascot Generic Format peak lists", (".mgf",)))
