"""`fentid library ...` end to end, as a user runs it (subprocess, exit codes, one-line errors)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from fentid import drivers
from fentid.reference_library import schema as S
from fentid.reference_library.atomic import writer_lock
from tests.conftest import FORMATS, MS, run_cli

REPLICATE = (FORMATS / "msp" / "nist_fentanyl_classifier" / "ExampleQuerySpectra"
             / "FentanylReplicates" / "250541.MSP")
NPP = MS / "SWGDRUG-3.4_NIST-EIMS-mass-predictions" / "1293.MSP"
JCAMP_EI = FORMATS / "jcamp_dx_ms" / "cheminfo" / "ethylbenzene_ei.jdx"
MGF = FORMATS / "mgf" / "matchms" / "pesticides.mgf"


@pytest.fixture()
def lib(tmp_path):
    path = tmp_path / "lib.h5"
    proc = run_cli("library", "create", path, "--name", "cli test")
    assert proc.returncode == 0, proc.stderr
    return path


def _ok(*args):
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_curator_workflow(lib, tmp_path):
    _ok("library", "add", lib, REPLICATE, "--compound", "PJMPHNIQZUBGLI-UHFFFAOYSA-N",
        "--curator", "alice")
    proc = _ok("library", "import", lib, JCAMP_EI, MGF, "--licence", "CC0", "--json")
    report = json.loads(proc.stdout)
    n_mgf = len(drivers.read(MGF).items)
    assert report["imported"] == 1 + n_mgf and report["rejected"] == []

    listing = json.loads(_ok("library", "list", lib, "--json").stdout)
    assert len(listing) == 2 + n_mgf
    for key in ("entry_id", "compound", "inchikey", "technique", "source", "source_record"):
        assert all(key in row for row in listing)
    first = listing[0]
    assert first["compound"] == "Fentanyl" and first["inchikey"] == "PJMPHNIQZUBGLI-UHFFFAOYSA-N"
    assert first["technique"] == "ei" and first["source"] == str(REPLICATE.resolve())
    assert {r["licence"] for r in listing[1:]} == {"CC0"}
    assert [r["source_record"] for r in listing if r["source"] == str(MGF.resolve())] \
        == list(range(1, n_mgf + 1))
    fentanyl_only = json.loads(_ok("library", "list", lib, "--json", "--class",
                                   "fentanyl_analog").stdout)
    assert [r["entry_id"] for r in fentanyl_only] == [first["entry_id"]]

    shown = json.loads(_ok("library", "show", lib, str(first["entry_id"]), "--json").stdout)
    original = drivers.read(REPLICATE).items[0]
    np.testing.assert_array_equal(shown["peaks"]["position"], original.axis)
    np.testing.assert_array_equal(shown["peaks"]["intensity"], original.intensities)

    _ok("library", "remove", lib, str(first["entry_id"]), "--reason", "replicate of a test")
    history = json.loads(_ok("library", "history", lib, "--json").stdout)
    assert [h["action"] for h in history] == ["create", "add", "import", "remove"]
    assert history[1]["curator"] == "alice"
    assert history[-1]["detail"]["reason"] == "replicate of a test"
    assert [h["library_version"] for h in history] == [1, 2, 3, 4]
    listing = json.loads(_ok("library", "list", lib, "--json").stdout)
    assert listing[0]["retired"] is True  # kept, not deleted

    for fmt, n in (("mgf", 1 + n_mgf), ("jcamp", 1 + n_mgf), ("msp", 1 + n_mgf)):
        out = tmp_path / f"out.{fmt}"
        _ok("library", "export", lib, out, "--format", fmt)
        back = drivers.read(out)
        assert len(back.items) == n and not back.problems

    report = json.loads(_ok("library", "validate", lib, "--json").stdout)
    assert report["checksum_ok"] and report["errors"] == []
    assert report["compounds"] >= 187


def test_add_refuses_a_spectrum_of_another_compound(lib):
    proc = run_cli("library", "add", lib, NPP, "--compound", "fentanyl")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "formula" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_import_with_bad_records_commits_the_good_ones_and_exits_2(lib, tmp_path):
    src = tmp_path / "mixed.msp"
    src.write_text("Name: broken\nNum Peaks: 2\n41 abc\n\n"
                   + REPLICATE.read_text())
    proc = run_cli("library", "import", lib, src)
    assert proc.returncode == 2
    assert "record 1" in proc.stderr and "rejected" in proc.stderr
    assert "imported 1 spectra" in proc.stdout
    listing = json.loads(_ok("library", "list", lib, "--json").stdout)
    assert [r["source_record"] for r in listing] == [2]


@pytest.mark.parametrize("kind", ["not_hdf5", "not_library", "newer_schema", "missing"])
def test_bad_library_files_give_one_line_and_exit_2(lib, tmp_path, kind):
    target = tmp_path / "target.h5"
    if kind == "not_hdf5":
        target.write_text("this is a text file\n")
        expect = "not an HDF5 file"
    elif kind == "not_library":
        with h5py.File(target, "w") as f:
            f["data"] = np.arange(4)
        expect = "not a fentid library"
    elif kind == "newer_schema":
        target = lib
        with h5py.File(target, "r+") as f:
            f.attrs[S.ATTR_SCHEMA_VERSION] = S.SCHEMA_VERSION + 1
        expect = f"schema_version {S.SCHEMA_VERSION + 1} is not supported"
    else:
        expect = "no such library file"
    for args in (("list", target), ("import", target, REPLICATE), ("validate", target)):
        proc = run_cli("library", *args)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith(f"fentid: error: {target}: ")
        assert expect in proc.stderr and proc.stderr.count("\n") == 1


def test_locked_library_names_the_holder(lib):
    import os

    with writer_lock(lib):
        proc = run_cli("library", "import", lib, REPLICATE)
    assert proc.returncode == 2
    assert f"pid {os.getpid()}" in proc.stderr and "lock" in proc.stderr


def test_unknown_entry_and_technique(lib):
    proc = run_cli("library", "show", lib, "999")
    assert proc.returncode == 2 and "no entry 999" in proc.stderr
    proc = run_cli("library", "list", lib, "--technique", "xrd")
    assert proc.returncode == 2 and "unknown technique" in proc.stderr


def test_add_processes_a_raw_fid_and_keeps_the_profile(tmp_path):
    from fentid.curation import add_spectrum
    from fentid.reference_library import Library, create

    fid = FORMATS / "bruker_topspin" / "VZBBI_13R03_GABA" / "13C"
    path = tmp_path / "own.h5"
    create(path)
    entry = add_spectrum(path, fid, "NCCCC(=O)O", curator="pytest")  # GABA by SMILES
    assert entry["technique"] == "nmr_13c"
    assert entry["inchikey"] == "BTCSSZJGUNDROE-UHFFFAOYSA-N"  # PubChem InChIKey of GABA
    with Library.open(path) as lib:
        peaks = lib.entry_peaklist(entry["entry_id"])
        axis, inten = lib.profile(entry["entry_id"])
    assert len(peaks) >= 4  # GABA has four carbons
    assert axis[0] <= peaks.position.min() and peaks.position.max() <= axis[-1]
    assert inten.size == axis.size
