"""JCAMP-DX driver: every real sample, facts from formats/index.csv, damaged input, round trips."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from fentid.drivers import find_driver, read
from fentid.drivers._jcamp_parse import decode_xyy
from fentid.drivers.jcampdx import sniff
from fentid.errors import CorruptDataError, DataQualityWarning, UnknownFormatError
from fentid.spectra.model import Fid, Run, Spectrum
from tests.conftest import DATA, FORMATS, load_index, run_cli

NMR_DIR = FORMATS / "jcamp_dx_nmr"
MS_DIR = FORMATS / "jcamp_dx_ms"
OFFICIAL = NMR_DIR / "jcamp-dx.org_official"
COMPRESSION = NMR_DIR / "jcampconverter_compression"
GCMS = MS_DIR / "jcampconverter/gcms.jdx"
NANALYSIS = FORMATS / "nanalysis/ibuprofen_1h_nmready60.jdx"
QMAGNETICS = NMR_DIR / "cheminfo/qmagnetics/ibuprofen_j_ave_qmagnetics.jdx"
ASPIRIN = NMR_DIR / "cheminfo/aspirin/1h.dx"
ASPIRIN_FID = NMR_DIR / "cheminfo/aspirin/1h.fid.dx"
BRUKER_ASPIRIN = FORMATS / "bruker_topspin/aspirin-1h/1"

_JCAMP_ROWS = [row for row in load_index("formats/index.csv")
               if row["path"].startswith(("jcamp_dx_", "nanalysis/"))]


def _jcamp_samples() -> list[tuple[Path, str]]:
    """Every JCAMP-DX file of the index rows (folders expanded), with the row's technique."""
    out = []
    for row in _JCAMP_ROWS:
        path = FORMATS / row["path"]
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        # DX-DIR.TXT is the ISAS directory listing that came with the test files
        out.extend((p, row["technique"].lower()) for p in files if p.suffix.upper() != ".TXT")
    return out


SAMPLES = _jcamp_samples()


def _read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return read(path)


def _item(path):
    return _read(path).items[0]


def _ids(p):
    return f"{p.parent.name}/{p.name}"


def test_samples_found():
    assert len(SAMPLES) == 29
    assert len(_JCAMP_ROWS) == 17


@pytest.mark.parametrize(("path", "technique"), SAMPLES, ids=lambda v: _ids(v) if
                         isinstance(v, Path) else v)
def test_every_sample_reads(path, technique):
    assert find_driver(path).name == "jcampdx"
    ds = _read(path)
    assert ds.driver == "jcampdx"
    assert ds.technique == technique
    assert ds.items
    for item in ds.items:
        assert item.provenance.driver == "jcampdx"
        assert item.provenance.sha256 == ds.sha256
        if isinstance(item, Spectrum):
            assert len(item) > 0 and np.all(np.diff(item.axis) >= 0)


def test_sniffer_claims_no_other_sample():
    """Bruker acqus/procs/audit files are JCAMP-DX text too, but not ours."""
    ours = {p for p, _ in SAMPLES}
    claimed = []
    for path in FORMATS.rglob("*"):
        if path.is_file() and path not in ours:
            with open(path, "rb") as fh:
                if sniff(path, fh.read(8192)):
                    claimed.append(path)
    assert claimed == []
    assert not sniff(BRUKER_ASPIRIN / "acqus", (BRUKER_ASPIRIN / "acqus").read_bytes()[:8192])


# --------------------------------------------------------------------- encodings

def test_four_encodings_decode_identically():
    """jcampconverter test.js: FIX/PACKED/SQUEEZED/DIFDUP give exactly the same spectrum."""
    spectra = {}
    for name, encoding in (("fix", "AFFN"), ("packed", "PAC"), ("squeezed", "SQZ"),
                           ("difdup", "DIFDUP")):
        ds = _read(COMPRESSION / f"jcamp-{name}.dx")
        assert ds.metadata["encoding"] == encoding
        spectra[name] = ds.items[0]
    ref = spectra["fix"]
    for spec in spectra.values():
        np.testing.assert_array_equal(spec.intensities, ref.intensities)
        np.testing.assert_array_equal(spec.axis, ref.axis)


def test_compression_facts():
    # nbPoints=16384; firstX=12.31284; lastX=-1.6646457842364946;
    # sum(x)+sum(y)=11044828778.007011; observeFrequency=400.1321303162
    spec = _item(COMPRESSION / "jcamp-difdup.dx")
    assert len(spec) == 16384
    assert spec.axis[-1] == pytest.approx(12.31284, abs=1e-9)
    assert spec.axis[0] == pytest.approx(-1.6646457842364946, abs=1e-9)
    assert spec.axis.sum() + spec.intensities.sum() == pytest.approx(11044828778.007011,
                                                                     abs=5e-4)
    assert spec.metadata["spectrometer_frequency_mhz"] == 400.1321303162
    assert spec.nucleus == "1H" and spec.unit == "ppm"


