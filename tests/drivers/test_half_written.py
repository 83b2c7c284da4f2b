"""Drivers that meet a half-written file raise IncompleteDataError, never a partial result.

Copies of real samples are cut the way a file looks while its instrument (or a copy) is
still writing it: at a fraction of its length, after the last spectrum but before the
closing tag, or (Agilent) with the header that ChemStation writes at the end of the run
not yet filled in.  The truncated kinds are also CorruptDataError (the existing driver
tests rely on that); the watch-folder service catches IncompleteDataError and retries.
"""

from __future__ import annotations

import json
import shutil
import struct

import pytest

from fentid.drivers import read
from fentid.drivers.agilent import ms_file_incomplete, run_incomplete
from fentid.errors import CorruptDataError, IncompleteDataError, TruncatedDataError
from tests.conftest import FORMATS, run_cli

#: (sample, file inside it that grows while it is written, or None for a single file)
GROWING = [
    ("mzml/mzdata/small.mzML", None),
    ("mzml/pyteomics/test.mzML", None),
    ("mzml/pymzml/example.mzML", None),
    ("mzxml/pyteomics/test.mzXML", None),
    ("mzxml/matchms/testdata.mzXML", None),
    ("nmrml/VZBBI_13R03_GABA_1H.nmrML", None),
    ("jcamp_dx_nmr/cheminfo/aspirin/1h.dx", None),
    ("jcamp_dx_ms/cheminfo/ethylbenzene_ei.jdx", None),
    ("jeol_delta/Rutin_3080ug200uL_DMSOd6_qHNMR_400MHz_Jeol.jdf", None),
    ("agilent_d/yellow.D", "data.ms"),
    ("agilent_d/orange.D", "MSD1.MS"),
    ("bruker_topspin/aspirin-1h/1", "fid"),
    ("varian_vnmr/proton.fid", "fid"),
]


def _copy(src, dst):
    if src.is_dir():
        shutil.copytree(src, dst)
        for p in dst.rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)
    else:
        shutil.copyfile(src, dst)
    return dst


# pymzml's excerpt declares 2918 spectra and holds 11: the count warning is not the point here
@pytest.mark.filterwarnings("ignore:.*spectrumList declares count")
@pytest.mark.parametrize("fraction", [0.3, 0.7, 0.97])
@pytest.mark.parametrize("sample, growing", GROWING, ids=[g[0] for g in GROWING])
def test_cut_copy_is_incomplete_naming_the_file(sample, growing, fraction, tmp_path):
    src = FORMATS / sample
    copy = _copy(src, tmp_path / src.name)
    target = copy / growing if growing else copy
    size = target.stat().st_size
    with open(target, "r+b") as fh:
        fh.truncate(int(size * fraction))
    with pytest.raises(IncompleteDataError) as info:
        read(copy)
    assert str(copy) in str(info.value)
    if sample.startswith("bruker"):  # Bruker's check predates TruncatedDataError
        return
    assert isinstance(info.value, TruncatedDataError)
    assert isinstance(info.value, CorruptDataError)


def test_mzml_cut_after_its_spectra_is_incomplete(tmp_path):
    """All spectra written, index and closing tags not yet: the old reader returned it."""
    data = (FORMATS / "mzml/mzdata/small.mzML").read_bytes()
    cut = tmp_path / "cut.mzML"
    cut.write_bytes(data[:data.index(b"</spectrumList>") + len(b"</spectrumList>")])
    with pytest.raises(TruncatedDataError, match="closing </mzML>"):
        read(cut)
    whole = tmp_path / "whole.mzML"
    whole.write_bytes(data)
    assert len(read(whole).items) > 0


def test_original_agilent_runs_are_finished():
    """The real runs' headers list the scans rainbow reads (rainbow's info.json shapes)."""
    for name, files in (("yellow", ("data.ms", "dataSim.ms")), ("orange", ("MSD1.MS",))):
        folder = FORMATS / f"agilent_d/{name}.D"
        assert run_incomplete(folder) is None
        info = json.loads((FORMATS / f"agilent_d/expected/rainbow_outputs/{name}/info.json")
                          .read_text())["datafiles"]
        for f in files:
            head = (folder / f).read_bytes()[:0x200]
            lc = head[5:5 + head[4]] == b"MSD Spectral File"
            count = (struct.unpack_from(">I", head, 0x116)[0] if lc
                     else struct.unpack_from("<H", head, 0x142)[0])
            assert count == info[f]["shape"][0]
            assert ms_file_incomplete(folder / f) is None


def test_chemstation_run_without_its_end_header_is_incomplete(tmp_path):
    """ChemStation fills the data offset when the run ends; rainbow reads a file without
    it as a "partial" and returned its scans so far."""
    copy = _copy(FORMATS / "agilent_d/orange.D", tmp_path / "orange.D")
    ms = copy / "MSD1.MS"
    data = bytearray(ms.read_bytes())
    data[0x10A:0x10C] = b"\0\0"
    ms.write_bytes(bytes(data))
    with pytest.raises(IncompleteDataError, match="does not record the run's end"):
        read(copy)
    proc = run_cli("identify", copy, "--library", tmp_path / "unused.h5")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"fentid: error: {copy}:")


def test_masshunter_acquisition_not_ended_is_incomplete(tmp_path):
    copy = _copy(FORMATS / "agilent_d/yellow.D", tmp_path / "yellow.D")
    contents = copy / "AcqData/Contents.xml"
    text = contents.read_bytes().decode("utf-8-sig")
    assert "<AcqStatus>2</AcqStatus>" in text
    contents.write_text(text.replace("<AcqStatus>2</AcqStatus>", "<AcqStatus>1</AcqStatus>"),
                        encoding="utf-8")
    with pytest.raises(IncompleteDataError, match="AcqStatus=1"):
        read(copy)
