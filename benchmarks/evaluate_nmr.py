"""Evaluate NMR identification on the shared records: independent records of in-library
compounds, per nucleus and solvent pairing, and the street-tablet mixtures.

Library: every 1H/13C record of ../shared/data/nmr (nmrshiftdb2, BMRB, NMReDATA, ASICS
related/decoys) imported with ``fentid.curation.import_sources`` (named sources first), except
the two ``ambiguous_stereo`` files the index says not to use as references.

Queries: every target/related record whose compound (the index's ``inchikey``) has at least
one *independent* library record: another file, or the same file in another solvent
(nmrshiftdb2 keeps one compound's spectra in several solvents in one file).  The query's own
entries are removed from its hits (leave-one-out), as are the cocaine records the README
says are not independent (nmrshiftdb2 10016310 and the cheminfo files are one acquisition).

Truth is the index ``inchikey`` of the hit entry's record: right when it equals the
query's.  Pairing: ``same`` when some independent reference of the compound was measured in
the query's solvent, else ``cross``; a record without a stated solvent is ``unstated``.

Printed: top-1 per nucleus and pairing, the conclusions (identified right/WRONG, tentative,
no_match), and the street tablets' mixture components (fentid.spectra.nmr_mixture).

Run: python benchmarks/evaluate_nmr.py [--library PATH] [--skip-mixtures]
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from fentid.components import components_of
from fentid.conclude import QueryFacts, conclude
from fentid.curation import import_sources
from fentid.curation_nmr import entry_conditions
from fentid.drivers import read
from fentid.reference_library import create
from fentid.searching import LibrarySearcher
from fentid.spectra.nmr_match import canonical_solvent

NMR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nmr"
AMBIGUOUS = {"nmrshiftdb2/targets/FBPFZTCFMRRESA-UHFFFAOYSA-N.json",
             "nmrshiftdb2/targets/LOUPRKONTZGTKE-UHFFFAOYSA-N.json"}
#: One acquisition published twice (nmr/cheminfo_nmr-dataset1/README.md).
SAME_ACQUISITION = {"nmrshiftdb2/targets/ZPUCINDJVBIVPJ-UHFFFAOYSA-N.json",
                    "cheminfo_nmr-dataset1/50-36-2/ChiuZ_Cocaine_Luc.nmredata.sdf"}


#: MDMA-type tablets and the MDMA signals on the files' own (HDO-referenced) scale
#: (nmr-dataset-demo_xtc/README.md).
MDMA_TABLETS = ("XTC-1111a", "XTC-1675", "XTC-1693", "XTC-1731a", "XTC-814d")
MDMA_PPM = (1.2, 2.6, 5.9, 6.8)


def index_rows() -> list[dict]:
    with open(NMR / "index.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def build_library(path: Path) -> None:
    """The evaluation library (named sources first, so stereo variants get names)."""
    create(path)
    files = (sorted(NMR.glob("bmrb_metabolomics/*/*.json"))
             + sorted(NMR.glob("asics_pure_library/*/*.csv"))
             + [NMR / "cheminfo_nmr-dataset1/50-36-2/ChiuZ_Cocaine_Luc.nmredata.sdf"]
             + sorted(NMR.glob("nmrshiftdb2/*/*.json")))
    files = [f for f in files if f.relative_to(NMR).as_posix() not in AMBIGUOUS]
    rep = import_sources(path, files, source_root=NMR)
    print(f"library: {rep.imported} spectra, {rep.new_compounds} compounds added, "
          f"{len(rep.rejected)} records rejected:")
    for bad in rep.rejected:
        print(f"  rejected {bad['file']} record {bad['record']}: {bad['reason'][:90]}")


def truth_maps(rows):
    """record_id -> index row, and file -> rows (single-record files)."""
    by_id = {r["record_id"]: r for r in rows}
    by_file = defaultdict(list)
    for r in rows:
        by_file[r["file"]].append(r)
    return by_id, by_file


def entry_truth(entry: dict, by_id, by_file) -> dict | None:
    rid = entry_conditions(entry).get("record_id")
    if rid in by_id:
        return by_id[rid]
    rows = by_file.get(entry["source"], [])
    nuc = {"nmr_1h": "1H", "nmr_13c": "13C"}.get(entry["technique"])
    rows = [r for r in rows if r["nucleus"] == nuc] or rows
    return rows[0] if len(rows) == 1 else None


def independent(q: dict, r: dict) -> bool:
    if q["file"] == r["file"]:
        return canonical_solvent(q["solvent"]) != canonical_solvent(r["solvent"]) and \
            canonical_solvent(q["solvent"]) is not None and \
            canonical_solvent(r["solvent"]) is not None
    return not ({q["file"], r["file"]} <= SAME_ACQUISITION)


def evaluate(lib: Path) -> None:
    rows = index_rows()
    by_id, by_file = truth_maps(rows)
    searcher = LibrarySearcher(lib)
    lib_rows = {}
    for tech in ("nmr_1h", "nmr_13c"):
        for e in searcher.entries(tech):
            t = entry_truth(e, by_id, by_file)
            if t is not None:
                lib_rows[e["entry_id"]] = t
    keyed = defaultdict(list)
    for t in lib_rows.values():
        keyed[(t["inchikey"], t["nucleus"])].append(t)
    stats = defaultdict(Counter)
    wrong = []
    t_build = time.perf_counter()
    from fentid.reference_library.search_nmr import NmrIndex

    for tech in ("nmr_1h", "nmr_13c"):
        searcher._nmr[tech] = NmrIndex(searcher.library, tech)
    t_build = time.perf_counter() - t_build
    t0, n_q = time.perf_counter(), 0
    queries = [r for r in rows if r["role"] in ("target", "related_isomer")
               and r["nucleus"] in ("1H", "13C") and r["kind"] == "peaklist"
               and r["file"] not in AMBIGUOUS]
    cache = {}
    for q in queries:
        refs = [t for t in keyed[(q["inchikey"], q["nucleus"])] if independent(q, t)]
        if not refs:
            continue
        if q["file"] not in cache:
            ds = read(NMR / q["file"])
            cache[q["file"]] = {c.peaks.metadata.get("record_id"): c for c in components_of(ds)}
        comp = cache[q["file"]].get(q["record_id"])
        if comp is None:
            continue
        qs = canonical_solvent(q["solvent"])
        pairing = "unstated" if qs is None else (
            "same" if any(canonical_solvent(t["solvent"]) == qs for t in refs) else "cross")
        technique, _, hits = searcher.search(comp, top=60)
        n_q += 1
        kept = [h for h in hits if h["entry_id"] in lib_rows
                and independent(q, lib_rows[h["entry_id"]])]
        for k, h in enumerate(kept, 1):
            h["rank"] = k
        key = (q["nucleus"], pairing)
        stats[key]["queries"] += 1
        right = bool(kept) and lib_rows[kept[0]["entry_id"]]["inchikey"] == q["inchikey"]
        stats[key]["top1"] += right
        verdict = conclude(kept, knowledge=searcher.knowledge(technique),
                           query=QueryFacts(technique=technique, algorithm="nmr",
                                            library_has_references=True))
        status = verdict.status
        if status == "identified":
            ok = lib_rows[kept[0]["entry_id"]]["inchikey"] == q["inchikey"]
            stats[key]["identified_right" if ok else "identified_WRONG"] += 1
            if not ok:
                wrong.append((q["record_id"], kept[0]["compound"]))
        else:
            stats[key][status] += 1
        if not right:
            stats[key]["misses"] += 0
            print(f"  miss [{q['nucleus']} {pairing}] {q['compound_name']} ({q['solvent']}) "
                  f"{q['record_id']}: top {kept[0]['compound'] if kept else '-'} "
                  f"{kept[0]['score'] if kept else ''}", file=sys.stderr)
    dt = time.perf_counter() - t0
    print(f"\n{'nucleus':8} {'pairing':9} {'queries':>7} {'top-1':>7} {'ident.':>6} "
          f"{'WRONG':>5} {'tent.':>5} {'no_m.':>5}")
    total = Counter()
    for key in sorted(stats):
        s = stats[key]
        total.update(s)
        print(f"{key[0]:8} {key[1]:9} {s['queries']:7d} {s['top1'] / s['queries']:7.1%} "
              f"{s['identified_right']:6d} {s['identified_WRONG']:5d} {s['tentative']:5d} "
              f"{s['no_match']:5d}")
    print(f"{'all':8} {'':9} {total['queries']:7d} {total['top1'] / total['queries']:7.1%} "
          f"{total['identified_right']:6d} {total['identified_WRONG']:5d} "
          f"{total['tentative']:5d} {total['no_match']:5d}")
    print(f"wrong identified: {wrong or 'none'}")
    print(f"search: index of {len(lib_rows)} indexed entries built once in {t_build:.1f} s; "
          f"{n_q} queries in {dt:.2f} s ({1000 * dt / max(n_q, 1):.0f} ms per query)")
    _baseline(searcher, cache, dt / max(n_q, 1))
    searcher.close()


def _baseline(searcher, cache, per_query: float) -> None:
    """The previous search (scores_nmr.nmr_peak_similarity against every entry, one Python
    loop) timed on three 1H queries of this run, for the speed ratio."""
    from fentid.spectra import scores_nmr

    refs = [searcher.library.entry_peaklist(e["entry_id"])
            for e in searcher.entries("nmr_1h") if not e["retired"]]
    queries = [c for comps in cache.values() for c in comps.values()
               if c.peaks.nucleus == "1H"][:3]
    t = time.perf_counter()
    for c in queries:
        for ref in refs:
            scores_nmr.nmr_peak_similarity(c.peaks, ref)
    base = (time.perf_counter() - t) / max(len(queries), 1)
    print(f"baseline (previous per-entry loop, {len(refs)} 1H entries): {1000 * base:.0f} ms "
          f"per query; indexed search {1000 * per_query:.0f} ms: {base / per_query:.1f}x")


def mixtures(lib: Path) -> None:
    from fentid.spectra.nmr_mixture import analyse_file

    print("\nstreet tablets (400 MHz 1H, D2O): components found")
    lactose, mdma_left, mdma_named, n_mdma, t0 = 0, 0, 0, 0, time.perf_counter()
    with LibrarySearcher(lib) as searcher:
        for path in sorted(NMR.glob("nmr-dataset-demo_xtc/*.jdx")):
            res = analyse_file(path, searcher)
            lactose += any(c["compound"] == "Lactose" for c in res["components"])
            if path.stem.split("_")[0] in MDMA_TABLETS:
                n_mdma += 1
                mdma_left += all(any(abs(u - p) <= 0.1 for u in res["unexplained_ppm"])
                                 for p in MDMA_PPM)
                mdma_named += any(c["status"] == "identified" and c["compound"] != "Lactose"
                                  for c in res["components"])
            names = ", ".join(f"{c['compound']} {c['status']} ({c['molar_fraction']:.0%})"
                              for c in res["components"]) or "none"
            print(f"  {path.stem:16} {names}; unexplained {res['unexplained_fraction']:.0%} "
                  f"({len(res['unexplained'])} signals, e.g. "
                  f"{', '.join(f'{u:.2f}' for u in res['unexplained_ppm'][:6])} ppm)")
    print(f"lactose named in {lactose} of 8 tablets; MDMA signals (about "
          f"{', '.join(f'{p:g}' for p in MDMA_PPM)} ppm) all unexplained in {mdma_left} of "
          f"{n_mdma} MDMA-type tablets; another compound identified in {mdma_named} of them; "
          f"{(time.perf_counter() - t0) / 8:.1f} s per tablet")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--library", type=Path)
    ap.add_argument("--skip-mixtures", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        lib = args.library or Path(tmp) / "nmr.h5"
        if not lib.exists():
            build_library(lib)
        evaluate(lib)
        if not args.skip_mixtures:
            mixtures(lib)
    return 0


if __name__ == "__main__":
    sys.exit(main())
