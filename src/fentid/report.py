"""The case report: typed results of :func:`fentid.identify`, as JSON and as text.

Dataclasses keep the processed objects (spectra, peak lists, chromatograms) so a viewer
draws what fentid saw without recomputing it; ``to_dict()`` is the JSON schema of
``fentid identify --json`` (arrays left out), ``to_text()`` the human-readable report.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fentid.conclude import Verdict
from fentid.searching import public_hits

STATUSES = ("identified", "isomer_group", "tentative", "no_match")


@dataclass(frozen=True)
class LibraryInfo:
    """Which library a report used."""

    path: str
    name: str
    library_version: int
    checksum: str
    default: bool = False
    summary: str = ""

    def to_dict(self) -> dict:
        return {"path": self.path, "name": self.name, "library_version": self.library_version,
                "checksum": self.checksum, "default": self.default}


@dataclass
class SampleReport:
    """One input file or folder of the case."""

    path: str
    driver: str
    sha256: str
    technique: str
    problems: list[dict] = field(default_factory=list)
    dataset: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        return {"path": self.path, "driver": self.driver, "sha256": self.sha256,
                "technique": self.technique, "problems": list(self.problems)}


@dataclass
class ComponentReport:
    """One component: what was searched, the hits and the conclusion."""

    name: str
    sample: str
    technique: str
    algorithm: str
    hits: list[dict]
    conclusion: Verdict
    retention_time_s: float | None = None
    area: float | None = None
    start_s: float | None = None
    stop_s: float | None = None
    component: Any = field(default=None, repr=False, compare=False)

    @property
    def status(self) -> str:
        return self.conclusion.status

    @property
    def peaks(self):
        return None if self.component is None else self.component.peaks

    @property
    def spectrum(self):
        return None if self.component is None else self.component.spectrum

    @property
    def chromatogram(self):
        return None if self.component is None else self.component.chromatogram

    def to_dict(self) -> dict:
        return {"name": self.name, "sample": self.sample,
                "retention_time_s": _round(self.retention_time_s, 3),
                "area": _sig(self.area), "technique": self.technique,
                "algorithm": self.algorithm, "hits": public_hits(self.hits),
                "conclusion": self.conclusion.to_dict()}


@dataclass
class CaseReport:
    """Everything :func:`fentid.identify` found for one case."""

    fentid_version: str
    library: LibraryInfo
    samples: list[SampleReport]
    components: list[ComponentReport]
    case: dict
    problems: list[dict] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Components per conclusion status."""
        c = Counter(comp.status for comp in self.components)
        return {s: c.get(s, 0) for s in STATUSES}

    def identified(self) -> list[str]:
        """Compounds identified in the case, in first-seen order."""
        out: list[str] = []
        for comp in self.components:
            if comp.status == "identified" and comp.conclusion.compound not in out:
                out.append(comp.conclusion.compound)
        return out

    def summary(self) -> dict:
        return {"samples": len(self.samples), "components": len(self.components),
                "counts": self.counts(), "identified": self.identified(),
                "isomer_groups": sorted({c.conclusion.isomer_group for c in self.components
                                         if c.status == "isomer_group"}),
                "problems": len(self.problems)}

    def to_dict(self) -> dict:
        return {"fentid_version": self.fentid_version, "library": self.library.to_dict(),
                "summary": self.summary(), "samples": [s.to_dict() for s in self.samples],
                "components": [c.to_dict() for c in self.components], "case": self.case,
                "problems": list(self.problems)}

    def to_text(self) -> str:
        return format_text(self)


def _round(value, digits):
    if value is None:
        return None
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def _sig(value, digits: int = 6):
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        return None
    if value == 0:
        return 0.0
    return round(value, max(0, digits - 1 - math.floor(math.log10(abs(value)))))


# --- text ------------------------------------------------------------------------------------

