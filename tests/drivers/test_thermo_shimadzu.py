"""Thermo .raw and Shimadzu .lcd detection, and small.RAW's conversions agreeing."""

from __future__ import annotations

import hashlib
import shutil
import warnings

import numpy as np
import pytest

from fentid.drivers import find_driver, read
from fentid.drivers._mzml_fast import iter_records
from fentid.drivers.registry import read_head
from fentid.drivers.shimadzu import ole_streams
from fentid.drivers.shimadzu import sniff as shimadzu_sniff
from fentid.drivers.thermo import sniff as thermo_sniff
from fentid.errors import FormatError
from fentid.spectra.model import Spectrum
from tests.conftest import FORMATS, load_index, run_cli

SMALL_RAW = FORMATS / "thermo_raw/small.RAW"
SAMPLE_RAW = FORMATS / "thermo_raw/sample.raw"
LCD = FORMATS / "shimadzu_lcd/multichannel_chrom.lcd"
TEST_MZML = FORMATS / "mzml/pyteomics/test.mzML"
SMALL_MZML = FORMATS / "mzml/mzdata/small.mzML"
SMALL_MGF = FORMATS / "mgf/mzdata/small.mgf"


def _sample_files():
    return sorted(p for p in FORMATS.rglob("*") if p.is_file() and "expected" not in p.parts
                  and p.name not in ("index.csv", "SHA1SUMS"))


def test_sniffers_claim_exactly_their_samples():
    files = _sample_files()
    assert {p for p in files if thermo_sniff(p, read_head(p))} == {SMALL_RAW, SAMPLE_RAW}
    assert {p for p in files if shimadzu_sniff(p, read_head(p))} == {LCD}


@pytest.mark.parametrize("path", [SMALL_RAW, SAMPLE_RAW], ids=lambda p: p.name)
def test_thermo_raw_names_the_conversion_route(path):
    assert find_driver(path).name == "thermo"
    with pytest.raises(FormatError, match="ThermoRawFileParser"):
        read(path)
    proc = run_cli("info", path)
    assert proc.returncode == 2
    line, = proc.stderr.strip().splitlines()
    assert "msconvert" in line and "mzML" in line


def test_shimadzu_lcd_names_the_export_route_and_no_ms():
    assert find_driver(LCD).name == "shimadzu"
    proc = run_cli("info", LCD)
    assert proc.returncode == 2
    line, = proc.stderr.strip().splitlines()
    # index facts: LC chromatograms, channels 1-3, no MS
    assert "AIA" in line and "mzML" in line and "no MS data" in line
    assert "3 chromatogram channels" in line


def test_other_ole_file_not_claimed(tmp_path):
    # same compound-file container, LabSolutions stream names renamed away
    data = bytearray(LCD.read_bytes())
    for name in ("LSS Raw Data", "GUMM_Information", "PDA 3D Raw Data", "LSS Data Processing"):
        encoded = name.encode("utf-16-le")
        data = data.replace(encoded, ("X" * len(name)).encode("utf-16-le"))
    other = tmp_path / "office.doc"
    other.write_bytes(bytes(data))
    assert ole_streams(other, read_head(other))  # still a readable OLE2 directory
    assert not shimadzu_sniff(other, read_head(other))


def test_truncated_ole_is_not_claimed_and_does_not_raise(tmp_path):
    cut = tmp_path / "cut.lcd"
    cut.write_bytes(LCD.read_bytes()[:600])
    assert shimadzu_sniff(cut, read_head(cut)) is False


# --- small.RAW: its two mzML conversions and its MGF describe the same scans -------------

def test_conversions_name_small_raw_by_its_sha1():
    sha1 = hashlib.sha1(SMALL_RAW.read_bytes()).hexdigest()
    row = {r["path"]: r for r in load_index("formats/index.csv")}["thermo_raw/small.RAW"]
    assert sha1 in row["facts"]
    for path in (TEST_MZML, SMALL_MZML):
        assert f'"SHA-1" value="{sha1}"'.encode() in path.read_bytes()[:8192]


def test_two_mzml_conversions_agree_on_scan_1():
    test_first = next(iter_records(TEST_MZML))
    small_first = next(iter_records(SMALL_MZML))
    assert test_first.id == small_first.id
    assert test_first.retention_time_s == small_first.retention_time_s
    assert test_first.params["filter string"] == small_first.params["filter string"]
    for key in ("base peak m/z", "lowest observed m/z", "total ion current"):
        # the converters print different numbers of digits
        assert float(test_first.params[key]) == pytest.approx(
            float(small_first.params[key]), rel=1e-12)
    # the profile m/z grid of one is contained in the other's (one converter drops an end
    # point; the two conversions differ in the last bits of a float64)
    idx = np.clip(np.searchsorted(test_first.mz, small_first.mz), 0, test_first.mz.size - 1)
    nearest = np.minimum(np.abs(test_first.mz[idx] - small_first.mz),
                         np.abs(test_first.mz[idx - 1] - small_first.mz))
    assert nearest.max() < 1e-9


def test_mgf_records_are_the_mzml_ms2_scans():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mzml = read(SMALL_MZML)
    mgf = read(SMALL_MGF)
    ms2 = {s.metadata["scan_id"].rsplit("scan=", 1)[1]: s for s in mzml.of_type(Spectrum)}
    from_raw = [s for s in mgf.items if s.metadata["name"].startswith("small.")]
    # ThermoRawFileParser facts: small.RAW has 48 scans, 14 MS1, its MGF 34 spectra
    assert len(from_raw) == 34 == len(ms2)
    assert mzml.metadata["ms_levels"] == {1: 14, 2: 34}
    for spec in from_raw:
        scan = spec.metadata["name"].split(".")[1]
        ref = ms2[scan]
        assert spec.metadata["precursor_mz"] == pytest.approx(ref.metadata["precursor_mz"])
        assert spec.metadata["retention_time_s"] == pytest.approx(
            ref.metadata["retention_time_s"], abs=1e-4)
        assert len(spec) == len(ref)
        np.testing.assert_allclose(spec.axis, ref.axis, atol=1e-6)
        np.testing.assert_allclose(spec.intensities, ref.intensities, rtol=1e-6)


def test_copied_raw_still_detected_by_content(tmp_path):
    renamed = tmp_path / "renamed.bin"
    shutil.copyfile(SMALL_RAW, renamed)
    assert find_driver(renamed).name == "thermo"
