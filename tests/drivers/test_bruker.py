"""Bruker TopSpin driver: the real experiment folders against formats/index.csv facts."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from fentid.drivers import claimants, find_driver, read
from fentid.drivers.bruker import group_delay, parse_parameters
from fentid.errors import CorruptDataError, IncompleteDataError
from fentid.spectra.model import Fid, Spectrum
from tests.conftest import FORMATS, load_index

BRUKER = FORMATS / "bruker_topspin"
ROWS = {r["path"]: r for r in load_index("formats/index.csv")
        if r["path"].startswith("bruker_topspin/")}
ASPIRIN = "bruker_topspin/aspirin-1h/1"
PROCESSED = "bruker_topspin/aspirin-1h-processed/1"
CYCLO = "bruker_topspin/cyclosporin_1h/1"
COSY = "bruker_topspin/cyclosporin_cosy/1"
GABA_13C = "bruker_topspin/VZBBI_13R03_GABA/13C"
GABA_1H = "bruker_topspin/VZBBI_13R03_GABA/1H"


def fact(row: str, key: str) -> str:
    """First ``key=value`` of a row's facts (value up to ';', space or ')')."""
    match = re.search(rf"(?<![\w.$(]){re.escape(key)}=([^;\s)]+)", ROWS[row]["facts"])
    if match is None:
        raise KeyError(f"{key} not in facts of {row}")
    return match.group(1)


def test_index_lists_six_bruker_samples():
    assert set(ROWS) == {ASPIRIN, PROCESSED, CYCLO, COSY, GABA_13C, GABA_1H}


@pytest.mark.parametrize("row", sorted(ROWS))
def test_every_sample_is_claimed_by_bruker_only(row):
    assert [d.name for d in claimants(FORMATS / row)] == ["bruker"]


@pytest.mark.parametrize("row", [ASPIRIN, CYCLO, GABA_13C, GABA_1H])
def test_1d_header_facts(row):
    ds = read(FORMATS / row)
    (fid,) = ds.items
    assert isinstance(fid, Fid) and fid.ndim == 1
    assert ds.metadata["spectrometer_frequency_mhz"] == pytest.approx(float(fact(row, "SFO1")))
    assert fid.obs_mhz == pytest.approx(float(fact(row, "SFO1")))
    assert fid.sw_hz == pytest.approx(float(fact(row, "SW_h")))
    td = int(fact(row, "TD"))
    assert ds.metadata["points"] == td
    assert fid.points == td // 2  # TD counts real and imaginary numbers
    assert ds.metadata["nucleus"] == fact(row, "NUC1") == fid.nucleus
    assert ds.metadata["solvent"] == fact(row, "SOLVENT")
    assert ds.metadata["dimensions"] == 1
    head = ds.metadata["header"]
    assert head["NS"] == int(fact(row, "NS"))
    assert head["PULPROG"] == fact(row, "PULPROG")
    assert head["BF1"] == pytest.approx(float(fact(row, "BF1")))
    assert head["SF"] == pytest.approx(float(fact(row, "SF")))
    assert head["OFFSET"] == pytest.approx(float(fact(row, "OFFSET")))
    assert fid.provenance.driver == "bruker" and len(fid.provenance.sha256) == 64


@pytest.mark.parametrize("row", [CYCLO, GABA_1H])
def test_group_delay_from_grpdly(row):
    fid = read(FORMATS / row).items[0]
    assert fid.group_delay == float(fact(row, "GRPDLY"))


def test_group_delay_from_dspfvs_table_for_old_data():
    # aspirin: XWIN-NMR 3.5, DSPFVS=10, DECIM=24, no GRPDLY; the published table says 61.0208
    acqus = parse_parameters(BRUKER / "aspirin-1h/1/acqus")
    assert "GRPDLY" not in acqus
    assert (acqus["DSPFVS"], acqus["DECIM"]) == (int(fact(ASPIRIN, "DSPFVS")),
                                                  int(fact(ASPIRIN, "DECIM")))
    assert group_delay(acqus) == pytest.approx(61.0208333, abs=1e-6)


@pytest.mark.parametrize("row", [ASPIRIN, CYCLO, GABA_13C])
def test_vendor_phases_and_reference_from_procs(row):
    fid = read(FORMATS / row).items[0]
    phases = fid.metadata["vendor_phase_deg"]
    procs = parse_parameters(FORMATS / row / "pdata/1/procs")
    assert phases == {"p0": procs["PHC0"], "p1": procs["PHC1"]}
    assert fid.metadata["vendor_reference"]["sf_mhz"] == pytest.approx(float(fact(row, "SF")))


def test_byte_order_big_endian_aspirin_and_little_endian_cyclosporin():
    # the same physical FID magnitude scale comes out only if byte order is honoured
    for row in (ASPIRIN, CYCLO):
        fid = read(FORMATS / row).items[0]
        peak = np.abs(fid.data).max()
        assert 1e3 < peak < 1e9, (row, peak)


