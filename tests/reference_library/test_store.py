"""The HDF5 store: layout, versions, checksums, locking, errors on files that are not libraries."""

from __future__ import annotations

import csv

import h5py
import numpy as np
import pytest

from fentid.errors import LibraryError, LibraryLockedError, LibraryVersionError
from fentid.reference_library import Library, atomic, create, edit
from fentid.reference_library import schema as S
from fentid.reference_library.audit import validate_library
from tests.conftest import COMPOUNDS, load_index


def test_create_seeds_the_catalog(empty_library):
    catalog = load_index("compounds/catalog.csv")
    with Library.open(empty_library) as lib:
        assert lib.n_compounds() == len(catalog)
        assert lib.attrs[S.ATTR_SCHEMA_VERSION] == S.SCHEMA_VERSION
        assert lib.library_version == 1
        by_key = {c["inchikey"]: c for c in lib.compounds()}
        for row in catalog:
            comp = by_key[row["inchikey"]]
            assert comp["name"] == row["name"]
            assert comp["smiles"] == row["smiles"]
            assert comp["compound_class"] == row["class"]
            assert comp["isomer_group"] == row["positional_isomer_group"]
            assert comp["monoisotopic_mass"] == pytest.approx(float(row["monoisotopic_mass"]))


def test_packaged_catalog_is_derived_from_the_shared_one():
    """The package ships the catalog's fact columns (not the free-text notes), row for row."""
    from importlib import resources

    from fentid.reference_library.catalog import CSV_COLUMNS

    packaged = resources.files("fentid").joinpath("data/catalog.csv").read_text("utf-8")
    shared = (COMPOUNDS / "catalog.csv").read_text("utf-8")
    ours = list(csv.DictReader(packaged.splitlines()))
    theirs = list(csv.DictReader(shared.splitlines()))
    assert list(ours[0]) == list(CSV_COLUMNS)
    assert ours == [{c: row[c] for c in CSV_COLUMNS} for row in theirs]


def test_create_refuses_to_overwrite(empty_library):
    with pytest.raises(LibraryError, match="exists"):
        create(empty_library)


def _add(path, n=3, seed=0, technique="ei"):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 20, n)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    pos = np.concatenate([np.sort(rng.choice(np.arange(30, 400), c, replace=False))
                          for c in counts]).astype(float)
    inten = rng.integers(1, 1000, offsets[-1]).astype(float)
    with edit(path, curator="pytest") as w:
        ids = w.add_entries(technique, pos, inten, offsets,
                            {"compound": np.zeros(n, int), "source": "synthetic",
                             "source_record": np.arange(1, n + 1)})
    return ids, pos, inten, offsets


def test_add_entries_round_trip_and_version(empty_library):
    ids, pos, inten, offsets = _add(empty_library, n=5)
    with Library.open(empty_library) as lib:
        assert lib.library_version == 2
        p, i, o = lib.peaks("ei")
        np.testing.assert_array_equal(o, offsets)
        np.testing.assert_array_equal(p, pos.astype(np.float32))
        np.testing.assert_array_equal(i, inten.astype(np.float32))
        assert [e["entry_id"] for e in lib.entries("ei")] == list(ids)
        pl = lib.entry_peaklist(int(ids[2]))
        np.testing.assert_array_equal(pl.position, pos[offsets[2]:offsets[3]])
        assert pl.provenance.record == 3
        assert lib.entry(int(ids[4]))["source_record"] == 5


def test_every_change_bumps_version_and_checksum(empty_library):
    with Library.open(empty_library) as lib:
        before = (lib.library_version, lib.checksum)
    ids, *_ = _add(empty_library)
    with Library.open(empty_library) as lib:
        mid = (lib.library_version, lib.checksum)
    with edit(empty_library, curator="pytest") as w:
        w.retire(int(ids[0]), "test reason")
    with Library.open(empty_library) as lib:
        after = (lib.library_version, lib.checksum)
        assert lib.entry(int(ids[0]))["retired"] is True
        trail = lib.audit()
    assert before[0] < mid[0] < after[0]
    assert len({before[1], mid[1], after[1]}) == 3
    assert trail[-1]["action"] == "remove" and "test reason" in trail[-1]["detail"]
    assert validate_library(empty_library)["checksum_ok"]


def test_checksum_detects_tampering(empty_library):
    _add(empty_library)
    with h5py.File(empty_library, "r+") as f:
        ds = f["techniques/ei/peaks/intensity"]
        ds[0] = ds[0] + 1
    report = validate_library(empty_library)
    assert not report["checksum_ok"]
    assert any("checksum" in e for e in report["errors"])


