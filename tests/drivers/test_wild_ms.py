"""MS "files from the wild" (issues 17 and 18): shared/data/wild, asserting what its README states.

Facts come from the README (pyteomics' point counts, the rainbow scan count, the record
count) and from the files' own headers (arrayLength, lowest/highest m/z, msLevel,
TimeInSeconds, the ChemStation header's scan count), read here independently of fentid.
"""

from __future__ import annotations

import base64
import re
import struct
import warnings

import numpy as np
import pytest

from fentid.describe import describe
from fentid.drivers import claimants, read
from fentid.errors import CorruptDataError, DataQualityWarning, FormatError, NoSpectraError
from fentid.spectra.model import Run, Spectrum
from tests.conftest import DATA, FORMATS, run_cli

WILD = DATA / "wild"
TINY_0991 = WILD / "psi_tiny1.mzML0.99.1.mzML"
TINY_093 = WILD / "psi_tiny1.mzML0.93.xml"
ONE_MIN = WILD / "psi_1min.mzML"
CHROM_ONLY = WILD / "pymzml_mini.chrom.mzML"


def _read_quiet(path, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = read(path, **kwargs)
    return ds, [str(w.message) for w in caught if issubclass(w.category, DataQualityWarning)]


def _all_spectra(ds) -> list[tuple[np.ndarray, np.ndarray, dict]]:
    """(m/z, intensity, metadata) per spectrum: the Run's MS1 scans, then the other items."""
    out = []
    for item in ds.items:
        if isinstance(item, Run):
            for i in range(item.n_scans):
                mz, inten = item.scan(i)
                out.append((mz, inten, {"scan_id": item.metadata["scan_ids"][i], "ms_level": 1,
                                        "retention_time_s": item.retention_time_s[i]}))
        else:
            out.append((item.axis, item.intensities, dict(item.metadata)))
    return out


def _file_spectra(path) -> list[dict]:
    """What each <spectrum> of a legacy mzML declares, read with regular expressions."""
    text = path.read_bytes()
    out = []
    for block in re.findall(rb"<spectrum\b.*?</spectrum>", text, re.DOTALL):
        tag = re.match(rb"<spectrum\b[^>]*>", block).group(0)
        low = re.search(rb'accession="MS:1000528"[^>]*?value="([^"]*)"', block)
        high = re.search(rb'accession="MS:1000527"[^>]*?value="([^"]*)"', block)
        out.append({
            "id": re.search(rb'\bid="([^"]*)"', tag).group(1).decode(),
            "ms_level": int(re.search(rb'msLevel="(\d+)"', tag).group(1)),
            "array_length": [int(n) for n in re.findall(rb'arrayLength="(\d+)"', block)],
            "lowest": float(low.group(1)) if low else None,
            "highest": float(high.group(1)) if high else None,
        })
    return out


# --- legacy mzML 0.99.1 and 0.93 ---------------------------------------------------------------

def _pyteomics_arrays(path):
    from pyteomics import mzml

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mzml.read(str(path)) as reader:
            return [(s.get("m/z array"), s.get("intensity array")) for s in reader]


def test_1min_has_39_spectra_and_the_first_three_have_868_31_51_points():
    ds, _ = _read_quiet(ONE_MIN)
    spectra = _all_spectra(ds)
    by_id = {meta["scan_id"]: (mz, inten) for mz, inten, meta in spectra}
    declared = _file_spectra(ONE_MIN)
    assert ds.metadata["n_spectra"] == len(declared) == 39
    # README: pyteomics decodes 868, 31 and 51 points in the first three spectra
    assert [by_id[d["id"]][0].size for d in declared[:3]] == [868, 31, 51]
    counts = [arr.size for arr, _ in _pyteomics_arrays(ONE_MIN)[:3]]
    assert counts == [868, 31, 51]
    for d in declared:  # every spectrum: arrayLength points, inside its declared m/z range
        mz, inten = by_id[d["id"]]
        assert mz.size == inten.size == d["array_length"][0] > 0
        assert d["lowest"] * (1 - 1e-4) <= mz.min() and mz.max() <= d["highest"] * (1 + 1e-4)
        assert np.isfinite(inten).all() and (inten >= 0).all()
    levels = {d["ms_level"] for d in declared}
    assert ds.metadata["ms_levels"] == {lv: sum(d["ms_level"] == lv for d in declared)
                                        for lv in levels} == {1: 13, 2: 26}


def test_1min_pyteomics_values_are_not_m_z_but_ours_are():
    """pyteomics reads the big-endian floats as little-endian: impossible m/z values."""
    (mz_pyteomics, _), *_ = _pyteomics_arrays(ONE_MIN)
    assert not (np.isfinite(mz_pyteomics).all() and (mz_pyteomics > 0).all()
                and mz_pyteomics.max() < 1e6)
    ds, notes = _read_quiet(ONE_MIN)
    first = _all_spectra(ds)[0][0]
    assert np.array_equal(first, mz_pyteomics.byteswap().astype(np.float64))
    assert any("big-endian" in n and "mzML 0.99.1" in n for n in notes)


def test_1min_scan_times_are_seconds_and_the_precursor_is_read():
    ds, notes = _read_quiet(ONE_MIN)
    ms2 = [s for s in ds.items if isinstance(s, Spectrum)]
    assert len(ms2) == 26
    # file: first MS2 (S2) has scan time 1.63 (no unit; a one-minute run) and m/z 371.21
    assert ms2[0].metadata["retention_time_s"] == pytest.approx(1.63)
    assert ms2[0].metadata["precursor_mz"] == pytest.approx(371.21)
    assert ds.metadata["retention_time_range_s"] == pytest.approx([0.04, 59.24])
    # the writer put the precursor m/z into the collision energy: dropped, and said so
    assert ms2[0].metadata["collision_energy_ev"] is None
    assert any("collision energy equals the precursor" in n for n in notes)
    assert any("seconds assumed" in n for n in notes)


def test_tiny1_0991_is_an_ms1_and_an_msn_with_their_declared_points():
    ds, notes = _read_quiet(TINY_0991)
    spectra = _all_spectra(ds)
    declared = _file_spectra(TINY_0991)
    assert [m["ms_level"] for *_, m in spectra] == [d["ms_level"] for d in declared] == [1, 2]
    pyteomics = _pyteomics_arrays(TINY_0991)
    # README: pyteomics decodes 2,626 and 43 points
    assert [mz.size for mz, _ in pyteomics] == [2626, 43]
    (ms1_mz, ms1_int, _), (ms2_mz, ms2_int, ms2_meta) = spectra
    # the MS1 arrays are declared 32-bit but hold arrayLength (1313) 64-bit values: pyteomics'
    # 2,626 float32 are those bytes misread (-2.0, 3.89, ...); ours are the same bytes as float64
    assert ms1_mz.size == declared[0]["array_length"][0] == 1313
    assert np.array_equal(ms1_mz, np.frombuffer(pyteomics[0][0].tobytes(), "<f8"))
    assert np.array_equal(ms1_int, np.frombuffer(pyteomics[0][1].tobytes(), "<f8"))
    assert ms1_mz.min() == pytest.approx(declared[0]["lowest"], abs=0.01)
    assert ms1_mz.max() == pytest.approx(declared[0]["highest"], abs=0.01)
    # the MSn is stored as declared: identical to pyteomics
    assert np.array_equal(ms2_mz, pyteomics[1][0]) and np.array_equal(ms2_int, pyteomics[1][1])
    assert ms2_meta["precursor_mz"] == pytest.approx(445.34)
    assert ms2_meta["precursor_charge"] == 2 and ms2_meta["collision_energy_ev"] == 35.0
    assert ms2_meta["retention_time_s"] == pytest.approx(5.9905 * 60)
    assert any("declared 32-bit" in n and "S19" in n for n in notes)
    assert ds.metadata["mzml_version"] == "0.99.1"
    assert ds.metadata["instrument"] == "LCQ Deca"


def test_tiny1_093_reads_the_same_spectra_as_0991():
    """0.93 holds the same binary payloads in another structure; pyteomics decodes none."""
    old, notes = _read_quiet(TINY_093)
    new, _ = _read_quiet(TINY_0991)
    pyteomics = _pyteomics_arrays(TINY_093)
    assert all(mz is None for mz, _ in pyteomics)  # README: pyteomics decodes none of them
    assert old.metadata["ms_levels"] == {1: 1, 2: 1}
    for (a_mz, a_int, a_meta), (b_mz, b_int, b_meta) in zip(
            _all_spectra(old), _all_spectra(new), strict=True):
        assert np.array_equal(a_mz, b_mz) and np.array_equal(a_int, b_int)
        assert a_meta["ms_level"] == b_meta["ms_level"]
    ms2 = old.of_type(Spectrum)[0]
    assert ms2.metadata["precursor_mz"] == pytest.approx(445.34)
    assert old.metadata["mzml_version"] == "0.93" and old.metadata["instrument"] == "LCQ Deca"
    assert any("mzML 0.93" in n for n in notes)


def test_legacy_array_whose_bytes_fit_no_encoding_is_one_line_error(tmp_path):
    text = TINY_0991.read_text(encoding="latin-1")
    bad = tmp_path / "bad.mzML"
    bad.write_text(text.replace('arrayLength="43"', 'arrayLength="40"', 1), encoding="latin-1")
    with pytest.raises(CorruptDataError, match=r"S20.*neither 40"):
        read(bad)
    proc = run_cli("info", bad)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"fentid: error: {bad}:")