def test_indometacin_facts():
    # jcampconverter checkJcamp('/indometacin/1h.dx')
    spec = _item(NMR_DIR / "cheminfo/indometacin/1h.dx")
    assert len(spec) == 32768
    assert spec.axis[-1] == pytest.approx(16.46138, abs=1e-9)
    assert spec.axis[0] == pytest.approx(-4.114164000759506, abs=1e-9)
    assert spec.axis.sum() + spec.intensities.sum() == pytest.approx(34968303169.78704,
                                                                     abs=5e-4)
    assert spec.metadata["spectrometer_frequency_mhz"] == 399.682468187609
    assert spec.metadata["solvent"] == "DMSO"


def test_official_bruker_set():
    """ISAS files: PAC, SQZ and AFFN are one spectrum; BRUKDIF is BRUKNTUP's real page."""
    spec = {n: _item(OFFICIAL / f"{n}.DX")
            for n in ("BRUKDIF", "BRUKSQZ", "BRUKPAC", "BRUKAFFN", "BRUKNTUP")}
    for name in ("BRUKSQZ", "BRUKAFFN"):
        np.testing.assert_array_equal(spec[name].intensities, spec["BRUKPAC"].intensities)
    np.testing.assert_array_equal(spec["BRUKDIF"].intensities, spec["BRUKNTUP"].intensities)
    # FIRSTY: 2254931 (BRUKDIF) vs 2259260 (PAC/SQZ/AFFN); first point is the highest ppm
    assert spec["BRUKDIF"].intensities[-1] == 2254931
    assert spec["BRUKPAC"].intensities[-1] == 2259260
    # NTUPLES FIRST/LAST of the imaginary column: -6966283 / -7303022
    imag = spec["BRUKNTUP"].metadata["imaginary"]
    assert (imag[-1], imag[0]) == (-6966283, -7303022)
    for s in spec.values():
        assert len(s) == 16384 and s.nucleus == "13C"
        assert s.metadata["spectrometer_frequency_mhz"] == 100.4
        # FIRSTX=24038.5 Hz, LASTX=0 Hz at 100.4 MHz
        assert s.axis[-1] == pytest.approx(24038.5 / 100.4, abs=1e-4)
        assert s.axis[0] == pytest.approx(0.0, abs=1e-4)


def test_official_testntup_is_the_bruker_spectrum():
    """TESTNTUP (ISAS scaling, FACTOR 0.2967e5) holds the BRUKNTUP spectrum, rescaled."""
    isas = _item(OFFICIAL / "TESTNTUP.DX")
    bruker = _item(OFFICIAL / "BRUKNTUP.DX")
    assert len(isas) == 16384
    # header FIRST=2254931 and LAST=1513178 for the real column
    assert isas.intensities[-1] == pytest.approx(2254931, abs=0.5 * 0.2967015003e5)
    assert isas.intensities[0] == pytest.approx(1513178, abs=0.5 * 0.2967015003e5)
    assert np.corrcoef(isas.intensities, bruker.intensities)[0, 1] > 0.999999


def test_official_testfid():
    fid = _item(OFFICIAL / "TESTFID.DX")
    assert isinstance(fid, Fid) and fid.points == 16384 and fid.nucleus == "13C"
    assert fid.obs_mhz == 100.4
    # FIRST=0, 2980, 6215; LAST=0.6815317, -60242, -6063; FACTOR 5.2, 5.04
    assert fid.data[0].real == pytest.approx(2980, abs=5.2 / 2)
    assert fid.data[0].imag == pytest.approx(6215, abs=5.1 / 2)
    assert fid.data[-1].real == pytest.approx(-60242, abs=5.2 / 2)
    assert fid.data[-1].imag == pytest.approx(-6063, abs=5.1 / 2)
    assert fid.sw_hz == pytest.approx(16383 / 0.6815317, rel=1e-9)


# --------------------------------------------------------------------- NMR facts

def test_nanalysis_fid_facts():
    ds = _read(NANALYSIS)
    fid = ds.items[0]
    assert isinstance(fid, Fid) and fid.points == 2048 and fid.nucleus == "1H"
    assert fid.obs_mhz == 60.12396860678224
    assert fid.sw_hz == pytest.approx(862.068987294936, rel=1e-6)  # $SWH
    assert fid.carrier_ppm == 6.0  # $O1P
    assert fid.metadata["solvent"] == "Chloroform-d"
    # FIRST=.., 1343.438596, 713.999472; LAST=.., -0.217617, 0.083985
    assert fid.data[0] == pytest.approx(1343.438596 + 713.999472j, abs=1e-5)
    assert fid.data[-1] == pytest.approx(-0.217617 + 0.083985j, abs=1e-5)
    assert ds.metadata["header"]["SPECTROMETER/DATA SYSTEM"] == "NMReady 60/nanalysis-X812"


