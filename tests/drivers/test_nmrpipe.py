"""NMRPipe driver: nmrglue's NMRPipe-written test files and the integration example."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from fentid.drivers import read
from fentid.errors import CorruptDataError
from fentid.spectra.model import Fid, Spectrum
from tests.conftest import FORMATS, load_index, run_cli

ROWS = {r["path"]: r for r in load_index("formats/index.csv") if r["path"].startswith("nmrpipe")}
TESTS_ROW = "nmrpipe/nmrglue_tests"
FACTS = ROWS[TESTS_ROW]["facts"]
TESTS = FORMATS / TESTS_ROW
INTEGRATE = FORMATS / "nmrpipe/nmrglue_example_integrate_1d"


def _shape(name: str) -> tuple[int, ...]:
    match = re.search(rf"{re.escape(name)} shape \(([\d, ]+)\)", FACTS)
    return tuple(int(v) for v in match.group(1).split(",") if v.strip())


def _ppm_limits(name: str) -> list[tuple[float, float]]:
    """Every 'ppm [limits] A..B' after ``name`` up to the next file name."""
    chunk = FACTS[FACTS.index(name) + len(name):]
    chunk = chunk.split(".fid", 1)[0].split(".ft2", 1)[0]
    return [(float(a), float(b))
            for a, b in re.findall(r"(-?\d+\.\d+)\.\.(-?\d+\.\d+)", chunk)]


def test_rows_present():
    assert set(ROWS) >= {TESTS_ROW, "nmrpipe/nmrglue_example_integrate_1d/1d_data.ft"}


def test_1d_time_domain_values():
    ds = read(TESTS / "nmrpipe_1d_time.fid")
    (fid,) = ds.items
    assert isinstance(fid, Fid)
    assert fid.data.shape == _shape("nmrpipe_1d_time.fid")
    assert fid.data[0] == 1 - 1j and fid.data[1] == 2 - 2j
    assert not np.any(fid.data[2:])
    # simTimeND -xSW 50000 -xOBS 500 -xCAR 99 -xLAB H1
    assert fid.sw_hz == 50000 and fid.obs_mhz == 500 and fid.carrier_ppm == pytest.approx(99)
    assert fid.nucleus == "1H"


@pytest.mark.parametrize("name", ["nmrpipe_1d_freq.fid", "nmrpipe_1d_ext.fid"])
def test_1d_frequency_domain_axis_and_values(name):
    (spec,) = read(TESTS / name).items
    assert isinstance(spec, Spectrum)
    assert spec.intensities.shape == _shape(name)
    (high, low), = _ppm_limits(name)
    assert spec.axis[-1] == pytest.approx(high) and spec.axis[0] == pytest.approx(low)
    assert np.all(np.diff(spec.axis) > 0)
    # stored high to low ppm: the first stored values 1, 2 are the highest ppm points
    assert list(spec.intensities[::-1][:2]) == [1.0, 2.0]


def test_2d_time_domain():
    ds = read(TESTS / "nmrpipe_2d_time.fid")
    (fid,) = ds.items
    assert fid.data.shape == _shape("nmrpipe_2d_time.fid")
    assert fid.data[0, 0] == 1 - 1j and fid.data[0, 1] == 2 - 2j and fid.data[1, 0] == 1 - 1j
    assert ds.metadata["dimensions"] == 2
    # -xSW 50000 -ySW 20000 -xOBS 500 -yOBS 125 -xLAB H1 -yLAB C13
    assert (fid.sw_hz, fid.obs_mhz, fid.nucleus) == (50000, 500, "1H")
    (indirect,) = fid.metadata["indirect"]
    assert (indirect["sw_hz"], indirect["obs_mhz"], indirect["nucleus"]) == (20000, 125, "13C")


def test_2d_frequency_domain_is_described_via_cli():
    proc = run_cli("info", "--json", TESTS / "nmrpipe_2d_freq.ft2")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["driver"] == "nmrpipe"
    assert info["dimensions"] == 2
    assert tuple(info["shape"]) == _shape("nmrpipe_2d_freq.ft2")
    expected = _ppm_limits("nmrpipe_2d_freq.ft2")
    np.testing.assert_allclose(info["ppm_limits"], expected, atol=1e-4)
    assert info["nucleus"] == "1H" and info["spectrometer_frequency_mhz"] == 500


def test_2d_frequency_domain_has_nothing_to_pick():
    proc = run_cli("peaks", TESTS / "nmrpipe_2d_freq.ft2")
    assert proc.returncode == 2
    assert proc.stderr.startswith("fentid: error:") and "2-D" in proc.stderr


def _expected_areas():
    rows = []
    for line in (INTEGRATE / "expected/area.out").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, start, stop, area = line.split()
            rows.append((name, float(start), float(stop), float(area)))
    return rows


def test_integration_regions_reproduce_expected_areas():
    (spec,) = read(INTEGRATE / "1d_data.ft").items
    rows = _expected_areas()
    assert len(rows) == 10
    for name, start, stop, area in rows:
        inside = (spec.axis >= stop) & (spec.axis <= start)
        # nmrglue rounds the limits to points; one boundary point at most differs
        assert spec.intensities[inside].sum() == pytest.approx(area, rel=0.01), name


def test_info_1d_data_ft():
    info = json.loads(run_cli("info", "--json", INTEGRATE / "1d_data.ft").stdout)
    assert info["nucleus"] == "13C"
    size = (INTEGRATE / "1d_data.ft").stat().st_size
    stated = re.search(r"(\d+) bytes = 2048-byte header \+ (\d+) float32",
                       ROWS["nmrpipe/nmrglue_example_integrate_1d/1d_data.ft"]["facts"])
    assert size == int(stated.group(1))
    assert info["points"] == int(stated.group(2))


def test_cli_peaks_relative_areas_match_expected_regions():
    proc = run_cli("peaks", "--json", INTEGRATE / "1d_data.ft")
    assert proc.returncode == 0, proc.stderr
    peaks = json.loads(proc.stdout)["peaks"]
    pos = np.array([p["position"] for p in peaks])
    area = np.array([p["area"] if p["area"] is not None else np.nan for p in peaks])
    rows = _expected_areas()
    ours, theirs = [], []
    for name, start, stop, expected in rows:
        inside = (pos >= stop) & (pos <= start)
        assert inside.any(), f"no peak picked in region {name}"
        ours.append(np.nansum(area[inside]))
        theirs.append(expected)
    ours, theirs = np.array(ours) / np.sum(ours), np.array(theirs) / np.sum(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=0.08)


def test_truncated_file_is_corrupt(tmp_path):
    bad = tmp_path / "cut.ft"
    bad.write_bytes((INTEGRATE / "1d_data.ft").read_bytes()[:10000])
    with pytest.raises(CorruptDataError) as info:
        read(bad)
    assert str(bad) in str(info.value)


def test_header_only_fragment_is_corrupt(tmp_path):
    bad = tmp_path / "head.fid"
    bad.write_bytes((TESTS / "nmrpipe_1d_time.fid").read_bytes()[:1000])
    with pytest.raises(CorruptDataError, match="2048-byte"):
        read(bad)
