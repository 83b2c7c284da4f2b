"""From one component's hit list to a conclusion, one small rule at a time.

A conclusion never claims more than the evidence shows.  :func:`conclude` runs the rules of
:data:`RULES` in order; the first that returns a :class:`Verdict` decides, and its name is
kept in ``Verdict.rule`` so a reader sees which rule decided and why.

Statuses:

- ``identified``: one compound (one constitution) clearly best, above the identification
  threshold with enough of its reference spectrum seen, and no other compound inside the
  spread that replicate spectra of one compound show;
- ``isomer_group``: the best hits are isomers this technique cannot tell apart (catalog
  positional isomers, or structural isomers of one formula), or catalog isomers of the best
  hit are missing from the library;
- ``tentative``: a plausible best hit that falls short of one of the above;
- ``no_match``: nothing in the library is similar enough (or there is nothing to compare).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from fentid.conclude.knowledge import Knowledge
from fentid.conclude.policy import Policy, policy_for

#: What resolves positional isomers that EI-MS cannot.
RESOLVE_ISOMERS = ("1H/19F NMR of the aromatic substitution pattern, or GC retention index "
                   "against reference standards of each isomer run under the same conditions")
#: What resolves structural isomers of one formula.
RESOLVE_STRUCTURAL = ("GC retention time against reference standards of each, or NMR")


@dataclass(frozen=True)
class Verdict:
    """The conclusion for one component.

    Attributes
    ----------
    status : str
        ``identified``, ``isomer_group``, ``tentative`` or ``no_match``.
    compound, inchikey, record_name : str or None
        The best compound, its key, and the name its reference record gives it.
    isomer_group : str or None
        For ``isomer_group``: the catalog group, or ``"structural isomers <formula>"``.
    reason : str
        Why, with the numbers that decided.
    candidates : list of str
        Compounds the evidence is consistent with.
    rule : str
        Name of the rule that decided.
    limitations : list of str
        What this conclusion cannot establish (stereoisomers, absent isomers...).
    stereo_isomers : list of str
        Other compounds of the same constitution that the technique does not distinguish.
    """

    status: str
    compound: str | None = None
    inchikey: str | None = None
    record_name: str | None = None
    isomer_group: str | None = None
    reason: str = ""
    candidates: list[str] = field(default_factory=list)
    rule: str = ""
    limitations: list[str] = field(default_factory=list)
    stereo_isomers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"status": self.status, "compound": self.compound, "inchikey": self.inchikey,
                "record_name": self.record_name, "isomer_group": self.isomer_group,
                "reason": self.reason, "candidates": list(self.candidates), "rule": self.rule,
                "limitations": list(self.limitations),
                "stereo_isomers": list(self.stereo_isomers)}

    def __getitem__(self, key):  # dict-style reading, as callers of the old dict API did
        return self.to_dict()[key]

    def get(self, key, default=None):
        return self.to_dict().get(key, default)


@dataclass(frozen=True)
class QueryFacts:
    """What a rule needs to know about the query and the library, besides the hits.

    Attributes
    ----------
    technique : str
        Library technique searched (``ei``, ``ms1``, ``msms``, ``nmr_1h``...).
    algorithm : str
        Score that ranked the hits.
    library_has_references : bool
        The library holds live entries of the searched technique.
    ionization : str or None
        Normalised ionisation code of the query.
    cross_level : bool
        A full-scan (MS1) spectrum compared with product-ion (MS/MS) references: at most
        ``tentative``.
    nmr_referencing : str or None
        How the NMR query's ppm axis was referenced (``vendor``, ``standard``, ``solvent``,
        ``spectrometer``, ``unreferenced``); None for MS and for peak lists.
    """

    technique: str = "ei"
    algorithm: str = "identity"
    library_has_references: bool = True
    ionization: str | None = None
    cross_level: bool = False
    nmr_referencing: str | None = None


@dataclass(frozen=True)
class Evidence:
    """Everything the rules read: the hits (best per compound), the query, the policy."""

    hits: tuple
    query: QueryFacts
    policy: Policy
    knowledge: Knowledge

    @property
    def top(self) -> Mapping:
        return self.hits[0]

    @property
    def is_nmr(self) -> bool:
        return self.query.technique.startswith("nmr")

    def others(self) -> list[Mapping]:
        """Best hit of every other constitution than the top's, best first."""
        k = self.knowledge
        return [h for h in self.hits[1:] if not k.same_constitution(self.top, h)]

    def rivals(self) -> list[Mapping]:
        """Other constitutions scoring within the replicate spread of the best."""
        floor = self.top["score"] - self.policy.replicate_spread
        return [h for h in self.others() if h["score"] >= floor]

    def margin(self) -> float | None:
        """Score of the best minus that of the next constitution (None: no other hit)."""
        others = self.others()
        return None if not others else float(self.top["score"] - others[0]["score"])