def test_qmagnetics_fid_facts():
    fid = _item(QMAGNETICS)
    assert isinstance(fid, Fid) and fid.points == 40000 and fid.nucleus == "1H"
    assert fid.obs_mhz == 123.8826
    assert fid.metadata["solvent"] == "Neat"
    # FIRST= 0, -1973.08.., 394.25..; the table stores integers
    assert fid.data[0] == pytest.approx(-1973.08 + 394.25j, abs=0.5)
    assert fid.sw_hz == pytest.approx(39999 / 3.9999, rel=1e-9)


# Ibuprofen 1H in CDCl3 from the literature (SDBS and nmrshiftdb ibuprofen 1H, CDCl3):
# isobutyl CH3 0.89 (d, 6H, J 6.6 Hz), CH3 1.50 (d, 3H, J 7.2 Hz), CH 1.84 (m, 1H),
# CH2 2.44 (d, 2H), CH 3.70 (q, 1H), aromatic AA'BB' 7.10 / 7.20 (4H), COOH ~11-12 (br).
IBUPROFEN_1H_PPM = {"CH3 (isobutyl)": 0.89, "CH3": 1.50, "CH (isobutyl)": 1.84, "CH2": 2.44,
                    "CH": 3.70, "ArH 3,5": 7.10, "ArH 2,6": 7.20}


def test_qmagnetics_ibuprofen_lands_at_literature_shifts_relative_to_tms():
    """The header cannot place the axis (see Format notes): shifts from TMS are right."""
    from fentid.spectra import nmr, peaks

    with pytest.warns(DataQualityWarning, match="no chemical-shift reference"):
        spec = nmr.process_default(_item(QMAGNETICS))
    picked = peaks.pick_peaks(spec)
    strong = picked.intensity >= 0.05 * picked.intensity.max()
    position, height = picked.position[strong], picked.intensity[strong]
    tms = position.min()  # $QM_RUN_NOTES: "... w TMS": the lowest-frequency strong line
    assert abs(tms) > 5  # the .SHIFT REFERENCE axis is far off, hence the warning
    shift = position - tms
    for group, ppm in IBUPROFEN_1H_PPM.items():
        assert np.min(np.abs(shift - ppm)) <= 0.1, group
    assert np.any((shift > 10.5) & (shift < 12.5)), "COOH"
    # the 6H isobutyl doublet is the tallest line; its J (6.6 Hz) fixes the Hz scale
    tallest = shift[np.argmax(height)]
    assert tallest == pytest.approx(0.89, abs=0.1)
    pair = np.sort(shift[np.abs(shift - 0.89) < 0.1])
    assert len(pair) == 2
    assert (pair[1] - pair[0]) * spec.metadata["obs_mhz"] == pytest.approx(6.6, abs=0.5)


def test_bruker_jcamp_fid_facts():
    fid = _item(ASPIRIN_FID)
    assert fid.points == 8192 and fid.nucleus == "1H"
    assert fid.sw_hz == pytest.approx(4789.27203065134, rel=1e-6)
    assert fid.obs_mhz == 300.132250975
    from nmrglue.fileio.bruker import bruker_dsp_table

    assert fid.group_delay == bruker_dsp_table[10][24]  # $GRPDLY=-1, DSPFVS 10, DECIM 24
    assert fid.metadata["vendor_phase_deg"] == {"p0": -106.2011, "p1": 9.2}
    cytisine = _item(NMR_DIR / "cheminfo/cytisine/13c.fid.jdx")
    assert cytisine.points == 131072 and cytisine.nucleus == "13C"
    assert cytisine.obs_mhz == 150.93550309
    assert cytisine.sw_hz == pytest.approx(36057.6923076923, rel=1e-6)
    assert cytisine.group_delay == 67.9918823242188
    assert cytisine.metadata["solvent"] == "CD2Cl2"
    assert cytisine.carrier_ppm == pytest.approx(15093.09 / 150.92041, abs=1e-6)  # $O1/$BF1


def test_jcamp_fid_equals_bruker_fid():
    """1h.fid.dx is TopSpin's export of bruker_topspin/aspirin-1h: the same complex points."""
    jcamp = _item(ASPIRIN_FID)
    bruker = _item(BRUKER_ASPIRIN)
    np.testing.assert_array_equal(jcamp.data, bruker.data)
    assert jcamp.group_delay == bruker.group_delay
    assert jcamp.sw_hz == pytest.approx(bruker.sw_hz, rel=1e-9)


@pytest.mark.parametrize(("name", "obs", "points", "solvent", "nucleus"), [
    ("cheminfo/aspirin/1h.dx", 300.132250975, 32768, "CDCl3", "1H"),
    ("cheminfo/rutin/qH.jdx", 399.78219837825, 52430, "DMSO-D6", "1H"),
    ("cheminfo/rutin/13c.jdx", 100.525303325165, 52430, "DMSO-D6", "13C"),
    ("cheminfo/jeol/1h.dx", 399.784493896, 16384, None, "1H"),
    ("nmr-dataset-demo_xtc/XTC-814d_zg30.jdx", 400.13188181139, 65536, "D2O", "1H"),
    ("nmr-dataset-demo_xtc/XTC-1111a_zg30.jdx", 400.13188181139, 65536, "D2O", "1H"),
])
def test_nmr_spectrum_header_facts(name, obs, points, solvent, nucleus):
    ds = _read(NMR_DIR / name)
    spec = ds.items[0]
    assert ds.metadata["spectrometer_frequency_mhz"] == pytest.approx(obs, rel=1e-12)
    assert ds.metadata["points"] == len(spec) == points
    assert ds.metadata["solvent"] == solvent
    assert spec.nucleus == nucleus and spec.unit == "ppm"


