"""Measure how far NMR signals of one compound move between records: same solvent vs
different solvents, per nucleus, on the shared records (../shared/data/nmr).

For every pair of independent records of one compound (index ``inchikey``, target or related
roles, peak lists), the signals are paired one-to-one (Hungarian, widest bound 1 ppm 1H /
6 ppm 13C, after the best global offset within the referencing bound) and the absolute
per-signal residuals are collected.  Printed: pairs, residuals, median, 90th and 95th
percentile (ppm).  ``fentid.spectra.nmr_match`` takes its per-signal sigma and bound from
these figures.

Run: python scripts/measure_nmr_solvent_shifts.py
"""

from __future__ import annotations

import csv
import itertools
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from fentid.components import components_of
from fentid.drivers import read
from fentid.spectra import nmr_match as M

NMR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nmr"
WIDE = {"1H": 1.0, "13C": 6.0}
OFFSET = {"1H": 0.05, "13C": 2.5}


def residuals(a: M.Signals, b: M.Signals) -> list[float]:
    best = (-1.0, [])
    for delta in np.linspace(-OFFSET[a.nucleus], OFFSET[a.nucleus], 21):
        d = np.abs(a.position[:, None] + delta - b.position[None, :])
        gain = np.where(d <= WIDE[a.nucleus], np.sqrt(a.weight[:, None] * b.weight[None, :])
                        * (1 - d / WIDE[a.nucleus]), 0)
        rows, cols = linear_sum_assignment(gain, maximize=True)
        ok = gain[rows, cols] > 0
        total = gain[rows, cols][ok].sum()
        if total > best[0]:
            best = (total, d[rows[ok], cols[ok]].tolist())
    return best[1]


def main() -> int:
    with open(NMR / "index.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["role"] in ("target", "related_isomer")
                and r["kind"] == "peaklist" and r["nucleus"] in ("1H", "13C")]
    sig = {}
    for file in sorted({r["file"] for r in rows}):
        for c in components_of(read(NMR / file)):
            m = c.peaks.metadata
            sig[m.get("record_id")] = M.signals_of_peaklist(c.peaks)
    groups = defaultdict(list)
    for r in rows:
        if r["record_id"] in sig and M.canonical_solvent(r["solvent"]):
            groups[(r["inchikey"], r["nucleus"])].append(r)
    out = defaultdict(list)
    n_pairs = defaultdict(int)
    for (_, nucleus), recs in groups.items():
        for a, b in itertools.combinations(recs, 2):
            if a["file"] == b["file"] and a["solvent"] == b["solvent"]:
                continue  # one record published twice in a file
            kind = "same" if M.canonical_solvent(a["solvent"]) == M.canonical_solvent(
                b["solvent"]) else "cross"
            out[(nucleus, kind)] += residuals(sig[a["record_id"]], sig[b["record_id"]])
            n_pairs[(nucleus, kind)] += 1
    print(f"{'nucleus':8} {'solvents':9} {'pairs':>5} {'signals':>7} {'median':>7} "
          f"{'p90':>7} {'p95':>7}  (ppm)")
    for key in sorted(out):
        v = np.asarray(out[key])
        print(f"{key[0]:8} {key[1]:9} {n_pairs[key]:5d} {v.size:7d} {np.median(v):7.3f} "
              f"{np.percentile(v, 90):7.3f} {np.percentile(v, 95):7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