def best_per_compound(hits: Sequence[Mapping]) -> list[Mapping]:
    """Keep each compound's best hit (hits arrive sorted by score, best first)."""
    seen, out = set(), []
    for hit in hits:
        key = hit.get("compound_id")
        if key is None:
            key = (hit.get("compound") or "").lower() or hit.get("inchikey")
        if key not in seen:
            seen.add(key)
            out.append(hit)
    return out


# --- helpers that phrase numbers -----------------------------------------------------------

def _score(ev: Evidence, hit: Mapping) -> str:
    if ev.query.algorithm in ("identity", "reverse", "similarity") and hit.get("mf") is not None:
        return f"MF {hit['mf']:.0f}, RMF {hit['rmf']:.0f}"
    return f"{ev.query.algorithm} {hit['score']:.3g}"


def _named(ev: Evidence, hit: Mapping) -> str:
    return f"{hit['compound']} ({_score(ev, hit)})"


def _base(ev: Evidence, status: str, rule: str, reason: str, **more) -> Verdict:
    top = ev.top if ev.hits else {}
    fields = {"compound": top.get("compound"), "inchikey": top.get("inchikey") or None,
              "record_name": top.get("record_name"),
              "candidates": [top["compound"]] if top else []}
    fields.update(more)
    return Verdict(status=status, rule=rule, reason=reason, **fields)


def _reverse_ok(ev: Evidence, threshold: float) -> bool:
    rmf = ev.top.get("rmf")
    return not ev.policy.identified_reverse or rmf is None or rmf >= threshold


def _range_text(e: Mapping) -> str:
    low, high = e["range_mz"]
    if e["range_source"] == "query":
        where = f"m/z >= {low:g}, the query's lowest peak (scan range not recorded)"
    else:
        how = "scanned" if e["range_source"] == "file" else "scanned (ions detected in the run)"
        where = f"m/z {low:g}-{high:g} {how}"
    return f"{where}; {e['library_in_range']:.0%} of the reference's intensity lies there"


def _evidence_text(hit: Mapping) -> str:
    e = hit.get("evidence")
    if not e:
        return ""
    return (f"{e['matched_peaks']} of its peaks matched, {e['explained']:.0%} of its "
            f"in-range intensity explained ({_range_text(e)})")


# --- the rules -----------------------------------------------------------------------------

def no_reference_spectra(ev: Evidence) -> Verdict | None:
    """Nothing to compare with: the library has no spectra of this kind."""
    if ev.query.library_has_references:
        return None
    what = {"ei": "EI mass spectra", "ms1": "full-scan (MS1) spectra of this ionisation",
            "msms": "MS/MS spectra"}.get(ev.query.technique, f"{ev.query.technique} spectra")
    extra = ""
    if ev.query.technique == "ms1":
        extra = (f"; this {ev.query.ionization or 'non-EI'} spectrum is not compared with EI "
                 "references (EI factors and thresholds apply to EI data only)")
    return Verdict(status="no_match", rule="no_reference_spectra",
                   reason=f"the library has no {what} to compare with{extra}")


def nothing_similar(ev: Evidence) -> Verdict | None:
    """The best score is below the tentative threshold."""
    if ev.hits and ev.top["score"] >= ev.policy.tentative:
        return None
    best = f" (best {_named(ev, ev.top)})" if ev.hits else ""
    return Verdict(status="no_match", rule="nothing_similar",
                   reason=f"no library spectrum scores {ev.policy.tentative:g} or more{best}; "
                          "the compound may be absent from the library")


def too_little_evidence(ev: Evidence) -> Verdict | None:
    """The query shows too little of the best reference (few peaks, a narrow scan range)."""
    e = ev.top.get("evidence")
    p = ev.policy
    if not e:
        return None
    # a small molecule's reference may have fewer peaks than the policy asks: all of them
    need = min(p.min_matched_peaks, max(1, e.get("reference_peaks", p.min_matched_peaks)))
    if e["matched_peaks"] >= need and e["explained"] >= p.min_explained:
        return None
    short = []
    if e["matched_peaks"] < need:
        short.append(f"only {e['matched_peaks']} of its peaks matched (needs {need})")
    if e["explained"] < p.min_explained:
        short.append(f"only {e['explained']:.0%} of its in-range intensity is explained (needs "
                     f"{p.min_explained:.0%})")
    return _base(ev, "tentative", "too_little_evidence",
                 f"best {_named(ev, ev.top)}, but {' and '.join(short)} ({_range_text(e)})")