def test_axis_facts_in_hz():
    # rutin qH: FIRSTX=7604.45004181447 Hz, LASTX=-408.37047100601 Hz (absolute, MestReNova)
    spec = _item(NMR_DIR / "cheminfo/rutin/qH.jdx")
    assert spec.axis[-1] == pytest.approx(7604.45004181447 / 399.78219837825, abs=1e-9)
    assert spec.axis[0] == pytest.approx(-408.37047100601 / 399.78219837825, abs=1e-9)
    # aspirin: .SHIFT REFERENCE=INTERNAL, CDCl3, 1, 15.47866 (first point)
    assert _item(ASPIRIN).axis[-1] == pytest.approx(15.47866, abs=1e-9)
    # JEOL: FIRSTX=6037.9072694778; LASTX=-1953.6127495766 (DELTAX has the wrong sign)
    jeol = _item(NMR_DIR / "cheminfo/jeol/1h.dx")
    assert jeol.axis[-1] == pytest.approx(6037.9072694778 / 399.784493896, abs=1e-9)
    assert jeol.axis[0] == pytest.approx(-1953.6127495766 / 399.784493896, abs=1e-9)


def test_varian_non_integer_npoints():
    path = NMR_DIR / "cheminfo/varian/1h.jdx"
    with pytest.warns(DataQualityWarning, match="NPOINTS=16385"):
        spec = read(path).items[0]
    # FIRSTX=16.089531599; LASTX=-0.746542441 ppm; DELTAX -0.001027655
    assert len(spec) == 16384
    assert spec.axis[-1] == pytest.approx(16.089531599, abs=1e-9)
    assert spec.axis[0] == pytest.approx(-0.746542441, abs=1e-9)
    assert spec.metadata["spectrometer_frequency_mhz"] == 299.9328561


def test_vendor_parameters_kept():
    spec = _item(NMR_DIR / "nmr-dataset-demo_xtc/XTC-814d_zg30.jdx")
    vendor = spec.metadata["vendor"]
    assert vendor["PULPROG"] == "<zg30>"
    assert float(vendor["TD"]) == 65536
    assert float(vendor["SW"]) == 13.9879254310743


# --------------------------------------------------------------------- MS facts

def test_ms_peak_tables():
    ei = _item(MS_DIR / "cheminfo/ethylbenzene_ei.jdx")
    assert ei.technique == "ms" and ei.unit == "m/z" and ei.centroided
    assert len(ei) == 37 and ei.axis[0] == 15 and ei.axis[-1] == 107  # NPOINTS, FIRSTX, LASTX
    assert ei.axis[np.argmax(ei.intensities)] == 91
    hrms = _item(MS_DIR / "cheminfo/ethylbenzene_hrms.jdx")
    assert len(hrms) == 16594
    assert hrms.axis[0] == 50.000011 and hrms.axis[-1] == 1000.843804
    assert hrms.metadata["vendor"]["INSTRUMENT"] == "Thermo Orbitrap Elite"


def test_isas_ms_examples_agree():
    ms1 = _item(MS_DIR / "jcamp-dx.org_official/ISAS_MS1.DX")
    assert len(ms1) == 26  # NPOINTS
    assert ms1.axis[np.argmax(ms1.intensities)] == 128  # .BASE PEAK
    assert ms1.metadata["ionization"] == "EI"  # normalised; the file says "EI+"
    assert ms1.metadata["ionization_raw"] == "EI+"
    assert ms1.metadata["instrument"] == "Finnigan MAT Magnum"
    series = _item(MS_DIR / "jcamp-dx.org_official/ISAS_MS3.DX")
    assert isinstance(series, Run) and series.n_scans == 3
    assert series.retention_time_s[0] == 272 and series.retention_time_s[-1] == 333
    # the 301 s page of the GC-MS series is 2-chlorophenol, the spectrum of ISAS_MS1
    mz, inten = series.scan(1)
    np.testing.assert_array_equal(mz, ms1.axis)
    np.testing.assert_array_equal(inten, ms1.intensities)


def test_isas_raw_ms_scan_in_seconds():
    raw = _item(MS_DIR / "jcamp-dx.org_official/ISAS_MS2.DX")
    assert raw.unit == "s" and not raw.centroided
    assert raw.axis[0] == pytest.approx(6.999, abs=1e-3)  # LASTX
    assert raw.axis[-1] == pytest.approx(13.998, abs=1e-3)  # FIRSTX


