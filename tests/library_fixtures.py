"""Reference libraries built once per test session from the real data, for the search and
identify end-to-end tests (tests/test_cli_search.py, test_cli_identify.py, test_identify_nmr.py).

Import the fixtures explicitly in a test module (each is registered under the name without
``_fixture``, so test arguments do not shadow the import)::

    from tests.library_fixtures import swgdrug_lib_fixture  # noqa: F401 (fixture swgdrug_lib)

Libraries (session scope, in a temporary directory, read-only for the tests):

``swgdrug_lib``
    The catalog plus all 3,430 EI spectra of SWGDRUG39.msp (curation import API).
``nmr_lib``
    A copy of ``swgdrug_lib`` plus NMR references: GABA 1H and 13C from the nmrML files
    (the same MetaboHUB acquisition as the Bruker folders, converted by nmrML's tools),
    aspirin 1H from the cheminfo JCAMP-DX export, and decoys (indometacin, ibuprofen at
    60 MHz, rutin 1H and 13C).
``nmr_decoy_lib``
    The same NMR decoys and aspirin, without GABA.
``asics_lib``
    GABA 1H from the ASICS 600 MHz pure-compound library (an independent acquisition in
    phosphate buffer) with structurally close ASICS decoys (2-aminobutyric acid,
    beta-alanine, 5-aminovaleric acid, butyrate) and aspirin.

NMR references from vendor files are added with ``fentid library add``'s API
(:func:`fentid.curation.add_spectrum`, in-process to keep the session fast), which processes
and picks raw FIDs and profile spectra; test_identify_nmr.py runs the command itself.

Compound identities are facts from the data indexes (formats/index.csv ``compound_or_sample``,
the ASICS file names); the SMILES below are those compounds' structures.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import FORMATS, MS, NMR

SWGDRUG = MS / "SWGDRUG-3.9_NIST-MS_conversion_tools" / "SWGDRUG39.msp"
ASICS = NMR / "asics_pure_library" / "decoys"

GABA_SMILES = "NCCCC(=O)O"
ASPIRIN_SMILES = "CC(=O)Oc1ccccc1C(=O)O"

#: (name, SMILES, sample path) of the NMR decoys read through the drivers.
NMR_DECOYS = (
    ("Indometacin", "COc1ccc2c(c1)c(CC(=O)O)c(C)n2C(=O)c1ccc(Cl)cc1",
     FORMATS / "jcamp_dx_nmr/cheminfo/indometacin/1h.dx"),
    ("Ibuprofen", "CC(C)Cc1ccc(cc1)C(C)C(=O)O", FORMATS / "nanalysis/ibuprofen_1h_nmready60.jdx"),
    ("Rutin", "CC1OC(OCC2OC(Oc3c(-c4ccc(O)c(O)c4)oc4cc(O)cc(O)c4c3=O)C(O)C(O)C2O)C(O)C(O)C1O",
     FORMATS / "jcamp_dx_nmr/cheminfo/rutin/qH.jdx"),
    ("Rutin", "CC1OC(OCC2OC(Oc3c(-c4ccc(O)c(O)c4)oc4cc(O)cc(O)c4c3=O)C(O)C(O)C2O)C(O)C(O)C1O",
     FORMATS / "jcamp_dx_nmr/cheminfo/rutin/13c.jdx"),
)
ASPIRIN_REF = ("Aspirin", ASPIRIN_SMILES, FORMATS / "jcamp_dx_nmr/cheminfo/aspirin/1h.dx")
GABA_REFS = (("GABA", GABA_SMILES, FORMATS / "nmrml/VZBBI_13R03_GABA_1H.nmrML"),
             ("GABA", GABA_SMILES, FORMATS / "nmrml/VZBBI_13R03_GABA_13C.nmrML"))
#: ASICS CSV name -> (compound name, SMILES)
ASICS_REFS = {
    "GABA": ("GABA", GABA_SMILES),
    "2-AminobutyricAcid": ("2-Aminobutyric acid", "CCC(N)C(=O)O"),
    "Beta-Alanine": ("beta-Alanine", "NCCC(=O)O"),
    "5-AminoValericAcid": ("5-Aminovaleric acid", "NCCCCC(=O)O"),
    "Butyrate": ("Butyric acid", "CCCC(=O)O"),
}


# --- tiny independent readers (the tests' own, not fentid's) ------------------------------

def parse_msp(path) -> list[dict]:
    """Records of an NIST MSP file: ``{"name", "fields": {lower-case key: value},
    "mz": ndarray, "intensity": ndarray}`` in file order.

    Peaks are ``m/z intensity`` pairs separated by whitespace, ``;`` or ``,``; a record ends
    at a blank line or at the next ``Name:``.
    """
    records: list[dict] = []
    current = None
    pairs: list[tuple[float, float]] = []

    def close():
        if current is not None:
            arr = np.array(pairs, float).reshape(-1, 2)
            current["mz"], current["intensity"] = arr[:, 0], arr[:, 1]
            records.append(current)

    with open(path, encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            line = raw.strip()
            if not line:
                close()
                current, pairs = None, []
                continue
            key, sep, value = line.partition(":")
            if sep and not key[:1].isdigit():
                if key.strip().lower() == "name":
                    close()
                    current, pairs = {"name": value.strip(), "fields": {}}, []
                elif current is not None:
                    current["fields"].setdefault(key.strip().lower(), value.strip())
                continue
            nums = re.split(r"[\s;,]+", line.split('"')[0].strip())
            nums = [n for n in nums if n]
            pairs.extend((float(nums[k]), float(nums[k + 1]))
                         for k in range(0, len(nums) - 1, 2))
    close()
    return records


def read_asics_spectrum(path):
    """An ASICS CSV (non-zero points of the 31,087-point 0.5-10 ppm grid, 600 MHz) as a
    :class:`~fentid.spectra.model.Spectrum`."""
    from fentid.spectra.model import Spectrum

    grid_n, lo, hi = 31087, None, None
    idx, y = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("# grid:"):
                m = re.search(r"(\d+) points ([\d.]+)\.\.([\d.]+) ppm", line)
                grid_n, lo, hi = int(m.group(1)), float(m.group(2)), float(m.group(3))
            if not line[:1].isdigit():
                continue
            cols = line.strip().split(",")
            idx.append(int(cols[0]))
            y.append(float(re.sub(r"[^0-9eE+.\-]", "", cols[2])))
    axis = np.linspace(lo, hi, grid_n)
    full = np.zeros(grid_n)
    full[np.asarray(idx) - 1] = y  # grid_index is 1-based (R)
    return Spectrum(axis, full, unit="ppm", technique="nmr", nucleus="1H",
                    metadata={"spectrometer_frequency_mhz": 600.0, "solvent": "H2O/D2O",
                              "name": Path(path).stem})


# --- building libraries ----------------------------------------------------------------------

def _with_field(peaks, spectrum):
    """The picked peaks plus the spectrum's field and solvent (stored with the entry)."""
    from fentid.spectra.model import PeakList

    meta = dict(peaks.metadata)
    if spectrum is not None:
        for key in ("spectrometer_frequency_mhz", "solvent"):
            if spectrum.metadata.get(key) is not None:
                meta[key] = spectrum.metadata[key]
    return PeakList(peaks.position, peaks.intensity, width=peaks.width, area=peaks.area,
                    snr=peaks.snr, unit=peaks.unit, technique=peaks.technique,
                    nucleus=peaks.nucleus, metadata=meta, provenance=peaks.provenance)