def test_legacy_peaks_gives_components_not_an_empty_result():
    proc = run_cli("peaks", ONE_MIN, "--json")
    assert proc.returncode == 0, proc.stderr
    import json

    comps = json.loads(proc.stdout)["components"]
    assert len(comps) >= 26 and all(c["peaks"] for c in comps)


# --- chromatogram-only mzML --------------------------------------------------------------------

def test_chromatogram_only_mzml_is_described_not_truncated():
    text = CHROM_ONLY.read_bytes()
    assert b"<spectrumList" not in text and text.rstrip().endswith(b"</mzML>")
    n_chrom = text.count(b"<chromatogram ")
    assert n_chrom == int(re.search(rb'<chromatogramList count="(\d+)"', text).group(1)) == 3
    report = describe(CHROM_ONLY)
    assert report["n_chromatograms"] == 3 and report["n_spectra"] == 0
    assert report["content"] == "chromatograms only" and report["driver"] == "mzml"
    proc = run_cli("info", CHROM_ONLY)
    assert proc.returncode == 0 and "truncated" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("command", ["peaks", "identify"])
def test_processing_a_chromatogram_only_mzml_is_a_one_line_error(command, tmp_path):
    args = [command, CHROM_ONLY]
    if command == "identify":
        lib = tmp_path / "lib.h5"
        assert run_cli("library", "create", lib).returncode == 0
        args += ["--library", lib]
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "chromatograms only" in proc.stderr
    assert proc.stderr.startswith(f"fentid: error: {CHROM_ONLY}:")
    with pytest.raises(NoSpectraError):
        read(CHROM_ONLY)