def test_processed_only_folder_gives_spectrum_on_vendor_axis():
    ds = read(FORMATS / PROCESSED)
    (spec,) = ds.items
    assert isinstance(spec, Spectrum)
    si = 32768  # procs SI (facts: 1r/1i 131072 bytes int32)
    assert len(spec) == si
    assert np.all(np.diff(spec.axis) > 0)
    offset, sw_p, sf = (float(fact(PROCESSED, k)) for k in ("OFFSET", "SW_p", "SF"))
    assert spec.axis[-1] == pytest.approx(offset)
    assert spec.axis[-1] - spec.axis[0] == pytest.approx(sw_p / sf * (si - 1) / si)
    # processed-only: points is the number of spectrum points (README), SI in procs
    assert ds.metadata["points"] == si
    assert ds.metadata["header"]["TD"] == int(fact(PROCESSED, "TD"))
    assert spec.metadata["referenced"] == "vendor"
    # TopSpin's strongest line, the CH3 at 2.2937 ppm (aspirin-1h peaklist.xml)
    assert spec.axis[np.argmax(spec.intensities)] == pytest.approx(2.2937, abs=0.002)


def test_2d_cosy_read_and_described():
    ds = read(FORMATS / COSY)
    (fid,) = ds.items
    assert ds.metadata["dimensions"] == 2 and fid.ndim == 2
    td1 = 128  # acqu2s TD (facts: TD(F1)=128)
    assert fid.data.shape == (td1, int(fact(COSY, "TD(F2)")) // 2)
    assert ds.metadata["points"] == int(fact(COSY, "TD(F2)"))
    (indirect,) = ds.metadata["indirect"]
    assert indirect["points"] == td1
    assert indirect["nucleus"] == "1H"
    assert indirect["fn_mode"] == int(fact(COSY, "FnMODE"))
    assert indirect["sw_ppm"] == pytest.approx(float(fact(COSY, "SW")))
    assert ds.metadata["header"]["PULPROG"] == fact(COSY, "PULPROG")


@pytest.mark.parametrize("entry", ["", "pdata", "pdata/1", "fid"])
def test_entry_points_into_an_experiment(entry):
    path = FORMATS / GABA_13C / entry if entry else FORMATS / GABA_13C
    assert find_driver(path).name == "bruker"
    (fid,) = read(path).items
    assert isinstance(fid, Fid) and fid.nucleus == "13C"


def test_dataset_folder_with_one_experiment_is_read():
    (fid,) = read(BRUKER / "aspirin-1h").items
    assert isinstance(fid, Fid) and fid.points == 8192


def test_dataset_folder_with_two_experiments_is_not_guessed():
    # VZBBI_13R03_GABA holds 1H and 13C (not numbered expnos): nothing to choose
    assert "bruker" not in [d.name for d in claimants(BRUKER / "VZBBI_13R03_GABA")]


def test_pdata_of_2d_without_ser_is_described(tmp_path):
    exp = tmp_path / "cosy" / "1"
    shutil.copytree(FORMATS / COSY / "pdata", exp / "pdata")
    ds = read(exp / "pdata" / "1")
    assert ds.items == () and ds.metadata["dimensions"] == 2
    assert ds.metadata["indirect"][0]["processed_points"] == 1024  # proc2s SI


def _copy_acqus(tmp_path, row=ASPIRIN):
    exp = tmp_path / "exp" / "1"
    exp.mkdir(parents=True)
    shutil.copy(FORMATS / row / "acqus", exp / "acqus")
    return exp


def test_truncated_fid_is_incomplete_naming_the_file(tmp_path):
    exp = _copy_acqus(tmp_path)
    (exp / "fid").write_bytes((FORMATS / ASPIRIN / "fid").read_bytes()[:30000])
    with pytest.raises(IncompleteDataError, match="TD=16384") as info:
        read(exp)
    assert info.value.path.endswith("fid")


def test_truncated_ser_is_incomplete(tmp_path):
    exp = _copy_acqus(tmp_path, COSY)
    shutil.copy(FORMATS / COSY / "acqu2s", exp / "acqu2s")
    (exp / "ser").write_bytes((FORMATS / COSY / "ser").read_bytes()[: 8192 * 100])
    with pytest.raises(IncompleteDataError, match="100 of the 128"):
        read(exp)


def test_acqus_without_data_is_corrupt(tmp_path):
    exp = _copy_acqus(tmp_path)
    assert find_driver(exp).name == "bruker"
    with pytest.raises(CorruptDataError, match="no fid, ser"):
        read(exp)


def test_garbage_acqus_is_corrupt(tmp_path):
    exp = tmp_path / "1"
    exp.mkdir()
    (exp / "acqus").write_bytes(bytes(range(256)) * 4)
    shutil.copy(FORMATS / ASPIRIN / "fid", exp / "fid")
    with pytest.raises(CorruptDataError, match="parameter file"):
        read(exp)


def test_sniff_does_not_claim_a_plain_fid_or_unrelated_folder(tmp_path):
    (tmp_path / "fid").write_bytes(b"\0" * 64)
    (tmp_path / "notes.txt").write_text("hello")
    assert "bruker" not in [d.name for d in claimants(tmp_path)]
    assert "bruker" not in [d.name for d in claimants(tmp_path / "fid")]