def asics_reference(stem):
    from fentid.spectra.model import hash_source
    from fentid.spectra.peaks import pick_peaks

    path = ASICS / f"{stem}.csv"
    spectrum = read_asics_spectrum(path)
    return _with_field(pick_peaks(spectrum), spectrum), str(path), hash_source(path)


def _compound_row(w, name: str, smiles: str) -> int:
    from fentid.reference_library.validate import structure_facts

    facts = structure_facts(smiles)
    hit = w.matcher.match(inchikey=facts["inchikey"], name=name)
    if hit is not None:
        return hit
    return w.add_compound({"name": name, "smiles": smiles, "inchikey": facts["inchikey"],
                           "formula": facts["formula"], "monoisotopic_mass": facts["mass"],
                           "origin": "tests/library_fixtures.py"})


def add_nmr_references(lib_path, refs) -> None:
    """Store ``refs`` = [(name, smiles, (peaks, source, sha256))] in one atomic edit."""
    from fentid.curation import CompoundResolver, ImportReport, prepare, store
    from fentid.reference_library import edit

    with edit(lib_path, "pytest") as w:
        for name, smiles, (peaks, source, sha256) in refs:
            row = _compound_row(w, name, smiles)
            resolver = CompoundResolver(w.compounds(), fixed_row=row)
            acc = prepare(peaks, 0, source, sha256, "test data", resolver, ImportReport())
            store(w, [acc], resolver)
        w.log("add", detail={"sources": [r[2][1] for r in refs]})


