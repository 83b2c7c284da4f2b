"""The curator's workflow: ``fentid library create|import|add|list|show|remove|export|
validate|history``.

Sits above :mod:`fentid.drivers` (reads sources with :func:`fentid.drivers.read`) and
:mod:`fentid.reference_library` (writes with its API).  Each ``cli_<command>(args, emit,
progress)`` returns the exit code.

Decisions
---------
* ``import`` commits the good records and reports every bad one (file, 1-based record number,
  reason) on stderr; it exits 2 when any record or source was rejected, so scripts notice,
  with the good records committed in one atomic replace.
* A record whose own fields disagree (formula vs SMILES, InChIKey vs SMILES, stated mass vs
  formula) or whose formula disagrees with the compound it matched is rejected with a message
  naming the field.  EI spectra with peaks above the molecular mass (+4.5 Da) or all-equal
  intensities are flagged (kept, listed in the summary).
* Compounds: exact InChIKey, then normalised name/synonym (refused when the record's InChIKey
  contradicts it); otherwise a new compound is added with what the record says.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fentid import curation_nmr
from fentid.errors import FentidError, LibraryError, ValidationError
from fentid.reference_library import Library, edit
from fentid.reference_library import schema as S
from fentid.reference_library.catalog import CompoundMatcher
from fentid.reference_library.validate import (
    check_ei_peaks,
    check_structure,
    errors,
    formula_mass,
    rdkit_available,
    same_formula,
    structure_facts,
)
from fentid.spectra.technique import technique_of

EXIT_OK, EXIT_BAD_INPUT = 0, 2


@dataclass
class Accepted:
    """One record ready to be stored."""

    technique: str
    position: np.ndarray
    intensity: np.ndarray
    compound: int
    columns: dict
    profile: object = None  # processed NMR spectrum kept beside the peaks


@dataclass
class ImportReport:
    imported: int = 0
    matched_catalog: int = 0
    new_compounds: int = 0
    rejected: list = field(default_factory=list)
    flagged: list = field(default_factory=list)
    sources: list = field(default_factory=list)
    library_version: int | None = None

    def as_dict(self) -> dict:
        return {"imported": self.imported, "matched_catalog": self.matched_catalog,
                "new_compounds": self.new_compounds, "rejected": self.rejected,
                "flagged": self.flagged, "sources": self.sources,
                "library_version": self.library_version}


# --- turning driver items into library records ----------------------------------------------

def _finite(value) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _peaks(item) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(item, "position"):
        return np.asarray(item.position), np.asarray(item.intensity)
    return np.asarray(item.axis), np.asarray(item.intensities)


def _polarity(value) -> int:
    text = str(value or "").strip().lower()
    if text.startswith(("p", "+")):
        return 1
    if text.startswith(("n", "-")):
        return -1
    return 0


def record_fields(item) -> dict:
    """Compound-related fields a record states about itself."""
    meta = item.metadata
    syn = meta.get("synonyms") or ()
    return {"name": meta.get("name") or "", "synonyms": list(syn) if not isinstance(syn, str)
            else [syn], "inchikey": (meta.get("inchikey") or "").strip().upper(),
            "smiles": meta.get("smiles") or "", "formula": meta.get("formula") or "",
            "exact_mass": meta.get("exact_mass")}


class CompoundResolver:
    """Match records to the library's compounds, collecting new compounds for one batch add."""

    def __init__(self, existing: list[dict], fixed_row: int | None = None):
        self.fixed_row = fixed_row
        self.existing = existing
        self.n_existing = len(existing)
        self.matcher = CompoundMatcher(existing)
        self.new: list[dict] = []

    def row(self, index: int) -> dict:
        return self.existing[index] if index < self.n_existing else \
            self.new[index - self.n_existing]

    def resolve(self, rec: dict, origin: str) -> tuple[int, bool]:
        """(compound row, matched an existing compound?) for record fields ``rec``."""
        if self.fixed_row is not None:  # the curator named the compound
            return self.fixed_row, True
        key = rec["inchikey"]
        if not key and rec["smiles"] and rdkit_available():
            facts = structure_facts(rec["smiles"])
            key = facts["inchikey"] if facts else ""
        hit = self.matcher.match(inchikey=key, name=rec["name"], synonyms=rec["synonyms"])
        if hit is not None:
            return hit, hit < self.n_existing
        mass = rec["exact_mass"]
        if not _finite(mass) and rec["formula"]:
            try:
                mass = formula_mass(rec["formula"])
            except (KeyError, ValueError):  # element without a tabulated mass: leave it NaN
                mass = float("nan")
        comp = {"name": rec["name"] or key or rec["smiles"], "synonyms": "; ".join(rec["synonyms"]),
                "smiles": rec["smiles"], "inchikey": key, "formula": rec["formula"],
                "monoisotopic_mass": mass if _finite(mass) else float("nan"),
                "compound_class": "", "isomer_group": "", "legal_note": "", "origin": origin}
        index = self.n_existing + len(self.new)
        self.new.append(comp)
        self.matcher.add(index, comp)
        return index, False