def test_truncated_chromatogram_only_mzml_is_still_truncated(tmp_path):
    cut = tmp_path / "cut.mzML"
    cut.write_bytes(CHROM_ONLY.read_bytes()[:15000])
    with pytest.raises(CorruptDataError, match="truncated"):
        read(cut)


# --- mzData 1.05 -------------------------------------------------------------------------------

MZDATA = WILD / "openms_FileInfo_6_input.mzData"


def _mzdata_facts():
    text = MZDATA.read_text(encoding="latin-1")
    out = []
    for block in re.findall(r"<spectrum\b.*?</spectrum>", text, re.DOTALL):
        arrays = {}
        for kind in ("mzArrayBinary", "intenArrayBinary"):
            data = re.search(rf"<{kind}>\s*<data precision=\"32\" endian=\"little\" "
                             rf"length=\"(\d+)\">([^<]*)</data>", block)
            n = int(data.group(1))
            arrays[kind] = struct.unpack(f"<{n}f", base64.b64decode(data.group(2)))
        rt = float(re.search(r'name="TimeInSeconds" value="([^"]*)"', block).group(1))
        out.append((rt, arrays["mzArrayBinary"], arrays["intenArrayBinary"]))
    return out


def test_mzdata_is_claimed_by_its_own_driver_only():
    assert [d.name for d in claimants(MZDATA)] == ["mzdata"]


