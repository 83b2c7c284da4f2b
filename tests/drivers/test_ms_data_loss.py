"""A result that lost data says so (issue 18, part 2): MS drivers on mutated copies of real files.

Each test damages a copy of a real sample in tmp_path the way files get damaged (truncated,
zeroed, a count that disagrees, a missing companion file) and checks that the loss becomes a
DataQualityWarning naming it, a RecordProblem, or a one-line error with a reason - never a
silent, plausible-looking result, never a raw numpy warning.
"""

from __future__ import annotations

import re
import shutil
import warnings

import numpy as np
import pytest

from fentid.drivers import read
from fentid.errors import CorruptDataError, DataQualityWarning
from tests.conftest import FORMATS, run_cli

WATERS = FORMATS / "waters_raw"


def _notes(path):
    """(dataset, DataQualityWarning texts); any RuntimeWarning fails the test."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = read(path)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    return ds, [str(w.message) for w in caught if issubclass(w.category, DataQualityWarning)]


def _copy(src, tmp_path):
    dst = tmp_path / src.name
    if src.is_dir():
        shutil.copytree(src, dst)
        for p in dst.rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)
    else:
        shutil.copy(src, dst)
        dst.chmod(0o644)
    return dst


def _one_line_error(path, *words):
    proc = run_cli("info", path)
    assert proc.returncode == 2, proc.stdout
    line = proc.stderr.strip()
    assert "\n" not in line and line.startswith(f"fentid: error: {path}:"), proc.stderr
    assert "encountered" not in proc.stderr and "Traceback" not in proc.stderr
    assert not line.endswith(":")
    for word in words:
        assert word in line, line
    return line


# --- Waters (rainbow-api) ----------------------------------------------------------------------

def test_truncated_functions_file_gets_a_reason_not_an_empty_assertion(tmp_path):
    raw = _copy(WATERS / "blue.raw", tmp_path)
    inf = raw / "_FUNCTNS.INF"
    inf.write_bytes(inf.read_bytes()[:416])  # one of its two 416-byte function records
    _one_line_error(raw, "_FUNCTNS.INF is 416 bytes", "2 x 416")


@pytest.mark.parametrize("name,keep,words", [
    ("_FUNC001.IDX", 0.5, ("_FUNC001.IDX", "22-byte scan records", "truncated")),
    ("_FUNC001.DAT", 0.5, ("_FUNC001.DAT", "index _FUNC001.IDX", "truncated")),
])
def test_truncated_function_files_are_named(name, keep, words, tmp_path):
    raw = _copy(WATERS / "blue.raw", tmp_path)
    target = raw / name
    target.write_bytes(target.read_bytes()[:int(target.stat().st_size * keep)])
    _one_line_error(raw, *words)


def test_rainbow_numeric_faults_never_reach_the_user(tmp_path):
    """Random bytes in the scan index made numpy warn "overflow encountered" before."""
    raw = _copy(WATERS / "blue.raw", tmp_path)
    idx = raw / "_FUNC001.IDX"
    idx.write_bytes(np.random.default_rng(3).bytes(idx.stat().st_size))
    _one_line_error(raw, "rainbow-api cannot read")


def test_missing_mass_calibration_is_warned(tmp_path):
    raw = _copy(WATERS / "blue.raw", tmp_path)
    (raw / "_HEADER.TXT").unlink()
    good = read(WATERS / "blue.raw").items[0]
    ds, notes = _notes(raw)
    # rainbow silently returns raw m/z without the header's "$$ Cal Function 1" line
    assert not np.allclose(ds.items[0].mz[:10], good.mz[:10], atol=0.1)
    assert any("Cal Function" in n and "uncalibrated" in n for n in notes)
    assert not _notes(WATERS / "blue.raw")[1] and not _notes(WATERS / "indigo.raw")[1]


def test_zeroed_ms_function_is_not_a_silent_empty_run(tmp_path):
    raw = _copy(WATERS / "blue.raw", tmp_path)
    dat = raw / "_FUNC001.DAT"
    dat.write_bytes(bytes(dat.stat().st_size))
    ds, notes = _notes(raw)
    assert ds.items[0].mz.size == 0
    assert any("all 725 scans are empty" in n and "zeroed" in n for n in notes)


def test_rainbow_reasons_are_never_empty():
    from fentid.drivers.agilent import _reason

    assert _reason(AssertionError()).startswith("AssertionError (")
    assert _reason(KeyError("")) != "" and not _reason(ValueError()).endswith(": ")


# --- mzML / mzXML ------------------------------------------------------------------------------

@pytest.mark.parametrize("src", [FORMATS / "mzml/pyteomics/test.mzML",
                                 FORMATS / "mzxml/pyteomics/test.mzXML"])
def test_zeroed_block_in_xml_is_one_line(src, tmp_path):
    copy = _copy(src, tmp_path)
    raw = bytearray(copy.read_bytes())
    raw[len(raw) // 3:len(raw) // 3 + 4096] = bytes(4096)
    copy.write_bytes(bytes(raw))
    line = _one_line_error(copy)
    if src.suffix == ".mzXML":  # lxml's message holds a newline before ", line L, column C"
        assert re.search(r"at line \d+, column \d+$", line)


def test_mzml_spectrum_declaring_points_without_arrays_is_warned(tmp_path):
    copy = _copy(FORMATS / "mzml/pyteomics/test.mzML", tmp_path)
    text = copy.read_text()
    first = re.search(r"<binaryDataArrayList\b.*?</binaryDataArrayList>", text, re.DOTALL)
    copy.write_text(text[:first.start()] + text[first.end():])
    ds, notes = _notes(copy)
    assert len(ds.items) == len(read(FORMATS / "mzml/pyteomics/test.mzML").items)
    assert any("declares" in n and "defaultArrayLength" in n and "scan=1" in n for n in notes)


def test_mzxml_scan_with_peaks_count_but_no_peaks_is_warned(tmp_path):
    copy = _copy(FORMATS / "mzxml/pyteomics/test.mzXML", tmp_path)
    text = copy.read_text()
    first = re.search(r"<peaks\b.*?</peaks>", text, re.DOTALL)
    copy.write_text(text[:first.start()] + text[first.end():])
    ds, notes = _notes(copy)
    assert ds.metadata["n_spectra"] == 2
    assert any("peaksCount=" in n and "no <peaks>" in n for n in notes)


# --- MGF, ANDI, imzML ------------------------------------------------------------------------

def test_mgf_record_without_peaks_is_a_problem_not_an_empty_spectrum(tmp_path):
    copy = _copy(FORMATS / "mgf/matchms/pesticides.mgf", tmp_path)
    lines = copy.read_text().splitlines()
    begin = [i for i, ln in enumerate(lines) if ln.strip() == "BEGIN IONS"]
    end = next(i for i in range(begin[1], len(lines)) if lines[i].strip() == "END IONS")
    kept = [ln for i, ln in enumerate(lines)
            if not (begin[1] < i < end and ln[:1].isdigit())]  # record 2 loses its peaks
    copy.write_text("\n".join(kept) + "\n")
    ds, _ = _notes(copy)
    original = read(FORMATS / "mgf/matchms/pesticides.mgf")
    assert len(ds.items) == len(original.items) - 1 and all(len(s) for s in ds.items)
    (problem,) = ds.problems
    assert problem.record == 2 and "no peaks" in problem.reason


def test_andi_points_no_scan_owns_are_warned(tmp_path):
    from scipy.io import netcdf_file

    copy = _copy(FORMATS / "netcdf_andi/P071.CDF", tmp_path)
    nc = netcdf_file(str(copy), "a", mmap=False)
    nc.variables["point_count"].data[-1] -= 3
    nc.close()
    ds, notes = _notes(copy)
    assert ds.items[0].mz.size == read(FORMATS / "netcdf_andi/P071.CDF").items[0].mz.size - 3
    assert any("3 of the" in n and "belong to no scan" in n for n in notes)


def test_imzml_with_fewer_pixels_than_declared_is_warned(tmp_path):
    imzml = _copy(FORMATS / "imzml/Example_Continuous.imzML", tmp_path)
    _copy(FORMATS / "imzml/Example_Continuous.ibd", tmp_path)
    text = imzml.read_text(encoding="latin-1")
    count = int(re.search(r'<spectrumList count="(\d+)"', text).group(1))
    imzml.write_text(text.replace(f'<spectrumList count="{count}"',
                                  f'<spectrumList count="{count + 2}"'), encoding="latin-1")
    ds, notes = _notes(imzml)
    assert len(ds.items) == count
    assert any(f"declares count={count + 2}" in n for n in notes)


def test_truncated_lone_gc_ms_file_is_named(tmp_path):
    """A lone .MS shorter than its header says: one line with rainbow's reason."""
    ms = tmp_path / "cut.MS"
    ms.write_bytes((FORMATS / "agilent_d/yellow.D/data.ms").read_bytes()[:5000])
    with pytest.raises(CorruptDataError, match="cannot be parsed"):
        read(ms)