def below_threshold(ev: Evidence) -> Verdict | None:
    """Best score (or reverse score) below every identification tier."""
    p = ev.policy
    if ev.top["score"] >= p.clear and _reverse_ok(ev, p.clear):
        return None
    low = ("reverse score" if ev.top["score"] >= p.clear else "score")
    return _base(ev, "tentative", "below_threshold",
                 f"best {_named(ev, ev.top)}: its {low} is below the identification "
                 f"threshold {p.clear:g}")


def cross_level_comparison(ev: Evidence) -> Verdict | None:
    """A full-scan spectrum compared with MS/MS references is at most tentative."""
    if not ev.query.cross_level:
        return None
    return _base(ev, "tentative", "cross_level_comparison",
                 f"best {_named(ev, ev.top)}, but a full-scan (MS1) "
                 f"{ev.query.ionization or ''} spectrum was compared with product-ion (MS/MS) "
                 "references: in-source fragments are not a product-ion spectrum")


def unreferenced_shifts(ev: Evidence) -> Verdict | None:
    """An NMR spectrum whose ppm axis could not be referenced is at most tentative."""
    how = ev.query.nmr_referencing
    if not ev.is_nmr or how not in ("spectrometer", "unreferenced"):
        return None
    return _base(ev, "tentative", "unreferenced_shifts",
                 f"best {_named(ev, ev.top)}, but the query's ppm axis is {how} (no vendor "
                 "reference, internal standard or solvent signal): its shifts are not "
                 "comparable with the references'")


def isomers_within_spread(ev: Evidence) -> Verdict | None:
    """Every rival within the spread is an isomer of the best: name the group."""
    if ev.is_nmr:
        return None  # NMR resolves positional and structural isomers
    rivals = ev.rivals()
    k = ev.knowledge
    if not rivals or not all(k.positional_isomers(ev.top, h) or k.structural_isomers(ev.top, h)
                             for h in rivals):
        return None
    positional = all(k.positional_isomers(ev.top, h) for h in rivals)
    names = [ev.top["compound"]] + [h["compound"] for h in rivals]
    spread = ev.policy.replicate_spread
    if positional:
        group = k.facts(ev.top).isomer_group
        missing = _missing_isomers(ev, group)
        reason = (f"positional isomers {', '.join(names)} score within {spread:g} of each other "
                  f"({', '.join(_score(ev, h) for h in [ev.top, *rivals])}; {spread:g} is the "
                  "spread of replicate spectra of one compound)")
        if missing:
            reason += (f"; the library has no spectrum of {', '.join(missing)}, isomers that "
                       "EI-MS cannot exclude")
        return _base(ev, "isomer_group", "isomers_within_spread",
                     f"{reason}. Resolve by {RESOLVE_ISOMERS}.", isomer_group=group,
                     candidates=names + missing)
    formula = k.facts(ev.top).formula
    return _base(ev, "isomer_group", "isomers_within_spread",
                 f"structural isomers (same formula {formula}, not positional isomers) "
                 f"{', '.join(_named(ev, h) for h in [ev.top, *rivals])} score within "
                 f"{spread:g} of each other; EI-MS does not separate them here. Resolve by "
                 f"{RESOLVE_STRUCTURAL}.", isomer_group=f"structural isomers {formula}",
                 candidates=names)


def rival_within_spread(ev: Evidence) -> Verdict | None:
    """Another compound (not an isomer of the best) scores within the replicate spread."""
    rivals = ev.rivals()
    if not rivals:
        return None
    others = ", ".join(_named(ev, h) for h in rivals[:3])
    return _base(ev, "tentative", "rival_within_spread",
                 f"best {_named(ev, ev.top)}, but {others} score within the replicate spread "
                 f"({ev.policy.replicate_spread:g}) and cannot be excluded",
                 candidates=[ev.top["compound"]] + [h["compound"] for h in rivals])


def _missing_isomers(ev: Evidence, group: str) -> list[str]:
    k = ev.knowledge
    return sorted(m for m in k.groups.get(group, ())
                  if m.lower() != ev.top["compound"].lower() and not k.has(m))


