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
from tests.conftest import DATA, FORMATS, load_index, run_cli

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


# --- files from the wild (issues 17/18): referencing from what the file records ----------

WILD = DATA / "wild"
#: wild/README.md: "the same BMRB acquisition as nmrML and as a Bruker folder; today the
#: nmrML peaks are 0.210 ppm above the Bruker ones (CH3 t 1.053 vs 1.264)"
BMRB_NMRML = WILD / "nmrml_cq_00075_1.nmrML"
BMRB_BRUKER = WILD / "bruker_bmse000325_1H"
#: wild/README.md: "the same acquisition as ../formats/varian_vnmr/2-Ketobutyric_acid_noesy.fid;
#: read from nmrML today every peak is 4.763 ppm off the Varian reading, with no warning"
HMDB_NMRML = WILD / "nmrml_HMDB00005.nmrML"
HMDB_VARIAN = FORMATS / "varian_vnmr/2-Ketobutyric_acid_noesy.fid"
#: Tolerance for "the same peaks" (ppm): the twins hold the same FID, so any
#: difference is referencing; 0.01 ppm is well inside 1H multiplet spacings.
TWIN_PPM = 0.01


def _picked_with_warnings(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spectrum = nmr.process_default(read(path).items[0])
        picked = peaks.pick_peaks(spectrum)
    return spectrum, picked, [str(w.message) for w in caught
                              if issubclass(w.category, DataQualityWarning)]


def _tallest(pl, n):
    return np.sort(pl.position[np.argsort(pl.intensity)[::-1][:n]])


def test_bmrb_nmrml_gives_the_bruker_folders_peaks():
    ours, ours_pl, _ = _picked_with_warnings(BMRB_NMRML)
    _, bruker_pl, _ = _picked_with_warnings(BMRB_BRUKER)
    # the TopSpin peak list of the folder (pdata/1/peak.txt) has the CH3 triplet centre
    # at 1.0532 ppm; README: the nmrML put it at 1.264
    peak_txt = (BMRB_BRUKER / "pdata/1/peak.txt").read_text()
    topspin = [float(m) for m in re.findall(r"^\s*\d+\s+[\d.]+\s+[-\d.]+\s+([-\d.]+)\s",
                                            peak_txt, re.MULTILINE)]
    assert 1.0532 in topspin
    ch3 = ours_pl.position[np.argmax(np.where(np.abs(ours_pl.position - 1.1) < 0.3,
                                              ours_pl.intensity, 0))]
    assert ch3 == pytest.approx(1.0532, abs=TWIN_PPM)  # was 1.264
    for ppm in topspin:
        assert np.min(np.abs(ours_pl.position - ppm)) < TWIN_PPM, ppm
    # the same lines as the Bruker folder, within the tolerance, strongest 40 of each
    np.testing.assert_allclose(_tallest(ours_pl, 40), _tallest(bruker_pl, 40), atol=TWIN_PPM)
    # how: Rnmr's xAxis is not TopSpin's calibration, so the FID is referenced on its DSS
    assert ours.metadata["referenced"] == "standard"
    assert "Rnmr" in ours.metadata["reference_note"]


def test_bmrb_nmrml_axis_from_rnmr_is_not_the_vendor_reference():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = read(BMRB_NMRML)
    fid, spec = ds.items
    assert "vendor_reference" not in fid.metadata and "referenced" not in fid.metadata
    assert spec.metadata.get("referenced") is None  # processing references it
    assert any("Rnmr" in n for n in ds.metadata["notes"])
    # the converter wrapped TopSpin's 1r: values at the int32 minimum, said in a warning
    assert spec.intensities.min() == -2.0 ** 31
    assert any("int32 limits" in str(w.message) and str(BMRB_NMRML) in str(w.message)
               for w in caught)


def test_hmdb_nmrml_without_carrier_warns_and_is_referenced_on_dss():
    ours, ours_pl, said = _picked_with_warnings(HMDB_NMRML)
    _, varian_pl, _ = _picked_with_warnings(HMDB_VARIAN)
    # the file cannot place the carrier: warnings name the file and say so
    assert any(str(HMDB_NMRML) in w and "does not record where the carrier is" in w
               for w in said)
    assert any(str(HMDB_NMRML) in w and "right-most strong singlet" in w for w in said)
    assert ours.metadata["referenced"] == "standard"
    # the DSS singlet is at 0 ppm in ours; VnmrJ's rfl/rfp put it at -0.023 ppm
    dss = varian_pl.position[np.argmin(np.abs(varian_pl.position))]
    assert np.min(np.abs(ours_pl.position)) < 0.001
    # README's 4.763 ppm is VnmrJ's carrier: our shift is that plus VnmrJ's DSS offset
    assert ours.metadata["reference_shift_ppm"] + dss == pytest.approx(4.763, abs=0.001)
    # on one scale (both on DSS) the two readings give the same peaks
    assert len(ours_pl) == len(varian_pl)
    np.testing.assert_allclose(ours_pl.position, varian_pl.position - dss, atol=TWIN_PPM)


def test_hmdb_spectrum_without_xaxis_is_not_dropped_silently():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = read(HMDB_NMRML)
    assert [type(i).__name__ for i in ds.items] == ["Fid"]
    said = [str(w.message) for w in caught]
    assert any("spectrum1D 'spectrum1' has no usable xAxis" in m and "32768 points" in m
               for m in said)
    assert all(m.startswith(f"{HMDB_NMRML}: ") for m in said)


def test_unknown_carrier_is_referenced_on_a_singlet_or_flagged_unreferenced(tmp_path):
    """GABA 1H (D2O, TSP) with its carrier records removed, against the intact file."""
    def strip(text):
        text = re.sub(r'<effectiveExcitationField value="[^"]*"',
                      '<effectiveExcitationField value="500.1625008"', text)
        text = re.sub(r"<irradiationFrequencyOffset[^>]*/>", "", text)
        return text.replace("Bruker TopSpin software", "some converter")

    bad = _mangle(tmp_path, strip)
    with pytest.warns(DataQualityWarning, match="does not record where the carrier is"):
        fid = read(bad).items[0]
    assert fid.carrier_ppm == 0.0 and fid.metadata["carrier_known"] is False
    with pytest.warns(DataQualityWarning, match="right-most strong singlet"):
        found = peaks.pick_peaks(nmr.process_default(fid))
    intact = _picked(read(GABA_1H).items[0])
    np.testing.assert_allclose(_tallest(found, 20), _tallest(intact, 20), atol=TWIN_PPM)
    # without its TSP line nothing may be assumed: the axis is flagged unreferenced
    raw = nmr.run_pipeline(fid, nmr.default_pipeline(fid)[:-1])  # all but referencing
    tsp = raw.axis[np.argmax(np.where(raw.axis < raw.axis[np.argmax(raw.intensities)] - 3,
                                      raw.intensities, -np.inf))]
    no_tsp = raw.evolve("cut", {}, intensities=np.where(raw.axis < tsp + 0.2, 0.0,
                                                        raw.intensities))
    with pytest.warns(DataQualityWarning, match=r"unreferenced \(carrier put at 0 ppm\)") as w:
        out = nmr.reference(no_tsp)
    assert out.metadata["referenced"] == "unreferenced"
    assert np.array_equal(out.axis, no_tsp.axis)
    assert any(str(x.message).startswith(f"{bad}: ") for x in w)


def test_zeroed_block_gives_one_line_error(tmp_path):
    raw = bytearray(GABA_1H.read_bytes())
    middle = len(raw) // 2
    raw[middle:middle + 4096] = bytes(4096)
    bad = tmp_path / "zeroed.nmrML"
    bad.write_bytes(bytes(raw))
    with pytest.raises(CorruptDataError, match="not well-formed") as info:
        read(bad)
    assert "\n" not in str(info.value) and str(bad) in str(info.value)
    proc = run_cli("peaks", bad)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"fentid: error: {bad}: ")
