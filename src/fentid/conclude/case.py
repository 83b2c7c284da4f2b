"""Rules over the components of one case: retention, and the SWGDRUG combination.

* One compound elutes at one retention time.  When one compound is ``identified`` at several
  chromatographically resolved retention times of one run, the spectra match equally well a
  set of compounds the library cannot tell apart (isomers absent from it, most often): only a
  best match clearly ahead of the others (by more than the replicate spread) stays
  ``identified``; the others, or all of them, become ``tentative`` with the reason.
* SWGDRUG (Part III B): a Category A technique (MS, NMR, IR, Raman) must be supported by at
  least one other, independent technique, and the report states its limitations.  GC or LC
  retention is not compared with a reference standard here, so GC-MS and LC-MS count as MS.
  An MS ``isomer_group`` of catalog positional isomers supports each member; structural
  isomer groups (one formula) support none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from fentid.conclude.rules import RESOLVE_ISOMERS, Verdict

#: SWGDRUG categories of the techniques fentid reads.
SWGDRUG_CATEGORY = {"MS": "A", "NMR": "A", "GC": "B", "LC": "B"}
#: Apexes closer than this (s) are one elution when the components carry no peak extent.
UNRESOLVED_S = 3.0


def resolved(a: Mapping, b: Mapping) -> bool:
    """Whether two components of one run are chromatographically resolved.

    Each apex must lie outside the other's peak extent (``start_s``..``stop_s``); without
    extents, apexes more than :data:`UNRESOLVED_S` apart.
    """
    ra, rb = a.get("retention_time_s"), b.get("retention_time_s")
    if ra is None or rb is None:
        return False
    spans = [(c.get("start_s"), c.get("stop_s")) for c in (a, b)]
    if all(s is not None and e is not None and math.isfinite(s) and math.isfinite(e)
           and e > s for s, e in spans):
        (sa, ea), (sb, eb) = spans
        return not (sa < rb < ea) and not (sb < ra < eb)
    return abs(ra - rb) > UNRESOLVED_S


def one_retention_time_per_compound(components: Sequence[Mapping], spread: float
                                    ) -> list[Verdict]:
    """Verdicts after the retention rule (same order as ``components``).

    Parameters
    ----------
    components : sequence of mapping
        ``{"sample", "retention_time_s", "start_s", "stop_s", "conclusion": Verdict,
        "score": best score}`` per component.
    spread : float
        Replicate spread of the score (a best match must lead the others by more).
    """
    verdicts = [c["conclusion"] for c in components]
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(components):
        v = c["conclusion"]
        if v.status == "identified" and c.get("retention_time_s") is not None:
            groups.setdefault((c["sample"], (v.compound or "").lower()), []).append(i)
    for idx in groups.values():
        if len(idx) < 2:
            continue
        # clusters of mutually unresolved components count as one elution
        elutions: list[list[int]] = []
        for i in sorted(idx, key=lambda j: components[j]["retention_time_s"]):
            if elutions and not resolved(components[elutions[-1][-1]], components[i]):
                elutions[-1].append(i)
            else:
                elutions.append([i])
        best_of = [max(e, key=lambda j: components[j]["score"]) for e in elutions]
        for e, keep in zip(elutions, best_of, strict=True):
            for j in e:
                if j != keep:
                    other = components[keep]["retention_time_s"]
                    verdicts[j] = _demote(verdicts[j], "same_elution",
                                          f"the same compound is identified at {other:.2f} s, "
                                          "not chromatographically resolved from this "
                                          "component: counted once, there")
        if len(elutions) < 2:
            continue
        order = sorted(best_of, key=lambda j: -components[j]["score"])
        lead = components[order[0]]["score"] - components[order[1]]["score"]
        times = ", ".join(f"{components[j]['retention_time_s']:.2f} s" for j in
                          sorted(best_of, key=lambda j: components[j]["retention_time_s"]))
        name = verdicts[order[0]].compound
        why = (f"{name} matches at {len(elutions)} resolved retention times ({times}); one "
               "compound elutes at one time, so these spectra fit several compounds the "
               "library cannot tell apart (e.g. isomers absent from it); without a reference "
               "standard's retention time")
        for rank, j in enumerate(order):
            if rank == 0 and lead > spread:
                continue
            best_rt = components[order[0]]["retention_time_s"]
            text = (f"{why}, none of them is identified (the best leads by only {lead:.3g})"
                    if rank == 0 else
                    f"{why}, at most the best match (at {best_rt:.2f} s) can be identified")
            verdicts[j] = _demote(verdicts[j], "one_retention_time_per_compound", text)
    return verdicts


def _demote(v: Verdict, rule: str, why: str) -> Verdict:
    return replace(v, status="tentative", rule=rule, reason=f"{v.reason}; but {why}")


def technique_labels(technique: str, driver: str) -> list[str]:
    """SWGDRUG technique names that one sample contributes (GC/LC-MS count as MS)."""
    return ["NMR"] if technique == "nmr" else ["MS"]


def _supports(v: Mapping) -> dict[str, str]:
    """Compounds one conclusion supports: ``identified`` specifically, catalog isomer groups
    as a member (structural isomer groups support none)."""
    if v["status"] == "identified":
        return {v["compound"]: "identified"}
    group = v.get("isomer_group") or ""
    if v["status"] == "isomer_group" and not group.startswith("structural isomers"):
        return {name: "isomer_group" for name in v.get("candidates") or [v["compound"]]}
    return {}


def combine_case(samples: Sequence[Mapping], components: Sequence[Mapping],
                 library_summary: str = "") -> dict:
    """Combine the samples of one case into the SWGDRUG view.

    Parameters
    ----------
    samples : sequence of mapping
        ``{"path", "driver", "technique"}`` per sample.
    components : sequence of mapping
        ``{"sample", "conclusion": Verdict or dict}`` per component.
    library_summary : str
        One line on what the library holds, for the limitations.

    Returns
    -------
    dict
        ``{"techniques", "swgdrug_categories", "meets_swgdrug_minimum",
        "supported_compounds", "limitations"}``.
    """
    techniques: dict[str, set[str]] = {}
    for s in samples:
        for label in technique_labels(s["technique"], s["driver"]):
            techniques.setdefault(label, set()).add(s["path"])
    support: dict[str, dict[str, str]] = {t: {} for t in techniques}
    tech_of = {s["path"]: technique_labels(s["technique"], s["driver"]) for s in samples}
    for comp in components:
        for t in tech_of.get(comp["sample"], []):
            for name, how in _supports(comp["conclusion"]).items():
                if how == "identified":
                    support[t][name] = how
                else:
                    support[t].setdefault(name, how)
    agreed = _agreed_compounds(support)
    cats = {t: SWGDRUG_CATEGORY[t] for t in techniques}
    has_a = any(c == "A" for c in cats.values())
    meets = has_a and len(techniques) >= 2 and bool(agreed)
    return {"techniques": sorted(techniques), "swgdrug_categories": cats,
            "meets_swgdrug_minimum": meets, "supported_compounds": sorted(agreed),
            "resolved": resolved_by_nmr(components, tech_of),
            "limitations": _limitations(techniques, components, meets, library_summary)}


def resolved_by_nmr(components: Sequence[Mapping], tech_of: Mapping[str, list]) -> list[dict]:
    """What the NMR of the case settled that MS could not (issue 14, item 5).

    An MS conclusion that names a group (``isomer_group``: positional or structural
    isomers) or a compound with stereoisomers it cannot exclude (``stereo_isomers``) is
    resolved when an NMR component of the same case is ``identified`` as one of those
    candidates: NMR tells positional isomers apart by the substitution pattern and
    diastereomers (quinine/quinidine) by their shifts.  One row per resolution:
    ``{"ms_compound", "candidates", "resolved_to", "by": "NMR", "what"}``.
    """
    nmr = [c["conclusion"] for c in components
           if "NMR" in tech_of.get(c["sample"], []) and c["conclusion"]["status"] ==
           "identified"]
    out = []
    for comp in components:
        v = comp["conclusion"]
        if "MS" not in tech_of.get(comp["sample"], []):
            continue
        if v["status"] == "isomer_group":
            cands, what = list(v.get("candidates") or []), "isomers"
        elif v["status"] == "identified" and v.get("stereo_isomers"):
            cands, what = [v["compound"], *v["stereo_isomers"]], "stereoisomers"
        else:
            continue
        low = {c.lower(): c for c in cands}
        for n in nmr:
            name = (n.get("compound") or "").lower()
            if name in low:
                out.append({"ms_compound": v.get("compound"), "candidates": cands,
                            "resolved_to": low[name], "by": "NMR",
                            "what": f"MS could not tell the {what} {', '.join(cands)} apart; "
                                    f"the NMR of the case identified {low[name]}"})
                break
    return out


def _agreed_compounds(support: Mapping[str, Mapping[str, str]]) -> set[str]:
    """Compounds every technique supports, at least one of them specifically."""
    if len(support) < 2:
        return set()
    names = None
    for per in support.values():
        names = set(per) if names is None else names & set(per)
    return {n for n in names or () if any(per.get(n) == "identified" for per in support.values())}


def _limitations(techniques, components, meets, library_summary) -> list[str]:
    concl = [c["conclusion"] for c in components]
    out = []
    if library_summary:
        out.append(f"Only compounds in the reference library can be identified "
                   f"({library_summary}); a compound absent from it (a new analog, an isomer) "
                   "can match a relative's reference spectrum.")
    if "MS" in techniques:
        out.append("Chromatographic retention was not compared with a reference standard, so GC/LC "
                   "do not count as a second technique.")
    if any(v["status"] == "isomer_group" for v in concl):
        out.append("EI mass spectra of isomers can be nearly identical; the isomer is not "
                   f"established by MS alone ({RESOLVE_ISOMERS}).")
    for v in concl:
        for lim in v.get("limitations") or ():
            if lim not in out:
                out.append(lim)
    if len(techniques) < 2:
        out.append("Only one technique was used: SWGDRUG requires a Category A technique to be "
                   "supported by at least one other technique.")
    elif not meets:
        out.append("The techniques used do not agree on one compound, so together they do not "
                   "meet the SWGDRUG minimum.")
    if any(v["status"] in ("tentative", "no_match") for v in concl):
        out.append("Some components are tentative or unmatched; they need a reference standard.")
    out.append("No quantitation was performed; mixtures are reported component by component.")
    return out
