"""The rule "a result that lost data says so", driver by driver.

Each case is a real sample copied into tmp_path with one thing changed so that a
driver used to drop, splice or shift data quietly; now it warns (naming the file) or
refuses.
"""

from __future__ import annotations

import re
import shutil
import warnings

import numpy as np
import pytest

from fentid.drivers import read
from fentid.errors import CorruptDataError, DataQualityWarning
from tests.conftest import FORMATS

ASPIRIN = FORMATS / "bruker_topspin/aspirin-1h/1"
THA_1H = FORMATS / "varian_vnmr/THA_f22-23/1H.fid"
SPINSOLVE = FORMATS / "magritek_spinsolve/230213-131158 Proton (lyogel)"
ASPIRIN_FID_DX = FORMATS / "jcamp_dx_nmr/cheminfo/aspirin/1h.fid.dx"
GABA_NMRML = FORMATS / "nmrml/VZBBI_13R03_GABA_1H.nmrML"


def _copy(src, dest):
    shutil.copytree(src, dest)
    for p in dest.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return dest


def _edit(path, pattern, replacement):
    text = path.read_text(encoding="latin-1")
    new, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
    assert count == 1, pattern
    path.write_text(new, encoding="latin-1")


def _messages(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [str(w.message) for w in caught if issubclass(w.category, DataQualityWarning)]


# --- Bruker ------------------------------------------------------------------------------

def test_bruker_procs_of_another_experiment_is_not_used_for_referencing(tmp_path):
    folder = _copy(ASPIRIN, tmp_path / "1")
    _edit(folder / "pdata/1/procs", r"^##\$SF= .*$", "##$SF= 75.4677")  # a 13C SF
    ds, said = _messages(lambda: read(folder))
    fid = ds.items[0]
    assert "vendor_reference" not in fid.metadata and "vendor_phase_deg" not in fid.metadata
    assert any(m.startswith(f"{folder / 'pdata/1/procs'}: SF=75.4677 MHz is not") for m in said)
    # the intact folder uses them, silently
    intact, said = _messages(lambda: read(ASPIRIN))
    assert "vendor_reference" in intact.items[0].metadata and not said


def test_bruker_fid_holding_two_fids_says_only_the_first_is_read(tmp_path):
    folder = _copy(ASPIRIN, tmp_path / "1")
    raw = (folder / "fid").read_bytes()
    (folder / "fid").write_bytes(raw + raw)
    ds, said = _messages(lambda: read(folder))
    assert any("holds 2 FIDs' worth of data" in m and str(folder / "fid") in m for m in said)
    np.testing.assert_array_equal(ds.items[0].data, read(ASPIRIN).items[0].data)


def test_bruker_unknown_group_delay_names_the_acqus(tmp_path):
    folder = _copy(ASPIRIN, tmp_path / "1")
    _edit(folder / "acqus", r"^##\$DECIM= 24$", "##$DECIM= 7")
    ds, said = _messages(lambda: read(folder))
    assert ds.items[0].group_delay == 0.0
    assert any(m.startswith(f"{folder / 'acqus'}: no group delay known for DSPFVS=10 DECIM=7")
               for m in said)


# --- Varian ------------------------------------------------------------------------------

def test_varian_procpar_np_disagreeing_with_the_fid_is_warned(tmp_path):
    folder = _copy(THA_1H, tmp_path / "1H.fid")
    _edit(folder / "procpar", r"^(np 7 1 524288 32 2 2 1 11 1 64\n)1 32768 $", r"\g<1>1 16384 ")
    ds, said = _messages(lambda: read(folder))
    assert ds.items[0].points == 16384  # the fid's own 32768 values
    assert any(m.startswith(f"{folder}: procpar np=16384 but the fid file header holds 32768")
               for m in said)


# --- Spinsolve ---------------------------------------------------------------------------

def test_spinsolve_two_dimensional_prospa_file_is_refused_not_spliced(tmp_path):
    folder = _copy(SPINSOLVE, tmp_path / "spin")
    raw = bytearray((folder / "data.1d").read_bytes())
    n = int.from_bytes(raw[16:20], "little")
    raw[16:20] = (n // 2).to_bytes(4, "little")
    raw[20:24] = (2).to_bytes(4, "little")  # y_dim: two rows of n/2 points
    (folder / "data.1d").write_bytes(bytes(raw))
    with pytest.raises(CorruptDataError, match=r"multi-dimensional Prospa data \(4096 x 2\)"):
        read(folder)


def test_spinsolve_parameters_disagreeing_with_the_data_are_warned(tmp_path):
    folder = _copy(SPINSOLVE, tmp_path / "spin")
    _edit(folder / "acqu.par", r"^nrPnts\s*=\s*8192", "nrPnts = 16384")
    _edit(folder / "acqu.par", r"^bandwidth\s*=\s*5\b", "bandwidth = 10")
    _, said = _messages(lambda: read(folder))
    data = str(folder / "data.1d")
    assert any(m.startswith(f"{data}: acqu.par nrPnts=16384 but the file holds 8192")
               for m in said)
    assert any(m.startswith(f"{data}: the time axis steps 0.2 ms but acqu.par bandwidth=10")
               for m in said)


# --- JCAMP-DX ----------------------------------------------------------------------------

def test_jcamp_ntuples_with_more_pages_than_columns_is_warned(tmp_path):
    lines = ASPIRIN_FID_DX.read_text(encoding="latin-1").split("\n")
    start = next(i for i, ln in enumerate(lines) if ln.startswith("##PAGE= N=2"))
    end = next(i for i, ln in enumerate(lines) if ln.startswith("##END NTUPLES"))
    page = [ln.replace("N=2", "N=3") if ln.startswith("##PAGE") else ln
            for ln in lines[start:end]]
    path = tmp_path / "three_pages.dx"
    path.write_text("\n".join(lines[:end] + page + lines[end:]), encoding="latin-1")
    _, said = _messages(lambda: read(path))
    assert any(m.startswith(f"{path}: NTUPLES of the block at line 1 holds 3 pages for 2 "
                            "columns") for m in said)


def test_jcamp_fid_with_unknown_group_delay_is_warned(tmp_path):
    path = tmp_path / "fid.dx"
    path.write_text(ASPIRIN_FID_DX.read_text(encoding="latin-1").replace(
        "##$DECIM= 24", "##$DECIM= 7", 1), encoding="latin-1")
    ds, said = _messages(lambda: read(path))
    assert ds.items[0].group_delay == 0.0
    assert any(m.startswith(f"{path}: no digital-filter group delay known") for m in said)


# --- nmrML -------------------------------------------------------------------------------

def test_nmrml_without_a_vendor_says_the_sign_convention_is_assumed(tmp_path):
    text = GABA_NMRML.read_text(encoding="utf-8")
    path = tmp_path / "anon.nmrML"
    path.write_text(text.replace("Bruker UXNMR/XWIN-NMR format", "some format"),
                    encoding="utf-8")
    _, said = _messages(lambda: read(path))
    assert any(m.startswith(f"{path}: sourceFileList names no vendor format") for m in said)
    _, said = _messages(lambda: read(GABA_NMRML))
    assert not said
