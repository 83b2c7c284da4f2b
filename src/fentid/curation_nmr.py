"""NMR references as they exist, for ``fentid library import``/``add`` (used by
:mod:`fentid.curation`).

Decisions
---------
* Processed spectra (ASICS CSV, JCAMP XYDATA/NTUPLES, Bruker 1r) and FIDs are processed and
  peak-picked as ``fentid identify`` does; the processed spectrum is stored beside the peaks
  as the entry's profile (full-spectrum similarity and mixture analysis use it).  Peak lists
  (nmrshiftdb2, BMRB, NMReDATA, JCAMP peak tables) are stored as the source gives them.
* Conditions the schema has no column for (temperature, pH, shift standard, list kind,
  multiplicities, transitions, predicted/predictor) are stored as one JSON object in the
  entry's ``instrument`` column, which NMR entries do not otherwise use
  (:data:`CONDITIONS_COLUMN`); :func:`entry_conditions` reads it back.  Solvent and field
  have their own columns.
* Structures: a record's molfile (NMReDATA) or InChI gives the InChIKey when RDKit is
  installed, and a molfile whose constitution disagrees with the record's SMILES is
  rejected.  A salt or protonated form (procaine HCl, loperamide HCl) joins the catalog
  compound of its largest neutralised fragment.  A record whose constitution is a catalog
  compound's but whose stereo layer differs (anomers of a sugar, a record without stereo
  descriptors) becomes its own compound, named after the catalog one with the difference
  (``Lactose (stereo variant GUBG...)``): NMR can tell diastereomers apart, so they are
  never silently merged.
"""

from __future__ import annotations

import json
import math

import numpy as np

from fentid.errors import ValidationError

#: Entry column that holds the NMR conditions JSON (NMR entries have no instrument text).
CONDITIONS_COLUMN = "instrument"
#: Metadata keys kept in the conditions JSON.
CONDITION_KEYS = ("temperature_k", "ph", "shift_reference", "list_kind", "multiplicity",
                  "lines", "predicted", "predictor", "record_id", "n_protons", "referenced")


def conditions_json(meta) -> str:
    """The conditions JSON of a record's metadata (only the keys it states)."""
    out = {}
    for key in CONDITION_KEYS:
        value = meta.get(key)
        if value is None or value == () or (isinstance(value, float) and not math.isfinite(
                value)):
            continue
        if key == "multiplicity" and not any(value):
            continue
        out[key] = [list(v) if isinstance(v, tuple) else v for v in value] \
            if isinstance(value, tuple | list) else value
    return json.dumps(out, sort_keys=True, separators=(",", ":"))


def entry_conditions(entry: dict) -> dict:
    """Conditions of a library NMR entry (``{}`` when none were stored)."""
    text = entry.get(CONDITIONS_COLUMN) or ""
    if not text.startswith("{"):
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return {}


def storable_items(ds) -> list[tuple[object, object]]:
    """(peak list or stick item, profile spectrum or None) for every record of an NMR
    dataset: peak lists as they are, spectra and FIDs processed and picked."""
    from fentid.components import nmr_components
    from fentid.spectra.model import Fid, PeakList, Spectrum

    if ds.technique != "nmr" or all(isinstance(i, PeakList) or (
            isinstance(i, Spectrum) and i.centroided) for i in ds.items):
        return [(item, None) for item in ds.items]
    if not any(isinstance(i, Fid | Spectrum) for i in ds.items):
        return [(item, None) for item in ds.items]
    out = []
    for comp in nmr_components(ds):
        meta = dict(comp.spectrum.metadata) if comp.spectrum is not None else {}
        meta.update({k: v for k, v in comp.peaks.metadata.items() if v is not None})
        out.append((comp.peaks.replace(metadata=meta), comp.spectrum))
    return out


