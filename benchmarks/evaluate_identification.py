"""Evaluate identification on real spectra from labs other than the library's.

EI: SWGDRUG 3.9 is the library; the queries are the EI spectra from other
labs in ../shared/data/ms (NIST FentanylClassifier replicates and
single-modification library, MassBank EI records). MS/MS: MassBank records
split by contributing lab (leave one lab out: the library holds every other
lab's MS/MS spectra, the queries are that lab's).

Truth is the InChIKey in ms/index.csv (compound level: first InChIKey block,
the skeleton, since mass spectra do not see stereochemistry). Isomer-group
level: the hit is the compound or one of its catalog positional isomers.

Printed per query set: top-1 and top-5 at compound and isomer-group level
(over queries whose compound the library has), and the conclusions: how many
``identified``, and how many of those name a wrong compound (target: 0).

Run: python benchmarks/evaluate_identification.py [--spread N]
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

from fentid import conclude as C
from fentid.curation import import_sources
from fentid.drivers import read
from fentid.identify import Component, LibrarySearcher, _knowledge
from fentid.reference_library import create
from fentid.reference_library.catalog import load_catalog
from fentid.spectra import gcms

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ms"
SWGDRUG = DATA / "SWGDRUG-3.9_NIST-MS_conversion_tools" / "SWGDRUG39.msp"


def block1(key: str | None) -> str:
    return (key or "").upper().split("-")[0]


def isomer_groups() -> dict[str, str]:
    """InChIKey skeleton -> catalog positional-isomer group."""
    return {block1(c["inchikey"]): c["isomer_group"] for c in load_catalog()
            if c["isomer_group"]}


def index_rows(pred) -> list[dict]:
    with open(DATA / "index.csv", newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if pred(r)]


def queries_from(rows) -> list[tuple[str, Component]]:
    """(true InChIKey, component) for each spectrum file of ``rows``."""
    out = []
    for r in rows:
        path = DATA / r["file"]
        if path.suffix.lower() == ".rds":
            continue
        for s in read(path).items:
            comp = Component(name=f"{r['file']}", peaks=gcms.spectrum_to_peaks(s), spectrum=s)
            out.append((r["inchikey"], comp))
    return out


def evaluate(name, lib_path, queries, policy: C.Policy | None, groups, algorithm=None):
    stats = Counter()
    wrong = []
    with LibrarySearcher(lib_path) as searcher:
        lib_keys = {block1(e["inchikey"]) for t in searcher.library.techniques()
                    for e in searcher.entries(t)}
        know = {}
        for truth, comp in queries:
            technique, algo, hits = searcher.search(comp, algorithm, top=10)
            if technique not in know:
                know[technique] = _knowledge(searcher, technique)
            pol = policy if (policy and algo in ("identity", "reverse", "similarity")) else None
            concl = C.conclude(hits, algorithm=algo, knowledge=know[technique], policy=pol)
            t = block1(truth)
            in_lib = t in lib_keys
            stats["queries"] += 1
            stats["in_library"] += in_lib
            keys = [block1(h["inchikey"]) for h in hits]
            grp = groups.get(t)
            hit_groups = [groups.get(k) for k in keys]
            if in_lib:
                stats["top1"] += keys[:1] == [t]
                stats["top5"] += t in keys[:5]
                stats["top1_group"] += bool(keys[:1] == [t] or (grp and hit_groups[:1] == [grp]))
                stats["top5_group"] += bool(t in keys[:5] or (grp and grp in hit_groups[:5]))
            stats[concl["status"]] += 1
            if concl["status"] == "identified":
                if block1(concl["inchikey"]) == t:
                    stats["identified_correct"] += 1
                else:
                    stats["identified_wrong"] += 1
                    wrong.append((comp.name, concl["compound"], hits[0]["score"]))
            if concl["status"] == "isomer_group":
                cands = {c.lower() for c in concl["candidates"]}
                names = {h["compound"].lower(): block1(h["inchikey"]) for h in hits}
                stats["group_contains_truth"] += any(names.get(c) == t for c in cands) or (
                    grp is not None and grp == concl.get("isomer_group"))
    n_in = max(stats["in_library"], 1)
    print(f"\n{name}: {stats['queries']} queries, {stats['in_library']} with their compound "
          "in the library")
    print(f"  top-1 compound {stats['top1']}/{stats['in_library']} ({stats['top1'] / n_in:.0%})"
          f"   top-5 compound {stats['top5']}/{stats['in_library']} ({stats['top5'] / n_in:.0%})")
    print(f"  top-1 isomer group {stats['top1_group']}/{stats['in_library']} "
          f"({stats['top1_group'] / n_in:.0%})   top-5 isomer group "
          f"{stats['top5_group']}/{stats['in_library']} ({stats['top5_group'] / n_in:.0%})")
    print(f"  conclusions: identified {stats['identified']} (correct "
          f"{stats['identified_correct']}, WRONG {stats['identified_wrong']}), isomer_group "
          f"{stats['isomer_group']}, tentative {stats['tentative']}, no_match "
          f"{stats['no_match']}")
    for q, c, s in wrong:
        print(f"    wrong: {q} -> {c} ({s})")
    return stats


def build_library(path: Path, sources) -> None:
    create(path, name=path.stem)
    import_sources(path, sources)


def msms_by_lab(tmp: Path, policy, groups) -> Counter:
    rows = index_rows(lambda r: r["ms_level"] == "MS2" and r["file"].startswith("MassBank"))
    by_lab = defaultdict(list)
    for r in rows:
        by_lab[r["file"].split("/")[1]].append(r)
    keys_by_lab = {lab: {block1(r["inchikey"]) for r in rs} for lab, rs in by_lab.items()}
    total = Counter()
    for lab, rs in sorted(by_lab.items()):
        others = {k for o, ks in keys_by_lab.items() if o != lab for k in ks}
        shared = [r for r in rs if block1(r["inchikey"]) in others]
        if not shared:
            continue
        lib = tmp / f"msms_without_{lab}.h5"
        build_library(lib, [DATA / r["file"] for o, ors in by_lab.items() if o != lab
                            for r in ors])
        total += evaluate(f"MS/MS, queries from {lab} (library: the other labs)", lib,
                          queries_from(shared), None, groups)
    return total


def _summary(label: str, t: Counter) -> str:
    n = max(t["in_library"], 1)
    return (f"{label}: {t['queries']} queries ({t['in_library']} with their compound in the "
            f"library): top-1 {t['top1'] / n:.0%}, top-5 {t['top5'] / n:.0%}, top-1 isomer group "
            f"{t['top1_group'] / n:.0%}, top-5 isomer group {t['top5_group'] / n:.0%}; "
            f"identified {t['identified']} (wrong {t['identified_wrong']}), isomer_group "
            f"{t['isomer_group']}, tentative {t['tentative']}, no_match {t['no_match']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spread", type=float, default=None,
                    help="replicate spread for the EI policy (default: fentid's)")
    ap.add_argument("--skip-msms", action="store_true")
    args = ap.parse_args(argv)
    policy = C.POLICIES["identity"]
    if args.spread is not None:
        policy = replace(policy, replicate_spread=args.spread)
    print(f"EI policy: {policy}")
    groups = isomer_groups()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lib = tmp / "swgdrug39.h5"
        build_library(lib, [SWGDRUG])
        print(f"library built in {time.perf_counter() - t0:.1f} s")
        nist = index_rows(lambda r: r["file"].startswith("NIST-FentanylClassifier")
                          and r["ionization"] == "EI")
        singlemod = DATA / "NIST-FentanylClassifier/shiny/Data/SingleModFentanylLibrary.msp"
        sm_rows = index_rows(lambda r: "SingleModFentanylLibrary" in r["file"])
        sm_keys = {r["compound_name"].lower(): r["inchikey"] for r in sm_rows}
        sm_queries = [(sm_keys.get((s.metadata.get("name") or "").lower(), ""),
                       Component(name=s.metadata.get("name"),
                                 peaks=gcms.spectrum_to_peaks(s), spectrum=s))
                      for s in read(singlemod).items]
        sm_queries = [q for q in sm_queries if q[0]]
        massbank_ei = index_rows(lambda r: r["file"].startswith("MassBank")
                                 and r["ionization"] == "EI")
        total = Counter()
        total += evaluate("EI: NIST FentanylClassifier replicates vs SWGDRUG39", lib,
                          queries_from(nist), policy, groups)
        total += evaluate("EI: NIST single-modification fentanyl library (indexed rows) vs "
                          "SWGDRUG39", lib, sm_queries, policy, groups)
        total += evaluate("EI: MassBank EI records vs SWGDRUG39", lib,
                          queries_from(massbank_ei), policy, groups)
        ei_total = Counter(total)
        msms_total = msms_by_lab(tmp, policy, groups) if not args.skip_msms else Counter()
    for label, t in (("EI", ei_total), ("MS/MS", msms_total)):
        if t["queries"]:
            print(_summary(label, t))
    print(_summary("ALL", ei_total + msms_total)
          + f"; total time {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