def catalog_isomers_missing(ev: Evidence) -> Verdict | None:
    """The best hit's catalog positional isomers are absent from the library."""
    if ev.is_nmr:
        return None
    group = ev.knowledge.facts(ev.top).isomer_group
    missing = _missing_isomers(ev, group) if group else []
    if not missing:
        return None
    return _base(ev, "isomer_group", "catalog_isomers_missing",
                 f"best {_named(ev, ev.top)}; the library has no {ev.query.technique.upper()} "
                 f"spectrum of {', '.join(missing)}, positional isomers (catalog group "
                 f"{group}) that EI-MS cannot exclude. Resolve by {RESOLVE_ISOMERS}.",
                 isomer_group=group, candidates=[ev.top["compound"]] + missing)


def needs_clear_margin(ev: Evidence) -> Verdict | None:
    """Below the first tier, the next compound must be far below (``clear_margin``)."""
    p = ev.policy
    if ev.top["score"] >= p.identified and _reverse_ok(ev, p.identified):
        return None
    margin = ev.margin()
    if margin is None or margin >= p.clear_margin:
        return None
    nxt = ev.others()[0]
    return _base(ev, "tentative", "needs_clear_margin",
                 f"best {_named(ev, ev.top)} is below {p.identified:g}, and the next compound "
                 f"{_named(ev, nxt)} is only {margin:.3g} below it (needs {p.clear_margin:g} "
                 "at this score)")


def identified(ev: Evidence) -> Verdict:
    """Every other rule passed."""
    parts = [_score(ev, ev.top)]
    margin = ev.margin()
    parts.append(f"next compound {_named(ev, ev.others()[0])}, {margin:.3g} below"
                 if margin is not None else "no other compound in the hits")
    ev_text = _evidence_text(ev.top)
    if ev_text:
        parts.append(ev_text)
    return _base(ev, "identified", "identified", "; ".join(parts))


#: The rules, in the order they are tried; the last always decides.
RULES: tuple[Callable[[Evidence], Verdict | None], ...] = (
    no_reference_spectra, nothing_similar, below_threshold, too_little_evidence,
    cross_level_comparison, unreferenced_shifts, isomers_within_spread, rival_within_spread,
    catalog_isomers_missing, needs_clear_margin, identified,
)


def stereo_limitation(verdict: Verdict, ev: Evidence) -> Verdict:
    """Name the stereoisomers a technique cannot tell apart, on a conclusion that names one
    compound (``identified``) or a group."""
    if verdict.status not in ("identified", "isomer_group") or not verdict.compound:
        return verdict
    k = ev.knowledge
    name = verdict.compound
    partners = k.stereo_partners(name)
    if not partners and not k.has_stereocentres(name):
        return verdict
    if ev.is_nmr:
        text = (f"{name}: NMR in an achiral solvent does not distinguish enantiomers"
                + (f" (diastereomers such as {', '.join(partners)} are resolved only if their "
                   "references differ)" if partners else ""))
    else:
        others = f" ({', '.join(partners)})" if partners else ""
        text = (f"{name} or a stereoisomer{others}: EI-MS does not distinguish stereoisomers")
    return replace(verdict, limitations=[*verdict.limitations, text], stereo_isomers=partners)


def conclude(hits: Sequence[Mapping], algorithm: str = "identity",
             knowledge: Knowledge | None = None, technique: str = "ei",
             policy: Policy | None = None, query: QueryFacts | None = None) -> Verdict:
    """Conclude from one component's hit list.

    Parameters
    ----------
    hits : sequence of mapping
        Best first; each with ``compound``, ``inchikey``, ``score`` and, when known,
        ``record_name``, ``mf``, ``rmf``, ``formula``, ``isomer_group`` and ``evidence``
        (:meth:`fentid.spectra.match_evidence.MatchEvidence.as_dict` of the hit).
    algorithm : str
        Score that ranked the hits.
    knowledge : Knowledge, optional
        Catalog isomer groups, constitutions and library coverage.
    technique : str
        Library technique searched (``"ms"`` is read as ``"ei"``).
    policy : Policy, optional
        Thresholds (default: :func:`fentid.conclude.policy.policy_for`).
    query : QueryFacts, optional
        Overrides ``algorithm``/``technique`` and adds the query facts.

    Returns
    -------
    Verdict
    """
    if technique == "ms":
        technique = "ei"
    if technique == "nmr":
        technique = "nmr_1h"
    query = query or QueryFacts(technique=technique, algorithm=algorithm)
    policy = policy or policy_for(query.algorithm, query.technique)
    ev = Evidence(hits=tuple(best_per_compound(hits)), query=query, policy=policy,
                  knowledge=knowledge or Knowledge())
    for rule in RULES:
        verdict = rule(ev)
        if verdict is not None:
            return stereo_limitation(verdict, ev)
    raise AssertionError("the last rule always decides")  # pragma: no cover