def structure_fields(rec: dict, meta) -> dict:
    """``rec`` with SMILES/InChIKey filled from a molfile or InChI (RDKit), checked.

    Raises
    ------
    ValidationError
        The molfile does not parse, or its constitution disagrees with the SMILES.
    """
    from fentid.reference_library.validate import rdkit_available, structure_facts

    molfile, inchi = meta.get("molfile"), meta.get("inchi")
    if not rdkit_available() or not (molfile or inchi):
        return rec
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    rec = dict(rec)
    if molfile:
        mol = Chem.MolFromMolBlock(molfile)
        if mol is None:
            raise ValidationError("molfile: does not parse")
        key = Chem.MolToInchiKey(mol)
        if rec["smiles"]:
            facts = structure_facts(rec["smiles"])
            if facts and facts["inchikey"][:14] != key[:14]:
                raise ValidationError(f"molfile: its structure ({key}) disagrees with the "
                                      f"SMILES ({facts['inchikey']})")
        else:
            rec["smiles"] = Chem.MolToSmiles(mol)
        rec["inchikey"] = rec["inchikey"] or key
    if inchi and not rec["inchikey"]:
        key = Chem.InchiToInchiKey(inchi.strip())
        if key:
            rec["inchikey"] = key
    return rec


def parent_key(smiles: str) -> str | None:
    """InChIKey of the largest fragment, neutralised (the drug of a salt); None without
    RDKit or when it equals the record's own structure."""
    from fentid.reference_library.validate import rdkit_available

    if not smiles or not rdkit_available():
        return None
    from rdkit import Chem, RDLogger
    from rdkit.Chem.MolStandardize import rdMolStandardize

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None
    parent = rdMolStandardize.Uncharger().uncharge(
        rdMolStandardize.LargestFragmentChooser().choose(mol))
    key = Chem.MolToInchiKey(parent)
    return key if key != Chem.MolToInchiKey(mol) else None


def resolve_nmr(resolver, rec: dict, origin: str) -> tuple[int, bool]:
    """:meth:`CompoundResolver.resolve` for NMR records: the record's own structure, then
    its parent (salt-free) structure, then a named stereo variant of a catalog compound."""
    from fentid.reference_library.catalog import skeleton, stereo_free

    matcher = resolver.matcher
    key = rec["inchikey"]
    if key and matcher.match(inchikey=key, name=rec["name"], synonyms=rec["synonyms"]) is None:
        parent = parent_key(rec["smiles"])
        if parent:
            hit = matcher.match(inchikey=parent)
            if hit is not None:
                return hit, hit < resolver.n_existing
        sibling = _sibling(resolver, key)
        if sibling is not None and not _named_other(resolver, rec, sibling):
            base = resolver.row(sibling)["name"]
            what = "stereo not stated" if stereo_free(key) else f"stereo variant {key}"
            rec = dict(rec, synonyms=[*rec["synonyms"], *([rec["name"]] if rec["name"] else
                                                           [])],
                       name=f"{base} ({what})")
            row, _ = resolver.resolve(rec, origin)
            comp = resolver.row(row)
            if not comp.get("isomer_group"):
                comp["isomer_group"] = resolver.row(sibling).get("isomer_group") or \
                    f"stereoisomers {skeleton(key)}"
            return row, False
    return resolver.resolve(rec, origin)


def _sibling(resolver, key: str) -> int | None:
    """The one compound (in the library or added by this import) with the same
    constitution (first InChIKey block) and a name of its own."""
    from fentid.reference_library.catalog import skeleton

    rows = [r for r in range(resolver.n_existing + len(resolver.new))
            if skeleton(resolver.row(r).get("inchikey")) == skeleton(key)
            and resolver.row(r).get("name") != resolver.row(r).get("inchikey")
            and "(stereo" not in resolver.row(r).get("name", "")]
    return rows[0] if len(rows) == 1 else None


def _named_other(resolver, rec: dict, sibling: int) -> bool:
    """The record names a compound other than the sibling (quinidine beside quinine)."""
    from fentid.reference_library.catalog import normalise_name, split_synonyms

    if not rec["name"]:
        return False
    comp = resolver.row(sibling)
    names = {normalise_name(n) for n in [comp["name"], *split_synonyms(comp.get("synonyms"))]}
    own = {normalise_name(n) for n in [rec["name"], *rec["synonyms"]]}
    return not (names & own)


def check_nmr_peaks(position: np.ndarray, nucleus: str) -> None:
    """Reject shifts outside any plausible range (a list in Hz or of another nucleus)."""
    lo, hi = {"1H": (-5.0, 25.0), "13C": (-30.0, 260.0), "19F": (-400.0, 100.0)}.get(
        nucleus, (-1e4, 1e4))
    bad = position[(position < lo) | (position > hi)]
    if bad.size:
        raise ValidationError(f"peaks: {bad.size} {nucleus} shift(s) outside {lo:g}..{hi:g} "
                              f"ppm (e.g. {bad[0]:g})")
