"""Magritek Spinsolve driver: the lyogel Spinsolve Expert folder against formats/index.csv facts."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from fentid.drivers import claimants, read
from fentid.drivers.spinsolve import parse_par, read_prospa_1d
from fentid.errors import CorruptDataError
from fentid.spectra.model import Fid, Spectrum
from tests.conftest import FORMATS, load_index, run_cli

ROWS = {r["path"]: r for r in load_index("formats/index.csv")
        if r["path"].startswith("magritek_spinsolve")}
ROW = "magritek_spinsolve/230213-131158 Proton (lyogel)"
FOLDER = FORMATS / ROW


def fact(key: str) -> str:
    match = re.search(rf"(?<![\w.]){re.escape(key)}=([^;\s]+)", ROWS[ROW]["facts"])
    assert match, f"{key} not in facts"
    return match.group(1)


def test_one_row():
    assert list(ROWS) == [ROW]


def test_info_json_reproduces_acqu_par_facts():
    proc = run_cli("info", "--json", FOLDER)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["driver"] == "spinsolve"
    assert info["nucleus"] == fact("nucleus")
    assert info["spectrometer_frequency_mhz"] == pytest.approx(float(fact("b1Freq")), abs=1e-7)
    assert info["points"] == int(fact("nrPnts"))
    assert info["dimensions"] == 1
    assert info["header"]["specType"] == fact("specType")
    assert info["header"]["softwareVersion"] == fact("softwareVersion")


def test_python_api_fid():
    ds = read(FOLDER)
    (fid,) = ds.items
    assert isinstance(fid, Fid)
    assert fid.points == int(fact("nrPnts"))
    assert fid.sw_hz == pytest.approx(float(fact("bandwidth")) * 1e3)  # kHz in acqu.par
    assert fid.points / fid.sw_hz * 1e3 == pytest.approx(float(fact("acqTime")))  # ms
    assert 1e6 / fid.sw_hz == pytest.approx(float(fact("dwellTime")))  # us
    assert fid.carrier_ppm == pytest.approx(float(fact("centerFreqPPM")))
    assert fid.metadata["vendor_phase_deg"]["p0"] == pytest.approx(float(fact("p0Phase")))
    assert fid.provenance.driver == "spinsolve"


def test_data_file_layout_matches_stated_size():
    size = (FOLDER / "data.1d").stat().st_size
    stated = re.search(r"data\.1d = (\d+) bytes \(= 32 \+ (\d+) x 12\)", ROWS[ROW]["facts"])
    assert size == int(stated.group(1))
    x, data, head = read_prospa_1d(FOLDER / "data.1d")
    assert data.size == x.size == int(stated.group(2))
    assert head["data_type"] == 504
    # x axis of the FID is time in ms at the dwell time
    assert x[1] - x[0] == pytest.approx(float(fact("dwellTime")) / 1e3, rel=1e-5)


def test_same_points_as_nmrglue_up_to_the_documented_conjugation():
    import nmrglue as ng

    _, data = ng.spinsolve.read(str(FOLDER))
    np.testing.assert_allclose(read(FOLDER).items[0].data, np.conj(data), rtol=1e-6)


def test_par_parser_types():
    acqu = parse_par(FOLDER / "acqu.par")
    assert acqu["nrPnts"] == 8192 and isinstance(acqu["nrPnts"], int)
    assert acqu["experiment"] == "Proton"
    assert acqu["softwareVersion"] == "1.41.20"


def test_cli_peaks_water_line_near_carrier():
    proc = run_cli("peaks", "--json", FOLDER)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["nucleus"] == "1H" and out["peaks"]
    tallest = max(out["peaks"], key=lambda p: p["intensity"])
    # the gel is mostly water (4.7-4.8 ppm near the 4.8 ppm carrier); mirror image would be 4.9
    assert 4.6 < tallest["position"] < 4.8


def test_the_plot_files_are_not_claimed_alone():
    for name in ("fid.pt1", "spectrum.pt1", "proc.par", "processing.script"):
        assert claimants(FOLDER / name) == [], name


def _copy(tmp_path):
    dest = tmp_path / "exp"
    shutil.copytree(FOLDER, dest)
    for p in dest.iterdir():
        p.chmod(0o644)
    return dest


def test_truncated_data_1d_is_corrupt(tmp_path):
    dest = _copy(tmp_path)
    raw = (dest / "data.1d").read_bytes()
    (dest / "data.1d").write_bytes(raw[:50000])
    with pytest.raises(CorruptDataError, match="truncated") as info:
        read(dest)
    assert str(dest / "data.1d") in str(info.value)


def test_acqu_par_without_data_is_corrupt(tmp_path):
    dest = _copy(tmp_path)
    (dest / "data.1d").unlink()
    with pytest.raises(CorruptDataError, match="no data file") as info:
        read(dest)
    assert str(dest) in str(info.value)


def test_spectrum_1d_gives_ascending_spectrum(tmp_path):
    """A folder with only spectrum.1d (frequency domain) yields a Spectrum (synthetic file)."""
    dest = _copy(tmp_path)
    (dest / "data.1d").unlink()
    n = 64
    ppm = np.linspace(15, -5, n, dtype="<f4")
    rng = np.random.default_rng(3)
    values = rng.normal(size=2 * n).astype("<f4")
    header = (dest.parent / "hdr")
    header.write_bytes((FOLDER / "data.1d").read_bytes()[:32])
    head = bytearray(header.read_bytes())
    head[16:20] = n.to_bytes(4, "little")
    (dest / "spectrum.1d").write_bytes(bytes(head) + ppm.tobytes() + values.tobytes())
    (spec,) = read(dest).items
    assert isinstance(spec, Spectrum)
    assert np.all(np.diff(spec.axis) > 0)
    np.testing.assert_allclose(spec.intensities, values[0::2][::-1], rtol=1e-6)