def check_record(rec: dict, comp: dict) -> None:
    """Reject (ValidationError naming the field) a record whose formula disagrees with the
    compound it matched (its internal consistency is checked by ``check_structure``)."""
    if rec["formula"] and comp.get("formula") and not same_formula(rec["formula"],
                                                                  comp["formula"]):
        raise ValidationError(f"formula: {rec['formula']} disagrees with compound "
                              f"{comp['name']} ({comp['formula']})")


def prepare(item, record_no: int, source: str, sha256: str, licence: str | None,
            resolver: CompoundResolver, report: ImportReport) -> Accepted:
    """Turn one driver item into an :class:`Accepted` record (or raise ValidationError)."""
    tech = technique_of(item)
    pos, inten = _peaks(item)
    if pos.size == 0:
        raise ValidationError("no peaks")
    if np.any(inten < 0):
        raise ValidationError("negative intensities")
    rec = record_fields(item)
    is_nmr = tech.startswith("nmr")
    if is_nmr:
        rec = curation_nmr.structure_fields(rec, item.metadata)
        curation_nmr.check_nmr_peaks(pos, item.nucleus)
    found = errors(check_structure(rec))
    if found:
        raise ValidationError(f"{found[0].field}: {found[0].message}")
    origin = f"import {Path(source).name}"
    comp_row, matched = curation_nmr.resolve_nmr(resolver, rec, origin) \
        if is_nmr and resolver.fixed_row is None else resolver.resolve(rec, origin)
    comp = resolver.row(comp_row)
    check_record(rec, comp)
    if tech == "ei":
        for flag in check_ei_peaks(pos, inten, comp.get("monoisotopic_mass")):
            report.flagged.append({"file": source, "record": record_no or None,
                                   "flag": f"{flag.field}: {flag.message}"})
    if matched:
        report.matched_catalog += 1
    meta = item.metadata
    order = np.argsort(pos, kind="stable")
    columns = {
        "compound": comp_row, "record_name": rec["name"],
        "precursor_mz": meta.get("precursor_mz") if _finite(meta.get("precursor_mz"))
        else np.nan,
        "polarity": _polarity(meta.get("polarity")),
        "collision_energy_ev": meta.get("collision_energy_ev")
        if _finite(meta.get("collision_energy_ev")) else np.nan,
        "ms_level": int(meta.get("ms_level") or (0 if tech.startswith("nmr") else 1)),
        "ionization": meta.get("ionization") or "",
        "instrument": curation_nmr.conditions_json(meta) if is_nmr
        else meta.get("instrument") or "",
        "field_mhz": meta.get("spectrometer_frequency_mhz")
        if _finite(meta.get("spectrometer_frequency_mhz")) else np.nan,
        "solvent": meta.get("solvent") or "", "source": source, "sha256": sha256,
        "source_record": record_no, "licence": licence or meta.get("licence") or "",
        "accession": meta.get("accession") or "",
    }
    return Accepted(tech, pos[order], inten[order], comp_row, columns)


