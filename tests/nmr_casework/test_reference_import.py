"""NMR references as they exist: nmrshiftdb2 JSON, BMRB NMR-STAR JSON, NMReDATA SDF, ASICS
CSV and JCAMP spectra read and imported, checked against ../shared/data/nmr/index.csv and
the files themselves."""

from __future__ import annotations

import collections
import json
import subprocess
import sys

import pytest

from fentid import drivers
from fentid.curation import import_sources
from fentid.curation_nmr import entry_conditions
from fentid.reference_library import Library, create
from tests.conftest import NMR, load_index

INDEX = load_index("nmr/index.csv")


def _index_counts(prefix: str) -> collections.Counter:
    return collections.Counter((r["file"], r["nucleus"]) for r in INDEX
                               if r["file"].startswith(prefix) and r["nucleus"] in ("1H", "13C"))


@pytest.mark.parametrize("prefix", ["nmrshiftdb2/targets", "nmrshiftdb2/related",
                                    "bmrb_metabolomics/targets", "bmrb_metabolomics/related"])
def test_records_per_file_and_nucleus_match_the_index(prefix):
    want = _index_counts(prefix)
    got = collections.Counter()
    for file in sorted({f for f, _ in want}):
        ds = drivers.read(NMR / file)
        for item in ds.items:
            got[(file, item.nucleus)] += 1
    assert got == want


def test_peak_counts_are_the_source_rows():
    # n_peaks in the index is the number of rows of the source's list
    rows = {r["record_id"]: r for r in INDEX if r["file"].startswith(
        ("nmrshiftdb2/targets", "bmrb_metabolomics/targets")) and r["nucleus"] in ("1H", "13C")}
    seen = 0
    for file in sorted({r["file"] for r in rows.values()}):
        for item in drivers.read(NMR / file).items:
            meta = item.metadata
            row = rows[meta["record_id"]]
            n = meta.get("source_rows") or len(item)
            assert n == int(row["n_peaks"]), meta["record_id"]
            seen += 1
    assert seen == len(rows)


def test_nmrshiftdb2_conditions_and_structure_as_the_file_states():
    ds = drivers.read(NMR / "nmrshiftdb2/targets/RYYVLZVUVIJVGH-UHFFFAOYSA-N.json")
    raw = json.loads((NMR / "nmrshiftdb2/targets/RYYVLZVUVIJVGH-UHFFFAOYSA-N.json").read_text())
    assert ds.driver == "nmrshiftdb2"
    # spectra 4 and 5 are predicted (ACD/Labs, HOSE code): not read as measured records
    assert "4:ACD/Labs" in raw["Program"] and ds.metadata["skipped"]["predicted"] == 2
    dmso = next(i for i in ds.items if i.metadata["record_id"].endswith("Spectrum 1H 7"))
    assert dmso.metadata["solvent"].startswith("Dimethylsulphoxide-D6")
    assert dmso.metadata["spectrometer_frequency_mhz"] == pytest.approx(399.9519958496094)
    assert dmso.metadata["temperature_k"] == 298
    assert dmso.metadata["smiles"] == raw["SMILES"]
    assert dmso.metadata["inchikey"] == "RYYVLZVUVIJVGH-UHFFFAOYSA-N"
    # 7.99 (1 H) and three N-CH3 (3 H each), as the file lists them per atom
    assert dmso.position.tolist() == [3.2, 3.39, 3.87, 7.99]
    assert dmso.intensity.tolist() == [3, 3, 3, 1]


def test_bmrb_conditions_signals_and_multiplicities():
    ds = drivers.read(NMR / "bmrb_metabolomics/targets/bmse000065.json")
    by_id = {i.metadata["record_id"]: i for i in ds.items}
    sig = by_id["bmse000065#spectral_peak_1H"]
    assert sig.metadata["name"] == "Lactose"
    assert sig.metadata["solvent"] == "D2O"
    assert sig.metadata["temperature_k"] == 298 and sig.metadata["ph"] == 7.4
    assert sig.metadata["shift_reference"] == "DSS"
    assert sig.metadata["spectrometer_frequency_mhz"] == 500
    assert sig.metadata["list_kind"] == "signals"
    # the first peak of the list: 5.221 ppm, a doublet (the alpha anomeric H)
    k = list(sig.position).index(5.221)
    assert sig.metadata["multiplicity"][k] == "d"
    assert len(sig.metadata["lines"]) == 53
    assert by_id["bmse000065#spectral_peak_1H_2"].metadata["list_kind"] == "lines"
    assert ds.metadata["skipped"] == {"dept": 2, "2d": 1, "other": 0}


