"""The compound catalog shipped with fentid and matching records to compounds.

``fentid/data/catalog.csv`` is derived from ``shared/data/compounds/catalog.csv``: its fact
columns (names, synonyms, structures, formula, mass, class, positional-isomer group, legal note,
sources), row for row, without the free-text notes (a test keeps the two in step).  A new
library is seeded from it, so curators start from known structures.

Matching order (:class:`CompoundMatcher`): exact InChIKey, then normalised name or synonym.
A name match is refused when the record carries an InChIKey that disagrees with the named
compound's: SWGDRUG has records that give a catalog name to another structure, and attaching
such a spectrum to the wrong structure would be worse than adding a new compound.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from importlib import resources

from fentid.chem import stereocentre_count

#: Catalog CSV column -> compound table column.
CSV_COLUMNS = {
    "name": "name", "synonyms": "synonyms", "smiles": "smiles", "inchikey": "inchikey",
    "formula": "formula", "monoisotopic_mass": "monoisotopic_mass", "class": "compound_class",
    "positional_isomer_group": "isomer_group", "controlled_note": "legal_note",
    "source": "origin",
}
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2212"), "-")
_DROP = re.compile(r"[\s\-'\u2019`\"]+")
_NOTE = re.compile(r"\s*\((?:not\s+)?certified\s+by\s+nist\)\s*$")
_CAS_GREEK = re.compile(r"\.(alpha|beta|gamma|delta|omega)\.")
_GREEK = {"\u03b1": "alpha", "\u03b2": "beta", "\u03b3": "gamma", "\u03b4": "delta",
          "\u03c9": "omega"}


def load_catalog(path=None) -> list[dict]:
    """The packaged catalog (or the CSV at ``path``) as compound dicts.

    Returns
    -------
    list of dict
        Keys as the compound table columns; ``monoisotopic_mass`` in Da (float).
    """
    if path is None:
        text = resources.files("fentid").joinpath("data/catalog.csv").read_text("utf-8")
    else:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    rows = []
    for raw in csv.DictReader(text.splitlines()):
        row = {dst: (raw.get(src) or "").strip() for src, dst in CSV_COLUMNS.items()}
        row["monoisotopic_mass"] = float(row["monoisotopic_mass"] or "nan")
        rows.append(row)
    return rows


def normalise_name(name: str | None) -> str:
    """Case-folded name without spaces, hyphens and quotes (Unicode dashes unified).

    Spellings of one name that libraries use are made equal: CAS-style ``.alpha.`` and the
    Greek letters are ``alpha``, and a trailing note such as NIST's ``(Not Certified by NIST)``
    is dropped.
    """
    if not name:
        return ""
    text = unicodedata.normalize("NFKC", str(name)).translate(_DASHES).casefold()
    text = _NOTE.sub("", text)
    text = _CAS_GREEK.sub(lambda m: m.group(1), text)
    for letter, word in _GREEK.items():
        text = text.replace(letter, word)
    return _DROP.sub("", text)


def split_synonyms(text: str | None) -> list[str]:
    """Synonyms as stored: separated by ``;`` (catalog) or newlines."""
    if not text:
        return []
    return [s.strip() for s in re.split(r"[;\n]", text) if s.strip()]


class CompoundMatcher:
    """Find the compound a record is about.

    A full InChIKey (with a stereo layer) names one compound.  A stereo-free key
    (second block ``UHFFFAOYSA``) does not: SWGDRUG gives cocaine and pseudococaine, or
    quinine and quinidine, the same stereo-free key, so a record with such a key joins a
    compound of that key only when its name or a synonym agrees; otherwise its name decides
    (a catalog compound of that name and the same skeleton, or a new compound).  A
    compound is never renamed to another because a stereo-free key matched.

    Parameters
    ----------
    compounds : list of dict
        Rows with at least ``name``, ``synonyms`` and ``inchikey``; the position in the list is
        the row id returned by :meth:`match`.
    """

    def __init__(self, compounds: list[dict]):
        self._by_key: dict[str, list[int]] = {}
        self._by_name: dict[str, int] = {}
        self._keys: list[str] = []
        self._names: list[set[str]] = []
        self._smiles: list[str] = []
        for row, comp in enumerate(compounds):
            self.add(row, comp)

    def add(self, row: int, comp: dict) -> None:
        """Register compound ``row`` (first registration of a name wins)."""
        key = (comp.get("inchikey") or "").strip().upper()
        self._keys.append(key)
        self._smiles.append(comp.get("smiles") or "")
        if key:
            self._by_key.setdefault(key, []).append(row)
        names = set()
        for name in [comp.get("name")] + split_synonyms(comp.get("synonyms")):
            norm = normalise_name(name)
            if norm:
                names.add(norm)
                self._by_name.setdefault(norm, row)
        self._names.append(names)

    def match(self, inchikey: str | None = None, name: str | None = None,
              synonyms=()) -> int | None:
        """Row of the matching compound, or None.

        A full InChIKey first; a stereo-free key only together with an agreeing name; then
        name and synonyms, unless the record's InChIKey contradicts the compound found by
        name (a stereo-free key contradicts only another skeleton).
        """
        key = (inchikey or "").strip().upper()
        wanted = {normalise_name(n) for n in [name, *synonyms] if normalise_name(n)}
        rows = self._by_key.get(key, []) if key else []
        if rows and not stereo_free(key):
            return rows[0]
        for row in rows:  # stereo-free: the key and the name must agree...
            if not wanted or wanted & self._names[row]:
                return row
        for row in rows:  # ...unless the structure has no stereoisomers (RDKit, chem extra)
            if stereocentre_count(self._smiles[row]) == 0:
                return row
        for candidate in [name, *synonyms]:
            row = self._by_name.get(normalise_name(candidate))
            if row is None:
                continue
            known = self._keys[row]
            if key and known and _looks_like_inchikey(key) and known != key and not (
                    stereo_free(key) and skeleton(known) == skeleton(key)):
                continue
            return row
        return None


def skeleton(inchikey: str | None) -> str:
    """First InChIKey block: the constitution without stereochemistry or charge."""
    return (inchikey or "").strip().upper().split("-")[0]


def stereo_free(inchikey: str | None) -> bool:
    """True for a key with no stereo (or isotope) layer: second block ``UHFFFAOYSA``."""
    parts = (inchikey or "").strip().upper().split("-")
    return len(parts) == 3 and parts[1].startswith("UHFFFAOY")


def _looks_like_inchikey(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Z]{14}-[A-Z]{10}-[A-Z]", text))
