"""What the rules know about compounds: isomer groups, stereoisomers, library coverage.

Two compounds are

* **the same constitution** (stereoisomers, or one compound recorded under two names) when
  their InChIKeys share the first block (the skeleton) and their formulas agree (an
  isotopologue such as fentanyl-d5 shares the skeleton but not the formula);
* **positional isomers** only when the catalog puts them in one positional-isomer group
  (ortho/meta/para-fluorofentanyl...);
* **structural isomers** when their formulas agree otherwise (butyryl- and
  isobutyrylfentanyl): EI spectra of such pairs can be close, but they are not named
  positional isomers and get no positional-isomer advice.

A compound "has stereocentres" when RDKit (the ``chem`` extra) finds any in its SMILES, or,
without RDKit or SMILES, when its InChIKey has a stereo layer or another compound of the
library or catalog shares its constitution under another name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from fentid.chem import stereocentre_count

_ELEMENT = re.compile(r"([A-Z][a-z]?)(\d*)")


def skeleton(inchikey: str | None) -> str:
    """First InChIKey block (constitution), upper case; "" when there is no key."""
    return (inchikey or "").strip().upper().split("-")[0]


def formula_key(formula: str | None) -> str:
    """A formula in a canonical order (C, H, then alphabetical), "" when unknown.

    ``"C17H21NO4"`` and ``"C17 H21 N O4"`` give the same key; deuterium stays ``D``, so an
    isotopologue's formula differs from its parent's.
    """
    if not formula:
        return ""
    counts: dict[str, int] = {}
    for element, n in _ELEMENT.findall(str(formula).replace(" ", "")):
        counts[element] = counts.get(element, 0) + (int(n) if n else 1)
    if not counts:
        return ""
    order = [e for e in ("C", "H") if e in counts] + sorted(e for e in counts if e not in "CH")
    return "".join(f"{e}{counts[e] if counts[e] != 1 else ''}" for e in order)


@dataclass(frozen=True)
class CompoundFacts:
    """One compound as the rules see it."""

    name: str
    inchikey: str = ""
    formula: str = ""
    isomer_group: str = ""
    smiles: str = ""

    @property
    def constitution(self) -> tuple[str, str]:
        """(skeleton, formula key); ("", "") when the key is unknown."""
        sk = skeleton(self.inchikey)
        return (sk, formula_key(self.formula)) if sk else ("", "")


@dataclass
class Knowledge:
    """Catalog isomer groups, constitution groups and library coverage for one technique.

    Attributes
    ----------
    groups : dict
        Catalog positional-isomer group -> member compound names.
    in_library : set
        Lower-case names of compounds with live entries of the searched technique.
    compounds : dict
        Lower-case name -> :class:`CompoundFacts` (library compound table).
    """

    groups: dict[str, set[str]] = field(default_factory=dict)
    in_library: set[str] = field(default_factory=set)
    compounds: dict[str, CompoundFacts] = field(default_factory=dict)
    _by_constitution: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    _stereo_cache: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def from_compounds(cls, rows: Iterable[Mapping], in_library: Iterable[str] = ()
                       ) -> Knowledge:
        """Build from compound-table rows (``name, inchikey, formula, isomer_group, smiles``)."""
        know = cls(in_library={n.lower() for n in in_library})
        for row in rows:
            facts = CompoundFacts(name=row.get("name") or "", inchikey=row.get("inchikey") or "",
                                  formula=row.get("formula") or "",
                                  isomer_group=row.get("isomer_group") or "",
                                  smiles=row.get("smiles") or "")
            know.add(facts)
        return know

    def add(self, facts: CompoundFacts) -> None:
        self.compounds.setdefault(facts.name.lower(), facts)
        if facts.isomer_group:
            self.groups.setdefault(facts.isomer_group, set()).add(facts.name)
        if facts.constitution[0]:
            members = self._by_constitution.setdefault(facts.constitution, [])
            if facts.name not in members:
                members.append(facts.name)

    def has(self, name: str) -> bool:
        return name.lower() in self.in_library

    def facts(self, hit: Mapping) -> CompoundFacts:
        """Facts of a hit's compound (from the table, else from the hit itself)."""
        known = self.compounds.get((hit.get("compound") or "").lower())
        if known is not None:
            return known
        return CompoundFacts(name=hit.get("compound") or "", inchikey=hit.get("inchikey") or "",
                             formula=hit.get("formula") or "",
                             isomer_group=hit.get("isomer_group") or "")

    def same_constitution(self, a: Mapping, b: Mapping) -> bool:
        """Stereoisomers, or one compound under two names (see module notes)."""
        ca, cb = self.facts(a).constitution, self.facts(b).constitution
        if not ca[0] or not cb[0] or ca[0] != cb[0]:
            return (a.get("compound") or "").lower() == (b.get("compound") or "").lower()
        return not ca[1] or not cb[1] or ca[1] == cb[1]

    def positional_isomers(self, a: Mapping, b: Mapping) -> bool:
        ga, gb = self.facts(a).isomer_group, self.facts(b).isomer_group
        return bool(ga) and ga == gb

    def structural_isomers(self, a: Mapping, b: Mapping) -> bool:
        fa, fb = formula_key(self.facts(a).formula), formula_key(self.facts(b).formula)
        return bool(fa) and fa == fb and not self.same_constitution(a, b)

    def stereo_partners(self, name: str) -> list[str]:
        """Other compounds of the same constitution (library or catalog), by name."""
        facts = self.compounds.get(name.lower())
        if facts is None or not facts.constitution[0]:
            return []
        return [n for n in self._by_constitution.get(facts.constitution, [])
                if n.lower() != name.lower()]

    def has_stereocentres(self, name: str) -> bool:
        """Whether the compound's structure has stereocentres (see module notes)."""
        key = name.lower()
        if key not in self._stereo_cache:
            self._stereo_cache[key] = self._stereo(name)
        return self._stereo_cache[key]

    def _stereo(self, name: str) -> bool:
        smiles = [f.smiles for f in self._constitution_facts(name) if f.smiles]
        counted = stereocentre_count(smiles[0]) if smiles else None
        if counted is not None:
            return counted > 0
        facts = self.compounds.get(name.lower())
        if facts is not None and facts.inchikey:
            parts = facts.inchikey.upper().split("-")
            if len(parts) == 3 and not parts[1].startswith("UHFFFAOY"):
                return True
        return bool(self.stereo_partners(name))

    def _constitution_facts(self, name: str) -> list[CompoundFacts]:
        facts = self.compounds.get(name.lower())
        if facts is None:
            return []
        names = [facts.name] + self.stereo_partners(name)
        return [self.compounds[n.lower()] for n in names if n.lower() in self.compounds]