def test_nmredata_lists_larmor_and_molfile():
    ds = drivers.read(NMR / "cheminfo_nmr-dataset1/50-36-2/ChiuZ_Cocaine_Luc.nmredata.sdf")
    h, c = ds.items
    assert (h.nucleus, c.nucleus) == ("1H", "13C")
    assert h.metadata["source_rows"] == 16 and c.metadata["source_rows"] == 17
    assert h.metadata["spectrometer_frequency_mhz"] == 700.18
    assert h.metadata["solvent"] == "CDCl3"
    assert 8.027 in h.position and 170.637 in c.position
    assert "M  END" in h.metadata["molfile"]


def test_asics_csv_spectrum_on_its_grid():
    path = NMR / "asics_pure_library/related/D-Sorbitol.csv"
    ds = drivers.read(path)
    spec = ds.items[0]
    assert ds.driver == "asics_csv" and spec.name == "D-Sorbitol"
    assert len(spec) == 31087 and spec.axis[0] == 0.5
    n_rows = sum(1 for line in path.read_text().splitlines()
                 if line and not line.startswith(("#", "grid_index")))
    assert int((spec.intensities != 0).sum()) == n_rows == ds.metadata["nonzero_points"]
    assert spec.metadata["spectrometer_frequency_mhz"] == 600
    assert spec.metadata["shift_reference"] == "TSP"


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    lib = tmp_path_factory.mktemp("nmrimport") / "lib.h5"
    create(lib)
    named = sorted((NMR / "bmrb_metabolomics/targets").glob("*.json")) + sorted(
        (NMR / "asics_pure_library/related").glob("*.csv")) + [
        NMR / "cheminfo_nmr-dataset1/50-36-2/ChiuZ_Cocaine_Luc.nmredata.sdf"]
    report = import_sources(lib, named + sorted((NMR / "nmrshiftdb2/targets").glob("*.json")))
    return lib, report


def test_import_many_records_with_a_per_record_report(imported):
    _, report = imported
    want = sum(1 for r in INDEX if r["nucleus"] in ("1H", "13C") and r["file"].startswith(
        ("bmrb_metabolomics/targets", "nmrshiftdb2/targets"))) + 6 + 2
    assert report.imported == want
    # the 2-D-only BMRB entries are rejected with the reason, and nothing else is
    rejected = sorted(r["file"].rsplit("/", 1)[-1] for r in report.rejected)
    assert rejected == ["bmse000804.json", "bmse000813.json"]
    assert all("no 1-D 1H or 13C peak list" in r["reason"] for r in report.rejected)


def test_import_structures_and_compounds(imported):
    lib, _ = imported
    with Library.open(lib) as L:
        entries = [e for t in ("nmr_1h", "nmr_13c") for e in L.entries(t)]
        by_source = collections.defaultdict(list)
        for e in entries:
            by_source[e["source"].rsplit("/", 1)[-1]].append(e)
        # lactose is not in the catalog: added with the structure BMRB states
        lac = by_source["bmse000065.json"][0]
        comp = L.compound_row(lac["compound_id"])
        assert comp["name"] == "Lactose" and comp["inchikey"] == "GUBGYTABKSRVRQ-XLOQQCSPSA-N"
        assert comp["smiles"].startswith("C([C@@H]1")
        # procaine HCl in D2O joins the catalog procaine (its largest neutral fragment)
        hcl = by_source["HCBIBCJNVBAKAB-UHFFFAOYSA-N.json"][0]
        assert hcl["compound"] == "Procaine"
        # the NMReDATA molfile and SMILES give catalog cocaine's key
        assert by_source["ChiuZ_Cocaine_Luc.nmredata.sdf"][0]["inchikey"] == \
            "ZPUCINDJVBIVPJ-LJISPDSOSA-N"
        # a nameless nmrshiftdb2 lactose record is named after lactose, its stereo flagged
        nx = by_source["GUBGYTABKSRVRQ-NXIVNNIUSA-N.json"][0]
        assert nx["compound"].startswith("Lactose (stereo variant")
        # conditions kept per entry
        cond = entry_conditions(lac)
        assert cond["temperature_k"] == 298 and cond["ph"] == 7.4
        assert cond["shift_reference"] == "DSS"
        assert lac["solvent"] == "D2O" and lac["field_mhz"] == 500
        # the ASICS spectra keep their processed profile beside the picked peaks
        sorb = by_source["D-Sorbitol.csv"][0]
        axis, _ = L.profile(sorb["entry_id"])
        assert len(axis) == 31087


def test_cli_import_exit_code_and_rejections(tmp_path):
    lib = tmp_path / "l.h5"
    create(lib)
    run = subprocess.run([sys.executable, "-m", "fentid.cli", "library", "import", str(lib),
                          str(NMR / "bmrb_metabolomics/targets/bmse000804.json"),
                          str(NMR / "bmrb_metabolomics/targets/bmse001210.json"), "--json"],
                         check=False, capture_output=True, text=True)
    assert run.returncode == 2
    assert "bmse000804.json" in run.stderr and "Traceback" not in run.stderr
    out = json.loads(run.stdout)
    assert out["imported"] == 2 and out["matched_catalog"] == 2
