"""nmrML driver: the three nmrML examples, their Bruker/Varian twins and bad input."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest

from fentid.drivers import read
from fentid.drivers.bruker import parse_parameters
from fentid.errors import CorruptDataError, DataQualityWarning
from fentid.spectra import nmr, peaks
from fentid.spectra.model import Fid, Spectrum
from tests.conftest import FORMATS, load_index, run_cli

INDEX = {r["path"]: r for r in load_index("formats/index.csv")}
ROWS = {k: v for k, v in INDEX.items() if k.startswith("nmrml/")}
GABA_1H = FORMATS / "nmrml/VZBBI_13R03_GABA_1H.nmrML"
GABA_13C = FORMATS / "nmrml/VZBBI_13R03_GABA_13C.nmrML"
HOP = FORMATS / "nmrml/FAM013_AHTM.PROTON_04.fid.nmrML"
BRUKER = {"1H": FORMATS / "bruker_topspin/VZBBI_13R03_GABA/1H",
          "13C": FORMATS / "bruker_topspin/VZBBI_13R03_GABA/13C"}


def fact(row: str, key: str) -> str:
    match = re.search(rf"(?<![\w.]){re.escape(key)}[= ]([-0-9.]+)", INDEX[row]["facts"])
    assert match, f"{key} not in facts of {row}"
    return match.group(1)


def _quiet_read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return read(path)


def test_three_rows():
    assert len(ROWS) == 3


@pytest.mark.parametrize("row", sorted(ROWS))
def test_info_json_reproduces_facts(row):
    proc = run_cli("info", "--json", FORMATS / row)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["driver"] == "nmrml"
    assert info["points"] == int(fact(row, "numberOfDataPoints"))
    assert info["header"]["sw_hz"] == pytest.approx(float(fact(row, "sweepWidth")))
    assert info["spectrometer_frequency_mhz"] == pytest.approx(
        float(fact(row, "irradiationFrequency")), abs=1e-9)
    assert info["nucleus"] == ("13C" if "13C" in row else "1H")
    assert info["dimensions"] == 1


def test_gaba_1h_group_delay_and_pulse_program():
    ds = read(GABA_1H)
    fid, spec = ds.items
    assert isinstance(fid, Fid) and isinstance(spec, Spectrum)
    row = "nmrml/VZBBI_13R03_GABA_1H.nmrML"
    assert fid.group_delay == float(fact(row, "groupDelay"))
    assert fid.metadata["pulse_program"] == re.search(r"Pulse Program=(\w+)",
                                                      INDEX[row]["facts"]).group(1)
    assert len(spec) == int(re.search(r"spectrum1D numberOfDataPoints=(\d+)",
                                      INDEX[row]["facts"]).group(1))


@pytest.mark.parametrize("nucleus", ["1H", "13C"])
def test_fid_is_the_bruker_fid_and_reference_is_topspin_sf(nucleus):
    """Same blob as the Bruker folder it was converted from; SF recovered from xAxis."""
    ours = read(GABA_1H if nucleus == "1H" else GABA_13C).items[0]
    bruker = _quiet_read(BRUKER[nucleus]).items[0]
    np.testing.assert_array_equal(ours.data, bruker.data)
    assert ours.sw_hz == pytest.approx(bruker.sw_hz)
    assert ours.carrier_ppm == pytest.approx(bruker.carrier_ppm, abs=1e-6)
    sf = float(fact(f"bruker_topspin/VZBBI_13R03_GABA/{nucleus}", "SF"))
    assert ours.metadata["vendor_reference"]["sf_mhz"] == pytest.approx(sf, abs=2e-7)


def test_spectrum_is_topspin_1r_on_topspin_axis():
    spec = read(GABA_1H).items[1]
    procdir = BRUKER["1H"] / "pdata/1"
    procs = parse_parameters(procdir / "procs")
    assert procs["NC_proc"] == int(fact("bruker_topspin/VZBBI_13R03_GABA/1H", "NC_proc"))
    # the converter stored TopSpin's int32 values without the 2**NC_proc scale
    raw = np.fromfile(procdir / "1r", dtype="<i4").astype(float)
    np.testing.assert_array_equal(spec.intensities, raw[::-1])
    offset = float(fact("bruker_topspin/VZBBI_13R03_GABA/1H", "OFFSET"))
    assert spec.axis[-1] == pytest.approx(offset, abs=1e-6)
    assert spec.metadata["referenced"] == "vendor"


def test_varian_twin_is_the_varian_fid():
    ours = read(HOP).items[0]
    varian = read(FORMATS / "varian_vnmr/proton.fid").items[0]
    np.testing.assert_array_equal(ours.data, varian.data)  # both conjugated the same way
    assert ours.carrier_ppm == pytest.approx(varian.carrier_ppm, abs=1e-3)
    assert ours.metadata["referenced"] == "vendor"


def _picked(item):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return peaks.pick_peaks(nmr.process_default(item), snr=None)


@pytest.mark.parametrize("nucleus", ["1H", "13C"])
def test_bruker_and_nmrml_twins_give_the_same_peaks(nucleus):
    ours = _picked(_quiet_read(GABA_1H if nucleus == "1H" else GABA_13C).items[0])
    theirs = _picked(_quiet_read(BRUKER[nucleus]).items[0])
    assert len(ours) == len(theirs)
    np.testing.assert_allclose(ours.position, theirs.position, atol=0.002)
    np.testing.assert_allclose(ours.intensity, theirs.intensity, rtol=1e-3)


def test_cli_peaks_gaba_13c_matches_topspin_peak_list_fid_and_spectrum():
    listed = re.search(r"peaklist\.xml: ([0-9., ]+) ppm",
                       INDEX["bruker_topspin/VZBBI_13R03_GABA/13C"]["facts"]).group(1)
    topspin = [float(v) for v in listed.split(",")]
    # the CLI processes the FID (one acquisition, one peak list) ...
    proc = run_cli("peaks", "--json", GABA_13C)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert "spectra" not in out
    lists = [np.array([p["position"] for p in out["peaks"]])]
    # ... and the vendor's spectrum1D of the same file gives the same lines
    from fentid.drivers import read
    from fentid.spectra import nmr, peaks
    vendor = [i for i in read(GABA_13C).items if not hasattr(i, "sw_hz")]
    assert len(vendor) == 1
    lists.append(peaks.pick_peaks(nmr.process_default(vendor[0])).position)
    for positions in lists:
        for ppm in topspin:
            assert np.min(np.abs(positions - ppm)) < 0.02, ppm


def test_cli_peaks_varian_converted_fid():
    proc = run_cli("peaks", "--json", HOP)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert "spectra" not in out  # fidData only
    assert any(abs(p["position"] - 3.31) < 0.01 for p in out["peaks"])  # CD3OD residual


def _mangle(tmp_path, text_fn, name="bad.nmrML"):
    bad = tmp_path / name
    bad.write_text(text_fn(GABA_1H.read_text(encoding="utf-8")), encoding="utf-8")
    return bad


def test_truncated_xml_is_corrupt(tmp_path):
    bad = _mangle(tmp_path, lambda t: t[:len(t) // 2])
    with pytest.raises(CorruptDataError, match="well-formed") as info:
        read(bad)
    assert str(bad) in str(info.value)


def test_bad_base64_is_corrupt(tmp_path):
    def damage(text):
        start = text.index(">", text.index("<fidData")) + 1
        return text[:start] + "!!!!" + text[start + 40:]

    bad = _mangle(tmp_path, damage)
    with pytest.raises(CorruptDataError, match="fidData"):
        read(bad)


def test_point_count_mismatch_is_corrupt(tmp_path):
    bad = _mangle(tmp_path, lambda t: t.replace('numberOfDataPoints="32768"',
                                                'numberOfDataPoints="4096"', 1))
    with pytest.raises(CorruptDataError, match="numberOfDataPoints"):
        read(bad)


def test_other_xml_root_is_not_nmrml(tmp_path):
    other = tmp_path / "x.nmrML"
    other.write_text('<?xml version="1.0"?><mzML><run/></mzML>')
    from fentid.drivers import claimants

    assert all(d.name != "nmrml" for d in claimants(other))
