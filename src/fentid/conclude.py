"""From hit lists to conclusions an analyst can defend.

A conclusion never claims more than the evidence shows:

- ``identified``: one compound clearly best, above the identification
  threshold, with no other compound (and no positional isomer, in the library
  or not) inside the spread that replicate spectra of one compound show.
- ``isomer_group``: the best hits are positional isomers of one group that this
  technique cannot tell apart (EI-MS of ortho/meta/para isomers), or the best
  hit belongs to a group whose other members are missing from the library. The
  group is named with what would resolve it.
- ``tentative``: a plausible best hit that is below the identification
  threshold, or with a different compound scoring within the spread.
- ``no_match``: nothing in the library is similar enough.

The case-level combination applies the SWGDRUG recommendations (Part III B):
a Category A technique (MS, NMR, IR, Raman) must be supported by at least one
other, independent technique, and the report states its limitations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

#: SWGDRUG categories of the techniques fentid reads.
SWGDRUG_CATEGORY = {"MS": "A", "NMR": "A", "GC": "B", "LC": "B"}


@dataclass(frozen=True)
class Policy:
    """Thresholds of the conclusion rules, per score scale.

    Attributes
    ----------
    identified : float
        Minimum best score for ``identified`` (identity MF, 0-999).
    identified_reverse : float
        Minimum reverse score (RMF) for ``identified`` where one is computed.
    tentative : float
        Minimum best score for ``tentative``; below it the result is ``no_match``.
    replicate_spread : float
        Score spread that replicate spectra of one compound show against the
        same reference: the median of |MF(q1, ref) - MF(q2, ref)| over triples
        of EI spectra of one compound from different records in ../shared/data
        (both queries MF >= 650), measured by
        benchmarks/measure_replicate_spread.py as 70 MF units (p75 125, p95 229,
        dominated by low-quality MassBank EI records).
        tests/test_conclude_real.py re-measures it and checks this default is not
        smaller. Hits of other compounds closer than this to the best cannot be
        excluded.
    """

    identified: float = 850.0
    identified_reverse: float = 850.0
    tentative: float = 650.0
    replicate_spread: float = 70.0


#: Defaults per algorithm; NMR scores are on a 0-1 scale.
POLICIES: dict[str, Policy] = {
    "identity": Policy(),
    "reverse": Policy(),
    "similarity": Policy(),
    "cosine": Policy(identified=0.9, identified_reverse=0.0, tentative=0.6,
                     replicate_spread=0.06),
    "entropy": Policy(identified=0.75, identified_reverse=0.0, tentative=0.4,
                      replicate_spread=0.08),
    "nmr": Policy(identified=0.85, identified_reverse=0.0, tentative=0.5,
                  replicate_spread=0.05),
}

#: What resolves positional isomers that EI-MS cannot.
RESOLVE_ISOMERS = ("1H/19F NMR of the aromatic substitution pattern, or GC retention index "
                   "against reference standards of each isomer run under the same conditions")


@dataclass(frozen=True)
class CompoundFacts:
    """What the conclusion needs to know about a compound of the library or catalog."""

    name: str
    inchikey: str = ""
    formula: str = ""
    isomer_group: str = ""


@dataclass
class Knowledge:
    """Compounds known to the catalog and which of them the library has spectra for.

    Attributes
    ----------
    groups : dict
        isomer group name -> set of member compound names (catalog).
    in_library : set
        Names (lower case) and InChIKeys of compounds with entries of the
        searched technique.
    """

    groups: dict[str, set[str]] = field(default_factory=dict)
    in_library: set[str] = field(default_factory=set)

    def has(self, name: str) -> bool:
        return name.lower() in self.in_library


def _key(hit: Mapping) -> str:
    return hit.get("inchikey") or hit.get("compound", "").lower()


def best_per_compound(hits: Sequence[Mapping]) -> list[Mapping]:
    """Keep each compound's best hit (hits arrive sorted by score, best first)."""
    seen, out = set(), []
    for hit in hits:
        key = _key(hit)
        if key not in seen:
            seen.add(key)
            out.append(hit)
    return out


