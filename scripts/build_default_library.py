"""Build the reference library and demo spectra shipped inside the fentid package.

Run from the repository, with ../shared/data beside it:

    python scripts/build_default_library.py            # writes src/fentid/data/...

Writes, reproducibly (fixed build time through SOURCE_DATE_EPOCH, sources named relative to
the data folder, so the same sources give the same file):

* ``src/fentid/data/default-library.h5``: the 187-compound catalog; SWGDRUG 3.9's 3,430 EI
  spectra (a public forensic library, redistributed by NIST under its 17 USC 105 notice);
  MassBank MS/MS records whose own ``LICENSE`` allows redistribution (CC BY, CC BY-SA, CC0,
  dl-de/by-2-0; records under NC or ND terms are left out). Every entry keeps its source file
  and licence.
* ``src/fentid/data/demo-spectra.msp``: the EI spectra ``fentid demo`` builds its GC-MS run
  from, measured by labs other than SWGDRUG (NIST FentanylClassifier replicates, NIST notice;
  a RIKEN MassBank record, CC BY-SA), with source and licence in each record's comments.
* ``src/fentid/data/default-library.json``: what went in (sources with sha256, counts per
  licence), the library's content checksum and version, and the file's sha256.

``tests/test_default_library.py`` rebuilds it from ../shared/data and checks the recorded
checksums, so the shipped file is what this script makes from the real sources.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Build time written into the library (reproducible builds).
BUILD_TIME = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
SWGDRUG = "ms/SWGDRUG-3.9_NIST-MS_conversion_tools/SWGDRUG39.msp"
SWGDRUG_LICENCE = ("SWGDRUG MS Library: free public forensic library, redistributed by NIST "
                   "under its 17 USC 105 notice")
#: MassBank record licences that allow redistribution in an openly licensed package.
OPEN_LICENCES = ("CC BY", "CC BY-SA", "CC0", "dl-de/by-2-0")
#: (file under ms/, name written, licence) of the demo's source spectra.
DEMO_SOURCES = (
    ("NIST-FentanylClassifier/ExampleQuerySpectra/FentanylReplicates/250541.MSP", "Fentanyl",
     "NIST notice (17 USC 105; see NOTICE-NIST.txt)"),
    ("NIST-FentanylClassifier/ExampleQuerySpectra/Type1FentanylReplicates/TypeC/463843.MSP",
     "3-Methylfentanyl", "NIST notice (17 USC 105; see NOTICE-NIST.txt)"),
    ("NIST-FentanylClassifier/ExampleQuerySpectra/Type1Synthesize/463800.MSP",
     "N-Trifluoroacetyl-4-ANPP", "NIST notice (17 USC 105; see NOTICE-NIST.txt)"),
    ("MassBank-data/RIKEN/MSBNK-RIKEN-PR010011.txt", "Caffeine",
     "CC BY-SA (MassBank record MSBNK-RIKEN-PR010011; Kusano M, Fukushima A, RIKEN)"),
)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def massbank_msms(data: Path) -> list[dict]:
    with open(data / "ms" / "index.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r for r in rows if r["file"].startswith("MassBank-data/") and r["ms_level"] == "MS2"
            and r["license"] in OPEN_LICENCES]


def build_library(data: Path, out: Path) -> dict:
    from fentid.curation import import_sources
    from fentid.reference_library import Library, create

    os.environ["SOURCE_DATE_EPOCH"] = str(int(BUILD_TIME.timestamp()))
    curator = "fentid build (scripts/build_default_library.py)"
    create(out, name="fentid default library", curator=curator)
    swg = import_sources(out, [data / SWGDRUG], licence=SWGDRUG_LICENCE, curator=curator,
                         source_root=data)
    rows = massbank_msms(data)
    mb = import_sources(out, [data / "ms" / r["file"] for r in rows], curator=curator,
                        source_root=data)
    with Library.open(out) as lib:
        licences = Counter(e["licence"] for e in lib.entries())
        techniques = {t: int(lib.entry_columns(t)["entry_id"].size) for t in lib.techniques()}
        info = {"library_version": lib.library_version, "content_checksum": lib.checksum,
                "compounds": lib.n_compounds(), "entries": techniques}
    info.update({
        "sources": [{"file": SWGDRUG, "sha256": sha256(data / SWGDRUG), "imported": swg.imported,
                     "rejected": len(swg.rejected), "licence": SWGDRUG_LICENCE},
                    {"file": "ms/MassBank-data (MS/MS records with an open LICENSE)",
                     "records": len(rows), "imported": mb.imported,
                     "rejected": len(mb.rejected), "licences": list(OPEN_LICENCES)}],
        "licences": dict(sorted(licences.items())),
        "build_time": BUILD_TIME.isoformat(), "built_by": "scripts/build_default_library.py"})
    return info


def write_demo_spectra(data: Path, out: Path) -> list[dict]:
    """The demo's source spectra as one MSP, each record naming its source and licence."""
    from fentid.drivers import read

    with open(data / "ms" / "index.csv", newline="", encoding="utf-8") as fh:
        index = {r["file"]: r for r in csv.DictReader(fh)}
    blocks, facts = [], []
    for rel, name, licence in DEMO_SOURCES:
        spec = read(data / "ms" / rel).items[0]
        row = index[rel]
        peaks = "\n".join(f"{m:g} {i:g}" for m, i in zip(spec.axis, spec.intensities,
                                                         strict=True))
        blocks.append(f"Name: {name}\nInChIKey: {row['inchikey']}\n"
                      f"Comments: source=shared/data/ms/{rel}; licence={licence}\n"
                      f"Num Peaks: {len(spec)}\n{peaks}\n")
        facts.append({"name": name, "inchikey": row["inchikey"], "source": f"ms/{rel}",
                      "licence": licence, "sha256": sha256(data / "ms" / rel)})
    out.write_text("\n".join(blocks), encoding="utf-8")
    return facts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "src" / "fentid" / "data")
    args = ap.parse_args(argv)
    data = args.data.resolve()
    if not (data / SWGDRUG).is_file():
        sys.stderr.write(f"build_default_library: {data}: no {SWGDRUG} (need ../shared/data)\n")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.out) as tmp:
        lib = Path(tmp) / "default-library.h5"
        info = build_library(data, lib)
        info["sha256"] = sha256(lib)
        info["bytes"] = lib.stat().st_size
        os.replace(lib, args.out / "default-library.h5")
    info["demo_spectra"] = write_demo_spectra(data, args.out / "demo-spectra.msp")
    notice = data / "ms" / "NIST-FentanylClassifier" / "LICENSE.txt"
    (args.out / "NOTICE-NIST.txt").write_text(
        "The demo spectra marked 'NIST notice' come from NIST's FentanylClassifier "
        "repository (asm3-nist/FentanylClassifier), distributed under this notice:\n\n"
        + notice.read_text(encoding="utf-8"), encoding="utf-8")
    (args.out / "default-library.json").write_text(json.dumps(info, indent=2) + "\n",
                                                   encoding="utf-8")
    print(f"wrote {args.out / 'default-library.h5'} ({info['bytes'] / 1e6:.1f} MB, "
          f"entries {info['entries']}, checksum {info['content_checksum'][:16]}, sha256 "
          f"{info['sha256'][:16]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
