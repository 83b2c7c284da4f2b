"""nmrshiftdb2 records as JSON (one file per InChIKey, the pb-commits/nmrshift2db layout).

Format notes
------------
Layout
    One JSON object per compound: ``nmrshiftdb2 ID``, ``INChI``, ``INChI key``, ``SMILES``,
    per-spectrum conditions as strings ``"<index>:<value> <index>:<value> ..."`` under
    ``Solvent``, ``Field Strength [MHz]``, ``Temperature [K]``, ``Assignment Method``, and
    one ``Spectrum <nucleus> <index>`` per spectrum holding
    ``shift;<intensity><letter>;<atom index>|...`` (one row per atom: a CH3 is listed three
    times in 1H lists; the letter is the attached-H count S/D/T/Q for 13C and the
    multiplicity s/d/t/q/m for 1H, when given).  ``Program`` names the indices of
    *predicted* spectra (ACD/Labs, HOSE code, CSEARCH).
Decisions
    * Only measured 1-D 1H, 13C and 19F lists become records (one :class:`PeakList` each,
      in index order, ``provenance.record`` 1-based in that order); predicted spectra
      (listed in ``Program``), 2-D lists and other nuclei are skipped and counted in
      ``Dataset.metadata["skipped"]``.
    * Rows with the same shift are merged and their count is the intensity (the number of
      atoms, i.e. of H for 1H lists); ``source_rows`` keeps the row count the file states.
    * ``Unreported`` conditions are None.  The record carries no name: the compound is
      known from its InChIKey/SMILES (``fentid library import`` matches the catalog).
    * ``field_mhz`` is the value stated; for 13C lists it is sometimes the 1H frequency of
      the magnet (the source does not say which), which matters little for 13C.

Sources
    github.com/pb-commits/nmrshift2db (conversion of ``nmrshiftdb2withsignals.sd``);
    ``../shared/data/nmr/nmrshiftdb2/README.md``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from fentid.drivers._nmr_records import group_equal, number, peak_list
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError
from fentid.spectra.model import Dataset, RecordProblem, hash_source

NAME = "nmrshiftdb2"
_SPECTRUM = re.compile(r"^Spectrum (1H|13C|19F) (\d+)$")
_INDEXED = re.compile(r"(\d+):(.*?)(?=\s+\d+:|\s*$)")


def sniff(path: Path, head: bytes) -> bool:
    return head.lstrip()[:1] == b"{" and b'"nmrshiftdb2 ID"' in head


def indexed(text: str | None) -> dict[int, str]:
    """``"0:CDCl3 2:DMSO"`` -> ``{0: "CDCl3", 2: "DMSO"}`` (``Unreported`` dropped)."""
    out = {}
    for idx, value in _INDEXED.findall(text or ""):
        value = value.strip()
        if value and value.lower() != "unreported":
            out[int(idx)] = value
    return out


def _rows(text: str, nucleus: str):
    pos, mult = [], []
    for row in (text or "").split("|"):
        if not row.strip():
            continue
        parts = row.split(";")
        value = number(parts[0])
        if value is None:
            raise ValueError(f"shift {parts[0]!r} is not a number")
        letter = re.sub(r"[-+0-9.eE]", "", parts[1]) if len(parts) > 1 else ""
        pos.append(value)
        mult.append(letter if nucleus == "1H" else "")
    return pos, mult


def read(path: Path) -> Dataset:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptDataError(f"not valid nmrshiftdb2 JSON: {exc}", path) from None
    sha = hash_source(path)
    record_id = data.get("nmrshiftdb2 ID")
    solvent = indexed(data.get("Solvent"))
    field = indexed(data.get("Field Strength [MHz]"))
    temp = indexed(data.get("Temperature [K]"))
    method = indexed(data.get("Assignment Method"))
    predicted = indexed(data.get("Program"))
    found = sorted(((int(m.group(2)), m.group(1), key) for key in data
                    if (m := _SPECTRUM.match(key))), key=lambda t: t[0])
    items, problems = [], []
    skipped = {"predicted": 0, "other": sum(1 for k in data if k.startswith("Spectrum ")
                                            and not _SPECTRUM.match(k))}
    record = 0
    for idx, nucleus, key in found:
        if idx in predicted:
            skipped["predicted"] += 1
            continue
        record += 1
        try:
            pos, mult = _rows(data[key], nucleus)
        except ValueError as exc:
            problems.append(RecordProblem(record, str(exc), key))
            continue
        if not pos:
            problems.append(RecordProblem(record, "no shifts", key))
            continue
        p, n, m = group_equal(pos, [1.0] * len(pos), mult)
        meta = {"inchikey": data.get("INChI key"), "inchi": data.get("INChI"),
                "smiles": data.get("SMILES"), "solvent": solvent.get(idx),
                "spectrometer_frequency_mhz": number(field.get(idx)),
                "temperature_k": number(temp.get(idx)),
                "record_id": f"nmrshiftdb2:{record_id}#{key}", "list_kind": "signals",
                "multiplicity": m, "source_rows": len(pos),
                "assignment_method": method.get(idx), "accession": f"nmrshiftdb2:{record_id}",
                "licence": "nmrshiftdb2 data CC BY-SA (cite Steinbeck et al.)"}
        items.append(peak_list(p, n, nucleus, meta, str(path), NAME, sha, record))
    if not items and not problems:
        raise CorruptDataError("no measured 1H/13C/19F spectrum in this nmrshiftdb2 record",
                               path)
    return Dataset(path=str(path), driver=NAME, technique="nmr", items=items,
                   problems=problems, sha256=sha,
                   metadata={"records": len(items), "skipped": skipped,
                             "nmrshiftdb2_id": record_id})


register(Driver(
    name=NAME, sniff=sniff, read=read, technique="nmr",
    description="nmrshiftdb2 record (JSON, one per InChIKey)", extensions=(".json",),
))
