"""Agilent .D driver (rainbow-api) against rainbow's reference CSVs (formats/agilent_d/expected)."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from fentid.drivers import claimants, read
from fentid.errors import CorruptDataError
from fentid.spectra.model import Run
from tests.conftest import FORMATS, load_index, run_cli

EXPECTED = FORMATS / "agilent_d/expected/rainbow_outputs"
CASES = [("agilent_d/yellow.D", "yellow", "data.ms", "data.csv"),
         ("agilent_d/orange.D", "orange", "MSD1.MS", "MSD1.csv")]


def load_reference_csv(path):
    """rainbow CSV: header ``RT (min),mz1,mz2,...``; rows: RT then intensities."""
    with open(path, newline="") as fh:
        header = next(csv.reader(fh))
    table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return np.array(header[1:], dtype=float), table[:, 0], table[:, 1:]


def rebin_like_rainbow(run: Run, columns: np.ndarray) -> np.ndarray:
    """Our Run in the CSV's (RT x m/z) layout: rainbow bins m/z to the nearest integer."""
    nominal = np.rint(run.mz)
    col = np.searchsorted(columns, nominal)
    inside = (col < columns.size) & (columns[np.minimum(col, columns.size - 1)] == nominal)
    assert inside.all(), "every m/z of the run has a column in the reference CSV"
    rows = np.repeat(np.arange(run.n_scans), np.diff(run.offsets))
    out = np.zeros((run.n_scans, columns.size))
    np.add.at(out, (rows, col), run.intensity)
    return out


def ms_run(ds, channel: str) -> Run:
    (run,) = [r for r in ds.items if r.metadata["channel"] == channel]
    return run


@pytest.mark.parametrize("rel,name,channel,csv_name", CASES)
def test_intensity_matrix_equals_rainbow_reference(rel, name, channel, csv_name):
    columns, rt_min, matrix = load_reference_csv(EXPECTED / name / csv_name)
    run = ms_run(read(FORMATS / rel), channel)
    np.testing.assert_allclose(run.retention_time_s / 60.0, rt_min, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(rebin_like_rainbow(run, columns), matrix, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("rel,name", [("agilent_d/yellow.D", "yellow"),
                                      ("agilent_d/orange.D", "orange")])
def test_shapes_and_other_detectors_match_info_json(rel, name):
    info = json.loads((EXPECTED / name / "info.json").read_text())["datafiles"]
    ds = read(FORMATS / rel)
    channels = {c["name"]: c for c in ds.metadata["channels"]}
    for fname, facts in info.items():
        if facts["detector"] == "MS":
            run = ms_run(ds, fname)
            assert run.n_scans == facts["shape"][0]
            assert np.unique(np.rint(run.mz)).size == facts["shape"][1]
        else:
            assert channels[fname]["detector"] == facts["detector"]
            assert channels[fname]["shape"] == facts["shape"]


def test_yellow_sim_file_holds_the_two_indexed_ions():
    run = ms_run(read(FORMATS / "agilent_d/yellow.D"), "dataSim.ms")
    assert run.metadata["acquisition_mode"] == "SIM"
    assert sorted(np.unique(run.mz)) == [131.0, 202.0]  # index facts: SIM ions 131 and 202


def test_full_scan_run_comes_first_and_mz_keeps_the_005_lattice():
    ds = read(FORMATS / "agilent_d/yellow.D")
    first = ds.items[0]
    assert first.metadata["channel"] == "data.ms"
    lattice = first.mz * 20
    np.testing.assert_allclose(lattice, np.rint(lattice), atol=1e-6)
    assert not np.allclose(first.mz, np.rint(first.mz))  # not pre-binned to integers


@pytest.mark.parametrize("rel", ["agilent_d/yellow.D", "agilent_d/orange.D"])
def test_claimed_by_agilent_only(rel):
    assert [d.name for d in claimants(FORMATS / rel)] == ["agilent"]


def test_agilent_and_waters_sniffers_claim_no_other_sample():
    ours = {"agilent", "waters", "andi"}
    for row in load_index("formats/index.csv"):
        path = FORMATS / row["path"]
        if row["path"].startswith(("agilent_d/", "waters_raw/", "netcdf_andi/")) \
                or not path.exists():
            continue
        names = {d.name for d in claimants(path)}
        assert not names & ours, f"{row['path']} claimed by {names & ours}"


def test_missing_data_ms_is_corrupt_data_naming_the_file(tmp_path):
    copy = tmp_path / "yellow.D"
    shutil.copytree(FORMATS / "agilent_d/yellow.D", copy)
    (copy / "data.ms").unlink()
    with pytest.raises(CorruptDataError, match=r"data\.ms"):
        read(copy)
    proc = run_cli("peaks", copy)
    assert proc.returncode == 2
    assert "data.ms" in proc.stderr and proc.stderr.startswith("fentid: error:")


def test_truncated_ms_file_is_corrupt(tmp_path):
    copy = tmp_path / "orange.D"
    shutil.copytree(FORMATS / "agilent_d/orange.D", copy)
    ms = copy / "MSD1.MS"
    ms.chmod(0o644)
    ms.write_bytes(ms.read_bytes()[:5000])
    proc = run_cli("info", copy)
    assert proc.returncode == 2, proc.stdout
    assert "Traceback" not in proc.stderr


def test_info_cli_lists_each_ms_file_with_its_scan_count():
    proc = run_cli("info", FORMATS / "agilent_d/yellow.D", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    info = json.loads((EXPECTED / "yellow/info.json").read_text())["datafiles"]
    files = {f["name"]: f for f in report["ms_files"]}
    assert files["data.ms"]["n_scans"] == info["data.ms"]["shape"][0]
    assert files["dataSim.ms"]["n_scans"] == info["dataSim.ms"]["shape"][0]
    assert files["dataSim.ms"]["acquisition_mode"] == "SIM"
    assert report["ionization"] == "EI" and report["driver"] == "agilent"
