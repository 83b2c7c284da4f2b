"""Structure facts that need RDKit (the ``chem`` extra), with an honest answer without it.

Every function returns None when RDKit is not installed or the structure cannot be parsed,
so callers can tell "no stereocentres" from "could not check".
"""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=4096)
def stereocentre_count(smiles: str) -> int | None:
    """Stereocentres plus stereogenic double bonds of ``smiles``, assigned or not.

    Returns
    -------
    int or None
        0 for a structure without stereoisomers; None without RDKit or for an unparsable
        SMILES.
    """
    if not smiles:
        return None
    try:
        from rdkit import Chem, RDLogger
        from rdkit.Chem import FindPotentialStereoBonds
    except ImportError:
        return None
    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None
    centres = Chem.FindMolChiralCenters(mol, includeUnassigned=True,
                                        useLegacyImplementation=False)
    FindPotentialStereoBonds(mol, cleanIt=False)
    bonds = sum(1 for b in mol.GetBonds() if b.GetStereo() != Chem.BondStereo.STEREONONE)
    return len(centres) + bonds