def store(w, accepted: list[Accepted], resolver: CompoundResolver) -> dict[str, np.ndarray]:
    """Write compounds then entries (one vectorised append per technique)."""
    if resolver.new:
        w.add_compounds(resolver.new)
    ids = {}
    for tech in sorted({a.technique for a in accepted}):
        group = [a for a in accepted if a.technique == tech]
        offsets = np.zeros(len(group) + 1, np.int64)
        offsets[1:] = np.cumsum([a.position.size for a in group])
        columns = {name: [a.columns[name] for a in group] for name in group[0].columns}
        first_row = w.n_entries(tech)
        ids[tech] = w.add_entries(tech, np.concatenate([a.position for a in group]),
                                  np.concatenate([a.intensity for a in group]), offsets, columns)
        for k, a in enumerate(group):
            if a.profile is not None:
                w.add_profile(tech, first_row + k, a.profile.axis, a.profile.intensities)
    return ids


def import_sources(lib_path, sources, fmt: str = "auto", licence: str | None = None,
                   curator: str | None = None, progress=None,
                   source_root=None) -> ImportReport:
    """Import every readable record of ``sources`` into the library in one atomic change.

    ``source_root``: record each source's path relative to this folder (a library built on
    one machine then names its sources the same everywhere); default: absolute paths.
    """
    from fentid import drivers

    report = ImportReport()
    datasets = []
    for src in sources:
        try:
            datasets.append(drivers.read(src, None if fmt == "auto" else fmt))
        except FentidError as exc:
            report.rejected.append({"file": str(src), "record": None, "reason": exc.message})
    total = sum(len(d.items) for d in datasets)
    accepted: list[Accepted] = []
    with Library.open(lib_path) as lib:
        resolver = CompoundResolver(lib.compounds())
    done = 0
    for ds in datasets:
        source = _source_name(ds.path, source_root)
        for problem in ds.problems:
            report.rejected.append({"file": source, "record": problem.record,
                                    "reason": problem.reason})
        n_before = len(accepted)
        try:
            items = curation_nmr.storable_items(ds)
        except FentidError as exc:
            report.rejected.append({"file": source, "record": None, "reason": exc.message})
            items = []
        for k, (item, profile) in enumerate(items, 1):
            # 1-based position in the source file (a single-record file's record is 1)
            record_no = item.provenance.record or k
            try:
                accepted.append(prepare(item, record_no, source, ds.sha256, licence,
                                        resolver, report))
                accepted[-1].profile = profile
            except (ValidationError, ValueError) as exc:
                reason = exc.message if isinstance(exc, FentidError) else str(exc)
                report.rejected.append({"file": source, "record": record_no or None,
                                        "reason": reason})
            done += 1
            if progress and (done % 200 == 0 or done == total):
                progress(done, total, Path(source).name)
        report.sources.append({"file": source, "driver": ds.driver, "sha256": ds.sha256,
                               "imported": len(accepted) - n_before})
    report.imported = len(accepted)
    report.new_compounds = len(resolver.new)
    if accepted:
        with edit(lib_path, curator) as w:
            store(w, accepted, resolver)
            w.log("import", detail={"sources": report.sources, "imported": report.imported,
                                    "new_compounds": report.new_compounds,
                                    "rejected": len(report.rejected), "licence": licence})
        with Library.open(lib_path) as lib:
            report.library_version = lib.library_version
    return report


def _source_name(path, root) -> str:
    full = Path(path).resolve()
    if root is not None:
        try:
            return full.relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            pass
    return str(full)


# --- add one spectrum -------------------------------------------------------------------------

def resolve_compound_arg(w, text: str, name: str | None = None) -> int:
    """Compound row for ``--compound`` (catalog name/synonym, InChIKey, or a new SMILES).

    A new compound given by SMILES is named ``name`` (the curator's ``--name``), else by its
    SMILES.
    """
    matcher = w.matcher
    hit = matcher.match(inchikey=text, name=text)
    if hit is not None:
        return hit
    if not rdkit_available():
        raise LibraryError(f"no compound {text!r} in the library (a new compound given as "
                           "SMILES needs RDKit: pip install 'fentid[chem]')", w.library_path)
    facts = structure_facts(text)
    if facts is None:
        raise LibraryError(f"no compound {text!r} in the library, and it is not a valid "
                           "SMILES; give a catalog name, an InChIKey or a SMILES", w.library_path)
    hit = matcher.match(inchikey=facts["inchikey"])
    if hit is not None:
        return hit
    return w.add_compound({"name": name or text, "smiles": text, "inchikey": facts["inchikey"],
                           "formula": facts["formula"], "monoisotopic_mass": facts["mass"],
                           "origin": "library add --compound SMILES"})


