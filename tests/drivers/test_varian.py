"""Varian/Agilent VnmrJ driver: the four real .fid folders against formats/index.csv facts."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from fentid.drivers import find_driver, read
from fentid.errors import CorruptDataError
from fentid.spectra import nmr
from fentid.spectra.model import Fid
from tests.conftest import DATA, FORMATS, load_index, run_cli

ROWS = {r["path"]: r for r in load_index("formats/index.csv") if r["path"].startswith("varian")}
PROTON = FORMATS / "varian_vnmr/proton.fid"
THA_1H = FORMATS / "varian_vnmr/THA_f22-23/1H.fid"


def fact(row: str, key: str) -> str:
    """``key=value`` from a row's facts column (value up to ';' or whitespace)."""
    match = re.search(rf"(?<![\w.]){re.escape(key)}=([^;\s]+)", ROWS[row]["facts"])
    assert match, f"{key} not in facts of {row}"
    return match.group(1)


def test_all_varian_rows_present():
    assert len(ROWS) == 4


@pytest.mark.parametrize("row", sorted(ROWS))
def test_info_json_reproduces_procpar_facts(row):
    proc = run_cli("info", "--json", FORMATS / row)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["driver"] == "varian"
    assert info["technique"] == "nmr"
    assert info["spectrometer_frequency_mhz"] == pytest.approx(float(fact(row, "sfrq")), abs=1e-9)
    assert info["points"] == int(fact(row, "np"))
    tn = fact(row, "tn")  # H1 / C13 -> 1H / 13C
    assert info["nucleus"] == re.sub(r"([A-Z][a-z]?)(\d+)", r"\2\1", tn)
    assert info["solvent"].lower() == fact(row, "solvent").lower()
    assert info["dimensions"] == 1
    assert info["header"]["seqfil"] == fact(row, "seqfil")


@pytest.mark.parametrize("row", sorted(ROWS))
def test_python_api_fid_and_header(row):
    ds = read(FORMATS / row)
    (fid,) = ds.items
    assert isinstance(fid, Fid)
    assert fid.points == int(fact(row, "np")) // 2
    assert fid.sw_hz == pytest.approx(float(fact(row, "sw")))
    assert ds.metadata["header"]["nt"] == int(fact(row, "nt"))
    assert ds.metadata["header"]["at"] == pytest.approx(float(fact(row, "at")))
    assert ds.metadata["header"]["console"] == fact(row, "console")
    assert fid.provenance.driver == "varian" and len(fid.provenance.sha256) == 64
    assert set(fid.metadata["vendor_phase_deg"]) == {"p0", "p1"}


def test_proton_file_header_and_first_points_match_varian_converter():
    ds = read(PROTON)
    head = ds.metadata["header"]
    row = "varian_vnmr/proton.fid"
    for key in ("nBlocks", "nTraces", "eBytes", "tBytes", "bBytes"):
        assert head[f"file_{key.lower()}"] == int(fact(row, key))
    fid = ds.items[0]
    # varian-converter snapshot: re[0..2], im[0..2]; fentid stores the conjugate
    # (Bruker sign convention, see the driver's notes)
    snap = re.search(r"re\[0\.\.2\]=([^;]+); im\[0\.\.2\]=([^(]+)", ROWS[row]["facts"])
    re_vals = [float(v) for v in snap.group(1).split(",")]
    im_vals = [float(v) for v in snap.group(2).split(",")]
    np.testing.assert_allclose(fid.data[:3].real, re_vals)
    np.testing.assert_allclose(-fid.data[:3].imag, im_vals)
    vendor = fid.metadata["vendor"]
    assert len(vendor) == int(re.search(r"procpar has (\d+) parameters",
                                        ROWS[row]["facts"]).group(1))
    assert list(vendor)[1] == re.search(r"result\[1\]\.name=(\w+)", ROWS[row]["facts"]).group(1)


