"""Measure how much identity match factors of replicate EI spectra of one compound wander.

The conclusion rules (fentid.conclude.Policy.replicate_spread) treat two
compounds as indistinguishable when their scores differ by less than this
spread. Replicates are EI spectra of one InChIKey from different records:
SWGDRUG 3.9 (entries contributed by different labs), the NIST
FentanylClassifier replicates and single-modification library, and MassBank
EI records, all in ../shared/data/ms.

For every compound with at least three spectra, each spectrum in turn is the
reference and every pair of the others are queries: the spread is
|MF(q1, ref) - MF(q2, ref)|. Prints the distribution and its 95th percentile.

Run: python benchmarks/measure_replicate_spread.py
"""

from __future__ import annotations

import csv
import itertools
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from fentid.drivers import read
from fentid.spectra.model import PeakList
from fentid.spectra.scores_ms import identity_match_factor

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ms"


def _peaks(spectrum) -> PeakList:
    return PeakList(spectrum.axis, spectrum.intensities)


def ei_spectra_by_inchikey(data: Path = DATA) -> dict[str, list[tuple[str, PeakList]]]:
    """InChIKey -> [(label, peaks)] for every EI spectrum in ../shared/data/ms."""
    groups: dict[str, list] = defaultdict(list)
    swg = read(data / "SWGDRUG-3.9_NIST-MS_conversion_tools" / "SWGDRUG39.msp")
    for k, s in enumerate(swg.items, start=1):
        key = (s.metadata.get("inchikey") or "").upper()
        if key:
            groups[key].append((f"SWGDRUG39#{k} {s.metadata.get('name')}", _peaks(s)))
    with open(data / "index.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["ionization"] == "EI"]
    for r in rows:
        path = data / r["file"]
        if path.suffix.lower() == ".rds" or "SWGDRUG" in r["file"]:
            continue  # RDS rows duplicate the MSP beside them; SWGDRUG read above
        ds = read(path)
        for s in ds.items:
            groups[r["inchikey"].upper()].append((f"{r['file']}", _peaks(s)))
    return groups


def spreads(groups, floor: float = 0.0) -> np.ndarray:
    """|MF(q1, ref) - MF(q2, ref)| over replicate triples of one compound.

    Only queries scoring at least ``floor`` against the reference take part
    (below the tentative threshold a spectrum is not a usable replicate).
    """
    out = []
    for members in groups.values():
        if len(members) < 3:
            continue
        for ref_i, (_, ref) in enumerate(members):
            others = [p for j, (_, p) in enumerate(members) if j != ref_i]
            scores = [s for s in (identity_match_factor(q, ref) for q in others) if s >= floor]
            out.extend(abs(a - b) for a, b in itertools.combinations(scores, 2))
    return np.array(out)


def replicate_spread(floor: float = 650.0) -> float:
    """The spread fentid's EI policy uses: the median over usable replicate triples."""
    return float(np.median(spreads(ei_spectra_by_inchikey(), floor)))


def main() -> int:
    groups = ei_spectra_by_inchikey()
    multi = {k: v for k, v in groups.items() if len(v) >= 2}
    pair_mf = [identity_match_factor(a, b) for v in multi.values()
               for (_, a), (_, b) in itertools.combinations(v, 2)]
    s = spreads(groups)
    print(f"compounds with >=2 EI spectra: {len(multi)}; with >=3: "
          f"{sum(len(v) >= 3 for v in groups.values())}")
    print(f"replicate-vs-replicate identity MF: n={len(pair_mf)} median={np.median(pair_mf):.0f} "
          f"p5={np.percentile(pair_mf, 5):.0f} min={np.min(pair_mf):.0f}")
    if s.size:
        print(f"|MF(q1,ref)-MF(q2,ref)| over replicate triples: n={s.size} "
              f"median={np.median(s):.1f} p95={np.percentile(s, 95):.1f} max={s.max():.1f}")
        usable = spreads(groups, floor=650.0)
        print(f"same, both queries MF >= 650 (usable replicates): n={usable.size} "
              f"median={np.median(usable):.1f} p75={np.percentile(usable, 75):.1f} "
              f"p95={np.percentile(usable, 95):.1f}")
        print(f"replicate_spread (median of usable triples) = {np.median(usable):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