def test_lock_held_names_the_holder(empty_library):
    import os

    with (atomic.writer_lock(empty_library),
          pytest.raises(LibraryLockedError, match=f"pid {os.getpid()}"),
          edit(empty_library)):
        pass
    with edit(empty_library):  # released
        pass


def test_not_hdf5(tmp_path):
    bad = tmp_path / "x.h5"
    bad.write_text("Name: not a library\n")
    with pytest.raises(LibraryError, match="not an HDF5 file"):
        Library.open(bad)


def test_hdf5_but_not_a_library(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(LibraryError, match="not a fentid library"):
        Library.open(other)


def test_newer_schema_refused(empty_library):
    with h5py.File(empty_library, "r+") as f:
        f.attrs[S.ATTR_SCHEMA_VERSION] = S.SCHEMA_VERSION + 1
    with pytest.raises(LibraryVersionError, match="upgrade fentid"):
        Library.open(empty_library)
    with pytest.raises(LibraryVersionError), edit(empty_library):
        pass


def test_failed_edit_leaves_library_untouched(empty_library):
    with Library.open(empty_library) as lib:
        before = lib.checksum
    with pytest.raises(RuntimeError), edit(empty_library) as w:
        w.add_entries("ei", [41.0], [1.0], [0, 1], {"compound": [0]})
        raise RuntimeError("boom")
    with Library.open(empty_library) as lib:
        assert lib.checksum == before and "ei" not in lib.techniques()
    assert not list(empty_library.parent.glob(f"{atomic.TMP_MARK}*"))


def test_incremental_index_matches_a_full_build(empty_library):
    from fentid.reference_library import search

    for seed in range(3):
        _add(empty_library, n=40, seed=seed)
    with Library.open(empty_library) as lib:
        assert len(lib.index_segments("ei")) == 3  # appended, not rebuilt
        idx = lib.search_index("ei")
        full = search.SearchIndex.build(*lib.peaks("ei"))
        for entry_id in (1, 45, 117):
            query = lib.entry_peaklist(entry_id)
            assert idx.search(query, top=5) == full.search(query, top=5)


def test_peak_arrays_are_flat_numpy(swgdrug_library):
    path, _ = swgdrug_library
    with Library.open(path) as lib:
        pos, inten, offsets = lib.peaks("ei")
        assert isinstance(pos, np.ndarray) and pos.dtype == np.float32
        assert inten.dtype == np.float32 and offsets.dtype == np.int64
        assert offsets.size == 3431 and offsets[-1] == pos.size


def test_profile_spectra_are_optional_and_kept(empty_library):
    ids, *_ = _add(empty_library, n=2)
    axis = np.linspace(0.0, 10.0, 101)
    with edit(empty_library) as w:
        w.add_profile("ei", 1, axis, np.sin(axis) ** 2)
    with Library.open(empty_library) as lib:
        assert lib.profile(int(ids[0])) is None
        got_axis, got = lib.profile(int(ids[1]))
        np.testing.assert_array_equal(got_axis, axis)
        np.testing.assert_allclose(got, np.sin(axis) ** 2, rtol=1e-6)


def test_edit_without_changes_keeps_the_version(empty_library):
    with Library.open(empty_library) as lib:
        before = (lib.library_version, lib.checksum)
    with edit(empty_library):
        pass
    with Library.open(empty_library) as lib:
        assert (lib.library_version, lib.checksum) == before


def test_nmr_entries_with_negative_ppm(empty_library):
    ppm = np.array([-121.3, -63.2])  # 19F shifts are mostly negative
    with edit(empty_library) as w:
        (entry_id,) = w.add_entries("nmr_19f", ppm, [1.0, 3.0], [0, 2],
                                    {"compound": [0], "solvent": "CDCl3", "field_mhz": 376.5})
    with Library.open(empty_library) as lib:
        pl = lib.entry_peaklist(int(entry_id))
        np.testing.assert_array_equal(pl.position, ppm)
        assert (pl.technique, pl.nucleus, pl.unit) == ("nmr", "19F", "ppm")
        entry = lib.entry(int(entry_id))
        assert entry["solvent"] == "CDCl3" and entry["field_mhz"] == pytest.approx(376.5)
        with pytest.raises(LibraryError, match="no search index"):
            lib.search_index("nmr_19f")