def test_int32_fid_and_13c_file_size():
    keto = read(FORMATS / "varian_vnmr/2-Ketobutyric_acid_noesy.fid")
    assert keto.metadata["header"]["file_ebytes"] == 4
    assert keto.metadata["header"]["file_status"] & 0x4  # S_32: int32 data
    assert keto.items[0].points == 28800
    c13 = read(FORMATS / "varian_vnmr/THA_f22-23/13C.fid")
    size = (FORMATS / "varian_vnmr/THA_f22-23/13C.fid/fid").stat().st_size
    assert size == int(re.search(r"fid (\d+) bytes", ROWS["varian_vnmr/THA_f22-23/13C.fid"]
                                 ["facts"]).group(1))
    assert size == 32 + 28 + c13.metadata["points"] * 4


@pytest.mark.parametrize("row", sorted(ROWS))
def test_vendor_phases_give_positive_absorptive_spectrum(row):
    fid = read(FORMATS / row).items[0]
    phase = fid.metadata["vendor_phase_deg"]
    spec = nmr.run_pipeline(fid, (
        (nmr.apodize, {"lb_hz": 1.0}), (nmr.zero_fill, {}), (nmr.fourier_transform, {}),
        (nmr.phase_correct, {"p0_deg": phase["p0"], "p1_deg": phase["p1"]}),
        (nmr.real_part, {})))
    y = spec.intensities - np.median(spec.intensities)
    assert y.min() > -0.05 * y.max()
    # the opposite sign (a plausible convention mix-up) must fail the same check
    wrong = nmr.run_pipeline(fid, (
        (nmr.apodize, {"lb_hz": 1.0}), (nmr.zero_fill, {}), (nmr.fourier_transform, {}),
        (nmr.phase_correct, {"p0_deg": -phase["p0"], "p1_deg": -phase["p1"]}),
        (nmr.real_part, {})))
    yw = wrong.intensities - np.median(wrong.intensities)
    assert yw.min() < -0.05 * yw.max()


def test_vendor_reference_puts_cd3od_residual_at_3_31():
    # solvent=cd3od (index facts); residual CHD2OD is 3.31 ppm (Fulmer et al. 2010)
    spec = nmr.process_default(read(PROTON).items[0])
    assert spec.metadata["referenced"] == "vendor"
    window = (spec.axis > 3.2) & (spec.axis < 3.4)
    tallest = spec.axis[window][np.argmax(spec.intensities[window])]
    assert tallest == pytest.approx(3.31, abs=0.01)


@pytest.mark.parametrize("row", ["varian_vnmr/proton.fid", "varian_vnmr/THA_f22-23/13C.fid"])
def test_cli_peaks(row):
    proc = run_cli("peaks", "--json", FORMATS / row)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["unit"] == "ppm" and out["peaks"]
    positions = [p["position"] for p in out["peaks"]]
    if "13C" in row:  # CDCl3 (solvent=cdcl3 in the facts): the 77 ppm triplet is there
        assert sum(76.5 < p < 77.5 for p in positions) >= 3
    else:
        assert any(abs(p - 3.31) < 0.01 for p in positions)


def test_fid_file_itself_is_claimed_too():
    assert find_driver(PROTON / "fid").name == "varian"
    assert read(PROTON / "procpar").path == str(PROTON)


def test_procpar_without_fid_is_corrupt(tmp_path):
    folder = tmp_path / "nofid.fid"
    folder.mkdir()
    shutil.copy(THA_1H / "procpar", folder / "procpar")
    with pytest.raises(CorruptDataError, match="fid data file is missing") as info:
        read(folder)
    assert str(folder) in str(info.value)


def test_truncated_fid_is_corrupt(tmp_path):
    folder = tmp_path / "trunc.fid"
    folder.mkdir()
    shutil.copy(THA_1H / "procpar", folder / "procpar")
    (folder / "fid").write_bytes((THA_1H / "fid").read_bytes()[:50000])
    with pytest.raises(CorruptDataError, match="truncated") as info:
        read(folder)
    assert str(folder / "fid") in str(info.value)