def _what(v: Verdict) -> str:
    if v.status == "isomer_group":
        return f"{v.isomer_group} (one of: {', '.join(v.candidates)})"
    if v.status == "no_match":
        return "no match"
    name = v.compound or ""
    if v.record_name and v.record_name.lower() != name.lower():
        name += f" (reference record: {v.record_name})"
    return name


def _hit_line(h: dict) -> str:
    score = (f"MF {h['mf']:.0f} RMF {h['rmf']:.0f}" if h.get("mf") is not None
             else f"score {h['score']:.3g}")
    rec = h.get("record_name")
    name = h["compound"] + (f" [record: {rec}]" if rec and rec.lower() !=
                            h["compound"].lower() else "")
    return f"    {h['rank']:>2}. {score:<18} {name}"


def format_text(report: CaseReport) -> str:
    """The human-readable identification report: summary first, then components."""
    lib = report.library
    counts = report.counts()
    lines = ["fentid identification report", "=" * 29, ""]
    default = " (fentid's default library)" if lib.default else ""
    lines.append(f"Library: {lib.path}{default}, version {lib.library_version}, "
                 f"checksum {lib.checksum[:16]}")
    lines.append(f"Samples: {len(report.samples)}; components: {len(report.components)} "
                 f"({', '.join(f'{counts[s]} {s}' for s in STATUSES)})")
    ident = report.identified()
    lines.append(f"Identified: {', '.join(ident) if ident else 'none'}")
    groups = report.summary()["isomer_groups"]
    if groups:
        lines.append(f"Isomer groups: {'; '.join(groups)}")
    if report.problems:
        lines.append(f"Problems: {len(report.problems)} record(s) could not be read "
                     "(listed at the end)")
    lines.append("")
    lines.append("Samples")
    for s in report.samples:
        lines.append(f"  {s.path}  [{s.driver}, {s.technique}]  sha256 {s.sha256}")
    lines.append("")
    quiet = [c for c in report.components if c.status == "no_match"]
    for c in report.components:
        if c.status != "no_match":  # unmatched components share the lines below
            _component_lines(lines, c)
    if quiet:
        lines.append(f"No match ({len(quiet)} components): " + ", ".join(
            f"{c.retention_time_s:.2f} s" if c.retention_time_s is not None else c.name
            for c in quiet))
        reasons = Counter(c.conclusion.reason.split(" (best")[0] for c in quiet)
        for why, n in reasons.most_common(3):
            lines.append(f"  {n} x {why}")
        lines.append("")
    case = report.case
    lines.append("Case")
    cats = ", ".join(f"{t} (SWGDRUG category {c})" for t, c in case["swgdrug_categories"].items())
    lines.append(f"  Techniques: {cats}")
    lines.append(f"  Meets SWGDRUG minimum: {'yes' if case['meets_swgdrug_minimum'] else 'no'}"
                 + (f" (for {', '.join(case['supported_compounds'])})"
                    if case["supported_compounds"] else ""))
    lines.extend(f"  Resolved by {r['by']}: {r['what']}" for r in case.get("resolved") or ())
    lines.append("  Limitations:")
    lines.extend(f"    - {lim}" for lim in case["limitations"])
    if report.problems:
        lines.append("")
        lines.append("Problems")
        for p in report.problems:
            where = f"record {p['record']}: " if p.get("record") else ""
            lines.append(f"  {p['file']}: {where}{p['reason']}")
    return "\n".join(lines) + "\n"


def _component_lines(lines: list[str], c: ComponentReport) -> None:
    v = c.conclusion
    rt = (f" at {c.retention_time_s:.2f} s" if c.retention_time_s is not None
          and " @ " not in c.name else "")
    lines.append(f"Component {c.name}{rt}  [{c.technique}, {c.algorithm}]")
    lines.append(f"  Conclusion: {v.status.upper()}: {_what(v)}")
    lines.append(f"  Reason: {v.reason}")
    for lim in v.limitations:
        lines.append(f"  Limitation: {lim}")
    for h in c.hits[:5]:
        lines.append(_hit_line(h))
    lines.append("")
