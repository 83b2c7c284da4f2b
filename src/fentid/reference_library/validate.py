"""Validation of compounds and reference records (structural checks need RDKit, extra ``chem``).

Each check gives a :class:`Finding` with a level: ``error`` (the record is rejected / the
library does not validate), ``warning`` (flagged, kept), ``skipped`` (could not be checked:
RDKit missing, or nothing to compare).  Without RDKit the structural checks are reported as
skipped, never as passed.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

import numpy as np

#: Monoisotopic masses (Da) of the elements that occur in the catalog and common libraries.
MONOISOTOPIC = {
    "H": 1.00782503207, "B": 11.0093054, "C": 12.0, "N": 14.0030740048,
    "O": 15.99491461956, "F": 18.99840322, "Na": 22.9897692809, "Si": 27.9769265325,
    "P": 30.97376163, "S": 31.97207100, "Cl": 34.96885268, "K": 38.96370668,
    "Br": 78.9183371, "I": 126.904473, "Se": 79.9165213, "Li": 7.01600455, "D": 2.01410178,
    "Mg": 23.9850417, "Al": 26.98153863, "Ca": 39.96259098, "Ti": 47.9479463,
    "Cr": 51.9405075, "Mn": 54.9380451, "Fe": 55.9349375, "Co": 58.933195, "Ni": 57.9353429,
    "Cu": 62.9295975, "Zn": 63.9291422, "Ga": 68.9255736, "Ge": 73.9211778, "As": 74.9215965,
    "Rb": 84.91178974, "Sr": 87.9056121, "Ag": 106.905097, "Cd": 113.9033585,
    "Sn": 119.9021947, "Sb": 120.9038157, "Te": 129.9062244, "Cs": 132.905451933,
    "Ba": 137.9052472, "Pt": 194.9647911, "Au": 196.9665687, "Hg": 201.970643,
    "Tl": 204.9744275, "Pb": 207.9766521, "Bi": 208.9803987, "Gd": 157.9241039,
}
ELECTRON_MASS = 0.00054857990946
#: Agreement needed between a stated monoisotopic mass and the formula's, Da.
MASS_TOLERANCE_DA = 0.01
#: An EI peak this far above the molecular mass is flagged (isotopes reach M+4 for Br2/Cl4).
EI_MAX_MZ_TOLERANCE_DA = 4.5
#: 4-anilidopiperidine: acyl-N(aryl)-C4 of a piperidine.  C4 is only required to be sp3, so
#: carfentanil-type C4 (quaternary, with a 4-carbomethoxy or 4-methoxymethyl) matches too.
ANILIDOPIPERIDINE_SMARTS = "O=[#6]-[#7](-a)-[#6X4]1-[#6X4]-[#6X4]-[#7]-[#6X4]-[#6X4]-1"
FENTANYL_CLASSES = ("fentanyl_analog",)


@dataclass(frozen=True)
class Finding:
    """One validation result: ``level`` is error, warning, skipped or ok."""

    level: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.field}: {self.message}"


def parse_formula(formula: str) -> dict[str, int]:
    """Element counts of a molecular formula (``C22H28N2O``; a trailing charge is ignored).

    Raises
    ------
    ValueError
        When the text is not a formula of known elements.
    """
    text = re.sub(r"[+-]\d*$", "", (formula or "").strip())
    if not text or not re.fullmatch(r"(?:[A-Z][a-z]?\d*)+", text):
        raise ValueError(f"{formula!r} is not a molecular formula")
    counts: dict[str, int] = {}
    for element, n in re.findall(r"([A-Z][a-z]?)(\d*)", text):
        counts[element] = counts.get(element, 0) + (int(n) if n else 1)
    return counts


def formula_mass(formula: str) -> float:
    """Monoisotopic mass of a neutral formula, Da (a ``+``/``-`` charge removes/adds e-)."""
    counts = parse_formula(formula)
    unknown = sorted(set(counts) - set(MONOISOTOPIC))
    if unknown:
        raise KeyError(f"no monoisotopic mass known for {', '.join(unknown)}")
    mass = sum(MONOISOTOPIC[e] * n for e, n in counts.items())
    charge = re.search(r"([+-])(\d*)$", formula.strip())
    if charge:
        z = int(charge.group(2) or 1) * (1 if charge.group(1) == "+" else -1)
        mass -= z * ELECTRON_MASS
    return mass


def same_formula(a: str, b: str) -> bool:
    try:
        return parse_formula(a) == parse_formula(b)
    except ValueError:
        return False


@functools.cache
def rdkit_available() -> bool:
    try:
        import rdkit  # noqa: F401
    except ImportError:
        return False
    return True


def _chem():
    from rdkit import Chem, RDLogger
    from rdkit.Chem import Descriptors, rdMolDescriptors

    RDLogger.DisableLog("rdApp.*")
    return Chem, Descriptors, rdMolDescriptors


@functools.cache
def structure_facts(smiles: str) -> dict | None:
    """Formula, monoisotopic mass (Da), InChIKey and core flag of a SMILES; None if invalid."""
    Chem, Descriptors, rdMD = _chem()
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None
    core = Chem.MolFromSmarts(ANILIDOPIPERIDINE_SMARTS)
    return {"formula": rdMD.CalcMolFormula(mol), "mass": Descriptors.ExactMolWt(mol),
            "inchikey": Chem.MolToInchiKey(mol), "core": mol.HasSubstructMatch(core)}


def check_structure(record: dict, compound_class: str = "") -> list[Finding]:
    """Check a compound or record's own fields against each other.

    Parameters
    ----------
    record : dict
        Any of ``smiles``, ``formula``, ``inchikey``, ``monoisotopic_mass`` (Da, also read
        from ``exact_mass``).
    compound_class : str
        ``fentanyl_analog`` also requires the 4-anilidopiperidine core.
    """
    out: list[Finding] = []
    smiles = (record.get("smiles") or "").strip()
    formula = (record.get("formula") or "").strip()
    key = (record.get("inchikey") or "").strip().upper()
    mass = record.get("monoisotopic_mass", record.get("exact_mass"))
    mass = None if mass in (None, "") or not math.isfinite(float(mass)) else float(mass)
    if formula:
        try:
            fmass = formula_mass(formula)
        except ValueError as exc:
            out.append(Finding("error", "formula", str(exc)))
            fmass = None
        except KeyError as exc:
            out.append(Finding("skipped", "monoisotopic_mass", exc.args[0]))
            fmass = None
        if fmass is not None and mass is not None and abs(fmass - mass) > MASS_TOLERANCE_DA:
            out.append(Finding("error", "monoisotopic_mass",
                               f"{mass:.4f} Da disagrees with formula {formula} "
                               f"({fmass:.4f} Da)"))
    if not smiles:
        out.append(Finding("skipped", "smiles", "no structure to check"))
        return out
    if not rdkit_available():
        out.append(Finding("skipped", "smiles", "structural checks need RDKit "
                                                "(pip install 'fentid[chem]')"))
        return out
    facts = structure_facts(smiles)
    if facts is None:
        out.append(Finding("error", "smiles", f"SMILES {smiles!r} does not parse"))
        return out
    if formula and not same_formula(formula, facts["formula"]):
        out.append(Finding("error", "formula", f"{formula} disagrees with the SMILES, which "
                                               f"gives {facts['formula']}"))
    if mass is not None and abs(mass - facts["mass"]) > MASS_TOLERANCE_DA:
        out.append(Finding("error", "monoisotopic_mass",
                           f"{mass:.4f} Da disagrees with the SMILES ({facts['mass']:.4f} Da)"))
    if key and key != facts["inchikey"]:
        level = "warning" if key[:14] == facts["inchikey"][:14] else "error"
        out.append(Finding(level, "inchikey", f"{key} disagrees with the SMILES, which gives "
                                              f"{facts['inchikey']}"))
    if compound_class in FENTANYL_CLASSES and not facts["core"]:
        out.append(Finding("error", "smiles", "fentanyl-class compound without the "
                                              "4-anilidopiperidine core"))
    if not any(f.level == "error" for f in out):
        out.append(Finding("ok", "structure", "SMILES, formula, mass and InChIKey agree"))
    return out


def check_compound(comp: dict) -> list[Finding]:
    """Validate one compound table row (catalog entry)."""
    return check_structure(comp, comp.get("compound_class", ""))


def check_ei_peaks(mz: np.ndarray, intensity: np.ndarray, molecular_mass: float | None
                   ) -> list[Finding]:
    """Flag EI spectra that cannot be right: peaks above M (+ isotopes), all-equal heights."""
    out = []
    mz = np.asarray(mz, float)
    intensity = np.asarray(intensity, float)
    if mz.size == 0:
        return [Finding("error", "peaks", "no peaks")]
    if molecular_mass and math.isfinite(molecular_mass) \
            and mz.max() > molecular_mass + EI_MAX_MZ_TOLERANCE_DA:
        out.append(Finding("warning", "peaks", f"largest m/z {mz.max():g} exceeds the molecular "
                                               f"mass {molecular_mass:.2f} Da"))
    if mz.size > 1 and np.all(intensity == intensity[0]):
        out.append(Finding("warning", "peaks", "all peak intensities are equal"))
    return out


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "error"]
