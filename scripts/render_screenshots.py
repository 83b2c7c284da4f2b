"""Render the viewer's main views from real data into docs/images (the README shows them).

Builds a library in a temporary folder from ../shared/data (SWGDRUG 3.9 EI spectra; GABA
1H/13C nmrML, aspirin and decoy NMR spectra as references, as tests/library_fixtures.py
does), then renders offscreen:

- ``viewer-ms.png``: GC-MS run yellow.D, a component with its mirror plot (scanned range
  shaded);
- ``viewer-nmr.png``: the Bruker 1H experiment of GABA against its nmrML reference;
- ``viewer-isomers.png``: a para-methylfentanyl spectrum (SWGDRUG 3.4), an isomer group,
  with the candidates' structures;
- ``viewer-library.png``: the library tab with an entry and its provenance.

Usage::

    PYTHONPATH=src python scripts/render_screenshots.py [--out docs/images] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NMR_REFS = (
    ("GABA", "NCCCC(=O)O", "formats/nmrml/VZBBI_13R03_GABA_1H.nmrML"),
    ("GABA", "NCCCC(=O)O", "formats/nmrml/VZBBI_13R03_GABA_13C.nmrML"),
    ("Aspirin", "CC(=O)Oc1ccccc1C(=O)O", "formats/jcamp_dx_nmr/cheminfo/aspirin/1h.dx"),
    ("Indometacin", "COc1ccc2c(c1)c(CC(=O)O)c(C)n2C(=O)c1ccc(Cl)cc1",
     "formats/jcamp_dx_nmr/cheminfo/indometacin/1h.dx"),
    ("Ibuprofen", "CC(C)Cc1ccc(cc1)C(C)C(=O)O", "formats/nanalysis/ibuprofen_1h_nmready60.jdx"),
)


def build_library(data: Path, folder: Path) -> Path:
    from fentid.curation import add_spectrum, import_sources
    from fentid.reference_library import create

    path = folder / "screenshots.h5"
    create(path, name="SWGDRUG 3.9 + NMR references", curator="render_screenshots")
    import_sources(path, [data / "ms/SWGDRUG-3.9_NIST-MS_conversion_tools/SWGDRUG39.msp"],
                   curator="render_screenshots")
    for name, smiles, rel in NMR_REFS:
        add_spectrum(path, data / rel, smiles, name=name, licence="see shared/data index",
                     curator="render_screenshots")
    return path


def render(window, app, out: Path) -> None:
    app.processEvents()
    if not window.grab().save(str(out)):
        raise SystemExit(f"cannot write {out}")
    print(f"wrote {out}")


def case(app, library, files, folder, size, component=None, lower=None):
    from fentid.gui.app import wait_for_report
    from fentid.gui.window import MainWindow

    window = MainWindow(library=library, case_path=folder / f"case-{time.time_ns()}.jsonl",
                        interactive=False)
    window.resize(*size)
    window.show()
    window.open_files([str(f) for f in files])
    wait_for_report(window)
    if component is not None:
        window.select_component(component)
    if lower is not None:
        window.lower.setCurrentIndex(lower)
    return window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"))
    parser.add_argument("--data", default=os.environ.get("FENTID_SHARED_DATA",
                                                         str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--size", default="1600x1000")
    args = parser.parse_args()
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    size = tuple(int(v) for v in args.size.split("x"))
    from fentid.gui.app import application

    app = application(offscreen=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        library = build_library(data, folder)
        yellow = data / "formats/agilent_d/yellow.D"
        w = case(app, library, [yellow], folder, size)
        k = min(range(len(w.report.components)),
                key=lambda i: abs(w.report.components[i].retention_time_s - 117.62))
        w.select_component(k)
        w.ions.setText("m/z 105, 115")
        w._apply_ions()
        render(w, app, out / "viewer-ms.png")
        w.close()
        w = case(app, library, [data / "formats/bruker_topspin/VZBBI_13R03_GABA/1H"], folder,
                 size)
        render(w, app, out / "viewer-nmr.png")
        w.close()
        para = data / "ms/SWGDRUG-3.4_NIST-EIMS-mass-predictions/4604.MSP"
        w = case(app, library, [para], folder, size, component=0, lower=2)
        render(w, app, out / "viewer-isomers.png")
        w.tabs.setCurrentWidget(w.library_tab)
        tab = w.library_tab
        tab.search.setText("methylfentanyl")
        tab.select_entry(tab.visible_entries()[0]["entry_id"])
        render(w, app, out / "viewer-library.png")
        w.close()


if __name__ == "__main__":
    main()