def _single_record(ds, file):
    """The one storable record of ``ds`` and its profile spectrum (or None).

    A peak list or stick spectrum is stored as it is; anything else (an FID, a profile
    spectrum, a GC-MS run) is processed and picked as ``fentid identify`` does, and must
    give exactly one component.
    """
    from fentid.components import components_of

    if len(ds.items) == 1:
        try:
            technique_of(ds.items[0])
            return ds.items[0], None
        except ValidationError:
            pass  # needs processing first
    components = components_of(ds)
    if len(components) != 1:
        raise ValidationError(f"gives {len(components)} spectra after processing; `library "
                              "add` takes one (use `library import` for files of many)", file)
    comp = components[0]
    meta = dict(comp.spectrum.metadata) if comp.spectrum is not None else {}
    meta.update({k: v for k, v in comp.peaks.metadata.items() if v is not None})
    meta.setdefault("name", comp.name)
    profile = comp.spectrum if comp.spectrum is not None and not comp.spectrum.centroided \
        else None
    return comp.peaks.replace(metadata=meta), profile


def add_spectrum(lib_path, file, compound: str, licence=None, curator=None,
                 name: str | None = None) -> dict:
    """Add the one spectrum in ``file`` as an entry of ``compound``; returns the new entry.

    Raw data (an NMR FID, a GC-MS run with one component) is processed and picked first;
    the processed spectrum is kept beside the peaks as the entry's profile.
    """
    from fentid import drivers

    ds = drivers.read(file)
    item, profile = _single_record(ds, file)
    report = ImportReport()
    source = str(Path(ds.path).resolve())
    with edit(lib_path, curator) as w:
        row = resolve_compound_arg(w, compound, name=name)
        resolver = CompoundResolver(w.compounds(), fixed_row=row)
        try:
            acc = prepare(item, item.provenance.record or 1, source, ds.sha256, licence,
                          resolver, report)
        except ValidationError as exc:
            raise ValidationError(exc.message, file) from None
        ids = store(w, [acc], resolver)
        entry_id = int(ids[acc.technique][0])
        if profile is not None:
            w.add_profile(acc.technique, w.n_entries(acc.technique) - 1, profile.axis,
                          profile.intensities)
        w.log("add", entry_id=entry_id, detail={"source": source, "compound": compound,
                                                "flags": report.flagged,
                                                "processed": profile is not None})
    with Library.open(lib_path) as lib:
        out = lib.entry(entry_id)
    out["flags"] = [f["flag"] for f in report.flagged]
    return out


def reassign_entry(lib_path, entry_id: int, compound: str, reason: str,
                   curator: str | None = None) -> dict:
    """Attach entry ``entry_id`` to ``compound`` (name, synonym, InChIKey or a new SMILES);
    audited with the old and new compound and the reason."""
    if not reason.strip():
        raise LibraryError("a reassignment needs a reason (--reason)", lib_path)
    with edit(lib_path, curator) as w:
        row = resolve_compound_arg(w, compound)
        return w.reassign(entry_id, row, reason)


def create_from_default(path, name: str | None = None, curator: str | None = None):
    """A new user library that starts as a copy of fentid's packaged default library.

    The copy keeps every entry, its source and licence, and the audit trail of how the
    default was built; one audited change records that it was created from the default (and
    from which version and checksum), which also gives it its own library version.

    Raises
    ------
    LibraryError
        ``path`` exists, or this build of fentid has no packaged default library.
    """
    import shutil

    from fentid.defaults import packaged_library
    from fentid.reference_library import atomic

    path = Path(path)
    source = packaged_library()
    if source is None:
        raise LibraryError("this fentid build has no packaged default library", path)
    if path.exists():
        raise LibraryError("file exists; refusing to overwrite it", path)
    if not path.parent.is_dir():
        raise LibraryError("folder does not exist", path.parent)
    with Library.open(source) as lib:
        origin = {"from_default": str(source), "library_version": lib.library_version,
                  "checksum": lib.checksum}
    tmp = atomic.temp_path(path)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    with edit(path, curator) as w:
        if name:
            w.f.attrs[S.ATTR_NAME] = name
        w.log("create", detail=origin)
    return path