def _are_isomers(a: Mapping, b: Mapping) -> bool:
    group_a, group_b = a.get("isomer_group"), b.get("isomer_group")
    if group_a and group_a == group_b:
        return True
    # not in one catalog group, but one molecular formula: EI cannot be trusted to separate
    formula_a, formula_b = a.get("formula"), b.get("formula")
    return bool(formula_a) and formula_a == formula_b


def conclude(hits: Sequence[Mapping], algorithm: str = "identity",
             knowledge: Knowledge | None = None, technique: str = "ms",
             policy: Policy | None = None) -> dict:
    """Conclude from one component's hit list.

    Parameters
    ----------
    hits : sequence of mapping
        Best first; each with ``compound``, ``inchikey``, ``score`` and, when
        known, ``rmf``, ``isomer_group``, ``formula``.
    algorithm : str
        Score that ranked the hits (selects the default :class:`Policy`).
    knowledge : Knowledge, optional
        Catalog isomer groups and library coverage.
    technique : str
        ``"ms"`` or ``"nmr"``; NMR resolves positional isomers, EI-MS does not.

    Returns
    -------
    dict
        ``{"status", "compound", "inchikey", "isomer_group", "reason", "candidates"}``;
        ``candidates`` are the compounds the evidence is consistent with.
    """
    policy = policy or POLICIES.get("nmr" if technique == "nmr" else algorithm, Policy())
    knowledge = knowledge or Knowledge()
    result = {"status": "no_match", "compound": None, "inchikey": None, "isomer_group": None,
              "reason": "", "candidates": []}
    per_compound = best_per_compound(hits)
    if not per_compound or per_compound[0]["score"] < policy.tentative:
        best = f" (best {per_compound[0]['compound']}, {per_compound[0]['score']:.3g})" \
            if per_compound else ""
        result["reason"] = (f"no library spectrum scores above {policy.tentative:g}{best}; "
                            "the compound may be absent from the library")
        return result
    top = per_compound[0]
    result.update(compound=top["compound"], inchikey=top.get("inchikey") or None,
                  candidates=[top["compound"]])
    floor = top["score"] - policy.replicate_spread
    rivals = [h for h in per_compound[1:] if h["score"] >= floor]
    group = top.get("isomer_group") or ""
    # A group is named only when it is all the evidence allows: a rival that is not an
    # isomer of the best hit (often the true compound) or a best score below the
    # identification threshold (an absent compound's spectrum can resemble any group)
    # leaves the result tentative, below.
    if technique != "nmr" and top["score"] >= policy.identified and \
            all(_are_isomers(top, h) for h in rivals):
        isomer_rivals = [h for h in rivals if _are_isomers(top, h)]
        missing = sorted(m for m in knowledge.groups.get(group, ())
                         if m.lower() != top["compound"].lower() and not knowledge.has(m))
        if isomer_rivals or (missing and top["score"] >= policy.tentative):
            names = [top["compound"]] + [h["compound"] for h in isomer_rivals]
            why = []
            if isomer_rivals:
                why.append(f"positional isomers {', '.join(names)} score within "
                           f"{policy.replicate_spread:g} of each other (the spread of replicate "
                           "spectra of one compound)")
            if missing:
                why.append(f"the library has no {technique.upper()} spectrum of "
                           f"{', '.join(missing)}, isomers that EI-MS cannot exclude")
            result.update(status="isomer_group", isomer_group=group or top.get("formula"),
                          candidates=names + missing,
                          reason="; ".join(why) + f". Resolve by {RESOLVE_ISOMERS}.")
            return result
    if rivals:
        others = ", ".join(f"{h['compound']} ({h['score']:.3g})" for h in rivals[:3])
        result.update(status="tentative",
                      reason=f"best {top['compound']} ({top['score']:.3g}) but {others} "
                             f"score within the replicate spread ({policy.replicate_spread:g})")
        return result
    rmf = top.get("rmf")
    reverse_ok = rmf is None or policy.identified_reverse <= 0 or rmf >= policy.identified_reverse
    if top["score"] >= policy.identified and reverse_ok:
        nxt = per_compound[1] if len(per_compound) > 1 else None
        margin = f"; next compound {nxt['compound']} ({nxt['score']:.3g})" if nxt else ""
        result.update(status="identified",
                      reason=f"{algorithm} score {top['score']:.3g} >= {policy.identified:g}"
                             f"{margin}")
        return result
    low = "reverse score " + f"{rmf:.3g}" if not reverse_ok else f"score {top['score']:.3g}"
    result.update(status="tentative",
                  reason=f"best {top['compound']} but {low} is below the identification "
                         f"threshold {policy.identified:g}")
    return result