def _create(path) -> Path:
    from fentid.reference_library import create

    create(path, name=Path(path).stem, curator="pytest")
    return Path(path)


@pytest.fixture(scope="session", name="swgdrug_lib")
def swgdrug_lib_fixture(tmp_path_factory) -> Path:
    """Catalog + SWGDRUG39.msp (3,430 EI spectra), imported once per session."""
    from fentid.curation import import_sources

    path = _create(tmp_path_factory.mktemp("swgdrug") / "swgdrug39.h5")
    report = import_sources(path, [SWGDRUG], curator="pytest")
    if report.imported != 3430 or report.rejected:
        raise RuntimeError(f"SWGDRUG39 import: {report.imported} imported, "
                           f"rejected {report.rejected[:3]}")
    return path


def add_files(lib_path, refs) -> None:
    """``fentid library add`` (its API, in-process) for each ``(name, smiles, path)``."""
    from fentid.curation import add_spectrum

    for name, smiles, path in refs:
        add_spectrum(lib_path, path, smiles, licence="test data", curator="pytest", name=name)


@pytest.fixture(scope="session", name="nmr_lib")
def nmr_lib_fixture(swgdrug_lib, tmp_path_factory) -> Path:
    """SWGDRUG39 EI + GABA (nmrML 1H/13C), aspirin and decoys as NMR references."""
    path = tmp_path_factory.mktemp("nmr") / "case.h5"
    shutil.copyfile(swgdrug_lib, path)
    add_files(path, (*GABA_REFS, ASPIRIN_REF, *NMR_DECOYS))
    return path


@pytest.fixture(scope="session", name="nmr_decoy_lib")
def nmr_decoy_lib_fixture(tmp_path_factory) -> Path:
    """NMR decoys and aspirin only: no GABA."""
    path = _create(tmp_path_factory.mktemp("nmr_decoys") / "decoys.h5")
    add_files(path, (ASPIRIN_REF, *NMR_DECOYS))
    return path


@pytest.fixture(scope="session", name="asics_lib")
def asics_lib_fixture(tmp_path_factory) -> Path:
    """GABA from the ASICS 600 MHz library with close ASICS decoys, plus aspirin.

    The ASICS CSVs have no driver (they are an extract of an R data file), so their
    spectra are picked with :func:`fentid.spectra.peaks.pick_peaks` and stored with the
    curation API's ``prepare``/``store``.
    """
    path = _create(tmp_path_factory.mktemp("asics") / "asics.h5")
    refs = [(name, smi, asics_reference(stem)) for stem, (name, smi) in ASICS_REFS.items()]
    add_nmr_references(path, refs)
    add_files(path, (ASPIRIN_REF,))
    return path
