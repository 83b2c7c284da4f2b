"""mzXML driver: real files against pyteomics and the facts in formats/index.csv."""

from __future__ import annotations

import base64
import json
import warnings
import zlib

import numpy as np
import pytest

from fentid.drivers import find_driver, read
from fentid.drivers.mzxml import _Reader, decode_peaks, parse_duration_s
from fentid.errors import CorruptDataError, DataQualityWarning
from fentid.spectra.model import Run, Spectrum
from tests.conftest import FORMATS, run_cli

PYTEOMICS = FORMATS / "mzxml/pyteomics/test.mzXML"
MATCHMS = FORMATS / "mzxml/matchms/testdata.mzXML"
FILES = [PYTEOMICS, MATCHMS]


def _read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return read(path)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.parent.name)
def test_sniffed_and_arrays_identical_to_pyteomics(path):
    from pyteomics import mzxml

    assert find_driver(path).name == "mzxml"
    ours = sorted(_Reader(path), key=lambda r: r.index)
    with mzxml.MzXML(str(path)) as reader:
        ref = list(reader)
    assert [r.id for r in ours] == [f"scan={s['num']}" for s in ref]
    for rec, spec in zip(ours, ref):
        assert np.array_equal(rec.mz, spec["m/z array"])
        assert np.array_equal(rec.intensity, spec["intensity array"])
        assert rec.ms_level == spec["msLevel"]


def test_pyteomics_sample_facts():
    with pytest.warns(DataQualityWarning, match="3113"):
        ds = read(PYTEOMICS)
    run = ds.of_type(Run)[0]
    mz, inten = run.scan(0)
    # index facts: num=19 msLevel=1 peaksCount=1313 basePeakMz=445.347, low/high 400/1800
    assert run.metadata["scan_ids"][0] == "scan=19"
    assert mz.size == 1313
    assert mz[np.argmax(inten)] == pytest.approx(445.347, abs=5e-4)
    assert inten.max() == pytest.approx(120053.0)
    assert 400.0 <= mz.min() and mz.max() <= 1800.0
    assert run.metadata["polarity"] == "positive"
    assert run.centroided is True
    assert ds.metadata["n_spectra"] == 2 and ds.metadata["ms_levels"] == {1: 1, 2: 1}
    assert ds.metadata["instrument"] == "LCQ Deca" and ds.metadata["ionization"] == "ESI"
    assert ds.metadata["retention_time_range_s"][0] == pytest.approx(353.43)


def test_matchms_sample_levels_and_precursor():
    ds = _read(MATCHMS)
    # index facts: msLevel 1 x1, 2 x1, 3 x3; MS2 precursor int 343, 50 peaks, negative mode
    assert ds.metadata["ms_levels"] == {1: 1, 2: 1, 3: 3}
    ms2 = [s for s in ds.of_type(Spectrum) if s.metadata["ms_level"] == 2]
    assert len(ms2) == 1 and len(ms2[0]) == 50
    assert int(ms2[0].metadata["precursor_mz"]) == 343
    assert ms2[0].metadata["polarity"] == "negative"


@pytest.mark.parametrize("text, seconds", [
    ("PT5.0005S", 5.0005), ("PT1M2.5S", 62.5), ("PT1H", 3600.0), ("12.5", 12.5),
    ("P1DT1S", 86401.0),
])
def test_duration(text, seconds):
    assert parse_duration_s(text) == pytest.approx(seconds)


@pytest.mark.parametrize("precision", ["32", "64"])
@pytest.mark.parametrize("compressed", [False, True])
def test_decode_round_trip(precision, compressed):
    rng = np.random.default_rng(int(precision) + compressed)
    pairs = np.column_stack([np.sort(rng.uniform(50, 2000, 77)), rng.uniform(0, 1e5, 77)])
    raw = pairs.astype(f">f{int(precision) // 8}").tobytes()
    if compressed:
        raw = zlib.compress(raw)
    attrs = {"precision": precision, "byteOrder": "network", "pairOrder": "m/z-int",
             "compressionType": "zlib" if compressed else "none"}
    mz, inten = decode_peaks(base64.b64encode(raw).decode(), attrs, 77, "scan 1", None)
    assert np.array_equal(mz, pairs[:, 0].astype(mz.dtype))
    assert np.array_equal(inten, pairs[:, 1].astype(inten.dtype))
    with pytest.raises(CorruptDataError, match="peaksCount"):
        decode_peaks(base64.b64encode(raw).decode(), attrs, 78, "scan 1", None)


@pytest.mark.parametrize("mangle, reason", [
    (lambda d: d[: len(d) // 2], "truncated"),
    (lambda d: d.replace(b'peaksCount="1313"', b'peaksCount="1300"'), "peaksCount"),
    (lambda d: d.replace(b'pairOrder="m/z-int">', b'pairOrder="m/z-int">!!', 1), "base64"),
])
def test_bad_input_through_cli(tmp_path, mangle, reason):
    broken = tmp_path / "broken.mzXML"
    broken.write_bytes(mangle(PYTEOMICS.read_bytes()))
    proc = run_cli("info", broken)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0], proc.stderr


def test_info_json():
    proc = run_cli("info", "--json", PYTEOMICS)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["driver"] == "mzxml" and report["ms_levels"] == {"1": 1, "2": 1}
