"""BMRB metabolomics entries: NMR-STAR 3 serialised as JSON (PyNMRSTAR ``get_json``).

Format notes
------------
Layout
    ``{"entry_id": ..., "saveframes": [{"name", "category", "tags": [[tag, value]...],
    "loops": [{"category": "_Loop", "tags": [...], "data": [[...], ...]}]}]}``.
    The compound is the ``chem_comp`` saveframe (``Name``, ``InChI_code``, ``Formula``,
    ``_Chem_comp_SMILES`` or ``_Chem_comp_descriptor`` SMILES, ``_Chem_comp_common_name``);
    the solvent is the ``_Sample_component`` row of ``Type`` solvent; pH and temperature
    are ``_Sample_condition_variable`` rows; the field is the ``Field_strength`` of the
    ``NMR_spectrometer`` the experiment (``_Experiment``) names; the shift standard is
    ``_Chem_shift_ref`` (DSS, TMS...).  Each ``spectral_peak_list`` saveframe is one
    peak list: ``_Peak_char`` rows (signals, with ``Coupling_pattern`` s/d/dd/m) and
    ``_Peak_general_char`` intensities (integrals), and/or ``_Spectral_transition_char``
    rows (the peak-picked lines) with ``_Spectral_transition_general_char`` heights.
Decisions
    * One :class:`PeakList` per 1-D 1H or 13C list (``provenance.record`` 1-based in file
      order).  The signals are the peaks when the list has ``_Peak_char`` rows, the
      transitions otherwise (``list_kind`` ``signals``/``lines``); the transitions of a
      list with signals are kept in ``metadata["lines"]`` (what a simulation at another
      field needs).  Missing or unparsable intensities count 1 each.
    * DEPT lists (partial 13C: no quaternary carbons) and 2-D lists are skipped, counted in
      ``Dataset.metadata["skipped"]``.
    * ``.`` and ``?`` are NMR-STAR's "no value": None.

Sources
    NMR-STAR dictionary (bmrb.io/dictionary); EMSL-Computing/nmRanalysis ``inst/json_star``;
    ``../shared/data/nmr/bmrb_metabolomics/README.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

from fentid.drivers._nmr_records import nucleus_of, number, peak_list, reference_name
from fentid.drivers.registry import Driver, register
from fentid.errors import CorruptDataError
from fentid.spectra.model import Dataset, RecordProblem, hash_source

NAME = "bmrb"


def sniff(path: Path, head: bytes) -> bool:
    return head.lstrip()[:1] == b"{" and b'"saveframes"' in head and b'"entry_id"' in head


def _value(text):
    return None if text in (None, ".", "?", "") else text


def _tags(sf) -> dict:
    return {t[0]: _value(t[1]) for t in sf.get("tags", [])}


def _loop(sf, category: str) -> list[dict]:
    for lp in sf.get("loops", []):
        if lp.get("category") == category:
            return [dict(zip(lp["tags"], row)) for row in lp["data"]]
    return []


def _compound(frames) -> dict:
    out = {"name": None, "synonyms": (), "inchi": None, "smiles": None, "formula": None}
    for sf in frames:
        if sf.get("category") != "chem_comp":
            continue
        tags = _tags(sf)
        out["name"] = tags.get("Name")
        out["inchi"] = (tags.get("InChI_code") or "").strip() or None
        out["formula"] = (tags.get("Formula") or "").replace(" ", "") or None
        smiles = _loop(sf, "_Chem_comp_SMILES")
        iso = [r["String"] for r in smiles if r.get("Type") == "isomeric"]
        desc = [r["Descriptor"] for r in _loop(sf, "_Chem_comp_descriptor")
                if "SMILES" in (r.get("Type") or "").upper()]
        iso_desc = [d for r, d in zip(_loop(sf, "_Chem_comp_descriptor"), desc)
                    if "ISOMERIC" in (r.get("Type") or "").upper()]
        for cand in iso + iso_desc + [r["String"] for r in smiles] + desc:
            if cand and cand not in (".", "?"):
                out["smiles"] = cand.strip()
                break
        out["synonyms"] = tuple(r["Name"] for r in _loop(sf, "_Chem_comp_common_name")
                                if r.get("Name"))
        if not out["inchi"]:
            inchis = [r["Descriptor"].strip() for r in _loop(sf, "_Chem_comp_descriptor")
                      if (r.get("Type") or "").upper() == "INCHI"]
            out["inchi"] = inchis[0] if inchis else None
        break
    return out


def _conditions(frames) -> dict:
    solvent, cond, spectrometers, experiments, refs = {}, {}, {}, {}, {}
    for sf in frames:
        cat, tags = sf.get("category"), _tags(sf)
        sf_id = tags.get("ID")
        if cat == "sample":
            for r in _loop(sf, "_Sample_component"):
                kind = (r.get("Type") or "").lower()
                if kind == "solvent":
                    solvent.setdefault(sf_id, []).append(r.get("Mol_common_name"))
                elif kind == "reference" and reference_name(r.get("Mol_common_name")):
                    refs.setdefault("sample", reference_name(r.get("Mol_common_name")))
        elif cat == "sample_conditions":
            for r in _loop(sf, "_Sample_condition_variable"):
                cond.setdefault(sf_id, {})[(r.get("Type") or "").lower()] = number(
                    _value(r.get("Val")))
        elif cat == "NMR_spectrometer":
            spectrometers[sf.get("name")] = number(tags.get("Field_strength"))
            spectrometers["$" + (tags.get("Sf_framecode") or sf.get("name"))] = number(
                tags.get("Field_strength"))
        elif cat == "experiment_list":
            for r in _loop(sf, "_Experiment"):
                experiments[r.get("ID")] = r
        elif cat == "chem_shift_reference":
            for r in _loop(sf, "_Chem_shift_ref"):
                refs[(r.get("Atom_type") or "").upper()] = reference_name(
                    r.get("Mol_common_name"))
    return {"solvent": solvent, "cond": cond, "spectrometers": spectrometers,
            "experiments": experiments, "refs": refs}


def _nucleus_named(text: str) -> str | None:
    """Nucleus of a list without ``_Spectral_dim`` rows, from its name (``1D 1H``)."""
    for nucleus in ("13C", "19F", "1H"):
        if nucleus in text:
            return nucleus
    return None


def _field(c: dict, experiment_id) -> float | None:
    exp = c["experiments"].get(experiment_id) or {}
    label = exp.get("NMR_spectrometer_label") or ""
    value = c["spectrometers"].get(label) or c["spectrometers"].get(label.lstrip("$"))
    if value is None and len({v for v in c["spectrometers"].values() if v}) == 1:
        value = next(v for v in c["spectrometers"].values() if v)
    return value


def _intensities(rows, key_id: str, general) -> list[float]:
    by_id = {r.get(key_id): number(_value(r.get("Intensity_val"))) for r in general}
    return [by_id.get(r.get(key_id)) or 1.0 for r in rows]


def _peaks(sf):
    """(signals, lines): each a list of (ppm, intensity, multiplicity) or None."""
    signals = lines = None
    peaks = [r for r in _loop(sf, "_Peak_char") if str(r.get("Spectral_dim_ID")) == "1"]
    if peaks:
        inten = _intensities(peaks, "Peak_ID", _loop(sf, "_Peak_general_char"))
        signals = [(number(r["Chem_shift_val"]), i, _value(r.get("Coupling_pattern")) or "")
                   for r, i in zip(peaks, inten)]
    trans = [r for r in _loop(sf, "_Spectral_transition_char")
             if str(r.get("Spectral_dim_ID")) == "1"]
    if trans:
        inten = _intensities(trans, "Spectral_transition_ID",
                             _loop(sf, "_Spectral_transition_general_char"))
        lines = [(number(r["Chem_shift_val"]), i, "") for r, i in zip(trans, inten)]
    return signals, lines


def read(path: Path) -> Dataset:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        frames = data["saveframes"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CorruptDataError(f"not an NMR-STAR JSON entry: {exc}", path) from None
    sha = hash_source(path)
    entry = data.get("entry_id")
    comp = _compound(frames)
    c = _conditions(frames)
    items, problems = [], []
    skipped = {"dept": 0, "2d": 0, "other": 0}
    record = 0
    for sf in frames:
        if sf.get("category") != "spectral_peak_list":
            continue
        tags = _tags(sf)
        dims = _loop(sf, "_Spectral_dim")
        name = tags.get("Experiment_name") or ""
        n_dims = number(tags.get("Number_of_spectral_dimensions")) or len(dims) or 1
        if len(dims) > 1 or n_dims > 1:
            skipped["2d"] += 1
            continue
        if "DEPT" in name.upper() or "DEPT" in (sf.get("name") or "").upper():
            skipped["dept"] += 1
            continue
        nucleus = nucleus_of(dims[0].get("Atom_type")) if dims else _nucleus_named(
            f"{sf.get('name')} {name}")
        if nucleus is None:
            skipped["other"] += 1
            continue
        record += 1
        label = f"{entry}#{sf.get('name')}"
        signals, lines = _peaks(sf)
        chosen = signals or lines
        if not chosen or any(p is None for p, _, _ in chosen):
            problems.append(RecordProblem(record, "peak list without readable shifts", label))
            continue
        sample = tags.get("Sample_ID")
        cond = c["cond"].get(tags.get("Sample_condition_list_ID")) or (
            next(iter(c["cond"].values())) if len(c["cond"]) == 1 else {})
        solvents = c["solvent"].get(sample) or next(iter(c["solvent"].values()), None)
        meta = dict(comp)
        meta.update({
            "solvent": "/".join(s for s in solvents if s) if solvents else None,
            "spectrometer_frequency_mhz": _field(c, tags.get("Experiment_ID")),
            "temperature_k": cond.get("temperature"), "ph": cond.get("ph"),
            "shift_reference": c["refs"].get("H" if nucleus == "1H" else nucleus[-1:])
            or c["refs"].get("sample"),
            "record_id": label, "list_kind": "signals" if signals else "lines",
            "multiplicity": tuple(m for _, _, m in chosen),
            "lines": tuple((p, i) for p, i, _ in lines) if signals and lines else None,
            "experiment": name, "accession": entry,
            "licence": "BMRB: public archive, cite BMRB" if str(entry).startswith("bms")
            else "HMDB terms (non-commercial, with citation)"})
        items.append(peak_list([p for p, _, _ in chosen], [i for _, i, _ in chosen], nucleus,
                               meta, str(path), NAME, sha, record))
    if not items and not problems:
        raise CorruptDataError(f"BMRB entry {entry} has no 1-D 1H or 13C peak list "
                               f"(skipped: {skipped})", path)
    return Dataset(path=str(path), driver=NAME, technique="nmr", items=items,
                   problems=problems, sha256=sha,
                   metadata={"entry_id": entry, "records": len(items), "skipped": skipped})


register(Driver(
    name=NAME, sniff=sniff, read=read, technique="nmr",
    description="BMRB entry, NMR-STAR 3 as JSON", extensions=(".json",),
))
