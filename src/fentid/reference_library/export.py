"""Writing library entries to exchange formats: MSP, MGF and JCAMP-DX peak tables.

Numbers are written with the shortest text that reads back to the stored value (float32
intensities and EI m/z, float64 accurate m/z and ppm), so export -> import keeps peaks
identical.  Retired entries are not exported.
"""

from __future__ import annotations

import math
import os

import numpy as np

from fentid.errors import LibraryError
from fentid.reference_library.catalog import split_synonyms
from fentid.reference_library.store import Library

MS_TECHNIQUES = ("ei", "ms1", "msms")


def fmt(value) -> str:
    """Shortest round-tripping text of a float32/float64 value (no trailing ``.0``)."""
    return np.format_float_positional(value, trim="-")


def _entries(lib: Library, techniques) -> list[tuple[dict, np.ndarray, np.ndarray]]:
    out = []
    for tech in lib.techniques():
        if tech not in techniques:
            continue
        pos, inten, offsets = lib.peaks(tech)
        cols = lib.entry_columns(tech)
        for row in np.flatnonzero(cols["retired"] == 0):
            rec = lib.entry_at(tech, int(row))
            lo, hi = offsets[row], offsets[row + 1]
            out.append((rec, pos[lo:hi], inten[lo:hi]))
    return out


def _polarity(value: int) -> str:
    return {1: "P", -1: "N"}.get(int(value), "")


def _msp_record(lib: Library, rec: dict, pos, inten) -> str:
    comp = lib.compound_row(rec["compound_id"])
    lines = [f"Name: {rec['record_name'] or comp['name']}"]
    lines += [f"Synon: {s}" for s in split_synonyms(comp["synonyms"])]
    for label, value in (("InChIKey", comp["inchikey"]), ("SMILES", comp["smiles"]),
                         ("Formula", comp["formula"]), ("Licence", rec["licence"]),
                         ("Accession", rec["accession"]), ("Instrument", rec["instrument"]),
                         ("Ion_mode", _polarity(rec["polarity"]))):
        if value:
            lines.append(f"{label}: {value}")
    if math.isfinite(comp["monoisotopic_mass"]):
        lines.append(f"ExactMass: {fmt(comp['monoisotopic_mass'])}")
    if math.isfinite(rec["precursor_mz"]):
        lines.append(f"PrecursorMZ: {fmt(rec['precursor_mz'])}")
    if math.isfinite(rec["collision_energy_ev"]):
        lines.append(f"Collision_energy: {fmt(rec['collision_energy_ev'])}")
    lines.append(f'Comments: "fentid_entry_id={rec["entry_id"]}" '
                 f'"source_record={rec["source_record"] or ""}"')
    lines.append(f"Num Peaks: {len(pos)}")
    lines += [f"{fmt(m)}\t{fmt(i)}" for m, i in zip(pos, inten)]
    return "\n".join(lines) + "\n\n"


def _mgf_record(lib: Library, rec: dict, pos, inten) -> str:
    comp = lib.compound_row(rec["compound_id"])
    lines = ["BEGIN IONS", f"TITLE={rec['record_name'] or comp['name']}",
             f"NAME={rec['record_name'] or comp['name']}"]
    if math.isfinite(rec["precursor_mz"]):
        lines.append(f"PEPMASS={fmt(rec['precursor_mz'])}")
    if rec["polarity"]:
        lines.append(f"CHARGE=1{'+' if rec['polarity'] > 0 else '-'}")
    for label, value in (("INCHIKEY", comp["inchikey"]), ("SMILES", comp["smiles"]),
                         ("FORMULA", comp["formula"]), ("LICENSE", rec["licence"]),
                         ("ACCESSION", rec["accession"])):
        if value:
            lines.append(f"{label}={value}")
    if rec["ms_level"]:
        lines.append(f"MSLEVEL={rec['ms_level']}")
    lines += [f"{fmt(m)} {fmt(i)}" for m, i in zip(pos, inten)]
    lines.append("END IONS")
    return "\n".join(lines) + "\n\n"


def _jcamp_record(lib: Library, rec: dict, pos, inten) -> str:
    comp = lib.compound_row(rec["compound_id"])
    nmr = rec["technique"].startswith("nmr")
    lines = [f"##TITLE={rec['record_name'] or comp['name']}", "##JCAMP-DX=5.01",
             f"##DATA TYPE={'NMR PEAK TABLE' if nmr else 'MASS SPECTRUM'}",
             "##DATA CLASS=PEAK TABLE", f"##ORIGIN={rec['source'] or 'fentid library'}",
             f"##OWNER={rec['licence'] or 'unknown'}"]
    if comp["formula"]:
        lines.append(f"##MOLFORM={comp['formula']}")
    if comp["inchikey"]:
        lines.append(f"##$INCHIKEY={comp['inchikey']}")
    if nmr:
        nucleus = {"nmr_1h": "^1H", "nmr_13c": "^13C", "nmr_19f": "^19F"}[rec["technique"]]
        lines.append(f"##.OBSERVE NUCLEUS={nucleus}")
        if math.isfinite(rec["field_mhz"]):
            lines.append(f"##.OBSERVE FREQUENCY={fmt(rec['field_mhz'])}")
        if rec["solvent"]:
            lines.append(f"##.SOLVENT NAME={rec['solvent']}")
        lines.append("##XUNITS=PPM")
    else:
        lines.append("##XUNITS=M/Z")
    lines += ["##YUNITS=RELATIVE ABUNDANCE", f"##NPOINTS={len(pos)}", "##PEAK TABLE=(XY..XY)"]
    lines += [f"{fmt(m)},{fmt(i)}" for m, i in zip(pos, inten)]
    lines.append("##END=")
    return "\n".join(lines) + "\n"


WRITERS = {"msp": (_msp_record, MS_TECHNIQUES), "mgf": (_mgf_record, MS_TECHNIQUES),
           "jcamp": (_jcamp_record, None)}


def export(lib: Library, out: str | os.PathLike, fmt_name: str) -> int:
    """Write every non-retired entry to ``out``; returns the number written.

    MSP and MGF take mass spectra only; JCAMP-DX writes MS and NMR peak tables (one block per
    entry, as a compound file with ##BLOCKS).
    """
    if fmt_name not in WRITERS:
        raise LibraryError(f"unknown export format {fmt_name!r}; use one of "
                           f"{', '.join(WRITERS)}", out)
    writer, techniques = WRITERS[fmt_name]
    records = _entries(lib, techniques or tuple(lib.techniques()))
    tmp = f"{out}.part"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        if fmt_name == "jcamp" and len(records) > 1:
            fh.write(f"##TITLE={lib.attrs.get('name', 'fentid library')}\n##JCAMP-DX=5.01\n"
                     f"##DATA TYPE=LINK\n##BLOCKS={len(records)}\n")
        for n, (rec, pos, inten) in enumerate(records, 1):
            text = writer(lib, rec, pos, inten)
            if fmt_name == "jcamp" and len(records) > 1:
                text = text.replace("##JCAMP-DX=5.01\n", f"##JCAMP-DX=5.01\n##BLOCK_ID={n}\n", 1)
            fh.write(text)
        if fmt_name == "jcamp" and len(records) > 1:
            fh.write("##END=\n")
    os.replace(tmp, out)
    return len(records)