def test_fid_shorter_than_file_header_is_corrupt(tmp_path):
    folder = tmp_path / "tiny.fid"
    folder.mkdir()
    shutil.copy(THA_1H / "procpar", folder / "procpar")
    (folder / "fid").write_bytes(b"\0" * 10)
    with pytest.raises(CorruptDataError, match="32-byte"):
        read(folder)


def test_garbage_fid_header_is_corrupt(tmp_path):
    folder = tmp_path / "garbage.fid"
    folder.mkdir()
    shutil.copy(THA_1H / "procpar", folder / "procpar")
    (folder / "fid").write_bytes(np.random.default_rng(7).bytes(4096))
    with pytest.raises(CorruptDataError, match="fid"):
        read(folder)


def test_reference_falls_back_to_reffrq_then_tof():
    from fentid.drivers.varian import _carrier_ppm

    def par(**values):
        return {k: {"values": [str(v)], "basictype": "1"} for k, v in values.items()}

    sfrq, sw = 600.0, 6000.0
    assert _carrier_ppm(par(rfl=1000, rfp=0), sfrq, sw) == (pytest.approx(2000 / 600), True)
    # 0 ppm at 599.997 MHz: the 600 MHz carrier sits 3000 Hz above it
    assert _carrier_ppm(par(reffrq=599.997), sfrq, sw) == (pytest.approx(3000 / 599.997), True)
    assert _carrier_ppm(par(tof=600), sfrq, sw) == (pytest.approx(1.0), False)


# --- files from the wild (issue 18): procpar numbers with exponents, upper-case names -----

SERUM = DATA / "wild" / "vnmrj_serum_1.fid"


def _nmrglue_fid(folder):
    import nmrglue as ng

    _, data = ng.varian.read(str(folder))
    return data


def test_serum_folder_with_exponent_in_procpar_is_read():
    """wild/README.md: procpar's first line holds ``1e-06``; nmrglue reads the folder."""
    first = (SERUM / "procpar").read_text().splitlines()[0].split()
    assert "1e-06" in first
    assert find_driver(SERUM).name == "varian"
    ds = read(SERUM)
    (fid,) = ds.items
    # the same data nmrglue reads, conjugated into fentid's (Bruker) convention
    np.testing.assert_array_equal(fid.data, np.conj(_nmrglue_fid(SERUM)))
    import nmrglue as ng

    procpar = ng.varian.read_procpar(str(SERUM / "procpar"))
    assert ds.metadata["points"] == int(procpar["np"]["values"][0])
    assert fid.sw_hz == pytest.approx(float(procpar["sw"]["values"][0]))
    assert fid.obs_mhz == pytest.approx(float(procpar["sfrq"]["values"][0]))
    proc = run_cli("peaks", "--json", SERUM)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["peaks"]


def _upper_case_copy(tmp_path):
    folder = tmp_path / "SERUM_1.FID"
    folder.mkdir()
    for member in SERUM.iterdir():
        shutil.copyfile(member, folder / member.name.upper())
    return folder


def test_upper_case_file_names_are_read_the_same(tmp_path):
    folder = _upper_case_copy(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["FID", "LOG", "PROCPAR", "TEXT"]
    for entry in (folder, folder / "FID", folder / "PROCPAR"):
        assert find_driver(entry).name == "varian"
    ours, theirs = read(folder).items[0], read(SERUM).items[0]
    np.testing.assert_array_equal(ours.data, theirs.data)
    assert ours.carrier_ppm == theirs.carrier_ppm
    assert read(folder).metadata["header"]["text"] == read(SERUM).metadata["header"]["text"]


def test_procpar_sniff_still_refuses_text_that_is_no_parameter_line(tmp_path):
    folder = tmp_path / "x.fid"
    folder.mkdir()
    shutil.copyfile(PROTON / "fid", folder / "fid")
    (folder / "procpar").write_text("this is not a procpar 1 2 3 4 5 6 7 8\n")
    from fentid.drivers import claimants

    assert all(d.name != "varian" for d in claimants(folder))
