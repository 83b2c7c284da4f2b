"""Structures of an isomer group drawn with RDKit (the ``chem`` extra), the part where the
candidates differ highlighted.

The maximum common substructure (MCS) of all candidates is what they share; every atom
outside it (a methyl on another ring position, a fluorine moved) is highlighted, with the
bonds between such atoms and from them into the shared part.  Qt-free: returns PNG bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Seconds the MCS search may take (fentanyl analogs: well under a second).
MCS_TIMEOUT_S = 5
HIGHLIGHT = (0.95, 0.45, 0.2)


@dataclass(frozen=True)
class Drawing:
    """One candidate: its name, SMILES, the atoms highlighted and the picture."""

    name: str
    smiles: str | None
    highlighted_atoms: tuple[int, ...]
    png: bytes | None
    note: str = ""


def rdkit_available() -> bool:
    try:
        import rdkit  # noqa: F401
    except ImportError:
        return False
    return True


def differing_atoms(smiles: list[str]) -> list[tuple[int, ...]]:
    """Per molecule, the atom indices outside the candidates' maximum common substructure.

    Raises
    ------
    ValueError
        A SMILES that RDKit cannot parse.
    """
    from rdkit import Chem
    from rdkit.Chem import rdFMCS

    mols = []
    for s in smiles:
        mol = Chem.MolFromSmiles(s)
        if mol is None:
            raise ValueError(f"RDKit cannot parse the SMILES {s!r}")
        mols.append(mol)
    if len(mols) < 2:
        return [() for _ in mols]
    mcs = rdFMCS.FindMCS(mols, timeout=MCS_TIMEOUT_S, ringMatchesRingOnly=True,
                         completeRingsOnly=True)
    core = Chem.MolFromSmarts(mcs.smartsString) if mcs.numAtoms else None
    out = []
    for mol in mols:
        shared = set(mol.GetSubstructMatch(core)) if core is not None else set()
        out.append(tuple(i for i in range(mol.GetNumAtoms()) if i not in shared))
    return out


def draw_group(candidates: list[tuple[str, str | None]], size: tuple[int, int] = (320, 260)
               ) -> list[Drawing]:
    """Draw each ``(name, smiles)`` with the atoms that differ from the others highlighted.

    Candidates without a SMILES are returned with ``png=None`` and a note.
    """
    from rdkit import Chem
    from rdkit.Chem.Draw import rdMolDraw2D

    known = [(n, s) for n, s in candidates if s]
    atoms = dict(zip([n for n, _ in known], differing_atoms([s for _, s in known]),
                     strict=True))
    out = []
    for name, smi in candidates:
        if not smi:
            out.append(Drawing(name, None, (), None, "no structure recorded in the library"))
            continue
        mol = Chem.MolFromSmiles(smi)
        hl = atoms[name]
        bonds = [b.GetIdx() for b in mol.GetBonds()
                 if b.GetBeginAtomIdx() in hl or b.GetEndAtomIdx() in hl]
        drawer = rdMolDraw2D.MolDraw2DCairo(*size)
        opts = drawer.drawOptions()
        opts.legendFontSize = 16
        rdMolDraw2D.PrepareAndDrawMolecule(
            drawer, mol, legend=name, highlightAtoms=list(hl), highlightBonds=bonds,
            highlightAtomColors={i: HIGHLIGHT for i in hl},
            highlightBondColors={i: HIGHLIGHT for i in bonds})
        drawer.FinishDrawing()
        out.append(Drawing(name, smi, hl, drawer.GetDrawingText()))
    return out
