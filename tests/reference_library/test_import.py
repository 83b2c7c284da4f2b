"""Importing real reference libraries: SWGDRUG 3.9 MSP, MassBank records; export round trip."""

from __future__ import annotations

import numpy as np
import pytest

from fentid import drivers
from fentid.curation import import_sources
from fentid.reference_library import Library, create
from fentid.reference_library.export import export
from tests.conftest import MS, load_index
from tests.reference_library.conftest import SWGDRUG


def test_swgdrug_import_yields_every_record(swgdrug_library):
    path, report = swgdrug_library
    # ground truth: the data README states 3,430 spectra; the file has one Name: line each
    n_names = sum(1 for line in SWGDRUG.open(encoding="utf-8") if line.startswith("Name:"))
    assert n_names == 3430
    assert report.imported == 3430 and not report.rejected
    with Library.open(path) as lib:
        entries = lib.entries("ei")
        assert len(entries) == 3430
        assert [e["source_record"] for e in entries] == list(range(1, 3431))
        assert {e["sha256"] for e in entries} == {drivers.read(SWGDRUG).sha256}


def test_swgdrug_compounds_match_catalog_by_inchikey(swgdrug_library):
    path, report = swgdrug_library
    catalog = {r["inchikey"]: r["name"] for r in load_index("compounds/catalog.csv")}
    with Library.open(path) as lib:
        entries = lib.entries("ei")
    in_catalog = [e for e in entries if e["inchikey"] in catalog]
    matched = [e for e in entries if e["compound_id"] < len(catalog)]
    assert in_catalog and report.matched_catalog == len(matched)
    # a record matched to a catalog compound carries the catalog's class
    assert all(e["compound_class"] for e in matched)
    # a catalog key on a compound that is not the catalog's: a stereo-free key shared by a
    # differently named record of a structure with stereocentres (kept apart, not renamed)
    split = {e["compound"] for e in in_catalog if e["compound_id"] >= len(catalog)}
    assert split == {"para-Fluoro Tetrahydrofuran fentanyl"}
    fent = [e for e in entries if e["inchikey"] == "PJMPHNIQZUBGLI-UHFFFAOYSA-N"]
    assert fent and all(e["compound"] == "Fentanyl" for e in fent)


def test_msp_export_reimport_is_identical(swgdrug_library, tmp_path):
    path, _ = swgdrug_library
    out = tmp_path / "export.msp"
    with Library.open(path) as lib:
        assert export(lib, out, "msp") == 3430
    original = drivers.read(SWGDRUG).items
    again = drivers.read(out).items
    assert [s.metadata["name"] for s in again] == [s.metadata["name"] for s in original]
    for a, b in zip(original, again):
        np.testing.assert_array_equal(a.axis, b.axis)
        np.testing.assert_array_equal(a.intensities, b.intensities)
    lib2 = tmp_path / "again.h5"
    create(lib2)
    assert import_sources(lib2, [out]).imported == 3430
    with Library.open(path) as a, Library.open(lib2) as b:
        for x, y in zip(a.peaks("ei"), b.peaks("ei")):
            np.testing.assert_array_equal(x, y)
        assert [e["record_name"] for e in a.entries()] == [e["record_name"] for e in b.entries()]


def _massbank_rows(step=15):
    rows = [r for r in load_index("ms/index.csv") if r["file"].startswith("MassBank-data/")]
    return rows[::step]


def test_massbank_keeps_licence_and_accession(tmp_path):
    rows = _massbank_rows()
    path = tmp_path / "mb.h5"
    create(path)
    report = import_sources(path, [MS / r["file"] for r in rows])
    with Library.open(path) as lib:
        by_source = {e["source"]: e for e in lib.entries()}
    checked = 0
    for r in rows:
        entry = by_source.get(str((MS / r["file"]).resolve()))
        if entry is None:
            continue
        assert entry["licence"] == r["license"]
        assert entry["accession"] == r["accession"]
        # a stereo-free record key joins the named catalog stereoisomer (cocaine)
        if r["inchikey"].split("-")[1] == "UHFFFAOYSA":
            assert entry["inchikey"].split("-")[0] == r["inchikey"].split("-")[0]
        else:
            assert entry["inchikey"] == r["inchikey"]
        checked += 1
    assert checked == report.imported and checked > 0.9 * len(rows)
    # whatever was rejected says which field is wrong
    assert all(":" in bad["reason"] for bad in report.rejected)


def test_massbank_msms_keeps_precursor(tmp_path):
    rows = [r for r in _massbank_rows(5) if r["ms_level"] == "MS2"
            and r["precursor_mz"] not in ("", "NA")][:10]
    path = tmp_path / "mb.h5"
    create(path)
    import_sources(path, [MS / r["file"] for r in rows])
    with Library.open(path) as lib:
        by_source = {e["source"]: e for e in lib.entries("msms")}
        # MS/MS searches default to entropy: the index carries its view, and (like the
        # ball arrays) every stored array is sized for the segment
        from fentid.reference_library.search_ball import BALL_KEYS
        from fentid.reference_library.search_mz import ENTROPY_KEYS

        (segment,) = lib.index_segments("msms")
        assert set(ENTROPY_KEYS) | set(BALL_KEYS) <= set(segment)
        index = lib.search_index("msms")
        query = lib.entry_peaklist(lib.entries("msms")[0]["entry_id"])
        assert index.search(query, "entropy", top=1)[0].score == pytest.approx(1.0)
    for r in rows:
        entry = by_source.get(str((MS / r["file"]).resolve()))
        if entry is not None:
            assert entry["precursor_mz"] == pytest.approx(float(r["precursor_mz"]), abs=1e-4)


INCONSISTENT = """Name: Fentanyl (bad formula)
SMILES: CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1
Formula: C22H29N2O
Num Peaks: 3
105 100
146 60
245 999

Name: Good record
Formula: C22H28N2O
InChIKey: PJMPHNIQZUBGLI-UHFFFAOYSA-N
Num Peaks: 2
146 60
245 999
"""


def test_inconsistent_record_is_rejected_naming_the_field(tmp_path):
    src = tmp_path / "bad.msp"
    src.write_text(INCONSISTENT)
    path = tmp_path / "lib.h5"
    create(path)
    report = import_sources(path, [src])
    assert report.imported == 1
    assert len(report.rejected) == 1
    bad = report.rejected[0]
    assert bad["record"] == 1 and bad["reason"].startswith("formula:")
    assert "C22H29N2O" in bad["reason"] and "C22H28N2O" in bad["reason"]
    with Library.open(path) as lib:
        assert [e["compound"] for e in lib.entries()] == ["Fentanyl"]


def test_mgf_export_keeps_accurate_mz_and_float32_intensities(tmp_path):
    from tests.conftest import FORMATS

    src = FORMATS / "mgf" / "matchms" / "pesticides.mgf"
    path = tmp_path / "lib.h5"
    create(path)
    assert not import_sources(path, [src]).rejected
    out = tmp_path / "out.mgf"
    with Library.open(path) as lib:
        export(lib, out, "mgf")
    original, again = drivers.read(src).items, drivers.read(out).items
    assert len(again) == len(original)
    for a, b in zip(original, again):
        np.testing.assert_array_equal(b.axis, a.axis)  # float64 m/z, shortest repr
        # intensities are stored as float32 (7 significant digits, documented)
        np.testing.assert_array_equal(b.intensities.astype(np.float32),
                                      a.intensities.astype(np.float32))
        assert b.metadata["precursor_mz"] == a.metadata["precursor_mz"]