def technique_labels(technique: str, driver: str) -> list[str]:
    """SWGDRUG technique names that one sample contributes.

    A GC-MS or LC-MS run contributes MS only: the chromatographic retention
    is not compared with a reference standard here, so GC/LC are not counted.
    """
    return ["NMR"] if technique == "nmr" else ["MS"]


def combine_case(samples: Sequence[Mapping], components: Sequence[Mapping],
                 library_summary: str = "") -> dict:
    """Combine the samples of one case into the SWGDRUG view.

    Parameters
    ----------
    samples : sequence of mapping
        ``{"path", "driver", "technique"}`` per sample.
    components : sequence of mapping
        ``{"sample", "conclusion": {...}}`` per component.
    library_summary : str
        One line on what the library holds, for the limitations.

    Returns
    -------
    dict
        ``{"techniques", "swgdrug_categories", "meets_swgdrug_minimum",
        "limitations", "supported_compounds"}``.
    """
    techniques: dict[str, set[str]] = {}
    for s in samples:
        for label in technique_labels(s["technique"], s["driver"]):
            techniques.setdefault(label, set()).add(s["path"])
    # which compounds each technique supports (identified, or as a member of an isomer group)
    support: dict[str, dict[str, str]] = {t: {} for t in techniques}
    tech_of = {s["path"]: technique_labels(s["technique"], s["driver"]) for s in samples}
    for comp in components:
        c = comp["conclusion"]
        for t in tech_of.get(comp["sample"], []):
            if c["status"] == "identified":
                support[t][c["compound"]] = "identified"
            elif c["status"] == "isomer_group":
                for name in c.get("candidates") or [c["compound"]]:
                    support[t].setdefault(name, "isomer_group")
    agreed = _agreed_compounds(support)
    cats = {t: SWGDRUG_CATEGORY[t] for t in techniques}
    has_a = any(c == "A" for c in cats.values())
    meets = has_a and len(techniques) >= 2 and bool(agreed)
    limitations = _limitations(techniques, components, agreed, meets, library_summary)
    return {"techniques": sorted(techniques), "swgdrug_categories": cats,
            "meets_swgdrug_minimum": meets, "supported_compounds": sorted(agreed),
            "limitations": limitations}


def _agreed_compounds(support: Mapping[str, Mapping[str, str]]) -> set[str]:
    """Compounds every technique supports, at least one of them specifically."""
    if len(support) < 2:
        return set()
    names = None
    for per in support.values():
        names = set(per) if names is None else names & set(per)
    return {n for n in names or () if any(per.get(n) == "identified" for per in support.values())}


def _limitations(techniques, components, agreed, meets, library_summary) -> list[str]:
    out = []
    if library_summary:
        out.append(f"Only compounds in the reference library can be identified ({library_summary}).")
    if "MS" in techniques:
        out.append("Chromatographic retention was not compared with a reference standard, so GC/LC "
                   "do not count as a second technique.")
    if any(c["conclusion"]["status"] == "isomer_group" for c in components):
        out.append("EI mass spectra of positional isomers are nearly identical; the isomer is "
                   f"not established by MS alone ({RESOLVE_ISOMERS}).")
    if len(techniques) < 2:
        out.append("Only one technique was used: SWGDRUG requires a Category A technique to be "
                   "supported by at least one other technique.")
    elif not meets:
        out.append("The techniques used do not agree on one compound, so together they do not "
                   "meet the SWGDRUG minimum.")
    if any(c["conclusion"]["status"] in ("tentative", "no_match") for c in components):
        out.append("Some components are tentative or unmatched; they need a reference standard.")
    out.append("No quantitation was performed; mixtures are reported component by component.")
    return out
