"""ANDI-MS netCDF driver on the real samples in formats/netcdf_andi (facts: formats/index.csv)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy.io import netcdf_file

from fentid.drivers import claimants, read
from fentid.errors import CorruptDataError, FormatError
from fentid.spectra.model import Run
from tests.conftest import FORMATS, load_index, run_cli

ANDI_MS = ["netcdf_andi/HP_MS.CDF", "netcdf_andi/P071.CDF"]
INDEX = {row["path"]: row for row in load_index("formats/index.csv")}


def _fact(path: str, key: str) -> str:
    match = re.search(rf"{key}\s*[=:]\s*([^;]+)", INDEX[path]["facts"])
    assert match, f"index facts of {path} have no {key}"
    return match.group(1).strip()


@pytest.mark.parametrize("rel", [*ANDI_MS, "netcdf_andi/agilent_hplc.cdf"])
def test_every_netcdf_sample_is_claimed_by_andi_only(rel):
    assert [d.name for d in claimants(FORMATS / rel)] == ["andi"]


@pytest.mark.parametrize("rel", ANDI_MS)
def test_scan_and_point_counts_match_index_facts(rel):
    ds = read(FORMATS / rel)
    (run,) = ds.items
    assert isinstance(run, Run)
    assert run.n_scans == int(_fact(rel, "scan_number").split()[0])
    assert run.mz.size == int(_fact(rel, "point_number").split()[0])
    assert ds.metadata["header"]["experiment_title"] == _fact(rel, "experiment_title")
    assert run.metadata["ionization"] == "EI"
    assert run.provenance.driver == "andi" and len(run.provenance.sha256) == 64


def test_hp_ms_has_621_scans_as_the_issue_states():
    assert read(FORMATS / "netcdf_andi/HP_MS.CDF").items[0].n_scans == 621


def test_p071_retention_time_range_in_seconds():
    rel = "netcdf_andi/P071.CDF"
    lo, hi = (float(v) for v in re.findall(
        r"scan_acquisition_time ([\d.]+) \.\. ([\d.]+) s", INDEX[rel]["facts"])[0])
    rt = read(FORMATS / rel).items[0].retention_time_s
    assert rt[0] == pytest.approx(lo) and rt[-1] == pytest.approx(hi)


@pytest.mark.parametrize("rel", ANDI_MS)
def test_run_arrays_equal_the_netcdf_variables(rel):
    run = read(FORMATS / rel).items[0]
    with netcdf_file(FORMATS / rel, mmap=False) as nc:
        start = nc.variables["scan_index"].data.astype(int)
        count = nc.variables["point_count"].data.astype(int)
        mz = nc.variables["mass_values"].data.astype(float)
        inten = nc.variables["intensity_values"].data.astype(float)
    k = len(start) // 2  # a scan in the middle
    order = np.argsort(mz[start[k]:start[k] + count[k]], kind="stable")
    got_mz, got_int = run.scan(k)
    np.testing.assert_array_equal(got_mz, mz[start[k]:start[k] + count[k]][order])
    np.testing.assert_array_equal(got_int, inten[start[k]:start[k] + count[k]][order])


def test_info_cli_reports_scans_and_ionisation():
    proc = run_cli("info", FORMATS / "netcdf_andi/HP_MS.CDF", "--json")
    assert proc.returncode == 0, proc.stderr
    import json

    report = json.loads(proc.stdout)
    assert report["n_scans"] == 621 and report["ionization"] == "EI"
    assert report["driver"] == "andi"


def test_aia_chromatogram_is_a_clear_format_error():
    with pytest.raises(FormatError, match="holds no mass spectra"):
        read(FORMATS / "netcdf_andi/agilent_hplc.cdf")
    proc = run_cli("info", FORMATS / "netcdf_andi/agilent_hplc.cdf")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "DAD1 A" in proc.stderr


def test_random_netcdf_is_rejected_naming_missing_variables(tmp_path):
    path = tmp_path / "weather.nc"
    with netcdf_file(path, "w") as nc:
        nc.createDimension("time", 5)
        var = nc.createVariable("temperature", "f8", ("time",))
        var[:] = np.arange(5.0)
    with pytest.raises(FormatError, match=r"not ANDI-MS.*mass_values"):
        read(path)
    proc = run_cli("peaks", path)
    assert proc.returncode == 2 and "not ANDI-MS" in proc.stderr


def test_truncated_andi_file_is_corrupt(tmp_path):
    data = (FORMATS / "netcdf_andi/P071.CDF").read_bytes()
    path = tmp_path / "cut.CDF"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(CorruptDataError):
        read(path)
    proc = run_cli("info", path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_scan_index_pointing_past_the_data_is_corrupt(tmp_path):
    path = tmp_path / "bad_index.cdf"
    with netcdf_file(path, "w") as nc:
        nc.createDimension("scan_number", 2)
        nc.createDimension("point_number", 3)
        for name, dim, values in (("scan_acquisition_time", "scan_number", [1.0, 2.0]),
                                  ("scan_index", "scan_number", [0, 2]),
                                  ("point_count", "scan_number", [2, 5]),
                                  ("mass_values", "point_number", [50.0, 51.0, 52.0]),
                                  ("intensity_values", "point_number", [1.0, 2.0, 3.0])):
            dtype = "i4" if name in ("scan_index", "point_count") else "f8"
            var = nc.createVariable(name, dtype, (dim,))
            var[:] = values
    with pytest.raises(CorruptDataError, match="outside the 3 stored points"):
        read(path)