def test_mzdata_spectra_match_the_file():
    ds, notes = _read_quiet(MZDATA)
    assert not notes
    (run,) = ds.items
    facts = _mzdata_facts()
    assert ds.metadata["declared_count"] == len(facts) == run.n_scans == 2
    assert ds.metadata["mzdata_version"] == "1.05"
    for i, (rt, mz, inten) in enumerate(facts):
        got_mz, got_int = run.scan(i)
        order = np.argsort(mz)
        assert run.retention_time_s[i] == rt
        assert np.array_equal(got_mz, np.asarray(mz)[order])
        assert np.array_equal(got_int, np.asarray(inten)[order])
    assert run.centroided  # dataProcessing: CentroidMassSpectrum


def test_mzdata_bad_length_and_truncation_are_one_line_errors(tmp_path):
    text = MZDATA.read_text(encoding="latin-1")
    wrong = tmp_path / "wrong.mzData"
    wrong.write_text(text.replace('length="4"', 'length="6"', 1), encoding="latin-1")
    with pytest.raises(CorruptDataError, match="length is 6"):
        read(wrong)
    cut = tmp_path / "cut.mzData"
    cut.write_text(text[:len(text) // 2], encoding="latin-1")
    proc = run_cli("info", cut)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "not well-formed mzData" in proc.stderr


# --- a ChemStation .MS file outside its .D ------------------------------------------------------

LONE_MS = WILD / "chemstation_MSD.MS"


def test_lone_chemstation_ms_file_is_a_run_with_the_headers_scan_count():
    raw = LONE_MS.read_bytes()
    assert raw[5:22] == b"MSD Spectral File"  # LC/MSD: scan count is the u32 at 0x116
    n_scans = struct.unpack(">I", raw[0x116:0x11A])[0]
    assert [d.name for d in claimants(LONE_MS)] == ["agilent"]
    ds, notes = _read_quiet(LONE_MS)
    (run,) = ds.items
    assert run.n_scans == n_scans == 2534 and not notes
    assert run.mz.size > 0 and np.all(np.diff(run.retention_time_s) >= 0)
    assert ds.metadata["header"]["method"] == "RJBBARUA.M"


@pytest.mark.parametrize("folder,name", [("agilent_d/yellow.D", "data.ms"),
                                         ("agilent_d/orange.D", "MSD1.MS")])
def test_ms_file_read_alone_equals_it_read_in_its_folder(folder, name):
    """The folder reading is checked against rainbow's reference CSVs (test_agilent.py)."""
    whole = read(FORMATS / folder)
    in_folder = next(r for r in whole.items if r.metadata["channel"] == name)
    (alone,) = read(FORMATS / folder / name).items
    for field in ("retention_time_s", "offsets", "mz", "intensity"):
        assert np.array_equal(getattr(alone, field), getattr(in_folder, field)), field


def test_truncated_lone_ms_file_is_one_line_error(tmp_path):
    cut = tmp_path / "cut.MS"
    cut.write_bytes(LONE_MS.read_bytes()[:240_000])
    proc = run_cli("info", cut)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "cannot be parsed" in proc.stderr and not proc.stderr.rstrip().endswith(":")


# --- MassHunter .D with only MSScan.bin + MSProfile.bin ----------------------------------------

AMBER = WILD / "masshunter_amber.D"


def test_masshunter_profile_folder_reads_500_profile_scans():
    ds, notes = _read_quiet(AMBER)
    (run,) = ds.items
    # README: rainbow's parse_msdata reads 500 profile scans, m/z about 823.8-827.2
    assert run.n_scans == 500 and not run.centroided and not notes
    assert run.mz.min() == pytest.approx(823.8, abs=0.05)
    assert run.mz.max() == pytest.approx(827.2, abs=0.05)
    assert ds.metadata["scans_listed"] == 500


def test_masshunter_profile_equals_rainbows_per_scan_reading():
    from rainbow.agilent import masshunter

    (profile,) = masshunter.parse_msdata(str(AMBER / "AcqData"))
    (run,) = read(AMBER).items
    assert np.allclose(run.retention_time_s, np.asarray(profile.xlabels) * 60.0)
    for i in (0, 249, 499):
        mz, inten = profile.scan(i)
        got_mz, got_int = run.scan(i)
        assert np.array_equal(got_mz, mz) and np.array_equal(got_int, inten)


def test_masshunter_interrupted_profile_says_scans_are_missing(tmp_path):
    import shutil

    copy = tmp_path / "amber.D"
    shutil.copytree(AMBER, copy)
    profile = copy / "AcqData" / "MSProfile.bin"
    profile.chmod(0o644)
    profile.write_bytes(profile.read_bytes()[:len(profile.read_bytes()) // 2])
    ds, notes = _read_quiet(copy)
    assert ds.items[0].n_scans < 500
    assert any("lists 500 scans" in n and "missing" in n for n in notes)


# --- Saturn .SMS --------------------------------------------------------------------------------

def test_saturn_sms_is_recognised_and_answered_with_the_export_route():
    sms = WILD / "saturn_DCM1.SMS"
    assert [d.name for d in claimants(sms)] == ["saturn"]
    with pytest.raises(FormatError, match="netCDF"):
        read(sms)
    proc = run_cli("peaks", sms)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "MSP" in proc.stderr and "MSData" in proc.stderr


# --- MSP in MS-DIAL/RIKEN field order; an MSP with no readable record ------------------------

RIKEN = WILD / "matchms_riken_style_five_spectra.msp"


def _msp_records(path) -> list[dict]:
    """Each record's NAME, INCHIKEY and peak lines, from the text (blank-line separated)."""
    out = []
    for para in path.read_text().strip().split("\n\n"):
        fields = dict(ln.split(": ", 1) for ln in para.splitlines() if ": " in ln)
        peaks = [ln.split() for ln in para.splitlines() if ln[:1].isdigit()]
        out.append({"name": fields["NAME"], "inchikey": fields["INCHIKEY"],
                    "n": int(fields["NUM PEAKS"]), "mz": [float(p[0]) for p in peaks]})
    return out


def test_riken_style_msp_is_claimed_and_reads_five_spectra():
    assert RIKEN.read_text().startswith("INCHIKEY:")
    assert [d.name for d in claimants(RIKEN)] == ["msp"]
    ds, notes = _read_quiet(RIKEN)
    records = _msp_records(RIKEN)
    assert len(ds.items) == len(records) == 5 and not ds.problems and not notes
    for spec, rec in zip(ds.items, records, strict=True):
        assert spec.metadata["name"] == rec["name"]
        assert spec.metadata["inchikey"] == rec["inchikey"]
        assert len(spec) == rec["n"] and np.array_equal(spec.axis, sorted(rec["mz"]))


def test_free_order_msp_keeps_reporting_bad_records(tmp_path):
    text = RIKEN.read_text().replace("NAME: Kojic acid\n", "").replace(
        "167.0856    999.0", "167.0856    x99.0")
    path = tmp_path / "bad.msp"
    path.write_text(text)
    ds, _ = _read_quiet(path)
    assert [p.record for p in ds.problems] == [2, 3]
    assert "Name" in ds.problems[0].reason and "not a number" in ds.problems[1].reason
    assert [s.provenance.record for s in ds.items] == [1, 4, 5]


def test_msp_with_no_readable_record_is_described_and_processing_fails():
    fail = WILD / "msbackendmsp_fail_spectrum.msp"
    report = describe(fail)
    assert report["n_spectra"] == 0 and len(report["problems"]) == 1
    assert "'Some' is not a number" in report["problems"][0]
    info = run_cli("info", fail)
    assert info.returncode == 2 and "problem: record 1" in info.stdout
    peaks = run_cli("peaks", fail)
    assert peaks.returncode == 2 and peaks.stderr.count("\n") == 1
    assert "none of the 1 MSP record(s) can be read" in peaks.stderr