def test_gcms_series():
    ds = _read(GCMS)
    run = ds.items[0]
    assert ds.technique == "ms" and isinstance(run, Run)
    assert run.n_scans == ds.metadata["n_scans"] == 2420
    # first scan: SCAN_NUMBER=1; RETENTION_TIME=125.207; TIC=16132
    assert run.metadata["scan_numbers"][0] == 1
    assert run.retention_time_s[0] == 125.207
    assert run.tic()[0] == 16132
    np.testing.assert_allclose(run.tic(), run.metadata["file_tic"])
    assert run.metadata["ionization"] == "EI"  # normalised; the file says "EI+"
    assert run.metadata["electron_energy_ev"] == 70
    assert run.metadata["data_format"] == "Centroid"
    for i in (0, 1000, 2419):
        assert np.all(np.diff(run.scan(i)[0]) >= 0)


def test_cli_info_gcms():
    proc = run_cli("info", GCMS, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["driver"] == "jcampdx" and report["n_scans"] == 2420


def test_cli_info_nmr_keys():
    proc = run_cli("info", NANALYSIS, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["spectrometer_frequency_mhz"] == 60.12396860678224
    assert report["points"] == 2048 and report["nucleus"] == "1H"
    assert report["solvent"] == "Chloroform-d" and report["dimensions"] == 1
    assert report["header"]["TITLE"] == "Ibuprofen_1H_20231008_001"


# --------------------------------------------------------------------- twins and peaks

def _strong_peaks(item, n=8):
    from fentid.spectra import nmr, peaks

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        picked = peaks.pick_peaks(nmr.process_default(item))
    top = np.argsort(picked.intensity)[::-1][:n]
    return np.sort(picked.position[top]), picked


def test_bruker_and_jcamp_twins_give_the_same_peaks():
    bruker, _ = _strong_peaks(_item(BRUKER_ASPIRIN))
    jcamp_fid, _ = _strong_peaks(_item(ASPIRIN_FID))
    _, picked = _strong_peaks(_item(ASPIRIN))
    np.testing.assert_array_equal(jcamp_fid, bruker)
    # TopSpin's processed spectrum (other phase and baseline): same strong peaks
    for ppm in bruker[-5:]:
        assert np.min(np.abs(picked.position - ppm)) < 0.002, ppm
    # TopSpin's own peak list (pdata/1/peaklist.xml)
    for ppm in (8.0532, 8.0271, 7.5293, 7.2800, 7.0817, 2.2937):
        assert np.min(np.abs(picked.position - ppm)) < 0.01, ppm


@pytest.mark.parametrize("path", [ASPIRIN, NANALYSIS, QMAGNETICS, COMPRESSION / "jcamp-fix.dx",
                                  NMR_DIR / "cheminfo/rutin/13c.jdx"], ids=_ids)
def test_cli_peaks_on_jcamp_nmr(path):
    proc = run_cli("peaks", path, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["unit"] == "ppm" and report["peaks"]
    assert all(p["intensity"] > 0 for p in report["peaks"])


def test_link_file_with_two_blocks_xyw_and_xypoints(tmp_path):
    """Synthetic: a LINK block holding an MS (XYW..XYW) peak table and an XYPOINTS spectrum."""
    path = tmp_path / "link.jdx"
    path.write_text(
        "##TITLE= two spectra\n##JCAMP-DX= 5.01\n##DATA TYPE= LINK\n##BLOCKS= 2\n"
        "##TITLE= first\n##JCAMP-DX= 5.01\n##DATA TYPE= MASS SPECTRUM\n##BLOCK_ID= 1\n"
        "##XUNITS= M/Z\n##YUNITS= RELATIVE ABUNDANCE\n##YFACTOR= 0.5\n##NPOINTS= 3\n"
        "##PEAK TABLE= (XYW..XYW)\n58, 200, 1; 42, 20, 1\n105 60 1\n##END=\n"
        "##TITLE= second\n##JCAMP-DX= 5.01\n##DATA TYPE= MASS SPECTRUM\n##BLOCK_ID= 2\n"
        "##XUNITS= M/Z\n##XYPOINTS= (XY..XY)\n50.0, 1; 50.5, 3; 51.0, 1\n##END=\n##END=\n")
    ds = read(path)
    assert ds.technique == "ms" and len(ds.items) == 2
    first, second = ds.items
    np.testing.assert_array_equal(first.axis, [42, 58, 105])
    np.testing.assert_array_equal(first.intensities, [10, 100, 30])  # YFACTOR 0.5
    assert first.centroided and not second.centroided
    assert (first.provenance.record, second.provenance.record) == (1, 2)
    assert first.name == "first" and second.name == "second"


# ------------------------------------------- files from the wild (issues 17/18)

DEPT_LINK = DATA / "wild" / "jcamp_link_nmr_13c_dept.dx"


def _peaks_of(item):
    from fentid.spectra import nmr, peaks

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return peaks.pick_peaks(nmr.process_default(item))


def test_topspin_link_with_peak_assignments_is_read():
    """wild/README.md: TopSpin 3.5 LINK export, 13C DEPT spectra plus a PEAK ASSIGNMENTS
    block; refused whole before.  The spectra are read, the assignments block noted."""
    text = DEPT_LINK.read_text()
    assert "##DATA TYPE=PEAK ASSIGNMENTS" in text and "##BLOCKS=   2" in text
    assert find_driver(DEPT_LINK).name == "jcampdx"
    ds = read(DEPT_LINK)
    assert ds.technique == "nmr"
    fid, spectrum = ds.items
    assert isinstance(fid, Fid) and isinstance(spectrum, Spectrum)
    assert fid.points == 32768  # VAR_DIM= 32768 real and 32768 imaginary values
    assert len(spectrum) == 32768 and spectrum.nucleus == "13C"
    (skipped,) = ds.metadata["skipped_blocks"]
    assert skipped["data_type"] == "PEAK ASSIGNMENTS"
    assert skipped["line"] == text.split("\n").index("##DATA TYPE=PEAK ASSIGNMENTS") - 1
    assigned = [row["x"] for row in skipped["peak_assignments"]]
    assert assigned == [118.93612601748676, 119.12759305537116]  # as written in the block
    notes = " ".join(ds.metadata["notes"])
    assert "PEAK ASSIGNMENTS" in notes and "declares BLOCKS=2 but holds 3 blocks" in notes
    # the assigned lines are lines of the spectrum block (and of the FID processed here)
    for item in (spectrum, fid):
        picked = _peaks_of(item)
        for x in assigned:
            assert np.min(np.abs(picked.position - x)) < 0.03, (type(item).__name__, x)
    proc = run_cli("info", "--json", DEPT_LINK)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["skipped_blocks"][0]["data_type"] == "PEAK ASSIGNMENTS"
    assert run_cli("peaks", DEPT_LINK).returncode == 0


def test_link_holding_no_spectrum_is_refused(tmp_path):
    path = tmp_path / "only_assignments.jdx"
    path.write_text("##TITLE= a\n##JCAMP-DX= 5.01\n##DATA TYPE= LINK\n##BLOCKS= 1\n"
                    "##TITLE= b\n##DATA TYPE=PEAK ASSIGNMENTS\n##PEAK ASSIGNMENTS=(XYA)\n"
                    "(1.0, 2.0, <1>)\n##END=\n##END=\n")
    with pytest.raises(UnknownFormatError, match="PEAK ASSIGNMENTS"):
        read(path)


def test_link_missing_declared_blocks_is_warned(tmp_path):
    text = DEPT_LINK.read_text().replace("##BLOCKS=   2", "##BLOCKS=   4", 1)
    path = tmp_path / "dept.dx"
    path.write_text(text)
    with pytest.warns(DataQualityWarning, match=r"declares BLOCKS=4 but holds 3 blocks") as w:
        read(path)
    assert any(str(path) in str(x.message) for x in w)


#: Shared JCAMP NMR samples: every kind of NMR block (Bruker XYDATA whose table lies
#: beyond the sniffer's head, NTUPLES spectrum and FID, JEOL, Varian, Nanalysis FID)
NO_DATA_TYPE = [ASPIRIN, ASPIRIN_FID, NMR_DIR / "cheminfo/jeol/1h.dx",
                NMR_DIR / "cheminfo/varian/1h.jdx", OFFICIAL / "BRUKNTUP.DX", NANALYSIS]


@pytest.mark.parametrize("source", NO_DATA_TYPE, ids=_ids)
def test_nmr_block_without_data_type_is_nmr_by_its_labels(tmp_path, source):
    lines = source.read_bytes().split(b"\n")
    kept = [ln for ln in lines if not re.match(rb"\s*##\s*DATA\s*TYPE\s*=", ln, re.IGNORECASE)]
    assert len(kept) == len(lines) - 1
    copy = tmp_path / source.name
    copy.write_bytes(b"\n".join(kept))
    assert find_driver(copy).name == "jcampdx"
    ours, theirs = _read(copy), _read(source)
    assert ours.technique == "nmr"
    (a,), (b,) = ours.items, theirs.items
    assert type(a) is type(b)
    if isinstance(a, Fid):
        np.testing.assert_array_equal(a.data, b.data)
        assert (a.sw_hz, a.carrier_ppm) == (b.sw_hz, b.carrier_ppm)
    else:
        np.testing.assert_array_equal(a.axis, b.axis)
        np.testing.assert_array_equal(a.intensities, b.intensities)
    assert a.nucleus == b.nucleus


def test_block_without_data_type_or_nmr_labels_is_still_refused(tmp_path):
    path = tmp_path / "ir.jdx"
    path.write_text("##TITLE= polystyrene\n##JCAMP-DX= 4.24\n##XUNITS= 1/CM\n"
                    "##XYPOINTS=(XY..XY)\n4000, 0.9\n3999, 0.8\n##END=\n")
    with pytest.raises(UnknownFormatError, match=r"DATA TYPE=\(none\)"):
        read(path)
    hz_only = tmp_path / "hz.jdx"
    hz_only.write_text("##TITLE= t\n##JCAMP-DX= 4.24\n##XUNITS= HZ\n"
                       "##XYPOINTS=(XY..XY)\n1, 0.9\n2, 0.8\n##END=\n")
    with pytest.raises(UnknownFormatError):
        read(hz_only)


# --------------------------------------------------------------------- damaged input

def _damaged(tmp_path, source: Path, edit) -> Path:
    lines = source.read_text().split("\n")
    out = tmp_path / source.name
    out.write_text("\n".join(edit(lines)))
    return out


def _xydata_line(lines) -> int:
    return next(i for i, s in enumerate(lines) if s.startswith("##XYDATA"))


def test_truncated_difdup(tmp_path):
    raw = (COMPRESSION / "jcamp-difdup.dx").read_bytes()
    path = tmp_path / "cut.dx"
    path.write_bytes(raw[: int(len(raw) * 0.8)])
    with pytest.raises(CorruptDataError, match=r"cut\.dx: line \d+: file ends without ##END="):
        read(path)


def test_lost_line_is_detected(tmp_path):
    def drop(lines):
        i = _xydata_line(lines) + 50
        return lines[:i] + lines[i + 1:]

    path = _damaged(tmp_path, COMPRESSION / "jcamp-difdup.dx", drop)
    with pytest.raises(CorruptDataError, match=r"line \d+: (abscissa|Y-check)"):
        read(path)


def test_bad_character_names_the_line(tmp_path):
    def spoil(lines):
        i = _xydata_line(lines) + 10
        lines[i] = lines[i][:12] + "!" + lines[i][13:]
        return lines

    path = _damaged(tmp_path, COMPRESSION / "jcamp-difdup.dx", spoil)
    lineno = _xydata_line(path.read_text().split("\n")) + 11
    with pytest.raises(CorruptDataError, match=rf"line {lineno}: character '!'"):
        read(path)


def test_missing_end(tmp_path):
    path = _damaged(tmp_path, ASPIRIN, lambda lines: [s for s in lines
                                                     if not s.startswith("##END=")])
    with pytest.raises(CorruptDataError, match="without ##END="):
        read(path)


def test_y_check_mismatch(tmp_path):
    def spoil(lines):
        i = _xydata_line(lines) + 2  # second data line starts with the Y-check value
        x, sqz, rest = re.match(r"(\d+)([@A-Ia-i]\d*)(.*)", lines[i]).groups()
        assert len(sqz) > 1  # "16371f620R292...": f620 is the check value -1620
        lines[i] = x + sqz[:-1] + str((int(sqz[-1]) + 1) % 10) + rest
        return lines

    path = _damaged(tmp_path, COMPRESSION / "jcamp-difdup.dx", spoil)
    lineno = _xydata_line(path.read_text().split("\n")) + 3
    with pytest.raises(CorruptDataError, match=rf"line {lineno}: Y-check value"):
        read(path)


def test_point_count_disagrees_with_header(tmp_path):
    def spoil(lines):
        return [s.replace("##NPOINTS= 16384", "##NPOINTS= 16000") for s in lines]

    path = _damaged(tmp_path, COMPRESSION / "jcamp-fix.dx", spoil)
    with pytest.raises(CorruptDataError, match="16384 points decoded but the header says 16000"):
        read(path)


def test_truncated_table_with_end(tmp_path):
    def cut(lines):
        end = next(i for i, s in enumerate(lines) if s.startswith("##END="))
        return lines[:end - 10] + lines[end:]

    path = _damaged(tmp_path, COMPRESSION / "jcamp-difdup.dx", cut)
    with pytest.raises(CorruptDataError, match=r"points decoded but the header says 16384"):
        read(path)


def test_infrared_is_refused(tmp_path):
    path = tmp_path / "ir.jdx"
    path.write_text("##TITLE= polystyrene\n##JCAMP-DX= 4.24\n##DATA TYPE= INFRARED SPECTRUM\n"
                    "##XUNITS= 1/CM\n##YUNITS= TRANSMITTANCE\n##XYPOINTS=(XY..XY)\n"
                    "4000, 0.9\n3999, 0.8\n##END=\n")
    with pytest.raises(UnknownFormatError, match="INFRARED"):
        read(path)


def test_odd_peak_table(tmp_path):
    path = tmp_path / "odd.jdx"
    path.write_text("##TITLE= x\n##JCAMP-DX= 5.0\n##DATA TYPE= MASS SPECTRUM\n##XUNITS= M/Z\n"
                    "##PEAK TABLE= (XY..XY)\n50, 2.5; 51\n##END=\n")
    with pytest.raises(CorruptDataError, match="line 6: 3 numbers"):
        read(path)


@pytest.mark.parametrize("content", [
    b"##TITLE= nothing\n##DATA TYPE= NMR SPECTRUM\n##END=\n",
    (b"##TITLE= t\n##DATA TYPE= NMR SPECTRUM\n##XUNITS= HZ\n##XYDATA=(X++(Y..Y))\n"
     b"0 S5\n##END=\n"),
], ids=["no-data", "dup-without-value"])
def test_cli_reports_damaged_files(tmp_path, content):
    path = tmp_path / "bad.jdx"
    path.write_bytes(content)
    proc = run_cli("info", path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"fentid: error: {path}")


# --------------------------------------------------------------------- synthetic round trips

_SQZ_POS, _SQZ_NEG = "@ABCDEFGHI", "abcdefghi"
_DIF_POS, _DIF_NEG = "%JKLMNOPQR", "jklmnopqr"
_DUP = "STUVWXYZs"


def _compress(value: int, pos: str, neg: str) -> str:
    digits = str(abs(value))
    lead = pos[int(digits[0])] if value >= 0 else neg[int(digits[0]) - 1]
    return lead + digits[1:]


def _dup(count: int) -> str:
    digits = str(count)
    return _DUP[int(digits[0]) - 1] + digits[1:]


def _with_dups(tokens: list[str]) -> str:
    out, k = [], 0
    while k < len(tokens):
        j = k
        while j + 1 < len(tokens) and tokens[j + 1] == tokens[k]:
            j += 1
        out.append(tokens[k] + (_dup(j - k + 1) if j > k else ""))
        k = j + 1
    return "".join(out)


def _encode(y: np.ndarray, form: str, per_line: int) -> str:
    """A writer for the test: AFFN, PAC, SQZ, SQZDUP or DIFDUP with Y-checks."""
    lines, i, n = [], 0, y.size
    while i < n:
        chunk = y[i:i + per_line]
        if form == "AFFN":
            body = " " + " ".join(str(v) for v in chunk)
        elif form == "PAC":
            body = "".join(f"{v:+d}" for v in chunk)
        elif form in ("SQZ", "SQZDUP"):
            toks = [_compress(int(v), _SQZ_POS, _SQZ_NEG) for v in chunk]
            body = _with_dups(toks) if form == "SQZDUP" else "".join(toks)
        else:  # DIFDUP: the next line repeats this line's last value as Y-check
            chunk = y[i:i + per_line + 1]
            toks = [_compress(int(chunk[0]), _SQZ_POS, _SQZ_NEG)]
            toks += [_compress(int(d), _DIF_POS, _DIF_NEG) for d in np.diff(chunk)]
            body = toks[0] + _with_dups(toks[1:])
            if i + chunk.size >= n:
                lines.append(f"{i}{body}")
                if chunk.size > 1:  # ends in DIF: final Y-check line, as ISAS writes
                    lines.append(f"{n - 1}{_compress(int(y[-1]), _SQZ_POS, _SQZ_NEG)}")
                break
            lines.append(f"{i}{body}")
            i += chunk.size - 1
            continue
        lines.append(f"{i}{body}")
        i += chunk.size
    return "\n".join(lines)


@pytest.mark.parametrize("form", ["AFFN", "PAC", "SQZ", "SQZDUP", "DIFDUP"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_round_trip_every_form(form, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 3000))
    # plateaus and linear runs exercise DUP of values and of differences
    y = np.cumsum(rng.integers(-3, 4, n) * (rng.random(n) < 0.6)) * int(rng.integers(1, 10**6))
    y[rng.integers(0, n, 5)] = 0
    text = _encode(y, form, int(rng.integers(3, 20)))
    table = decode_xyy(text, 1, "synthetic", x_step=1.0)
    np.testing.assert_array_equal(table.y, y)
    np.testing.assert_array_equal(decode_xyy(text, 1, "synthetic", vectorised=False).y, y)
    assert table.encoding == ("DIFDUP" if form == "DIFDUP" else form)


def _xydata_tables():
    """(path, table text, first line) of every (X++(Y..Y)) table in the real samples."""
    from fentid.drivers._jcamp_parse import parse_ldrs

    out = []
    for path, _ in SAMPLES:
        if path == GCMS:
            continue
        for ldr in parse_ldrs(path.read_text(encoding="utf-8", errors="replace")):
            form, _, body = ldr.value.partition("\n")
            if ldr.label in ("XYDATA", "DATATABLE") and "++" in form:
                out.append(pytest.param(body, ldr.line + 1, id=f"{_ids(path)}:{ldr.line}"))
    return out


@pytest.mark.parametrize(("body", "line"), _xydata_tables())
def test_vectorised_tokeniser_matches_line_by_line(body, line):
    fast = decode_xyy(body, line, "real", vectorised=True)
    slow = decode_xyy(body, line, "real", vectorised=False)
    np.testing.assert_array_equal(fast.y, slow.y)
    np.testing.assert_array_equal(fast.line_x, slow.line_x)
    assert fast.y_checks == slow.y_checks


def test_decode_64k_difdup_round_trip():
    """64k points with a Y-check on every line (speed is in benchmarks/bench_jcamp.py)."""
    rng = np.random.default_rng(7)
    y = np.cumsum(rng.integers(-1000, 1000, 65536))
    table = decode_xyy(_encode(y, "DIFDUP", 15), 1, "synthetic", x_step=1.0)
    np.testing.assert_array_equal(table.y, y)
    assert table.y_checks > 4000
